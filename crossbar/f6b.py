"""The Fig. 6(b) study on a network that fills its crossbars, and the measured reason for the size of the effect.

The paper's claims (VGG16, 4-bit weights, Tiny-ImageNet on 64x64 RRAM crossbars): the non-ideality-aware weight
encoding (more high-resistance cells) raises the non-ideal accuracy by tens of points, and BN adaptation leaves a
loss of about a point against software (the numbers are in :mod:`spikeloop.experiments.accuracy`).
:func:`f6b_study` measures the same two quantities on the shipped filled network (``crossbar/data/digits_mlp.npz``,
MLP 64-128-128-10) over several chips, sweeping the wire resistance to 10 ohm, and measures why a network's size
matters: how many cells of each crossbar a layer uses (:func:`cell_fill`) and what fraction of the ideal column
current the programmed crossbars keep through their wires (:func:`current_ratio`), on the filled network and on the
small digits CNN. Nothing here knows the paper's numbers.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from crossbar import equations as eq
from crossbar.circuit import GeffCache
from crossbar.experiments import Experiment, accuracy_sweep, default_settings
from crossbar.mapping import CrossbarSettings, Encoding, program_chip
from crossbar.model_io import FILLED_MODEL, REFERENCE_MODEL, load_model
from crossbar.snn import SNNModel, weight_matrix
from crossbar.stats import Interval, t_interval

F6B_WIRE_OHMS: tuple[float, ...] = (0.0, 5.0, 10.0)
F6B_CHIPS = 3
RATIO_WIRE_OHMS: tuple[float, ...] = (5.0, 10.0)
FULL_ARRAY_SEED = 0


@dataclass(frozen=True, kw_only=True)
class LayerFill:
    """Used rows and columns of every crossbar of one layer (one plane; every plane of an encoding is the same)."""

    name: str
    used: tuple[tuple[int, int], ...]  # (rows, columns) per crossbar

    def text(self) -> str:
        """``conv2 2x(64x32) + 1x(16x32)``: crossbars grouped by their used rows x columns."""
        groups = Counter(self.used)
        return f"{self.name} " + " + ".join(f"{n}x({r}x{c})" for (r, c), n in sorted(groups.items(), reverse=True))


@dataclass(frozen=True, kw_only=True)
class CellFill:
    """How much of its crossbars a network uses: cells holding a weight over all cells of its crossbars."""

    layers: tuple[LayerFill, ...]
    rows: int
    columns: int

    @property
    def crossbars(self) -> int:
        return sum(len(layer.used) for layer in self.layers)

    @property
    def used_cells(self) -> int:
        return sum(r * c for layer in self.layers for r, c in layer.used)

    @property
    def fraction(self) -> float:
        return self.used_cells / (self.crossbars * self.rows * self.columns)

    def text(self) -> str:
        return "; ".join(layer.text() for layer in self.layers)

    def as_dict(self) -> dict:
        return {
            "fraction": self.fraction,
            "crossbars_per_plane": self.crossbars,
            "used_cells": self.used_cells,
            "layers": {layer.name: [list(u) for u in layer.used] for layer in self.layers},
        }


def cell_fill(model: SNNModel, rows: int, columns: int) -> CellFill:
    """Used rows x columns of each ``rows`` x ``columns`` crossbar of every conv/linear layer (im2col matrix cut
    into row and column blocks, as :func:`crossbar.mapping.program_chip` does)."""
    out = []
    for layer in model.weight_layers():
        n_in, k = weight_matrix(layer).shape
        used = tuple(
            (min(rows, n_in - rb * rows), min(columns, k - cb * columns))
            for rb in range(math.ceil(n_in / rows))
            for cb in range(math.ceil(k / columns))
        )
        out.append(LayerFill(name=layer.name, used=used))
    return CellFill(layers=tuple(out), rows=rows, columns=columns)


@dataclass(frozen=True, kw_only=True)
class CurrentRatio:
    """Fraction of the ideal column current each crossbar keeps at ``wire_ohm``: Σ G_eff / Σ G over its used cells
    (every used row driven at V_r, unused rows at 0 V), i.e. the current its used columns deliver over the current
    they would deliver without wire resistance."""

    wire_ohm: float
    per_crossbar: tuple[float, ...]

    @property
    def low(self) -> float:
        return min(self.per_crossbar)

    @property
    def high(self) -> float:
        return max(self.per_crossbar)

    @property
    def mean(self) -> float:
        return float(np.mean(self.per_crossbar))

    def as_dict(self) -> dict:
        return {
            "wire_ohm": self.wire_ohm,
            "mean": self.mean,
            "min": self.low,
            "max": self.high,
            "per_crossbar": list(self.per_crossbar),
        }


def kept_current_fraction(g_effective: np.ndarray, g_programmed: np.ndarray) -> float:
    """ρ = Σ_ij G_eff,ij / Σ_ij G_ij over the used cells of one crossbar: the column current kept with all used rows
    at V_r (I = V·G_eff, so V_r cancels) relative to the ideal current V_r·Σ G; 1 for a crossbar with no
    conductance at all (G_min = 0 and every weight zero: nothing to lose)."""
    ideal = float(np.sum(g_programmed))
    return float(np.sum(g_effective)) / ideal if ideal > 0 else 1.0


def current_ratio(model: SNNModel, settings: CrossbarSettings, cache: GeffCache) -> CurrentRatio:
    """:class:`CurrentRatio` of every crossbar of ``model`` programmed with ``settings`` (its encoding, seed and
    variation; the ADC plays no part). Each plane's crossbars count separately."""
    chip = program_chip(model, replace(settings, adc_bits=None), cache)
    s = chip.settings
    ratios = []
    for lay in chip.layers:
        k = lay.n_out
        planes = lay.g_effective.shape[-1] // k
        for b in range(lay.n_blocks):
            rows_used = min(s.rows, lay.n_in - b * s.rows)
            for p in range(planes):
                for c0 in range(0, k, s.columns):
                    cols = slice(p * k + c0, p * k + min(c0 + s.columns, k))
                    ratios.append(
                        kept_current_fraction(
                            lay.g_effective[b, :rows_used, cols], lay.g_programmed[b, :rows_used, cols]
                        )
                    )
    return CurrentRatio(wire_ohm=s.r_row_ohm, per_crossbar=tuple(ratios))


def full_array_ratio(settings: CrossbarSettings, cache: GeffCache, seed: int = FULL_ARRAY_SEED) -> float:
    """Current kept by one completely filled crossbar of uniformly random offset codes (0..2^b - 1) at the wire
    resistance of ``settings``: the reference for a layer that uses every cell."""
    rng = np.random.default_rng(seed)
    top = 2**settings.weight_bits - 1
    g = eq.level_to_conductance(
        rng.integers(0, top + 1, (settings.rows, settings.columns)), settings.g_min_s, settings.g_max_s, top
    )
    (g_eff,) = cache.get_many([g], settings.r_row_ohm, settings.r_col_ohm)
    return kept_current_fraction(g_eff, g)


@dataclass(frozen=True, kw_only=True)
class Measurement:
    """One measured quantity for the report: ``value`` in ``unit`` (mean over chips when ``interval`` is given),
    and a note computed from the numbers it states."""

    id: str
    value: float
    unit: str
    note: str
    interval: Interval | None = None


@dataclass(frozen=True, kw_only=True)
class F6bStudy:
    """The sweep on the filled network, the cell fill and current ratios of both networks, and the measurements."""

    sweep: dict
    fill: dict[str, CellFill]
    ratios: dict[str, tuple[CurrentRatio, ...]]
    full_array: dict[float, float]
    measurements: tuple[Measurement, ...]
    seconds: float

    def measurement(self, key: str) -> Measurement:
        for m in self.measurements:
            if m.id == key:
                return m
        raise KeyError(f"no measurement {key!r}; measured: {', '.join(m.id for m in self.measurements)}")


def _per_chip(sweep: dict, encoding: str, wire: float, key: str = "accuracy") -> list[float]:
    for row in sweep["rows"]:
        if row["encoding"] == encoding and row["wire_ohm"] == wire:
            return list(row["per_chip"][key])
    raise KeyError(f"sweep has no row for {encoding} at {wire:g} ohm")


def _ci(iv: Interval, unit: str = " points") -> str:
    """``12.50 points (95 % interval 10.10 to 14.90)`` or just the value for one chip."""
    if iv.low is None or iv.high is None:
        return f"{iv.mean:.2f}{unit} (one chip, no interval)"
    return f"{iv.mean:.2f}{unit} (95 % interval {iv.low:.2f} to {iv.high:.2f})"


def f6b_study(
    *,
    chips: int = F6B_CHIPS,
    wire_ohms: Sequence[float] = F6B_WIRE_OHMS,
    ratio_wire_ohms: Sequence[float] = RATIO_WIRE_OHMS,
    base: CrossbarSettings | None = None,
    model: SNNModel | None = None,
    reference: SNNModel | None = None,
    cache: GeffCache | None = None,
    threads: int = 2,
    progress: Callable[[str], None] | None = None,
) -> F6bStudy:
    """Accuracy sweep of the filled network (every encoding, ± BN adaptation, ``chips`` chips), encoding gain at each
    of ``ratio_wire_ohms`` with paired intervals, BN residual loss at the largest wire resistance, and the cell fill
    and kept current of the filled and the reference (digits CNN) networks. ``ratio_wire_ohms`` must be swept."""
    t0 = time.perf_counter()
    missing = [w for w in ratio_wire_ohms if w not in wire_ohms]
    if missing:
        raise ValueError(f"ratio_wire_ohms: {missing} not among the swept wire resistances {list(wire_ohms)}")
    base = default_settings() if base is None else base
    cache = GeffCache(threads=threads) if cache is None else cache
    filled = load_model(FILLED_MODEL) if model is None else model
    small = load_model(REFERENCE_MODEL) if reference is None else reference
    exp = Experiment(filled, cache=cache, threads=threads)
    sweep = accuracy_sweep(base, wire_ohms=tuple(wire_ohms), experiment=exp, progress=progress, chips=chips)
    sw = sweep["software_accuracy"]
    nets = {"filled": filled, "digits-cnn": small}
    fill = {name: cell_fill(m, base.rows, base.columns) for name, m in nets.items()}
    ratio_base = replace(base, encoding=Encoding.OFFSET)
    ratios = {
        name: tuple(current_ratio(m, replace(ratio_base, r_row_ohm=w, r_col_ohm=w), cache) for w in ratio_wire_ohms)
        for name, m in nets.items()
    }
    full = {w: full_array_ratio(replace(ratio_base, r_row_ohm=w, r_col_ohm=w), cache) for w in ratio_wire_ohms}

    worst = max(wire_ohms)
    meas = [
        Measurement(
            id="f6b-accuracy-software",
            value=100 * sw,
            unit="%",
            note=f"filled digits MLP 64-128-128-10 (T={filled.timesteps}, {base.weight_bits}-bit weights) "
            f"in software, {len(exp.split.y_test)}-image test split",
        )
    ]
    for w in sorted(ratio_wire_ohms, reverse=True):
        off, hrs = _per_chip(sweep, "offset", w), _per_chip(sweep, "hrs", w)
        gain = t_interval([100 * (h - o) for h, o in zip(hrs, off, strict=True)])
        key = "f6b-enc" if w == worst else f"f6b-enc-{w:g}ohm"
        meas.append(
            Measurement(
                id=key,
                value=gain.mean,
                unit="% points",
                interval=gain,
                note=f"hrs (one-sided differential pair, HRS-favouring) minus offset (SpikeSim) accuracy at {w:g} "
                f"ohm per wire segment on the filled MLP: {_ci(gain)} over {chips} chips, paired by seed "
                f"(hrs {t_interval(hrs).text()} %, offset {t_interval(off).text()} %)",
            )
        )
    off, off_bn = _per_chip(sweep, "offset", worst), _per_chip(sweep, "offset", worst, "accuracy_bn_adapted")
    hrs_bn = _per_chip(sweep, "hrs", worst, "accuracy_bn_adapted")
    before = t_interval([100 * (sw - a) for a in off])
    after = t_interval([100 * (sw - a) for a in off_bn])
    after_hrs = t_interval([100 * (sw - a) for a in hrs_bn])
    recovered = 100 * (1 - after.mean / before.mean) if before.mean > 0 else 0.0
    meas.append(
        Measurement(
            id="f6b-bn",
            value=after.mean,
            unit="% points",
            interval=after,
            note=f"loss vs software after BN adaptation, offset encoding at {worst:g} ohm: {_ci(after)}; before "
            f"adaptation {before.mean:.2f} points, so adaptation recovers {recovered:.0f} % of the loss; hrs + BN "
            f"adaptation: {after_hrs.mean:.2f} points",
        )
    )
    ff, fs = fill["filled"], fill["digits-cnn"]
    meas.append(
        Measurement(
            id="f6b-cell-fill",
            value=100 * ff.fraction,
            unit="%",
            note=f"cells holding a weight over all cells of the layers' {base.rows}x{base.columns} crossbars (used "
            f"rows x columns per crossbar): filled MLP {100 * ff.fraction:.1f} % ({ff.text()}); digits CNN "
            f"{100 * fs.fraction:.1f} % ({fs.text()})",
        )
    )
    for i, w in enumerate(ratio_wire_ohms):
        rf, rs = ratios["filled"][i], ratios["digits-cnn"][i]
        meas.append(
            Measurement(
                id=f"f6b-current-ratio-{w:g}ohm",
                value=rf.mean,
                unit="fraction",
                note=f"ideal column current kept through the wires at {w:g} ohm (offset chip, seed {base.seed}, every "
                f"used row driven): filled MLP {rf.low:.2f}-{rf.high:.2f} (mean {rf.mean:.2f}, {len(rf.per_crossbar)} "
                f"crossbars); digits CNN {rs.low:.2f}-{rs.high:.2f} (mean {rs.mean:.2f}); one full "
                f"{base.rows}x{base.columns} array of random codes {full[w]:.2f}",
            )
        )
    dt = _dt_measurement(sweep)
    if dt is not None:
        meas.append(dt)
    return F6bStudy(
        sweep=sweep,
        fill=fill,
        ratios=ratios,
        full_array=full,
        measurements=tuple(meas),
        seconds=time.perf_counter() - t0,
    )


def _dt_measurement(sweep: dict) -> Measurement | None:
    """The DT-SNN operating point: the loosest entropy threshold whose mean accuracy over chips keeps the full-T
    mean accuracy; its mean timesteps with the interval over chips."""
    dt = [r for r in sweep["dt_rows"] if r["threshold"] is not None]
    full = next((r for r in sweep["dt_rows"] if r["threshold"] is None), None)
    if not dt or full is None:
        return None
    ok = [r for r in dt if r["crossbar"]["accuracy"] >= full["crossbar"]["accuracy"] - 1e-12]
    if not ok:
        return None
    best = min(ok, key=lambda r: r["crossbar"]["mean_timesteps"])
    xb = best["crossbar"]
    ti = xb["mean_timesteps_interval"]
    iv = Interval(mean=xb["mean_timesteps"], low=ti["low"], high=ti["high"], n=ti["chips"])
    s = sweep["dt_settings"]
    return Measurement(
        id="dt-snn-mean-timesteps",
        value=xb["mean_timesteps"],
        unit="timesteps",
        interval=iv,
        note=f"DT-SNN on the filled MLP's crossbar chips ({s['encoding']}, {s['wire_ohm']:g} ohm, BN adapted): entropy "
        f"threshold {best['threshold']:g} keeps the full-T mean accuracy {100 * full['crossbar']['accuracy']:.2f} % "
        f"at {_ci(iv, ' timesteps')}",
    )
