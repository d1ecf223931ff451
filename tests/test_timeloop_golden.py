"""Every count and energy timeloop-model v3.0.3 reports for the golden cases, against spikeloop timeloop-model.

tests/data/timeloop/golden.json was written by ``benchmarks/timeloop_golden.py`` from a timeloop-model v3.0.3 build
(github.com/NVlabs/timeloop, tag v3.0.3) run on the files of each case; the tests never need the binary. Cases:
``eyeriss_like`` (Timeloop's own best mapping of a 3x3 conv, C = M = 64, P = Q = 32), ``eyeriss_like_b`` (another
mapping, M split between DRAM and the PE columns), ``eyeriss_like_m4`` (half the PE columns: links are reported for one
column), ``eyeriss_like_p_inner`` (P innermost at shared_glb: consecutive scratchpad tiles overlap),
``eyeriss_like_m_inner`` (M innermost at DRAM: the window reuse resets), ``eyeriss_like_random_a`` and
``eyeriss_like_random_b`` (random mappings drawn by ``benchmarks/timeloop_random.py``), ``eyeriss_like_rs_dram`` (the
filter positions iterate at DRAM), ``eyeriss_like_stride2`` (the exercises' default first layer, C = 3, M = 32, stride
2, P = Q = 112, mapped as Timeloop's mapper maps it), ``simple_os`` (a small output-stationary 4x4 array written for
these tests, a conv in Timeloop's built-in shape), ``generic3_conv3`` and ``generic3_fc1`` (written by ``spikeloop map
--arch generic3 --network vgg9-cifar10 --layer L -T 1 --export-timeloop DIR``).

Known differences are listed in :data:`KNOWN` with their reason as strict xfails: every count and energy of every
case matches under the ``timeloop`` profile; one cycle count is one cycle off by Timeloop's floating-point
rounding.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from spikeloop.timeloop import run_model

DATA = Path(__file__).parent / "data" / "timeloop"
GOLDEN = json.loads((DATA / "golden.json").read_text())
CASES = [k for k in GOLDEN if k != "timeloop"]
#: (case, item) -> (reason, still expected to differ). Items: "LEVEL/SPACE/ACTION", "LEVEL/energy", "total",
#: "cycles", "utilization". Every count and energy of every case matches; one cycle count differs by a
#: floating-point rounding of timeloop-model's (not reproduced on purpose).
KNOWN: dict[tuple[str, str], tuple[str, bool]] = {
    ("eyeriss_like_random_b", "cycles"): (
        "timeloop-model v3.0.3 computes a bandwidth-bound level's cycles as ceil(compute cycles / slowdown) with "
        "slowdown = bandwidth / (accesses / compute cycles) in doubles (src/model/buffer.cpp), which rounds "
        "11,730,944 reads / 16 per cycle = 733,184 up to 733,185; spikeloop gives the exact 733,184",
        True,
    ),
}


@cache
def ours(case: str):  # noqa: ANN201
    return run_model([str(DATA / f) for f in GOLDEN[case]["files"]])[1]


def _items() -> list:
    out = []
    for case in CASES:
        g = GOLDEN[case]
        for lv in g["levels"]:
            for space, actions in lv["counts"].items():
                for action, v in actions.items():
                    out.append((case, f"{lv['name']}/{space}/{action}", v))
            out.append((case, f"{lv['name']}/energy", lv["energy_pj"]))
        out += [
            (case, "total", g["total_energy_pj"]),
            (case, "cycles", g["cycles"]),
            (case, "utilization", g["utilization"]),
        ]
    return out


def _param(case: str, item: str, value: float):  # noqa: ANN202
    known = KNOWN.get((case, item))
    marks = [pytest.mark.xfail(known[1], strict=True, reason=known[0])] if known else []
    return pytest.param(case, item, value, marks=marks, id=f"{case}:{item}")


@pytest.mark.parametrize(("case", "item", "expected"), [_param(*i) for i in _items()])
def test_count_or_energy(case: str, item: str, expected: float) -> None:
    r = ours(case)
    if item == "cycles":
        assert r.cycles == expected
        return
    if item == "utilization":
        assert round(r.utilization, 2) == expected
        return
    if item == "total":
        assert r.total_energy_pj == pytest.approx(expected, abs=2.0)
        return
    level, *rest = item.split("/")
    if rest == ["energy"]:
        lv = next(v for v in r.levels if v.name == level)
        assert lv.energy_pj == pytest.approx(expected, abs=2.0)
        return
    assert r.count(level, *rest) == expected


@pytest.mark.parametrize("case", CASES)
def test_macs_and_mac_energy(case: str) -> None:
    g, r = GOLDEN[case], ours(case)
    assert r.macs == g["macs"]
    assert r.mac_energy_pj == pytest.approx(g["mac_energy_pj"], abs=0.01)
    assert g["network_energy_pj"] == 0.0  # no wire energy in these ERTs: nothing for spikeloop to price


@pytest.mark.parametrize("case", CASES)
def test_nothing_counted_that_timeloop_does_not_count(case: str) -> None:
    g, r = GOLDEN[case], ours(case)
    theirs = {(lv["name"], s, a) for lv in g["levels"] for s, acts in lv["counts"].items() for a in acts}
    extra = [
        (lv.name, s, a)
        for lv in r.levels
        for s, acts in lv.counts.items()
        for a, v in acts.items()
        if v and (lv.name, s, a) not in theirs and (case, f"{lv.name}/{s}/{a}") not in KNOWN
    ]
    assert not extra
