"""The six works of the paper's Table II and the baselines their improvement factors compare with.

Table II prints, beside each work's energy, an improvement factor "(N x)" over that work's own baseline. The
public SATA_Sim repository (github.com/RuokaiYin/SATA_Sim) ships those baselines as
``results/<work>/baseline/*.yaml``: the same network and the same scale-sim statistics evaluated at the timesteps
of the baseline the work's own paper compares with, and with spike sparsity 0.5 (spike density 0.5). Their
timesteps are :data:`BASELINE_T`. There is no baseline file for LTH (its factors compare pruning, not
timesteps), so LTH has no improvement-factor row. SpikeSim's energy is proportional to T and does not depend on
sparsity, so on SpikeSim a factor is the ratio of the timesteps.
"""

from __future__ import annotations

from functools import cache

from costmodel.network import load_network
from costmodel.workload import Network

WORKS = ("SBP", "BNTT", "Direct", "TSSL", "LTH", "TDBN")
#: the timesteps of each work's baseline (SATA_Sim results/<work>/baseline/*.yaml); LTH has none
BASELINE_T = {"SBP": 260, "BNTT": 80, "Direct": 40, "TSSL": 80, "TDBN": 100}
#: the baselines' spike density (sparsity 0.5 in the same files)
BASELINE_SPIKE_DENSITY = 0.5


@cache
def network(name: str, timesteps: int | None = None) -> Network:
    """:func:`costmodel.network.load_network`, once per process and arguments (a Network is an immutable value;
    parsing the YAML took a fifth of the SpikeSim experiment's time)."""
    return load_network(name, timesteps=timesteps)


__all__ = ["BASELINE_SPIKE_DENSITY", "BASELINE_T", "WORKS", "network"]
