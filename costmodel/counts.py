"""Closed-form access counts of a loop nest (DESIGN.md section 4.1-4.3).

Every equation is a pure function over numpy arrays whose leading axis is a batch of mappings
that share one loop *structure* (which dim sits at which position of which level, temporal or
spatial) and differ in their loop bounds (factors). A scalar evaluation is a batch of one, so the
mappers' vectorised search and ``evaluate`` run the very same code.

Conventions (Timeloop-style reuse analysis in index space):

* The nest is flattened outer to inner: level 0 temporal loops, level 0 spatial loops, level 1
  temporal, ..., innermost spatial loops (fanning out to compute units).
* Level ``l`` holds, per instance, the tile of a tensor spanned by the loops at levels >= l.
* A tensor's tile at level ``l`` is *resident* until a temporal loop above ``l`` that is relevant
  to the tensor advances; a run of irrelevant loops directly above ``l`` (loops of bound 1
  ignored) re-uses the tile. Reuse is tracked by loop indices: windows of different (p, r)
  indices that happen to overlap are not merged, and a changed input window is refetched whole
  (no halo reuse).
* ``U`` (membrane) and ``S`` (output spikes) are touched by the LIF update, which runs once per
  (t, n, k, p, q) after the C, R, S reduction: their counts use the nest projected onto
  (T, N, K, P, Q) (C, R, S loops removed).
* Partial results (``O``, ``U``): the first residency of a tile starts from zero (no fill) and the
  last is not written back; every other residency is a spill: written back to the parent
  (update) and later refilled (read). ``S`` tiles are written back once each.
* Spatial loops irrelevant to a tensor between a parent and a child are multicast (inputs) or
  spatial reduction (outputs): the parent sees the transfer once per group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from costmodel.types import ACCUMULATED, DIMS, OP_SPACE, RELEVANT, Dim, Tensor

Array = np.ndarray


# ------------------------------------------------------------------------------ nest structure
@dataclass(frozen=True, slots=True)
class NestStructure:
    """Positions of a flattened loop nest (outer to inner); factors come separately.

    ``level[j]``, ``dim[j]``, ``spatial[j]`` describe position ``j``; ``keeps[l]`` the tensors
    that level ``l`` holds for this mapping (the arch's ``keeps`` minus the mapping's bypass).
    """

    level: tuple[int, ...]
    dim: tuple[Dim, ...]
    spatial: tuple[bool, ...]
    keeps: tuple[frozenset[Tensor], ...]

    @property
    def n_levels(self) -> int:
        return len(self.keeps)

    def mask(self, pred) -> Array:  # noqa: ANN001 - tiny helper
        return np.array([bool(pred(j)) for j in range(len(self.level))], dtype=bool)

    def kept_levels(self, tensor: Tensor) -> list[int]:
        return [lv for lv, k in enumerate(self.keeps) if tensor in k]


# ------------------------------------------------------------------------------ equations
def window_extent(p: Array, r: Array, stride: int) -> Array:
    """Distinct input rows touched by ``p`` output rows and ``r`` filter rows.

    h = p' * stride + r' for p' < p, r' < r. The rows are contiguous when r >= stride:
    E = (p - 1) * stride + r; otherwise the windows do not overlap: E = p * r. Units: elements.
    """
    p = np.asarray(p)
    r = np.asarray(r)
    return np.where(r >= stride, (p - 1) * stride + r, p * r)


def tile_elements(tensor: Tensor, extent: dict[Dim, Array], stride: int) -> Array:
    """Elements of ``tensor`` in a tile spanning ``extent[d]`` iterations of each dim d.

    W: K*C*R*S; I: T*N*C*E(P,R)*E(Q,S) (sliding window, :func:`window_extent`);
    O, S: T*N*K*P*Q; U: N*K*P*Q. Units: elements (multiply by bits per element for bits).
    """
    e = extent
    if tensor is Tensor.I:
        return (
            e[Dim.T] * e[Dim.N] * e[Dim.C]
            * window_extent(e[Dim.P], e[Dim.R], stride)
            * window_extent(e[Dim.Q], e[Dim.S], stride)
        )
    out = np.ones_like(e[Dim.K])
    for d in RELEVANT[tensor]:
        out = out * e[d]
    return out


def residencies(f_above: Array, relevant: Array) -> Array:
    """Tile residencies per instance: how often a level's tile is (re)loaded.

    f_above: (M, J) bounds of the temporal loops above the level, outer to inner (loops outside
    the tensor's operation space left out); relevant: (J,) bools. A loop counts unless it is
    irrelevant and no relevant loop of bound > 1 lies inside it:
    R = prod_j f_j^[relevant_j or any_{k>j}(relevant_k and f_k > 1)].
    One pass inner to outer carrying an (M,) flag "a relevant loop of bound > 1 lies inside"
    (pass a transposed contiguous array for speed: columns are then contiguous).
    """
    m = f_above.shape[0]
    out = np.ones(m, dtype=np.int64)
    inner_live = np.zeros(m, dtype=bool)
    for j in range(f_above.shape[1] - 1, -1, -1):
        f = f_above[:, j]
        if relevant[j]:
            out = out * f
            inner_live = inner_live | (f > 1)
        else:
            out = np.where(inner_live, out * f, out)
    return out


def distinct_tiles(f_above: Array, relevant: Array) -> Array:
    """Distinct tiles per instance: D = prod of the relevant temporal bounds above the level."""
    out = np.ones(f_above.shape[0], dtype=np.int64)
    for j in np.flatnonzero(relevant):
        out = out * f_above[:, j]
    return out


def spill_transfers(res: Array, distinct: Array, tile: Array, instances: Array) -> Array:
    """Partial-result spills of one level (O, U): (R - D) * tile * instances elements.

    Each residency but the first of a tile is a refill, each but the last a writeback, so both
    counts are R - D per instance.
    """
    return (res - distinct) * tile * instances


def fill_transfers(res: Array, tile: Array, instances: Array) -> Array:
    """Read-only tensor fills of one level (W, I): R * tile * instances elements."""
    return res * tile * instances


def parent_side(transfers: Array, group: Array) -> Array:
    """Parent-side accesses for child transfers: multicast / spatial reduction over ``group``."""
    return transfers / group


def network_hops(moved: Array, groups: list[Array]) -> list[Array]:
    """Elements crossing each fanout network on the way between two kept levels.

    A transfer from a kept level down to a kept level several levels below (bypassing the ones
    in between) crosses the fanout network of every level from the upper one down to the one just
    above the lower one. Crossing hop ``h`` it is replicated only by the irrelevant spatial loops
    still below that hop: elements = moved / group_h (group_h = product of irrelevant spatial
    bounds from hop h down to the lower kept level).
    """
    return [moved / g for g in groups]


def compute_side(ops: Array, group: Array) -> Array:
    """Accesses by compute units to the innermost level holding a tensor: ops / group, where
    group is the product of irrelevant spatial bounds below that level (operand broadcast or
    spatial reduction of partial sums)."""
    return ops / group


# ------------------------------------------------------------------------------ the analysis
@dataclass(frozen=True, slots=True)
class AccessCounts:
    """Element accesses per (level, tensor), each an (M,) array over the batch.

    ``reads`` = elements leaving the level (to children, to compute, or written back up);
    ``writes`` = fills from the parent and spike writes; ``updates`` = read-modify-writes of
    partial results. ``macs`` dense accumulations, ``lif_ops`` LIF updates.
    """

    reads: dict[tuple[int, Tensor], Array]
    writes: dict[tuple[int, Tensor], Array]
    updates: dict[tuple[int, Tensor], Array]
    tiles: dict[tuple[int, Tensor], Array]
    compute_side: dict[tuple[int, Tensor], Array]  # part of reads/updates/writes made by compute or LIF
    fanout_traffic: dict[tuple[int, Tensor], Array]  # elements crossing the level's fanout network
    # (keys may include levels that bypass the tensor: the data still crosses their network)
    macs: Array
    lif_ops: Array
    temporal_iterations: tuple[Array, ...]  # per level: product of its temporal bounds


def access_counts(structure: NestStructure, factors: Array, stride: int) -> AccessCounts:
    """Per-(level, tensor) reads, writes and updates of a batch of mappings (elements).

    factors: (M, J) int64 loop bounds matching ``structure``. Each dim's factors must multiply to
    the layer's bound (checked by the caller).
    """
    factors = np.asarray(factors, dtype=np.int64)
    if factors.ndim == 1:
        factors = factors[None, :]
    lvl = np.array(structure.level)
    spatial = np.array(structure.spatial, dtype=bool)
    dims = structure.dim
    n_levels = structure.n_levels
    reads: dict[tuple[int, Tensor], Array] = {}
    writes: dict[tuple[int, Tensor], Array] = {}
    updates: dict[tuple[int, Tensor], Array] = {}
    tiles: dict[tuple[int, Tensor], Array] = {}
    cside: dict[tuple[int, Tensor], Array] = {}
    traffic: dict[tuple[int, Tensor], Array] = {}

    def add(store: dict, key: tuple[int, Tensor], value: Array) -> None:
        store[key] = store.get(key, 0) + value

    m = factors.shape[0]
    cols_t = np.ascontiguousarray(factors.T)  # (J, M): one contiguous row per loop position
    cache: dict[bytes, Array] = {}

    def prod_cols(mask: Array) -> Array:
        """Product of the factors at the positions in ``mask``,
        as row-by-row multiplies of contiguous (M,) vectors, memoised per mask."""
        key = mask.tobytes()
        out = cache.get(key)
        if out is None:
            idx = np.flatnonzero(mask)
            out = np.ones(m, dtype=np.int64) if len(idx) == 0 else cols_t[idx[0]].copy()
            for j in idx[1:]:
                out *= cols_t[j]
            cache[key] = out
        return out

    macs = prod_cols(np.ones(len(dims), dtype=bool))
    lif_mask = np.array([d in OP_SPACE[Tensor.U] for d in dims], dtype=bool)
    lif_ops = prod_cols(lif_mask)

    for tensor in Tensor:
        in_op = np.array([d in OP_SPACE[tensor] for d in dims], dtype=bool)
        rel = np.array([d in RELEVANT[tensor] for d in dims], dtype=bool) & in_op
        kept = structure.kept_levels(tensor)
        for lv in kept:
            inner = lvl >= lv
            extent = {d: prod_cols(inner & in_op & np.array([x is d for x in dims], dtype=bool)) for d in DIMS}
            tiles[(lv, tensor)] = tile_elements(tensor, extent, stride)
        for parent, child in zip(kept, kept[1:], strict=False):
            above_t = (lvl < child) & ~spatial
            idx = np.flatnonzero(above_t & in_op)
            f_above = cols_t[idx].T  # (M, J') view with contiguous columns
            res = residencies(f_above, rel[idx])
            inst = prod_cols((lvl < child) & spatial & in_op)
            irrelevant_spatial = spatial & ~rel & in_op
            group = prod_cols((lvl >= parent) & (lvl < child) & irrelevant_spatial)
            hop_groups = [prod_cols((lvl >= h) & (lvl < child) & irrelevant_spatial) for h in range(parent, child)]
            tile = tiles[(child, tensor)]
            if tensor in ACCUMULATED:
                moved = spill_transfers(res, distinct_tiles(f_above, rel[idx]), tile, inst)
                add(writes, (child, tensor), moved)
                add(reads, (child, tensor), moved)
                add(reads, (parent, tensor), parent_side(moved, group))
                add(updates, (parent, tensor), parent_side(moved, group))
                for h, n in zip(range(parent, child), network_hops(2 * moved, hop_groups), strict=True):
                    add(traffic, (h, tensor), n)
            elif tensor is Tensor.S:
                moved = fill_transfers(res, tile, inst)  # each S tile written back once
                add(reads, (child, tensor), moved)
                add(writes, (parent, tensor), parent_side(moved, group))
                for h, n in zip(range(parent, child), network_hops(moved, hop_groups), strict=True):
                    add(traffic, (h, tensor), n)
            else:
                moved = fill_transfers(res, tile, inst)
                add(writes, (child, tensor), moved)
                add(reads, (parent, tensor), parent_side(moved, group))
                for h, n in zip(range(parent, child), network_hops(moved, hop_groups), strict=True):
                    add(traffic, (h, tensor), n)
        inner_lv = kept[-1]
        group = prod_cols((lvl >= inner_lv) & spatial & ~rel & in_op)
        key = (inner_lv, tensor)
        if tensor in (Tensor.W, Tensor.I):
            cs = compute_side(macs, group)
            add(reads, key, cs)
        elif tensor is Tensor.O:
            cs = compute_side(macs, group)
            add(updates, key, cs)
            add(reads, key, lif_ops)  # the LIF reads each finished partial sum
            add(traffic, key, lif_ops)
        elif tensor is Tensor.U:
            cs = compute_side(lif_ops, group)
            add(updates, key, cs)
        else:
            cs = lif_ops
            add(writes, key, cs)
        cside[key] = np.broadcast_to(np.asarray(cs, dtype=np.float64), macs.shape)
        ops = lif_ops if tensor in (Tensor.U, Tensor.S) else macs
        hop_groups = [prod_cols((lvl >= h) & spatial & ~rel & in_op) for h in range(inner_lv, n_levels)]
        for h, n in zip(range(inner_lv, n_levels), network_hops(ops, hop_groups), strict=True):
            add(traffic, (h, tensor), n)

    temporal_iterations = tuple(prod_cols((lvl == lv) & ~spatial) for lv in range(n_levels))
    for store in (reads, writes, updates, traffic):
        for key in store:
            store[key] = np.broadcast_to(np.asarray(store[key], dtype=np.float64), macs.shape)
    return AccessCounts(
        reads=reads,
        writes=writes,
        updates=updates,
        tiles=tiles,
        compute_side=cside,
        fanout_traffic=traffic,
        macs=macs,
        lif_ops=lif_ops,
        temporal_iterations=temporal_iterations,
    )
