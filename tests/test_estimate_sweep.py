"""The example design sweep of issue 18: archspecs/grids/sata-estimate.yaml (weight-buffer size x PE array x T on
the estimate: variant of SATA) and its Pareto front, the figure in the README.

The 36 points take about two minutes, too long for a test, so their results are committed
(docs/sata-estimate-sweep.jsonl, written by the first README command) and checked here: the file is exactly the
grid's points (a change to the grid, the variant or the network changes the point keys), a point re-evaluated
now gives the committed numbers (a change to the engine shows), and on the file the front over energy, latency and
area with T as a design axis has more than one point, no point dominates every other and area grows with
capacity. A failure means: rerun the two README commands and commit their output.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from costmodel.arch import arch_from_dict
from costmodel.components import level_estimates
from spikeloop.sweep import evaluate_point, load_grid, pareto_fronts, read_records

REPO = Path(__file__).resolve().parents[1]
GRID = REPO / "archspecs" / "grids" / "sata-estimate.yaml"
RESULTS = REPO / "docs" / "sata-estimate-sweep.jsonl"
FIGURE = REPO / "docs" / "sata-estimate-pareto.png"
CAPACITY, ARRAY = "levels[GLB-W].capacity_bits", "levels[GLB-A].fanout"
COMMANDS = (
    f"spikeloop sweep --grid archspecs/grids/sata-estimate.yaml --out {RESULTS.relative_to(REPO)}",
    f"spikeloop sweep --pareto {RESULTS.relative_to(REPO)} --axes energy,latency,area --group network "
    f"--png {FIGURE.relative_to(REPO)}",
)
STALE = "rerun the README commands (rm the results file first) and commit their output: " + "; ".join(COMMANDS)
METRICS = ("total_energy_pj", "latency_s", "area_mm2")


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    recs, bad = read_records(RESULTS)
    assert bad == 0, f"{RESULTS}: {bad} unreadable lines; {STALE}"
    return recs


def _array(rec: dict[str, Any]) -> str:
    return f"{rec['overrides'][ARRAY]['x']}x{rec['overrides'][ARRAY]['y']}"


def test_committed_results_are_the_grid_points(records: list[dict[str, Any]]) -> None:
    tasks = load_grid(GRID).tasks
    assert len(tasks) == 4 * 3 * 3
    assert sorted(r["point"] for r in records) == sorted(t.key for t in tasks), STALE
    assert all(r["status"] == "ok" for r in records), [r.get("error") for r in records if r["status"] != "ok"]


def test_committed_results_are_what_the_engine_gives_now(records: list[dict[str, Any]]) -> None:
    """A point (the largest buffer, SATA's 8 x 16 array, T = 1) evaluated now equals the file."""
    by_key = {r["point"]: r for r in records}
    tasks = [t for t in load_grid(GRID).tasks
             if t.point.T == 1 and dict(t.point.overrides)[ARRAY]["x"] == 8
             and dict(t.point.overrides)[CAPACITY] == 2359296]  # fmt: skip
    assert len(tasks) == 1
    for task in tasks:
        now, then = evaluate_point(task), by_key[task.key]
        assert now["status"] == "ok", now.get("error")
        for k in (*METRICS, "breakdown_pj"):
            assert now[k] == pytest.approx(then[k], rel=1e-9), f"{k}: {STALE}"
        assert now["estimates"] == then["estimates"], STALE


def test_the_front_is_a_real_trade_off(records: list[dict[str, Any]]) -> None:
    (group,) = pareto_fronts(records, group=["network"])  # T, buffer and array all compete on one front
    assert group.network == "vgg9-cifar10" and len(group.records) == 36
    front = np.array([[r[k] for k in METRICS] for r in group.front])
    assert len(front) > 1
    for i in range(len(front)):  # no front point is at least as good as every other on every axis
        others = np.delete(front, i, axis=0)
        assert not np.all(front[i] <= others), group.front[i]["point"]
    every = np.array([[r[k] for k in METRICS] for r in group.records])
    assert not any(np.all(every[i] <= np.delete(every, i, axis=0)) for i in range(len(every)))
    # the trade-off is the array: the front spans more than one PE array, and its cheapest-area point is not
    # its lowest-energy one
    assert len({_array(r) for r in group.front}) > 1
    assert np.argmin(front[:, 2]) != np.argmin(front[:, 0])


def test_area_grows_with_capacity(records: list[dict[str, Any]]) -> None:
    """In the results (at every array and T) and in the archs the grid builds (GLB-W's estimated area)."""
    series: dict[tuple[str, int], list[tuple[int, float]]] = {}
    for r in records:
        series.setdefault((_array(r), r["T"]), []).append((r["overrides"][CAPACITY], r["area_mm2"]))
    assert len(series) == 9
    for key, points in series.items():
        areas = [a for _, a in sorted(points)]
        assert len(areas) == 4 and all(b > a for a, b in zip(areas, areas[1:], strict=False)), key
    glb: dict[int, float] = {}
    for task in load_grid(GRID).tasks:
        if task.point.T == 1:
            capacity = dict(task.point.overrides)[CAPACITY]
            glb[capacity] = level_estimates(arch_from_dict(task.arch_data, task.arch_file))["GLB-W"]["area_um2"]
    areas = [glb[c] for c in sorted(glb)]
    assert len(areas) == 4 and all(b > a for a, b in zip(areas, areas[1:], strict=False))


def test_readme_shows_the_front_and_the_commands_that_make_it() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("### `spikeloop sweep`", 1)[1].split("\n### ", 1)[0]
    for command in COMMANDS:
        assert command in section, command
    assert re.search(rf"!\[[^\]]+\]\({re.escape(str(FIGURE.relative_to(REPO)))}\)", section)
    data = FIGURE.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 200_000
