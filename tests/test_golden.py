"""Golden regression files (``tests/golden/``): the reproduce rows and one ``evaluate --json`` per shipped arch,
diffed against the current code within a relative 1e-9, naming every moved value. Regenerate them with
``python -m spikeloop.golden --update`` (see ``tests/golden/README.md``)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from spikeloop import golden


@pytest.fixture(scope="module")
def now() -> dict[str, Any]:
    """Every golden payload from the current code: the reproduce rows computed once for this module."""
    return golden.current()


def test_golden_files_match_the_current_code(now: dict[str, Any]) -> None:
    moved = golden.compare(golden.load(), now)
    assert not moved, "\n".join([*moved, f"if every move is intended: {golden.COMMAND}"])


def test_every_golden_file_is_known() -> None:
    on_disk = {p.name for p in golden.GOLDEN_DIR.glob("*.json")}
    assert on_disk == set(golden.file_names())
    rows = golden.load()[golden.ROWS_FILE]["rows"]
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    for prefix in (
        "table2-est-",
        "table2-sata-",
        "table2-x-sata-",
        "table2-spikesim-",
        "table2-x-spikesim-",
        "f4a-",
        "f4b-",
        "f5a-",
        "f5b-",
        "f6a-",
        "f6b-",
    ):
        assert any(i.startswith(prefix) for i in ids), prefix


def test_the_diff_names_each_moved_value(now: dict[str, Any]) -> None:
    expected = copy.deepcopy(now)
    actual = copy.deepcopy(now)
    rows = actual[golden.ROWS_FILE]["rows"]
    rows[0]["ours"] *= 1 + 1e-6  # moved
    rows[1]["ours"] *= 1 + 1e-12  # within 1e-9: not moved
    gone = rows.pop(2)["id"]
    rows.append({"id": "new-row", "paper": None, "ours": 1.0, "unit": "x"})
    ev = actual["evaluate_sata.json"]
    ev["total_energy_pj"] *= 2
    ev["layers"][3]["breakdown_pj"][next(iter(ev["layers"][3]["breakdown_pj"]))] += 1.0
    ev["method"] = "other"
    moved = golden.compare(expected, actual)
    first = expected[golden.ROWS_FILE]["rows"][0]["id"]
    assert any(line.startswith(f"reproduce_rows.json: row {first}.ours: ") and "+1e-06" in line for line in moved)
    assert not any(expected[golden.ROWS_FILE]["rows"][1]["id"] + ".ours" in line for line in moved)
    assert f"reproduce_rows.json: row {gone}: removed" in "\n".join(moved)
    assert any("row new-row: added" in line for line in moved)
    assert any(line.startswith("evaluate_sata.json: total_energy_pj: ") and "+1" in line for line in moved)
    assert any(line.startswith("evaluate_sata.json: layers[3].breakdown_pj.") for line in moved)
    assert "evaluate_sata.json: method: " in "\n".join(moved)
    assert len(moved) == 6, moved


def test_update_writes_what_load_reads(tmp_path: Path, now: dict[str, Any]) -> None:
    golden.write(now, tmp_path)
    assert golden.load(tmp_path) == now
    assert golden.compare(golden.load(tmp_path), now) == []
    (tmp_path / golden.evaluate_file("generic3", None)).unlink()
    assert golden.compare(golden.load(tmp_path), now) == [
        f"evaluate_generic3.json: no golden file (run {golden.COMMAND})"
    ]
