"""The numpy arithmetic: a :class:`~costmodel.pricing.CostForm` evaluated on a batch of factor rows.

``factors`` is an (M, J) integer array: row m gives the bound of every position of the form's nest for mapping m
(a scalar evaluation is a batch of one, so ``evaluate`` and the mappers' batched search run the same code). Every
value is derived from the form; this module only multiplies, selects and sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from costmodel.analysis import FlowKind, FlowTerm, Fn, FnKind, Presence, Quantity, Refetch, window_extent
from costmodel.cost import Key
from costmodel.halo import Flow, Loop, input_flow
from costmodel.imc import mesh_mean_hops, p_any_spike
from costmodel.pricing import CostForm
from costmodel.types import Axis, Dim, Tensor

Array = np.ndarray


class _Columns:
    """Products of factor columns, memoised by position set (contiguous (M,) vectors)."""

    def __init__(self, factors: Array) -> None:
        self.cols = np.ascontiguousarray(np.asarray(factors, dtype=np.int64).T)
        self.m = self.cols.shape[1]
        self._prod: dict[tuple[int, ...], Array] = {}
        self._live: dict[tuple[int, ...], Array] = {}

    def prod(self, positions: tuple[int, ...]) -> Array:
        out = self._prod.get(positions)
        if out is None:
            if not positions:
                out = np.ones(self.m, dtype=np.int64)
            else:
                out = self.cols[positions[0]].copy()
                for j in positions[1:]:
                    out *= self.cols[j]
            self._prod[positions] = out
        return out

    def any_live(self, positions: tuple[int, ...]) -> Array:
        """Per row: some position of ``positions`` has a factor > 1."""
        out = self._live.get(positions)
        if out is None:
            out = np.zeros(self.m, dtype=bool)
            for j in positions:
                out = out | (self.cols[j] > 1)
            self._live[positions] = out
        return out


def presence_holds(p: Presence | None, keeps: Sequence[frozenset[Tensor]] | None) -> bool:
    """Whether a quantity's presence condition holds for the bypass choice ``keeps``."""
    if p is None:
        return True
    if keeps is None:
        raise ValueError("an open-view form needs the kept tensors per level to be evaluated")
    return all(p.tensor in keeps[lv] for lv in p.kept) and not any(p.tensor in keeps[lv] for lv in p.bypassed)


def _refetch_active(r: Refetch, cols: _Columns, rank: Sequence[int] | None) -> Array:
    active = cols.any_live(r.inside)
    if r.same_level:
        if rank is None:
            raise ValueError("an open-view form needs the loop order (rank) to be evaluated")
        inside = tuple(k for k in r.same_level if rank[k] > rank[r.position])
        active = active | cols.any_live(inside)
    return active


def quantity_value(
    q: Quantity, cols: _Columns, rank: Sequence[int] | None, keeps: Sequence[frozenset[Tensor]] | None
) -> Array:
    """scale x prod(factors) x prod(active refetch factors) x prod(window extents) x prod(gates), or 0 when the
    presence condition fails (integers)."""
    if not presence_holds(q.presence, keeps):
        return np.zeros(cols.m, dtype=np.int64)
    v = cols.prod(q.factors) if q.flow is None else flow_value(q.flow, cols)
    for r in q.refetch:
        v = np.where(_refetch_active(r, cols, rank), v * cols.cols[r.position], v)
    for w in q.windows:
        v = v * window_extent(cols.prod(w.p), cols.prod(w.r), w.stride, np.where)
    for g in q.gates:
        v = np.where(cols.any_live(g.positions) == g.live, v, 0)
    for fn in q.fns:
        v = v * fn_value(fn, cols.prod(fn.positions))
    return v * q.scale if q.scale != 1 else v


@lru_cache(maxsize=4096)
def _flow(term: FlowTerm, bounds: tuple[int, ...]) -> Flow:
    nest = [
        Loop(level, Dim(d), bound, Axis(a) if a else None)
        for (level, d, a), bound in zip(term.nest, bounds, strict=True)
    ]
    o = term.options
    return input_flow(
        nest,
        term.parent,
        term.child,
        term.stride,
        halo=o.halo,
        forwarding=o.forwarding,
        links_one_instance=o.one_instance,
    )


def flow_value(term: FlowTerm, cols: _Columns) -> Array:
    """An input-transfer count of :func:`costmodel.halo.input_flow` per row (a walk per distinct mapping, not a
    product of factors; memoised per (term, bounds))."""
    out = np.empty(cols.m, dtype=np.int64)
    for m in range(cols.m):
        f = _flow(replace(term, kind=FlowKind.CHILD_FILLS, hop=0), tuple(int(x) for x in cols.cols[:, m]))
        out[m] = {
            FlowKind.PARENT_READS: f.parent_reads,
            FlowKind.CHILD_FILLS: f.child_fills,
            FlowKind.PEER_READS: f.peer_reads,
            FlowKind.CROSSING: f.crossings[term.hop] if term.kind is FlowKind.CROSSING else 0,
        }[term.kind]
    return out


def fn_value(fn: Fn, n: Array) -> Array:
    """A quantity's nonlinear factor at n = the product of its positions' factors (:mod:`costmodel.imc`)."""
    if fn.kind is FnKind.ANY_SPIKE:
        return p_any_spike(fn.param, n.astype(np.float64))
    return mesh_mean_hops(n.astype(np.float64), lambda x: np.ceil(np.sqrt(x)))


def quantity_values(
    form: CostForm,
    factors: Array,
    *,
    rank: Sequence[int] | None = None,
    keeps: Sequence[frozenset[Tensor]] | None = None,
) -> list[Array]:
    """Every quantity of ``form`` as a float (M,) array. ``rank``/``keeps``: the loop order (rank of each
    position within its level) and the kept tensors, needed only for open-view forms."""
    cols = _Columns(factors)
    return [quantity_value(q, cols, rank, keeps).astype(np.float64) for q in form.quantities]


@dataclass(frozen=True, slots=True)
class Evaluated:
    """A form evaluated on M mappings: energy and action counts per key, cycles, capacity validity, and the
    first capacity failure of row 0 as (level, tensor | None, need bits, limit bits)."""

    energy_pj: dict[Key, Array]
    counts: dict[Key, Array]
    cycles: Array
    valid: Array
    failure: tuple[int, Tensor | None, float, int] | None
    values: list[Array]

    def total(self) -> Array:
        out = np.zeros_like(self.cycles)
        for v in self.energy_pj.values():
            out = out + v
        return out


def cycles_of(form: CostForm, values: list[Array]) -> Array:
    """max(compute cycles (with the systolic skew), LIF cycles, every bus's cycles) per mapping."""
    cm = form.cycles
    cycles = values[cm.outer] if cm.inner is None else values[cm.outer] * (values[cm.inner] + cm.skew)
    if cm.cycles_per_step != 1:
        cycles = cycles * cm.cycles_per_step
    if cm.extra_cycles:
        cycles = cycles + cm.extra_cycles
    cycles = np.maximum(cycles, values[cm.lif] * cm.cycles_per_lif_op)
    per_bus: dict[str, Array] = {}
    for b in form.buses:
        per_bus[b.bus] = per_bus.get(b.bus, 0.0) + b.cycles_per_unit * values[b.q]
    for v in per_bus.values():
        cycles = np.maximum(cycles, v)
    return cycles


Failure = tuple[int, Tensor | None, float, int]  # (level, tensor | None, need bits, limit bits)


def capacity_check(form: CostForm, values: list[Array], m: int) -> tuple[Array, Failure | None]:
    """Per mapping (m of them): do the kept tiles fit every level (per tensor partition and in total)? And row 0's
    first failure as (level, tensor | None, need bits, limit bits)."""
    ok = np.ones(m, dtype=bool)
    first = None
    for c in form.capacities:
        need = np.zeros(m)
        for q, bits in c.uses:
            need = need + values[q] * bits
        bad = need > c.limit_bits
        ok &= ~bad
        if first is None and bad[0]:
            first = (c.level, c.tensor, float(need[0]), c.limit_bits)
    return ok, first


def evaluate_form(
    form: CostForm,
    factors: Array,
    *,
    rank: Sequence[int] | None = None,
    keeps: Sequence[frozenset[Tensor]] | None = None,
) -> Evaluated:
    """Energy (pJ) and action counts per key, cycles and capacity validity of M mappings (see the module doc)."""
    values = quantity_values(form, factors, rank=rank, keeps=keeps)
    energy: dict[Key, Array] = {}
    counts: dict[Key, Array] = {}
    for c in form.charges:
        v = values[c.q]
        energy[c.key] = energy.get(c.key, 0.0) + c.pj_per_unit * v
        counts[c.key] = counts.get(c.key, 0.0) + c.actions_per_unit * v
    cycles = cycles_of(form, values)
    for key, pj in form.static:
        energy[key] = pj * cycles
    ok, first = capacity_check(form, values, cycles.shape[0])
    return Evaluated(energy_pj=energy, counts=counts, cycles=cycles, valid=ok, failure=first, values=values)


def total_energy(
    form: CostForm,
    factors: Array,
    *,
    rank: Sequence[int] | None = None,
    keeps: Sequence[frozenset[Tensor]] | None = None,
) -> tuple[Array, Array, Array]:
    """(energy pJ, cycles, valid) of M mappings: the fast path of :func:`evaluate_form` (no per-key split)."""
    values = quantity_values(form, factors, rank=rank, keeps=keeps)
    per_q: dict[int, float] = {}
    for c in form.charges:
        per_q[c.q] = per_q.get(c.q, 0.0) + c.pj_per_unit
    cycles = cycles_of(form, values)
    energy = cycles * form.static_pj_per_cycle
    for q, coef in per_q.items():
        if coef:
            energy = energy + coef * values[q]
    ok, _ = capacity_check(form, values, cycles.shape[0])
    return energy, cycles, ok


@dataclass(frozen=True, slots=True)
class ElementCounts:
    """The analysis's element counts per (level, tensor), before pricing: ``reads``, ``writes``, ``updates``
    (elements, summed over instances), ``tiles`` (elements per instance), ``traffic`` (elements crossing each
    level's fanout network), ``macs`` and ``lif_ops`` (each an (M,) array)."""

    reads: dict[tuple[int, Tensor], Array]
    writes: dict[tuple[int, Tensor], Array]
    updates: dict[tuple[int, Tensor], Array]
    tiles: dict[tuple[int, Tensor], Array]
    traffic: dict[tuple[int, Tensor], Array]
    macs: Array
    lif_ops: Array


def element_counts(
    form: CostForm,
    factors: Array,
    *,
    rank: Sequence[int] | None = None,
    keeps: Sequence[frozenset[Tensor]] | None = None,
) -> ElementCounts:
    """Per-(level, tensor) element accesses of M mappings: the analysis's accesses that the form's accounting
    counts (``form.accesses``)."""
    from costmodel.types import Action

    values = quantity_values(form, factors, rank=rank, keeps=keeps)
    an = form.analysis
    stores: dict[Action, dict[tuple[int, Tensor], Array]] = {Action.READ: {}, Action.WRITE: {}, Action.UPDATE: {}}
    for a in form.accesses:
        d = stores[a.action]
        d[(a.level, a.tensor)] = d.get((a.level, a.tensor), 0.0) + a.sign * values[a.q]
    traffic: dict[tuple[int, Tensor], Array] = {}
    for t in an.traffic:
        traffic[(t.level, t.tensor)] = traffic.get((t.level, t.tensor), 0.0) + t.elements * values[t.q]
    tiles = {(u.level, u.tensor): values[u.q] for u in an.tiles}
    return ElementCounts(
        reads=stores[Action.READ],
        writes=stores[Action.WRITE],
        updates=stores[Action.UPDATE],
        tiles=tiles,
        traffic=traffic,
        macs=values[an.macs],
        lif_ops=values[an.lif_ops],
    )


def capacity_ok(form: CostForm, factors: Array, keeps: Sequence[frozenset[Tensor]] | None = None) -> Array:
    """Per mapping: do the kept tiles fit? Evaluates only the quantities the capacity terms use (tiles depend on
    the factors and the bypass choice, not on the loop order)."""
    cols = _Columns(factors)
    needed = {q for c in form.capacities for q, _ in c.uses}
    values: list[Array] = [np.zeros(0)] * len(form.quantities)
    for q in needed:
        values[q] = quantity_value(form.quantities[q], cols, None, keeps).astype(np.float64)
    ok, _ = capacity_check(form, values, cols.m)
    return ok
