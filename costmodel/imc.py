"""In-memory-compute (crossbar) equations, one pure function each.

There is no crossbar evaluator here: a crossbar arch is levels of the one loop nest (:mod:`costmodel.analysis`),
its column periphery is priced by :mod:`costmodel.pricing` from the nest's counts, and its network-level area and
latency are composed by :mod:`costmodel.network_eval`. Those modules call the equations below; the numeric,
symbolic and CP-SAT arithmetics evaluate the nonlinear ones (:func:`p_any_spike`, :func:`mesh_mean_hops`) through
:class:`costmodel.analysis.Fn`. Units: energy pJ, area um^2, time in clock cycles or PE cycles as stated.
docs/spikeflow.md states every equation with its source.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

Ceil = Callable[[Any], Any]  # ceil(sqrt(.)) of the arithmetic: numbers, numpy arrays or sympy expressions


def cells_per_weight(weight_bits: int, bits_per_cell: int) -> int:
    """n_cpw = ceil(b_w / b_cell): cells (adjacent columns) holding one weight. b in bits."""
    return math.ceil(weight_bits / bits_per_cell)


def mux_steps(columns: int, adcs: int) -> int:
    """n_steps = ceil(X_c / A): sequential ADC steps to convert X_c columns with A column ADCs (8 for 64, 8)."""
    return math.ceil(columns / adcs)


def p_any_spike(density, n):  # noqa: ANN001, ANN201 - numbers, arrays or sympy expressions
    """p = 1 - (1 - d)^n: probability that at least one of n rows receives a spike (independent spikes of
    density d in [0, 1]). A crossbar (or PE) with no spike on its rows is neither read nor converted."""
    return 1 - (1 - density) ** n


def mesh_mean_hops(n_tiles, ceil_sqrt: Ceil = lambda x: math.ceil(math.sqrt(x))):  # noqa: ANN001, ANN201
    """h = 2 (m^2 - 1) / (3 m), m = ceil(sqrt(N_tiles)): mean Manhattan distance between two tiles drawn
    uniformly from an m x m mesh (0 for a single tile). ``ceil_sqrt`` is the arithmetic's ceil(sqrt(.))."""
    m = ceil_sqrt(n_tiles)
    return 2 * (m * m - 1) / (3 * m)


def sequential_latency_pe_cycles(t: int, neurons: Sequence[int], overlap: float) -> list[float]:
    """Per-layer share of D_seq [PE cycles] = T * (sum_{l<L} floor(overlap * n_l) + n_L), n_l = K_l * P_l * Q_l
    output neurons of weight layer l: one PE cycle per output neuron per timestep, layer l+1 starting when layer
    l is ``overlap`` done (the public SpikeSim script, overlap 0.75). Returns T * floor(overlap * n_l) for
    l < L and T * n_L."""
    last = len(neurons) - 1
    return [float(t * (n if i == last else math.floor(overlap * n))) for i, n in enumerate(neurons)]


def pipelined_latency(t: int, stages: Sequence[float]) -> list[float]:
    """Per-layer share of D_pipe = sum_l s_l + (T - 1) * max_l s_l, s_l the time layer l needs for one
    timestep: layers pipeline within a timestep, and timestep t+1 enters a layer as soon as timestep t leaves
    it, so after the fill the slowest layer sets the pace. Returns s_l per layer, the bottleneck (first
    maximum) also carrying (T - 1) * max s. Units: those of ``stages``."""
    if not stages:
        return []
    shares = [float(s) for s in stages]
    top = max(range(len(shares)), key=lambda i: shares[i])
    shares[top] += (t - 1) * shares[top]
    return shares


def tiles_needed(pes: Sequence[int], pes_per_tile: int, contiguous: bool) -> int:
    """N_tiles = sum_l ceil(N_PE,l / n_PE) (a tile holds one layer's PEs) or ceil(sum_l N_PE,l / n_PE)
    (contiguous: consecutive layers share tiles, the public SpikeSim script)."""
    if contiguous:
        return math.ceil(sum(pes) / pes_per_tile)
    return sum(math.ceil(p / pes_per_tile) for p in pes)


def membrane_sram_bits(neurons: int, membrane_bits: int, sharing: int) -> int:
    """B_U = ceil(n / C#n) * b_U [bits]: membrane-potential SRAM of a layer with n output neurons when one LIF
    neuron (and its membrane) serves ``sharing`` output channels (EfficientLIF-Net C#n)."""
    return math.ceil(neurons / sharing) * membrane_bits


def sram_area_um2(bits: int, um2_per_bit: float) -> float:
    """A = B * a_bit [um^2]: an SRAM sized to hold B bits (0.7391 um^2 per bit in the public SpikeSim script)."""
    return bits * um2_per_bit


def lif_logic_area_um2(tiles: int, lif_units_per_tile: int, um2_per_unit: float) -> float:
    """A = N_tiles * n_LIF * A_LIF [um^2]: LIF datapaths (comparator, adder, threshold register); sized by
    throughput, so LIF sharing does not shrink them."""
    return tiles * lif_units_per_tile * um2_per_unit


def dt_edp_reduction(
    energy_by_t: Sequence[float], latency_by_t: Sequence[float], exit_fractions: Sequence[float]
) -> float:
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
