"""``spikeloop versus``: the ANN twin, the SNN/ANN comparison, the break-even T, the CLI and its files."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
import yaml

import archspecs
from costmodel.arch import load_arch
from costmodel.network import network_from_data
from costmodel.specio import load_yaml
from costmodel.types import Activation, LayerKind
from spikeloop.cli import main
from spikeloop.engine import run_network
from spikeloop.versus import (
    BreakEvenKind,
    Side,
    Versus,
    ann_twin,
    break_even,
    growing_terms,
    plot_versus,
    render_text,
    versus,
    versus_rows,
)

# a small network with every layer kind: conv, pool, add (a residual), linear
NET = {
    "name": "tiny-test",
    "timesteps": 4,
    "input": {"channels": 3, "height": 8, "width": 8},
    "defaults": {
        "weight_bits": 8,
        "psum_bits": 16,
        "membrane_bits": 16,
        "spike_density": 0.25,
        "weight_density": 1.0,
        "neuron": {"leak": 1.0, "threshold": 1.0, "reset": "soft"},
    },
    "layers": [
        {"name": "conv1", "kind": "conv", "out_channels": 8, "kernel": 3, "padding": 1, "spike_density": 1.0},
        {"name": "conv2", "kind": "conv", "out_channels": 8, "kernel": 3, "padding": 1},
        {"name": "add1", "kind": "add", "inputs": ["conv2", "conv1"]},
        {"name": "pool1", "kind": "pool", "pool": "avg", "kernel": 2},
        {"name": "fc", "kind": "linear", "out_features": 10},
    ],
}


def _net(**defaults: object):  # noqa: ANN202
    data = copy.deepcopy(NET)
    data["defaults"].update(defaults)
    if "spike_density" in defaults:
        data["layers"][0].pop("spike_density")
    return network_from_data(data, "tiny.yaml")


@pytest.fixture(scope="module")
def g3_versus() -> Versus:
    return versus(load_arch("generic3"), _net(), (1, 2, 4))


# ------------------------------------------------------------------------------------------------ the twin
def test_twin_has_the_snn_shapes_t1_8bit_relu_and_keeps_pools_and_adds() -> None:
    snn = _net()
    ann = ann_twin(snn, density=0.5)
    assert ann.timesteps == 1 and len(ann.layers) == len(snn.layers)
    for i, (a, s) in enumerate(zip(ann.layers, snn.layers, strict=True)):
        assert a.kind is s.kind and a.bounds[1:] == s.bounds[1:] and a.bounds[0] == 1
        assert (a.input_bits, a.output_bits, a.activation) == (8, 8, Activation.RELU)
        assert (a.weight_bits, a.weight_density, a.psum_bits) == (s.weight_bits, s.weight_density, s.psum_bits)
        assert a.spike_density == (1.0 if i == 0 else 0.5)  # the image is dense; ReLU outputs at the stated density
    assert [la.kind for la in ann.layers].count(LayerKind.POOL) == 1
    assert [la.kind for la in ann.layers].count(LayerKind.ADD) == 1


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, math.nan])
def test_twin_refuses_a_density_outside_0_1(bad: float) -> None:
    with pytest.raises(ValueError, match="density"):
        ann_twin(_net(), density=bad)


def test_ann_twin_has_no_lif_and_no_membrane_terms(g3_versus: Versus) -> None:
    ann = dict(g3_versus.ann.breakdown_pj)
    assert not [k for k in ann if "/U/" in k], ann
    assert "compute/lif" not in ann and "compute/ac" in ann and "compute/mac" in ann
    snn = dict(g3_versus.snn[-1].breakdown_pj)
    assert [k for k in snn if "/U/" in k] and "compute/lif" in snn  # the SNN has both
    assert "compute/mac" not in snn


def test_ann_macs_equal_the_snns_dense_synaptic_count_per_layer(g3_versus: Versus) -> None:
    for s in g3_versus.snn:
        for a, n in zip(g3_versus.ann.layers, s.layers, strict=True):
            assert a.name == n.name
            assert a.macs == n.macs / s.timesteps  # dense synaptic operations of one timestep
            assert a.macs > 0


def test_at_t1_and_density_1_compute_differs_only_by_the_ac_vs_mac_price() -> None:
    arch = load_arch("generic3")
    snn = _net(spike_density=1.0)
    v = versus(arch, snn, (1,))
    s, a = dict(v.snn[0].breakdown_pj), dict(v.ann.breakdown_pj)
    ac, mac = arch.compute.ac_pj, arch.compute.mac_pj
    assert mac is not None and mac != ac
    # the weight layers' operations are accumulates in the SNN and multiply-accumulates in the ANN; pool and add
    # layers add or average in both: the same operation count, each at its price
    assert s["compute/ac"] / ac == pytest.approx(a["compute/mac"] / mac + a["compute/ac"] / ac)
    res = run_network(arch, snn.with_timesteps(1))
    weight_ops = sum(lr.cost.accumulations for lr in res.layers if lr.kind in (LayerKind.CONV, LayerKind.LINEAR))
    assert a["compute/mac"] == pytest.approx(weight_ops * mac)


def test_ann_pool_and_add_layers_move_8_bit_activations_and_have_no_lif() -> None:
    arch = load_arch("generic3")
    snn = _net(spike_density=1.0).with_timesteps(1)
    ann = ann_twin(snn)
    s, a = run_network(arch, snn), run_network(arch, ann)
    for i, layer in enumerate(snn.layers):
        if layer.has_weights:
            continue
        sc, ac = s.layers[i].cost.breakdown_pj(), a.layers[i].cost.breakdown_pj()
        assert ac["DRAM/I/read"] == pytest.approx(8 * sc["DRAM/I/read"])
        assert ac["DRAM/S/write"] == pytest.approx(8 * sc["DRAM/S/write"])
        assert "compute/lif" in sc and "compute/lif" not in ac


def test_accumulate_only_pes_refuse_the_twin_naming_mac_pj(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = copy.deepcopy(load_yaml(archspecs.arch_path("generic3")))
    data["compute"].pop("mac_pj")
    f = tmp_path / "acc-only.yaml"
    f.write_text(yaml.safe_dump(data))
    net = tmp_path / "tiny.yaml"
    net.write_text(yaml.safe_dump(NET))
    code = main(["versus", "--arch", str(f), "--network", str(net), "-T", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "compute.mac_pj" in err and "ANN twin" in err, err


# ------------------------------------------------------------------------------------------------ break-even
@pytest.mark.parametrize(
    ("points", "ann", "kind", "low", "high", "value"),
    [
        ([(1, 5.0), (2, 10.0), (4, 20.0)], 8.0, BreakEvenKind.EXACT, 1, 2, 2.0),
        ([(4, 20.0), (1, 5.0), (2, 10.0)], 10.0, BreakEvenKind.EXACT, 1, 2, 2.0),  # order-free; "reaches" is >=
        ([(1, 5.0), (2, 10.0), (4, 20.0), (8, 40.0)], 25.0, BreakEvenKind.BRACKETED, 4, 8, 5.0),
        ([(1, 12.0), (2, 24.0)], 10.0, BreakEvenKind.EXACT, None, 1, 1.0),  # dearer already at T = 1
        ([(2, 12.0), (4, 24.0)], 10.0, BreakEvenKind.AT_OR_BELOW, None, 2, 2.0),  # nothing measured below T = 2
        ([(1, 1.0), (16, 9.0)], 10.0, BreakEvenKind.NONE, 16, None, None),
    ],
)
def test_break_even_from_the_measured_points(points, ann, kind, low, high, value) -> None:  # noqa: ANN001
    be = break_even(points, ann)
    assert (be.kind, be.t_low, be.t_high) == (kind, low, high)
    assert be.value == (pytest.approx(value) if value is not None else None)
    assert be.t_max == max(t for t, _ in points)
    text = be.text()
    assert "\n" not in text
    if kind is BreakEvenKind.NONE:
        assert "none up to T = 16" in text
    if kind is BreakEvenKind.BRACKETED:
        assert "between 4 and 8" in text and "5.00" in text and "estimate" in text


def test_growing_terms_are_least_squares_slopes_steepest_first() -> None:
    def side(t: int, terms: dict[str, float]) -> Side:
        return Side(
            label=f"SNN T={t}",
            timesteps=t,
            energy_pj=sum(terms.values()),
            latency_s=1.0,
            edp_pj_s=1.0,
            area_mm2=1.0,
            cycles=1.0,
            macs=1.0,
            lif_ops=1.0,
            breakdown_pj=tuple(terms.items()),
            layers=(),
        )

    sides = [side(t, {"a/W/read": 3.0 * t, "b/U/update": 1.0 + 1.0 * t, "static/x": 7.0}) for t in (1, 2, 4, 8)]
    got = growing_terms(sides)
    assert [g.term for g in got] == ["a/W/read", "b/U/update"]  # the constant term does not grow
    assert got[0].slope_pj_per_timestep == pytest.approx(3.0) and got[0].share == pytest.approx(0.75)
    assert got[1].energy_at_t_max_pj == pytest.approx(9.0)
    assert growing_terms(sides[:1]) == ()


# ------------------------------------------------------------------------------------------------ values
def test_json_round_trip(g3_versus: Versus, tmp_path: Path) -> None:
    back = Versus.from_dict(json.loads(json.dumps(g3_versus.to_dict())))
    assert back == g3_versus
    d = g3_versus.to_dict()
    assert set(d) >= {"arch", "network", "T", "snn", "ann", "break_even", "growing_terms", "ratio_snn_over_ann"}
    assert d["ratio_snn_over_ann"]["4"] == pytest.approx(d["snn"][-1]["total_energy_pj"] / d["ann"]["total_energy_pj"])


def test_every_number_is_finite_and_the_text_names_the_break_even(g3_versus: Versus) -> None:
    for s in (*g3_versus.snn, g3_versus.ann):
        assert all(math.isfinite(x) for x in (s.energy_pj, s.latency_s, s.edp_pj_s, s.area_mm2))
        assert all(math.isfinite(lr.energy_pj) and lr.energy_pj >= 0 for lr in s.layers)
    text = render_text(g3_versus)
    assert "break-even T" in text and "SNN T=4" in text and "ANN" in text
    assert "nan" not in text and "inf" not in text


def test_the_figure_has_the_ann_line_and_worded_axes(g3_versus: Versus) -> None:
    fig = plot_versus(g3_versus)
    energy, edp = fig.axes
    assert energy.get_xlabel() == "timesteps T" and "(" in energy.get_ylabel()
    assert any("ANN" in t.get_text() for t in energy.get_legend().get_texts())
    assert "J·s" in edp.get_ylabel()


def test_versus_rows_for_the_reproduce_report(tmp_path: Path) -> None:
    net = tmp_path / "tiny.yaml"
    net.write_text(yaml.safe_dump(NET))
    rows = versus_rows("generic3", (str(net),), (1, 2, 16))
    ids = [r.id for r in rows]
    assert ids == [
        "versus-generic3-tiny-breakeven-T",
        "versus-generic3-tiny-ratio-T16",
        "versus-generic3-tiny-ann-energy",
    ]
    assert rows[0].paper is None and rows[1].paper == 16.0 and rows[2].paper is None
    assert all(math.isfinite(r.ours) for r in rows) and all(r.command.startswith("spikeloop versus") for r in rows)
    assert "upper bound" in rows[1].note


# ------------------------------------------------------------------------------------------------ the CLI
@pytest.fixture()
def tiny_file(tmp_path: Path) -> Path:
    f = tmp_path / "tiny.yaml"
    f.write_text(yaml.safe_dump(NET))
    return f


def test_cli_prints_the_table_and_writes_every_file(
    tiny_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, js = tmp_path / "out", tmp_path / "v.json"
    code = main(
        [
            "versus",
            "--arch",
            "generic3",
            "--network",
            str(tiny_file),
            "-T",
            "2,1,2",
            "--quiet",
            "--json",
            str(js),
            "--out",
            str(out),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0 and "break-even T" in text and "SNN T=2" in text
    for name in ("versus.md", "versus.csv", "versus_layers.csv", "versus.json", "versus.png"):
        assert (out / name).stat().st_size > 0
    d = json.loads(js.read_text())
    assert d["T"] == [1, 2]  # sorted, duplicates dropped
    assert Versus.from_dict(d).to_dict() == d
    assert (out / "versus.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["-T", "0"], "-T"),
        (["-T", "1,x"], "-T"),
        (["-T", ""], "-T"),
        (["-T", "99999"], "-T"),
        (["--ann-density", "0"], "--ann-density"),
        (["--ann-density", "1.5"], "--ann-density"),
        (["--ann-density", "nan"], "--ann-density"),
        (["--dataflow", "bogus"], "--dataflow"),
        (["--profile", "bogus"], "--profile"),
        (["--time-limit", "-1"], "--time-limit"),
        (["--lif-sharing", "0"], "--lif-sharing"),
        (["--activity", "event"], "--activity"),
        (["--json", "."], "--json"),
    ],
)
def test_cli_bad_flags_exit_2_with_one_line_naming_the_flag(
    args: list[str], flag: str, tiny_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["versus", "--arch", "generic3", "--network", str(tiny_file), "--quiet", *args])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and flag in err, err


def test_cli_out_under_a_file_exits_2(tiny_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["versus", "--arch", "generic3", "--network", str(tiny_file), "--quiet", "--out", str(tiny_file / "x")])
    err = capsys.readouterr().err
    assert code == 2 and "--out" in err and err.count("\n") == 1, err


def test_crossbar_archs_drive_the_twins_8_bit_inputs_bit_serially() -> None:
    v = versus(load_arch("spikeflow"), _net(spike_density=1.0), (1,))
    s, a = dict(v.snn[0].breakdown_pj), dict(v.ann.breakdown_pj)
    for term in ("crossbar/W/read", "ADC/O/read"):  # same mapping, 8 row pulses and conversions per input
        assert a[term] == pytest.approx(8 * s[term])
    assert not [k for k in a if "/U/" in k or k == "compute/lif"]
    assert v.ann.latency_s > v.snn[0].latency_s
    assert not v.notes  # native profile: nothing charged to the ANN that it does not do


def test_a_profile_that_charges_lif_per_pe_cycle_says_so() -> None:
    from spikeloop.engine import Options

    v = versus(load_arch("spikeflow"), _net(), (1,), opts=Options(profile="spikesim-compat"))
    assert any("spikesim-compat charges the ANN compute/lif" in n for n in v.notes), v.notes
    assert "note: profile spikesim-compat" in render_text(v)
