"""Levels priced by ``estimate:`` blocks, through the arch loader and the commands (issue 18).

The estimators themselves are pinned in tests/test_components.py; here the same acceptance holds for a level of a
loaded arch (archspecs/variants/sata-estimate.yaml): doubling an SRAM level's capacity or moving the arch from
28 to 65 nm moves that level's per-word energies, static energy and area by the documented factors; bad
estimator inputs make ``spikeloop evaluate`` exit 2 with one line naming the YAML key the value was written at;
``evaluate --json``, sweep records and ``explain`` carry the resolved numbers, which recompute from their inputs.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from costmodel.arch import Level, arch_from_dict
from costmodel.components import estimate, level_estimates
from costmodel.specio import SpecError, load_yaml
from costmodel.types import Action
from spikeloop.cli import main

REPO = Path(__file__).resolve().parents[1]
VARIANT = REPO / "archspecs" / "variants" / "sata-estimate.yaml"
ESTIMATED = ("DRAM", "GLB-W", "GLB-A", "SPAD-A", "SPAD-W")

# A two-layer network: a point costs milliseconds.
TINY: dict[str, Any] = {
    "name": "tiny",
    "dataset": "toy",
    "source": "test",
    "timesteps": 2,
    "input": {"channels": 2, "height": 8, "width": 8},
    "defaults": {
        "weight_bits": 8,
        "psum_bits": 16,
        "membrane_bits": 16,
        "spike_density": 0.25,
        "weight_density": 1.0,
        "neuron": {"leak": 0.9, "threshold": 1.0, "reset": "soft"},
    },
    "layers": [
        {"name": "conv1", "kind": "conv", "out_channels": 4, "kernel": 3, "padding": 1},
        {"name": "fc", "kind": "linear", "in_features": 256, "out_features": 3},
    ],
}


def variant() -> dict[str, Any]:
    return copy.deepcopy(load_yaml(VARIANT))


def level_of(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(lv for lv in data["levels"] if lv["name"] == name)


def loaded(data: dict[str, Any], name: str) -> Level:
    arch = arch_from_dict(data, "variant.yaml")
    return arch.levels[arch.level_index(name)]


def numbers(level: Level) -> dict[str, float]:
    """What the engine prices a level with."""
    return {
        "read_pj": level.energy(Action.READ),
        "write_pj": level.energy(Action.WRITE),
        "update_pj": level.energy(Action.UPDATE),
        "static_pj_per_cycle": level.static_pj_per_cycle,
        "area_um2": level.area_um2,
    }


# ---------------------------------------------------------------------------------------------- acceptance
# docs/components.md, "sram": the fitted factors of a capacity doubling, and CACTI's own doubling ratios
# (10th-90th percentile over the 192 pairs (C, 2C) at 32 nm) they must lie in. Leakage is the static energy.
DOUBLING = {
    "read_pj": (1.4715, 1.26, 1.72),
    "write_pj": (1.4489, 1.29, 1.59),
    "update_pj": (None, 1.26, 1.72),  # read + write: between the two factors
    "static_pj_per_cycle": (1.9165, 1.76, 2.01),
    "area_um2": (1.9265, 1.63, 2.17),
}


@pytest.mark.parametrize("capacity_bits", [294912, 1179648])
def test_doubling_an_estimated_sram_level_moves_its_numbers_by_the_documented_fit(capacity_bits: int) -> None:
    small, large = variant(), variant()
    level_of(small, "GLB-W")["capacity_bits"] = capacity_bits
    level_of(large, "GLB-W")["capacity_bits"] = 2 * capacity_bits
    before, after = numbers(loaded(small, "GLB-W")), numbers(loaded(large, "GLB-W"))
    for quantity, (fitted, low, high) in DOUBLING.items():
        ratio = after[quantity] / before[quantity]
        if fitted is not None:
            assert ratio == pytest.approx(fitted, rel=1e-3), quantity
        assert low <= ratio <= high, (quantity, ratio)
    for name in ("DRAM", "GLB-A", "SPAD-A", "SPAD-W"):  # the other levels do not move
        assert numbers(loaded(small, name)) == numbers(loaded(large, name)), name


def test_28_to_65_nm_moves_every_estimated_on_chip_level_as_documented() -> None:
    """docs/components.md, "Technology scaling": energy x4.836, leakage x0.2217, area x5.028 (sram and regfile);
    the DRAM names its own node and does not scale."""
    at28, at65 = variant(), variant()
    assert at28["technology_nm"] == 28
    at65["technology_nm"] = 65
    for name in ("GLB-W", "GLB-A"):
        a, b = numbers(loaded(at28, name)), numbers(loaded(at65, name))
        for quantity in ("read_pj", "write_pj", "update_pj"):
            assert b[quantity] / a[quantity] == pytest.approx(4.836, rel=1e-3), (name, quantity)
        assert b["static_pj_per_cycle"] / a["static_pj_per_cycle"] == pytest.approx(0.2217, rel=1e-3), name
        assert b["area_um2"] / a["area_um2"] == pytest.approx(5.028, rel=1e-3), name
    for name in ("SPAD-A", "SPAD-W"):  # register files: the same area table; SPAD-A's static is its clock
        a, b = numbers(loaded(at28, name)), numbers(loaded(at65, name))
        assert b["area_um2"] / a["area_um2"] == pytest.approx(5.028, rel=1e-3), name
    spad_a = numbers(loaded(at28, "SPAD-A")), numbers(loaded(at65, "SPAD-A"))
    assert spad_a[1]["static_pj_per_cycle"] > 4 * spad_a[0]["static_pj_per_cycle"]  # ungated clock: energy table
    assert numbers(loaded(at28, "DRAM")) == numbers(loaded(at65, "DRAM"))


def test_a_bigger_estimated_buffer_raises_the_arch_area_by_its_own_growth(tmp_path: Path) -> None:
    """The evaluated chip area follows the estimate: the difference of two runs is the GLB-W area difference."""
    from costmodel.network import network_from_data
    from spikeloop.engine import run_network

    small, large = variant(), variant()
    level_of(large, "GLB-W")["capacity_bits"] = 2 * level_of(small, "GLB-W")["capacity_bits"]
    net = network_from_data(copy.deepcopy(TINY), "tiny.yaml")
    runs = [run_network(arch_from_dict(d, "v.yaml"), net, dataflow="time-batched").to_dict() for d in (small, large)]
    grown_um2 = runs[1]["estimates"]["GLB-W"]["area_um2"] - runs[0]["estimates"]["GLB-W"]["area_um2"]
    assert grown_um2 > 0
    assert (runs[1]["area_mm2"] - runs[0]["area_mm2"]) * 1e6 == pytest.approx(grown_um2, rel=1e-9)


# ---------------------------------------------------------------------------------------------- bad inputs
BAD_INPUTS = [
    # (level, key, value, the key path the error names, words of the rule)
    ("GLB-W", "estimate.class", "sram2", "levels[1].estimate.class", "unknown component class"),
    ("GLB-W", "estimate.capacity_bits", 0, "levels[1].estimate.capacity_bits", "expected a positive integer, got 0"),
    ("GLB-W", "estimate.technology_nm", 130, "levels[1].estimate.technology_nm", "outside the calibrated range 22-90"),
    ("GLB-W", "estimate.technology_nm", 14, "levels[1].estimate.technology_nm", "outside the calibrated range 22-90"),
    (None, "technology_nm", 130, "technology_nm", "(levels[1].estimate takes its technology_nm from here)"),
    ("GLB-W", "capacity_bits", 8192, "levels[1].capacity_bits", "estimate takes its capacity_bits from here"),
    (
        "GLB-W",
        "estimate.capacity_bits",
        2359296,
        "levels[1].estimate.capacity_bits",
        "differs from the level's capacity_bits 1179648",
    ),
    ("GLB-W", "estimate.width_bits", 64, "levels[1].estimate.width_bits", "differs from the level's word_bits 256"),
    ("GLB-W", "estimate.colour", "red", "levels[1].estimate.colour", "unknown attribute of class sram"),
    ("GLB-W", "estimate", [1, 2], "levels[1].estimate", "expected a mapping"),
    ("SPAD-W", "estimate.clock_gated", "yes", "levels[4].estimate.clock_gated", "expected true or false"),
]


def _set(data: dict[str, Any], level: str | None, key: str, value: Any) -> None:  # noqa: ANN401
    node = data if level is None else level_of(data, level)
    *parents, last = key.split(".")
    for p in parents:
        node = node[p]
    node[last] = value


@pytest.mark.parametrize(("level", "key", "value", "path", "rule"), BAD_INPUTS)
def test_bad_estimator_input_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], level: str | None, key: str, value: Any, path: str, rule: str
) -> None:
    data = variant()
    _set(data, level, key, value)
    bad = tmp_path / "BAD.yaml"
    bad.write_text(yaml.safe_dump(data, sort_keys=False))
    code = main(["evaluate", "--arch", str(bad), "--network", "vgg9-cifar10", "-T", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1, err
    assert f"{bad}: {path}: " in err, err
    assert rule in err, err


def test_the_variant_and_a_valid_explicit_block_load() -> None:
    """The control of the bad-input cases: the variant loads, and an explicit capacity that agrees with the level
    (2 macros x 32 KB for GLB-A) is accepted and equals the defaulted one."""
    data = variant()
    level_of(data, "GLB-A")["estimate"]["capacity_bits"] = 262144
    assert numbers(loaded(data, "GLB-A")) == numbers(loaded(variant(), "GLB-A"))


def test_an_unknown_class_is_a_spec_error_naming_the_file() -> None:
    data = variant()
    level_of(data, "SPAD-A")["estimate"]["class"] = "flipflop"
    with pytest.raises(SpecError, match=r"^my\.yaml: levels\[3\]\.estimate\.class: unknown component class"):
        arch_from_dict(data, "my.yaml")


# ---------------------------------------------------------------------------------------------- reproducible
def _recomputed(record: dict[str, Any]) -> dict[str, Any]:
    return estimate({"class": record["class"], **record["inputs"]}).to_dict()


def test_evaluate_json_stores_the_resolved_numbers_and_they_recompute(tmp_path: Path) -> None:
    net = tmp_path / "tiny.yaml"
    net.write_text(yaml.safe_dump(TINY, sort_keys=False))
    out = tmp_path / "r.json"
    assert main(["evaluate", "--arch", str(VARIANT), "--network", str(net), "--dataflow", "time-batched",
                 "--json", str(out), "--quiet"]) == 0  # fmt: skip
    stored = json.loads(out.read_text())["estimates"]
    assert list(stored) == list(ESTIMATED)
    arch = arch_from_dict(load_yaml(VARIANT), "v.yaml")
    for i, level in enumerate(arch.levels):
        record = stored[level.name]
        own = {k: v for k, v in record.items() if k not in ("static_pj_per_cycle", "instances")}
        assert own == _recomputed(record), level.name  # the stored inputs reproduce the stored numbers
        assert numbers(level) == {
            "read_pj": record["read_pj"],
            "write_pj": record["write_pj"],
            "update_pj": record["update_pj"],
            "static_pj_per_cycle": record["static_pj_per_cycle"],
            "area_um2": record["area_um2"],
        }
        assert record["static_pj_per_cycle"] == pytest.approx(
            record["leakage_mw"] * 1e9 / arch.clock_hz + record["clock_pj_per_cycle"], rel=1e-12
        )
        assert record["instances"] == arch.instances(i)
    assert stored["GLB-W"]["inputs"]["capacity_bits"] == level_of(load_yaml(VARIANT), "GLB-W")["capacity_bits"]


def test_archs_with_numbers_store_no_estimates(tmp_path: Path) -> None:
    from costmodel.arch import load_arch

    assert level_estimates(load_arch("sata")) == {}
    assert level_estimates(load_arch("generic3")) == {}


def test_sweep_records_carry_the_estimates(tmp_path: Path) -> None:
    from spikeloop.sweep import evaluate_point, load_grid

    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY, sort_keys=False))
    grid = tmp_path / "g.yaml"
    grid.write_text(
        f"archs: [{VARIANT}]\noverrides:\n  levels[GLB-W].capacity_bits: [294912, 589824]\n"
        "networks: [tiny.yaml]\nT: [1]\ndataflows: [time-batched]\n"
    )
    records = [evaluate_point(t) for t in load_grid(grid).tasks]
    assert [r["status"] for r in records] == ["ok", "ok"], records
    by_capacity = {r["overrides"]["levels[GLB-W].capacity_bits"]: r for r in records}
    small, large = by_capacity[294912]["estimates"]["GLB-W"], by_capacity[589824]["estimates"]["GLB-W"]
    assert (small["inputs"]["capacity_bits"], large["inputs"]["capacity_bits"]) == (294912, 589824)
    assert large["area_um2"] / small["area_um2"] == pytest.approx(DOUBLING["area_um2"][0], rel=1e-3)
    assert by_capacity[589824]["area_mm2"] > by_capacity[294912]["area_mm2"]


def test_explain_prints_the_estimated_levels(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    net = tmp_path / "tiny.yaml"
    net.write_text(yaml.safe_dump(TINY, sort_keys=False))
    assert main(["explain", "--arch", str(VARIANT), "--network", str(net), "--layer", "conv1"]) == 0
    text = capsys.readouterr().out
    section = text.split("## Estimated levels", 1)[1].split("\n## ", 1)[0]
    arch = arch_from_dict(load_yaml(VARIANT), "v.yaml")
    lines = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("| ")
    ]
    head, rows = lines[0], {cells[0]: dict(zip(lines[0], cells, strict=True)) for cells in lines[1:]}
    assert head[:3] == ["level", "class", "estimated from"]
    assert list(rows) == list(ESTIMATED)
    for level in arch.levels:
        row = rows[level.name]
        assert row["read pJ"] == f"{level.energy(Action.READ):.6g}", row
        assert row["write pJ"] == f"{level.energy(Action.WRITE):.6g}", row
        assert row["static pJ/cycle"] == f"{level.static_pj_per_cycle:.6g}", row
        assert row["area µm²"] == f"{level.area_um2:.6g}", row
    assert "capacity_bits 1179648" in rows["GLB-W"]["estimated from"]
    assert "technology_nm 28" in rows["GLB-W"]["estimated from"]
    assert "clock_gated false" in rows["SPAD-A"]["estimated from"]
    assert "Source: spikeloop builtin v" in section
    assert main(["explain", "--arch", "sata", "--network", str(net), "--layer", "conv1"]) == 0
    assert "## Estimated levels" not in capsys.readouterr().out
