"""Report files: valid, non-blank PNGs; CSV and Markdown agree with the JSON; compare outputs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from spikeloop.figures import draw_all
from spikeloop.report import fmt, write_report
from spikeloop.rows import Row

WORKS = ("SBP", "BNTT", "Direct", "TSSL", "LTH", "TDBN")


def synthetic_rows() -> list[Row]:
    rows = []
    for i, w in enumerate(WORKS):
        rows.append(Row(id=f"table2-est-{w}", paper=1e4 * (i + 1), ours=1.1e4 * (i + 1), unit="nJ", note="n"))
        rows.append(Row(id=f"table2-sata-{w}", paper=1e7 * (i + 1), ours=0.9e7 * (i + 1), unit="nJ"))
    for t in (1, 2, 3, 4):
        rows.append(Row(id=f"f4b-energy-T{t}", paper=None, ours=100.0 * t, unit="µJ",
                        parts=(("compute", 20.0 * t), ("memory", 80.0 * t))))
    for t in (1, 2, 4, 8):
        rows.append(Row(id=f"f5a-memory-saving-T{t}", paper=62.5 if t == 4 else None, ours=10.0 * t, unit="%"))
    rows.append(Row(id="f5b-lif-share", paper=61.6, ours=62.9, unit="%", note="a, b"))
    return rows


def png_variance(path: Path) -> float:
    import matplotlib.image as mpimg

    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    return float(np.var(img[..., :3]))


def test_report_files_agree(tmp_path: Path) -> None:
    rows = synthetic_rows()
    drawn, missing = draw_all(rows, tmp_path, sweep=None)
    assert {"table2.png", "energy_vs_T.png", "dataflow_memory.png", "lif_sharing.png"} <= set(drawn)
    assert "accuracy_ir_drop.png" in missing
    write_report(rows, tmp_path, figures=drawn, missing=missing)
    for name in drawn:
        assert png_variance(tmp_path / name) > 1e-3, f"{name} looks blank"
    js = json.loads((tmp_path / "rows.json").read_text())
    assert [r["id"] for r in js] == [r.id for r in rows]
    with (tmp_path / "rows.csv").open() as f:
        table = list(csv.DictReader(f))
    md = (tmp_path / "report.md").read_text()
    for j, c in zip(js, table, strict=True):
        assert c["id"] == j["id"]
        assert c["ours"] == fmt(j["ours"])
        assert c["paper"] == fmt(j["paper"])
        assert f"| {j['id']} " in md
        assert fmt(j["ours"]) in md
    assert "accuracy_ir_drop.png" in md and "not drawn" in md


def test_blank_png_is_detected(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure()
    fig.savefig(tmp_path / "blank.png")
    plt.close(fig)
    assert png_variance(tmp_path / "blank.png") < 1e-6


def test_compare_outputs(tmp_path: Path) -> None:
    from spikeloop.cli import main

    rc = main(["compare", "--arch", "generic3", "--network", "vgg5-cifar10", "--dataflows", "os,time-batched",
               "-T", "1,4", "--out", str(tmp_path), "--quiet"])
    assert rc == 0
    d = json.loads((tmp_path / "compare.json").read_text())
    summary = {(r["dataflow"], r["T"]): r for r in d["summary"]}
    # T=1: the two dataflows differ only in where T sits, so they cost the same
    assert summary[("os", 1)]["total_energy_pj"] == pytest.approx(summary[("time-batched", 1)]["total_energy_pj"])
    # T=4: time-batched keeps weights and membranes in the PE: less memory energy than os
    assert summary[("time-batched", 4)]["memory_energy_pj"] < summary[("os", 4)]["memory_energy_pj"]
    with (tmp_path / "compare.csv").open() as f:
        csv_rows = list(csv.DictReader(f))
    assert len(csv_rows) == 4
    assert png_variance(tmp_path / "compare.png") > 1e-3
    md = (tmp_path / "compare.md").read_text()
    assert "winner" in md and "## Per layer, T = 4" in md


def test_reproduce_sata_writes_consistent_report(tmp_path: Path) -> None:
    """The real report path on the SATA and estimate experiments: every id in the Markdown, CSV == JSON."""
    from spikeloop.cli import main

    rc = main(["reproduce", "estimate", "--out", str(tmp_path), "--quiet", "--json", str(tmp_path / "x.json")])
    assert rc == 0
    js = json.loads((tmp_path / "rows.json").read_text())
    assert js == json.loads((tmp_path / "x.json").read_text())
    ids = {r["id"] for r in js}
    assert {f"table2-est-{w}" for w in WORKS} <= ids
    md = (tmp_path / "report.md").read_text()
    with (tmp_path / "rows.csv").open() as f:
        for c, j in zip(csv.DictReader(f), js, strict=True):
            assert c["id"] == j["id"] and c["ours"] == fmt(j["ours"])
            assert f"| {j['id']} " in md
    assert png_variance(tmp_path / "table2.png") > 1e-3
