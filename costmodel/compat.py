"""The public SATA tool's accounting (``sata-compat``) as explicit, documented options (DESIGN.md 4.6).

The published SATA numbers (paper Table II) come from SATA_Sim's inference tool: two scale-sim runs
(one output-stationary, one weight-stationary) stitched together and priced with a component table
(see ``shared/reference/sata.md`` sections 3.1-3.2). That accounting differs from the engine's
loop-nest analysis in ways no single mapping expresses: cycles repeat an OS pass every timestep
while memory traffic is counted once for all timesteps, MAC counts assume padding 1 while cycles
and accesses assume none, and so on. Each such difference is an option of
:class:`SataCompatOptions`, read from the arch spec's ``profiles: sata-compat:`` section, so a
reader can switch any of them off and see what it is worth.

Every energy and capacity comes from the arch spec (levels, compute block, fanout, clock); every
count from the layer. Nothing here knows a paper figure. Counts per layer and inference
(A_h x A_w = array rows x columns = the systolic fanout's y x x):

* scale-sim shapes (no padding): E = ceil((H + 2p - R + s)/s) per side, N_pix = E_h E_w,
  W_red = R S C; folds F_r = ceil(N_pix/A_h), F_c = ceil(K/A_w), F'_r = ceil(W_red/A_h).
* cycles: OS pass ``F_r F_c (W_red + A_h + A_w - 2) - 1`` times T, plus one WS "filter" pass
  ``(F'_r F_c - 1)(N_pix + 2 A_h + A_w - 2) + A_h - 1`` as weight loading.
* buffer accesses: ifmap GLB reads N_pix W_red F_c; weight GLB reads K W_red; ofmap GLB writes
  N_pix K (+ F_r F_c (A_h + A_w), scale-sim's counting quirk); DRAM weight reads K W_red; DRAM
  ofmap writes N_pix K; DRAM ifmap reads from :func:`dram_ifmap_reads` (a buffer model: the public
  tool gets them from a cycle-level buffer simulation with no closed form).
* PE: non-zero synaptic ops = K OH OW R S C T (1 - sigma) with padding-1 output sides
  OH = floor((H + 2 - R)/s) + 1 (for an FC layer on a 1 x 1 input that is a 3 x 3 output: x 9);
  LIF updates K OH OW T. Each synaptic op pays the accumulator (``compute.ac_pj``) and a
  weight-SPAD read; each LIF update ``compute.lif_pj``.
* static: cycles x (every level instance's, every PE's and every LIF unit's pJ/cycle).
* access energy: one access per element at the level's full per-block energy
  (``access_granularity: element``), or packed words (``packed``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from costmodel.arch import Arch
from costmodel.cost import Cost, Key
from costmodel.network_eval import LayerResult, NetworkResult
from costmodel.pricing import actions_per_element, arch_area_um2, bits_of
from costmodel.types import Action, Dim, Granularity, LayerKind, Tensor
from costmodel.workload import Layer, Network

DRAM_IFMAP_MODELS = ("band", "once")


@dataclass(frozen=True, slots=True, kw_only=True)
class SataCompatOptions:
    """Where the public SATA tool counts differently from the engine; defaults = the tool.

    ``access_granularity``: ``element`` (one access per byte or spike at the full block energy, the
    tool) or ``packed``. ``mac_padding``: padding assumed for MAC / LIF counts (tool: 1).
    ``fc_output_3x3``: apply that padding to FC layers too, turning a 1 x 1 input into a 3 x 3
    output (tool: yes, MACs x 9). ``scalesim_padding``: padding for cycles and accesses (tool: 0).
    ``os_cycles_per_timestep``: cycles = T x OS pass (else one pass). ``weight_load_pass``: add one
    WS pass per layer. ``ofmap_write_quirk``: add scale-sim's F_r F_c (A_h + A_w) ofmap writes.
    ``ifmap_buffer_active_fraction``: part of the ifmap GLB that holds live data (scale-sim double
    buffering: 0.5). ``dram_ifmap``: ``band`` (:func:`dram_ifmap_reads`) or ``once`` (C H W).
    ``levels``: which arch levels play DRAM, weight GLB, activation GLB and weight SPAD.
    """

    access_granularity: str = "element"
    mac_padding: int = 1
    fc_output_3x3: bool = True
    scalesim_padding: int = 0
    os_cycles_per_timestep: bool = True
    weight_load_pass: bool = True
    ofmap_write_quirk: bool = True
    ifmap_buffer_active_fraction: float = 0.5
    dram_ifmap: str = "band"
    dram: str = "DRAM"
    weight_glb: str = "GLB-W"
    act_glb: str = "GLB-A"
    weight_spad: str = "SPAD-W"

    def __post_init__(self) -> None:
        if self.access_granularity not in ("element", "packed"):
            raise ValueError("sata-compat: access_granularity must be element or packed, "
                             f"got {self.access_granularity!r}")
        if self.dram_ifmap not in DRAM_IFMAP_MODELS:
            raise ValueError(f"sata-compat: dram_ifmap must be one of {DRAM_IFMAP_MODELS}, got {self.dram_ifmap!r}")
        if not 0.0 < self.ifmap_buffer_active_fraction <= 1.0:
            raise ValueError("sata-compat: ifmap_buffer_active_fraction must be in (0, 1]")


def options_from_arch(arch: Arch, **overrides: Any) -> SataCompatOptions:
    """The arch's ``profiles: sata-compat:`` section as options (keyword ``overrides`` win)."""
    profiles = arch.extra("profiles") or {}
    raw = dict(profiles.get("sata-compat") or {})
    levels = raw.pop("levels", {}) or {}
    known = {f.name for f in fields(SataCompatOptions)}
    kw: dict[str, Any] = {}
    for k, v in {**raw, **levels}.items():
        key = k.replace("-", "_")
        if key not in known:
            raise ValueError(f"{arch.file}: profiles.sata-compat: unknown option {k!r}")
        kw[key] = v
    kw.update(overrides)
    return SataCompatOptions(**kw)


# ------------------------------------------------------------------------------ shapes
@dataclass(frozen=True, slots=True)
class ScaleSimShape:
    """A layer as scale-sim sees it: input H x W x C, K filters R x S, stride, no padding."""

    H: int
    W: int
    C: int
    K: int
    R: int
    S: int
    stride: int

    @property
    def out_h(self) -> int:
        return math.ceil((self.H - self.R + self.stride) / self.stride)

    @property
    def out_w(self) -> int:
        return math.ceil((self.W - self.S + self.stride) / self.stride)

    @property
    def n_pix(self) -> int:
        return self.out_h * self.out_w

    @property
    def w_red(self) -> int:
        return self.R * self.S * self.C

    @property
    def ifmap_elements(self) -> int:
        return self.H * self.W * self.C


def scalesim_shape(layer: Layer, padding: int = 0) -> ScaleSimShape:
    """The layer's (H, W, C, K, R, S, stride); ``padding`` is added to each input side."""
    return ScaleSimShape(
        H=layer.in_h + 2 * padding, W=layer.in_w + 2 * padding, C=layer.bound(Dim.C), K=layer.bound(Dim.K),
        R=layer.bound(Dim.R), S=layer.bound(Dim.S), stride=layer.stride,
    )


def padded_out_side(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output side assumed by the tool's MAC count: floor((size + 2 padding - kernel)/stride) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def mac_out_sides(layer: Layer, opt: SataCompatOptions) -> tuple[int, int]:
    """Output rows and columns used for MAC and LIF counts (padding-1 for conv; for FC 3 x 3 or 1 x 1)."""
    if layer.kind is LayerKind.LINEAR and not opt.fc_output_3x3:
        return 1, 1
    r, s = layer.bound(Dim.R), layer.bound(Dim.S)
    return (padded_out_side(layer.in_h, r, layer.stride, opt.mac_padding),
            padded_out_side(layer.in_w, s, layer.stride, opt.mac_padding))


# ------------------------------------------------------------------------------ equations
def os_cycles(sh: ScaleSimShape, rows: int, cols: int) -> int:
    """scale-sim OS compute cycles: F_r F_c (W_red + A_h + A_w - 2) - 1 (pixels on rows, filters on columns)."""
    fr, fc = math.ceil(sh.n_pix / rows), math.ceil(sh.K / cols)
    return fr * fc * (sh.w_red + rows + cols - 2) - 1


def ws_filter_cycles(sh: ScaleSimShape, rows: int, cols: int) -> int:
    """scale-sim WS "filter cycles": (F'_r F_c - 1)(N_pix + 2 A_h + A_w - 2) + A_h - 1 (reduction on rows)."""
    frp, fc = math.ceil(sh.w_red / rows), math.ceil(sh.K / cols)
    return (frp * fc - 1) * (sh.n_pix + 2 * rows + cols - 2) + rows - 1


def glb_ifmap_reads(sh: ScaleSimShape, cols: int) -> int:
    """OS ifmap GLB reads: every operand once per filter fold, N_pix W_red F_c (elements)."""
    return sh.n_pix * sh.w_red * math.ceil(sh.K / cols)


def glb_ofmap_writes(sh: ScaleSimShape, rows: int, cols: int, quirk: bool) -> int:
    """OS ofmap GLB writes: N_pix K (+ F_r F_c (A_h + A_w) with scale-sim's quirk) (elements)."""
    extra = math.ceil(sh.n_pix / rows) * math.ceil(sh.K / cols) * (rows + cols) if quirk else 0
    return sh.n_pix * sh.K + extra


def weight_reads(sh: ScaleSimShape) -> int:
    """WS weight reads (GLB and DRAM): every weight once, K W_red (elements)."""
    return sh.K * sh.w_red


def dram_ofmap_writes(sh: ScaleSimShape) -> int:
    """Output elements written to DRAM once: N_pix K."""
    return sh.n_pix * sh.K


def band_input_rows(out_rows: int, kernel: int, stride: int) -> int:
    """Input rows a band of ``out_rows`` output rows reads: (out_rows - 1) stride + kernel."""
    return (out_rows - 1) * stride + kernel


def dram_ifmap_reads(sh: ScaleSimShape, buffer_elements: int, cols: int) -> int:
    """DRAM ifmap reads of one OS layer from the ifmap buffer's live capacity (elements).

    The model (ours; the public tool simulates a prefetch buffer cycle by cycle and has no closed
    form): if the whole ifmap fits the live buffer it is read once, C H W. Otherwise the OS
    schedule walks the output in bands that fit: the tallest band of b output rows whose input rows
    ((b - 1) s + R) x W x C fit the buffer, and, since the filter folds (groups of A_w filters)
    each sweep the whole output, every band is re-read once per filter fold:
    reads = F_c x sum over bands of band input rows x W x C (halo rows re-read with each band).
    If not even one output row fits, a band is one output row and as many output columns q as fit
    (R x ((q - 1) s + S) x C elements), again re-read per filter fold. If a single window (R S C)
    does not fit, every operand comes from DRAM: N_pix W_red F_c. This is the engine's DRAM -> GLB
    input-tile fill count for the OS mapping with filter folds outermost and the band as the GLB
    tile (checked in tests/test_sata_compat.py).
    """
    fc = math.ceil(sh.K / cols)
    total = sh.ifmap_elements
    if total <= buffer_elements:
        return total
    row = sh.W * sh.C
    b = 0
    while b < sh.out_h and band_input_rows(b + 1, sh.R, sh.stride) * row <= buffer_elements:
        b += 1
    if b >= 1:
        full, last = divmod(sh.out_h, b)
        rows = full * band_input_rows(b, sh.R, sh.stride) + (band_input_rows(last, sh.R, sh.stride) if last else 0)
        return fc * rows * row
    col = sh.R * sh.C  # one output row: R input rows, one input column of them = R x C elements
    q = 0
    while q < sh.out_w and band_input_rows(q + 1, sh.S, sh.stride) * col <= buffer_elements:
        q += 1
    if q >= 1:
        full, last = divmod(sh.out_w, q)
        cols_read = full * band_input_rows(q, sh.S, sh.stride) + (
            band_input_rows(last, sh.S, sh.stride) if last else 0)
        return fc * sh.out_h * cols_read * col
    return sh.n_pix * sh.w_red * fc


def synaptic_ops(layer: Layer, opt: SataCompatOptions) -> float:
    """Non-zero synaptic ops counted by the tool: K OH OW R S C T x spike density (padding-1 sides)."""
    oh, ow = mac_out_sides(layer, opt)
    dense = layer.bound(Dim.K) * oh * ow * layer.bound(Dim.R) * layer.bound(Dim.S) * layer.bound(Dim.C)
    return dense * layer.bound(Dim.T) * layer.bound(Dim.N) * layer.mean_spike_density


def lif_updates(layer: Layer, opt: SataCompatOptions) -> float:
    """LIF updates counted by the tool: K OH OW T (padding-1 sides)."""
    oh, ow = mac_out_sides(layer, opt)
    return float(layer.bound(Dim.K) * oh * ow * layer.bound(Dim.T) * layer.bound(Dim.N))


def layer_cycles(sh: ScaleSimShape, timesteps: int, rows: int, cols: int, opt: SataCompatOptions) -> int:
    """T x OS pass (or one pass) + one WS weight-load pass (if enabled)."""
    c = os_cycles(sh, rows, cols) * (timesteps if opt.os_cycles_per_timestep else 1)
    return c + (ws_filter_cycles(sh, rows, cols) if opt.weight_load_pass else 0)


def static_pj_per_cycle(arch: Arch) -> dict[Key, float]:
    """Static (ungated + leakage) pJ per cycle of the whole chip, by component."""
    out: dict[Key, float] = {}
    for li, lv in enumerate(arch.levels):
        if lv.static_pj_per_cycle:
            out[Key(lv.name, None, Action.STATIC)] = lv.static_pj_per_cycle * arch.instances(li)
    c = arch.compute
    if c.static_pj_per_cycle:
        out[Key("compute", None, Action.STATIC)] = c.static_pj_per_cycle * arch.pes
    if c.lif_static_pj_per_cycle:
        out[Key("lif", None, Action.STATIC)] = c.lif_static_pj_per_cycle * arch.lif_units
    return out


# ------------------------------------------------------------------------------ pricing
def array_shape(arch: Arch, opt: SataCompatOptions) -> tuple[int, int]:
    """(rows A_h, columns A_w) of the systolic array: the activation GLB's fanout y and x."""
    fo = arch.levels[arch.level_index(opt.act_glb)].fanout
    return fo.y, fo.x


def ifmap_buffer_elements(arch: Arch, opt: SataCompatOptions) -> int:
    """Live ifmap buffer in elements: the activation GLB's I capacity (bytes, as scale-sim stores
    every ifmap element in a 1-byte word) x the active fraction."""
    lv = arch.levels[arch.level_index(opt.act_glb)]
    cap = lv.tensor_capacity(Tensor.I) or lv.capacity_bits
    if cap is None:
        return 2**62
    return int(cap // 8 * opt.ifmap_buffer_active_fraction)


def layer_cost(arch: Arch, layer: Layer, opt: SataCompatOptions | None = None) -> Cost:
    """One weight layer under the public tool's accounting, priced with ``arch``'s energies."""
    opt = opt or options_from_arch(arch)
    if not layer.has_weights:
        raise ValueError(f"layer {layer.name}: the SATA tool models conv and FC layers only")
    rows, cols = array_shape(arch, opt)
    sh = scalesim_shape(layer, opt.scalesim_padding)
    t = layer.bound(Dim.T)
    dram = arch.levels[arch.level_index(opt.dram)]
    wglb = arch.levels[arch.level_index(opt.weight_glb)]
    aglb = arch.levels[arch.level_index(opt.act_glb)]
    spad = arch.levels[arch.level_index(opt.weight_spad)]
    if opt.dram_ifmap == "band":
        dram_i = dram_ifmap_reads(sh, ifmap_buffer_elements(arch, opt), cols)
    else:
        dram_i = sh.ifmap_elements
    elements = {  # (level, tensor, action) -> elements; output spikes are tensor S
        (dram, Tensor.I, Action.READ): dram_i,
        (dram, Tensor.W, Action.READ): weight_reads(sh),
        (dram, Tensor.S, Action.WRITE): dram_ofmap_writes(sh),
        (wglb, Tensor.W, Action.READ): weight_reads(sh),
        (aglb, Tensor.I, Action.READ): glb_ifmap_reads(sh, cols),
        (aglb, Tensor.S, Action.WRITE): glb_ofmap_writes(sh, rows, cols, opt.ofmap_write_quirk),
    }
    energy: dict[Key, float] = {}
    counts: dict[Key, float] = {}
    for (lv, tensor, action), n in elements.items():
        w = n * float(actions_per_element(bits_of(layer, tensor), lv.word_bits, Granularity(opt.access_granularity)))
        key = Key(lv.name, tensor, action)
        counts[key] = w
        energy[key] = w * lv.energy(action)
    synops = synaptic_ops(layer, opt)
    lif = lif_updates(layer, opt)
    c = arch.compute
    spad_words = synops * float(actions_per_element(layer.weight_bits, spad.word_bits, Granularity.PACKED))
    for key, n, e in (
        (Key("compute", None, Action.AC), synops, c.ac_pj),
        (Key(spad.name, Tensor.W, Action.READ), spad_words, spad.energy(Action.READ)),
        (Key("compute", None, Action.LIF), lif, c.lif_pj),
    ):
        counts[key] = n
        energy[key] = n * e
    cycles = float(layer_cycles(sh, t, rows, cols, opt))
    for key, p in static_pj_per_cycle(arch).items():
        energy[key] = cycles * p
    oh, ow = mac_out_sides(layer, opt)
    dense = float(layer.bound(Dim.K) * oh * ow * sh.w_red * t * layer.bound(Dim.N))
    return Cost(
        energy_pj=energy, counts=counts, macs=dense, accumulations=synops, lif_ops=lif, cycles=cycles,
        clock_hz=arch.clock_hz, area_um2=arch_area_um2(arch), pes=arch.pes,
        notes=("sata-compat: the public SATA tool's accounting (costmodel/compat.py)",),
    )


def evaluate_network_compat(arch: Arch, network: Network, opt: SataCompatOptions | None = None) -> NetworkResult:
    """Every weight layer through :func:`layer_cost` (pool/add layers: the tool has none; skipped)."""
    opt = opt or options_from_arch(arch)
    layers = tuple(
        LayerResult(name=layer.name, kind=layer.kind, cost=layer_cost(arch, layer, opt), mapping=None)
        for layer in network.layers if layer.has_weights
    )
    return NetworkResult(arch=arch, network=network, layers=layers, method="sata-compat")


# ------------------------------------------------------------------------------ PE power pieces
def ungated_pj_per_pe_cycle(arch: Arch, weight_spad: str = "SPAD-W") -> float:
    """Always-on PE power per PE per cycle (pJ): datapath + LIF units per PE + every per-PE level's
    static power except the weight SPAD's (which the SATA spec uses for PE leakage)."""
    arr = max(range(len(arch.levels)), key=lambda i: arch.levels[i].fanout.size)
    per_pe_levels = sum(lv.static_pj_per_cycle for lv in arch.levels[arr + 1:] if lv.name != weight_spad)
    c = arch.compute
    return c.static_pj_per_cycle + c.lif_static_pj_per_cycle * arch.lif_units / arch.pes + per_pe_levels


def gated_pj_per_synop(arch: Arch, weight_spad: str = "SPAD-W") -> float:
    """Energy of one non-zero synaptic op (pJ): accumulator + one weight-SPAD read of one weight."""
    return arch.compute.ac_pj + arch.levels[arch.level_index(weight_spad)].energy(Action.READ)


def lif_power_share(arch: Arch) -> float:
    """LIF units' share of compute-unit power (MAC + LIF datapaths, gated + ungated, every unit busy
    every cycle): lif_units (P_lif,static + E_lif) / (that + pes (P_mac,static + E_ac))."""
    c = arch.compute
    lif = arch.lif_units * (c.lif_static_pj_per_cycle + c.lif_pj)
    mac = arch.pes * (c.static_pj_per_cycle + c.ac_pj)
    return lif / (lif + mac)


def lif_power_pj_per_cycle(arch: Arch) -> float:
    """Power of all LIF units at one update per unit per cycle: lif_units x (static + per-update) pJ/cycle."""
    c = arch.compute
    return arch.lif_units * (c.lif_static_pj_per_cycle + c.lif_pj)
