"""The public SATA tool's counting quirks, one pure function each, used by the engine's ``sata-compat`` options.

The published SATA numbers (the paper's Table II) come from SATA_Sim's inference tool: two scale-sim runs (one
output-stationary, one weight-stationary) priced with a component table (github.com/RuokaiYin/SATA_Sim). The
engine reproduces that accounting as mapping constraints plus named options of
:class:`costmodel.accounting.Accounting`; the equations below are the pieces no loop-nest count gives:

* scale-sim's layer shape has no padding: output sides ceil((H - R + s) / s);
* its weight-stationary "filter pass" cycles, added once per layer as weight loading (``weight_load_pass``);
* its output-buffer write count, F_r F_c (A_h + A_w) writes above N_pix K (``ofmap_write_quirk``);
* its memory counts (``scalesim_memory``): inputs from its OS run (each operand once per filter fold from the
  buffer; DRAM refetches by bands that fit the buffer), weights from its WS run (once), outputs once;
* the tool's synaptic-op and LIF counts assume padding 1 (``mac_padding``), which turns an FC layer on a 1 x 1
  input into a 3 x 3 output (``fc_output_3x3``).

A_h x A_w is the systolic array (rows x columns = the systolic fanout's y x x). The helpers at the end split the
SATA PE's power into the classes the paper's Fig. 5(b) compares.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from costmodel.arch import Arch
from costmodel.types import Action, Dim, LayerKind
from costmodel.workload import Layer


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


def scalesim_shape(layer: Layer) -> ScaleSimShape:
    """The layer's (H, W, C, K, R, S, stride) without padding."""
    return ScaleSimShape(
        H=layer.in_h,
        W=layer.in_w,
        C=layer.bound(Dim.C),
        K=layer.bound(Dim.K),
        R=layer.bound(Dim.R),
        S=layer.bound(Dim.S),
        stride=layer.stride,
    )


def ws_filter_cycles(sh: ScaleSimShape, rows: int, cols: int) -> int:
    """scale-sim WS "filter cycles": (F'_r F_c - 1)(N_pix + 2 A_h + A_w - 2) + A_h - 1, with the reduction on
    the rows: F'_r = ceil(W_red / A_h), F_c = ceil(K / A_w). Units: cycles."""
    frp, fc = math.ceil(sh.w_red / rows), math.ceil(sh.K / cols)
    return (frp * fc - 1) * (sh.n_pix + 2 * rows + cols - 2) + rows - 1


def ofmap_write_quirk(sh: ScaleSimShape, rows: int, cols: int) -> int:
    """scale-sim's extra output-buffer writes: F_r F_c (A_h + A_w), F_r = ceil(N_pix / A_h) (elements)."""
    return math.ceil(sh.n_pix / rows) * math.ceil(sh.K / cols) * (rows + cols)


def glb_ifmap_reads(sh: ScaleSimShape, cols: int) -> int:
    """OS ifmap buffer reads: every operand once per filter fold, N_pix W_red F_c (elements)."""
    return sh.n_pix * sh.w_red * math.ceil(sh.K / cols)


def weight_reads(sh: ScaleSimShape) -> int:
    """Weight reads of the tool's WS run (weight buffer and DRAM): every weight once, K W_red (elements)."""
    return sh.K * sh.w_red


def ofmap_writes(sh: ScaleSimShape) -> int:
    """Output elements written once (output buffer and DRAM): N_pix K."""
    return sh.n_pix * sh.K


def band_input_rows(out_rows: int, kernel: int, stride: int) -> int:
    """Input rows a band of ``out_rows`` output rows reads: (out_rows - 1) stride + kernel."""
    return (out_rows - 1) * stride + kernel


def _bands(outputs: int, fits: int, kernel: int, stride: int) -> int:
    """Input rows (or columns) read by bands of ``fits`` outputs covering ``outputs`` (halos re-read)."""
    full, last = divmod(outputs, fits)
    return full * band_input_rows(fits, kernel, stride) + (band_input_rows(last, kernel, stride) if last else 0)


def _largest(limit: int, size: Callable[[int], int], room: int) -> int:
    n = 0
    while n < limit and size(n + 1) <= room:
        n += 1
    return n


def dram_ifmap_reads(sh: ScaleSimShape, buffer_elements: int, cols: int) -> int:
    """DRAM ifmap reads of one OS layer for an input buffer of ``buffer_elements`` live elements.

    The tool simulates a prefetch buffer cycle by cycle; this closed form is ours: the whole ifmap once (C H W)
    if it fits; else bands of the tallest b output rows whose input rows ((b - 1) s + R) x W x C fit, every band
    re-read once per filter fold (F_c = ceil(K / A_w)), halo rows re-read with each band; if no row fits, bands
    of one output row and the widest q output columns (R x ((q - 1) s + S) x C); if not even a window
    (R S C) fits, every operand from DRAM: N_pix W_red F_c (elements).
    """
    fc = math.ceil(sh.K / cols)
    if buffer_elements >= sh.H * sh.W * sh.C:
        return sh.H * sh.W * sh.C
    row = sh.W * sh.C
    b = _largest(sh.out_h, lambda n: band_input_rows(n, sh.R, sh.stride) * row, buffer_elements)
    if b >= 1:
        return fc * _bands(sh.out_h, b, sh.R, sh.stride) * row
    col = sh.R * sh.C
    q = _largest(sh.out_w, lambda n: band_input_rows(n, sh.S, sh.stride) * col, buffer_elements)
    if q >= 1:
        return fc * sh.out_h * _bands(sh.out_w, q, sh.S, sh.stride) * col
    return sh.n_pix * sh.w_red * fc


def padded_out_side(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output side assumed by the tool's MAC count: floor((size + 2 padding - kernel) / stride) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def tool_output_scale(layer: Layer, padding: int, fc_3x3: bool) -> float:
    """(OH x OW) / (P x Q): the tool's output map (padding ``padding``; an FC layer too when ``fc_3x3``) over
    the layer's. Its synaptic-op and LIF counts are the engine's times this ratio."""
    if layer.kind is LayerKind.LINEAR and not fc_3x3:
        return 1.0
    oh = padded_out_side(layer.in_h, layer.bound(Dim.R), layer.stride, padding)
    ow = padded_out_side(layer.in_w, layer.bound(Dim.S), layer.stride, padding)
    return oh * ow / (layer.bound(Dim.P) * layer.bound(Dim.Q))


# ------------------------------------------------------------------------------ SATA PE power (Fig. 5(b))
def ungated_pj_per_pe_cycle(arch: Arch, weight_spad: str = "SPAD-W") -> float:
    """Always-on PE power per PE per cycle (pJ): datapath + LIF units per PE + every per-PE level's static power
    except the weight SPAD's (which the SATA spec uses for PE leakage)."""
    per_pe_levels = sum(lv.static_pj_per_cycle for lv in arch.levels[arch.array_level + 1 :] if lv.name != weight_spad)
    c = arch.compute
    return c.static_pj_per_cycle + c.lif_static_pj_per_cycle * arch.lif_units / arch.pes + per_pe_levels


def gated_pj_per_synop(arch: Arch, weight_spad: str = "SPAD-W") -> float:
    """Energy of one non-zero synaptic op (pJ): accumulator + one weight-SPAD read of one weight."""
    return arch.compute.ac_pj + arch.levels[arch.level_index(weight_spad)].energy(Action.READ)


def lif_power_share(arch: Arch) -> float:
    """LIF units' share of compute-unit power (MAC + LIF datapaths, gated + ungated, every unit busy every
    cycle): lif_units (P_lif,static + E_lif) / (that + pes (P_mac,static + E_ac))."""
    c = arch.compute
    lif = arch.lif_units * (c.lif_static_pj_per_cycle + c.lif_pj)
    mac = arch.pes * (c.static_pj_per_cycle + c.ac_pj)
    return lif / (lif + mac)


def lif_power_pj_per_cycle(arch: Arch) -> float:
    """Power of all LIF units at one update per unit per cycle: lif_units x (static + per-update) pJ/cycle."""
    c = arch.compute
    return arch.lif_units * (c.lif_static_pj_per_cycle + c.lif_pj)
