"""The paper's question asked of our model: the SNN against its ANN twin on SATA (``spikeloop versus``).

Rows ``versus-sata-<net>-breakeven-T``, ``versus-sata-<net>-ratio-T16`` (beside the paper's "up to 16x at
T = 16" claim, which it cites as an upper bound) and ``versus-sata-<net>-ann-energy`` for VGG9, VGG16 and
ResNet18 (CIFAR-10), with each side's heuristic mapping. T = 1, 2 and 16 are priced: the break-even is the
smallest of them where the SNN costs at least the ANN (``spikeloop versus -T 1,2,4,8,16`` for the full curve).
"""

from __future__ import annotations

from spikeloop.rows import Row

TIMESTEPS = (1, 2, 16)


def rows(quiet: bool = True) -> list[Row]:  # noqa: ARG001 - same signature as every experiment
    from spikeloop.versus import versus_rows

    return versus_rows("sata", timesteps=TIMESTEPS)


__all__ = ["TIMESTEPS", "rows"]
