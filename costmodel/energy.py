"""Pricing: action counts x per-action energy, static energy, latency and area (DESIGN.md 4.4).

Counts come from :mod:`costmodel.counts`; this module only prices them. Every function is pure
and works on numpy arrays over a batch of mappings.
"""

from __future__ import annotations

import numpy as np

from costmodel.arch import Arch, Level
from costmodel.types import Tensor

Array = np.ndarray


def tensor_bits(tensor: Tensor, weight_bits: int, psum_bits: int, membrane_bits: int) -> int:
    """Bits per element: W weight_bits, I and S 1 (spikes), O psum_bits, U membrane_bits."""
    return {
        Tensor.W: weight_bits,
        Tensor.I: 1,
        Tensor.S: 1,
        Tensor.O: psum_bits,
        Tensor.U: membrane_bits,
    }[tensor]


def words(elements: Array, bits_per_element: int, word_bits: int, granularity: str) -> Array:
    """Storage accesses for ``elements`` elements of ``bits_per_element`` bits.

    packed: elements * bits / word_bits (fractional words: data is streamed densely);
    element: one access per element whatever its width (e.g. SATA's tool, which prices every
    byte or spike at the full block energy). Units: accesses.
    """
    if granularity == "element":
        return np.asarray(elements, dtype=np.float64)
    return np.asarray(elements, dtype=np.float64) * bits_per_element / word_bits


def access_energy_pj(accesses: Array, energy_per_access_pj: float) -> Array:
    """E = accesses x energy per access (pJ)."""
    return accesses * energy_per_access_pj


def link_energy_pj(elements: Array, bits_per_element: int, pj_per_bit: float) -> Array:
    """Network energy for moving elements between a level and its children: E = n x bits x e_bit (pJ)."""
    return np.asarray(elements, dtype=np.float64) * bits_per_element * pj_per_bit


def accumulations(macs: Array, spike_density: float, weight_density: float, skip_zero_weights: bool) -> Array:
    """Executed accumulates: dense MACs x spike density (x weight density if zero weights are skipped)."""
    return macs * spike_density * (weight_density if skip_zero_weights else 1.0)


def compute_energy_pj(ops: Array, pj_per_op: float) -> Array:
    """E = ops x energy per op (pJ)."""
    return ops * pj_per_op


def static_energy_pj(cycles: Array, pj_per_cycle: float, instances: int) -> Array:
    """Static (leakage or ungated clock) energy: E = cycles x pJ/cycle x instances (pJ)."""
    return cycles * pj_per_cycle * instances


def compute_cycles(temporal_iterations: tuple[Array, ...], arch: Arch) -> Array:
    """Compute cycles of one layer: one accumulate per compute unit per cycle.

    Without a systolic level: C = prod of every temporal bound. With a systolic fanout at level s
    (mesh x by y), every pass of the loops at levels <= s through the array pays the fill/drain
    skew: C = prod_{l<=s} It_l * (prod_{l>s} It_l + x + y - 2). Units: cycles.
    """
    outer = np.ones_like(temporal_iterations[0], dtype=np.float64)
    inner = np.ones_like(temporal_iterations[0], dtype=np.float64)
    s = next((i for i, lv in enumerate(arch.levels) if lv.fanout.systolic), None)
    for i, it in enumerate(temporal_iterations):
        if s is not None and i <= s:
            outer = outer * it
        else:
            inner = inner * it
    if s is None:
        return outer * inner
    fo = arch.levels[s].fanout
    return outer * (inner + fo.x + fo.y - 2)


def bandwidth_cycles(bits: Array, bandwidth_bits_per_cycle: float | None, instances: int) -> Array:
    """Cycles a level needs to move ``bits`` (over all its instances): bits / (bw x instances)."""
    if bandwidth_bits_per_cycle is None:
        return np.zeros_like(bits, dtype=np.float64)
    return bits / (bandwidth_bits_per_cycle * instances)


def lif_cycles(lif_ops: Array, lif_units: int) -> Array:
    """Cycles the LIF units need: one update per unit per cycle: ops / units."""
    return lif_ops / lif_units


def level_area_um2(level: Level, instances: int) -> float:
    """Area of every instance of a level (um^2)."""
    return level.area_um2 * instances


def compute_area_um2(arch: Arch) -> float:
    """PE datapaths plus LIF units (um^2): pes x A_pe + lif_units x A_lif."""
    return arch.pes * arch.compute.area_um2 + arch.lif_units * arch.compute.lif_area_um2
