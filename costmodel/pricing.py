"""Pricing: an :class:`~costmodel.analysis.Analysis` turned into a :class:`CostForm`, the linear cost of one layer
on one arch over the analysis's quantities.

    energy_pj = sum_c elements_c x actions_per_element_c x pj_per_action_c x value(q_c)  +  static_pj x cycles
    cycles    = max(compute cycles, LIF cycles, sum_b cycles_per_unit_b x value(q_b) for every bus b)

Every number comes from the arch and the layer; every count from the analysis. The numeric, symbolic and CP-SAT
arithmetics (:mod:`costmodel.numeric`, :mod:`costmodel.symbolic`, :mod:`mappers.cpsat`) evaluate this form; none
restates a coefficient. One pure function per equation below.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction

from costmodel.accounting import Accounting
from costmodel.analysis import Access, Analysis, FlowOptions, Fn, FnKind, Gate, NestView, Quantity, analyze
from costmodel.arch import Arch, Level
from costmodel.cost import Key
from costmodel.imc import cells_per_weight, mux_steps
from costmodel.scalesim import (
    dram_ifmap_reads,
    glb_ifmap_reads,
    ofmap_write_quirk,
    ofmap_writes,
    scalesim_shape,
    tool_output_scale,
    weight_reads,
    ws_filter_cycles,
)
from costmodel.types import Action, Activity, Axis, Dim, Granularity, Tensor
from costmodel.workload import Layer

COMPUTE = "compute"
LIF = "lif"
CROSSBAR = "crossbar"  # the component of crossbar read steps (Key("crossbar", W, read))


# ------------------------------------------------------------------------------ equations
def tensor_bits(
    tensor: Tensor, *, input_bits: int, weight_bits: int, psum_bits: int, membrane_bits: int, output_bits: int
) -> int:
    """Bits per element: W weight_bits, I input_bits (1: spikes), O psum_bits, U membrane_bits, S output_bits
    (1: spikes)."""
    return {
        Tensor.W: weight_bits,
        Tensor.I: input_bits,
        Tensor.S: output_bits,
        Tensor.O: psum_bits,
        Tensor.U: membrane_bits,
    }[tensor]


def bits_of(layer: Layer, tensor: Tensor) -> int:
    """Bits per element of ``tensor`` in ``layer`` (:func:`tensor_bits`)."""
    return tensor_bits(
        tensor,
        input_bits=layer.input_bits,
        weight_bits=layer.weight_bits,
        psum_bits=layer.psum_bits,
        membrane_bits=layer.membrane_bits,
        output_bits=layer.output_bits,
    )


def bits_at(level: Level, layer: Layer, tensor: Tensor) -> int:
    """Bits per element of ``tensor`` stored at ``level``: the level's ``element_bits`` for it (a per-level
    datawidth, e.g. 8-bit outputs above a 16-bit partial-sum scratchpad), else the layer's (:func:`bits_of`)."""
    return level.stored_bits(tensor, bits_of(layer, tensor))


def mac_steps(input_bits: int, bit_serial: bool) -> int:
    """Steps (and accumulates) per input operand: b for a b-bit input on bit-serial hardware (one row pulse or
    accumulate per bit), else 1."""
    return input_bits if bit_serial and input_bits > 1 else 1


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
    """Compute cycles = value(outer) x (value(inner) + skew) x cycles_per_step with a systolic fanout (outer:
    temporal loops at and above the systolic level, inner: below it, skew = x + y - 2), else value(outer) x
    cycles_per_step (all temporal loops); LIF cycles = value(lif) x cycles_per_lif_op."""

    outer: int
    inner: int | None
    skew: int
    lif: int
    cycles_per_lif_op: float
    cycles_per_step: int = 1
    extra_cycles: int = 0  # a named accounting option's cycles that no loop count gives (the SATA tool's WS pass)


@dataclass(frozen=True, slots=True)
class CostForm:
    """One layer on one arch as linear terms over ``quantities`` (the analysis's, then pricing's own).
    ``accesses``: the analysis's storage accesses that this accounting counts (:func:`_counted`)."""

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
    accesses: tuple[Access, ...] = ()  # the analysis's accesses this accounting counts (element counts)

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


def _programmed(arch: Arch, pair: tuple[int, int] | None, tensor: Tensor) -> bool:
    """A transfer into a level that holds ``tensor`` stationary is its programming before inference: not an
    inference cost (the mapping keeps the tile resident, see :func:`costmodel.evaluate.check`)."""
    return pair is not None and tensor in arch.levels[pair[1]].stationary


def _counted(a: Access, acc: Accounting) -> bool:
    """Whether the accounting counts access ``a``: the read half of read-modify-write updates only with
    ``update_reads``; output-spike (S) accesses not with ``final_writeback``; reads that send partial sums up
    (at the child of a transfer) and reads of finished sums (no transfer, not compute side) only with
    ``drain_reads``."""
    if a.rmw:
        return acc.update_reads
    if a.tensor is Tensor.S and acc.final_writeback:
        return False  # the finished value already went up as partial-sum updates
    drain = (
        a.tensor is Tensor.O
        and a.action is Action.READ
        and not a.compute_side
        and (a.pair is None or a.level == a.pair[1])
    )
    return acc.drain_reads or not drain


def _storage(arch: Arch, layer: Layer, analysis: Analysis, acc: Accounting) -> tuple[list[Charge], list[BusTerm]]:
    """Storage actions priced per word (READ, WRITE, UPDATE) and the bus cycles they take: an update is a read
    and a write on the ports (with ``update_reads``, whose read half is an access of its own, the write port
    only)."""
    charges: list[Charge] = []
    buses: list[BusTerm] = []
    if acc.pe_cycle_charges:  # the public SpikeSim script charges fixed per-PE-cycle constants instead
        return charges, buses
    rho = layer.mean_spike_density
    for a in analysis.accesses:
        if _programmed(arch, a.pair, a.tensor) or not _counted(a, acc):
            continue
        lv = arch.levels[a.level]
        gran = acc.access_granularity or lv.access_granularity
        bits = bits_at(lv, layer, a.tensor)
        per = actions_per_element(bits, lv.word_bits, gran)
        c = Charge(Key(lv.name, a.tensor, a.action), a.q, float(a.sign), _gated(lv, a), per, lv.energy(a.action), rho)
        charges.append(c)
        inst = arch.instances(a.level)
        # an update is a read and a write on the ports, unless the accounting counts its read half as a read of
        # its own (update_reads: Timeloop's reads on the read port, fills and updates on the write port)
        read_moves = (Action.READ,) if acc.update_reads else (Action.READ, Action.UPDATE)
        for direction, bw, moves in (
            ("read", lv.read_bandwidth_bits_per_cycle, read_moves),
            ("write", lv.write_bandwidth_bits_per_cycle, (Action.WRITE, Action.UPDATE)),
        ):
            if bw is not None and a.action in moves:  # the data bits cross the port, whatever an access costs
                cyc = c.elements_per_unit * bits * bus_cycles_per_bit(bw, inst)
                buses.append(BusTerm(f"{lv.name} {direction} bandwidth", a.q, cyc))
    return charges, buses


def _network(arch: Arch, layer: Layer, analysis: Analysis, acc: Accounting, qs: _Quantities) -> list[Charge]:
    """Network energy: elements crossing a level's fanout x bits x ``link_pj_per_bit`` (x the mean hop count of
    the used instances' mesh where the level's network is a ``mesh_link``). ``noc: false`` drops the networks
    above the crossbar tiles."""
    out: list[Charge] = []
    if acc.pe_cycle_charges:
        return out
    tiles = arch.crossbar.tile_level if arch.crossbar is not None else None
    pos = analysis.view.positions
    for t in analysis.traffic:
        if t.tensor is Tensor.S and acc.final_writeback:
            continue
        lv = arch.levels[t.level]
        if not lv.link_pj_per_bit or _programmed(arch, t.pair, t.tensor):
            continue
        if tiles is not None and t.level < tiles and not acc.noc:
            continue
        q = t.q
        if lv.mesh_link:
            used = tuple(j for j, p in enumerate(pos) if p.spatial and p.level == t.level)
            base = qs.items[t.q]
            q = qs.q(replace(base, fns=tuple(sorted({*base.fns, Fn(FnKind.MESH_HOPS, used)}))))
        out.append(
            Charge(
                Key(lv.name, t.tensor, Action.TRANSFER),
                q,
                float(t.elements),
                False,
                Fraction(1),
                bits_at(lv, layer, t.tensor) * lv.link_pj_per_bit,
                layer.mean_spike_density,
            )
        )
    return out


def _compute(arch: Arch, layer: Layer, analysis: Analysis, acc: Accounting) -> list[Charge]:
    """Operations x density (x weight density if zero weights are skipped): 1-bit inputs are accumulates
    (ac_pj); multi-bit inputs multiply-accumulates (mac_pj), or input_bits accumulates each on bit-serial PEs.
    Then one LIF update (lif_pj) per output neuron and timestep of a spiking layer, or one activation
    (activation_pj) per output of a non-spiking one; with per-PE-cycle charges the crossbar section prices LIF
    updates instead. A crossbar arch's dot products are its periphery's charges (:func:`_crossbar`)."""
    c = arch.compute
    rho = layer.mean_spike_density
    per = accumulations_per_spike(layer.weight_density, c.skip_zero_weights)
    if layer.input_bits > 1 and c.mac_pj is not None:
        out = [Charge(Key(COMPUTE, None, Action.MAC), analysis.macs, per, True, Fraction(1), c.mac_pj, rho)]
    else:
        steps = mac_steps(layer.input_bits, c.mac_bit_serial)
        out = [Charge(Key(COMPUTE, None, Action.AC), analysis.macs, per * steps, True, Fraction(1), c.ac_pj, rho)]
    if not layer.spiking:
        if c.activation_pj:
            out.append(
                Charge(
                    Key(COMPUTE, None, Action.ACTIVATION),
                    analysis.lif_ops,
                    1.0,
                    False,
                    Fraction(1),
                    c.activation_pj,
                    rho,
                )
            )
    elif not acc.pe_cycle_charges:
        out.append(Charge(Key(COMPUTE, None, Action.LIF), analysis.lif_ops, 1.0, False, Fraction(1), c.lif_pj, rho))
    return out


def _spatial_t_lif(arch: Arch, layer: Layer, analysis: Analysis, qs: _Quantities) -> tuple[list[Charge], list[BusTerm]]:
    """Timesteps on a spatial axis (allowed only by ``compute.lif_spatial_t``): the k = prod(spatial T loops)
    partial sums of a neuron finish at once on k units, but its membrane update is sequential in T. Each LIF
    update's partial sum moves to the LIF unit that owns the neuron (psum bits over the fanout network of the level
    holding the spatial T loop, at its ``link_pj_per_bit``), and that unit applies the k timesteps one after another:
    cycles >= LIF updates per unit x k x lif_sharing / lif_units_per_pe. Nothing when no T loop is spatial (gates)."""
    pos = analysis.view.positions
    t_sp = tuple(j for j, p in enumerate(pos) if p.spatial and p.dim is Dim.T)
    if not (t_sp and layer.spiking and arch.compute.lif_spatial_t):
        return [], []
    lif = analysis.quantities[analysis.lif_ops]
    charges = []
    for h in sorted({pos[j].level for j in t_sp}):
        lv = arch.levels[h]
        moved = lif.gated(Gate(tuple(j for j in t_sp if pos[j].level == h), live=True))
        if lv.link_pj_per_bit and moved is not None:
            charges.append(
                Charge(
                    Key(lv.name, Tensor.O, Action.TRANSFER),
                    qs.q(moved),
                    1.0,
                    False,
                    Fraction(1),
                    bits_at(lv, layer, Tensor.O) * lv.link_pj_per_bit,
                    layer.mean_spike_density,
                )
            )
    serial = Quantity(
        tuple(j for j in lif.factors if not pos[j].spatial or pos[j].dim is Dim.T), gates=(Gate(t_sp, live=True),)
    )
    per_update = arch.compute.lif_sharing / arch.compute.lif_units_per_pe
    return charges, [BusTerm("LIF units (timesteps on a spatial axis)", qs.q(serial), per_update)]


def _spatial(analysis: Analysis, level: int, axis: Axis | None = None) -> tuple[int, ...]:
    return tuple(
        j
        for j, p in enumerate(analysis.view.positions)
        if p.spatial and p.level == level and (axis is None or p.axis is axis)
    )


def _activations(analysis: Analysis, level: int) -> Quantity:
    """Instance-steps of a level: every temporal loop x the spatial loops above it (one PE cycle per PE per
    input vector for the crossbar PE level)."""
    return Quantity(tuple(j for j, p in enumerate(analysis.view.positions) if not p.spatial or p.level < level))


def _crossbar(arch: Arch, layer: Layer, analysis: Analysis, acc: Accounting, qs: _Quantities) -> list[Charge]:
    """The column periphery of a crossbar arch, from the nest's counts.

    dense: every PE cycle reads all k_PE crossbars of the PE n_steps times and converts all X_c columns;
    event: a used crossbar is read n_steps times when one of its rows spikes (p(rho, rows)), a PE converts its
    used columns (x cells per weight) when one of its rows spikes. Both: mux selections = conversions, DIFF
    subtractions = n_diff x conversions, H-tree transfers and temp-buffer accesses = conversions / A. With
    per-PE-cycle charges: a tile-buffer access, a memory fetch and n_LIF LIF updates per PE cycle.
    """
    xb = arch.crossbar
    assert xb is not None
    e = xb.energy
    rho = layer.mean_spike_density
    cells = arch.levels[xb.level].fanout
    steps = mux_steps(cells.x, xb.adcs_per_pe)
    pe_cycles = qs.q(_activations(analysis, xb.pe_level))
    rows = _spatial(analysis, xb.level, Axis.Y)
    if acc.activity is Activity.DENSE:
        reads = (pe_cycles, float(arch.levels[xb.pe_level].fanout.size * steps))
        conversions = (pe_cycles, float(cells.x))
    else:
        xbar_steps = _activations(analysis, xb.level)
        reads = (qs.q(replace(xbar_steps, fns=(Fn(FnKind.ANY_SPIKE, rows, rho),))), float(steps))
        per_pe = rows + _spatial(analysis, xb.pe_level)
        used = _activations(analysis, xb.pe_level)
        used = replace(
            used,
            factors=tuple(sorted(used.factors + _spatial(analysis, xb.level, Axis.X))),
            fns=(Fn(FnKind.ANY_SPIKE, tuple(sorted(per_pe)), rho),),
        )
        weight_bits = acc.weight_bits or layer.weight_bits
        conversions = (qs.q(used), float(cells_per_weight(weight_bits, xb.bits_per_cell)))
    conv_q, per_conv = conversions
    items = [
        (Key(CROSSBAR, Tensor.W, Action.READ), reads[0], reads[1], e.read_step),
        (Key("ADC", Tensor.O, Action.READ), conv_q, per_conv, e.adc_conversion),
        (Key("MUX", Tensor.O, Action.TRANSFER), conv_q, per_conv, e.mux),
        (
            Key("DIFF", Tensor.O, Action.UPDATE),
            conv_q,
            per_conv * xb.diff_subtractions_per_conversion,
            e.diff_subtraction,
        ),
        (Key("Htree", Tensor.O, Action.TRANSFER), conv_q, per_conv / xb.adcs_per_pe, e.htree_transfer),
        (Key("TempBuf", Tensor.O, Action.WRITE), conv_q, per_conv / xb.adcs_per_pe, e.temp_buffer_access),
    ]
    if acc.pe_cycle_charges:
        buffer = max(i for i in range(xb.pe_level) if Tensor.I in arch.levels[i].keeps)  # feeds the PEs' inputs
        items += [
            (Key(arch.levels[buffer].name, Tensor.I, Action.READ), pe_cycles, 1.0, e.tile_buffer_access),
            (Key(arch.levels[0].name, Tensor.I, Action.READ), pe_cycles, 1.0, e.memory_fetch),
            (Key(COMPUTE, None, Action.LIF), pe_cycles, xb.lif_updates_per_pe_cycle, arch.compute.lif_pj),
        ]
    pulses = mac_steps(layer.input_bits, True)  # a multi-bit input drives the rows bit-serially
    return [Charge(key, q, n * pulses, False, Fraction(1), pj, rho) for key, q, n, pj in items]


# ------------------------------------------------------------------------------ the SATA tool's options
def _scalesim_memory(arch: Arch, layer: Layer, charges: list[Charge], acc: Accounting, qs: _Quantities) -> list[Charge]:
    """``scalesim_memory``: every storage and network charge but the PEs' compute-side operand reads replaced by
    the SATA tool's memory counts (:mod:`costmodel.scalesim`): at the outermost level ifmap reads (bands that fit
    the array's input buffer, re-read per filter fold), weight reads K W_red and output writes N_pix K; at a
    weight buffer above the array weight reads K W_red; at the array's buffer ifmap reads N_pix W_red F_c and
    output writes N_pix K. One timestep's traffic, as the tool simulates it."""
    s = arch.systolic_level
    assert s is not None
    fo, buf = arch.levels[s].fanout, arch.levels[s]
    sh = scalesim_shape(layer)
    cap = buf.tensor_capacity(Tensor.I) or buf.capacity_bits or 0
    live = int(cap // (acc.ifmap_bits or 1) * acc.ifmap_buffer_fraction)
    counts = [
        (0, Tensor.I, Action.READ, dram_ifmap_reads(sh, live, fo.x)),
        (0, Tensor.W, Action.READ, weight_reads(sh)),
        (0, Tensor.S, Action.WRITE, ofmap_writes(sh)),
        (s, Tensor.I, Action.READ, glb_ifmap_reads(sh, fo.x)),
        (s, Tensor.S, Action.WRITE, ofmap_writes(sh)),
    ]
    counts += [
        (li, Tensor.W, Action.READ, weight_reads(sh))
        for li in range(1, s)
        if arch.levels[li].keeps == frozenset({Tensor.W})
    ]
    kept = [c for c in charges if c.per_spike]  # the PEs' spike-gated operand reads
    for li, tensor, action, n in counts:
        lv = arch.levels[li]
        per = actions_per_element(
            bits_at(lv, layer, tensor), lv.word_bits, acc.access_granularity or lv.access_granularity
        )
        kept.append(
            Charge(
                Key(lv.name, tensor, action),
                qs.q(Quantity((), scale=n)),
                1.0,
                False,
                per,
                lv.energy(action),
                layer.mean_spike_density,
            )
        )
    return kept


def _tool_macs(charges: list[Charge], layer: Layer, acc: Accounting) -> list[Charge]:
    """``mac_padding``: synaptic operations (accumulations and the spike-gated operand reads) and LIF updates
    counted on the tool's padded output map (:func:`costmodel.scalesim.tool_output_scale`)."""
    scale = tool_output_scale(layer, acc.mac_padding or 0, acc.fc_output_3x3)
    lif_key = Key(COMPUTE, None, Action.LIF)
    return [replace(c, elements=c.elements * scale) if c.per_spike or c.key == lif_key else c for c in charges]


def _tool_passes(arch: Arch, layer: Layer, acc: Accounting, qs: _Quantities) -> tuple[int, list[Charge]]:
    """``weight_load_pass``: one scale-sim weight-stationary pass per layer (cycles); ``ofmap_write_quirk``:
    scale-sim's F_r F_c (A_h + A_w) extra output writes at the systolic level."""
    s = arch.systolic_level
    if s is None or not (acc.weight_load_pass or acc.ofmap_write_quirk):
        return 0, []
    fo = arch.levels[s].fanout
    sh = scalesim_shape(layer)
    extra = ws_filter_cycles(sh, fo.y, fo.x) if acc.weight_load_pass else 0
    charges = []
    if acc.ofmap_write_quirk:
        lv = arch.levels[s]
        per = actions_per_element(1, lv.word_bits, acc.access_granularity or lv.access_granularity)
        q = qs.q(Quantity((), scale=ofmap_write_quirk(sh, fo.y, fo.x)))
        charges.append(
            Charge(
                Key(lv.name, Tensor.S, Action.WRITE),
                q,
                1.0,
                False,
                per,
                lv.energy(Action.WRITE),
                layer.mean_spike_density,
            )
        )
    return extra, charges


def _capacities(arch: Arch, layer: Layer, analysis: Analysis) -> list[Capacity]:
    """Every kept tile fits its level, per tensor partition and in total."""
    out = []
    for li, lv in enumerate(arch.levels):
        uses = [(u.q, bits_at(lv, layer, u.tensor), u.tensor) for u in analysis.tiles if u.level == li]
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


def _cycle_model(arch: Arch, layer: Layer, analysis: Analysis, qs: _Quantities, extra: int = 0) -> CycleModel:
    """One step of the innermost loops per compute unit per ``cycles_per_step`` clock cycles (x input_bits for
    multi-bit inputs on bit-serial PEs or crossbar rows); a systolic fanout
    at level s (mesh x by y) adds its fill/drain skew to every pass of the loops at levels <= s:
    C = prod_{l<=s} It_l x (prod_{l>s} It_l + x + y - 2)."""
    pos = analysis.view.positions
    s = arch.systolic_level
    top = len(arch.levels) - 1 if s is None else s
    outer = qs.q(Quantity(tuple(j for j, p in enumerate(pos) if not p.spatial and p.level <= top)))
    per_step = arch.compute.cycles_per_step * mac_steps(
        layer.input_bits, arch.compute.mac_bit_serial or arch.crossbar is not None
    )
    if s is None:
        return CycleModel(outer, None, 0, analysis.lif_ops, lif_cycles_per_op(arch.lif_units), per_step, extra)
    fo = arch.levels[s].fanout
    inner = qs.q(Quantity(tuple(j for j, p in enumerate(pos) if not p.spatial and p.level > s)))
    return CycleModel(
        outer, inner, fo.x + fo.y - 2, analysis.lif_ops, lif_cycles_per_op(arch.lif_units), per_step, extra
    )


def analyze_for(view: NestView, layer: Layer, accounting: Accounting | None) -> Analysis:
    """The analysis of ``view`` for ``layer`` with the counting options of an accounting profile (input halo
    reuse and peer forwarding, final write-back of partial sums)."""
    if accounting is None:
        return analyze(view, layer.stride, layer.spiking)
    o = FlowOptions(accounting.halo_reuse, accounting.peer_forwarding, accounting.peer_links_one_instance)
    return analyze(view, layer.stride, layer.spiking, o if o.active else None, accounting.final_writeback)


def price(arch: Arch, layer: Layer, analysis: Analysis, accounting: Accounting | None = None) -> CostForm:
    """The cost form of ``layer`` on ``arch`` over ``analysis`` under an accounting profile (default: native)."""
    acc = accounting or Accounting()
    qs = _Quantities(analysis)
    charges, buses = _storage(arch, layer, analysis, acc)
    charges += _network(arch, layer, analysis, acc, qs)
    if acc.scalesim_memory and arch.systolic_level is not None:
        charges, buses = _scalesim_memory(arch, layer, charges, acc, qs), []
    charges += _compute(arch, layer, analysis, acc)
    if acc.mac_padding is not None:
        charges = _tool_macs(charges, layer, acc)
    if arch.crossbar is not None:
        charges += _crossbar(arch, layer, analysis, acc, qs)
    extra, quirk = _tool_passes(arch, layer, acc, qs)
    charges += quirk
    moved, serial = _spatial_t_lif(arch, layer, analysis, qs)
    charges, buses = charges + moved, buses + serial
    cycles = _cycle_model(arch, layer, analysis, qs, extra)
    return CostForm(
        analysis=analysis,
        quantities=tuple(qs.items),
        charges=tuple(charges),
        buses=tuple(buses),
        cycles=cycles,
        static=tuple(static_pj_per_cycle(arch).items()),
        capacities=tuple(_capacities(arch, layer, analysis)),
        level_names=tuple(lv.name for lv in arch.levels),
        spike_density=layer.mean_spike_density,
        accesses=tuple(a for a in analysis.accesses if _counted(a, acc)),
    )
