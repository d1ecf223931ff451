"""Brute-force reference for the loop-nest analysis (:mod:`costmodel.analysis`): execute a mapping's nest literally.

Nothing here reuses a closed form of ``costmodel.analysis``. The walker

1. flattens the mapping outer to inner (level 0 temporal, level 0 spatial, level 1 temporal, ...)
   and gives every dim a global index by mixed radix over its loops in nest order (an outer loop
   is a more significant digit);
2. for every tensor X, keeps only the loops of X's operation space (``OP_SPACE``: U and S see the
   nest with its C, R, S loops removed) and enumerates the *time steps* (the odometer of the
   temporal loops, outer to inner) and, for every level that keeps X, every *instance* of the
   level (one combination of the spatial loop indices above it);
3. tracks the tile resident in each instance at each step -- its identity is the tuple of the
   relevant loop indices above the level (index space: two (p, r) windows that overlap in data
   are different tiles) -- and records a *residency* whenever the tile changes (the first step
   counts);
4. turns residencies into events between consecutive kept levels (parent, child), per the
   counts.py docstring:

   * W, I: every residency is a fill: the child writes the tile, the parent reads it;
   * O, U: per instance, a residency of a tile already seen is a refill (child write, parent
     read), a residency that is not the tile's last is a writeback (child read, parent update);
     the first residency starts from zero, the last is not written back;
   * S: every residency is written back once (child read, parent write);
   * parent side: identical transfers -- same step, same parent instance, same tile identity,
     i.e. siblings that differ only in irrelevant spatial indices between parent and child --
     count once (multicast / spatial reduction);

5. counts compute-side accesses at the innermost level keeping X by enumerating every
   (time step, compute unit) pair of X's operation space and de-duplicating identical accesses
   in one step from one instance (same element in index space): W, I reads; O updates plus one
   read per LIF update (the finished partial sum); U updates; S writes;
6. measures tile *sizes* in data space: the number of distinct data coordinates touched by the
   loops at and below the level (for I, rows h = p * stride + r and columns w = q * stride + s
   with global p, r, q, s), for every tile, and insists that all tiles of a level are equal.

Ambiguities resolved here (the counts.py docstring leaves them open):

* Compute-side de-duplication uses index space, like the tiles: compute units in one instance
  reading I at (p, r) and (p', r') with p*stride + r == p'*stride + r' in the same step are two
  reads, not a broadcast of one.
* U's compute-side updates are de-duplicated over spatial T loops below U's innermost level like
  any other irrelevant spatial loop (T is irrelevant to U); physically the timesteps of one
  neuron are sequential, so such a mapping serialises them, but the count follows the rule.
* The O partial sum read by the LIF unit (one per (t, n, k, p, q)) is charged at the innermost
  level keeping O whose instances hold whole sums: no reduction loop (C, R, S) of bound > 1 is
  spatial above it. Every kept level inside that one is *split*: its instances hold parts of the
  same sums, so each distinct tile's final value is drained to the next kept level above (child
  read, parent update; siblings that differ only in irrelevant spatial indices merge, i.e. the
  spatial reduction). Reads are not de-duplicated.
* An accumulated tile's refill and writeback events are identified by the step at which the
  residency starts; siblings follow the same temporal schedule, so this groups them exactly.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from costmodel.mapping import Mapping
from costmodel.types import ACCUMULATED, DIMS, OP_SPACE, RELEVANT, Dim, Tensor

Key = tuple[int, Tensor]


@dataclass(frozen=True, slots=True)
class _Pos:
    """One loop of the flattened nest."""

    level: int
    dim: Dim
    bound: int
    spatial: bool


@dataclass
class Walk:
    """Element accesses per (level, tensor) found by walking the nest, as exact integers."""

    reads: Counter = field(default_factory=Counter)
    writes: Counter = field(default_factory=Counter)
    updates: Counter = field(default_factory=Counter)
    tiles: dict[Key, int] = field(default_factory=dict)
    macs: int = 0
    lif_ops: int = 0
    #: residencies and distinct tiles per instance, (child level, tensor) -> (R, D), for diagnosis
    residencies: dict[Key, tuple[int, int]] = field(default_factory=dict)
    #: (parent level, tensor) where sibling transfers were merged (multicast / spatial reduction)
    merged: set[Key] = field(default_factory=set)
    #: (child level, tensor) whose final partial sums were drained to the level above (split sums)
    drained: set[Key] = field(default_factory=set)


def flatten(mapping: Mapping) -> list[_Pos]:
    out: list[_Pos] = []
    for i, lv in enumerate(mapping.levels):
        out.extend(_Pos(i, lp.dim, lp.bound, False) for lp in lv.temporal)
        out.extend(_Pos(i, lp.dim, lp.bound, True) for lp in lv.spatial)
    return out


def _global(nest: Sequence[_Pos], idx: dict[int, int], dim: Dim) -> int:
    """Global index of ``dim``: mixed radix over its loops in nest order (outer = more significant).
    Loops absent from ``idx`` (projected away) stand at 0."""
    v = 0
    for j, p in enumerate(nest):
        if p.dim is dim:
            v = v * p.bound + idx.get(j, 0)
    return v


def _data_coord(tensor: Tensor, g: dict[Dim, int], stride: int) -> tuple[int, ...]:
    """The element of ``tensor`` touched at global indices ``g`` (data space)."""
    if tensor is Tensor.W:
        return (g[Dim.K], g[Dim.C], g[Dim.R], g[Dim.S])
    if tensor is Tensor.I:
        return (g[Dim.T], g[Dim.N], g[Dim.C], g[Dim.P] * stride + g[Dim.R], g[Dim.Q] * stride + g[Dim.S])
    if tensor is Tensor.U:
        return (g[Dim.N], g[Dim.K], g[Dim.P], g[Dim.Q])
    return (g[Dim.T], g[Dim.N], g[Dim.K], g[Dim.P], g[Dim.Q])  # O, S


def _odometer(nest: Sequence[_Pos], cols: Sequence[int]) -> Iterable[dict[int, int]]:
    """Every assignment of the loops ``cols`` (outer to inner; the innermost turns fastest)."""
    for values in itertools.product(*(range(nest[j].bound) for j in cols)):
        yield dict(zip(cols, values, strict=True))


@dataclass(frozen=True, slots=True)
class Rules:
    """What the walk counts: ``spiking`` (a non-spiking layer has no membrane U); ``update_reads`` (an O update by
    the accumulators also reads the element, except its first touch in each instance); ``drain_reads`` (reads
    that send a partial sum up -- spills, drains -- and the LIF's read of every finished sum)."""

    spiking: bool = True
    update_reads: bool = False
    drain_reads: bool = True


def walk(mapping: Mapping, keeps: Sequence[frozenset[Tensor]], stride: int, rules: Rules = Rules()) -> Walk:
    """Walk ``mapping``'s nest; ``keeps[l]`` = tensors level l holds (arch keeps minus bypass)."""
    nest = flatten(mapping)
    out = Walk()
    out.macs = sum(1 for _ in _odometer(nest, range(len(nest))))
    out.lif_ops = sum(1 for _ in _odometer(nest, [j for j, p in enumerate(nest) if p.dim in OP_SPACE[Tensor.U]]))
    for tensor in Tensor:
        if tensor is not Tensor.U or rules.spiking:
            _walk_tensor(tensor, nest, keeps, stride, out, rules)
    return out


def _walk_tensor(
    tensor: Tensor, full: Sequence[_Pos], keeps: Sequence[frozenset[Tensor]], stride: int, out: Walk, rules: Rules
) -> None:
    op = OP_SPACE[tensor]
    rel = RELEVANT[tensor]
    cols = [j for j, p in enumerate(full) if p.dim in op]  # the projected nest
    temporal = [j for j in cols if not full[j].spatial]
    spatial = [j for j in cols if full[j].spatial]
    steps = list(_odometer(full, temporal))
    kept = [lv for lv, k in enumerate(keeps) if tensor in k]

    # ---- tile sizes, in data space, for every tile of every kept level
    outer_cols = {lv: [j for j in cols if full[j].level < lv] for lv in kept}
    coords: dict[int, dict[tuple[int, ...], set[tuple[int, ...]]]] = {lv: {} for lv in kept}
    for idx in _odometer(full, cols):
        g = {d: _global(full, idx, d) for d in DIMS}
        c = _data_coord(tensor, g, stride)
        for lv in kept:
            coords[lv].setdefault(tuple(idx[j] for j in outer_cols[lv]), set()).add(c)
    for lv in kept:
        sizes = {len(s) for s in coords[lv].values()}
        assert len(sizes) == 1, f"tiles of {tensor.value} at level {lv} differ in size: {sorted(sizes)}"
        out.tiles[(lv, tensor)] = sizes.pop()

    # ---- residencies per instance: [(start step, tile id)]
    def residencies(lv: int) -> dict[tuple[int, ...], list[tuple[int, tuple[int, ...]]]]:
        inst_cols = [j for j in spatial if full[j].level < lv]
        id_cols = [j for j in cols if full[j].level < lv and full[j].dim in rel]
        per_inst: dict[tuple[int, ...], list[tuple[int, tuple[int, ...]]]] = {}
        for inst in _odometer(full, inst_cols):
            seq: list[tuple[int, tuple[int, ...]]] = []
            for s, t_idx in enumerate(steps):
                idx = {**t_idx, **inst}
                tile = tuple(idx[j] for j in id_cols)
                if not seq or seq[-1][1] != tile:
                    seq.append((s, tile))
            per_inst[tuple(inst[j] for j in inst_cols)] = seq
        return per_inst

    def split(lv: int) -> bool:  # a reduction loop of bound > 1 spreads instances of lv over parts of a sum
        return any(p.spatial and p.level < lv and p.bound > 1 and p.dim in (Dim.C, Dim.R, Dim.S) for p in full)

    for parent, child in itertools.pairwise(kept):
        size = out.tiles[(child, tensor)]
        n_parent_inst = sum(1 for j in spatial if full[j].level < parent)
        parent_events: set[tuple] = set()
        child_events = 0
        r_total = d_total = 0
        per_inst = residencies(child)
        for inst, seq in per_inst.items():
            parent_inst = inst[:n_parent_inst]  # spatial loops above the parent come first in the nest
            r_total, d_total = len(seq), len({tile for _, tile in seq})
            if tensor in ACCUMULATED:
                last = {tile: k for k, (_, tile) in enumerate(seq)}
                seen: set[tuple[int, ...]] = set()
                for k, (s, tile) in enumerate(seq):
                    if tile in seen:  # refill of a spilled partial result
                        out.writes[(child, tensor)] += size
                        child_events += 1
                        parent_events.add(("refill", s, parent_inst, tile))
                    seen.add(tile)
                    if last[tile] != k:  # spill: written back, to be refilled later
                        if rules.drain_reads or tensor is not Tensor.O:
                            out.reads[(child, tensor)] += size
                        child_events += 1
                        parent_events.add(("spill", s, parent_inst, tile))
            elif tensor is Tensor.S:
                for s, tile in seq:
                    out.reads[(child, tensor)] += size
                    child_events += 1
                    parent_events.add(("writeback", s, parent_inst, tile))
            else:
                for s, tile in seq:
                    out.writes[(child, tensor)] += size
                    child_events += 1
                    parent_events.add(("fill", s, parent_inst, tile))
        out.residencies[(child, tensor)] = (r_total, d_total)
        if len(parent_events) < child_events:
            out.merged.add((parent, tensor))
        if tensor is Tensor.O and split(child):  # drain every distinct tile's final value
            out.drained.add((child, tensor))
            for inst, seq in per_inst.items():
                for tile in {tile for _, tile in seq}:
                    if rules.drain_reads:
                        out.reads[(child, tensor)] += size
                    child_events += 1
                    parent_events.add(("drain", inst[:n_parent_inst], tile))
            if len([e for e in parent_events if e[0] == "drain"]) < sum(
                len({tile for _, tile in seq}) for seq in per_inst.values()
            ):
                out.merged.add((parent, tensor))
        for kind, *_ in parent_events:
            if kind in ("refill", "fill"):
                out.reads[(parent, tensor)] += size
            elif kind in ("spill", "drain"):
                out.updates[(parent, tensor)] += size
            else:
                out.writes[(parent, tensor)] += size

    # ---- compute side at the innermost kept level
    inner = kept[-1]
    seen_acc: set[tuple] = set()
    touched: set[tuple] = set()  # (instance, element): first touches
    for s, t_idx in enumerate(steps):
        for unit in _odometer(full, spatial):
            idx = {**t_idx, **unit}
            where = tuple(idx[j] for j in spatial if full[j].level < inner)
            element = tuple(idx[j] for j in cols if full[j].dim in rel)
            seen_acc.add((s, where, element))
            touched.add((where, element))
    accesses = len(seen_acc)
    key = (inner, tensor)
    if tensor in (Tensor.W, Tensor.I):
        out.reads[key] += accesses
    elif tensor is Tensor.O:
        out.updates[key] += accesses
        if rules.update_reads:  # read-modify-write: every update reads, but the first touch of an element
            out.reads[key] += accesses - len(touched)
        whole = [lv for lv in kept if not split(lv)][-1]  # the outermost level is never split
        if rules.drain_reads:
            out.reads[(whole, tensor)] += out.lif_ops  # the LIF unit reads every finished partial sum once
    elif tensor is Tensor.U:
        out.updates[key] += accesses
    else:
        out.writes[key] += accesses
