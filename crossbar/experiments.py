"""Accuracy experiments on the shipped digits SNN: one configuration, the mitigations, and the sweep.

* :func:`run_accuracy` — software (quantized) vs crossbar accuracy for one :class:`CrossbarSettings`, optionally
  with BN adaptation and DT-SNN early exit.
* :func:`adapt_batchnorm` — mitigation 2: weights frozen, BN running statistics re-estimated by forwarding
  training batches through the crossbar model (cumulative averaging).
* :func:`dt_snn` / :func:`exit_timestep_distribution` — mitigation 3: exit at the first timestep whose output
  entropy is below a threshold; the distribution of exit timesteps is what the cost model needs.
* :func:`accuracy_sweep` — accuracy vs wire resistance for each encoding, with and without BN adaptation, and
  DT-SNN accuracy vs average timesteps; :func:`sweep_markdown` renders it.

Evaluation is on the fixed test split; calibration (ADC full scale) uses the first training images; BN adaptation
uses the first ``adapt_images`` training images. All chips are seeded; effective conductances are cached.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from crossbar import equations as eq
from crossbar.circuit import GeffCache
from crossbar.data import Split, digits_split
from crossbar.device import load_device
from crossbar.mapping import CrossbarBackend, CrossbarSettings, Encoding, calibrate_adc, program_chip
from crossbar.model_io import load_model
from crossbar.snn import BNStatistics, MatmulBackend, SNNModel, SoftwareBackend, forward, with_batchnorms

SWEEP_WIRE_OHMS: tuple[float, ...] = (0.0, 1.0, 2.5, 5.0)
SWEEP_DT_THRESHOLDS: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
CALIBRATION_IMAGES = 128


@dataclass(frozen=True, kw_only=True)
class ExitDistribution:
    """DT-SNN outcome: accuracy at exit, mean exit timestep, and fraction of inputs exiting at each t (1-based)."""

    threshold: float
    accuracy: float
    mean_timesteps: float
    fractions: dict[int, float]

    def as_dict(self) -> dict:
        return {"threshold": self.threshold, "accuracy": self.accuracy, "mean_timesteps": self.mean_timesteps,
                "distribution": {str(t): f for t, f in self.fractions.items()}}


@dataclass(frozen=True, kw_only=True)
class AccuracyResult:
    software_accuracy: float
    crossbar_accuracy: float
    settings: CrossbarSettings
    bn_adapted: bool
    n_crossbars: int
    dt: ExitDistribution | None
    seconds: float

    def as_dict(self) -> dict:
        return {"software_accuracy": self.software_accuracy, "crossbar_accuracy": self.crossbar_accuracy,
                "settings": {**self.settings.as_dict(), "bn_adapt": self.bn_adapted},
                "n_crossbars": self.n_crossbars, "dt_snn": None if self.dt is None else self.dt.as_dict(),
                "seconds": round(self.seconds, 3)}


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of inputs whose output averaged over all T steps has its argmax at the label."""
    return float((outputs.mean(axis=0).argmax(axis=-1) == labels).mean())


def dt_snn(outputs: np.ndarray, labels: np.ndarray, threshold: float) -> ExitDistribution:
    """Dynamic-timestep SNN on per-step outputs [T, N, K]: exit at the first t with H(softmax(mean_{<=t})) < threshold.

    H is the normalized entropy in [0, 1] (:func:`crossbar.equations.normalized_entropy`); inputs that never get
    below the threshold exit at T. The network is causal, so running all T steps and choosing afterwards gives the
    same predictions as stopping early.
    """
    steps = outputs.shape[0]
    cum = np.cumsum(outputs.astype(np.float64), axis=0) / np.arange(1, steps + 1).reshape(-1, 1, 1)
    h = eq.normalized_entropy(eq.softmax(cum))  # [T, N]
    confident = h < threshold
    confident[-1] = True
    exit_idx = confident.argmax(axis=0)  # first True
    pred = cum[exit_idx, np.arange(outputs.shape[1])].argmax(axis=-1)
    counts = np.bincount(exit_idx, minlength=steps) / outputs.shape[1]
    return ExitDistribution(threshold=threshold, accuracy=float((pred == labels).mean()),
                            mean_timesteps=float((exit_idx + 1).mean()),
                            fractions={t + 1: float(counts[t]) for t in range(steps)})


def adapt_batchnorm(model: SNNModel, backend: MatmulBackend, images: np.ndarray, batch_size: int = 64,
                    dtype: type = np.float32) -> SNNModel:
    """BN adaptation: forward ``images`` in batches through ``backend`` with BN in training mode and return the
    model with BN running mean/var replaced by their cumulative averages (weights and γ, β unchanged)."""
    stats = BNStatistics()
    for k in range(0, len(images), batch_size):
        forward(model, images[k : k + batch_size], backend, dtype=dtype, bn_stats=stats)
    return with_batchnorms(model, {bn.name: stats.adapted(bn) for bn in model.batchnorms()})


class Experiment:
    """The model, data split, G_eff cache and ADC calibrations shared by a series of runs."""

    def __init__(self, model: SNNModel | None = None, split: Split | None = None, cache: GeffCache | None = None,
                 *, threads: int = 1, adapt_images: int = 512) -> None:
        self.model = load_model() if model is None else model
        self.split = digits_split() if split is None else split
        self.cache = GeffCache() if cache is None else cache
        self.threads = threads
        self.adapt_images = adapt_images
        self._calibrations: dict[CrossbarSettings, tuple[float, ...]] = {}
        self._software: dict[int, np.ndarray] = {}

    def software_outputs(self, bits: int) -> np.ndarray:
        if bits not in self._software:
            self._software[bits] = forward(self.model, self.split.x_test, SoftwareBackend(self.model, bits=bits))
        return self._software[bits]

    def calibration(self, settings: CrossbarSettings) -> tuple[float, ...] | None:
        if settings.adc_bits is None:
            return None
        key = replace(settings.ideal(), seed=0, float64=False, adc_percentile=settings.adc_percentile)
        if key not in self._calibrations:
            self._calibrations[key] = calibrate_adc(self.model, key, self.split.x_train[:CALIBRATION_IMAGES])
        return self._calibrations[key]

    def crossbar_outputs(self, settings: CrossbarSettings, *, bn_adapt: bool) -> tuple[np.ndarray, int]:
        """Per-step outputs on the test split through one seeded chip; returns (outputs, crossbar count)."""
        chip = program_chip(self.model, settings, self.cache, self.calibration(settings))
        model = self.model
        if bn_adapt:
            model = adapt_batchnorm(model, CrossbarBackend(chip, threads=self.threads),
                                    self.split.x_train[: self.adapt_images], dtype=settings.dtype)
        out = forward(model, self.split.x_test, CrossbarBackend(chip, threads=self.threads), dtype=settings.dtype)
        return out, chip.n_crossbars


def default_settings(**overrides: object) -> CrossbarSettings:
    """Settings from ``archspecs/spikeflow.yaml`` ``device:`` with ``overrides``."""
    return CrossbarSettings.from_device(load_device(), **overrides)


def run_accuracy(settings: CrossbarSettings | None = None, *, bn_adapt: bool = False,
                 dt_threshold: float | None = None, experiment: Experiment | None = None) -> AccuracyResult:
    """Software (quantized) and crossbar accuracy of the shipped digits SNN on the test split for one chip."""
    t0 = time.perf_counter()
    exp = Experiment() if experiment is None else experiment
    settings = default_settings() if settings is None else settings
    sw = accuracy(exp.software_outputs(settings.weight_bits), exp.split.y_test)
    out, n_xbar = exp.crossbar_outputs(settings, bn_adapt=bn_adapt)
    dt = None if dt_threshold is None else dt_snn(out, exp.split.y_test, dt_threshold)
    return AccuracyResult(software_accuracy=sw, crossbar_accuracy=accuracy(out, exp.split.y_test), settings=settings,
                          bn_adapted=bn_adapt, n_crossbars=n_xbar, dt=dt, seconds=time.perf_counter() - t0)


def exit_timestep_distribution(threshold: float, settings: CrossbarSettings | None = None, *, bn_adapt: bool = True,
                               experiment: Experiment | None = None) -> ExitDistribution:
    """DT-SNN exit-timestep distribution (t -> fraction, mean) of the shipped model on the test split.

    ``settings=None`` uses the software quantized model; otherwise the crossbar chip (BN adapted by default).
    This is the input the cost model needs to price energy/EDP at the measured average timesteps.
    """
    exp = Experiment() if experiment is None else experiment
    if settings is None:
        out = exp.software_outputs(exp.model.weight_bits)
    else:
        out, _ = exp.crossbar_outputs(settings, bn_adapt=bn_adapt)
    return dt_snn(out, exp.split.y_test, threshold)


def accuracy_sweep(base: CrossbarSettings | None = None, *, wire_ohms: tuple[float, ...] = SWEEP_WIRE_OHMS,
                   encodings: tuple[Encoding, ...] = tuple(Encoding),
                   dt_thresholds: tuple[float, ...] = SWEEP_DT_THRESHOLDS, dt_encoding: Encoding = Encoding.HRS,
                   dt_wire_ohm: float | None = None, experiment: Experiment | None = None,
                   progress: Callable[[str], None] | None = None) -> dict:
    """Accuracy vs wire resistance (r_row = r_col) for each encoding, with and without BN adaptation, and DT-SNN
    accuracy vs average timesteps (software, and the ``dt_encoding`` chip at ``dt_wire_ohm`` after BN adaptation).

    Returns a JSON-ready dict: ``software_accuracy``, ``settings`` (the base), ``rows`` (one per encoding and
    wire resistance), ``dt_rows`` and ``seconds``. ``progress`` is called with a label after each
    (encoding, wire resistance) point.
    """
    t0 = time.perf_counter()
    exp = Experiment(threads=2) if experiment is None else experiment
    base = default_settings() if base is None else base
    dt_wire = base.r_row_ohm if dt_wire_ohm is None else dt_wire_ohm
    y = exp.split.y_test
    sw_out = exp.software_outputs(base.weight_bits)
    sw = accuracy(sw_out, y)
    rows = []
    dt_source = None
    for enc in encodings:
        for r in wire_ohms:
            s = replace(base, encoding=enc, r_row_ohm=r, r_col_ohm=r)
            out, n_xbar = exp.crossbar_outputs(s, bn_adapt=False)
            out_bn, _ = exp.crossbar_outputs(s, bn_adapt=True)
            if enc is dt_encoding and r == dt_wire:
                dt_source = out_bn
            acc, acc_bn = accuracy(out, y), accuracy(out_bn, y)
            rows.append({"encoding": enc.value, "wire_ohm": r, "accuracy": acc, "accuracy_bn_adapted": acc_bn,
                         "loss": sw - acc, "loss_bn_adapted": sw - acc_bn, "n_crossbars": n_xbar})
            if progress is not None:
                progress(f"{enc.value} {r:g} ohm")
    if dt_source is None and dt_thresholds:
        dt_source, _ = exp.crossbar_outputs(replace(base, encoding=dt_encoding, r_row_ohm=dt_wire, r_col_ohm=dt_wire),
                                            bn_adapt=True)
    dt_rows = []
    for h in dt_thresholds:
        a, b = dt_snn(sw_out, y, h), dt_snn(dt_source, y, h)
        dt_rows.append({"threshold": h, "software": a.as_dict(), "crossbar": b.as_dict()})
    full_t = {"threshold": None, "software": {"accuracy": sw, "mean_timesteps": float(exp.model.timesteps)},
              "crossbar": {"accuracy": accuracy(dt_source, y), "mean_timesteps": float(exp.model.timesteps)}}
    return {"software_accuracy": sw, "settings": base.as_dict(), "rows": rows,
            "dt_settings": {"encoding": dt_encoding.value, "wire_ohm": dt_wire, "bn_adapt": True},
            "dt_rows": [*dt_rows, full_t], "geff_computed": exp.cache.computed,
            "seconds": round(time.perf_counter() - t0, 2)}


def sweep_markdown(sweep: dict) -> str:
    """Two Markdown tables: accuracy vs wire resistance per encoding (± BN adaptation); DT-SNN accuracy vs T."""
    encs = list(dict.fromkeys(r["encoding"] for r in sweep["rows"]))
    wires = list(dict.fromkeys(r["wire_ohm"] for r in sweep["rows"]))
    by = {(r["encoding"], r["wire_ohm"]): r for r in sweep["rows"]}
    s = sweep["settings"]
    adc = "ideal" if s["adc_bits"] is None else f"{s['adc_bits']} bit"
    lines = [f"Software (quantized, {s['weight_bits']}-bit) test accuracy: {100 * sweep['software_accuracy']:.2f} %. "
             f"Crossbar: {s['rows']}x{s['columns']}, variation {s['variation_sigma']:g}, read noise "
             f"{s['read_noise_sigma']:g}, ADC {adc}, seed {s['seed']}.", "",
             "| wire r (ohm) | " + " | ".join(f"{e} | {e} + BN adapt" for e in encs) + " |",
             "|---:|" + "---:|" * (2 * len(encs))]
    for w in wires:
        cells = []
        for e in encs:
            r = by[(e, w)]
            cells += [f"{100 * r['accuracy']:.2f}", f"{100 * r['accuracy_bn_adapted']:.2f}"]
        lines.append(f"| {w:g} | " + " | ".join(cells) + " |")
    dt = sweep["dt_settings"]
    lines += ["", f"DT-SNN (exit when normalized output entropy < threshold); crossbar: {dt['encoding']}, wire "
              f"{dt['wire_ohm']:g} ohm, BN adapted.", "",
              "| entropy threshold | software acc (%) | software avg T | crossbar acc (%) | crossbar avg T |",
              "|---:|---:|---:|---:|---:|"]
    for row in sweep["dt_rows"]:
        h = "none (full T)" if row["threshold"] is None else f"{row['threshold']:g}"
        a, b = row["software"], row["crossbar"]
        lines.append(f"| {h} | {100 * a['accuracy']:.2f} | {a['mean_timesteps']:.2f} | {100 * b['accuracy']:.2f} | "
                     f"{b['mean_timesteps']:.2f} |")
    return "\n".join(lines)
