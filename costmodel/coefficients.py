"""The cost of a layer as a *form* over loop factors: products of factors times coefficients.

For mappers that optimise symbolically (CP-SAT) rather than by evaluating mappings: the same
equations as :mod:`costmodel.counts` and :func:`costmodel.evaluate.price`, written as

    energy_pj = sum_q energy_pj[q] * value_q  +  constant_pj  +  static_pj_per_cycle * cycles
    cycles    = max(compute_cycles, lif_cycles, sum_q bus[b][q] * value_q for every bus b)

where every *quantity* ``value_q`` is an element count: a product of loop factors (one factor per
:class:`Slot`, i.e. per (level, temporal|spatial axis, dim)), of sliding-window extents, and of
*conditional* factors (:class:`Refetch`: a loop irrelevant to a tensor counts only if a relevant
loop of bound > 1 lies inside it, which depends on the loop order and on which loops are live),
and is present only under a bypass condition (tensors kept / bypassed at given levels). Given a
loop order per level and a bypass choice every quantity is a monomial in the factors, so
log(value) is linear in prime-factor exponents.

Coefficients are per element (pJ, or cycles on a bus) and already include bits per word, access
granularity and spike gating. :func:`evaluate_form` evaluates a form numerically; tests check it
against :func:`costmodel.evaluate.evaluate_batch`, so the two cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping as MappingT
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from costmodel import energy as eq
from costmodel.arch import Arch
from costmodel.evaluate import bits_of
from costmodel.types import ACCUMULATED, OP_SPACE, RELEVANT, Action, Dim, Tensor
from costmodel.workload import Layer

Array = np.ndarray
TEMPORAL = "t"


@dataclass(frozen=True, slots=True, order=True)
class Slot:
    """Where a factor of ``dim`` goes: level ``level``'s temporal loop (kind ``t``) or its spatial axis ``x``/``y``."""

    level: int
    kind: str
    dim: Dim

    @property
    def spatial(self) -> bool:
        return self.kind != TEMPORAL


@dataclass(frozen=True, slots=True)
class Refetch:
    """Factor of temporal ``slot`` (a dim irrelevant to ``tensor``) in the residencies of the
    tensor's tile at level ``child``: it multiplies iff some ``tensor``-relevant temporal loop of
    bound > 1 lies inside it (same level and ordered inside, or a level between slot.level and
    child)."""

    slot: Slot
    tensor: Tensor
    child: int


@dataclass(frozen=True, slots=True)
class Window:
    """Sliding-window extent ``(p - 1) * stride + r`` (``p * r`` if r < stride) of the products
    of the ``p_slots`` and ``r_slots`` factors (see :func:`costmodel.counts.window_extent`)."""

    p_slots: tuple[Slot, ...]
    r_slots: tuple[Slot, ...]
    stride: int


@dataclass(frozen=True, slots=True)
class Quantity:
    """An element count: scale x prod(factors) x prod(refetch factors) x prod(windows), present
    iff the tensor is kept at every level of ``kept`` and bypasses every level of ``bypassed``
    (zero otherwise)."""

    name: str
    tensor: Tensor | None
    factors: tuple[Slot, ...]
    refetch: tuple[Refetch, ...] = ()
    windows: tuple[Window, ...] = ()
    scale: int = 1
    kept: tuple[int, ...] = ()
    bypassed: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class TileUse:
    """A tile that must fit level ``level``: ``bits`` x quantity ``q`` (present when kept)."""

    level: int
    tensor: Tensor
    q: int
    bits: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CostForm:
    """Energy and cycles of one layer on one arch as a linear form over :class:`Quantity` values.

    ``energy_pj[q]`` pJ per unit of quantity q; ``buses`` (name, cycles per unit of each quantity);
    compute cycles = prod of the temporal factors (systolic: outer x (inner + skew)); see the
    module docstring for the whole formula.
    """

    slots: tuple[Slot, ...]
    quantities: tuple[Quantity, ...]
    energy_pj: tuple[float, ...]
    constant_pj: float
    static_pj_per_cycle: float
    buses: tuple[tuple[str, tuple[float, ...]], ...]
    lif_cycles: float
    temporal_outer: tuple[Slot, ...]  # temporal slots at levels <= the systolic level (all if none)
    temporal_inner: tuple[Slot, ...]  # temporal slots below the systolic level
    systolic_skew: int | None  # x + y - 2 of the systolic fanout, None without one
    tiles: tuple[TileUse, ...]
    ordered: tuple[tuple[int, int], ...]  # (a, b): value_a >= value_b for every mapping (residencies >= distinct)
    capacity_bits: tuple[int | None, ...]  # per level
    tensor_capacity_bits: tuple[tuple[tuple[Tensor, int], ...], ...]  # per level


def _op(t: Tensor) -> frozenset[Dim]:
    return OP_SPACE[t]


def _rel(t: Tensor) -> frozenset[Dim]:
    return RELEVANT[t] & OP_SPACE[t]


def cost_form(arch: Arch, layer: Layer, slots: Sequence[Slot]) -> CostForm:
    """The cost form of ``layer`` on ``arch`` for mappings whose loops use ``slots``.

    Mirrors :func:`costmodel.counts.access_counts` (fills, spills, write-backs, multicast and
    spatial reduction, compute-side accesses) and :func:`costmodel.evaluate.price` (words per
    element, energy per action, spike gating, link energy, bus cycles, static energy).
    """
    slots = tuple(slots)
    quantities: list[Quantity] = []
    energy: dict[int, float] = {}
    bus: dict[str, dict[int, float]] = {}
    density = layer.mean_spike_density
    n = len(arch.levels)

    def add_q(q: Quantity) -> int:
        quantities.append(q)
        return len(quantities) - 1

    def charge(qi: int, level: int, tensor: Tensor, action: Action, per_element: float, *,
               gated: bool = False) -> None:
        """Price ``per_element`` accesses of kind ``action`` per unit of quantity qi (energy and buses)."""
        lv = arch.levels[level]
        w = float(eq.words(np.float64(per_element), bits_of(layer, tensor), lv.word_bits, lv.access_granularity))
        if gated:
            w *= density
        energy[qi] = energy.get(qi, 0.0) + w * lv.energy(action)
        inst = arch.instances(level)
        if action in (Action.READ, Action.UPDATE) and lv.read_bandwidth_bits_per_cycle is not None:
            b = bus.setdefault(f"{lv.name}/read", {})
            b[qi] = b.get(qi, 0.0) + w * lv.word_bits / (lv.read_bandwidth_bits_per_cycle * inst)
        if action in (Action.WRITE, Action.UPDATE) and lv.write_bandwidth_bits_per_cycle is not None:
            b = bus.setdefault(f"{lv.name}/write", {})
            b[qi] = b.get(qi, 0.0) + w * lv.word_bits / (lv.write_bandwidth_bits_per_cycle * inst)

    def link(qi: int, level: int, tensor: Tensor, per_element: float) -> None:
        """Network energy of ``per_element`` elements crossing ``level``'s fanout per unit of qi."""
        lv = arch.levels[level]
        if lv.link_pj_per_bit:
            energy[qi] = energy.get(qi, 0.0) + per_element * bits_of(layer, tensor) * lv.link_pj_per_bit

    def hops(t: Tensor, first: int, last: int, base: Quantity, per_element: float) -> None:
        """Traffic of ``base`` elements over the fanouts of levels first..last-1: crossing hop h
        it is divided by the irrelevant spatial factors from h down to ``last``
        (:func:`costmodel.counts.network_hops`)."""
        rel, op = _rel(t), _op(t)
        for h in range(first, last):
            if not arch.levels[h].link_pj_per_bit:
                continue
            group = {s for s in slots if h <= s.level < last and s.spatial and s.dim in op and s.dim not in rel}
            qi = add_q(Quantity(f"{base.name} hop@{arch.levels[h].name}", t,
                                tuple(s for s in base.factors if s not in group), base.refetch, base.windows,
                                base.scale, base.kept, base.bypassed))
            link(qi, h, t, per_element)

    def tile_q(t: Tensor, level: int) -> Quantity:
        inner = [s for s in slots if s.level >= level]
        if t is Tensor.I:
            f = tuple(s for s in inner if s.dim in (Dim.T, Dim.N, Dim.C))
            win = tuple(
                Window(tuple(s for s in inner if s.dim is p), tuple(s for s in inner if s.dim is r), layer.stride)
                for p, r in ((Dim.P, Dim.R), (Dim.Q, Dim.S)))
            return Quantity(f"tile {t.value}@{level}", t, f, windows=win)
        return Quantity(f"tile {t.value}@{level}", t, tuple(s for s in inner if s.dim in _rel(t)))

    tiles: list[TileUse] = []
    ordered: list[tuple[int, int]] = []
    for li, lv in enumerate(arch.levels):
        for t in sorted(lv.keeps):
            q = tile_q(t, li)
            qi = add_q(Quantity(q.name, t, q.factors, windows=q.windows, kept=(li,)))
            tiles.append(TileUse(level=li, tensor=t, q=qi, bits=bits_of(layer, t)))

    for t in Tensor:
        op, rel = _op(t), _rel(t)
        cand = [li for li, lv in enumerate(arch.levels) if t in lv.keeps]
        for ci, child in enumerate(cand[1:], start=1):
            above_t = [s for s in slots if s.level < child and not s.spatial and s.dim in op]
            res_f = tuple(s for s in above_t if s.dim in rel)
            res_r = tuple(Refetch(s, t, child) for s in above_t if s.dim not in rel)
            tile = tile_q(t, child)
            for parent in cand[:ci]:
                between = tuple(m for m in cand if parent < m < child)
                cond = dict(kept=(parent, child), bypassed=between)
                inst = tuple(s for s in slots if s.level < child and s.spatial and s.dim in op)
                inst_g = tuple(s for s in inst if not (s.level >= parent and s.dim not in rel))
                label = f"{t.value} {arch.levels[parent].name}->{arch.levels[child].name}"
                if t in ACCUMULATED:
                    made: list[tuple[int, int]] = []
                    for sign, rf in ((1.0, res_r), (-1.0, ())):
                        kind = "spill" if sign > 0 else "spill-first"
                        base = Quantity(f"{label} {kind}", t, res_f + tile.factors + inst, rf, tile.windows, **cond)
                        qc = add_q(base)
                        qp = add_q(Quantity(f"{label} {kind} parent", t, res_f + tile.factors + inst_g, rf,
                                            tile.windows, **cond))
                        charge(qc, child, t, Action.WRITE, sign)
                        charge(qc, child, t, Action.READ, sign)
                        charge(qp, parent, t, Action.READ, sign)
                        charge(qp, parent, t, Action.UPDATE, sign)
                        hops(t, parent, child, base, 2 * sign)
                        made.append((qc, qp))
                    ordered.extend([(made[0][0], made[1][0]), (made[0][1], made[1][1])])
                else:
                    base = Quantity(f"{label} fill", t, res_f + tile.factors + inst, res_r, tile.windows, **cond)
                    qc = add_q(base)
                    qp = add_q(Quantity(f"{label} fill parent", t, res_f + tile.factors + inst_g, res_r,
                                        tile.windows, **cond))
                    if t is Tensor.S:
                        charge(qc, child, t, Action.READ, 1.0)
                        charge(qp, parent, t, Action.WRITE, 1.0)
                    else:
                        charge(qc, child, t, Action.WRITE, 1.0)
                        charge(qp, parent, t, Action.READ, 1.0)
                    hops(t, parent, child, base, 1.0)
        # compute side at the innermost level that keeps t
        for li in cand:
            cond = dict(kept=(li,), bypassed=tuple(m for m in cand if m > li))
            lv = arch.levels[li]
            gated = t in lv.spike_gated
            group = [s for s in slots if s.level >= li and s.spatial and s.dim in op and s.dim not in rel]
            name = f"{t.value} compute@{lv.name}"
            if t in (Tensor.W, Tensor.I, Tensor.O):
                qi = add_q(Quantity(name, t, tuple(s for s in slots if s not in group), **cond))
                charge(qi, li, t, Action.READ if t is not Tensor.O else Action.UPDATE, 1.0, gated=gated)
                hops(t, li, n, Quantity(f"{t.value} ops@{lv.name}", t, slots, **cond), 1.0)
            if t is Tensor.O:  # the LIF reads every finished partial sum
                qi = add_q(Quantity(f"O lif-read@{lv.name}", t, (), scale=_lif_ops(layer), **cond))
                charge(qi, li, t, Action.READ, 1.0)
                link(qi, li, t, 1.0)
            if t is Tensor.U:
                qi = add_q(Quantity(name, t, tuple(s for s in slots if s.dim in op and s not in group), **cond))
                charge(qi, li, t, Action.UPDATE, 1.0)
            if t is Tensor.S:
                qi = add_q(Quantity(name, t, (), scale=_lif_ops(layer), **cond))
                charge(qi, li, t, Action.WRITE, 1.0)
            if t in (Tensor.U, Tensor.S):
                hops(t, li, n, Quantity(f"{t.value} ops@{lv.name}", t, tuple(s for s in slots if s.dim in op),
                                        **cond), 1.0)

    c = arch.compute
    accs = float(eq.accumulations(np.float64(layer.macs), density, layer.weight_density, c.skip_zero_weights))
    constant = accs * c.ac_pj + _lif_ops(layer) * c.lif_pj
    static = sum(lv.static_pj_per_cycle * arch.instances(i) for i, lv in enumerate(arch.levels))
    static += c.static_pj_per_cycle * arch.pes + c.lif_static_pj_per_cycle * arch.lif_units
    s_lv = next((i for i, lv in enumerate(arch.levels) if lv.fanout.systolic), None)
    temporal = [s for s in slots if not s.spatial]
    if s_lv is None:
        outer, inner, skew = tuple(temporal), (), None
    else:
        fo = arch.levels[s_lv].fanout
        outer = tuple(s for s in temporal if s.level <= s_lv)
        inner = tuple(s for s in temporal if s.level > s_lv)
        skew = fo.x + fo.y - 2
    nq = len(quantities)
    return CostForm(
        slots=slots,
        quantities=tuple(quantities),
        energy_pj=tuple(energy.get(i, 0.0) for i in range(nq)),
        constant_pj=constant,
        static_pj_per_cycle=static,
        buses=tuple((name, tuple(b.get(i, 0.0) for i in range(nq))) for name, b in bus.items()),
        lif_cycles=_lif_ops(layer) / arch.lif_units,
        temporal_outer=outer,
        temporal_inner=inner,
        systolic_skew=skew,
        tiles=tuple(tiles),
        ordered=tuple(ordered),
        capacity_bits=tuple(lv.capacity_bits for lv in arch.levels),
        tensor_capacity_bits=tuple(lv.tensor_capacity_bits for lv in arch.levels),
    )


def _lif_ops(layer: Layer) -> int:
    return math.prod(layer.bound(d) for d in OP_SPACE[Tensor.U])


# ------------------------------------------------------------------------------ numeric evaluation
def refetch_active(r: Refetch, factors: MappingT[Slot, Array], orders: MappingT[int, Sequence[Dim]]) -> Array:
    """Whether a refetch factor multiplies (per mapping): a relevant live loop lies inside it."""
    rel = _rel(r.tensor)
    lvl = r.slot.level
    order = list(orders.get(lvl, ()))
    out = None
    for s, f in factors.items():
        if s.spatial or s.dim not in rel:
            continue
        inside = (lvl < s.level < r.child) or (
            s.level == lvl and s.dim in order and r.slot.dim in order and order.index(s.dim) > order.index(r.slot.dim))
        if inside:
            live = np.asarray(f) > 1
            out = live if out is None else (out | live)
    return np.zeros_like(np.asarray(factors[r.slot]), dtype=bool) if out is None else out


def quantity_value(q: Quantity, factors: MappingT[Slot, Array], orders: MappingT[int, Sequence[Dim]],
                   keeps: Sequence[frozenset[Tensor]]) -> Array:
    """Numeric value of a quantity (per mapping); ``factors`` maps every slot to its (M,) factors."""
    any_f = next(iter(factors.values()))
    one = np.ones_like(np.asarray(any_f), dtype=np.float64)
    if q.tensor is not None and (any(q.tensor not in keeps[lv] for lv in q.kept)
                                 or any(q.tensor in keeps[lv] for lv in q.bypassed)):
        return one * 0.0
    v = one * q.scale
    for s in q.factors:
        v = v * factors[s]
    for r in q.refetch:
        v = v * np.where(refetch_active(r, factors, orders), factors[r.slot], 1)
    for w in q.windows:
        p = math.prod((np.asarray(factors[s]) for s in w.p_slots), start=one)
        rr = math.prod((np.asarray(factors[s]) for s in w.r_slots), start=one)
        v = v * np.where(rr >= w.stride, (p - 1) * w.stride + rr, p * rr)
    return v


def evaluate_form(form: CostForm, factors: MappingT[Slot, Array], orders: MappingT[int, Sequence[Dim]],
                  keeps: Sequence[frozenset[Tensor]]) -> tuple[Array, Array]:
    """(energy_pj, cycles) of mappings given their factors per slot, orders and kept tensors."""
    vals = [quantity_value(q, factors, orders, keeps) for q in form.quantities]
    e = sum(c * v for c, v in zip(form.energy_pj, vals, strict=True) if c) + form.constant_pj
    any_f = np.asarray(next(iter(factors.values())), dtype=np.float64)
    outer = math.prod((np.asarray(factors[s], dtype=np.float64) for s in form.temporal_outer), start=any_f * 0 + 1)
    if form.systolic_skew is None:
        cycles = outer
    else:
        inner = math.prod((np.asarray(factors[s], dtype=np.float64) for s in form.temporal_inner),
                          start=any_f * 0 + 1)
        cycles = outer * (inner + form.systolic_skew)
    cycles = np.maximum(cycles, form.lif_cycles)
    for _, coefs in form.buses:
        cycles = np.maximum(cycles, sum(c * v for c, v in zip(coefs, vals, strict=True) if c))
    return e + form.static_pj_per_cycle * cycles, cycles
