"""Cost at a measured DT-SNN exit distribution (the crossbar model's output fed to the cost model).

DT-SNN stops an input at the first timestep whose output entropy is below a threshold, so the
network runs ``t`` timesteps with probability ``p_t``. The expected energy and latency per input are
E = sum_t p_t E(t) and D = sum_t p_t D(t), where E(t), D(t) are the network's cost run for exactly
t timesteps; the EDP of the average input is E x D (the paper's DT-SNN EDP), and E[E(t) D(t)] is
reported beside it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from costmodel.network_eval import NetworkResult


@dataclass(frozen=True, slots=True, kw_only=True)
class ExitCost:
    distribution: dict[int, float]  # timestep -> fraction of inputs exiting there
    energy_pj: float  # expected energy per input
    latency_s: float  # expected latency per input
    edp_pj_s: float  # E x D of the average input
    mean_edp_pj_s: float  # E[E(t) D(t)]
    full_t: int
    full_energy_pj: float
    full_edp_pj_s: float

    @property
    def mean_timesteps(self) -> float:
        return sum(t * p for t, p in self.distribution.items())

    def to_dict(self) -> dict[str, Any]:
        return {
            "distribution": {str(t): p for t, p in sorted(self.distribution.items())},
            "mean_timesteps": self.mean_timesteps,
            "energy_pj": self.energy_pj,
            "latency_s": self.latency_s,
            "edp_pj_s": self.edp_pj_s,
            "mean_edp_pj_s": self.mean_edp_pj_s,
            "full_T": self.full_t,
            "full_energy_pj": self.full_energy_pj,
            "full_edp_pj_s": self.full_edp_pj_s,
            "energy_reduction": 1.0 - self.energy_pj / self.full_energy_pj,
            "edp_reduction_x": self.full_edp_pj_s / self.edp_pj_s,
        }


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"key {k!r} appears twice")
        out[k] = v
    return out


def read_distribution(source: str | Path) -> dict[int, float]:
    """The exit distribution of a ``spikeloop accuracy --dt-threshold H --json FILE`` result
    (key ``dt_snn.distribution``) or of a plain ``{"1": 0.3, "2": 0.7}`` JSON object, given as a file
    name or inline (a string starting with ``{``). Errors are one-line ``ValueError`` s naming the
    file (or "inline JSON") and the offending entry."""
    from costmodel.specio import read_text_file
    from spikeloop.cliargs import is_inline_json

    inline = isinstance(source, str) and is_inline_json(source)
    name = "--dt-exit inline JSON" if inline else str(source)
    try:
        text = str(source) if inline else read_text_file(source, what="JSON file")
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{name}: cannot read an exit distribution: malformed JSON: {exc.msg} "
            f"(line {exc.lineno} column {exc.colno})"
        ) from None
    except ValueError as exc:  # SpecError from the reader (names the file), or a duplicate key
        msg = str(exc)
        raise ValueError(msg if msg.startswith(name) else f"{name}: {msg}") from None
    if isinstance(data, dict) and "dt_snn" in data:
        data = data["dt_snn"]
        if not isinstance(data, dict) or "distribution" not in data:
            raise ValueError(f"{name}: dt_snn has no distribution (run spikeloop accuracy with --dt-threshold H)")
        data = data["distribution"]
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{name}: expected an object mapping timesteps to fractions, got {type(data).__name__}")
    dist: dict[int, float] = {}
    for k, v in data.items():
        if not re.fullmatch(r"[0-9]+", str(k)):
            raise ValueError(f"{name}: exit distribution keys must be timesteps and values fractions, got key {k!r}")
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or not 0 <= v <= 1:
            raise ValueError(f"{name}: {k}: expected a fraction in [0, 1], got {v!r}")
        dist[int(k)] = float(v)
    total = sum(dist.values())
    if any(t < 1 for t in dist) or abs(total - 1.0) > 1e-6:
        raise ValueError(
            f"{name}: exit distribution must have timesteps >= 1 and fractions >= 0 summing to 1, got sum {total:.6g}"
        )
    return dist


def expected_cost(distribution: dict[int, float], run: Callable[[int], NetworkResult]) -> ExitCost:
    """E = sum p_t E(t), D = sum p_t D(t) over the exit distribution; ``run(t)`` evaluates the
    network for t timesteps. The full-T reference is the largest timestep of the distribution."""
    costs = {t: run(t).total for t in sorted(t for t, p in distribution.items() if p > 0)}
    full_t = max(distribution)
    full = costs[full_t] if full_t in costs else run(full_t).total
    e = sum(distribution[t] * c.total_energy_pj for t, c in costs.items())
    d = sum(distribution[t] * c.latency_s for t, c in costs.items())
    edp_mean = sum(distribution[t] * c.edp_pj_s for t, c in costs.items())
    return ExitCost(
        distribution=dict(distribution),
        energy_pj=e,
        latency_s=d,
        edp_pj_s=e * d,
        mean_edp_pj_s=edp_mean,
        full_t=full_t,
        full_energy_pj=full.total_energy_pj,
        full_edp_pj_s=full.edp_pj_s,
    )
