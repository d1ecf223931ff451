"""``evaluate(arch, layer, mapping) -> Cost | Invalid``: the cost model as one pure function.

The chain (each step a free function): :func:`nest_of` (mapping -> loop structure + bounds) ->
:func:`check` (factors, fanout, bypass, capacity) -> :func:`costmodel.counts.access_counts` ->
:func:`price` (action counts x energy table, static energy, cycles) -> :class:`Cost`.
:func:`evaluate_batch` runs the same chain on many mappings of one structure at once (numpy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from costmodel import energy as eq
from costmodel.arch import Arch
from costmodel.cost import Cost, Key
from costmodel.counts import AccessCounts, NestStructure, access_counts
from costmodel.mapping import Invalid, Mapping
from costmodel.types import DIMS, Action, Tensor
from costmodel.workload import Layer

Array = np.ndarray


def nest_of(arch: Arch, mapping: Mapping) -> tuple[NestStructure, Array]:
    """Flatten a mapping into its loop structure and a (1, J) array of bounds."""
    level, dim, spatial, bounds = [], [], [], []
    for i, lv in enumerate(mapping.levels):
        for lp in (*lv.temporal, *lv.spatial):
            level.append(i)
            dim.append(lp.dim)
            spatial.append(lp.spatial)
            bounds.append(lp.bound)
    keeps = tuple(
        frozenset(a.keeps - m.bypass) for a, m in zip(arch.levels, mapping.levels, strict=True)
    )
    structure = NestStructure(level=tuple(level), dim=tuple(dim), spatial=tuple(spatial), keeps=keeps)
    return structure, np.array([bounds], dtype=np.int64).reshape(1, len(bounds))


def check(arch: Arch, layer: Layer, mapping: Mapping) -> Invalid | None:
    """Structural legality (not capacity): level count, factors, fanout, bypass."""
    if len(mapping.levels) != len(arch.levels):
        return Invalid(
            reason=f"mapping has {len(mapping.levels)} levels, arch {arch.name} has {len(arch.levels)}",
            kind="factors",
        )
    for d in DIMS:
        got = mapping.factor(d)
        if got != layer.bound(d):
            return Invalid(
                reason=f"layer {layer.name}: factors of {d.value} multiply to {got}, the layer's {d.value} is "
                f"{layer.bound(d)}",
                kind="factors",
            )
    for lv, lm in zip(arch.levels, mapping.levels, strict=True):
        for axis, limit in (("x", lv.fanout.x), ("y", lv.fanout.y)):
            used = int(np.prod([lp.bound for lp in lm.spatial if lp.axis == axis]))
            if used > limit:
                return Invalid(
                    level=lv.name,
                    reason=f"spatial loops use {used} along {axis}, the fanout has {limit}",
                    kind="fanout",
                )
        bad = lm.bypass - lv.keeps
        if bad:
            return Invalid(level=lv.name, reason=f"bypasses {sorted(t.value for t in bad)} which it does not keep",
                           kind="bypass")
    if mapping.levels[0].bypass:
        return Invalid(level=arch.levels[0].name, reason="the outermost level cannot bypass a tensor", kind="bypass")
    return None


def bits_of(layer: Layer, tensor: Tensor) -> int:
    return eq.tensor_bits(tensor, layer.weight_bits, layer.psum_bits, layer.membrane_bits)


def capacity_ok(arch: Arch, layer: Layer, structure: NestStructure, counts: AccessCounts) -> tuple[Array, list]:
    """Per mapping: do the kept tiles fit every level? Returns (ok mask, [(level, tensor|None, need, cap)])."""
    m = counts.macs.shape[0]
    ok = np.ones(m, dtype=bool)
    failures: list = []
    for li, lv in enumerate(arch.levels):
        total = np.zeros(m)
        for t in structure.keeps[li]:
            need = counts.tiles[(li, t)] * bits_of(layer, t)
            total = total + need
            cap = lv.tensor_capacity(t)
            if cap is not None:
                bad = need > cap
                ok &= ~bad
                if bad[0]:
                    failures.append((lv.name, t, float(need[0]), cap))
        if lv.capacity_bits is not None:
            bad = total > lv.capacity_bits
            ok &= ~bad
            if bad[0]:
                failures.append((lv.name, None, float(total[0]), lv.capacity_bits))
    return ok, failures


def storage_actions(arch: Arch, layer: Layer, counts, *, density, zero, words, link, const):  # noqa: ANN001, ANN201
    """Storage and network actions of one layer, priced; shared by :func:`price` (numpy arrays) and
    :func:`costmodel.symbolic.symbolic_price` (sympy expressions), which inject the arithmetic:
    ``words`` (:func:`costmodel.energy.words` or its symbolic form), ``link`` (network energy),
    ``const`` (how a spec number enters: itself, or as an exact rational) and ``zero``.

    Storage: words x energy per word for READ, WRITE, UPDATE; compute-side accesses of tensors a
    level lists as ``spike_gated`` happen only for non-zero spikes (x density). Network: elements
    crossing a level's fanout x bits x ``link_pj_per_bit``. Returns (energy pJ, action counts,
    element counts, {level: (read bus bits, write bus bits)}), the dicts keyed by :class:`Key`.
    """
    energy: dict = {}
    acts: dict = {}
    elems: dict = {}
    bus_bits: dict = {}
    for (li, t) in counts.tiles:
        lv = arch.levels[li]
        bits = bits_of(layer, t)
        rd = counts.reads.get((li, t), zero)
        wr = counts.writes.get((li, t), zero)
        up = counts.updates.get((li, t), zero)
        if t in lv.spike_gated and (li, t) in counts.compute_side:
            skipped = counts.compute_side[(li, t)] * (1 - density)
            if t in (Tensor.W, Tensor.I):
                rd = rd - skipped
            elif t is Tensor.O:
                up = up - skipped
        rb, wb = bus_bits.get(li, (zero, zero))
        for action, n in ((Action.READ, rd), (Action.WRITE, wr), (Action.UPDATE, up)):
            w = words(n, bits, lv.word_bits, lv.access_granularity)
            key = Key(lv.name, t, action)
            elems[key] = n
            acts[key] = w
            energy[key] = eq.access_energy_pj(w, const(lv.energy(action)))
            if action in (Action.READ, Action.UPDATE):  # an update is a read and a write
                rb = rb + w * lv.word_bits
            if action in (Action.WRITE, Action.UPDATE):
                wb = wb + w * lv.word_bits
        bus_bits[li] = (rb, wb)
    for (li, t), moved in counts.fanout_traffic.items():
        lv = arch.levels[li]
        if lv.link_pj_per_bit:
            key = Key(lv.name, t, Action.TRANSFER)
            acts[key] = elems[key] = moved
            energy[key] = link(moved, bits_of(layer, t), lv.link_pj_per_bit)
    return energy, acts, elems, bus_bits


@dataclass(frozen=True, slots=True)
class Priced:
    """Energy (pJ) and action counts per :class:`Key`, and cycles, each an (M,) array."""

    energy: dict[Key, Array]
    counts: dict[Key, Array]
    cycles: Array
    accumulations: Array

    def total(self) -> Array:
        return sum(self.energy.values())  # type: ignore[return-value]


def price(arch: Arch, layer: Layer, structure: NestStructure, counts: AccessCounts) -> Priced:
    """Turn access counts into action counts and energies; compute cycles.

    Storage: words x energy per word for READ, WRITE, UPDATE; compute-side accesses of tensors a
    level lists as ``spike_gated`` happen only for non-zero spikes. Network: elements crossing a
    level's fanout x bits x ``link_pj_per_bit``. Compute: accumulations x ac_pj, LIF ops x lif_pj.
    Static: pJ/cycle x instances x cycles for every level, PE and LIF unit.
    """
    density = layer.mean_spike_density
    zero = np.zeros_like(counts.macs, dtype=np.float64)
    energy, acts, _, bus_bits = storage_actions(
        arch, layer, counts, density=density, zero=zero, words=eq.words, link=eq.link_energy_pj,
        const=lambda x: x)
    c = arch.compute
    accs = eq.accumulations(counts.macs.astype(np.float64), density, layer.weight_density, c.skip_zero_weights)
    acts[Key("compute", None, Action.AC)] = accs
    energy[Key("compute", None, Action.AC)] = eq.compute_energy_pj(accs, c.ac_pj)
    lif = counts.lif_ops.astype(np.float64)
    acts[Key("compute", None, Action.LIF)] = lif
    energy[Key("compute", None, Action.LIF)] = eq.compute_energy_pj(lif, c.lif_pj)

    cycles = eq.compute_cycles(tuple(x.astype(np.float64) for x in counts.temporal_iterations), arch)
    cycles = np.maximum(cycles, eq.lif_cycles(lif, arch.lif_units))
    for li, (rb, wb) in bus_bits.items():
        lv = arch.levels[li]
        inst = arch.instances(li)
        cycles = np.maximum(cycles, eq.bandwidth_cycles(rb, lv.read_bandwidth_bits_per_cycle, inst))
        cycles = np.maximum(cycles, eq.bandwidth_cycles(wb, lv.write_bandwidth_bits_per_cycle, inst))
    for li, lv in enumerate(arch.levels):
        if lv.static_pj_per_cycle:
            energy[Key(lv.name, None, Action.STATIC)] = eq.static_energy_pj(
                cycles, lv.static_pj_per_cycle, arch.instances(li))
    if c.static_pj_per_cycle:
        energy[Key("compute", None, Action.STATIC)] = eq.static_energy_pj(cycles, c.static_pj_per_cycle, arch.pes)
    if c.lif_static_pj_per_cycle:
        energy[Key("lif", None, Action.STATIC)] = eq.static_energy_pj(
            cycles, c.lif_static_pj_per_cycle, arch.lif_units)
    return Priced(energy=energy, counts=acts, cycles=cycles, accumulations=accs)


def arch_area_um2(arch: Arch) -> float:
    """Chip area: every level instance, PE datapath and LIF unit (um^2)."""
    return sum(eq.level_area_um2(lv, arch.instances(i)) for i, lv in enumerate(arch.levels)) + eq.compute_area_um2(
        arch)


def evaluate(arch: Arch, layer: Layer, mapping: Mapping) -> Cost | Invalid:
    """Energy, cycles and area of ``layer`` on ``arch`` under ``mapping``; an Invalid if it cannot run."""
    bad = check(arch, layer, mapping)
    if bad is not None:
        return bad
    structure, factors = nest_of(arch, mapping)
    counts = access_counts(structure, factors, layer.stride)
    ok, failures = capacity_ok(arch, layer, structure, counts)
    if not ok[0]:
        name, tensor, need, cap = failures[0]
        what = f"tile of {tensor.value}" if tensor is not None else "kept tiles"
        return Invalid(
            level=name,
            tensor=tensor,
            reason=f"{what} need {need:.0f} bits, capacity is {cap} bits",
            kind="capacity",
        )
    priced = price(arch, layer, structure, counts)
    return Cost(
        energy_pj={k: float(v[0]) for k, v in priced.energy.items() if v[0] != 0.0},
        counts={k: float(v[0]) for k, v in priced.counts.items() if v[0] != 0.0},
        macs=float(counts.macs[0]),
        accumulations=float(priced.accumulations[0]),
        lif_ops=float(counts.lif_ops[0]),
        cycles=float(priced.cycles[0]),
        clock_hz=arch.clock_hz,
        area_um2=arch_area_um2(arch),
        pes=arch.pes,
    )


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Vectorised evaluation of M mappings of one structure: energy_pj, cycles, valid (M,)."""

    energy_pj: Array
    cycles: Array
    valid: Array

    @property
    def edp(self) -> Array:
        return self.energy_pj * self.cycles


def evaluate_batch(arch: Arch, layer: Layer, structure: NestStructure, factors: Array) -> BatchResult:
    """Evaluate many mappings that share ``structure`` (factors: (M, J) bounds) in one numpy pass.

    Factor products and fanout limits are the caller's responsibility (the mapspace only emits
    legal factorizations); capacity is checked here and reported in ``valid``.
    """
    counts = access_counts(structure, factors, layer.stride)
    ok, _ = capacity_ok(arch, layer, structure, counts)
    priced = price(arch, layer, structure, counts)
    return BatchResult(energy_pj=priced.total(), cycles=priced.cycles, valid=ok)

