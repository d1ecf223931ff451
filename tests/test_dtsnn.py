"""DT-SNN exit distributions priced by the cost model (spikeloop.dtsnn, evaluate --dt-exit)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from costmodel.cost import Cost
from spikeloop.cli import main
from spikeloop.dtsnn import expected_cost, read_distribution


def test_expected_cost_hand_computed() -> None:
    from costmodel.cost import Key
    from costmodel.types import Action

    def run(t: int):  # noqa: ANN202
        class R:
            total = Cost(
                energy_pj={Key("compute", None, Action.AC): 10.0 * t},
                counts={},
                macs=0,
                accumulations=0,
                lif_ops=0,
                cycles=2.0 * t,
                clock_hz=1.0,
                area_um2=0.0,
                pes=1,
            )

        return R()

    dist = {1: 0.5, 2: 0.25, 4: 0.25}
    c = expected_cost(dist, run)
    # E = 0.5*10 + 0.25*20 + 0.25*40 = 20 pJ; D = 0.5*2 + 0.25*4 + 0.25*8 = 4 s
    assert c.energy_pj == pytest.approx(20.0)
    assert c.latency_s == pytest.approx(4.0)
    assert c.edp_pj_s == pytest.approx(80.0)
    # E[E D] = 0.5*20 + 0.25*80 + 0.25*320 = 110
    assert c.mean_edp_pj_s == pytest.approx(110.0)
    assert c.full_t == 4 and c.full_energy_pj == pytest.approx(40.0) and c.full_edp_pj_s == pytest.approx(320.0)
    assert c.mean_timesteps == pytest.approx(2.0)
    assert c.to_dict()["edp_reduction_x"] == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("payload", "expect"),
    [
        ({"1": 0.5, "2": 0.4}, "summing to 1"),
        ({"0": 1.0}, "timesteps >= 1"),
        ({"dt_snn": {"threshold": 0.1}}, "no distribution"),
        ([1, 2], "expected an object"),
        ({"a": 1.0}, "keys must be timesteps"),
    ],
)
def test_bad_distributions_name_the_file(tmp_path: Path, payload: object, expect: str) -> None:
    f = tmp_path / "d.json"
    f.write_text(json.dumps(payload))
    with pytest.raises(ValueError, match=expect) as info:
        read_distribution(f)
    assert "d.json" in str(info.value)


def test_accuracy_json_shape_is_read(tmp_path: Path) -> None:
    f = tmp_path / "acc.json"
    f.write_text(json.dumps({"dt_snn": {"distribution": {"1": 0.75, "4": 0.25}}}))
    assert read_distribution(f) == {1: 0.75, 4: 0.25}


def test_evaluate_dt_exit_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dist = tmp_path / "d.json"
    dist.write_text(json.dumps({"1": 0.5, "2": 0.5}))
    out = tmp_path / "r.json"
    assert (
        main(
            ["evaluate", "--arch", "generic3", "--network", "vgg5-cifar10", "--dt-exit", str(dist), "--json", str(out)]
        )
        == 0
    )
    d = json.loads(out.read_text())
    assert d["T"] == 2
    e1 = e2 = None
    for t in (1, 2):
        f = tmp_path / f"t{t}.json"
        assert (
            main(["evaluate", "--arch", "generic3", "--network", "vgg5-cifar10", "-T", str(t), "--json", str(f)]) == 0
        )
        if t == 1:
            e1 = json.loads(f.read_text())["total_energy_pj"]
        else:
            e2 = json.loads(f.read_text())["total_energy_pj"]
    assert d["dt_exit"]["energy_pj"] == pytest.approx(0.5 * e1 + 0.5 * e2)
    assert 0 < d["dt_exit"]["energy_reduction"] < 1
    assert "DT-SNN exits" in capsys.readouterr().out
    assert main(["evaluate", "--arch", "generic3", "--network", "vgg5-cifar10", "-T", "2", "--dt-exit", str(dist)]) == 2
