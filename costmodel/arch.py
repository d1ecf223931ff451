"""Architecture values and their strict YAML loader.

An :class:`Arch` is a chain of storage :class:`Level` s, outermost (index 0, usually DRAM) to innermost, each
with a spatial fanout to the instances of the next level (the innermost level fans out to compute units), and a
:class:`Compute` block: accumulators (AC, no multiplier) and LIF units. Energies are per word (``word_bits``) and
per action; static energies are per cycle per instance, so ungated (clocked every cycle) and gated (per action)
power are both plain spec values. An in-memory-compute arch adds a :class:`Crossbar` section (which level's
fanout is the rows x columns of cells, the column periphery's energies) and usually a :class:`Device` block (the
crossbar accuracy model's device physics). Every section is a typed, frozen value validated on load; every error
is one line naming the file and the key path. The file format is documented key by key in docs/formats.md.

YAML (optional keys marked)::

    name: generic3
    clock_hz: 1.0e9
    technology_nm: 45                 # optional (used by estimate: blocks)
    source: "where the numbers come from"  # optional
    latency: sequential               # optional: how layer latencies add up (sequential | pipelined)
    sizing: fixed                     # optional: fixed (one chip reused by every layer) | resident (IMC)
    levels:
      - name: DRAM
        keeps: [W, I, O, U, S]        # the others bypass this level
        stationary: []                # optional: tensors preloaded before inference (weights in crossbar cells)
        capacity_bits: null           # null = unbounded
        tensor_capacity_bits: {W: 1024}   # optional per-tensor partitions (each <= capacity_bits)
        word_bits: 64                 # a power of two
        element_bits: {O: 16}         # optional: bits this level stores per element of a tensor, overriding
                                      # the layer's width (Timeloop's per-level datawidth)
        read_bandwidth_bits_per_cycle: 64     # null = unbounded
        write_bandwidth_bits_per_cycle: 64    # null = unbounded
        access_granularity: packed    # packed: bits/word_bits words per element; element: one access per element
        energy_pj: {read: 100.0, write: 100.0, update: 200.0}   # per word (per access if element)
        static_pj_per_cycle: 0.0      # per instance, every cycle (leakage or ungated clocking)
        area_um2: 0.0                 # per instance
        estimate: {class: sram, ...}  # optional, instead of energy_pj / static_pj_per_cycle / area_um2
        link_pj_per_bit: 0.0          # optional: network energy per bit moved between this level and its children
        mesh_link: false              # optional: that network is a 2-D mesh (energy per bit per hop, mean hops)
        spike_gated: []               # optional: tensors whose compute-side accesses here are skipped on zero spikes
        fanout: {x: 1, y: 1, systolic: false}   # instances of the next level (or compute) per instance
    compute:
      ac_pj: 0.1                      # per accumulate (executed only for non-zero spikes)
      mac_pj: 0.2                     # optional: per multiply-accumulate of a multi-bit input, or bit-serial
                                      # (input_bits accumulates, input_bits steps); absent: no multi-bit inputs
      activation_pj: 0.0              # optional: per output of a non-spiking layer (ReLU / requantisation)
      skip_zero_weights: false        # optional: also skip zero weights
      static_pj_per_cycle: 0.0        # per compute unit (PE datapath), every cycle
      area_um2: 0.0                   # per compute unit
      lif_pj: 0.05                    # per LIF update
      lif_units_per_pe: 1
      lif_sharing: 1                  # C#n: one LIF unit serves n neurons -> units / n
      lif_static_pj_per_cycle: 0.0    # per LIF unit, every cycle
      lif_area_um2: 0.0               # per LIF unit
      cycles_per_step: 1              # optional: clock cycles per step of the loop nest (a crossbar PE cycle)
    crossbar: {...}                   # optional: in-memory compute (see Crossbar)
    device: {...}                     # optional: crossbar device physics (see Device)
    profiles: {...}                   # optional: named accounting profiles (costmodel.accounting)
    flops_estimate: {...}             # optional: the inputs of the paper's FLOPs-based estimate
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import archspecs
from costmodel.accounting import NATIVE, Accounting, profiles_from_node
from costmodel.specio import Node, SpecError, load_yaml
from costmodel.types import TENSORS, Action, Axis, Granularity, Latency, Sizing, Tensor

MAX_WORD_BITS = 1 << 16
MAX_FANOUT = 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class Fanout:
    x: int = 1
    y: int = 1
    systolic: bool = False

    @property
    def size(self) -> int:
        return self.x * self.y

    def along(self, axis: Axis) -> int:
        """Instances along one mesh axis."""
        return self.x if axis is Axis.X else self.y


@dataclass(frozen=True, slots=True, kw_only=True)
class Level:
    name: str
    keeps: frozenset[Tensor]
    capacity_bits: int | None
    word_bits: int
    read_bandwidth_bits_per_cycle: float | None
    write_bandwidth_bits_per_cycle: float | None
    energy_pj: tuple[tuple[Action, float], ...]  # per word: READ, WRITE, UPDATE
    access_granularity: Granularity = Granularity.PACKED
    tensor_capacity_bits: tuple[tuple[Tensor, int], ...] = ()
    static_pj_per_cycle: float = 0.0
    area_um2: float = 0.0
    link_pj_per_bit: float = 0.0
    mesh_link: bool = False
    spike_gated: frozenset[Tensor] = frozenset()
    stationary: frozenset[Tensor] = frozenset()
    element_bits: tuple[tuple[Tensor, int], ...] = ()  # per-tensor storage width here, overriding the layer's
    fanout: Fanout = field(default_factory=Fanout)
    # the resolved component estimate (JSON-ready), when one was asked: provenance of the numbers above, so it takes
    # no part in equality or hashing (it holds dicts; a level's cost is its numbers)
    estimate: tuple[tuple[str, Any], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.word_bits < 1:
            raise ValueError(f"level {self.name}: word_bits must be >= 1, got {self.word_bits}")
        if self.capacity_bits is not None and self.capacity_bits < 1:
            raise ValueError(f"level {self.name}: capacity_bits must be positive, got {self.capacity_bits}")
        if not self.stationary <= self.keeps:
            raise ValueError(f"level {self.name}: stationary tensors must be kept")

    def energy(self, action: Action) -> float:
        for a, e in self.energy_pj:
            if a is action:
                return e
        return 0.0

    def stored_bits(self, tensor: Tensor, layer_bits: int) -> int:
        """Bits per element of ``tensor`` at this level: the level's ``element_bits`` for it, else the layer's."""
        for t, b in self.element_bits:
            if t is tensor:
                return b
        return layer_bits

    def tensor_capacity(self, tensor: Tensor) -> int | None:
        for t, c in self.tensor_capacity_bits:
            if t is tensor:
                return c
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Compute:
    ac_pj: float
    lif_pj: float
    static_pj_per_cycle: float = 0.0
    area_um2: float = 0.0
    skip_zero_weights: bool = False
    lif_units_per_pe: int = 1
    lif_sharing: int = 1
    lif_static_pj_per_cycle: float = 0.0
    lif_area_um2: float = 0.0
    cycles_per_step: int = 1
    mac_pj: float | None = None  # per multiply-accumulate of a multi-bit input; None: bit-serial or refused
    mac_bit_serial: bool = False  # a multi-bit input is input_bits accumulates over input_bits steps
    activation_pj: float = 0.0  # per output of a non-spiking layer
    lif_spatial_t: bool = False  # LIF units take the partial sums of several timesteps in order: T may be spatial


@dataclass(frozen=True, slots=True, kw_only=True)
class CrossbarEnergy:
    """pJ per action of the crossbar periphery (``crossbar.energy_pj``)."""

    read_step: float  # one crossbar read step: rows driven, every column sensed
    adc_conversion: float  # one column conversion
    mux: float  # one column-mux selection
    diff_subtraction: float  # one signed-weight (DIFF) subtraction
    htree_transfer: float  # one H-tree transfer of a mux step's ADC outputs
    temp_buffer_access: float  # one temp-buffer access per mux step
    tile_buffer_access: float  # per PE cycle (pe_cycle_charges accounting only)
    memory_fetch: float  # per PE cycle (pe_cycle_charges accounting only)


@dataclass(frozen=True, slots=True, kw_only=True)
class Crossbar:
    """In-memory compute: which levels are the crossbar hierarchy, and the column periphery's actions.

    ``level``: the cell level (its fanout x = columns, y = rows of one crossbar; its stationary weights are the
    programmed cells). ``pe_level``: the level whose fanout groups the crossbars of one PE, which share
    ``adcs_per_pe`` column ADCs through muxes (``columns / adcs_per_pe`` mux steps per read). ``tile_level``: the
    level whose instances are tiles (packed by ``Accounting.packing`` for the area). ``bits_per_cell`` comes from
    the ``device:`` block. Areas: ``lif_logic_um2`` per LIF datapath (``lif_units_per_tile`` per tile) and
    um^2 per bit of the network-sized input and membrane SRAMs.
    """

    level: int
    pe_level: int
    tile_level: int
    bits_per_cell: int
    adcs_per_pe: int
    diff_subtractions_per_conversion: float
    lif_updates_per_pe_cycle: float
    lif_units_per_tile: int
    energy: CrossbarEnergy
    lif_logic_um2: float
    input_sram_um2_per_bit: float
    membrane_sram_um2_per_bit: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    """RRAM crossbar device and geometry (``device:``; SI units), read by the crossbar accuracy model.

    rows, columns      cells per column and per row of one crossbar
    g_min_s, g_max_s   lowest / highest programmable conductance [S]
    bits_per_cell      levels per cell are 2**bits_per_cell
    weight_bits        signed weight precision b (integer weights in [-(2^(b-1)-1), 2^(b-1)-1])
    read_voltage_v     voltage V_r on the row of an active input [V]
    r_row_ohm          wire resistance per cell segment of a row (word line) [ohm]
    r_col_ohm          wire resistance per cell segment of a column (bit line) [ohm]
    variation_sigma    relative programming variation (drawn once per chip)
    read_noise_sigma   relative per-cell read noise (drawn every read)
    adc_bits           ADC resolution [bits]
    adc_percentile     calibration percentile of ideal column currents that sets the ADC full scale [%]
    """

    rows: int
    columns: int
    g_min_s: float
    g_max_s: float
    bits_per_cell: int
    weight_bits: int
    read_voltage_v: float
    r_row_ohm: float
    r_col_ohm: float
    variation_sigma: float
    read_noise_sigma: float
    adc_bits: int
    adc_percentile: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.g_min_s < self.g_max_s:
            raise ValueError(f"device.cell: expected 0 <= g_min < g_max, got {self.g_min_s} and {self.g_max_s}")
        if self.weight_bits < 2:
            raise ValueError(f"device.weight_bits: expected >= 2 (sign and magnitude), got {self.weight_bits}")


@dataclass(frozen=True, slots=True, kw_only=True)
class FlopsEstimate:
    """Inputs of the paper's FLOPs x T x (1 - sparsity) x E_AC estimate (``flops_estimate:``): 8-bit adder,
    register and multiplier dynamic power (mW) and the clock they are priced at (Hz)."""

    adder8_mw: float
    register8_mw: float
    multiplier8_mw: float
    clock_hz: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Arch:
    name: str
    clock_hz: float
    levels: tuple[Level, ...]
    compute: Compute
    technology_nm: float | None = None
    source: str = ""
    file: str = ""
    latency: Latency = Latency.SEQUENTIAL
    sizing: Sizing = Sizing.FIXED
    crossbar: Crossbar | None = None
    device: Device | None = None
    profiles: tuple[Accounting, ...] = (Accounting(),)
    default_profile: str = NATIVE
    flops_estimate: FlopsEstimate | None = None

    def __post_init__(self) -> None:
        if not self.levels:
            raise ValueError(f"arch {self.name}: no levels")
        missing = set(TENSORS) - self.levels[0].keeps
        if missing:
            raise ValueError(
                f"arch {self.name}: the outermost level {self.levels[0].name} must keep every tensor; "
                f"missing {', '.join(sorted(t.value for t in missing))}"
            )
        systolic = [lv.name for lv in self.levels if lv.fanout.systolic]
        if len(systolic) > 1:
            raise ValueError(f"arch {self.name}: at most one systolic fanout, got {systolic}")

    # ---------------------------------------------------------------- derived (pure queries)
    def level_index(self, name: str) -> int:
        for i, lv in enumerate(self.levels):
            if lv.name == name:
                return i
        raise KeyError(f"arch {self.name} has no level {name!r}; levels: {', '.join(lv.name for lv in self.levels)}")

    def instances(self, level: int) -> int:
        """Physical instances of ``level``: the product of the fanouts above it."""
        return math.prod(lv.fanout.size for lv in self.levels[:level])

    @property
    def pes(self) -> int:
        """Compute units: the product of every fanout."""
        return math.prod(lv.fanout.size for lv in self.levels)

    @property
    def systolic_level(self) -> int | None:
        """Index of the level whose fanout is systolic (fill/drain skew), or None."""
        return next((i for i, lv in enumerate(self.levels) if lv.fanout.systolic), None)

    @property
    def array_level(self) -> int:
        """Index of the level whose fanout is the PE array: the largest fanout (outermost on ties)."""
        sizes = [lv.fanout.size for lv in self.levels]
        return sizes.index(max(sizes))

    @property
    def lif_units(self) -> int:
        """LIF datapaths: ``lif_units_per_pe`` per compute unit (``lif_units_per_tile`` per tile on a crossbar
        arch, whose compute units are cells), divided by ``lif_sharing``."""
        c = self.compute
        if self.crossbar is not None:
            per = self.instances(self.crossbar.tile_level + 1) * self.crossbar.lif_units_per_tile
            return max(1, math.ceil(per / c.lif_sharing))
        return max(1, math.ceil(self.pes * c.lif_units_per_pe / c.lif_sharing))

    def profile(self, name: str | None = None) -> Accounting:
        """The accounting profile ``name`` (default: the arch's default profile)."""
        chosen = name or self.default_profile
        for p in self.profiles:
            if p.name == chosen:
                return p
        raise KeyError(
            f"{self.file or self.name}: profiles: no profile {chosen!r}; profiles: "
            f"{', '.join(p.name for p in self.profiles)}"
        )

    @property
    def profile_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.profiles)


# ---------------------------------------------------------------------------------------- loader
def _level(node: Node, technology_nm: float | None, clock_hz: float) -> Level:
    name = node.str("name")
    keeps = frozenset(node.enum_list("keeps", Tensor))
    capacity = node.optional_int("capacity_bits")
    word_bits = node.int("word_bits", maximum=MAX_WORD_BITS)
    if word_bits & (word_bits - 1):
        raise node.error("word_bits", f"expected a power of two (a memory word width), got {word_bits}")
    tcap = _tensor_capacities(node, keeps, capacity)
    fo = node.child("fanout", {})
    assert fo is not None
    fanout = Fanout(
        x=fo.int("x", 1, maximum=MAX_FANOUT), y=fo.int("y", 1, maximum=MAX_FANOUT), systolic=fo.bool("systolic", False)
    )
    fo.done()
    energy, static, area, est = _energies(node, capacity, word_bits, technology_nm, clock_hz)
    stationary = frozenset(node.enum_list("stationary", Tensor, []))
    if not stationary <= keeps:
        raise node.error("stationary", f"stationary tensors must be kept, got {sorted(t.value for t in stationary)}")
    level = Level(
        name=name,
        keeps=keeps,
        capacity_bits=capacity,
        tensor_capacity_bits=tcap,
        word_bits=word_bits,
        read_bandwidth_bits_per_cycle=node.optional_float(
            "read_bandwidth_bits_per_cycle", minimum=0.0, strict_minimum=True
        ),
        write_bandwidth_bits_per_cycle=node.optional_float(
            "write_bandwidth_bits_per_cycle", minimum=0.0, strict_minimum=True
        ),
        energy_pj=energy,
        access_granularity=node.enum("access_granularity", Granularity, Granularity.PACKED),
        static_pj_per_cycle=static,
        area_um2=area,
        link_pj_per_bit=node.float("link_pj_per_bit", 0.0),
        mesh_link=node.bool("mesh_link", False),
        spike_gated=frozenset(node.enum_list("spike_gated", Tensor, [])),
        stationary=stationary,
        element_bits=_element_bits(node, keeps),
        fanout=fanout,
        estimate=est,
    )
    node.done()
    return level


def _element_bits(node: Node, keeps: frozenset[Tensor]) -> tuple[tuple[Tensor, int], ...]:
    eb = node.child("element_bits", None)
    if eb is None:
        return ()
    out: list[tuple[Tensor, int]] = []
    for key in eb.keys():  # noqa: SIM118 - Node is not iterable
        try:
            t = Tensor(key)
        except ValueError:
            raise eb.error(key, "unknown tensor (expected one of W, I, O, U, S)") from None
        if t not in keeps:
            raise eb.error(key, f"tensor {key} has a width here but is not in keeps")
        out.append((t, eb.int(key, maximum=64)))
    eb.done()
    return tuple(out)


def _tensor_capacities(node: Node, keeps: frozenset[Tensor], capacity: int | None) -> tuple[tuple[Tensor, int], ...]:
    tcap: list[tuple[Tensor, int]] = []
    tc = node.child("tensor_capacity_bits", None)
    if tc is None:
        return ()
    for key in tc.keys():  # noqa: SIM118 - Node is not iterable
        try:
            t = Tensor(key)
        except ValueError:
            raise tc.error(key, "unknown tensor (expected one of W, I, O, U, S)") from None
        if t not in keeps:
            raise tc.error(key, f"tensor {key} has a capacity but is not in keeps")
        bits = tc.int(key)
        if capacity is not None and bits > capacity:
            raise tc.error(key, f"a partition of {bits} bits exceeds the level's capacity_bits {capacity}")
        tcap.append((t, bits))
    tc.done()
    return tuple(tcap)


def _energies(
    node: Node, capacity: int | None, word_bits: int, technology_nm: float | None, clock_hz: float
) -> tuple[tuple[tuple[Action, float], ...], float, float, tuple[tuple[str, Any], ...]]:
    """Per-action energies, static power and area: given as numbers, or estimated from an ``estimate:`` block
    (:mod:`costmodel.components`), never both."""
    actions = (Action.READ, Action.WRITE, Action.UPDATE)
    if node.has("estimate"):
        for key in ("energy_pj", "static_pj_per_cycle", "area_um2"):
            if node.has(key):
                raise node.error(key, "give either estimate: or the numbers it estimates, not both")
        from costmodel.components import LevelEstimateError, estimate_level

        try:  # errors name the key the bad value was written at (the block's, the level's or the arch's)
            est = estimate_level(
                node.raw("estimate"),
                level_path=node.path,
                capacity_bits=capacity,
                word_bits=word_bits,
                technology_nm=technology_nm,
            )
        except LevelEstimateError as exc:
            raise SpecError(f"{node.file}: {exc}") from None
        energy: tuple[tuple[Action, float], ...] = (
            (Action.READ, est.read_pj),
            (Action.WRITE, est.write_pj),
            (Action.UPDATE, est.update_pj),
        )
        return energy, est.static_pj_per_cycle(clock_hz), est.area_um2, tuple(sorted(est.to_dict().items()))
    en = node.child("energy_pj")
    assert en is not None
    energy = tuple((a, en.float(a.value, 0.0)) for a in actions)
    en.done()
    return energy, node.float("static_pj_per_cycle", 0.0), node.float("area_um2", 0.0), ()


def _mac(node: Node) -> tuple[float | None, bool]:
    """``mac_pj``: absent (accumulate-only PEs: multi-bit inputs are refused), a number (pJ per MAC), or
    ``bit-serial`` (a b-bit input is b accumulates over b steps)."""
    if not node.has("mac_pj"):
        return None, False
    raw = node.raw("mac_pj")
    if raw == "bit-serial":
        return None, True
    if isinstance(raw, str):
        raise node.error("mac_pj", f"expected pJ per multiply-accumulate (a number) or bit-serial, got {raw!r}")
    return node.float("mac_pj"), False


def _compute(node: Node) -> Compute:
    mac_pj, bit_serial = _mac(node)
    c = Compute(
        mac_pj=mac_pj,
        mac_bit_serial=bit_serial,
        activation_pj=node.float("activation_pj", 0.0),
        ac_pj=node.float("ac_pj"),
        lif_pj=node.float("lif_pj"),
        static_pj_per_cycle=node.float("static_pj_per_cycle", 0.0),
        area_um2=node.float("area_um2", 0.0),
        skip_zero_weights=node.bool("skip_zero_weights", False),
        lif_units_per_pe=node.int("lif_units_per_pe", 1, maximum=MAX_FANOUT),
        lif_sharing=node.int("lif_sharing", 1, maximum=MAX_FANOUT),
        lif_static_pj_per_cycle=node.float("lif_static_pj_per_cycle", 0.0),
        lif_area_um2=node.float("lif_area_um2", 0.0),
        cycles_per_step=node.int("cycles_per_step", 1, maximum=MAX_FANOUT),
        lif_spatial_t=node.bool("lif_spatial_t", False),
    )
    node.done()
    return c


def device_from_node(node: Node) -> Device:
    """The ``device:`` block, strictly (also read by the crossbar accuracy model, :mod:`crossbar.device`)."""
    xbar, cell, wire, adc = (node.child(k) for k in ("crossbar", "cell", "wire", "adc"))
    assert xbar is not None and cell is not None and wire is not None and adc is not None
    g_min_us = cell.float("g_min_us")
    g_max_us = cell.float("g_max_us", minimum=g_min_us, strict_minimum=True)
    dev = Device(
        rows=xbar.int("rows", maximum=MAX_FANOUT),
        columns=xbar.int("columns", maximum=MAX_FANOUT),
        g_min_s=g_min_us * 1e-6,
        g_max_s=g_max_us * 1e-6,
        bits_per_cell=cell.int("bits_per_cell", maximum=16),
        weight_bits=node.int("weight_bits", minimum=2, maximum=32),
        read_voltage_v=node.float("read_voltage_v", minimum=0.0, strict_minimum=True),
        r_row_ohm=wire.float("r_row_ohm"),
        r_col_ohm=wire.float("r_col_ohm"),
        variation_sigma=node.float("programming_variation_sigma"),
        read_noise_sigma=node.float("read_noise_sigma"),
        adc_bits=adc.int("bits", maximum=32),
        adc_percentile=adc.float("calibration_percentile", minimum=0.0, maximum=100.0, strict_minimum=True),
    )
    for n in (xbar, cell, wire, adc, node):
        n.done()
    return dev


def _crossbar(node: Node, levels: tuple[Level, ...], device: Device | None) -> Crossbar:
    names = [lv.name for lv in levels]

    def level_of(key: str) -> int:
        name = node.str(key)
        if name not in names:
            raise node.error(key, f"unknown level {name!r}; levels: {', '.join(names)}")
        return names.index(name)

    if device is None:
        raise node.error(None, "a crossbar: section needs the device: block (bits per cell, crossbar geometry)")
    cell, pe, tile = level_of("level"), level_of("pe_level"), level_of("tile_level")
    if not tile < pe < cell:
        raise node.error("pe_level", "expected tile_level above pe_level above level (outer to inner)")
    fo = levels[cell].fanout
    if (fo.y, fo.x) != (device.rows, device.columns):
        raise node.error(
            "level",
            f"level {names[cell]}'s fanout is {fo.y} rows x {fo.x} columns, the device block "
            f"says {device.rows} x {device.columns}",
        )
    en, ar = node.child("energy_pj"), node.child("area_um2")
    assert en is not None and ar is not None
    energy = CrossbarEnergy(**{k: en.float(k) for k in CrossbarEnergy.__dataclass_fields__})
    xb = Crossbar(
        level=cell,
        pe_level=pe,
        tile_level=tile,
        bits_per_cell=device.bits_per_cell,
        adcs_per_pe=node.int("adcs_per_pe", maximum=device.columns),
        diff_subtractions_per_conversion=node.float("diff_subtractions_per_conversion"),
        lif_updates_per_pe_cycle=node.float("lif_updates_per_pe_cycle"),
        lif_units_per_tile=node.int("lif_units_per_tile", maximum=MAX_FANOUT),
        energy=energy,
        lif_logic_um2=ar.float("lif_logic"),
        input_sram_um2_per_bit=ar.float("input_sram_per_bit"),
        membrane_sram_um2_per_bit=ar.float("membrane_sram_per_bit"),
    )
    for n in (en, ar, node):
        n.done()
    return xb


def _flops_estimate(node: Node) -> FlopsEstimate:
    fe = FlopsEstimate(
        adder8_mw=node.float("adder8_mw"),
        register8_mw=node.float("register8_mw"),
        multiplier8_mw=node.float("multiplier8_mw"),
        clock_hz=node.float("clock_hz", minimum=0.0, strict_minimum=True),
    )
    node.done()
    return fe


def _levels(root: Node, technology_nm: float | None, clock_hz: float) -> tuple[Level, ...]:
    nodes = root.children("levels")
    if not nodes:
        raise root.error("levels", "expected at least one level")
    levels = tuple(_level(n, technology_nm, clock_hz) for n in nodes)
    names = [lv.name for lv in levels]
    for i, n in enumerate(names):
        if names.index(n) != i:
            raise root.error(f"levels[{i}].name", f"duplicate level name {n!r}")
    missing = sorted(t.value for t in set(TENSORS) - levels[0].keeps)
    if missing:
        raise root.error(
            "levels[0].keeps",
            f"the outermost level {levels[0].name} must keep every tensor; missing {', '.join(missing)}",
        )
    return levels


def arch_from_dict(data: Any, file: str = "<arch>") -> Arch:
    """Build and validate an :class:`Arch` from parsed YAML; errors name ``file`` and the key path."""
    root = Node(data, file)
    clock = root.float("clock_hz", minimum=0.0, strict_minimum=True)
    tech = root.optional_float("technology_nm", minimum=1.0, maximum=1000.0)
    levels = _levels(root, tech, clock)
    compute_node = root.child("compute")
    assert compute_node is not None
    compute = _compute(compute_node)
    dev_node = root.child("device", None)
    device = device_from_node(dev_node) if dev_node is not None else None
    xb_node = root.child("crossbar", None)
    crossbar = _crossbar(xb_node, levels, device) if xb_node is not None else None
    systolic = any(lv.fanout.systolic for lv in levels)
    profiles = profiles_from_node(root.child("profiles", None), crossbar=crossbar is not None, systolic=systolic)
    default = root.str("default_profile", NATIVE)
    if default not in [p.name for p in profiles]:
        raise root.error("default_profile", f"no profile {default!r}; profiles: {', '.join(p.name for p in profiles)}")
    fe_node = root.child("flops_estimate", None)
    latency = root.enum("latency", Latency, Latency.SEQUENTIAL)
    if latency is Latency.PER_OUTPUT_NEURON and crossbar is None:
        raise root.error(
            "latency", "per-output-neuron is the public SpikeSim script's rule: it needs a crossbar: section"
        )
    sizing = root.enum("sizing", Sizing, Sizing.FIXED)
    if sizing is Sizing.RESIDENT and crossbar is None:
        raise root.error(
            "sizing",
            "resident (a chip sized to hold every layer's weights) needs a crossbar: "
            "section; a digital arch is one chip reused by every layer (fixed)",
        )
    arch_kwargs = dict(
        name=root.str("name"),
        clock_hz=clock,
        levels=levels,
        compute=compute,
        technology_nm=tech,
        source=root.str("source", ""),
        file=file,
        latency=latency,
        sizing=sizing,
        crossbar=crossbar,
        device=device,
        profiles=profiles,
        default_profile=default,
        flops_estimate=_flops_estimate(fe_node) if fe_node is not None else None,
    )
    root.done()
    try:
        return Arch(**arch_kwargs)  # type: ignore[arg-type]
    except ValueError as exc:
        raise SpecError(f"{file}: {exc}") from None


def load_arch(name_or_path: str | Path) -> Arch:
    """Load a shipped arch by name (``sata``, ``generic3``) or a user's YAML file."""
    path = archspecs.arch_path(str(name_or_path))
    return arch_from_dict(load_yaml(path), _shown_path(path))


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(archspecs.ROOT.parent))
    except ValueError:
        return str(path)


def with_lif_sharing(arch: Arch, sharing: int) -> Arch:
    """The arch with C#n LIF sharing ``sharing`` (one LIF unit and stored membrane per ``sharing`` neurons)."""
    return replace(arch, compute=replace(arch.compute, lif_sharing=sharing))
