"""costmodel.compat: the public SATA tool's counting, equation by equation, and its bridge to the engine."""

from __future__ import annotations

import math

import pytest

from costmodel import compat
from costmodel.arch import load_arch
from costmodel.cost import Key
from costmodel.evaluate import cost_form, nest_of
from costmodel.numeric import element_counts
from costmodel.mapping import LevelMapping, Loop, Mapping
from costmodel.types import Action, Dim, LayerKind, Tensor
from costmodel.workload import Layer, conv_layer


@pytest.fixture(scope="module")
def arch():
    return load_arch("sata")


@pytest.fixture(scope="module")
def opt(arch):
    return compat.options_from_arch(arch)


def linear(c_in: int, c_out: int, t: int = 1, density: float = 1.0) -> Layer:
    return Layer(name="fc", kind=LayerKind.LINEAR, bounds=(t, 1, c_out, c_in, 1, 1, 1, 1), spike_density=density)


def test_profile_is_read_from_the_spec(arch, opt):
    assert opt.access_granularity == "element" and opt.mac_padding == 1 and opt.fc_output_3x3
    assert opt.scalesim_padding == 0 and opt.dram_ifmap == "band" and opt.ifmap_buffer_active_fraction == 0.5
    assert compat.options_from_arch(arch, dram_ifmap="once").dram_ifmap == "once"
    with pytest.raises(TypeError):
        compat.options_from_arch(arch, no_such_option=1)


def test_scalesim_shapes_are_unpadded():
    sh = compat.ScaleSimShape(H=32, W=32, C=3, K=64, R=3, S=3, stride=1)
    assert (sh.out_h, sh.n_pix, sh.w_red) == (30, 900, 27)
    assert compat.ScaleSimShape(H=32, W=32, C=3, K=64, R=3, S=3, stride=2).out_h == 16  # ceil((32 - 3 + 2) / 2)


def test_os_and_ws_cycles():
    sh = compat.ScaleSimShape(H=1, W=1, C=1024, K=512, R=1, S=1, stride=1)
    assert compat.os_cycles(sh, 16, 8) == 1 * 64 * (1024 + 16 + 8 - 2) - 1
    assert compat.ws_filter_cycles(sh, 16, 8) == (64 * 64 - 1) * (1 + 32 + 8 - 2) + 15


def test_buffer_access_counts():
    sh = compat.ScaleSimShape(H=32, W=32, C=64, K=64, R=3, S=3, stride=1)
    assert compat.glb_ifmap_reads(sh, 8) == 900 * 576 * 8
    assert compat.glb_ofmap_writes(sh, 16, 8, quirk=False) == 900 * 64
    assert compat.glb_ofmap_writes(sh, 16, 8, quirk=True) == 900 * 64 + 57 * 8 * 24
    assert compat.weight_reads(sh) == 64 * 576


def test_padding_one_mac_count_and_fc_times_nine(opt):
    conv = conv_layer(K=8, C=4, P=16, R=3, stride=1, padding=1, T=2, spike_density=0.5)
    assert compat.mac_out_sides(conv, opt) == (16, 16)
    assert compat.synaptic_ops(conv, opt) == 8 * 256 * 36 * 2 * 0.5
    fc = linear(1024, 512, t=2, density=0.1)
    assert compat.mac_out_sides(fc, opt) == (3, 3)
    assert compat.synaptic_ops(fc, opt) == pytest.approx(1024 * 512 * 9 * 2 * 0.1)
    plain = compat.SataCompatOptions(fc_output_3x3=False)
    assert compat.synaptic_ops(fc, plain) == pytest.approx(1024 * 512 * 2 * 0.1)
    assert compat.lif_updates(fc, opt) == 512 * 9 * 2


def test_dram_ifmap_read_once_when_it_fits():
    sh = compat.ScaleSimShape(H=32, W=32, C=3, K=64, R=3, S=3, stride=1)
    assert compat.dram_ifmap_reads(sh, 16384, 8) == 3 * 32 * 32


def test_dram_ifmap_bands():
    # 32 x 32 x 128 input, 128 filters: bands of 2 output rows (4 input rows = 16384 B), 15 bands, 16 folds
    sh = compat.ScaleSimShape(H=32, W=32, C=128, K=128, R=3, S=3, stride=1)
    assert compat.dram_ifmap_reads(sh, 16384, 8) == 16 * 15 * 4 * 32 * 128
    # a band that does not divide the output rows: 30 rows in bands of 4 (6 input rows) -> 7 x 6 + (2 + 2)
    sh2 = compat.ScaleSimShape(H=32, W=32, C=64, K=64, R=3, S=3, stride=1)
    assert compat.dram_ifmap_reads(sh2, 6 * 32 * 64, 8) == 8 * (7 * 6 + 4) * 32 * 64
    # one output row does not fit: column bands
    sh3 = compat.ScaleSimShape(H=8, W=8, C=1024, K=8, R=3, S=3, stride=1)
    assert compat.dram_ifmap_reads(sh3, 4 * 3 * 1024, 8) == 1 * 6 * (3 * 4 + 0) * 3 * 1024
    # not even one window fits: every operand from DRAM
    assert compat.dram_ifmap_reads(sh3, 100, 8) == sh3.n_pix * sh3.w_red * 1


def test_band_model_equals_engine_fills_for_the_band_mapping(arch):
    """The band count is the engine's DRAM -> GLB-A input fill count for an OS mapping with the filter
    folds outermost and a band of 2 output rows as the GLB tile."""
    layer = conv_layer(K=128, C=128, P=30, R=3, stride=1, padding=0)
    assert layer.in_h == 32
    m = Mapping(levels=(
        LevelMapping(temporal=(Loop(Dim.K, 16), Loop(Dim.P, 15))),
        LevelMapping(),
        LevelMapping(temporal=(Loop(Dim.C, 128), Loop(Dim.P, 2)),
                     spatial=(Loop(Dim.K, 8, True, "x"), Loop(Dim.Q, 15, True, "y"))),
        LevelMapping(temporal=(Loop(Dim.Q, 2),)),
        LevelMapping(temporal=(Loop(Dim.R, 3), Loop(Dim.S, 3))),
    ))
    view, factors = nest_of(arch, m)
    counts = element_counts(cost_form(arch, layer, view), factors)
    engine_fills = float(counts.writes[(arch.level_index("GLB-A"), Tensor.I)][0])
    sh = compat.scalesim_shape(layer)
    assert engine_fills == compat.dram_ifmap_reads(sh, 16384, 8)


def test_layer_cost_composition(arch, opt):
    """Total = element accesses x block energy + synops x 0.344 + LIF x 0.0472 + cycles x static power."""
    fc = linear(1024, 512, t=2, density=0.1)
    c = compat.layer_cost(arch, fc, opt)
    sh = compat.scalesim_shape(fc)
    cycles = 2 * compat.os_cycles(sh, 16, 8) + compat.ws_filter_cycles(sh, 16, 8)
    assert c.cycles == cycles
    static = sum(compat.static_pj_per_cycle(arch).values())
    assert static == pytest.approx(128 * (0.720 + 0.00167) + 93.57, abs=0.1)
    dram = 468.76 * 1024 + 468.76 * 1024 * 512 + 468.77 * 512  # ifmap fits, weights, ofmap
    sram = 11.03 * 1024 * 64 + 28.63 * 1024 * 512 + 12.77 * (512 + 64 * 24)
    pe = compat.synaptic_ops(fc, opt) * compat.gated_pj_per_synop(arch) + 512 * 9 * 2 * arch.compute.lif_pj
    assert c.total_energy_pj == pytest.approx(dram + sram + pe + cycles * static, rel=1e-9)
    assert c.energy_pj[Key("DRAM", Tensor.W, Action.READ)] == pytest.approx(468.76 * 1024 * 512)


def test_packed_granularity_is_cheaper(arch, opt):
    fc = linear(1024, 512)
    packed = compat.options_from_arch(arch, access_granularity="packed")
    assert compat.layer_cost(arch, fc, packed).total_energy_pj < compat.layer_cost(arch, fc, opt).total_energy_pj


def test_sparsity_only_moves_gated_pe_energy(arch, opt):
    dense = compat.layer_cost(arch, conv_layer(K=64, C=64, P=16, R=3, padding=1, spike_density=1.0), opt)
    sparse = compat.layer_cost(arch, conv_layer(K=64, C=64, P=16, R=3, padding=1, spike_density=0.1), opt)
    assert dense.cycles == sparse.cycles
    diff = dense.total_energy_pj - sparse.total_energy_pj
    assert diff == pytest.approx(0.9 * dense.macs * compat.gated_pj_per_synop(arch))


def test_network_skips_pool_layers(arch):
    from costmodel.network import load_network

    res = compat.evaluate_network_compat(arch, load_network("vgg9-cifar10"))
    assert [lr.name for lr in res.layers] == ["conv1", "conv2", "conv3", "conv4", "conv5", "conv6", "conv7",
                                              "fc1", "fc2"]
    assert math.isfinite(res.total.total_energy_pj)
