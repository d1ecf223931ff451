"""costmodel.estimate and the estimate / reproduce plumbing."""

from __future__ import annotations

import json

import pytest

from costmodel.arch import load_arch
from costmodel.estimate import (
    conv_stack_macs,
    e_ac_from_arch,
    e_ac_pj,
    estimated_energy_pj,
    op_energy_pj,
    reported_ops_energy_pj,
)


def test_e_ac_is_adder_plus_register_at_250_mhz():
    assert e_ac_pj(0.01689, 0.01249, 2.5e8) == pytest.approx(0.11752)
    assert e_ac_from_arch(load_arch("sata")) == pytest.approx(0.1175, abs=1e-4)
    assert op_energy_pj(1.0, 1e9) == pytest.approx(1.0)  # 1 mW for 1 ns = 1 pJ


def test_estimate_formula():
    assert estimated_energy_pj(1000, 4, 0.75, 0.5) == pytest.approx(1000 * 4 * 0.25 * 0.5)
    with pytest.raises(ValueError):
        estimated_energy_pj(1, 1, 1.5, 1.0)


def test_conv_stack_macs_by_hand():
    # 3 -> 4 at 4x4 (3*9*4*16), pool to 2x2, 4 -> 8 at 2x2 (4*9*8*4), FC 32 -> 10
    assert conv_stack_macs([4, "M", 8], in_channels=3, image_size=4, fc=[(32, 10)]) == 1728 + 1152 + 320
    with pytest.raises(ValueError):
        conv_stack_macs([4, "X"], in_channels=3, image_size=4)


def test_reported_ops():
    assert reported_ops_energy_pj(10, 2, 0.5, 3.0) == pytest.approx(11.0)


def test_estimate_rows_have_the_required_ids():
    from spikeloop.experiments.estimate import rows

    ids = {r.id for r in rows()}
    for w in ("SBP", "BNTT", "Direct", "TSSL", "LTH", "TDBN"):
        assert f"table2-est-{w}" in ids


def test_reproduce_estimate_json(tmp_path, capsys):
    from spikeloop.cli import main

    out = tmp_path / "rows.json"
    assert main(["reproduce", "estimate", "--json", str(out), "--out", str(tmp_path / "rep")]) == 0
    data = json.loads(out.read_text())
    assert {"id", "paper", "ours", "unit", "ratio", "note", "command"} <= set(data[0])
    assert (tmp_path / "rep" / "report.md").exists()
    assert "| table2-est-TDBN" in capsys.readouterr().out


def test_gather_rows_skips_absent_experiments(monkeypatch):
    from spikeloop.commands import reproduce

    monkeypatch.setattr(
        reproduce,
        "_load",
        lambda name: None if name == "accuracy" else reproduce.importlib.import_module(f"spikeloop.experiments.{name}"),
    )
    skipped: list[str] = []
    assert reproduce.gather_rows("accuracy", skipped=skipped) == [] and skipped == ["accuracy"]
    with pytest.raises(ValueError):
        reproduce.gather_rows("nope")
