"""One pure function per equation of the crossbar accuracy model (symbols and units in each docstring).

The equations, their public sources (SpikeSim's offset code and digital DIFF, the device values) and the
conventions are in ``docs/crossbar.md``. Arrays are numpy; nothing here draws random numbers
except where a ``rng`` (``np.random.Generator``) is passed in explicitly.
"""

from __future__ import annotations

import numpy as np

from costmodel.workload import Reset


def max_weight_level(bits: int) -> int:
    """Q = 2^(b-1) - 1: largest magnitude of a signed b-bit symmetric integer weight (b=4 -> 7)."""
    return 2 ** (bits - 1) - 1


def quantization_scale(w_abs_max: np.ndarray, bits: int) -> np.ndarray:
    """s = max|W| / Q per output channel [weight units per integer level]; s = 1 where max|W| = 0."""
    q_max = max_weight_level(bits)
    s = np.asarray(w_abs_max, dtype=np.float64) / q_max
    return np.where(s > 0, s, 1.0)


def quantize(w: np.ndarray, scale: np.ndarray, bits: int) -> np.ndarray:
    """q = clip(round(W / s), -Q, Q), rounding half to even; returns int64 integer weights."""
    q_max = max_weight_level(bits)
    return np.clip(np.round(np.asarray(w, dtype=np.float64) / scale), -q_max, q_max).astype(np.int64)


def offset_code(q: np.ndarray, bits: int) -> np.ndarray:
    """SpikeSim's stored code: code = q + 2^(b-1)·[q < 0], in [0, 2^b - 1] (q = -1 -> 2^(b-1) - 1, a high G)."""
    return q + (2 ** (bits - 1)) * (q < 0)


def diff_correction(x: np.ndarray, negative_mask: np.ndarray, bits: int) -> np.ndarray:
    """Digital DIFF term 2^(b-1)·Σ_i x_i·[q_i < 0] for each column: x [..., n_in] @ mask [n_in, n_out].

    Subtracting it from Σ_i x_i·code_i recovers Σ_i x_i·q_i (SpikeSim ``signed_hw_conv_mod``).
    """
    return (2 ** (bits - 1)) * (x @ negative_mask.astype(x.dtype))


def level_to_conductance(level: np.ndarray, g_min_s: float, g_max_s: float, max_level: int) -> np.ndarray:
    """G = G_min + level·ΔG with ΔG = (G_max - G_min)/L [S]; level in [0, L] (L = max_level)."""
    return g_min_s + np.asarray(level, dtype=np.float64) * ((g_max_s - g_min_s) / max_level)


def programming_variation(g: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """G' = max(G·(1 + σ_p·ξ), 0), ξ ~ N(0,1) per cell, drawn once per chip [S]."""
    if sigma == 0.0:
        return g.copy()
    return np.maximum(g * (1.0 + sigma * rng.standard_normal(g.shape)), 0.0)


def column_currents(v: np.ndarray, g_eff: np.ndarray) -> np.ndarray:
    """I_j = Σ_i V_i·G_eff[i, j] [A]; V [..., N] in volts, G_eff [N, M] in siemens (superposition)."""
    return v @ g_eff


def read_noise_std(v: np.ndarray, g: np.ndarray, sigma: float) -> np.ndarray:
    """σ_I,j = σ_r·sqrt(Σ_i (G_ij·V_i)^2) [A]: column-current std of independent per-cell noise G_ij(1+σ_r ξ_ij)."""
    return sigma * np.sqrt((v * v) @ (g * g))


def adc_lsb(full_scale: np.ndarray | float, bits: int) -> np.ndarray | float:
    """LSB = I_fs/(2^B - 1) [A] of an unsigned B-bit ADC with range [0, I_fs]."""
    return full_scale / (2**bits - 1)


def adc_code(current_in_lsb: np.ndarray, bits: int, *, out: np.ndarray | None = None) -> np.ndarray:
    """code = clip(round(I/LSB), 0, 2^B - 1) for a current already divided by the LSB (``out`` may alias input)."""
    code = np.rint(current_in_lsb, out=out)
    return np.clip(code, 0, 2**bits - 1, out=code)


def adc_quantize(current: np.ndarray, full_scale: np.ndarray | float, bits: int) -> np.ndarray:
    """I_q = clip(round(I/I_fs·(2^B - 1)), 0, 2^B - 1)·I_fs/(2^B - 1) [A]: unsigned B-bit ADC, range [0, I_fs]."""
    lsb = adc_lsb(np.asarray(full_scale), bits)
    return adc_code(current / lsb, bits) * lsb


def levels_from_current(
    current: np.ndarray, active_inputs: np.ndarray, g_min_s: float, delta_g_s: float, v_read: float
) -> np.ndarray:
    """Σ_i x_i·level_i = (I - G_min·V_r·Σ_i x_i) / (ΔG·V_r): digital removal of the G_min baseline (popcount)."""
    return (current - (g_min_s * v_read) * active_inputs) / (delta_g_s * v_read)


def batchnorm(
    x: np.ndarray, mean: np.ndarray, var: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float
) -> np.ndarray:
    """y = (x - μ)/sqrt(σ² + ε)·γ + β per channel; channels on the last axis (NHWC or NC)."""
    inv = gamma / np.sqrt(var + eps)
    return x * inv.astype(x.dtype) + (beta - mean * inv).astype(x.dtype)


def lif_step(
    u: np.ndarray, x: np.ndarray, leak: float, threshold: float, reset: Reset
) -> tuple[np.ndarray, np.ndarray]:
    """One LIF update: u' = λ·u + x; s = [u' >= θ]; soft reset u' -= θ·s, hard reset u' = 0 where s.

    Returns (membrane after reset, spikes as 0/1 of u's dtype). λ = 1 is IF.
    """
    u = leak * u + x
    s = (u >= threshold).astype(u.dtype)
    u = u - threshold * s if reset is Reset.SOFT else u * (1 - s)
    return u, s


def softmax(z: np.ndarray) -> np.ndarray:
    """p_k = exp(z_k - max z) / Σ exp(z - max z) along the last axis."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def normalized_entropy(p: np.ndarray) -> np.ndarray:
    """H = -Σ_k p_k ln p_k / ln K in [0, 1] along the last axis (K classes); 0 = certain, 1 = uniform."""
    k = p.shape[-1]
    return -(p * np.log(np.clip(p, 1e-300, None))).sum(axis=-1) / np.log(k)
