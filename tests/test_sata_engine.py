"""The engine on archspecs/sata.yaml: every dataflow maps VGG9, per-layer JSON, the mapping memo."""

from __future__ import annotations

import pytest

from costmodel.arch import load_arch
from costmodel.network import load_network
from mappers.dataflows import DATAFLOWS
from mappers.heuristic import heuristic_mapping


@pytest.fixture(scope="module")
def arch():
    return load_arch("sata")


def test_evaluate_vgg9_per_layer_json(tmp_path):
    import json

    from spikeloop.cli import main

    out = tmp_path / "e.json"
    assert main(["evaluate", "--arch", "sata", "--network", "vgg9-cifar10", "-T", "4", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["arch"] == "sata" and len(data["layers"]) == 12
    assert all("breakdown_pj" in lr and lr["total_energy_pj"] > 0 for lr in data["layers"])


@pytest.mark.parametrize("flow", ["os", "ws", "time-batched"])
def test_every_dataflow_maps_every_vgg9_layer(arch, flow):
    from costmodel.mapping import Invalid

    for layer in load_network("vgg9-cifar10").layers:
        if layer.has_weights:
            assert not isinstance(heuristic_mapping(arch, layer, DATAFLOWS[flow]), Invalid), layer.name


def test_memoised_mapping_equals_the_heuristic(arch):
    from spikeloop.experiments.sata import heuristic

    for layer in load_network("tdbn").layers[:3] + load_network("bntt").layers[-2:]:
        for flow in ("os", "ws", "time-batched"):
            assert heuristic(arch, layer, flow) == heuristic_mapping(arch, layer, DATAFLOWS[flow])


def test_time_batched_moves_less_memory_than_os_at_t4(arch):
    from spikeloop.experiments.sata import engine_network, memory_movement_pj

    os_ = memory_movement_pj(engine_network(arch, "vgg9-tinyimagenet", "os", 4).total)
    tb = memory_movement_pj(engine_network(arch, "vgg9-tinyimagenet", "time-batched", 4).total)
    assert tb < os_
