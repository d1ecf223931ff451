"""SpikeFlow (65 nm RRAM IMC) through the one engine: its crossbars are levels of the loop nest, its column
periphery is priced from the nest's counts, and the ``spikesim-compat`` profile reproduces the public SpikeSim
energy/latency/area script (github.com/Intelligent-Computing-Lab-Yale/SpikeSim, ela_spikesim.py) exactly."""

from __future__ import annotations

import copy
import json
import math

import pytest

import archspecs
from costmodel import imc
from costmodel.arch import arch_from_dict, load_arch
from costmodel.cost import Key
from costmodel.evaluate import evaluate
from costmodel.network import load_network, network_from_data
from costmodel.network_eval import subtree_area_um2
from costmodel.specio import SpecError, load_yaml
from costmodel.types import Action, Dim, Tensor
from costmodel.workload import Network, conv_layer
from mappers.dataflows import CROSSBAR_FLOWS
from mappers.heuristic import crossbar_mapping
from spikeloop.engine import Options, run_network

COMPAT = "spikesim-compat"


@pytest.fixture(scope="module")
def arch():
    return load_arch("spikeflow")


def _net(
    layers: list[dict], t: int = 1, side: int = 32, channels: int = 3, weight_bits: int = 4, density: float = 0.1
) -> Network:
    data = {
        "name": "t",
        "timesteps": t,
        "input": {"channels": channels, "height": side, "width": side},
        "defaults": {
            "weight_bits": weight_bits,
            "psum_bits": 16,
            "membrane_bits": 16,
            "spike_density": density,
            "weight_density": 1.0,
            "neuron": {"leak": 1.0, "threshold": 1.0, "reset": "soft"},
        },
        "layers": layers,
    }
    return network_from_data(data, "test")


def _conv(name: str, k: int, **kw) -> dict:
    return {"name": name, "kind": "conv", "out_channels": k, "kernel": 3, "padding": 1, **kw}


def _pool(name: str) -> dict:
    return {"name": name, "kind": "pool", "pool": "avg", "kernel": 2}


def _run(arch, net, profile: str | None = None, **kw):  # noqa: ANN001, ANN003, ANN202
    return run_network(arch, net, opts=Options(profile=profile, **kw))


# The VGG9 list shipped with the public ELA script (7 convs, post-pool output sides 32,16,16,8,8,8,4), T = 5.
VGG9_ELA = [
    _conv("c1", 64),
    _conv("c2", 64),
    _pool("p1"),
    _conv("c3", 128),
    _conv("c4", 128),
    _pool("p2"),
    _conv("c5", 256),
    _conv("c6", 256),
    _conv("c7", 256),
    _pool("p3"),
]


# ----------------------------------------------------------------------------------- one PE cycle
def test_one_pe_cycle_in_compat_profile_costs_828_486_pj(arch):
    """E_PEcycle = 8 (9 x 1.76423 + 8 (2.03084 + 0.094245)) + 8 x 19.64 + 8 x 0.2 + 128 x 1.15e-6 + 397 + 4.64
    + 4 x 1.274 = 828.486 pJ: one 64x64 3x3 layer, one output pixel, one timestep is one PE cycle."""
    net = _net([{"name": "c", "kind": "conv", "out_channels": 64, "kernel": 3}], side=3, channels=64)
    res = _run(arch, net, COMPAT)
    assert sum(lr.pes for lr in res.layers) == 1
    assert res.total.total_energy_pj == pytest.approx(828.486, abs=1e-3)
    # the public script's latency: one PE cycle (26 clocks = 104 ns) per output neuron, K*P*Q = 64
    assert res.total.cycles == 64 * 26
    assert res.total.latency_s == pytest.approx(64 * 104e-9)
    e = res.total.energy_pj
    assert e[Key("TB", Tensor.I, Action.READ)] == pytest.approx(397.0)
    assert e[Key("Htree", Tensor.O, Action.TRANSFER)] == pytest.approx(157.12)
    assert e[Key("ADC", Tensor.O, Action.READ)] == pytest.approx(64 * 2.03084)
    assert e[Key("crossbar", Tensor.W, Action.READ)] == pytest.approx(72 * 1.76423)
    assert e[Key("compute", None, Action.LIF)] == pytest.approx(5.096)


def test_weights_are_stationary_in_the_cells(arch):
    """Programming the crossbars is not an inference cost, and a mapping that would refill them is invalid."""
    layer = conv_layer("c", K=64, C=64, P=4, R=3, weight_bits=4)
    m = crossbar_mapping(arch, layer, CROSSBAR_FLOWS["spikesim"].mapping)
    c = evaluate(arch, layer, m)
    assert not any(k.tensor is Tensor.W and k.component in ("GB", "XB") for k in c.energy_pj)
    from costmodel.mapping import LevelMapping, Loop, Mapping

    gb = m.levels[0]
    bad = Mapping(
        levels=(
            LevelMapping(temporal=(*gb.temporal, Loop(Dim.K, 2)), spatial=gb.spatial),
            *m.levels[1:4],
            LevelMapping(
                spatial=tuple(
                    Loop(lp.dim, lp.bound // 2 if lp.dim is Dim.K else lp.bound, True, lp.axis)
                    for lp in m.levels[4].spatial
                )
            ),
        )
    )
    inv = evaluate(arch, layer, bad)
    assert inv.kind.value == "resident" and "refill" in inv.reason


def test_crossbar_columns_hold_output_channels_with_their_cells(arch):
    """8-bit weights in 4-bit cells take two columns each: 32 output channels per 64-column crossbar."""
    layer = conv_layer("c", K=64, C=64, P=2, R=3, weight_bits=8)
    m = crossbar_mapping(arch, layer, CROSSBAR_FLOWS["packed"].mapping)
    k_cols = math.prod(lp.bound for lp in m.levels[4].spatial if lp.dim is Dim.K)
    assert k_cols == 32


# ----------------------------------------------------------------------------------- allocation
def test_channel_block_allocation_is_the_public_scripts(arch):
    """P_l = ceil(C/64) ceil(K/64) PEs of 9 crossbars each (channel blocks): VGG9 as shipped has 48 PEs."""
    res = _run(arch, _net(VGG9_ELA, t=5), COMPAT)
    assert [lr.pes for lr in res.layers if lr.pes] == [1, 1, 2, 4, 8, 16, 16]
    layer = conv_layer("fc", K=1024, C=32768, P=1, R=1, weight_bits=4)
    fc = crossbar_mapping(arch, layer, CROSSBAR_FLOWS["spikesim"].mapping)
    assert math.prod(lp.bound for lm in fc.levels[:3] for lp in lm.spatial) == 512 * 16  # a PE per block


def test_factorizations_are_perfect(arch):
    """A loop nest splits a dim into exact factors: C = 300 takes 5 blocks of 60 rows (as ceil(300/64)), but
    K = 130 takes 5 blocks of 26 columns where the public script packs 3 (64 + 64 + 2): stated in
    docs/spikeflow.md, not hidden."""
    layer = conv_layer("x", K=130, C=300, P=8, R=3, weight_bits=4)
    m = crossbar_mapping(arch, layer, CROSSBAR_FLOWS["spikesim"].mapping)
    xb = {lp.dim: lp.bound for lp in m.levels[4].spatial}
    assert (xb[Dim.C], xb[Dim.K]) == (60, 26)


def test_allocation_is_independent_of_layer_order(arch):
    net = load_network("resnet18-tinyimagenet")
    rev = Network(name="rev", timesteps=net.timesteps, layers=tuple(reversed(net.layers)))
    a, b = _run(arch, net), _run(arch, rev)
    assert sum(lr.tiles for lr in a.layers) == sum(lr.tiles for lr in b.layers)
    assert a.total.area_mm2 == pytest.approx(b.total.area_mm2)
    by_name = {lr.name: lr.pes for lr in b.layers}
    assert all(by_name[lr.name] == lr.pes for lr in a.layers)


# ----------------------------------------------------------------------------------- equations
def test_latency_equations():
    assert imc.sequential_latency_pe_cycles(2, [10, 20, 30], 0.75) == [14.0, 30.0, 60.0]
    shares = imc.pipelined_latency(4, [4.0, 8.0, 2.0])
    assert shares == [4.0, 32.0, 2.0] and sum(shares) == 14 + 3 * 8
    assert imc.pipelined_latency(1, [4.0, 8.0]) == [4.0, 8.0]


def test_small_equations():
    assert imc.cells_per_weight(8, 4) == 2 and imc.cells_per_weight(4, 4) == 1 and imc.cells_per_weight(5, 2) == 3
    assert imc.mux_steps(64, 8) == 8 and imc.mux_steps(60, 8) == 8
    assert imc.p_any_spike(0.0, 64) == 0.0 and imc.p_any_spike(1.0, 3) == 1.0
    assert imc.p_any_spike(0.5, 2) == pytest.approx(0.75)
    assert imc.mesh_mean_hops(1) == 0.0 and imc.mesh_mean_hops(4) == pytest.approx(1.0)
    assert imc.membrane_sram_bits(10, 16, 4) == 3 * 16
    assert imc.tiles_needed([3, 9, 4], 8, contiguous=True) == 2 and imc.tiles_needed([3, 9, 4], 8, False) == 4
    assert imc.dt_edp_reduction([1, 2], [1, 2], [0.0, 1.0]) == pytest.approx(1.0)
    assert imc.dt_edp_reduction([1, 2], [1, 2], [1.0, 0.0]) == pytest.approx(4.0)
    with pytest.raises(ValueError):
        imc.dt_edp_reduction([1, 2], [1, 2], [0.5, 0.4])


def test_tile_area(arch):
    """A_tile = 8 x 13411.415 + 484.644 + 6054.7 + 433660 + 8 (9 x 26.2144 + 8 (693.633 + 45.9)) = 596 708.2128."""
    assert subtree_area_um2(arch, arch.crossbar.tile_level) == pytest.approx(596708.2128)


# ----------------------------------------------------------------------------------- compat = the public ELA
def test_compat_reproduces_ela_vgg9_as_shipped(arch):
    """The public script as shipped: 48 PEs, 6 tiles, 8 425 528.76 um^2, 15 906 934.03 pJ, 62 832 640 ns (T = 5)."""
    res = _run(arch, _net(VGG9_ELA, t=5), COMPAT)
    assert sum(lr.pes for lr in res.layers) == 48
    area = dict(res.area_breakdown_um2)
    assert area["tiles"] == pytest.approx(6 * 596708.2128)
    assert res.total.total_energy_pj == pytest.approx(15906934.03, rel=1e-9)
    assert res.total.latency_s * 1e9 == pytest.approx(62832640.0, rel=1e-9)
    assert area["total"] == pytest.approx(8425528.76, rel=1e-8)
    assert area["lif_membrane_sram"] == pytest.approx(2.264e6, rel=1e-3)


@pytest.mark.parametrize(
    ("network", "ela_nj"),
    [
        ("spikesim-tdbn", 2.104e5),
        ("spikesim-lth", 2.630e5),
        ("spikesim-direct", 2.556e5),
        ("spikesim-tssl", 1.278e5),
        ("spikesim-bntt", 0.809e5),
        ("spikesim-sbp", 2.022e5),
    ],
)
def test_compat_table2_networks_match_ela(arch, network, ela_nj):
    """The public script's energies of the networks behind Table II's SpikeSim column (4 significant digits)."""
    res = _run(arch, load_network(network), COMPAT)
    assert res.total.total_energy_pj * 1e-3 == pytest.approx(ela_nj, rel=5e-4)


def test_post_pool_convention_quarters_pooled_layers(arch):
    net = _net(VGG9_ELA, t=1)
    compat = _run(arch, net, COMPAT)
    conv = run_network(arch, net, opts=Options(profile=COMPAT))
    assert compat.layers[1].cost.counts[Key("TB", Tensor.I, Action.READ)] == 16 * 16  # c2 at the pooled 16x16
    from dataclasses import replace

    from costmodel.network_eval import evaluate_network
    from costmodel.types import OutputSize

    acc = replace(arch.profile(COMPAT), output_size=OutputSize.CONV)
    mapper = lambda layer: crossbar_mapping(arch, layer, CROSSBAR_FLOWS["spikesim"].mapping)  # noqa: E731
    own = evaluate_network(arch, net, mapper, accounting=acc)
    assert (
        own.layers[1].cost.counts[Key("TB", Tensor.I, Action.READ)]
        == 4 * conv.layers[1].cost.counts[Key("TB", Tensor.I, Action.READ)]
    )


def test_compat_edp_grows_16x_from_t1_to_t4(arch):
    e = {t: _run(arch, load_network("vgg16-tinyimagenet", timesteps=t), COMPAT) for t in (1, 4)}
    assert e[4].total.edp_pj_s / e[1].total.edp_pj_s == pytest.approx(16.0)


def test_pipelined_latency_grows_less_than_t(arch):
    d = {t: _run(arch, load_network("vgg16-tinyimagenet", timesteps=t)).total for t in (1, 4)}
    ratio = d[4].edp_pj_s / d[1].edp_pj_s
    assert 4.0 < ratio < 16.0
    # D(4)/D(1) = (sum s + 3 max s) / sum s with s = P*Q per weight layer of VGG16 at 64x64
    s = [4096, 4096, 1024, 1024, 256, 256, 256, 64, 64, 64, 16, 16, 16, 1, 1, 1]
    assert d[4].latency_s / d[1].latency_s == pytest.approx((sum(s) + 3 * max(s)) / sum(s))


# ----------------------------------------------------------------------------------- properties
def test_event_never_exceeds_dense_and_grows_with_density(arch):
    net = load_network("vgg9-cifar10")
    dense = _run(arch, net, activity="dense").total.total_energy_pj
    last = 0.0
    for d in (0.0, 0.01, 0.05, 0.2, 1.0):
        sparse = Network(
            name="x", timesteps=net.timesteps, layers=tuple(layer.with_spike_density(d) for layer in net.layers)
        )
        e = _run(arch, sparse, activity="event").total.total_energy_pj
        assert last <= e <= dense * (1 + 1e-12)
        last = e
    assert last < dense  # conv1 (C = 3) fills 1 of its PE's 9 crossbars: dense reads all 9, event only the used one
    full = _net(
        [{"name": "c", "kind": "conv", "out_channels": 32, "kernel": 3}],
        side=3,
        channels=64,
        density=1.0,
        weight_bits=8,
    )
    # every crossbar and column of the PE used and every row spiking: event charges exactly what dense does
    e_event = _run(arch, full, activity="event").total
    e_dense = _run(arch, full, activity="dense").total
    assert e_event.energy_pj[Key("ADC", Tensor.O, Action.READ)] == pytest.approx(
        e_dense.energy_pj[Key("ADC", Tensor.O, Action.READ)]
    )


def test_energy_proportional_to_t(arch):
    e = [_run(arch, load_network("resnet18-tinyimagenet", timesteps=t)).total.total_energy_pj for t in (1, 3)]
    assert e[1] == pytest.approx(3 * e[0], rel=1e-9)


def test_resnet18_and_vgg16_tinyimagenet_end_to_end(arch):
    for name in ("resnet18-tinyimagenet", "vgg16-tinyimagenet"):
        d = _run(arch, load_network(name)).to_dict()
        assert d["total_energy_pj"] > 0 and d["latency_s"] > 0 and d["edp_pj_s"] > 0 and d["area_mm2"] > 0
        weight = [lr for lr in d["layers"] if lr["kind"] in ("conv", "linear")]
        assert all(lr["pes"] > 0 and lr["total_energy_pj"] > 0 and lr["cycles"] > 0 for lr in weight)
        assert sum(lr["layer_area_mm2"] for lr in d["layers"]) == pytest.approx(d["area_mm2"])
        assert sum(lr["total_energy_pj"] for lr in d["layers"]) == pytest.approx(d["total_energy_pj"])


def test_lif_sharing_area(arch):
    from spikeloop.experiments.spikesim import lif_area_reduction

    assert lif_area_reduction(arch, "resnet18-tinyimagenet", 1, profile="native") == pytest.approx(1.0)
    for n in (2, 4):
        compat = lif_area_reduction(arch, "resnet18-tinyimagenet", n, profile=COMPAT)
        assert compat == pytest.approx(n, rel=2e-3)  # membrane SRAM only (ceil per layer)
        native = lif_area_reduction(arch, "resnet18-tinyimagenet", n, profile="native")
        assert 1.0 < native < n  # the datapaths do not shrink
    r18 = load_network("resnet18-tinyimagenet")
    base, shared = dict(_run(arch, r18).area_breakdown_um2), dict(_run(arch, r18, lif_sharing=4).area_breakdown_um2)
    assert shared["lif_logic"] == base["lif_logic"] and shared["total"] < base["total"]


def test_lif_area_counts_every_layer_natively_but_five_in_compat(arch):
    vgg16 = load_network("vgg16-tinyimagenet")
    res = _run(arch, vgg16, COMPAT)
    weight = [la for la in vgg16.layers if la.has_weights]
    first5 = 0
    for la in weight[:5]:
        nxt = vgg16.layers[vgg16.layers.index(la) + 1]
        side = nxt.bound(Dim.P) * nxt.bound(Dim.Q) if nxt.kind.value == "pool" else la.bound(Dim.P) * la.bound(Dim.Q)
        first5 += la.bound(Dim.K) * side * 22
    assert dict(res.area_breakdown_um2)["lif_membrane_sram"] == pytest.approx(first5 * 0.7391)
    nat = dict(_run(arch, vgg16).area_breakdown_um2)
    assert nat["lif_membrane_sram"] > 0 and nat["lif_logic"] > 0


# ----------------------------------------------------------------------------------- spec strictness
def test_profiles_and_crossbar_section_are_strict():
    data = load_yaml(archspecs.arch_path("spikeflow"))
    bad = copy.deepcopy(data)
    bad["profiles"][COMPAT]["activty"] = "dense"
    with pytest.raises(SpecError, match=r"profiles\.spikesim-compat\.activty: unknown key"):
        arch_from_dict(bad, "x.yaml")
    bad = copy.deepcopy(data)
    bad["profiles"][COMPAT]["latency"] = "fast"
    with pytest.raises(SpecError, match=r"profiles\.spikesim-compat\.latency: expected one of .*fast"):
        arch_from_dict(bad, "x.yaml")
    bad = copy.deepcopy(data)
    del bad["crossbar"]["energy_pj"]["adc_conversion"]
    with pytest.raises(SpecError, match=r"crossbar\.energy_pj\.adc_conversion: required key is missing"):
        arch_from_dict(bad, "x.yaml")
    bad = copy.deepcopy(data)
    bad["levels"][4]["fanout"] = {"x": 32, "y": 64}
    with pytest.raises(SpecError, match=r"crossbar\.level: level XB's fanout is 64 rows x 32 columns"):
        arch_from_dict(bad, "x.yaml")
    with pytest.raises(KeyError, match="no profile 'nope'"):
        arch_from_dict(data, "x.yaml").profile("nope")


# ----------------------------------------------------------------------------------- CLI and rows
def test_cli_evaluate_crossbar(tmp_path, capsys):
    from spikeloop.cli import main

    out = tmp_path / "r.json"
    assert main(["evaluate", "--arch", "spikeflow", "--network", "resnet18-tinyimagenet", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["profile"] == "native" and d["latency_rule"] == "pipelined" and d["sizing"] == "resident"
    assert "crossbar PEs" in capsys.readouterr().out
    assert (
        main(["evaluate", "--arch", "spikeflow", "--network", "spikesim-tdbn", "--profile", COMPAT, "--json", str(out)])
        == 0
    )
    assert json.loads(out.read_text())["total_energy_pj"] * 1e-3 == pytest.approx(2.104e5, rel=5e-4)
    assert (
        main(
            [
                "evaluate",
                "--arch",
                "spikeflow",
                "--network",
                "vgg9-cifar10",
                "--latency",
                "sequential",
                "--activity",
                "dense",
                "--lif-sharing",
                "2",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    assert json.loads(out.read_text())["latency_rule"] == "sequential"
    assert main(["evaluate", "--arch", "generic3", "--network", "vgg9-cifar10", "--activity", "dense"]) == 2
    assert main(["evaluate", "--arch", "spikeflow", "--network", "vgg9-cifar10", "--dataflow", "os"]) == 2


def test_rows(arch):
    from spikeloop.experiments import spikesim

    got = {r.id: r for r in spikesim.table2_rows(arch)}
    assert set(got) == {f"table2-spikesim-{w}" for w in ("SBP", "BNTT", "Direct", "TSSL", "LTH", "TDBN")}
    for w in ("TDBN", "LTH", "Direct", "TSSL"):
        assert abs(got[f"table2-spikesim-{w}"].ratio - 1) < 0.05
    for w in ("SBP", "BNTT"):
        assert "VGG9" in got[f"table2-spikesim-{w}"].note
    edp = spikesim.f4a_edp_row(arch)
    assert "sequential" in edp.note and "pipelined" in edp.note and 4 < edp.ours < 16
    dt = spikesim.f4a_dt_row(arch, [0.5, 0.25, 0.0, 0.25], "a test distribution")
    assert dt.ours > 1 and "a test distribution" in dt.note
    f6 = {r.id: r for r in spikesim.f6a_rows(arch)}
    assert 1 < f6["f6a-c2-area"].ours < 2 < f6["f6a-c4-area"].ours < 4
    assert all(math.isfinite(r.ours) for r in (*got.values(), edp, dt, *f6.values()))
