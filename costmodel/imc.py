"""The in-memory-compute (crossbar) level: SpikeFlow's energy, latency and area (DESIGN.md 4.5, 4.6).

Weights are stationary in RRAM cells: a layer's C*R*S inputs run over crossbar rows and its K output channels
x cells-per-weight over crossbar columns. A PE holds ``crossbars_per_pe`` crossbars that share ``adcs_per_pe``
column ADCs through column muxes; one *PE cycle* (``pe_cycle_clocks`` clocks) reads the PE's crossbars once per
mux step and converts every column, producing one output pixel's partial sums for the PE's column block. Tiles
hold ``pes_per_tile`` PEs, a tile buffer, an H-tree to the digital periphery (temp buffer, DIFF units for the
signed-weight correction, LIF/IF module with membrane SRAM); tiles exchange output spikes over a NoC.

The chain, each step a pure function of values: :func:`imc_spec` / :func:`profile` (YAML -> values) ->
:func:`allocate` (crossbars, PEs per layer) -> :func:`layer_counts` (actions per layer, ``dense`` or ``event``
activity) -> :func:`price_counts` (x per-action energy) -> latency (:func:`sequential_latency_pe_cycles` or
:func:`pipelined_latency_pe_cycles`) -> area (:func:`area_breakdown_um2`) -> :class:`~costmodel.cost.Cost` per
layer, whose :class:`~costmodel.cost.Key` components (``XB``, ``ADC``, ``MUX``, ``DIFF``, ``Htree``, ``TB``,
``TempBuf``, ``GB``, ``LIF-SRAM``, ``NoC``, ``compute``) merge with every other cost of the project.

Profiles (``profiles:`` in the arch YAML) are the accounting conventions: ``native`` (ours) and
``spikesim-compat`` (the public SpikeSim ELA script: dense, sequential, post-pool output sizes, channel-block PEs,
contiguous tile packing). Units: energy pJ, area um^2, time in clock cycles (``Cost.cycles``) and PE cycles.
``docs/spikeflow.md`` states every equation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from costmodel.arch import Arch
from costmodel.cost import Cost, Key
from costmodel.network_eval import LayerResult, NetworkResult
from costmodel.specio import Node, SpecError
from costmodel.types import Action, Dim, LayerKind, Tensor
from costmodel.workload import Layer, Network

ACTIVITIES = ("dense", "event")
LATENCIES = ("sequential", "pipelined")
OUTPUT_SIZES = ("conv", "post-pool")
PE_MAPPINGS = ("packed", "channel-block")
TILE_PACKINGS = ("per-layer", "contiguous")
LIF_ACCOUNTINGS = ("per-neuron", "per-pe-cycle")

# Cost keys of the IMC actions (component, tensor, action).
K_XB = Key("XB", Tensor.W, Action.READ)  # one crossbar read step
K_ADC = Key("ADC", Tensor.O, Action.READ)  # one column conversion
K_MUX = Key("MUX", Tensor.O, Action.TRANSFER)  # one column-mux selection
K_DIFF = Key("DIFF", Tensor.O, Action.UPDATE)  # one signed-weight subtraction
K_HTREE = Key("Htree", Tensor.O, Action.TRANSFER)  # one H-tree transfer (a mux step's ADC outputs)
K_TEMP = Key("TempBuf", Tensor.O, Action.WRITE)  # one temp-buffer access
K_TB = Key("TB", Tensor.I, Action.READ)  # one tile-buffer access (the PE's input spike vector)
K_GB = Key("GB", Tensor.I, Action.READ)  # one global-buffer fetch
K_LIF = Key("compute", None, Action.LIF)  # one LIF/IF update
K_USRAM_R = Key("LIF-SRAM", Tensor.U, Action.READ)  # membrane SRAM bits read
K_USRAM_W = Key("LIF-SRAM", Tensor.U, Action.WRITE)  # membrane SRAM bits written
K_NOC = Key("NoC", Tensor.S, Action.TRANSFER)  # spike bits x hops on the inter-tile NoC


# ================================================================================== spec values
@dataclass(frozen=True, slots=True, kw_only=True)
class ImcEnergy:
    """Per-action energies in pJ (``imc.energy_pj``)."""

    crossbar_read: float
    adc_conversion: float
    mux: float
    htree_transfer: float
    tile_buffer_access: float
    temp_buffer_access: float
    diff_subtraction: float
    memory_fetch: float
    lif_update: float
    membrane_sram_per_bit: float
    noc_per_bit_per_hop: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ImcArea:
    """Component areas in um^2 (``imc.area_um2``)."""

    crossbar: float
    adc: float
    mux: float
    tile_buffer: float
    temp_buffer: float
    diff_unit: float
    htree: float
    sram_per_bit: float
    lif_logic: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ImcSpec:
    """The crossbar architecture: geometry (from ``device.crossbar``/``device.cell``) and ``imc:`` values."""

    rows: int
    columns: int
    bits_per_cell: int
    clock_hz: float
    pe_cycle_clocks: int
    crossbars_per_pe: int
    adcs_per_pe: int
    pes_per_tile: int
    diff_units_per_tile: int
    diff_subtractions_per_conversion: float
    lif_units_per_tile: int
    lif_updates_per_pe_cycle: float
    sequential_overlap: float
    energy: ImcEnergy
    area: ImcArea
    default_profile: str

    @property
    def mux_steps(self) -> int:
        """Sequential ADC steps per PE cycle: ceil(columns / adcs_per_pe) (8 for 64 columns, 8 ADCs)."""
        return math.ceil(self.columns / self.adcs_per_pe)


@dataclass(frozen=True, slots=True, kw_only=True)
class ImcOptions:
    """One accounting profile (``profiles.<name>``); see the arch YAML for the meaning of every key."""

    name: str
    activity: str
    latency: str
    output_size: str
    pe_mapping: str
    tile_packing: str
    lif_accounting: str
    noc: bool
    weight_bits: int | None
    membrane_bits: int | None
    activation_buffer_bits: int
    lif_area_layers: int | None
    lif_logic_area: bool
    lif_sharing: int

    def __post_init__(self) -> None:
        for key, allowed in (("activity", ACTIVITIES), ("latency", LATENCIES), ("output_size", OUTPUT_SIZES),
                             ("pe_mapping", PE_MAPPINGS), ("tile_packing", TILE_PACKINGS),
                             ("lif_accounting", LIF_ACCOUNTINGS)):
            v = getattr(self, key)
            if v not in allowed:
                raise ValueError(f"profile {self.name}: {key} must be one of {', '.join(allowed)}, got {v!r}")
        if self.lif_sharing < 1:
            raise ValueError(f"profile {self.name}: lif_sharing must be >= 1, got {self.lif_sharing}")


def _where(arch: Arch) -> str:
    return arch.file or arch.name


def imc_spec(arch: Arch) -> ImcSpec:
    """Read the ``imc:`` section (strict keys) and the crossbar geometry of ``device:``; SpecError if absent."""
    raw = arch.extra("imc")
    if raw is None:
        raise SpecError(f"{_where(arch)}: imc: required key is missing (arch {arch.name} has no crossbar level)")
    file = _where(arch)
    dev_raw = arch.extra("device")
    if dev_raw is None:
        raise SpecError(f"{file}: device: required key is missing (the IMC model reads the crossbar geometry)")
    dev = Node(dev_raw, file, "device")
    xbar, cell = dev.child("crossbar"), dev.child("cell")
    assert xbar is not None and cell is not None
    node = Node(raw, file, "imc")
    en, ar = node.child("energy_pj"), node.child("area_um2")
    assert en is not None and ar is not None
    energy = ImcEnergy(**{k: en.float(k) for k in ImcEnergy.__dataclass_fields__})
    area = ImcArea(**{k: ar.float(k) for k in ImcArea.__dataclass_fields__})
    en.done()
    ar.done()
    spec = ImcSpec(
        rows=xbar.int("rows"),
        columns=xbar.int("columns"),
        bits_per_cell=cell.int("bits_per_cell"),
        clock_hz=arch.clock_hz,
        pe_cycle_clocks=node.int("pe_cycle_clocks"),
        crossbars_per_pe=node.int("crossbars_per_pe"),
        adcs_per_pe=node.int("adcs_per_pe"),
        pes_per_tile=node.int("pes_per_tile"),
        diff_units_per_tile=node.int("diff_units_per_tile"),
        diff_subtractions_per_conversion=node.float("diff_subtractions_per_conversion"),
        lif_units_per_tile=node.int("lif_units_per_tile"),
        lif_updates_per_pe_cycle=node.float("lif_updates_per_pe_cycle"),
        sequential_overlap=node.float("sequential_overlap", maximum=1.0),
        energy=energy,
        area=area,
        default_profile=node.str("default_profile"),
    )
    node.done()
    return spec


def _choice(node: Node, key: str, allowed: Sequence[str]) -> str:
    v = node.str(key)
    if v not in allowed:
        raise node.error(key, f"expected one of {', '.join(allowed)}, got {v!r}")
    return v


def _opt_pos_int(node: Node, key: str) -> int | None:
    v = node.raw(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise node.error(key, f"expected a positive integer or null, got {v!r}")
    return v


def profile_names(arch: Arch) -> list[str]:
    raw = arch.extra("profiles") or {}
    return sorted(raw)


def profile(arch: Arch, name: str | None = None) -> ImcOptions:
    """The accounting profile ``name`` (default: ``imc.default_profile``) from ``profiles:`` (strict keys)."""
    file = _where(arch)
    chosen = name or imc_spec(arch).default_profile
    raw = arch.extra("profiles")
    if raw is None:
        raise SpecError(f"{file}: profiles: required key is missing")
    if chosen not in raw:
        raise SpecError(f"{file}: profiles: no profile {chosen!r}; profiles: {', '.join(sorted(raw))}")
    node = Node(raw[chosen], file, f"profiles.{chosen}")
    opts = ImcOptions(
        name=chosen,
        activity=_choice(node, "activity", ACTIVITIES),
        latency=_choice(node, "latency", LATENCIES),
        output_size=_choice(node, "output_size", OUTPUT_SIZES),
        pe_mapping=_choice(node, "pe_mapping", PE_MAPPINGS),
        tile_packing=_choice(node, "tile_packing", TILE_PACKINGS),
        lif_accounting=_choice(node, "lif_accounting", LIF_ACCOUNTINGS),
        noc=node.bool("noc"),
        weight_bits=_opt_pos_int(node, "weight_bits"),
        membrane_bits=_opt_pos_int(node, "membrane_bits"),
        activation_buffer_bits=node.int("activation_buffer_bits"),
        lif_area_layers=_opt_pos_int(node, "lif_area_layers"),
        lif_logic_area=node.bool("lif_logic_area"),
        lif_sharing=node.int("lif_sharing"),
    )
    node.done()
    return opts


# ================================================================================== equations
def cells_per_weight(weight_bits: int, bits_per_cell: int) -> int:
    """n_cpw = ceil(b_w / b_cell): cells (adjacent columns) holding one weight. b in bits."""
    return math.ceil(weight_bits / bits_per_cell)


def column_blocks(k: int, cpw: int, columns: int) -> int:
    """n_col = ceil(K * n_cpw / X_c): crossbar column blocks of a layer (K output channels, X_c columns)."""
    return math.ceil(k * cpw / columns)


def row_blocks_packed(c: int, r: int, s: int, rows: int) -> int:
    """n_row = ceil(C*R*S / X_r): crossbar row blocks when the C*R*S inputs are unrolled densely over rows."""
    return math.ceil(c * r * s / rows)


def row_blocks_channel(c: int, r: int, s: int, rows: int) -> int:
    """n_row = R*S * ceil(C / X_r): one kernel position (r, s) per crossbar, <= X_r input channels on its rows
    (SpikeSim's ELA and NICE mapping)."""
    return r * s * math.ceil(c / rows)


def pe_groups_packed(n_row: int, crossbars_per_pe: int) -> int:
    """g = ceil(n_row / k_PE): PEs per column block when a PE's k_PE crossbars take row blocks in turn."""
    return math.ceil(n_row / crossbars_per_pe)


def pe_groups_channel(c: int, r: int, s: int, rows: int, crossbars_per_pe: int) -> int:
    """g = ceil(C / X_r) * ceil(R*S / k_PE): a PE per block of <= X_r input channels, its k_PE crossbars holding
    the kernel positions (so a 1x1 or FC layer still takes whole PEs)."""
    return math.ceil(c / rows) * math.ceil(r * s / crossbars_per_pe)


def p_any_spike(density: float, n: float) -> float:
    """p = 1 - (1 - d)^n: probability that at least one of n rows receives a spike (independent spikes of
    density d in [0, 1]). A crossbar (or PE) with no spike on its rows is neither read nor converted."""
    return 1.0 - (1.0 - density) ** n


def pe_cycles(t: int, pixels: int, pes: int) -> int:
    """N_pc = T * (P*Q) * N_PE: every PE of a layer spends one PE cycle per output pixel per timestep."""
    return t * pixels * pes


def pe_read_energy_pj(k_pe: int, e_xbar_pj: float, adcs: int, e_adc_pj: float, e_mux_pj: float) -> float:
    """E_PEread = k_PE * E_xbar + A * (E_ADC + E_MUX) [pJ]: one mux step of a PE (k_PE crossbars read, A ADCs
    convert one column each through their muxes). SpikeFlow: 9 * 1.76423 + 8 * (2.03084 + 0.094245) = 32.879."""
    return k_pe * e_xbar_pj + adcs * (e_adc_pj + e_mux_pj)


def dense_pe_cycle_energy_pj(spec: ImcSpec) -> float:
    """E_PEcycle [pJ] of one PE cycle charged in full (dense activity, per-PE-cycle LIF accounting):

    E_PEcycle = n_steps * (E_PEread + E_Htree + E_temp) + n_steps*A * n_diff * E_sub + E_TB + E_fetch
                + n_lif * E_lif,
    n_steps = ceil(X_c / A) mux steps, A ADCs, n_diff subtractions per conversion, n_lif LIF updates per PE cycle.
    SpikeFlow: 828.486 pJ (the public ELA's per-PE-cycle energy).
    """
    e = spec.energy
    steps = spec.mux_steps
    conversions = steps * spec.adcs_per_pe
    read = pe_read_energy_pj(spec.crossbars_per_pe, e.crossbar_read, spec.adcs_per_pe, e.adc_conversion, e.mux)
    return (steps * (read + e.htree_transfer + e.temp_buffer_access)
            + conversions * spec.diff_subtractions_per_conversion * e.diff_subtraction
            + e.tile_buffer_access + e.memory_fetch + spec.lif_updates_per_pe_cycle * e.lif_update)


def sequential_latency_pe_cycles(t: int, neurons: Sequence[int], overlap: float) -> list[float]:
    """Per-layer share of D_seq [PE cycles] = T * (sum_{l<L} floor(overlap * n_l) + n_L), n_l = K_l * P_l * Q_l
    output neurons of layer l: one PE cycle per output neuron per timestep, layer l+1 starting when layer l is
    ``overlap`` done (SpikeSim ELA, overlap 0.75). Returns T * floor(overlap * n_l) for l < L and T * n_L."""
    last = len(neurons) - 1
    return [float(t * (n if i == last else math.floor(overlap * n))) for i, n in enumerate(neurons)]


def pipelined_latency_pe_cycles(t: int, stages: Sequence[float]) -> list[float]:
    """Per-layer share of D_pipe [PE cycles] = sum_l s_l + (T - 1) * max_l s_l, s_l = P_l * Q_l the PE cycles
    layer l needs for one timestep (all its PEs in parallel, one output pixel per PE cycle). Layers pipeline
    within a timestep and timestep t+1 enters a layer as soon as timestep t leaves it, so after the fill the
    slowest layer sets the pace. Returns s_l per layer, the bottleneck (first maximum) also carrying
    (T - 1) * max s."""
    if not stages:
        return []
    shares = [float(s) for s in stages]
    top = max(range(len(shares)), key=lambda i: shares[i])
    shares[top] += (t - 1) * shares[top]
    return shares


def mesh_mean_hops(n_tiles: int) -> float:
    """h = 2 (m^2 - 1) / (3 m), m = ceil(sqrt(N_tiles)): mean Manhattan distance between two tiles drawn
    uniformly from an m x m mesh (0 for a single tile)."""
    m = math.ceil(math.sqrt(max(n_tiles, 1)))
    return 2.0 * (m * m - 1) / (3.0 * m)


def pe_area_um2(spec: ImcSpec) -> float:
    """A_PE = k_PE * A_xbar + A * (A_ADC + A_MUX) [um^2] (SpikeFlow: 6152.2)."""
    a = spec.area
    return spec.crossbars_per_pe * a.crossbar + spec.adcs_per_pe * (a.adc + a.mux)


def tile_area_um2(spec: ImcSpec) -> float:
    """A_tile = n_diff * A_DIFF + A_temp + A_TB + n_PE * A_PE + A_Htree [um^2] (SpikeFlow: 596 708), without the
    LIF module (counted separately, see :func:`lif_module_area_um2`)."""
    a = spec.area
    return (spec.diff_units_per_tile * a.diff_unit + a.temp_buffer + a.tile_buffer
            + spec.pes_per_tile * pe_area_um2(spec) + a.htree)


def membrane_sram_bits(neurons: int, membrane_bits: int, sharing: int) -> int:
    """B_U = ceil(n / C#n) * b_U [bits]: membrane-potential SRAM of a layer with n output neurons when one LIF
    neuron (and its membrane) serves ``sharing`` output channels (EfficientLIF-Net C#n)."""
    return math.ceil(neurons / sharing) * membrane_bits


def lif_module_area_um2(membrane_bits_total: int, sram_um2_per_bit: float, lif_units: int,
                        logic_um2: float) -> float:
    """A_LIF = B_U * a_bit + N_LIF * A_logic [um^2]: membrane SRAM plus comparator/adder/threshold datapaths.
    Sharing divides B_U (fewer stored membranes); the datapaths are set by throughput and do not shrink."""
    return membrane_bits_total * sram_um2_per_bit + lif_units * logic_um2


# ================================================================================== allocation
@dataclass(frozen=True, slots=True, kw_only=True)
class Allocation:
    """Crossbars and PEs of one weight layer (zeros for pool/add layers)."""

    cells_per_weight: int
    row_blocks: int
    column_blocks: int
    crossbars_used: int
    pes: int
    rows_per_crossbar: float  # mean weight rows of a used crossbar
    rows_per_pe: float  # mean weight rows feeding one PE's column outputs
    columns_per_pe: float  # mean used columns of a PE

    def crossbars_allocated(self, crossbars_per_pe: int) -> int:
        """Crossbars allocated: every PE brings its full set of ``crossbars_per_pe``."""
        return self.pes * crossbars_per_pe


_NO_ALLOCATION = Allocation(cells_per_weight=0, row_blocks=0, column_blocks=0, crossbars_used=0, pes=0,
                            rows_per_crossbar=0.0, rows_per_pe=0.0, columns_per_pe=0.0)


def allocate(layer: Layer, spec: ImcSpec, opts: ImcOptions) -> Allocation:
    """Crossbars and PEs of a layer: C*R*S over rows (``pe_mapping``), K * cells-per-weight over columns.

    Any layer order works: the allocation of a layer depends on that layer only.
    """
    if not layer.has_weights:
        return _NO_ALLOCATION
    c, k = layer.bound(Dim.C), layer.bound(Dim.K)
    r, s = layer.bound(Dim.R), layer.bound(Dim.S)
    cpw = cells_per_weight(opts.weight_bits or layer.weight_bits, spec.bits_per_cell)
    n_col = column_blocks(k, cpw, spec.columns)
    if opts.pe_mapping == "packed":
        n_row = row_blocks_packed(c, r, s, spec.rows)
        groups = pe_groups_packed(n_row, spec.crossbars_per_pe)
    else:
        n_row = row_blocks_channel(c, r, s, spec.rows)
        groups = pe_groups_channel(c, r, s, spec.rows, spec.crossbars_per_pe)
    return Allocation(
        cells_per_weight=cpw,
        row_blocks=n_row,
        column_blocks=n_col,
        crossbars_used=n_row * n_col,
        pes=groups * n_col,
        rows_per_crossbar=c * r * s / n_row,
        rows_per_pe=c * r * s / groups,
        columns_per_pe=k * cpw / n_col,
    )


def tiles_needed(pes: Sequence[int], pes_per_tile: int, packing: str) -> int:
    """N_tiles = sum_l ceil(N_PE,l / n_PE) (per-layer) or ceil(sum_l N_PE,l / n_PE) (contiguous, ELA)."""
    if packing == "per-layer":
        return sum(math.ceil(p / pes_per_tile) for p in pes)
    return math.ceil(sum(pes) / pes_per_tile)


def charged_pixels(layers: Sequence[Layer], index: int, convention: str) -> int:
    """Output pixels P*Q a layer is charged for: its own (``conv``), or, under ``post-pool`` (the public tool's
    output-size lists), the pooled map when the next layer is a pool layer."""
    layer = layers[index]
    pixels = layer.bound(Dim.P) * layer.bound(Dim.Q)
    if convention == "post-pool" and index + 1 < len(layers) and layers[index + 1].kind is LayerKind.POOL:
        nxt = layers[index + 1]
        return nxt.bound(Dim.P) * nxt.bound(Dim.Q)
    return pixels


# ================================================================================== counts and energy
def layer_counts(layer: Layer, alloc: Allocation, pixels: int, spec: ImcSpec, opts: ImcOptions,
                 noc_hops: float) -> dict[Key, float]:
    """Action counts of one layer per image (batch N folded into the timesteps).

    dense: N_pc = T*N*pixels*N_PE PE cycles, each with n_steps * k_PE crossbar reads and n_steps * A conversions
    (every crossbar and column, used or not, as the public tool). event: only used crossbars that receive a
    spike are read, N_read = T*N*pixels*n_steps*n_xbar*p(d, rows/xbar); only used columns of PEs that receive a
    spike are converted, N_conv = T*N*pixels*N_PE*p(d, rows/PE)*columns/PE. In both: muxes = conversions,
    DIFF = conversions * n_diff, H-tree and temp-buffer accesses = conversions / A; tile-buffer accesses and
    global fetches = N_pc (spike vectors are fetched whatever they hold). LIF: per-pe-cycle = N_pc * n_lif, or
    per-neuron = T*N*K*P*Q updates each reading and writing b_U membrane bits. NoC = T*N*K*P*Q spike bits x hops.
    """
    t = layer.bound(Dim.T) * layer.bound(Dim.N)
    counts: dict[Key, float] = {}
    out_neurons = float(layer.bound(Dim.K) * layer.bound(Dim.P) * layer.bound(Dim.Q))
    if layer.has_weights:
        n_pc = float(pe_cycles(t, pixels, alloc.pes))
        if opts.activity == "dense":
            reads = n_pc * spec.mux_steps * spec.crossbars_per_pe
            conversions = n_pc * spec.mux_steps * spec.adcs_per_pe
        else:
            d = layer.mean_spike_density
            reads = (t * pixels * spec.mux_steps * alloc.crossbars_used
                     * p_any_spike(d, alloc.rows_per_crossbar))
            conversions = t * pixels * alloc.pes * p_any_spike(d, alloc.rows_per_pe) * alloc.columns_per_pe
        counts[K_XB] = reads
        counts[K_ADC] = conversions
        counts[K_MUX] = conversions
        counts[K_DIFF] = conversions * spec.diff_subtractions_per_conversion
        counts[K_HTREE] = conversions / spec.adcs_per_pe
        counts[K_TEMP] = conversions / spec.adcs_per_pe
        counts[K_TB] = n_pc
        counts[K_GB] = n_pc
        if opts.lif_accounting == "per-pe-cycle":
            counts[K_LIF] = n_pc * spec.lif_updates_per_pe_cycle
    fires = layer.has_weights or layer.kind is LayerKind.ADD
    if opts.lif_accounting == "per-neuron" and fires:
        updates = t * out_neurons
        bits = opts.membrane_bits or layer.membrane_bits
        counts[K_LIF] = updates
        counts[K_USRAM_R] = updates * bits
        counts[K_USRAM_W] = updates * bits
    if opts.noc:
        counts[K_NOC] = t * out_neurons * noc_hops
    return counts


def action_energy_pj(spec: ImcSpec) -> dict[Key, float]:
    """The energy table: pJ per counted action (membrane SRAM and NoC per bit)."""
    e = spec.energy
    return {
        K_XB: e.crossbar_read, K_ADC: e.adc_conversion, K_MUX: e.mux, K_DIFF: e.diff_subtraction,
        K_HTREE: e.htree_transfer, K_TEMP: e.temp_buffer_access, K_TB: e.tile_buffer_access,
        K_GB: e.memory_fetch, K_LIF: e.lif_update, K_USRAM_R: e.membrane_sram_per_bit,
        K_USRAM_W: e.membrane_sram_per_bit, K_NOC: e.noc_per_bit_per_hop,
    }


def price_counts(counts: dict[Key, float], table: dict[Key, float]) -> dict[Key, float]:
    """E_a = N_a * e_a [pJ] for every counted action a."""
    return {k: n * table[k] for k, n in counts.items()}


# ================================================================================== area
def _membrane_bits_per_layer(layers: Sequence[Layer], pixels: Sequence[int], opts: ImcOptions) -> list[int]:
    """Membrane SRAM bits of each layer: every firing layer (conv, linear, add), or only the first
    ``lif_area_layers`` weight layers (the public tool counts five), with C#n sharing."""
    weight_idx = [i for i, layer in enumerate(layers) if layer.has_weights]
    if opts.lif_area_layers is None:
        counted = {i for i, layer in enumerate(layers) if layer.has_weights or layer.kind is LayerKind.ADD}
    else:
        counted = set(weight_idx[: opts.lif_area_layers])
    out = []
    for i, layer in enumerate(layers):
        if i not in counted:
            out.append(0)
            continue
        side = pixels[i] if layer.has_weights else layer.bound(Dim.P) * layer.bound(Dim.Q)
        out.append(membrane_sram_bits(layer.bound(Dim.K) * side, opts.membrane_bits or layer.membrane_bits,
                                      opts.lif_sharing))
    return out


def layer_areas_um2(layers: Sequence[Layer], allocs: Sequence[Allocation], pixels: Sequence[int],
                    spec: ImcSpec, opts: ImcOptions, n_tiles: int) -> list[dict[str, float]]:
    """Each layer's share of the chip area [um^2]: tiles and LIF datapaths in proportion to its PEs
    (A_tiles * N_PE,l / sum N_PE), its inputs in the global input SRAM (C*H*W * b_act * a_bit, weight layers) and
    its membranes (B_U,l * a_bit). The shares add up to :func:`total_area_um2`."""
    a = spec.area
    pes_total = sum(al.pes for al in allocs) or 1
    tiles = n_tiles * tile_area_um2(spec)
    logic = n_tiles * spec.lif_units_per_tile * a.lif_logic if opts.lif_logic_area else 0.0
    u_bits = _membrane_bits_per_layer(layers, pixels, opts)
    out = []
    for layer, al, ub in zip(layers, allocs, u_bits, strict=True):
        share = al.pes / pes_total
        inbuf = layer.bound(Dim.C) * layer.in_h * layer.in_w * opts.activation_buffer_bits if layer.has_weights else 0
        out.append({"tiles": tiles * share, "input_sram": inbuf * a.sram_per_bit,
                    "lif_membrane_sram": ub * a.sram_per_bit, "lif_logic": logic * share})
    return out


def area_breakdown_um2(layers: Sequence[Layer], allocs: Sequence[Allocation], pixels: Sequence[int],
                       spec: ImcSpec, opts: ImcOptions, n_tiles: int) -> dict[str, float]:
    """Chip area [um^2] by part: tiles (PEs with crossbars, ADCs and muxes; tile buffer, temp buffer, DIFF,
    H-tree), the global input-activation SRAM (C*H*W inputs of every weight layer x ``activation_buffer_bits``)
    and the LIF module (:func:`lif_module_area_um2`: membrane SRAM of every firing layer, or of the first
    ``lif_area_layers`` weight layers, with C#n sharing; ``lif_units_per_tile`` datapaths per tile when
    ``lif_logic_area``)."""
    a = spec.area
    per_layer = layer_areas_um2(layers, allocs, pixels, spec, opts, n_tiles)
    u_bits = sum(_membrane_bits_per_layer(layers, pixels, opts))
    lif_units = n_tiles * spec.lif_units_per_tile if opts.lif_logic_area else 0
    return {
        "tiles": n_tiles * tile_area_um2(spec),
        "pes": n_tiles * spec.pes_per_tile * pe_area_um2(spec),
        "input_sram": sum(la["input_sram"] for la in per_layer),
        "lif_membrane_sram": u_bits * a.sram_per_bit,
        "lif_logic": lif_units * a.lif_logic,
        "lif_module": lif_module_area_um2(u_bits, a.sram_per_bit, lif_units, a.lif_logic),
    }


def total_area_um2(breakdown: dict[str, float]) -> float:
    """A_chip = A_tiles + A_inbuf + A_LIF [um^2] (PEs are inside the tiles)."""
    return breakdown["tiles"] + breakdown["input_sram"] + breakdown["lif_module"]


# ================================================================================== network
@dataclass(frozen=True, slots=True, kw_only=True)
class ImcNetworkResult(NetworkResult):
    """A :class:`NetworkResult` plus the IMC allocation, area breakdown and profile used."""

    options: ImcOptions
    allocations: tuple[Allocation, ...]
    area_um2: dict[str, float]
    pe_cycle_ns: float
    crossbars_per_pe: int
    tiles: int
    layer_area_um2: tuple[dict[str, float], ...]

    def to_dict(self) -> dict[str, Any]:
        out = NetworkResult.to_dict(self)  # zero-arg super() breaks on slotted dataclasses
        out["imc"] = {
            "profile": self.options.name,
            "activity": self.options.activity,
            "latency": self.options.latency,
            "lif_sharing": self.options.lif_sharing,
            "pe_cycle_ns": self.pe_cycle_ns,
            "tiles": self.tiles,
            "pes": sum(al.pes for al in self.allocations),
            "area_um2": dict(self.area_um2),
        }
        for entry, al, la in zip(out["layers"], self.allocations, self.layer_area_um2, strict=True):
            entry["layer_area_mm2"] = sum(la.values()) * 1e-6
            entry["imc"] = {
                "area_um2": dict(la), "crossbars_used": al.crossbars_used, "pes": al.pes,
                "row_blocks": al.row_blocks, "column_blocks": al.column_blocks,
                "cells_per_weight": al.cells_per_weight,
                "crossbars_allocated": al.crossbars_allocated(self.crossbars_per_pe),
            }
        return out


def resolve_options(arch: Arch, profile_name: str | None = None, *, activity: str | None = None,
                    latency: str | None = None, lif_sharing: int | None = None) -> ImcOptions:
    """A profile with optional overrides of its activity, latency and LIF sharing."""
    opts = profile(arch, profile_name)
    changes: dict[str, Any] = {}
    if activity is not None:
        changes["activity"] = activity
    if latency is not None:
        changes["latency"] = latency
    if lif_sharing is not None:
        changes["lif_sharing"] = lif_sharing
    return replace(opts, **changes) if changes else opts


def evaluate_network_imc(arch: Arch, network: Network, *, profile_name: str | None = None,
                         activity: str | None = None, latency: str | None = None,
                         lif_sharing: int | None = None) -> ImcNetworkResult:
    """Energy, latency, area and EDP of every layer of ``network`` on the IMC arch, per image.

    ``profile_name`` picks an accounting profile (default ``imc.default_profile``); ``activity``, ``latency`` and
    ``lif_sharing`` override it. Each layer's :class:`Cost` carries its energy by action, its share of the
    network latency (clock cycles) and the chip area (which does not add over layers).
    """
    spec = imc_spec(arch)
    opts = resolve_options(arch, profile_name, activity=activity, latency=latency, lif_sharing=lif_sharing)
    layers = network.layers
    allocs = tuple(allocate(layer, spec, opts) for layer in layers)
    pixels = [charged_pixels(layers, i, opts.output_size) for i in range(len(layers))]
    n_tiles = tiles_needed([al.pes for al in allocs], spec.pes_per_tile, opts.tile_packing)
    area = area_breakdown_um2(layers, allocs, pixels, spec, opts, n_tiles)
    layer_area = tuple(layer_areas_um2(layers, allocs, pixels, spec, opts, n_tiles))
    chip_um2 = total_area_um2(area)
    hops = mesh_mean_hops(n_tiles)
    table = action_energy_pj(spec)

    weight_idx = [i for i, layer in enumerate(layers) if layer.has_weights]
    t = network.timesteps * layers[0].bound(Dim.N)
    latency_pc = [0.0] * len(layers)
    if opts.latency == "sequential":
        neurons = [layers[i].bound(Dim.K) * pixels[i] for i in weight_idx]
        shares = sequential_latency_pe_cycles(t, neurons, spec.sequential_overlap)
    else:
        shares = pipelined_latency_pe_cycles(t, [float(pixels[i]) for i in weight_idx])
    for i, share in zip(weight_idx, shares, strict=True):
        latency_pc[i] = share

    # Cost.pes = cell-MAC slots per clock (each allocated cell does at most one MAC per PE cycle), so that
    # Cost.utilization = MACs / (clocks x slots) is the fraction of the crossbar cells' MAC slots used.
    cells = sum(al.crossbars_allocated(spec.crossbars_per_pe) for al in allocs) * spec.rows * spec.columns
    mac_slots = max(1, cells // spec.pe_cycle_clocks)
    results = []
    for i, layer in enumerate(layers):
        counts = layer_counts(layer, allocs[i], pixels[i], spec, opts, hops)
        energy = price_counts(counts, table)
        lif_ops = counts.get(K_LIF, 0.0)
        cost = Cost(
            energy_pj=energy,
            counts=counts,
            macs=float(layer.macs),
            accumulations=float(layer.macs) * layer.mean_spike_density,
            lif_ops=lif_ops,
            cycles=latency_pc[i] * spec.pe_cycle_clocks,
            clock_hz=spec.clock_hz,
            area_um2=chip_um2,
            pes=mac_slots,
        )
        results.append(LayerResult(name=layer.name, kind=layer.kind, cost=cost, mapping=None))
    area_out = dict(area)
    area_out["total"] = chip_um2
    return ImcNetworkResult(
        arch=arch, network=network, layers=tuple(results),
        method=f"imc profile {opts.name} ({opts.activity} activity, {opts.latency} latency)",
        options=opts, allocations=allocs, area_um2=area_out,
        pe_cycle_ns=spec.pe_cycle_clocks / spec.clock_hz * 1e9, crossbars_per_pe=spec.crossbars_per_pe,
        tiles=n_tiles, layer_area_um2=layer_area,
    )


def lif_area_reduction(arch: Arch, network: Network, sharing: int, *, profile_name: str | None = None) -> float:
    """A_LIF(C#1) / A_LIF(C#n): the LIF-module area reduction of C#n sharing (Fig. 6(a) quantity)."""
    spec = imc_spec(arch)
    base = resolve_options(arch, profile_name, lif_sharing=1)
    shared = replace(base, lif_sharing=sharing)
    layers = network.layers

    def lif(opts: ImcOptions) -> float:
        allocs = [allocate(layer, spec, opts) for layer in layers]
        pixels = [charged_pixels(layers, i, opts.output_size) for i in range(len(layers))]
        n_tiles = tiles_needed([al.pes for al in allocs], spec.pes_per_tile, opts.tile_packing)
        return area_breakdown_um2(layers, allocs, pixels, spec, opts, n_tiles)["lif_module"]

    return lif(base) / lif(shared)


def dt_edp_reduction(energy_by_t: Sequence[float], latency_by_t: Sequence[float],
                     exit_fractions: Sequence[float]) -> float:
    """EDP(T_max) / (E_mean * D_mean) of an early-exit (DT-SNN) run: energy_by_t[t-1] and latency_by_t[t-1] are
    the cost of an inference stopped after t timesteps, exit_fractions[t-1] the fraction of inputs exiting at
    t (summing to 1). E_mean = sum_t f_t E_t, D_mean = sum_t f_t D_t; units cancel."""
    if len(energy_by_t) != len(latency_by_t) or len(energy_by_t) != len(exit_fractions):
        raise ValueError("energy_by_t, latency_by_t and exit_fractions must have one entry per timestep")
    total = sum(exit_fractions)
    if not math.isclose(total, 1.0, rel_tol=1e-9, abs_tol=1e-9):
        raise ValueError(f"exit_fractions must sum to 1, got {total}")
    e_mean = sum(f * e for f, e in zip(exit_fractions, energy_by_t, strict=True))
    d_mean = sum(f * d for f, d in zip(exit_fractions, latency_by_t, strict=True))
    return energy_by_t[-1] * latency_by_t[-1] / (e_mean * d_mean)
