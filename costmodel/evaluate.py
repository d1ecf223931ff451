"""``evaluate(arch, layer, mapping) -> Cost | Invalid``: the cost model as one pure function.

The chain, each step a free function: :func:`nest_of` (mapping -> nest view + bounds) -> :func:`check` (factors,
fanout, bypass) -> :func:`costmodel.analysis.analyze` (the loop-nest analysis, once) ->
:func:`costmodel.pricing.price` (the cost form) -> :func:`costmodel.numeric.evaluate_form` (numpy) ->
:class:`Cost`. :func:`evaluate_batch` runs the same chain on many mappings of one nest at once.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from costmodel.accounting import Accounting
from costmodel.analysis import NestView, Position
from costmodel.arch import Arch
from costmodel.cost import Cost, Key
from costmodel.imc import cells_per_weight
from costmodel.mapping import Invalid, InvalidKind, Mapping
from costmodel.numeric import evaluate_form, total_energy
from costmodel.pricing import COMPUTE, CostForm, analyze_for, arch_area_um2, bits_of, price
from costmodel.types import DIMS, RELEVANT, Action, Axis, Dim
from costmodel.workload import Layer

#: Dims a crossbar's cell fanout can hold: output channels on the columns, the reduction on the rows.
CROSSBAR_DIMS: dict[Axis, frozenset[Dim]] = {Axis.X: frozenset({Dim.K}), Axis.Y: frozenset({Dim.C, Dim.R, Dim.S})}

Array = np.ndarray

__all__ = [
    "BatchResult",
    "CROSSBAR_DIMS",
    "arch_area_um2",
    "bits_of",
    "check",
    "cost_form",
    "evaluate",
    "evaluate_batch",
    "fanout_limit",
    "nest_of",
    "spatial_dims_allowed",
]


def fanout_limit(arch: Arch, layer: Layer, level: int, axis: Axis) -> int:
    """Instances a spatial loop may use along ``axis`` of ``level``'s fanout: the fanout, except on a crossbar's
    columns, where every output channel takes ceil(weight bits / bits per cell) adjacent cells."""
    limit = arch.levels[level].fanout.along(axis)
    xb = arch.crossbar
    if xb is not None and level == xb.level and axis is Axis.X:
        return limit // cells_per_weight(layer.weight_bits, xb.bits_per_cell)
    return limit


def spatial_dims_allowed(arch: Arch, level: int, axis: Axis) -> frozenset[Dim] | None:
    """Dims a spatial loop may hold on ``axis`` of ``level`` (None: any): a crossbar's columns hold output
    channels, its rows the reduction (C, R, S)."""
    xb = arch.crossbar
    if xb is not None and level == xb.level:
        return CROSSBAR_DIMS[axis]
    return None


def _resident_refills(arch: Arch, mapping: Mapping) -> Invalid | None:
    """A tensor held ``stationary`` at a level is programmed once: no temporal loop above the level may change
    its tile (a loop over a dim relevant to it, of bound > 1)."""
    for li, lv in enumerate(arch.levels):
        for t in lv.stationary:
            for lo in range(li):
                for lp in mapping.levels[lo].temporal:
                    if lp.bound > 1 and lp.dim in RELEVANT[t]:
                        return Invalid(
                            level=lv.name,
                            tensor=t,
                            kind=InvalidKind.RESIDENT,
                            reason=f"{t.value} is stationary here, but the temporal loop "
                            f"{lp.dim.value}={lp.bound} at {arch.levels[lo].name} would refill it",
                        )
    return None


def nest_of(arch: Arch, mapping: Mapping) -> tuple[NestView, Array]:
    """A mapping's nest as a concrete view (loop order and bypass known) and a (1, J) array of its bounds."""
    positions, bounds = [], []
    for i, lv in enumerate(mapping.levels):
        for lp in (*lv.temporal, *lv.spatial):
            positions.append(Position(i, lp.dim, lp.spatial, lp.axis if lp.spatial else None))
            bounds.append(lp.bound)
    may_keep = tuple(lv.keeps for lv in arch.levels)
    keeps = tuple(frozenset(a.keeps - m.bypass) for a, m in zip(arch.levels, mapping.levels, strict=True))
    view = NestView(positions=tuple(positions), may_keep=may_keep, keeps=keeps, ordered=True)
    return view, np.array(bounds, dtype=np.int64).reshape(1, len(bounds))


def supports(arch: Arch, layer: Layer) -> Invalid | None:
    """Whether ``arch`` can run ``layer`` at all: multi-bit inputs need a MAC price (``compute.mac_pj``, or
    bit-serial PEs) unless the arch computes in crossbars (rows driven bit-serially)."""
    c = arch.compute
    if layer.input_bits > 1 and arch.crossbar is None and c.mac_pj is None and not c.mac_bit_serial:
        return Invalid(
            kind=InvalidKind.UNSUPPORTED,
            key="compute.mac_pj",
            reason=f"layer {layer.name} has {layer.input_bits}-bit inputs, but arch {arch.name}'s PEs only "
            "accumulate: give compute.mac_pj (pJ per multiply-accumulate) or mac_pj: bit-serial",
        )
    return None


def check(arch: Arch, layer: Layer, mapping: Mapping) -> Invalid | None:
    """Structural legality (not capacity): the arch runs the layer, level count, factors, fanout, bypass."""
    unsupported = supports(arch, layer)
    if unsupported is not None:
        return unsupported
    if len(mapping.levels) != len(arch.levels):
        return Invalid(
            reason=f"mapping has {len(mapping.levels)} levels, arch {arch.name} has {len(arch.levels)}",
            kind=InvalidKind.FACTORS,
        )
    for d in DIMS:
        got = mapping.factor(d)
        if got != layer.bound(d):
            return Invalid(
                reason=f"factors of {d.value} multiply to {got}, the layer's {d.value} is {layer.bound(d)}",
                kind=InvalidKind.FACTORS,
            )
    for li, (lv, lm) in enumerate(zip(arch.levels, mapping.levels, strict=True)):
        for axis in Axis:
            used = math.prod(lp.bound for lp in lm.spatial if lp.axis is axis)
            limit = fanout_limit(arch, layer, li, axis)
            if used > limit:
                return Invalid(
                    level=lv.name,
                    reason=f"spatial loops use {used} along {axis.value}, the fanout has {limit}",
                    kind=InvalidKind.FANOUT,
                )
            allowed = spatial_dims_allowed(arch, li, axis)
            wrong = [
                lp.dim.value
                for lp in lm.spatial
                if lp.axis is axis and lp.bound > 1 and allowed is not None and lp.dim not in allowed
            ]
            if wrong:
                return Invalid(
                    level=lv.name,
                    kind=InvalidKind.FANOUT,
                    reason=f"crossbar {'columns' if axis is Axis.X else 'rows'} cannot hold {wrong[0]} "
                    f"(columns hold K, rows C, R, S)",
                )
        bad = lm.bypass - lv.keeps
        if bad:
            return Invalid(
                level=lv.name,
                reason=f"bypasses {sorted(t.value for t in bad)} which it does not keep",
                kind=InvalidKind.BYPASS,
            )
        t_sp = [lp for lp in lm.spatial if lp.dim is Dim.T and lp.bound > 1]
        if t_sp and layer.spiking and not arch.compute.lif_spatial_t:
            return Invalid(
                level=lv.name,
                kind=InvalidKind.FANOUT,
                key="compute.lif_spatial_t",
                reason=f"T={t_sp[0].bound} on the spatial {t_sp[0].axis.value} axis runs timesteps of a "
                f"neuron at once, but arch {arch.name}'s LIF units do not take the partial sums "
                "of several timesteps in order (compute.lif_spatial_t: false)",
            )
    if mapping.levels[0].bypass:
        return Invalid(
            level=arch.levels[0].name, reason="the outermost level cannot bypass a tensor", kind=InvalidKind.BYPASS
        )
    return _resident_refills(arch, mapping)


class _FormCache:
    """Cost forms memoised by (arch, layer, view); the entry holds the arch, so its id stays unique."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[tuple, tuple[Arch, CostForm]] = OrderedDict()

    def get(self, arch: Arch, layer: Layer, view: NestView, accounting: Accounting | None) -> CostForm:
        key = (id(arch), layer, view, accounting)
        hit = self._items.get(key)
        if hit is not None and hit[0] is arch:
            self._items.move_to_end(key)
            return hit[1]
        form = price(arch, layer, analyze_for(view, layer, accounting), accounting)
        self._items[key] = (arch, form)
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return form


_FORMS = _FormCache()


def cost_form(arch: Arch, layer: Layer, view: NestView, accounting: Accounting | None = None) -> CostForm:
    """The priced analysis of ``view`` for ``layer`` on ``arch`` under an accounting profile (memoised)."""
    return _FORMS.get(arch, layer, view, accounting)


def evaluate(arch: Arch, layer: Layer, mapping: Mapping, accounting: Accounting | None = None) -> Cost | Invalid:
    """Energy, cycles and area of ``layer`` on ``arch`` under ``mapping``; an Invalid if it cannot run.
    ``accounting``: a named profile of the arch (default: native)."""
    bad = check(arch, layer, mapping)
    if bad is not None:
        return bad
    view, factors = nest_of(arch, mapping)
    form = cost_form(arch, layer, view, accounting)
    ev = evaluate_form(form, factors)
    if ev.failure is not None:
        li, tensor, need, cap = ev.failure
        what = f"tile of {tensor.value}" if tensor is not None else "kept tiles"
        return Invalid(
            level=arch.levels[li].name,
            tensor=tensor,
            kind=InvalidKind.CAPACITY,
            reason=f"{what} need {need:.0f} bits, capacity is {cap} bits",
        )
    an = form.analysis
    return Cost(
        energy_pj={k: float(v[0]) for k, v in ev.energy_pj.items() if v[0] != 0.0},
        counts={k: float(v[0]) for k, v in ev.counts.items() if v[0] != 0.0},
        macs=float(ev.values[an.macs][0]),
        accumulations=float(
            sum(
                ev.counts[k][0]
                for k in (Key(COMPUTE, None, Action.AC), Key(COMPUTE, None, Action.MAC))
                if k in ev.counts
            )
        ),
        lif_ops=float(ev.values[an.lif_ops][0]),
        cycles=float(ev.cycles[0]),
        clock_hz=arch.clock_hz,
        area_um2=arch_area_um2(arch),
        pes=arch.pes,
    )


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Vectorised evaluation of M mappings of one nest: energy_pj, cycles, valid (M,)."""

    energy_pj: Array
    cycles: Array
    valid: Array

    @property
    def edp(self) -> Array:
        return self.energy_pj * self.cycles


def evaluate_batch(
    arch: Arch, layer: Layer, view: NestView, factors: Array, accounting: Accounting | None = None
) -> BatchResult:
    """Evaluate many mappings that share ``view`` (factors: (M, J) bounds) in one numpy pass.

    Factor products and fanout limits are the caller's responsibility (the mapspace only emits legal
    factorizations); capacity is checked here and reported in ``valid``.
    """
    energy, cycles, ok = total_energy(cost_form(arch, layer, view, accounting), np.asarray(factors))
    return BatchResult(energy_pj=energy, cycles=cycles, valid=ok)
