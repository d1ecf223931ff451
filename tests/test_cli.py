"""The CLI's contract for bad input: one line naming the file/key/level and the numbers, exit 2,
no traceback (a traceback only with --debug)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from spikeloop.cli import main

ARCHSPECS = Path(__file__).resolve().parent.parent / "archspecs"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


def test_evaluate_writes_json_with_stable_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "r.json"
    rc, out, _ = run(
        ["evaluate", "--arch", "generic3", "--network", "vgg5-cifar10", "-T", "2", "--json", str(f)], capsys
    )
    assert rc == 0
    d = json.loads(f.read_text())
    for key in (
        "arch",
        "network",
        "T",
        "total_energy_pj",
        "cycles",
        "latency_s",
        "area_mm2",
        "edp_pj_s",
        "breakdown_pj",
        "layers",
    ):
        assert key in d
    assert d["T"] == 2
    assert abs(sum(d["breakdown_pj"].values()) - d["total_energy_pj"]) < 1e-6 * d["total_energy_pj"]
    assert abs(sum(lr["total_energy_pj"] for lr in d["layers"]) - d["total_energy_pj"]) < 1e-6 * d["total_energy_pj"]
    assert "compute/ac" in d["breakdown_pj"] and "compute/lif" in d["breakdown_pj"]
    assert any(k.startswith("static/") for k in d["breakdown_pj"])
    conv = next(lr for lr in d["layers"] if lr["kind"] == "conv")
    assert conv["mapping"][0]["level"] == "DRAM"
    assert "total" in out


def _arch_with(tmp_path: Path, old: str, new: str) -> Path:
    text = (ARCHSPECS / "generic3.yaml").read_text()
    assert old in text
    p = tmp_path / "bad.yaml"
    p.write_text(text.replace(old, new, 1))
    return p


@pytest.mark.parametrize(
    ("old", "new", "expect"),
    [
        (
            "capacity_bits: 2048",
            "capacity_bits: -5",
            "levels[2].capacity_bits: expected a positive integer or null, got -5",
        ),
        ("word_bits: 32", "word_bits: 32\n    wordbits: 3", "levels[1].wordbits: unknown key"),
        ("name: generic3", "name: generic3\nlevels: [", "malformed YAML"),
    ],
)
def test_bad_arch_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, expect: str
) -> None:
    bad = _arch_with(tmp_path, old, new)
    rc, _, err = run(["evaluate", "--arch", str(bad), "--network", "vgg5-cifar10"], capsys)
    assert rc == 2
    assert expect in err
    assert "bad.yaml" in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_mapping_whose_factors_do_not_multiply(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m = tmp_path / "m.yaml"
    m.write_text("mapping:\n  - level: DRAM\n    temporal: [[K, 3]]\n  - level: GLB\n  - level: RF\n")
    rc, _, err = run(["evaluate", "--arch", "generic3", "--network", "vgg5-cifar10", "--mapping", str(m)], capsys)
    assert rc == 2
    assert "factors of T multiply to 1" in err or "factors of" in err
    assert "conv1" in err
    assert len(err.strip().splitlines()) == 1


def test_tile_that_overflows_a_buffer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    net = tmp_path / "tiny.yaml"
    net.write_text(
        "name: tiny\ntimesteps: 1\ninput: {channels: 4, height: 4, width: 4}\n"
        "defaults: {weight_bits: 8, psum_bits: 16, membrane_bits: 16, spike_density: 0.2, weight_density: 1.0,"
        " neuron: {leak: 1.0, threshold: 1.0, reset: soft}}\n"
        "layers:\n  - {name: c1, kind: conv, out_channels: 8, kernel: 3, padding: 1}\n"
    )
    m = tmp_path / "m.yaml"
    # everything in the RF (2048 bits): the weight tile alone is 8*4*9*8 = 2304 bits
    m.write_text(
        "mapping:\n  - level: DRAM\n  - level: GLB\n"
        "  - level: RF\n    temporal: [[K, 8], [C, 4], [P, 4], [Q, 4], [R, 3], [S, 3]]\n"
    )
    rc, _, err = run(["evaluate", "--arch", "generic3", "--network", str(net), "--mapping", str(m)], capsys)
    assert rc == 2
    assert "RF" in err and "capacity is 2048 bits" in err
    assert len(err.strip().splitlines()) == 1


def test_unknown_dataflow_and_debug_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(["evaluate", "--arch", "generic3", "--network", "vgg5-cifar10", "--dataflow", "zz"], capsys)
    assert rc == 2 and "--dataflow zz: not a dataflow" in err
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "spikeloop.cli",
            "--debug",
            "evaluate",
            "--arch",
            "generic3",
            "--network",
            "vgg5-cifar10",
            "--dataflow",
            "zz",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0 and "Traceback" in proc.stderr
