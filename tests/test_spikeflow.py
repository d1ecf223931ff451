"""SpikeFlow IMC cost model (costmodel/imc.py): per-equation pieces, the spikesim-compat profile against the public
ELA script's numbers (SNN_train_infer_quantization_ela/ela_spikesim.py in
github.com/Intelligent-Computing-Lab-Yale/SpikeSim; constants and equations restated in docs/spikeflow.md),
allocation, properties, CLI and rows."""

from __future__ import annotations

import copy
import json
import math
from dataclasses import replace

import pytest

import archspecs
from costmodel import imc
from costmodel.arch import arch_from_dict, load_arch
from costmodel.network import load_network, network_from_data
from costmodel.specio import SpecError, load_yaml
from costmodel.workload import Network, conv_layer

COMPAT = "spikesim-compat"


@pytest.fixture(scope="module")
def arch():
    return load_arch("spikeflow")


@pytest.fixture(scope="module")
def spec(arch):
    return imc.imc_spec(arch)


def _net(layers: list[dict], t: int = 1, side: int = 32, channels: int = 3, weight_bits: int = 4,
         density: float = 0.1) -> Network:
    data = {"name": "t", "timesteps": t, "input": {"channels": channels, "height": side, "width": side},
            "defaults": {"weight_bits": weight_bits, "psum_bits": 16, "membrane_bits": 16, "spike_density": density,
                         "weight_density": 1.0, "neuron": {"leak": 1.0, "threshold": 1.0, "reset": "soft"}},
            "layers": layers}
    return network_from_data(data, "test")


def _conv(name: str, k: int, **kw) -> dict:
    return {"name": name, "kind": "conv", "out_channels": k, "kernel": 3, "padding": 1, **kw}


def _pool(name: str) -> dict:
    return {"name": name, "kind": "pool", "pool": "avg", "kernel": 2}


# The VGG9 list shipped with the public ELA script (7 convs, post-pool output sides 32,16,16,8,8,8,4), T = 5.
VGG9_ELA = [_conv("c1", 64), _conv("c2", 64), _pool("p1"), _conv("c3", 128), _conv("c4", 128), _pool("p2"),
            _conv("c5", 256), _conv("c6", 256), _conv("c7", 256), _pool("p3")]


# ----------------------------------------------------------------------------------- per-equation pieces
def test_pe_read_energy_is_32_879_pj(spec):
    e = spec.energy
    got = imc.pe_read_energy_pj(spec.crossbars_per_pe, e.crossbar_read, spec.adcs_per_pe, e.adc_conversion, e.mux)
    assert got == pytest.approx(9 * 1.76423 + 8 * (2.03084 + 0.094245))
    assert got == pytest.approx(32.879, abs=5e-4)


def test_one_pe_cycle_in_compat_profile_costs_828_486_pj(arch, spec):
    assert imc.dense_pe_cycle_energy_pj(spec) == pytest.approx(828.486, abs=1e-3)
    # the same number through the whole engine: one 64x64 3x3 layer, one output pixel, one timestep = 1 PE cycle
    net = _net([{"name": "c", "kind": "conv", "out_channels": 64, "kernel": 3}], side=3, channels=64)
    res = imc.evaluate_network_imc(arch, net, profile_name=COMPAT)
    assert sum(al.pes for al in res.allocations) == 1
    assert res.total.total_energy_pj == pytest.approx(828.486, abs=1e-3)
    # sequential (ELA) latency: one PE cycle (26 clocks = 104 ns) per output neuron, K*P*Q = 64
    assert res.total.cycles == 64 * spec.pe_cycle_clocks
    assert res.total.latency_s == pytest.approx(64 * 104e-9)


def test_pe_cycle_energy_breakdown_shares(arch):
    net = _net([{"name": "c", "kind": "conv", "out_channels": 64, "kernel": 3}], side=3, channels=64)
    e = imc.evaluate_network_imc(arch, net, profile_name=COMPAT).total
    assert e.energy_pj[imc.K_TB] == pytest.approx(397.0)
    assert e.energy_pj[imc.K_HTREE] == pytest.approx(157.12)
    assert e.energy_pj[imc.K_ADC] == pytest.approx(64 * 2.03084)
    assert e.energy_pj[imc.K_XB] == pytest.approx(72 * 1.76423)
    assert e.energy_pj[imc.K_LIF] == pytest.approx(5.096)


def test_allocation_c300_k130(spec, arch):
    layer = conv_layer("x", K=130, C=300, P=8, R=3, weight_bits=8)
    compat = imc.allocate(layer, spec, imc.profile(arch, COMPAT))  # 4-bit weights, channel blocks (ELA)
    assert (compat.pes, compat.crossbars_used, compat.crossbars_allocated(9)) == (15, 135, 135)
    assert (compat.row_blocks, compat.column_blocks, compat.cells_per_weight) == (45, 3, 1)
    native = imc.allocate(layer, spec, imc.profile(arch, "native"))  # 8-bit weights in 4-bit cells, packed rows
    assert native.cells_per_weight == 2
    assert (native.row_blocks, native.column_blocks) == (43, 5)  # ceil(2700/64), ceil(260/64)
    assert (native.pes, native.crossbars_used) == (25, 215)  # ceil(43/9) * 5, 43 * 5


def test_allocation_fc_and_1x1(spec, arch):
    fc = conv_layer("fc", K=1024, C=32768, P=1, R=1, weight_bits=4)
    ch = imc.allocate(fc, spec, imc.profile(arch, COMPAT))
    assert (ch.pes, ch.crossbars_used) == (512 * 16, 512 * 16)  # a whole PE per 64-channel block
    packed = imc.allocate(fc, spec, replace(imc.profile(arch, "native"), weight_bits=4))
    assert (packed.pes, packed.crossbars_used) == (57 * 16, 512 * 16)  # 9 row blocks share a PE
    pool = load_network("vgg16-tinyimagenet").layer("pool1")
    assert imc.allocate(pool, spec, imc.profile(arch, "native")).pes == 0


def test_latency_equations():
    assert imc.sequential_latency_pe_cycles(2, [10, 20, 30], 0.75) == [14.0, 30.0, 60.0]
    shares = imc.pipelined_latency_pe_cycles(4, [4.0, 8.0, 2.0])
    assert shares == [4.0, 32.0, 2.0] and sum(shares) == 14 + 3 * 8
    assert imc.pipelined_latency_pe_cycles(1, [4.0, 8.0]) == [4.0, 8.0]


def test_small_equations():
    assert imc.cells_per_weight(8, 4) == 2 and imc.cells_per_weight(4, 4) == 1 and imc.cells_per_weight(5, 2) == 3
    assert imc.p_any_spike(0.0, 64) == 0.0 and imc.p_any_spike(1.0, 3) == 1.0
    assert imc.p_any_spike(0.5, 2) == pytest.approx(0.75)
    assert imc.mesh_mean_hops(1) == 0.0 and imc.mesh_mean_hops(4) == pytest.approx(1.0)
    assert imc.membrane_sram_bits(10, 16, 4) == 3 * 16
    assert imc.dt_edp_reduction([1, 2], [1, 2], [0.0, 1.0]) == pytest.approx(1.0)
    assert imc.dt_edp_reduction([1, 2], [1, 2], [1.0, 0.0]) == pytest.approx(4.0)
    with pytest.raises(ValueError):
        imc.dt_edp_reduction([1, 2], [1, 2], [0.5, 0.4])


def test_area_pieces(spec):
    assert imc.pe_area_um2(spec) == pytest.approx(6152.1936)
    assert imc.tile_area_um2(spec) == pytest.approx(596708.2128)


# ----------------------------------------------------------------------------------- compat = the public ELA
def test_compat_reproduces_ela_vgg9_as_shipped(arch):
    """spikesim.md 3.1: 48 PEs, 6 tiles, 8 425 528.76 um^2, 15 906 934.03 pJ, 62 832 640 ns (T = 5)."""
    res = imc.evaluate_network_imc(arch, _net(VGG9_ELA, t=5), profile_name=COMPAT)
    assert sum(al.pes for al in res.allocations) == 48 and res.tiles == 6
    assert res.total.total_energy_pj == pytest.approx(15906934.03, rel=1e-8)
    assert res.total.latency_s * 1e9 == pytest.approx(62832640.0, rel=1e-9)
    assert res.area_um2["total"] == pytest.approx(8425528.76, rel=1e-8)
    assert res.area_um2["lif_membrane_sram"] == pytest.approx(2.264e6, rel=1e-3)


@pytest.mark.parametrize(("network", "ela_nj"), [
    ("spikesim-tdbn", 2.104e5), ("spikesim-lth", 2.630e5), ("spikesim-direct", 2.556e5),
    ("spikesim-tssl", 1.278e5), ("spikesim-bntt", 0.809e5), ("spikesim-sbp", 2.022e5),
])
def test_compat_table2_networks_match_ela(arch, network, ela_nj):
    """spikesim.md 3.3: the ELA energy of the networks behind Table II's SpikeSim column."""
    res = imc.evaluate_network_imc(arch, load_network(network), profile_name=COMPAT)
    assert res.total.total_energy_pj * 1e-3 == pytest.approx(ela_nj, rel=2e-3)


def test_post_pool_convention_quarters_pooled_layers(arch):
    net = _net(VGG9_ELA, t=1)
    compat = imc.profile(arch, COMPAT)
    assert imc.charged_pixels(net.layers, 1, "post-pool") == 16 * 16
    assert imc.charged_pixels(net.layers, 1, "conv") == 32 * 32
    conv = imc.evaluate_network_imc(arch, net, profile_name=COMPAT)
    compat_conv = replace(compat, output_size="conv")
    spec = imc.imc_spec(arch)
    c2 = net.layers[1]
    al = imc.allocate(c2, spec, compat_conv)
    counts = imc.layer_counts(c2, al, 32 * 32, spec, compat_conv, 0.0)
    assert counts[imc.K_TB] == 4 * conv.layers[1].cost.counts[imc.K_TB]


def test_compat_edp_grows_16x_from_t1_to_t4(arch):
    e = {t: imc.evaluate_network_imc(arch, load_network("vgg16-tinyimagenet", timesteps=t), profile_name=COMPAT)
         for t in (1, 4)}
    assert e[4].total.edp_pj_s / e[1].total.edp_pj_s == pytest.approx(16.0)


def test_pipelined_latency_grows_less_than_t(arch):
    d = {t: imc.evaluate_network_imc(arch, load_network("vgg16-tinyimagenet", timesteps=t)).total for t in (1, 4)}
    ratio = d[4].edp_pj_s / d[1].edp_pj_s
    assert 4.0 < ratio < 16.0
    # D(4)/D(1) = (sum s + 3 max s) / sum s with s = P*Q per weight layer of VGG16 at 64x64
    s = [4096, 4096, 1024, 1024, 256, 256, 256, 64, 64, 64, 16, 16, 16, 1, 1, 1]
    assert d[4].latency_s / d[1].latency_s == pytest.approx((sum(s) + 3 * max(s)) / sum(s))


# ----------------------------------------------------------------------------------- properties
def test_event_never_exceeds_dense_and_grows_with_density(arch):
    net = load_network("vgg9-cifar10")
    dense = imc.evaluate_network_imc(arch, net, activity="dense").total.total_energy_pj
    last = 0.0
    for d in (0.0, 0.01, 0.05, 0.2, 1.0):
        sparse = Network(name="x", timesteps=net.timesteps,
                         layers=tuple(layer.with_spike_density(d) for layer in net.layers))
        e = imc.evaluate_network_imc(arch, sparse, activity="event").total.total_energy_pj
        assert last <= e <= dense * (1 + 1e-12)
        last = e
    assert last < dense  # conv1 (C = 3) fills 1 of its PE's 9 crossbars: dense reads all 9, event only the used one
    full = _net([{"name": "c", "kind": "conv", "out_channels": 64, "kernel": 3}], side=3, channels=64, density=1.0)
    # every crossbar and column of the PE used and every row spiking: event charges exactly what dense does
    assert imc.evaluate_network_imc(arch, full, activity="event").total.total_energy_pj == pytest.approx(
        imc.evaluate_network_imc(arch, full, activity="dense").total.total_energy_pj)


def test_energy_proportional_to_t(arch):
    e = [imc.evaluate_network_imc(arch, load_network("resnet18-tinyimagenet", timesteps=t)).total.total_energy_pj
         for t in (1, 3)]
    assert e[1] == pytest.approx(3 * e[0])


def test_allocation_is_independent_of_layer_order(arch, spec):
    net = load_network("resnet18-tinyimagenet")
    rev = Network(name="rev", timesteps=net.timesteps, layers=tuple(reversed(net.layers)))
    a = imc.evaluate_network_imc(arch, net)
    b = imc.evaluate_network_imc(arch, rev)
    assert a.tiles == b.tiles and a.area_um2 == pytest.approx(b.area_um2)
    assert a.total.total_energy_pj == pytest.approx(b.total.total_energy_pj)
    by_name = {lr.name: al.pes for lr, al in zip(b.layers, b.allocations, strict=True)}
    assert all(by_name[lr.name] == al.pes for lr, al in zip(a.layers, a.allocations, strict=True))


def test_resnet18_and_vgg16_tinyimagenet_end_to_end(arch):
    for name in ("resnet18-tinyimagenet", "vgg16-tinyimagenet"):
        d = imc.evaluate_network_imc(arch, load_network(name)).to_dict()
        assert d["total_energy_pj"] > 0 and d["latency_s"] > 0 and d["edp_pj_s"] > 0 and d["area_mm2"] > 0
        weight = [lr for lr in d["layers"] if lr["kind"] in ("conv", "linear")]
        assert all(lr["imc"]["pes"] > 0 and lr["total_energy_pj"] > 0 and lr["cycles"] > 0 for lr in weight)
        assert sum(lr["layer_area_mm2"] for lr in d["layers"]) == pytest.approx(d["area_mm2"])
        assert sum(lr["total_energy_pj"] for lr in d["layers"]) == pytest.approx(d["total_energy_pj"])


def test_lif_sharing_area(arch):
    r18 = load_network("resnet18-tinyimagenet")
    assert imc.lif_area_reduction(arch, r18, 1) == pytest.approx(1.0)
    for n in (2, 4):
        assert imc.lif_area_reduction(arch, r18, n, profile_name=COMPAT) == pytest.approx(n)  # membrane SRAM only
        native = imc.lif_area_reduction(arch, r18, n)
        assert 1.0 < native < n  # the datapaths do not shrink
    base = imc.evaluate_network_imc(arch, r18)
    shared = imc.evaluate_network_imc(arch, r18, lif_sharing=4)
    assert shared.area_um2["lif_logic"] == base.area_um2["lif_logic"]
    assert shared.area_um2["total"] < base.area_um2["total"]


def test_lif_area_counts_every_layer_natively_but_five_in_compat(arch):
    vgg16 = load_network("vgg16-tinyimagenet")
    spec = imc.imc_spec(arch)
    opts = imc.profile(arch, COMPAT)
    first5 = sum(layer.bound(imc.Dim.K) * imc.charged_pixels(vgg16.layers, i, "post-pool") * 22
                 for i, layer in [(i, la) for i, la in enumerate(vgg16.layers) if la.has_weights][:5])
    res = imc.evaluate_network_imc(arch, vgg16, profile_name=COMPAT)
    assert res.area_um2["lif_membrane_sram"] == pytest.approx(first5 * spec.area.sram_per_bit)
    assert opts.lif_area_layers == 5
    nat = imc.evaluate_network_imc(arch, vgg16, profile_name="native", lif_sharing=1)
    assert nat.area_um2["lif_membrane_sram"] > 0 and nat.area_um2["lif_logic"] > 0


# ----------------------------------------------------------------------------------- spec strictness
def test_profiles_are_strict():
    data = load_yaml(archspecs.arch_path("spikeflow"))
    bad = copy.deepcopy(data)
    bad["profiles"]["native"]["activty"] = "event"
    with pytest.raises(SpecError, match=r"profiles\.native.*activty"):
        imc.profile(arch_from_dict(bad, "x.yaml"), "native")
    bad = copy.deepcopy(data)
    bad["profiles"]["native"]["latency"] = "fast"
    with pytest.raises(SpecError, match=r"profiles\.native\.latency.*fast"):
        imc.profile(arch_from_dict(bad, "x.yaml"), "native")
    with pytest.raises(SpecError, match="no profile 'nope'"):
        imc.profile(arch_from_dict(data, "x.yaml"), "nope")
    bad = copy.deepcopy(data)
    del bad["imc"]["energy_pj"]["adc_conversion"]
    with pytest.raises(SpecError, match=r"imc\.energy_pj\.adc_conversion"):
        imc.imc_spec(arch_from_dict(bad, "x.yaml"))
    assert imc.imc_spec(load_arch("spikeflow")).rows == data["device"]["crossbar"]["rows"]


# ----------------------------------------------------------------------------------- CLI and rows
def test_cli_evaluate_imc(tmp_path, capsys):
    from spikeloop.cli import main

    out = tmp_path / "r.json"
    assert main(["evaluate", "--arch", "spikeflow", "--network", "resnet18-tinyimagenet", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["imc"]["profile"] == "native" and d["imc"]["latency"] == "pipelined"
    assert "IMC profile native" in capsys.readouterr().out
    assert main(["evaluate", "--arch", "spikeflow", "--network", "spikesim-tdbn", "--profile", COMPAT,
                 "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["total_energy_pj"] * 1e-3 == pytest.approx(2.104e5, rel=2e-3)
    assert main(["evaluate", "--arch", "spikeflow", "--network", "vgg9-cifar10", "--latency", "sequential",
                 "--activity", "dense", "--lif-sharing", "2", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert (d["imc"]["latency"], d["imc"]["activity"], d["imc"]["lif_sharing"]) == ("sequential", "dense", 2)
    assert main(["evaluate", "--arch", "generic3", "--network", "vgg9-cifar10", "--latency", "pipelined"]) == 2


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
