"""Crossbar mapping of conv and linear layers and inference through the simulated (non-ideal) crossbars.

Per weight layer (im2col matrix W [n_in, K], rows ordered (kh, kw, c)):

1. **Quantization**: q = clip(round(W/s), -Q, Q) per output channel, Q = 2^(b-1) - 1, s = max|W|/Q.
2. **Encoding** into non-negative cell levels ``ℓ_p`` on one or two *planes* (arrays of crossbars) so that
   q = Σ_p α_p·ℓ_p - 2^(b-1)·[q < 0]·(offset only)  (see :class:`Encoding`). Codes wider than
   ``bits_per_cell`` are bit-sliced over more planes (shift-add weights α_p = 2^(k·bits_per_cell)).
3. **Tiling**: the n_in rows are cut into blocks of ``rows`` (64), the columns of each plane into blocks of
   ``columns`` (64); each (row block, column block, plane) is one physical crossbar. Unused cells of a partly
   filled crossbar are programmed to G_min (they still load the wires); unused rows are driven at 0 V.
4. **Conductance**: G = G_min + ℓ·(G_max - G_min)/L (L = largest level of the plane), then programming
   variation G·(1 + σ_p ξ), drawn once per chip (``seed``).
5. **IR drop**: each crossbar's effective conductance matrix G_eff (exact, :mod:`crossbar.circuit`; rows driven
   at their left end, columns sensed at their bottom end by a virtual ground, inactive rows at 0 V).
6. **Read** (every timestep): row i is driven at V_r·x_i (spikes: 0 or V_r; first layer: the analog pixel times
   V_r, an ideal DAC); I = V·G_eff, plus read noise σ_r·sqrt(Σ_i (G_ij V_i)²)·ξ redrawn per read (G = programmed
   conductance: IR drop is neglected inside the noise term).
7. **ADC** per crossbar column: B bits, unsigned range [0, I_fs]; I_fs = a percentile of the ideal column
   currents of that layer on a calibration batch (set at design time, from the ideal circuit).
8. **Digital**: partial sums of the row blocks are added, the G_min baseline G_min·V_r·Σx is removed with a
   popcount, levels are combined with α_p, the DIFF term is subtracted (offset), and the result is scaled by s.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np

from crossbar import equations as eq
from crossbar.circuit import GeffCache
from crossbar.device import DeviceSpec
from crossbar.snn import SNNModel, SoftwareBackend, forward, weight_matrix


class Encoding(StrEnum):
    """How a signed integer weight q in [-Q, Q] becomes non-negative cell levels.

    OFFSET        SpikeSim's single array: code = q + 2^(b-1)·[q<0] in [0, 2^b - 1] (L = 2^b - 1), with the digital
                  DIFF subtracting 2^(b-1)·Σ_{i: q_i<0} x_i. A small negative weight (q = -1) gets a high code.
    DIFFERENTIAL  balanced (two-sided) pair on two arrays: ℓ± = Q ± q in [0, 2Q] (L = 2Q), q = (ℓ+ - ℓ-)/2; a zero
                  weight puts both cells at mid conductance.
    HRS           the non-ideality-aware encoding: one-sided magnitude pair, ℓ+ = max(q, 0), ℓ- = max(-q, 0) in
                  [0, Q] (L = Q), q = ℓ+ - ℓ-; every cell that does not carry a magnitude stays at G_min and small
                  weights sit near G_min, maximizing high-resistance cells.
    """

    OFFSET = "offset"
    DIFFERENTIAL = "differential"
    HRS = "hrs"


@dataclass(frozen=True, kw_only=True)
class CrossbarSettings:
    """One simulated chip: geometry, device, non-idealities and the seed (all SI units).

    ``adc_bits=None`` is an ideal ADC; zero sigmas / resistances turn that non-ideality off. ``float64`` runs the
    crossbar arithmetic in double precision (tests); default float32.
    """

    encoding: Encoding = Encoding.OFFSET
    rows: int = 64
    columns: int = 64
    weight_bits: int = 4
    bits_per_cell: int = 4
    g_min_s: float = 5e-6
    g_max_s: float = 50e-6
    read_voltage_v: float = 0.1
    r_row_ohm: float = 0.0
    r_col_ohm: float = 0.0
    variation_sigma: float = 0.0
    read_noise_sigma: float = 0.0
    adc_bits: int | None = None
    adc_percentile: float = 99.9
    seed: int = 0
    float64: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.encoding, Encoding):
            raise TypeError(f"encoding: expected an Encoding, got {self.encoding!r}")
        for key in ("r_row_ohm", "r_col_ohm", "variation_sigma", "read_noise_sigma"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key}: expected >= 0, got {getattr(self, key)}")
        if self.adc_bits is not None and self.adc_bits < 1:
            raise ValueError(f"adc_bits: expected >= 1 or None, got {self.adc_bits}")
        if not 0.0 <= self.g_min_s < self.g_max_s:
            raise ValueError(f"g_min_s, g_max_s: expected 0 <= g_min < g_max, got {self.g_min_s}, {self.g_max_s}")

    @classmethod
    def from_device(cls, device: DeviceSpec, **overrides: Any) -> CrossbarSettings:
        """Settings with every device value from the arch spec's ``device:`` block, then ``overrides``."""
        base = cls(
            rows=device.rows,
            columns=device.columns,
            weight_bits=device.weight_bits,
            bits_per_cell=device.bits_per_cell,
            g_min_s=device.g_min_s,
            g_max_s=device.g_max_s,
            read_voltage_v=device.read_voltage_v,
            r_row_ohm=device.r_row_ohm,
            r_col_ohm=device.r_col_ohm,
            variation_sigma=device.variation_sigma,
            read_noise_sigma=device.read_noise_sigma,
            adc_bits=device.adc_bits,
            adc_percentile=device.adc_percentile,
        )
        return replace(base, **overrides)

    def ideal(self) -> CrossbarSettings:
        """The same mapping with every non-ideality off (no wires, variation, read noise; ideal ADC)."""
        return replace(self, r_row_ohm=0.0, r_col_ohm=0.0, variation_sigma=0.0, read_noise_sigma=0.0, adc_bits=None)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["encoding"] = self.encoding.value
        return d

    @property
    def dtype(self) -> type:
        return np.float64 if self.float64 else np.float32


@dataclass(frozen=True, eq=False, kw_only=True)
class EncodedWeights:
    """Integer weights of one layer as cell levels: Σ_p alphas[p]·levels[p] - diff_offset·negative_mask = q."""

    q: np.ndarray  # [n_in, K] int
    scale: np.ndarray  # [K] weight units per integer level
    levels: tuple[np.ndarray, ...]  # per plane [n_in, K], ints in [0, max_level]
    alphas: tuple[float, ...]
    max_level: int
    negative_mask: np.ndarray | None  # [n_in, K] bool, offset encoding only
    diff_offset: int  # 2^(b-1) for offset, else 0


def bit_slices(code: np.ndarray, total_bits: int, bits_per_cell: int) -> list[tuple[np.ndarray, int]]:
    """Split non-negative integer codes into base-2^bits_per_cell digits: code = Σ_k 2^(k·bpc)·digit_k."""
    n = math.ceil(total_bits / bits_per_cell)
    base = 2**bits_per_cell
    return [((code // base**k) % base, base**k) for k in range(n)]


def encode_weights(w: np.ndarray, encoding: Encoding, weight_bits: int, bits_per_cell: int) -> EncodedWeights:
    """Quantize an im2col weight matrix [n_in, K] per output channel and encode it into cell levels."""
    w = np.asarray(w, dtype=np.float64)
    scale = eq.quantization_scale(np.abs(w).max(axis=0), weight_bits)
    q = eq.quantize(w, scale, weight_bits)
    q_max = eq.max_weight_level(weight_bits)
    mask = None
    diff_offset = 0
    if encoding is Encoding.OFFSET:
        planes, bits, top = [(eq.offset_code(q, weight_bits), 1.0)], weight_bits, 2**weight_bits - 1
        mask, diff_offset = q < 0, 2 ** (weight_bits - 1)
    elif encoding is Encoding.DIFFERENTIAL:
        planes, bits, top = [(q_max + q, 0.5), (q_max - q, -0.5)], weight_bits, 2 * q_max
    else:
        planes, bits, top = [(np.maximum(q, 0), 1.0), (np.maximum(-q, 0), -1.0)], weight_bits - 1, q_max
    levels, alphas = [], []
    n_slices = math.ceil(bits / bits_per_cell)
    for code, alpha in planes:
        for digit, weight in bit_slices(code, bits, bits_per_cell):
            levels.append(digit)
            alphas.append(alpha * weight)
    max_level = top if n_slices == 1 else 2**bits_per_cell - 1
    return EncodedWeights(
        q=q,
        scale=scale,
        levels=tuple(levels),
        alphas=tuple(alphas),
        max_level=max_level,
        negative_mask=mask,
        diff_offset=diff_offset,
    )


@dataclass(frozen=True, eq=False, kw_only=True)
class ProgrammedLayer:
    """One weight layer on a chip. Arrays over row blocks: [n_blocks, rows, planes·K] (planes side by side)."""

    encoded: EncodedWeights
    n_in: int
    n_out: int
    n_blocks: int
    g_programmed: np.ndarray  # after programming variation [S]
    g_effective: np.ndarray  # after IR drop [S]
    delta_g_s: float
    adc_full_scale_a: float | None


@dataclass(frozen=True, eq=False, kw_only=True)
class Chip:
    settings: CrossbarSettings
    layers: tuple[ProgrammedLayer, ...]
    n_crossbars: int


def _padded_planes(enc: EncodedWeights, s: CrossbarSettings) -> tuple[np.ndarray, int, int]:
    """Ideal conductances of all planes, padded to whole crossbars with G_min: [planes, n_rb·R, n_cb·C]."""
    n_in, k = enc.q.shape
    n_rb, n_cb = math.ceil(n_in / s.rows), math.ceil(k / s.columns)
    out = np.full((len(enc.levels), n_rb * s.rows, n_cb * s.columns), s.g_min_s)
    for p, lev in enumerate(enc.levels):
        out[p, :n_in, :k] = eq.level_to_conductance(lev, s.g_min_s, s.g_max_s, enc.max_level)
    return out, n_rb, n_cb


def _to_tiles(g: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """[P, n_rb·R, n_cb·C] -> [P, n_rb, n_cb, R, C]."""
    p, nr, nc = g.shape
    return g.reshape(p, nr // rows, rows, nc // cols, cols).transpose(0, 1, 3, 2, 4)


def _from_tiles(t: np.ndarray, k: int) -> np.ndarray:
    """[P, n_rb, n_cb, R, C] -> [n_rb, R, P·K] keeping the K used columns of each plane."""
    p, n_rb, n_cb, r, c = t.shape
    full = t.transpose(1, 3, 0, 2, 4).reshape(n_rb, r, p, n_cb * c)[..., :k]
    return np.ascontiguousarray(full.reshape(n_rb, r, p * k))


def _programmed_tiles(model: SNNModel, settings: CrossbarSettings) -> tuple[list, list[np.ndarray]]:
    """Encode, tile and vary (seeded) every weight layer: per layer (encoded, tiles, row blocks), and all tiles."""
    rng = np.random.default_rng(settings.seed)
    staged = []
    all_tiles: list[np.ndarray] = []
    for layer in model.weight_layers():
        enc = encode_weights(weight_matrix(layer), settings.encoding, settings.weight_bits, settings.bits_per_cell)
        g, n_rb, _ = _padded_planes(enc, settings)
        g = eq.programming_variation(g, settings.variation_sigma, rng)
        tiles = _to_tiles(g, settings.rows, settings.columns)
        staged.append((enc, tiles, n_rb))
        all_tiles.extend(tiles.reshape(-1, settings.rows, settings.columns))
    return staged, all_tiles


def prefetch_effective(model: SNNModel, chips: list[CrossbarSettings], cache: GeffCache) -> None:
    """Solve the effective conductances of several chips in one batched call (all crossbars share the cache's
    thread pool); the later :func:`program_chip` calls then find them in ``cache``."""
    by_wires: dict[tuple[float, float], list[np.ndarray]] = {}
    for s in chips:
        if s.r_row_ohm == 0 and s.r_col_ohm == 0:
            continue
        by_wires.setdefault((s.r_row_ohm, s.r_col_ohm), []).extend(_programmed_tiles(model, s)[1])
    for (r_row, r_col), tiles in by_wires.items():
        cache.get_many(tiles, r_row, r_col)


def program_chip(
    model: SNNModel, settings: CrossbarSettings, cache: GeffCache, adc_full_scales: tuple[float, ...] | None = None
) -> Chip:
    """Program every conv/linear layer of ``model`` onto crossbars: encode, tile, vary (seeded), compute G_eff.

    ``adc_full_scales`` (one per weight layer, amperes) come from :func:`calibrate_adc`; required if
    ``settings.adc_bits`` is set. All crossbars of the chip are solved in one batched, cached call.
    """
    if settings.adc_bits is not None and adc_full_scales is None:
        raise ValueError("adc_full_scales: required when settings.adc_bits is set (see calibrate_adc)")
    staged, all_tiles = _programmed_tiles(model, settings)
    if settings.r_row_ohm == 0 and settings.r_col_ohm == 0:
        effs = all_tiles
    else:
        effs = cache.get_many(all_tiles, settings.r_row_ohm, settings.r_col_ohm)
    layers = []
    pos = 0
    for li, (enc, tiles, n_rb) in enumerate(staged):
        count = tiles[..., 0, 0].size
        eff = np.stack(effs[pos : pos + count]).reshape(tiles.shape)
        pos += count
        n_in, k = enc.q.shape
        layers.append(
            ProgrammedLayer(
                encoded=enc,
                n_in=n_in,
                n_out=k,
                n_blocks=n_rb,
                g_programmed=_from_tiles(tiles, k),
                g_effective=_from_tiles(eff, k),
                delta_g_s=(settings.g_max_s - settings.g_min_s) / enc.max_level,
                adc_full_scale_a=None if adc_full_scales is None else adc_full_scales[li],
            )
        )
    return Chip(settings=settings, layers=tuple(layers), n_crossbars=len(all_tiles))


def gaussian(rng: np.random.Generator, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """Standard normal samples of ``dtype`` (numpy's ziggurat sampler, which draws float32 directly: about twice as
    fast as float64 draws plus a cast, and read noise needs millions of samples per layer)."""
    return rng.standard_normal(shape, dtype=dtype)


def _full_scale(lay: ProgrammedLayer) -> float:
    if lay.adc_full_scale_a is None:
        raise ValueError("adc_full_scales: required when settings.adc_bits is set (see calibrate_adc)")
    return lay.adc_full_scale_a


class CrossbarBackend:
    """Runs conv/linear matmuls through a programmed :class:`Chip` (see the module docstring, steps 6-8).

    The rows of each call with at least ``THREAD_MIN_OUTPUTS`` column reads are cut into ``CHUNKS`` fixed pieces,
    each with its own read-noise generator seeded by (settings.seed, 1, piece) and consumed in call order, so
    results do not depend on ``threads`` (pieces run in a thread pool of that size; numpy releases the GIL in
    matmuls, ufuncs and random draws); smaller calls are one piece drawn from the first generator.
    """

    CHUNKS = 2
    THREAD_MIN_OUTPUTS = 1 << 16  # crossbar column reads per call below which threads cost more than they save

    def __init__(self, chip: Chip, *, threads: int = 1) -> None:
        s = chip.settings
        self.chip = chip
        self.dtype = s.dtype
        self.rngs = [np.random.default_rng([s.seed, 1, c]) for c in range(self.CHUNKS)]
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._geff_v: list[np.ndarray] = [
            (lay.g_effective * s.read_voltage_v).astype(self.dtype) for lay in chip.layers
        ]
        if s.adc_bits is not None:
            # ADC path: currents are computed directly in LSB units (I/LSB), read-noise variance in LSB² with σ_r².
            self._lsb = [eq.adc_lsb(_full_scale(lay), s.adc_bits) for lay in chip.layers]
            self._geff_lsb: list[np.ndarray] = [
                (lay.g_effective * (s.read_voltage_v / lsb)).astype(self.dtype)
                for lay, lsb in zip(chip.layers, self._lsb, strict=True)
            ]
            self._var_lsb: list[np.ndarray] = [
                ((lay.g_programmed * (s.read_voltage_v * s.read_noise_sigma / lsb)) ** 2).astype(self.dtype)
                for lay, lsb in zip(chip.layers, self._lsb, strict=True)
            ]
        self._neg: list[np.ndarray | None] = [
            None if lay.encoded.negative_mask is None else lay.encoded.negative_mask.astype(self.dtype)
            for lay in chip.layers
        ]
        self._folded = [self._fold(lay) for lay in chip.layers] if s.adc_bits is None else []

    def _fold(self, lay: ProgrammedLayer) -> tuple[np.ndarray, np.ndarray | None]:
        """Without an ADC every step after the read is linear, so the whole layer folds into one matrix:
        out = x @ [Σ_p α_p (G_eff,p - G_min)/ΔG - 2^(b-1)·mask]·s, and the read noise (independent per plane)
        into one variance matrix x² @ [σ_r² Σ_p α_p² G_p²/ΔG²]·s². Same result as the tile-by-tile path."""
        s = self.chip.settings
        enc, k = lay.encoded, lay.n_out
        flat = lay.g_effective.reshape(-1, lay.g_effective.shape[-1])[: lay.n_in]
        prog = lay.g_programmed.reshape(-1, lay.g_programmed.shape[-1])[: lay.n_in]
        w = np.zeros((lay.n_in, k))
        var = np.zeros((lay.n_in, k))
        for p, alpha in enumerate(enc.alphas):
            w += alpha * (flat[:, p * k : (p + 1) * k] - s.g_min_s) / lay.delta_g_s
            var += alpha**2 * (prog[:, p * k : (p + 1) * k] / lay.delta_g_s) ** 2
        if enc.negative_mask is not None:
            w -= enc.diff_offset * enc.negative_mask
        noise = (s.read_noise_sigma**2 * var * enc.scale**2).astype(self.dtype) if s.read_noise_sigma > 0 else None
        return (w * enc.scale).astype(self.dtype), noise

    def _blocks(self, lay: ProgrammedLayer, cols: np.ndarray) -> np.ndarray:
        """Inputs split by row block: [rows, n_in] -> [n_blocks, rows, R] (unused rows at 0 V)."""
        s = self.chip.settings
        if lay.n_in == lay.n_blocks * s.rows:  # whole blocks: a strided view, no copy
            return cols.reshape(cols.shape[0], lay.n_blocks, s.rows).transpose(1, 0, 2)
        x: np.ndarray = np.zeros((lay.n_blocks, cols.shape[0], s.rows), dtype=self.dtype)
        for b in range(lay.n_blocks):
            part = cols[:, b * s.rows : (b + 1) * s.rows]
            x[b, :, : part.shape[1]] = part
        return x

    def tile_currents(self, index: int, cols: np.ndarray) -> np.ndarray:
        """Column currents [A] of every crossbar before the ADC and without read noise: [n_blocks, rows, P·K]."""
        return self._blocks(self.chip.layers[index], np.asarray(cols, dtype=self.dtype)) @ self._geff_v[index]

    def matmul(self, index: int, cols: np.ndarray, t: int) -> np.ndarray:
        cols = np.asarray(cols, dtype=self.dtype)
        n = cols.shape[0]
        width = self.chip.layers[index].n_blocks * self.chip.layers[index].g_effective.shape[-1]
        if n * width < self.THREAD_MIN_OUTPUTS:  # small calls: one piece (its own generator), never threaded
            return self._matmul_rows(index, cols, self.rngs[0])
        cuts = [n * c // self.CHUNKS for c in range(self.CHUNKS + 1)]
        parts = [(index, cols[cuts[c] : cuts[c + 1]], self.rngs[c]) for c in range(self.CHUNKS)]
        if self.threads > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.threads)
            outs = list(self._pool.map(lambda a: self._matmul_rows(*a), parts))
        else:
            outs = [self._matmul_rows(*a) for a in parts]
        return np.concatenate(outs)

    def _matmul_rows(self, index: int, cols: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        s = self.chip.settings
        lay = self.chip.layers[index]
        enc = lay.encoded
        if s.adc_bits is None:
            w, noise_var = self._folded[index]
            out = cols @ w
            if noise_var is not None:
                out += np.sqrt((cols * cols) @ noise_var) * gaussian(rng, out.shape, self.dtype)
            return out
        xb = self._blocks(lay, cols)
        current = xb @ self._geff_lsb[index]  # I/LSB per crossbar column  [n_blocks, rows, P·K]
        if s.read_noise_sigma > 0:
            std = np.sqrt((xb * xb) @ self._var_lsb[index])
            std *= gaussian(rng, current.shape, self.dtype)
            current += std
        eq.adc_code(current, s.adc_bits, out=current)
        current = current.sum(axis=0) * self.dtype(self._lsb[index])  # digital sum of the row blocks [A]
        active = cols.sum(axis=1, keepdims=True)
        levels = eq.levels_from_current(current, active, s.g_min_s, lay.delta_g_s, s.read_voltage_v)
        k = lay.n_out
        out = enc.alphas[0] * levels[:, :k]
        for p in range(1, len(enc.alphas)):
            out += enc.alphas[p] * levels[:, p * k : (p + 1) * k]
        neg = self._neg[index]
        if neg is not None:
            out -= eq.diff_correction(cols, neg, s.weight_bits)
        return out * enc.scale.astype(self.dtype)


class _Recorder:
    """A software backend that also keeps the crossbar inputs of each weight layer (for ADC calibration)."""

    def __init__(self, model: SNNModel, bits: int, dtype: type) -> None:
        self.inner = SoftwareBackend(model, bits=bits, dtype=dtype)
        self.inputs: dict[int, list[np.ndarray]] = {}

    def matmul(self, index: int, cols: np.ndarray, t: int) -> np.ndarray:
        self.inputs.setdefault(index, []).append(cols)
        return self.inner.matmul(index, cols, t)


def calibrate_adc(
    model: SNNModel, settings: CrossbarSettings, images: np.ndarray, max_samples: int = 2_000_000
) -> tuple[float, ...]:
    """ADC full scale I_fs [A] per weight layer: ``settings.adc_percentile`` of the ideal column currents.

    The inputs are the software (quantized) network's on ``images``; the currents are those of the ideal crossbars
    (no variation, no wires) under ``settings.encoding``. At most ``max_samples`` currents per layer are used
    (a seeded subsample).
    """
    rec = _Recorder(model, settings.weight_bits, np.float32)
    forward(model, images, rec)
    ideal = program_chip(model, replace(settings.ideal(), float64=True), GeffCache())
    backend = CrossbarBackend(ideal)
    rng = np.random.default_rng(settings.seed)
    scales = []
    for index in range(len(ideal.layers)):
        cols = np.concatenate(rec.inputs[index])
        if cols.shape[0] * ideal.layers[index].n_blocks * ideal.layers[index].g_effective.shape[-1] > max_samples:
            per_row = ideal.layers[index].n_blocks * ideal.layers[index].g_effective.shape[-1]
            cols = cols[rng.choice(cols.shape[0], size=max(1, max_samples // per_row), replace=False)]
        cur = backend.tile_currents(index, cols)
        scales.append(float(np.percentile(cur, settings.adc_percentile)))
    return tuple(scales)
