"""One engine, one number per mapping: every shipped arch x three networks gives the same per-layer energy,
cycles and area through ``evaluate --json``, ``evaluate --mapping`` (replaying the mappings evaluate reports),
``compare --out``, a sweep and ``explain``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import archspecs
import spikeloop as sl
from costmodel.arch import load_arch
from mappers.search import default_dataflow
from spikeloop.cli import main
from spikeloop.commands.explain import run_explain

ARCHS = archspecs.arch_names()
NETWORKS = ("vgg5-cifar10", "digits-cnn", "resnet18-cifar10")  # pools, a 1-channel input, residual adds
REL = 1e-9


def _layers(d: dict) -> dict[str, tuple[float, float]]:
    return {lr["name"]: (lr["total_energy_pj"], lr["cycles"]) for lr in d["layers"]}


def _same(a: dict[str, tuple[float, float]], b: dict[str, tuple[float, float]], what: str) -> None:
    assert a.keys() == b.keys(), what
    for name, (e, c) in a.items():
        assert b[name][0] == pytest.approx(e, rel=REL, abs=1e-12), f"{what}: energy of {name}"
        assert b[name][1] == pytest.approx(c, rel=REL, abs=1e-12), f"{what}: cycles of {name}"


def test_every_arch_is_shipped_here() -> None:
    assert {"generic3", "sata", "spikeflow"} <= set(ARCHS)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("network", NETWORKS)
def test_every_command_gives_one_number(
    arch: str, network: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = load_arch(arch)
    flow = default_dataflow(a)
    t = sl.load_network(network).timesteps

    first = tmp_path / "evaluate.json"
    assert main(["evaluate", "--arch", arch, "--network", network, "--json", str(first), "--quiet"]) == 0
    ref = json.loads(first.read_text())
    layers = _layers(ref)
    assert ref["method"] == flow

    replay = tmp_path / "replay.json"
    assert (
        main(
            [
                "evaluate",
                "--arch",
                arch,
                "--network",
                network,
                "--mapping",
                str(first),
                "--json",
                str(replay),
                "--quiet",
            ]
        )
        == 0
    )
    again = json.loads(replay.read_text())
    _same(layers, _layers(again), "evaluate --mapping (replay)")
    assert again["area_mm2"] == pytest.approx(ref["area_mm2"], rel=REL)

    out = tmp_path / "cmp"
    assert (
        main(
            [
                "compare",
                "--arch",
                arch,
                "--network",
                network,
                "--dataflows",
                flow,
                "-T",
                str(t),
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    cmp = json.loads((out / "compare.json").read_text())
    (res,) = cmp["results"]
    (row,) = cmp["summary"]  # the split adds up, whatever the arch (crossbar periphery included)
    parts = ("memory_energy_pj", "compute_energy_pj", "periphery_energy_pj", "static_energy_pj")
    assert sum(row[k] for k in parts) == pytest.approx(row["total_energy_pj"], rel=REL)
    assert (row["periphery_energy_pj"] > 1e-9 * row["total_energy_pj"]) == (a.crossbar is not None)
    _same(layers, _layers(res), "compare --out")
    assert res["area_mm2"] == pytest.approx(ref["area_mm2"], rel=REL)

    grid = {"archs": [arch], "networks": [network], "T": [t], "dataflows": [flow]}
    swept = sl.sweep_grid(grid, tmp_path / "sweep.jsonl", workers=0)
    (rec,) = swept.to_dict()["records"]
    assert rec["status"] == "ok", rec
    _same(layers, {lr["name"]: (lr["total_energy_pj"], lr["cycles"]) for lr in rec["layers"]}, "sweep")
    assert rec["area_mm2"] == pytest.approx(ref["area_mm2"], rel=REL)

    weight_layers = [lr for lr in ref["layers"] if lr["mapping"] is not None]
    lr = weight_layers[min(1, len(weight_layers) - 1)]
    ex = run_explain(arch, network, lr["name"])
    assert not ex.mismatches, ex.mismatches
    assert ex.cost.total_energy_pj == pytest.approx(lr["total_energy_pj"], rel=REL)
    assert ex.cost.cycles == pytest.approx(lr["busy_cycles"], rel=REL)  # a layer's own cycles, before composition
    capsys.readouterr()
