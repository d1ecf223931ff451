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

    os_ = memory_movement_pj(arch, engine_network(arch, "vgg9-tinyimagenet", "os", 4).total)
    tb = memory_movement_pj(arch, engine_network(arch, "vgg9-tinyimagenet", "time-batched", 4).total)
    assert tb < os_


def test_memory_levels_come_from_the_arch(arch):
    from dataclasses import replace

    from spikeloop.experiments.sata import memory_levels

    assert memory_levels(arch) == ("DRAM", "GLB-W", "GLB-A")  # the levels at and above the 16 x 8 PE array
    renamed = replace(arch, levels=tuple(replace(lv, name=f"L{i}") for i, lv in enumerate(arch.levels)))
    assert memory_levels(renamed) == ("L0", "L1", "L2")


def test_stored_search_is_used_only_for_its_arch_values_and_layers(arch, tmp_path):
    import json

    from costmodel.mapping import Invalid
    from spikeloop.experiments import sata, sata_search

    layer = load_network("bntt").layers[-1]  # fc2
    mapping = sata.heuristic(arch, layer, "ws")
    assert not isinstance(mapping, Invalid)
    names = [lv.name for lv in arch.levels]
    from costmodel.mapping import mapping_to_dict

    entry = {
        "key": sata_search.layer_key(layer),
        "layer": layer.name,
        "network": "bntt",
        "status": "FEASIBLE",
        "method": "cpsat",
        "energy_pj": None,
        "bound": None,
        "wall_s": 1.0,
        "mapping": mapping_to_dict(mapping, names)["mapping"],
    }
    data = {
        "arch": "sata",
        "arch_fingerprint": sata_search.arch_fingerprint("sata"),
        "time_limit_s": 3.0,
        "layers": [entry],
    }
    path = tmp_path / "store.json"
    path.write_text(json.dumps(data))
    store, why = sata_search.load_store(arch, path)
    assert store is not None and why == ""
    assert store.lookup(layer).mapping == mapping
    assert store.lookup(layer.with_timesteps(4)) is None  # another T is another search
    pick, stats = sata.best_mapper(arch, store)
    counts = stats.counts
    assert pick(layer) is not None and counts["FEASIBLE"] == 1 and counts["won-search"] + counts["won-heuristic"] == 1
    note = sata.best_note(stats, store, "", stats.heuristic_pj)
    assert "FEASIBLE 1" in note and "3 s per layer shape" in note
    data["arch_fingerprint"] = "0" * 16
    path.write_text(json.dumps(data))
    store, why = sata_search.load_store(arch, path)
    assert store is not None and why == "" and store.lookup(layer).mapping == mapping  # still a legal candidate
    assert "other sata spec values" in store.stale and sata_search.COMMAND in store.stale
    assert store.stale in sata.best_note(stats, store, "", stats.heuristic_pj)
    store, why = sata_search.load_store(arch, tmp_path / "missing.json")
    assert store is None and "missing" in why
