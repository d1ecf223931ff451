"""The paper's estimate, E_est = MACs x T x (1 - sparsity) x E_AC (Table II, "Est. Energy").

This is the number SNN papers quote: every synaptic operation priced at one accumulate and
nothing else (no memory, no LIF, no static power). The functions are pure; the per-work inputs
(which MAC count, which sparsity) live in ``spikeloop/experiments/estimate.py``.

Counting conventions of the public script (SATA_Sim ``related-work-estimate.py``), kept as
explicit choices:

* E_AC = (8-bit adder + 8-bit register) dynamic power / 250 MHz = 0.1175 pJ
  (:func:`e_ac_pj`); the powers are SATA's synthesis table (``flops_estimate:`` in
  ``archspecs/sata.yaml``).
* MACs of a VGG-style list (:func:`conv_stack_macs`): 3x3 "same" convolutions at the current map
  size ('M' halves it), then FC layers as given (the script's FC input is 512 x 4 x 4 whatever
  the last conv width).
* A work may instead report its own op counts (TDBN: adds and multiplies), priced at 8-bit adder
  and multiplier energy (:func:`reported_ops_energy_pj`).
* The "sparsity" is the fraction of zero spikes (LTH: its weight sparsity, as the paper says).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from costmodel.arch import Arch


def op_energy_pj(power_mw: float, clock_hz: float) -> float:
    """Energy of one op of a unit drawing ``power_mw`` for one cycle at ``clock_hz`` (pJ):
    E = P / f = power_mw x 1e-3 W / clock_hz s = power_mw x 1e9 / clock_hz pJ."""
    return power_mw * 1e9 / clock_hz


def e_ac_pj(adder_mw: float, register_mw: float, clock_hz: float) -> float:
    """E_AC: one 8-bit accumulate = adder + register for one cycle (pJ). SATA: 0.1175 pJ at 250 MHz."""
    return op_energy_pj(adder_mw + register_mw, clock_hz)


def estimated_energy_pj(macs: float, timesteps: int, sparsity: float, e_ac: float) -> float:
    """E_est = MACs x T x (1 - sparsity) x E_AC (pJ). ``macs`` is per timestep, dense."""
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity must be in [0, 1], got {sparsity}")
    return macs * timesteps * (1.0 - sparsity) * e_ac


def reported_ops_energy_pj(adds: float, muls: float, e_add: float, e_mul: float) -> float:
    """Energy of op counts a work reports itself (already over all timesteps and sparsity) (pJ)."""
    return adds * e_add + muls * e_mul


def conv_stack_macs(
    config: Sequence[int | str],
    *,
    in_channels: int,
    image_size: int,
    kernel: int = 3,
    fc: Iterable[tuple[int, int]] = (),
) -> int:
    """Dense MACs per timestep of a VGG-style list: ints are 'same'-padded k x k conv widths at the
    current map size, 'M'/'m' halves the map; then ``fc`` (in, out) pairs add in x out each."""
    macs, c, size = 0, in_channels, image_size
    for item in config:
        if isinstance(item, str):
            if item.lower() != "m":
                raise ValueError(f"unknown item {item!r} in a conv list (expected an int or 'M')")
            size //= 2
            continue
        macs += c * kernel * kernel * item * size * size
        c = item
    return macs + sum(i * o for i, o in fc)


def estimate_profile(arch: Arch) -> dict[str, float]:
    """The ``flops_estimate:`` section of an arch (adder/register/multiplier powers, clock)."""
    fe = arch.flops_estimate
    if fe is None:
        raise ValueError(f"arch {arch.name} has no flops_estimate: section")
    return {
        "adder8_mw": fe.adder8_mw,
        "register8_mw": fe.register8_mw,
        "multiplier8_mw": fe.multiplier8_mw,
        "clock_hz": fe.clock_hz,
    }


def e_ac_from_arch(arch: Arch) -> float:
    """E_AC from the arch's estimate profile (pJ)."""
    p = estimate_profile(arch)
    return e_ac_pj(p["adder8_mw"], p["register8_mw"], p["clock_hz"])
