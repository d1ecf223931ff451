"""Sliding-window halo reuse and peer forwarding of input tiles, counted as Timeloop v3.0.3 counts them.

The engine's own rule (:mod:`costmodel.analysis`) refetches a whole input tile whenever a relevant loop above it
advances. Two consecutive tiles along P (or Q) overlap by the window halo, though, and neighbouring PEs often
need what a neighbour held a step before. Timeloop's nest analysis (``src/loop-analysis/nest-analysis.cpp`` of
github.com/NVlabs/timeloop, tag v3.0.3) counts both, by a walk that is not a product of loop factors:

* **Halo reuse** (temporal): every instance keeps the tile of its previous step; a step fetches only
  ``cur - prev`` when the tile moved by the same translation as the step before (or the step before had
  none); when the translation changes, the kept part is discarded and the whole tile is fetched. Tiles are
  axis-aligned boxes: two tiles that differ in more than one coordinate, or do not overlap, share nothing.
* **Sampling**: Timeloop does not run every iteration. Each loop runs iteration 0 and iteration 1, and
  iteration 1 stands for iterations 1 .. N-1 (weight N - 1). With k non-unit loops above a tile that is 2^k
  calls in binary-counter order, the call with bit pattern b weighing prod over its set bits of (N_j - 1), and
  the tile of call b lying at sum over its set bits of the loops' translations. The counts below come from
  exactly that walk (:func:`walk`), so they are Timeloop's, including where sampling differs from a full
  simulation (e.g. a loop of bound 3 inside another loop of the same dim).
* **Peer forwarding** (spatial links): at each spatial fanout, an instance whose new data (its delta) equals
  what a mesh neighbour (left, right, up, down) received on the step before gets it from that neighbour over a
  link instead of from the parent, when that lowers the parent's accesses. The parent of a fanout is read once
  per distinct delta (multicast); with dummy levels between two buffers (Timeloop's spatial containers, which
  keep nothing) the parent's reads are the deltas of the union tile of the level right below it.
* **Counting quirk** (``peer_links_one_instance``): timeloop-model v3.0.3 extrapolates an outer spatial loop
  from its first instance, and its link transfers are then reported for that one instance only (checked with
  the binary: halving the PE columns halves the parent deliveries but not the link fills).

Tensor coordinates of the inputs are (t, n, c, h, w) with h = p * stride + r and w = q * stride + s. A loop over
dim d translates a tile by coefficient(d) x (product of the factors of d at every position inside the loop):
coefficient ``stride`` for P and Q, 1 otherwise; K moves nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from costmodel.types import Axis, Dim

#: Input coordinate each dim moves, and whether the layer stride scales the move.
_COORD: dict[Dim, tuple[int, bool]] = {
    Dim.T: (0, False),
    Dim.N: (1, False),
    Dim.C: (2, False),
    Dim.P: (3, True),
    Dim.R: (3, False),
    Dim.Q: (4, True),
    Dim.S: (4, False),
}
N_COORDS = 5
#: Above this many non-unit loops above one tile the 2^k-call walk is refused (a mapping error, not a cost).
MAX_WALK_LOOPS = 20


@dataclass(frozen=True, slots=True)
class Loop:
    """One loop of a concrete nest: level, dim, bound, and the spatial axis (None: temporal)."""

    level: int
    dim: Dim
    bound: int
    axis: Axis | None = None


@dataclass(frozen=True, slots=True)
class Flow:
    """Input elements moved between a parent and a child buffer under Timeloop's counting (per whole layer,
    summed over instances): ``parent_reads``, ``child_fills`` (deliveries plus link fills), ``peer_reads`` (the
    link transfers, read at the sending instance) and ``crossings[h]`` (elements crossing the fanout below
    level ``parent + h``)."""

    parent_reads: int
    child_fills: int
    peer_reads: int
    crossings: tuple[int, ...]


def translation(nest: Sequence[Loop], j: int, stride: int) -> np.ndarray:
    """Translation of the input tile when loop ``j`` of ``nest`` (outer first) advances by one (elements per
    coordinate t, n, c, h, w): coefficient(d) x product of the bounds of the loops of dim d inside ``j``
    (P, Q: the layer ``stride``; others 1; K: none)."""
    v = np.zeros(N_COORDS, dtype=np.int64)
    d = nest[j].dim
    if d not in _COORD:
        return v
    coord, strided = _COORD[d]
    inner = math.prod(lp.bound for lp in nest[j + 1 :] if lp.dim is d)
    v[coord] = inner * (stride if strided else 1)
    return v


def tile_extent(nest: Sequence[Loop], level: int, stride: int) -> np.ndarray:
    """Extent per coordinate (t, n, c, h, w) of the input tile a level holds: the loops at or below ``level``.
    h spans (P - 1) * stride + R rows (the bounding box Timeloop keeps, also when R < stride), likewise w."""

    def prod(d: Dim) -> int:
        return math.prod(lp.bound for lp in nest if lp.level >= level and lp.dim is d)

    h = (prod(Dim.P) - 1) * stride + prod(Dim.R)
    w = (prod(Dim.Q) - 1) * stride + prod(Dim.S)
    return np.array([prod(Dim.T), prod(Dim.N), prod(Dim.C), h, w], dtype=np.int64)


def box_delta(lo: np.ndarray, prev_lo: np.ndarray | None, ext: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The part of the box at ``lo`` not in the box at ``prev_lo`` (same extent ``ext``), as (lo, extent),
    by Timeloop's box subtraction: empty when equal; the new slab when they differ in exactly one coordinate
    and overlap; otherwise the whole box."""
    if prev_lo is None:
        return lo, ext
    diff = lo - prev_lo
    moved = np.flatnonzero(diff)
    if moved.size == 0:
        return lo, np.zeros_like(ext)
    if moved.size > 1 or np.any(np.abs(diff) >= ext):
        return lo, ext
    c = int(moved[0])
    step = int(diff[c])
    out_lo, out_ext = lo.copy(), ext.copy()
    out_ext[c] = abs(step)
    if step > 0:
        out_lo[c] = prev_lo[c] + ext[c]
    return out_lo, out_ext


@dataclass(frozen=True, slots=True)
class _Elements:
    """The instances of one spatial fanout: their tile offsets and, per instance, the offset differences to its
    mesh neighbours (an instance links from a neighbour whose offset is its own plus one of these)."""

    offsets: np.ndarray  # (E, 5)
    neighbour_diffs: tuple[np.ndarray, ...]  # per instance (k, 5)


def _elements(nest: Sequence[Loop], spatial: Sequence[int], stride: int) -> _Elements:
    """Instances spanned by the ``spatial`` loops of ``nest``: offsets (mixed radix, outer loop most
    significant) and mesh coordinates (h from the X loops, v from the Y loops)."""
    bounds = [nest[j].bound for j in spatial]
    moves = [translation(nest, j, stride) for j in spatial]
    idx = np.array(list(np.ndindex(*bounds)), dtype=np.int64).reshape(math.prod(bounds), len(bounds))
    offsets = idx @ np.array(moves, dtype=np.int64).reshape(len(bounds), N_COORDS)
    hv = np.zeros((len(idx), 2), dtype=np.int64)
    for a, axis in enumerate((Axis.X, Axis.Y)):
        radix = 1
        for k in reversed(range(len(spatial))):
            if nest[spatial[k]].axis is axis:
                hv[:, a] += idx[:, k] * radix
                radix *= bounds[k]
    where = {(int(h), int(v)): i for i, (h, v) in enumerate(hv)}
    diffs = []
    for i, (h, v) in enumerate(hv):
        nb = [where.get((int(h) + dh, int(v) + dv)) for dh, dv in ((0, -1), (0, 1), (-1, 0), (1, 0))]
        diffs.append(np.array([offsets[n] - offsets[i] for n in nb if n is not None], dtype=np.int64))
    return _Elements(offsets=offsets, neighbour_diffs=tuple(diffs))


@dataclass(frozen=True, slots=True)
class Walk:
    """Per instance of the fanout's owner: ``groups`` (parent accesses: one per distinct delta), ``elements``
    (deliveries: one per receiving instance) and ``links`` (deltas taken from a neighbour)."""

    groups: int
    elements: int
    links: int


def walk(
    nest: Sequence[Loop],
    child: int,
    top: int,
    stride: int,
    *,
    halo: bool,
    links: bool,
) -> Walk:
    """Timeloop's sampled walk of the input tile of level ``child`` (module docstring).

    Temporal loops: the non-unit temporal loops above ``child``. Instances: the spatial loops of levels
    ``top .. child - 1`` (one owner instance of level ``top``). ``halo``: keep the previous tile (reset on a
    change of translation); otherwise a tile is refetched whole unless only loops irrelevant to the inputs
    moved (the engine's rule, :mod:`costmodel.analysis`). ``links``: neighbours
    forward deltas (only meaningful when the instances are one fanout, ``top == child - 1``)."""
    loops = [j for j, lp in enumerate(nest) if lp.axis is None and lp.level < child and lp.bound > 1]
    if len(loops) > MAX_WALK_LOOPS:
        raise ValueError(f"{len(loops)} non-unit loops above one tile: more than the walk takes ({MAX_WALK_LOOPS})")
    spatial = [j for j, lp in enumerate(nest) if lp.axis is not None and top <= lp.level < child]
    el = _elements(nest, spatial, stride)
    n_groups_all = len({tuple(o) for o in el.offsets})
    ext = tile_extent(nest, child, stride)
    moves = [translation(nest, j, stride) for j in loops]
    weights = [nest[j].bound - 1 for j in loops]
    k = len(loops)
    prev_lo: np.ndarray | None = None
    prev_bits: list[int] = [0] * k
    prev_trans: np.ndarray | None = None
    prev_delta: tuple[np.ndarray, np.ndarray] | None = None
    groups = elements = linked = 0
    for call in range(1 << k):
        bits = [(call >> (k - 1 - i)) & 1 for i in range(k)]  # loops outer first: the outer loop is the high bit
        lo = np.zeros(N_COORDS, dtype=np.int64)
        weight = 1
        for i, b in enumerate(bits):
            if b:
                lo = lo + moves[i]
                weight *= weights[i]
        if prev_lo is None:
            d_lo, d_ext = lo, ext
        elif not halo:  # the engine's rule, by loop indices: reused only if every loop that moved is irrelevant
            moved = [i for i in range(k) if bits[i] != prev_bits[i]]
            still = all(not moves[i].any() for i in moved)
            d_lo, d_ext = (lo, np.zeros_like(ext)) if still else (lo, ext)
        else:
            trans = lo - prev_lo
            if prev_trans is None or np.array_equal(trans, prev_trans):
                d_lo, d_ext = box_delta(lo, prev_lo, ext)
                prev_trans = trans
            else:
                d_lo, d_ext = lo, ext
                prev_trans = None
        prev_lo, prev_bits = lo, bits
        size = int(np.prod(d_ext))
        if size:
            n_elem, n_groups, n_link = len(el.offsets), n_groups_all, 0
            if links and prev_delta is not None and np.array_equal(prev_delta[1], d_ext):
                want = d_lo - prev_delta[0]
                got = np.array(
                    [bool(len(nd)) and bool(np.any(np.all(nd == want, axis=1))) for nd in el.neighbour_diffs]
                )
                if got.any():
                    rest = len({tuple(o) for o in el.offsets[~got]})
                    if rest < n_groups_all:
                        n_link = int(got.sum())
                        n_elem, n_groups = n_elem - n_link, rest
            groups += weight * size * n_groups
            elements += weight * size * n_elem
            linked += weight * size * n_link
        prev_delta = (d_lo, d_ext) if size else None
    return Walk(groups=groups, elements=elements, links=linked)


def instances(nest: Sequence[Loop], below: int) -> int:
    """Instances of level ``below``: the product of the spatial bounds of the levels above it."""
    return math.prod(lp.bound for lp in nest if lp.axis is not None and lp.level < below)


def groups(nest: Sequence[Loop], level: int, stride: int) -> int:
    """Distinct tiles among the instances one instance of ``level`` fans out to (its spatial loops): the
    instances that need the same inputs share one access (multicast)."""
    spatial = [j for j, lp in enumerate(nest) if lp.axis is not None and lp.level == level]
    return len({tuple(o) for o in _elements(nest, spatial, stride).offsets})


def input_flow(
    nest: Sequence[Loop],
    parent: int,
    child: int,
    stride: int,
    *,
    halo: bool,
    forwarding: bool,
    links_one_instance: bool = False,
) -> Flow:
    """Input elements moved from ``parent`` to ``child`` (consecutive keepers of the inputs) under Timeloop's
    counting, summed over all instances.

    The child's instances are fed at the fanout right above them (the spatial loops of level ``child - 1``):
    each receives its delta, from a neighbour when ``forwarding`` links it, otherwise from above, where
    instances needing the same delta share one access. Every fanout further up (levels ``parent ..
    child - 2``, e.g. Timeloop's spatial containers) multiplies the accesses by its number of distinct tiles,
    as timeloop-model folds a level that keeps nothing into its parent. ``links_one_instance`` reports the
    links for one instance of the fanout (timeloop-model v3.0.3)."""
    w = walk(nest, child, child - 1, stride, halo=halo, links=forwarding)
    owners = instances(nest, child - 1)
    links = w.links * (1 if links_one_instance else owners)

    def above(h: int) -> int:  # accesses a fanout at level h sees: distinct tiles of every fanout h .. child-2
        return math.prod(groups(nest, g, stride) for g in range(h, child - 1)) * w.groups * instances(nest, h)

    return Flow(
        parent_reads=above(parent),
        child_fills=w.elements * owners + links,
        peer_reads=links,
        crossings=tuple(above(h) for h in range(parent, child)),
    )
