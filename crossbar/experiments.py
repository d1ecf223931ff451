"""Accuracy experiments: one configuration over N simulated chips, the mitigations, and the sweep.

* :func:`run_accuracy` — software (quantized) vs crossbar accuracy for one :class:`CrossbarSettings` over ``chips``
  chips (seeds ``seed, seed+1, ...``: independent programming-variation and read-noise draws), reported as the mean
  and a 95 % Student-t interval over chips (:mod:`crossbar.stats`), optionally with BN adaptation and DT-SNN.
* :func:`adapt_batchnorm` — mitigation 2: weights frozen, BN running statistics re-estimated by forwarding
  training batches through the crossbar model (cumulative averaging).
* :func:`dt_snn` / :func:`exit_timestep_distribution` — mitigation 3: exit at the first timestep whose output
  entropy is below a threshold; the distribution of exit timesteps is what the cost model needs.
* :func:`accuracy_sweep` — accuracy vs wire resistance for each encoding, with and without BN adaptation, and
  DT-SNN accuracy vs average timesteps, all over ``chips`` chips; :func:`sweep_markdown` renders it.

Evaluation is on the test part of the data; calibration (ADC full scale) uses the first training images; BN
adaptation uses the first ``adapt_images`` training images. All chips are seeded; effective conductances are cached.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from crossbar import equations as eq
from crossbar.circuit import GeffCache
from crossbar.data import Split, check_inputs, digits_split
from crossbar.device import DEFAULT_ARCH, DeviceSpec, load_device
from crossbar.mapping import (
    CrossbarBackend,
    CrossbarSettings,
    Encoding,
    calibrate_adc,
    prefetch_effective,
    program_chip,
)
from crossbar.model_io import load_model
from crossbar.snn import BNStatistics, MatmulBackend, SNNModel, SoftwareBackend, forward, with_batchnorms
from crossbar.stats import METHOD, Interval, t_interval

SWEEP_WIRE_OHMS: tuple[float, ...] = (0.0, 1.0, 2.5, 5.0, 10.0)
SWEEP_DT_THRESHOLDS: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
CALIBRATION_IMAGES = 128
#: BN adaptation forwards the first 256 training images in batches of 64 (as many images as 512 gave, within the
#: chip-to-chip spread, on the filled MLP at 5 and 10 ohm; half the inference time).
ADAPT_IMAGES = 256
ADAPT_BATCH = 64


@dataclass(frozen=True, kw_only=True)
class ExitDistribution:
    """DT-SNN outcome: accuracy at exit, mean exit timestep, and fraction of inputs exiting at each t (1-based)."""

    threshold: float
    accuracy: float
    mean_timesteps: float
    fractions: dict[int, float]

    def as_dict(self) -> dict:
        return {
            "threshold": self.threshold,
            "accuracy": self.accuracy,
            "mean_timesteps": self.mean_timesteps,
            "distribution": {str(t): f for t, f in self.fractions.items()},
        }


@dataclass(frozen=True, kw_only=True)
class ChipExits:
    """DT-SNN over several chips: the pooled distribution (every chip sees the same inputs, so pooled fractions
    are the mean of the chips' fractions) and intervals over chips of the accuracy and the mean timesteps."""

    pooled: ExitDistribution
    accuracy: Interval
    mean_timesteps: Interval
    per_chip: tuple[ExitDistribution, ...]

    def as_dict(self) -> dict:
        return {
            **self.pooled.as_dict(),
            "accuracy_interval": self.accuracy.as_dict(),
            "mean_timesteps_interval": self.mean_timesteps.as_dict(),
            "per_chip": [d.as_dict() for d in self.per_chip],
        }


def pool_exits(dists: Sequence[ExitDistribution]) -> ChipExits:
    """Pool per-chip DT-SNN outcomes (same threshold, same inputs) into means and t-intervals over chips."""
    steps = sorted({t for d in dists for t in d.fractions})
    pooled = ExitDistribution(
        threshold=dists[0].threshold,
        accuracy=float(np.mean([d.accuracy for d in dists])),
        mean_timesteps=float(np.mean([d.mean_timesteps for d in dists])),
        fractions={t: float(np.mean([d.fractions.get(t, 0.0) for d in dists])) for t in steps},
    )
    return ChipExits(
        pooled=pooled,
        accuracy=t_interval([d.accuracy for d in dists]),
        mean_timesteps=t_interval([d.mean_timesteps for d in dists]),
        per_chip=tuple(dists),
    )


@dataclass(frozen=True, kw_only=True)
class AccuracyResult:
    """Software accuracy and crossbar accuracy over chips (``crossbar``: mean and interval; ``per_chip`` in seed
    order) of one configuration; ``dt`` when a DT-SNN threshold was given."""

    software_accuracy: float
    crossbar: Interval
    seeds: tuple[int, ...]
    per_chip: tuple[float, ...]
    settings: CrossbarSettings
    bn_adapted: bool
    n_crossbars: int
    dt: ChipExits | None
    seconds: float
    model: str = ""
    data: str = ""

    @property
    def crossbar_accuracy(self) -> float:
        return self.crossbar.mean

    def as_dict(self) -> dict:
        return {
            "software_accuracy": self.software_accuracy,
            "crossbar_accuracy": self.crossbar.mean,
            "crossbar_accuracy_interval": self.crossbar.as_dict(),
            "chips": [{"seed": s, "accuracy": a} for s, a in zip(self.seeds, self.per_chip, strict=True)],
            "settings": {
                **self.settings.as_dict(),
                "bn_adapt": self.bn_adapted,
                "chips": len(self.seeds),
                "seeds": list(self.seeds),
            },
            "model": self.model,
            "data": self.data,
            "n_crossbars": self.n_crossbars,
            "dt_snn": None if self.dt is None else self.dt.as_dict(),
            "seconds": round(self.seconds, 3),
        }


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of inputs whose output averaged over all T steps has its argmax at the label."""
    return float((outputs.mean(axis=0).argmax(axis=-1) == labels).mean())


def chip_seeds(seed: int, chips: int) -> tuple[int, ...]:
    """The seeds of ``chips`` simulated chips: seed, seed + 1, ... (each seeds its own variation and noise draws)."""
    if chips < 1:
        raise ValueError(f"chips: expected an integer >= 1, got {chips}")
    return tuple(seed + k for k in range(chips))


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
    return ExitDistribution(
        threshold=threshold,
        accuracy=float((pred == labels).mean()),
        mean_timesteps=float((exit_idx + 1).mean()),
        fractions={t + 1: float(counts[t]) for t in range(steps)},
    )


def adapt_batchnorm(
    model: SNNModel, backend: MatmulBackend, images: np.ndarray, batch_size: int = 64, dtype: type = np.float32
) -> SNNModel:
    """BN adaptation: forward ``images`` in batches through ``backend`` with BN in training mode and return the
    model with BN running mean/var replaced by their cumulative averages (weights and γ, β unchanged)."""
    stats = BNStatistics()
    for k in range(0, len(images), batch_size):
        forward(model, images[k : k + batch_size], backend, dtype=dtype, bn_stats=stats)
    return with_batchnorms(model, {bn.name: stats.adapted(bn) for bn in model.batchnorms()})


def output_classes(model: SNNModel) -> int:
    """Number of outputs of the readout (the last conv/linear layer's output channels)."""
    return int(model.weight_layers()[-1].weight.shape[0])


class Experiment:
    """The model, data split, G_eff cache and ADC calibrations shared by a series of runs.

    The data must fit the model (image shape, channels, label range): a one-line ``ValueError`` otherwise.
    """

    def __init__(
        self,
        model: SNNModel | None = None,
        split: Split | None = None,
        cache: GeffCache | None = None,
        *,
        threads: int = 1,
        adapt_images: int = ADAPT_IMAGES,
    ) -> None:
        self.model = load_model() if model is None else model
        self.split = digits_split() if split is None else split
        self.cache = GeffCache() if cache is None else cache
        self.threads = threads
        self.adapt_images = adapt_images
        check_inputs(self.split, self.model, output_classes(self.model))
        self._calibrations: dict[CrossbarSettings, tuple[float, ...]] = {}
        self._software: dict[int, np.ndarray] = {}

    @property
    def classes(self) -> int:
        return output_classes(self.model)

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

    def chip_outputs(self, settings: CrossbarSettings, bn_modes: Sequence[bool]) -> tuple[list[np.ndarray], int]:
        """Per-step test outputs [T, N, K] of one seeded chip, once per BN mode in ``bn_modes`` (False: as trained,
        True: BN adapted on this chip); the chip is programmed once. Returns (outputs, crossbar count)."""
        chip = program_chip(self.model, settings, self.cache, self.calibration(settings))
        outs = []
        for bn_adapt in bn_modes:
            model = self.model
            if bn_adapt:
                model = adapt_batchnorm(
                    model,
                    CrossbarBackend(chip, threads=self.threads),
                    self.split.x_train[: self.adapt_images],
                    dtype=settings.dtype,
                )
            outs.append(
                forward(model, self.split.x_test, CrossbarBackend(chip, threads=self.threads), dtype=settings.dtype)
            )
        return outs, chip.n_crossbars

    def crossbar_outputs(self, settings: CrossbarSettings, *, bn_adapt: bool) -> tuple[np.ndarray, int]:
        """Per-step outputs on the test split through one seeded chip; returns (outputs, crossbar count)."""
        outs, n = self.chip_outputs(settings, (bn_adapt,))
        return outs[0], n


@lru_cache(maxsize=8)
def _device(path: str) -> DeviceSpec:
    return load_device(path)


def default_settings(**overrides: object) -> CrossbarSettings:
    """Settings from ``archspecs/spikeflow.yaml`` ``device:`` (read once) with ``overrides``."""
    return CrossbarSettings.from_device(_device(str(DEFAULT_ARCH)), **overrides)


def run_accuracy(
    settings: CrossbarSettings | None = None,
    *,
    bn_adapt: bool = False,
    dt_threshold: float | None = None,
    experiment: Experiment | None = None,
    chips: int = 1,
) -> AccuracyResult:
    """Software (quantized) and crossbar accuracy on the test split over ``chips`` chips (seeds
    ``settings.seed, settings.seed + 1, ...``): mean and 95 % t-interval over chips."""
    t0 = time.perf_counter()
    exp = Experiment() if experiment is None else experiment
    settings = default_settings() if settings is None else settings
    y = exp.split.y_test
    sw = accuracy(exp.software_outputs(settings.weight_bits), y)
    seeds = chip_seeds(settings.seed, chips)
    accs, dts, n_xbar = [], [], 0
    for seed in seeds:
        out, n_xbar = exp.crossbar_outputs(replace(settings, seed=seed), bn_adapt=bn_adapt)
        accs.append(accuracy(out, y))
        if dt_threshold is not None:
            dts.append(dt_snn(out, y, dt_threshold))
    return AccuracyResult(
        software_accuracy=sw,
        crossbar=t_interval(accs),
        seeds=seeds,
        per_chip=tuple(accs),
        settings=settings,
        bn_adapted=bn_adapt,
        n_crossbars=n_xbar,
        dt=pool_exits(dts) if dts else None,
        seconds=time.perf_counter() - t0,
        model=exp.model.name,
        data=exp.split.name,
    )


def exit_timestep_distribution(
    threshold: float,
    settings: CrossbarSettings | None = None,
    *,
    bn_adapt: bool = True,
    experiment: Experiment | None = None,
) -> ExitDistribution:
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


def accuracy_sweep(
    base: CrossbarSettings | None = None,
    *,
    wire_ohms: Sequence[float] = SWEEP_WIRE_OHMS,
    encodings: Sequence[Encoding] = tuple(Encoding),
    dt_thresholds: Sequence[float] = SWEEP_DT_THRESHOLDS,
    dt_encoding: Encoding = Encoding.HRS,
    dt_wire_ohm: float | None = None,
    experiment: Experiment | None = None,
    progress: Callable[[str], None] | None = None,
    chips: int = 1,
) -> dict:
    """Accuracy vs wire resistance (r_row = r_col) for each encoding, with and without BN adaptation, and DT-SNN
    accuracy vs average timesteps (software, and the ``dt_encoding`` chips at ``dt_wire_ohm`` after BN adaptation;
    default: the base wire resistance if swept, else the smallest swept one),
    each over ``chips`` chips (seeds ``base.seed, base.seed + 1, ...``; the same seeds for every point).

    Returns a JSON-ready dict: ``software_accuracy``, ``settings`` (the base), ``chips``, ``seeds``,
    ``interval_method``, ``rows`` (one per encoding and wire resistance: means, intervals and per-chip values),
    ``dt_rows``, ``dt_settings``, ``geff_computed`` and ``seconds``. ``progress`` is called with a label after each
    (encoding, wire resistance) point.
    """
    t0 = time.perf_counter()
    exp = Experiment(threads=2) if experiment is None else experiment
    base = default_settings() if base is None else base
    seeds = chip_seeds(base.seed, chips)
    if dt_wire_ohm is None:  # the device's wire if it is swept (no extra chips), else the smallest swept one
        dt_wire = base.r_row_ohm if base.r_row_ohm in wire_ohms or not wire_ohms else min(wire_ohms)
    else:
        dt_wire = dt_wire_ohm
    y = exp.split.y_test
    sw_out = exp.software_outputs(base.weight_bits)
    sw = accuracy(sw_out, y)
    rows = []
    dt_sources: list[np.ndarray] = []
    for enc in encodings:
        for r in wire_ohms:
            accs, accs_bn, n_xbar = [], [], 0
            prefetch_effective(
                exp.model,
                [replace(base, encoding=enc, r_row_ohm=r, r_col_ohm=r, seed=seed) for seed in seeds],
                exp.cache,
            )
            for seed in seeds:
                (out, out_bn), n_xbar = exp.chip_outputs(
                    replace(base, encoding=enc, r_row_ohm=r, r_col_ohm=r, seed=seed), (False, True)
                )
                if enc is dt_encoding and r == dt_wire:
                    dt_sources.append(out_bn)
                accs.append(accuracy(out, y))
                accs_bn.append(accuracy(out_bn, y))
            ci, ci_bn = t_interval(accs), t_interval(accs_bn)
            rows.append(
                {
                    "encoding": enc.value,
                    "wire_ohm": r,
                    "accuracy": ci.mean,
                    "accuracy_bn_adapted": ci_bn.mean,
                    "loss": sw - ci.mean,
                    "loss_bn_adapted": sw - ci_bn.mean,
                    "n_crossbars": n_xbar,
                    "accuracy_interval": ci.as_dict(),
                    "accuracy_bn_adapted_interval": ci_bn.as_dict(),
                    "per_chip": {"accuracy": accs, "accuracy_bn_adapted": accs_bn},
                }
            )
            if progress is not None:
                progress(f"{enc.value} {r:g} ohm")
    if not dt_sources and dt_thresholds:
        for seed in seeds:
            out, _ = exp.crossbar_outputs(
                replace(base, encoding=dt_encoding, r_row_ohm=dt_wire, r_col_ohm=dt_wire, seed=seed), bn_adapt=True
            )
            dt_sources.append(out)
    dt_rows = []
    for h in dt_thresholds:
        xb = pool_exits([dt_snn(o, y, h) for o in dt_sources])
        dt_rows.append({"threshold": h, "software": dt_snn(sw_out, y, h).as_dict(), "crossbar": xb.as_dict()})
    steps = float(exp.model.timesteps)
    full = t_interval([accuracy(o, y) for o in dt_sources]) if dt_sources else None
    if full is not None:
        dt_rows.append(
            {
                "threshold": None,
                "software": {"accuracy": sw, "mean_timesteps": steps},
                "crossbar": {"accuracy": full.mean, "mean_timesteps": steps, "accuracy_interval": full.as_dict()},
            }
        )
    return {
        "software_accuracy": sw,
        "settings": base.as_dict(),
        "chips": chips,
        "seeds": list(seeds),
        "interval_method": METHOD,
        "model": exp.model.name,
        "data": exp.split.name,
        "rows": rows,
        "dt_settings": {"encoding": dt_encoding.value, "wire_ohm": dt_wire, "bn_adapt": True},
        "dt_rows": dt_rows,
        "geff_computed": exp.cache.computed,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _cell(mean: float, interval: dict | None) -> str:
    """``97.22`` or ``97.22 [95.10, 99.34]`` (percent) from a mean and an :meth:`Interval.as_dict`."""
    if interval is None or interval.get("low") is None:
        return f"{100 * mean:.2f}"
    return f"{100 * mean:.2f} [{100 * interval['low']:.2f}, {100 * interval['high']:.2f}]"


def sweep_markdown(sweep: dict) -> str:
    """Two Markdown tables: accuracy vs wire resistance per encoding (± BN adaptation); DT-SNN accuracy vs T.
    With several chips every crossbar cell is ``mean [95 % interval]``."""
    encs = list(dict.fromkeys(r["encoding"] for r in sweep["rows"]))
    wires = list(dict.fromkeys(r["wire_ohm"] for r in sweep["rows"]))
    by = {(r["encoding"], r["wire_ohm"]): r for r in sweep["rows"]}
    s = sweep["settings"]
    adc = "ideal" if s["adc_bits"] is None else f"{s['adc_bits']} bit"
    chips = int(sweep.get("chips", 1))
    seeds = sweep.get("seeds", [s["seed"]])
    if chips > 1:
        over = (
            f"{chips} chips (seeds {seeds[0]}-{seeds[-1]}); cells are mean [95 % interval], "
            f"{sweep.get('interval_method', METHOD)}"
        )
    else:
        over = f"one chip (seed {seeds[0]})"
    lines = [
        f"Software (quantized, {s['weight_bits']}-bit) test accuracy: {100 * sweep['software_accuracy']:.2f} %. "
        f"Crossbar: {s['rows']}x{s['columns']}, variation {s['variation_sigma']:g}, read noise "
        f"{s['read_noise_sigma']:g}, ADC {adc}; {over}.",
        "",
        "| wire r (ohm) | " + " | ".join(f"{e} | {e} + BN adapt" for e in encs) + " |",
        "|---:|" + "---:|" * (2 * len(encs)),
    ]
    for w in wires:
        cells = []
        for e in encs:
            r = by[(e, w)]
            cells += [
                _cell(r["accuracy"], r.get("accuracy_interval")),
                _cell(r["accuracy_bn_adapted"], r.get("accuracy_bn_adapted_interval")),
            ]
        lines.append(f"| {w:g} | " + " | ".join(cells) + " |")
    if not sweep["dt_rows"]:
        return "\n".join(lines)
    dt = sweep["dt_settings"]
    lines += [
        "",
        f"DT-SNN (exit when normalized output entropy < threshold); crossbar: {dt['encoding']}, wire "
        f"{dt['wire_ohm']:g} ohm, BN adapted.",
        "",
        "| entropy threshold | software acc (%) | software avg T | crossbar acc (%) | crossbar avg T |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in sweep["dt_rows"]:
        h = "none (full T)" if row["threshold"] is None else f"{row['threshold']:g}"
        a, b = row["software"], row["crossbar"]
        t_cell = f"{b['mean_timesteps']:.2f}"
        ti = b.get("mean_timesteps_interval")
        if ti is not None and ti.get("low") is not None:
            t_cell += f" [{ti['low']:.2f}, {ti['high']:.2f}]"
        lines.append(
            f"| {h} | {100 * a['accuracy']:.2f} | {a['mean_timesteps']:.2f} | "
            f"{_cell(b['accuracy'], b.get('accuracy_interval'))} | {t_cell} |"
        )
    return "\n".join(lines)
