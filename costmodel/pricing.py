"""Pricing: an :class:`~costmodel.analysis.Analysis` turned into a :class:`CostForm`, the linear cost of one layer
on one arch over the analysis's quantities (DESIGN.md section 4.4).

    energy_pj = sum_c elements_c x actions_per_element_c x pj_per_action_c x value(q_c)  +  static_pj x cycles
    cycles    = max(compute cycles, LIF cycles, sum_b cycles_per_unit_b x value(q_b) for every bus b)

Every number comes from the arch and the layer; every count from the analysis. The numeric, symbolic and CP-SAT
arithmetics (:mod:`costmodel.numeric`, :mod:`costmodel.symbolic`, :mod:`mappers.cpsat`) evaluate this form; none
restates a coefficient. One pure function per equation below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from costmodel.analysis import Access, Analysis, Quantity
from costmodel.arch import Arch, Level
from costmodel.cost import Key
from costmodel.types import Action, Granularity, Tensor
from costmodel.workload import Layer

COMPUTE = "compute"
LIF = "lif"


# ------------------------------------------------------------------------------ equations
def tensor_bits(tensor: Tensor, weight_bits: int, psum_bits: int, membrane_bits: int) -> int:
    """Bits per element: W weight_bits, I and S 1 (spikes), O psum_bits, U membrane_bits."""
    return {Tensor.W: weight_bits, Tensor.I: 1, Tensor.S: 1, Tensor.O: psum_bits, Tensor.U: membrane_bits}[tensor]


def bits_of(layer: Layer, tensor: Tensor) -> int:
    """Bits per element of ``tensor`` in ``layer`` (:func:`tensor_bits`)."""
    return tensor_bits(tensor, layer.weight_bits, layer.psum_bits, layer.membrane_bits)


def actions_per_element(bits_per_element: int, word_bits: int, granularity: Granularity) -> Fraction:
    """Storage accesses per element of ``bits_per_element`` bits (exact).

    packed: bits / word_bits (fractional words: data is streamed densely); element: one access per element
    whatever its width (e.g. SATA's tool, which prices every byte or spike at the full block energy).
    """
    return Fraction(1) if granularity is Granularity.ELEMENT else Fraction(bits_per_element, word_bits)


def accumulations_per_spike(weight_density: float, skip_zero_weights: bool) -> float:
    """Executed accumulates per dense MAC and unit of input spike density: 1, or the weight density if zero
    weights are skipped too (accumulations = MACs x rho x this)."""
    return weight_density if skip_zero_weights else 1.0


def bus_cycles_per_bit(bandwidth_bits_per_cycle: float, instances: int) -> float:
    """Cycles a level needs per bit moved over all its instances: 1 / (bw x instances)."""
    return 1.0 / (bandwidth_bits_per_cycle * instances)


def lif_cycles_per_op(lif_units: int) -> float:
    """Cycles the LIF units need per update: one update per unit per cycle: 1 / units."""
    return 1.0 / lif_units


def static_pj_per_cycle(arch: Arch) -> dict[Key, float]:
    """Static (leakage or ungated clock) power of the chip by component, pJ per cycle:
    every level's pJ/cycle x instances, the PE datapaths' x PEs, the LIF units' x LIF units."""
    out: dict[Key, float] = {}
    for li, lv in enumerate(arch.levels):
        if lv.static_pj_per_cycle:
            out[Key(lv.name, None, Action.STATIC)] = lv.static_pj_per_cycle * arch.instances(li)
    c = arch.compute
    if c.static_pj_per_cycle:
        out[Key(COMPUTE, None, Action.STATIC)] = c.static_pj_per_cycle * arch.pes
    if c.lif_static_pj_per_cycle:
        out[Key(LIF, None, Action.STATIC)] = c.lif_static_pj_per_cycle * arch.lif_units
    return out


def level_area_um2(level: Level, instances: int) -> float:
    """Area of every instance of a level (um^2)."""
    return level.area_um2 * instances


def arch_area_um2(arch: Arch) -> float:
    """Chip area (um^2): every level instance, plus pes x A_pe + lif_units x A_lif."""
    c = arch.compute
    levels = sum(level_area_um2(lv, arch.instances(i)) for i, lv in enumerate(arch.levels))
    return levels + arch.pes * c.area_um2 + arch.lif_units * c.lif_area_um2


# ------------------------------------------------------------------------------ the form
@dataclass(frozen=True, slots=True)
class Charge:
    """A linear term: ``elements`` x value(q) elements (x the input spike density ``rho`` when ``per_spike``:
    accesses that happen only for non-zero spikes), each ``actions_per_element`` actions (words, transfers,
    operations; an exact fraction) of ``pj_per_action`` pJ, charged to ``key``."""

    key: Key
    q: int
    elements: float
    per_spike: bool
    actions_per_element: Fraction
    pj_per_action: float
    rho: float

    @property
    def elements_per_unit(self) -> float:
        return self.elements * (self.rho if self.per_spike else 1.0)

    @property
    def actions_per_unit(self) -> float:
        return self.elements_per_unit * float(self.actions_per_element)

    @property
    def pj_per_unit(self) -> float:
        return self.actions_per_unit * self.pj_per_action


@dataclass(frozen=True, slots=True)
class BusTerm:
    """``cycles_per_unit`` x value(q) cycles on bus ``bus`` (a level's read or write port)."""

    bus: str
    q: int
    cycles_per_unit: float


@dataclass(frozen=True, slots=True)
class Capacity:
    """sum bits x value(q) over ``uses`` must not exceed ``limit_bits`` at ``level`` (one tensor's partition
    when ``tensor`` is set, else the whole level)."""

    level: int
    tensor: Tensor | None
    limit_bits: int
    uses: tuple[tuple[int, int], ...]  # (q, bits per element)


@dataclass(frozen=True, slots=True)
class CycleModel:
    """Compute cycles = value(outer) x (value(inner) + skew) with a systolic fanout (outer: temporal loops at and
    above the systolic level, inner: below it, skew = x + y - 2), else value(outer) (all temporal loops); LIF
    cycles = value(lif) x cycles_per_lif_op."""

    outer: int
    inner: int | None
    skew: int
    lif: int
    cycles_per_lif_op: float


@dataclass(frozen=True, slots=True)
class CostForm:
    """One layer on one arch as linear terms over ``quantities`` (the analysis's, then pricing's own)."""

    analysis: Analysis
    quantities: tuple[Quantity, ...]
    charges: tuple[Charge, ...]
    buses: tuple[BusTerm, ...]
    cycles: CycleModel
    static: tuple[tuple[Key, float], ...]
    capacities: tuple[Capacity, ...]
    level_names: tuple[str, ...]
    spike_density: float
    notes: tuple[str, ...] = field(default=())

    @property
    def static_pj_per_cycle(self) -> float:
        return sum(p for _, p in self.static)

    @property
    def bus_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(b.bus for b in self.buses))


# ------------------------------------------------------------------------------ pricing steps
def _gated(level: Level, a: Access) -> bool:
    """Compute-side accesses of a tensor the level lists as ``spike_gated`` happen only for non-zero spikes."""
    return a.compute_side and a.tensor in level.spike_gated


def _storage(arch: Arch, layer: Layer, analysis: Analysis) -> tuple[list[Charge], list[BusTerm]]:
    """Storage actions priced per word (READ, WRITE, UPDATE) and the bus cycles they take: an update is a read
    and a write on the ports."""
    charges, buses = [], []
    rho = layer.mean_spike_density
    for a in analysis.accesses:
        lv = arch.levels[a.level]
        per = actions_per_element(bits_of(layer, a.tensor), lv.word_bits, lv.access_granularity)
        c = Charge(Key(lv.name, a.tensor, a.action), a.q, float(a.sign), _gated(lv, a), per, lv.energy(a.action),
                   rho)
        charges.append(c)
        inst = arch.instances(a.level)
        for direction, bw, moves in (("read", lv.read_bandwidth_bits_per_cycle, (Action.READ, Action.UPDATE)),
                                     ("write", lv.write_bandwidth_bits_per_cycle, (Action.WRITE, Action.UPDATE))):
            if bw is not None and a.action in moves:
                cyc = c.actions_per_unit * lv.word_bits * bus_cycles_per_bit(bw, inst)
                buses.append(BusTerm(f"{lv.name} {direction} bandwidth", a.q, cyc))
    return charges, buses


def _network(arch: Arch, layer: Layer, analysis: Analysis) -> list[Charge]:
    """Network energy: elements crossing a level's fanout x bits x ``link_pj_per_bit``."""
    out = []
    for t in analysis.traffic:
        lv = arch.levels[t.level]
        if lv.link_pj_per_bit:
            out.append(Charge(Key(lv.name, t.tensor, Action.TRANSFER), t.q, float(t.elements), False, Fraction(1),
                              bits_of(layer, t.tensor) * lv.link_pj_per_bit, layer.mean_spike_density))
    return out


def _capacities(arch: Arch, layer: Layer, analysis: Analysis) -> list[Capacity]:
    out = []
    for li, lv in enumerate(arch.levels):
        uses = [(u.q, bits_of(layer, u.tensor), u.tensor) for u in analysis.tiles if u.level == li]
        for t, cap in lv.tensor_capacity_bits:
            out.append(Capacity(li, t, cap, tuple((q, b) for q, b, ut in uses if ut is t)))
        if lv.capacity_bits is not None and uses:
            out.append(Capacity(li, None, lv.capacity_bits, tuple((q, b) for q, b, _ in uses)))
    return out


class _Quantities:
    def __init__(self, analysis: Analysis) -> None:
        self.items = list(analysis.quantities)
        self.index = {q: i for i, q in enumerate(self.items)}

    def q(self, quantity: Quantity) -> int:
        i = self.index.get(quantity)
        if i is None:
            i = self.index[quantity] = len(self.items)
            self.items.append(quantity)
        return i


def _cycle_model(arch: Arch, analysis: Analysis, qs: _Quantities) -> CycleModel:
    """One accumulate per compute unit per cycle; a systolic fanout at level s (mesh x by y) adds its fill/drain
    skew to every pass of the loops at levels <= s: C = prod_{l<=s} It_l x (prod_{l>s} It_l + x + y - 2)."""
    pos = analysis.view.positions
    s = arch.systolic_level
    top = len(arch.levels) - 1 if s is None else s
    outer = qs.q(Quantity(tuple(j for j, p in enumerate(pos) if not p.spatial and p.level <= top)))
    if s is None:
        return CycleModel(outer, None, 0, analysis.lif_ops, lif_cycles_per_op(arch.lif_units))
    fo = arch.levels[s].fanout
    inner = qs.q(Quantity(tuple(j for j, p in enumerate(pos) if not p.spatial and p.level > s)))
    return CycleModel(outer, inner, fo.x + fo.y - 2, analysis.lif_ops, lif_cycles_per_op(arch.lif_units))


def price(arch: Arch, layer: Layer, analysis: Analysis) -> CostForm:
    """The cost form of ``layer`` on ``arch`` over ``analysis`` (see the module docstring)."""
    qs = _Quantities(analysis)
    charges, buses = _storage(arch, layer, analysis)
    charges += _network(arch, layer, analysis)
    c = arch.compute
    rho = layer.mean_spike_density
    acc = accumulations_per_spike(layer.weight_density, c.skip_zero_weights)
    charges.append(Charge(Key(COMPUTE, None, Action.AC), analysis.macs, acc, True, Fraction(1), c.ac_pj, rho))
    charges.append(Charge(Key(COMPUTE, None, Action.LIF), analysis.lif_ops, 1.0, False, Fraction(1), c.lif_pj, rho))
    cycles = _cycle_model(arch, analysis, qs)
    return CostForm(analysis=analysis, quantities=tuple(qs.items), charges=tuple(charges), buses=tuple(buses),
                    cycles=cycles, static=tuple(static_pj_per_cycle(arch).items()),
                    capacities=tuple(_capacities(arch, layer, analysis)),
                    level_names=tuple(lv.name for lv in arch.levels), spike_density=rho)
