"""spikeloop timeloop-model on Timeloop's eyeriss_like example against timeloop-model v3.0.3's own numbers.

The case (tests/data/timeloop/eyeriss_like: arch, ERT, problem, mapping written for these tests) is a 3x3 conv,
C = M = 64, P = Q = 32, on the eyeriss_like architecture of the public timeloop-accelergy-exercises repository
(github.com/Accelergy-Project/timeloop-accelergy-exercises) with its frozen 32 nm energy table, under the mapping
Timeloop's own mapper found. The numbers below are what timeloop-model v3.0.3 (github.com/NVlabs/timeloop, tag
v3.0.3) prints for these files; ``benchmarks/timeloop_golden.py`` regenerates them from the binary into
golden.json (tests/test_timeloop_golden.py checks every count of every case).

Every count matches exactly: MACs, cycles, utilization and every Weights count come from the plain tile analysis,
the Outputs counts from the profile's update_reads / drain_reads, and the Inputs counts from its halo_reuse,
peer_forwarding and peer_links_one_instance (costmodel/halo.py: Timeloop's sampled walk with sliding-window
reuse and links between mesh neighbours).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from spikeloop.timeloop import PROFILE_OPTIONS, run_model, timeloop_accounting

DATA = Path(__file__).parent / "data" / "timeloop" / "eyeriss_like"
FILES = [str(DATA / f) for f in ("arch.yaml", "problem.yaml", "mapping.yaml", "ERT.yaml")]

MACS = 37_748_736
#: timeloop-model v3.0.3: (level, data space, action) -> scalar accesses summed over instances.
TIMELOOP = {
    ("DRAM", "Weights", "reads"): 147_456,
    ("DRAM", "Inputs", "reads"): 78_336,
    ("DRAM", "Outputs", "updates"): 65_536,
    ("shared_glb", "Inputs", "reads"): 221_184,
    ("shared_glb", "Inputs", "fills"): 78_336,
    ("shared_glb", "Outputs", "reads"): 458_752,
    ("shared_glb", "Outputs", "updates"): 524_288,
    ("ifmap_spad", "Inputs", "reads"): 38_486_016,
    ("ifmap_spad", "Inputs", "fills"): 4_276_224,
    ("weights_spad", "Weights", "reads"): 37_748_736,
    ("weights_spad", "Weights", "fills"): 147_456,
    ("psum_spad", "Outputs", "reads"): 37_355_520,
    ("psum_spad", "Outputs", "fills"): 2_752_512,
    ("psum_spad", "Outputs", "updates"): 37_748_736,
}
ENERGY_PJ = {
    "DRAM": 18_644_992,
    "shared_glb": 2_610_461.91,
    "ifmap_spad": 4_273_425.21,
    "weights_spad": 37_445_844.34,
    "psum_spad": 18_261_265.61,
}
MAC_PJ = 7_840_110
TOTAL_PJ = 89_076_099.55  # the levels' energies as timeloop-model prints them; its summary: 89.08 uJ


@pytest.fixture(scope="module")
def result():  # noqa: ANN201
    return run_model(FILES)[1]


def test_profile_options_are_the_issue_names() -> None:
    acc, missing = timeloop_accounting()
    assert acc.name == "timeloop"
    assert PROFILE_OPTIONS == {
        "update_reads": True,
        "drain_reads": False,
        "halo_reuse": True,
        "peer_forwarding": True,
        "peer_links_one_instance": True,
        "final_writeback": True,
    }
    assert not missing
    for k, v in PROFILE_OPTIONS.items():
        assert getattr(acc, k) is v


def test_macs_cycles_utilization(result) -> None:  # noqa: ANN001
    assert result.macs == MACS
    assert result.cycles == 393_216
    assert result.utilization == pytest.approx(MACS / (393_216 * 168))
    assert round(result.utilization, 2) == 0.57
    assert round(result.mac_energy_pj) == MAC_PJ


TILE = [k for k in TIMELOOP if k[1] != "Inputs"]
INPUTS = [k for k in TIMELOOP if k[1] == "Inputs"]


@pytest.mark.parametrize("key", TILE, ids=["/".join(k) for k in TILE])
def test_weights_and_outputs_counts(result, key) -> None:  # noqa: ANN001
    assert result.count(*key) == TIMELOOP[key]


@pytest.mark.parametrize("key", INPUTS, ids=["/".join(k) for k in INPUTS])
def test_inputs_counts(result, key) -> None:  # noqa: ANN001
    assert result.count(*key) == TIMELOOP[key]


def test_no_other_counts(result) -> None:  # noqa: ANN001
    """Nothing is counted that timeloop-model does not count (no drain reads, no membrane, no spikes)."""
    for lv in result.levels:
        for space, actions in lv.counts.items():
            for action, v in actions.items():
                assert not v or (lv.name, space, action) in TIMELOOP, (lv.name, space, action, v)


@pytest.mark.parametrize("level", ["weights_spad", "psum_spad"])
def test_energy_of_levels_without_inputs(result, level) -> None:  # noqa: ANN001
    lv = next(v for v in result.levels if v.name == level)
    assert lv.energy_pj == pytest.approx(ENERGY_PJ[level], abs=0.01)


@pytest.mark.parametrize("level", ["DRAM", "shared_glb", "ifmap_spad"])
def test_energy_of_levels_with_inputs(result, level) -> None:  # noqa: ANN001
    lv = next(v for v in result.levels if v.name == level)
    assert lv.energy_pj == pytest.approx(ENERGY_PJ[level], abs=2.0)


def test_total_energy(result) -> None:  # noqa: ANN001
    assert result.total_energy_pj == pytest.approx(TOTAL_PJ, abs=2.0)
    assert f"{result.fj_per_mac:,.2f}" == "2,359.71"
