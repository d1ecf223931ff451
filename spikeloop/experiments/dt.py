"""DT-SNN (dynamic timesteps, early exit) for the Fig. 4 rows: the measured exit distribution and the
sensitivity of the reductions to the mean exit timestep.

The paper's DT-SNN figures (Fig. 4(a): EDP 2.54x lower; Fig. 4(b): energy 46.5 % lower, both against T = 4)
come from exit distributions it does not publish; it states only their mean for VGG16 Tiny-ImageNet (2.14
timesteps). Our main rows price a *measured* distribution: the exits of the crossbar package's reference digits
SNN (:func:`exit_distribution`). Sensitivity rows then give each reduction as a function of the mean exit
timestep (:data:`SENSITIVITY_MEANS`), for exits split between the two integer timesteps around that mean, and
once at the paper's stated mean: that row's id ends in ``-paper`` and its note says its input is the paper's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache

from costmodel.imc import dt_edp_reduction
from spikeloop.rows import Row, uses_paper_numbers

#: mean exit timesteps of the sensitivity rows (beside the paper's stated mean)
SENSITIVITY_MEANS = (1.0, 1.5, 2.0, 2.5, 3.0)


@lru_cache(maxsize=1)
def exit_distribution() -> tuple[tuple[float, ...], str]:
    """DT-SNN exit fractions per timestep (index t-1) from the crossbar package's reference SNN (software,
    quantized weights), at the largest entropy threshold of its sweep whose accuracy matches running all T steps,
    and a description. An empty tuple (and why) when the crossbar package cannot provide it. Computed once per
    process."""
    try:
        from crossbar.experiments import SWEEP_DT_THRESHOLDS, Experiment, accuracy, exit_timestep_distribution
    except ImportError as exc:
        return (), f"crossbar package unavailable ({exc})"
    try:
        exp = Experiment()
    except FileNotFoundError as exc:
        return (), f"crossbar reference model unavailable ({exc})"
    full = accuracy(exp.software_outputs(exp.model.weight_bits), exp.split.y_test)
    best = None
    for th in sorted(SWEEP_DT_THRESHOLDS):
        dist = exit_timestep_distribution(th, experiment=exp)
        if dist.accuracy >= full:
            best = dist
    if best is None:
        return (), "no DT-SNN threshold kept the full-T accuracy"
    steps = max(best.fractions)
    fractions = tuple(best.fractions.get(t, 0.0) for t in range(1, steps + 1))
    what = (
        f"exits from the crossbar reference digits SNN (T={steps}, entropy threshold {best.threshold:g}, "
        f"accuracy {100 * best.accuracy:.1f} % = all-T, mean {mean_timesteps(fractions):.2f} timesteps)"
    )
    return fractions, what


def mean_timesteps(fractions: Sequence[float]) -> float:
    return sum(t * f for t, f in enumerate(fractions, start=1))


def two_point(mean: float, steps: int) -> list[float]:
    """Exit fractions over 1..steps with the given mean, split between floor(mean) and ceil(mean)."""
    if not 1.0 <= mean <= steps:
        raise ValueError(f"mean exit timestep {mean} outside 1..{steps}")
    lo = min(int(math.floor(mean)), steps - 1) if steps > 1 else 1
    frac_hi = mean - lo
    out = [0.0] * steps
    out[lo - 1] += 1.0 - frac_hi
    if frac_hi:
        out[lo] += frac_hi
    return out


def energy_reduction_pct(energy_by_t: Sequence[float], fractions: Sequence[float]) -> float:
    """100 x (1 - sum_t f_t E_t / E_T): expected energy saved by early exits against running all T steps."""
    if len(energy_by_t) != len(fractions):
        raise ValueError("one energy and one exit fraction per timestep")
    return 100.0 * (1.0 - sum(f * e for f, e in zip(fractions, energy_by_t, strict=True)) / energy_by_t[-1])


def edp_reduction(energy_by_t: Sequence[float], latency_by_t: Sequence[float], fractions: Sequence[float]) -> float:
    """EDP(T) / (mean E x mean D) (:func:`costmodel.imc.dt_edp_reduction`)."""
    return dt_edp_reduction(energy_by_t, latency_by_t, fractions)


@uses_paper_numbers("a sensitivity row at the mean exit timestep the paper states (labelled: id -paper)")
def dt_sensitivity_rows(
    *,
    id_prefix: str,
    reduction: Callable[[Sequence[float]], float],
    steps: int,
    unit: str,
    what: str,
    command: str,
    paper_mean: float,
    paper_value: float,
) -> list[Row]:
    """``<id_prefix>-mean-<m>`` for every m of :data:`SENSITIVITY_MEANS` and ``<id_prefix>-mean-<paper_mean>-paper``
    (the paper's value beside it): ``reduction`` of a distribution with mean m (:func:`two_point`)."""
    out = []
    points = [(m, False) for m in SENSITIVITY_MEANS if m <= steps] + [(paper_mean, True)]
    for m, is_paper in sorted(points):
        fr = two_point(m, steps)
        shares = ", ".join(f"{100 * f:.0f} % at T={t}" for t, f in enumerate(fr, start=1) if f)
        label = (
            (
                f"sensitivity point at the paper's stated DT-SNN mean of {m:g} timesteps (the paper's input, not "
                "measured)"
            )
            if is_paper
            else f"sensitivity: mean exit timestep {m:g}"
        )
        out.append(
            Row(
                id=f"{id_prefix}-mean-{m:g}" + ("-paper" if is_paper else ""),
                paper=paper_value if is_paper else None,
                ours=reduction(fr),
                unit=unit,
                note=f"{label}; exits {shares}; {what}",
                command=command,
            )
        )
    return out


__all__ = [
    "SENSITIVITY_MEANS",
    "dt_sensitivity_rows",
    "edp_reduction",
    "energy_reduction_pct",
    "exit_distribution",
    "mean_timesteps",
    "two_point",
]
