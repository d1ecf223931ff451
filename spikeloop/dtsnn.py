"""Cost at a measured DT-SNN exit distribution (the crossbar model's output fed to the cost model).

DT-SNN stops an input at the first timestep whose output entropy is below a threshold, so the
network runs ``t`` timesteps with probability ``p_t``. The expected energy and latency per input are
E = sum_t p_t E(t) and D = sum_t p_t D(t), where E(t), D(t) are the network's cost run for exactly
t timesteps; the EDP of the average input is E x D (the paper's DT-SNN EDP), and E[E(t) D(t)] is
reported beside it.
"""

from __future__ import annotations

import json
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


def read_distribution(path: str | Path) -> dict[int, float]:
    """The exit distribution of a ``spikeloop accuracy --dt-threshold H --json FILE`` result
    (key ``dt_snn.distribution``) or of a plain ``{"1": 0.6, "2": 0.3, ...}`` JSON object."""
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{p}: cannot read an exit distribution: {exc}") from None
    if isinstance(data, dict) and "dt_snn" in data:
        data = data["dt_snn"]
        if not isinstance(data, dict) or "distribution" not in data:
            raise ValueError(f"{p}: dt_snn has no distribution (run spikeloop accuracy with --dt-threshold H)")
        data = data["distribution"]
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{p}: expected an object mapping timesteps to fractions, got {type(data).__name__}")
    try:
        dist = {int(k): float(v) for k, v in data.items()}
    except (TypeError, ValueError):
        raise ValueError(f"{p}: exit distribution keys must be timesteps and values fractions") from None
    total = sum(dist.values())
    if any(t < 1 for t in dist) or any(v < 0 for v in dist.values()) or abs(total - 1.0) > 1e-6:
        raise ValueError(f"{p}: exit distribution must have timesteps >= 1 and fractions >= 0 summing to 1, "
                         f"got sum {total:.6g}")
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
    return ExitCost(distribution=dict(distribution), energy_pj=e, latency_s=d, edp_pj_s=e * d,
                    mean_edp_pj_s=edp_mean, full_t=full_t, full_energy_pj=full.total_energy_pj,
                    full_edp_pj_s=full.edp_pj_s)
