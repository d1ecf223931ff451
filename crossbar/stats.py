"""Means and 95 % intervals over simulated chips.

A chip is one draw of the programming variation (and of the read noise); its accuracy on the fixed test split is
one sample. Over N chips we report the mean and the Student-t interval

    mean ± t_{N-1, (1+c)/2} · s / sqrt(N),   s = sample standard deviation (ddof = 1), c = 0.95,

the textbook interval for the mean of a few roughly normal samples: a chip's accuracy averages the effect of
thousands of independent cell deviations over hundreds of images, so it is close to normal, and with the handful of
chips a report can afford a bootstrap percentile interval would be too narrow (it has no small-sample correction).
The interval is about chip-to-chip variation on this test split; the test split's own sampling error (binomial,
about ±1.5 points at 97 % on 360 images) is not in it. With one chip there is no interval (``low``/``high`` None).
Paired differences (the same chip seeds under two encodings) use the same formula on the per-chip differences.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
METHOD = "Student-t interval over chips"


@dataclass(frozen=True, kw_only=True)
class Interval:
    """Mean of ``n`` per-chip values and its two-sided ``confidence`` interval (None for a single chip)."""

    mean: float
    low: float | None
    high: float | None
    n: int
    confidence: float = CONFIDENCE

    def as_dict(self) -> dict:
        return {
            "mean": self.mean,
            "low": self.low,
            "high": self.high,
            "chips": self.n,
            "confidence": self.confidence,
            "method": METHOD,
        }

    def scaled(self, factor: float) -> Interval:
        """The same interval in other units (e.g. fractions -> percent)."""
        lo = None if self.low is None else self.low * factor
        hi = None if self.high is None else self.high * factor
        return Interval(mean=self.mean * factor, low=lo, high=hi, n=self.n, confidence=self.confidence)

    def text(self, factor: float = 100.0, digits: int = 2) -> str:
        """``97.22 [95.10, 99.34]`` (scaled by ``factor``), or just the mean for one chip."""
        s = self.scaled(factor)
        if s.low is None or s.high is None:
            return f"{s.mean:.{digits}f}"
        return f"{s.mean:.{digits}f} [{s.low:.{digits}f}, {s.high:.{digits}f}]"


def t_quantile(confidence: float, dof: int) -> float:
    """t_{dof, (1+c)/2}: the two-sided Student-t critical value (dof = N - 1 >= 1), e.g. 4.303 for dof 2."""
    from scipy.special import stdtrit  # the inverse of the Student-t CDF; lighter to import than scipy.stats

    return float(stdtrit(dof, 0.5 + confidence / 2.0))


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """mean ± t_{N-1,(1+c)/2}·s/sqrt(N) of per-chip ``values`` (s with ddof = 1); no interval for N = 1."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        raise ValueError("t_interval: no values")
    if not np.isfinite(v).all():
        raise ValueError(f"t_interval: values must be finite, got {v.tolist()}")
    mean = float(v.mean())
    if v.size == 1:
        return Interval(mean=mean, low=None, high=None, n=1, confidence=confidence)
    half = t_quantile(confidence, v.size - 1) * float(v.std(ddof=1)) / math.sqrt(v.size)
    return Interval(mean=mean, low=mean - half, high=mean + half, n=int(v.size), confidence=confidence)
