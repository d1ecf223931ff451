"""The SATA tool's counting: costmodel.scalesim's equations by hand, and the engine's ``sata-compat`` profile
(the tool's schedule as a mapping constraint plus named counting options) composed from them."""

from __future__ import annotations

import math

import pytest

from costmodel import scalesim
from costmodel.arch import load_arch
from costmodel.cost import Key
from costmodel.evaluate import cost_form, evaluate, nest_of
from costmodel.mapping import Invalid, LevelMapping, Loop, Mapping
from costmodel.network import load_network
from costmodel.numeric import element_counts
from costmodel.types import Action, Dim, LayerKind, Tensor
from costmodel.workload import Layer, conv_layer
from mappers.heuristic import scalesim_os_mapping
from spikeloop.engine import Options, run_network

COMPAT = "sata-compat"


@pytest.fixture(scope="module")
def arch():
    return load_arch("sata")


@pytest.fixture(scope="module")
def acc(arch):
    return arch.profile(COMPAT)


def linear(c_in: int, c_out: int, t: int = 1, density: float = 1.0) -> Layer:
    return Layer(name="fc", kind=LayerKind.LINEAR, bounds=(t, 1, c_out, c_in, 1, 1, 1, 1), spike_density=density)


def test_profile_is_read_from_the_spec(acc):
    assert acc.access_granularity is not None and acc.access_granularity.value == "element"
    assert acc.mac_padding == 1 and acc.fc_output_3x3 and acc.weight_load_pass and acc.ofmap_write_quirk
    assert acc.unpadded and acc.scalesim_memory and acc.ifmap_bits == 8 and acc.ifmap_buffer_fraction == 0.5
    assert acc.dataflow == "scalesim"


def test_scalesim_shapes_are_unpadded():
    sh = scalesim.ScaleSimShape(H=32, W=32, C=3, K=64, R=3, S=3, stride=1)
    assert (sh.out_h, sh.n_pix, sh.w_red) == (30, 900, 27)
    assert scalesim.ScaleSimShape(H=32, W=32, C=3, K=64, R=3, S=3, stride=2).out_h == 16  # ceil((32 - 3 + 2) / 2)


def test_ws_filter_cycles():
    sh = scalesim.ScaleSimShape(H=1, W=1, C=1024, K=512, R=1, S=1, stride=1)
    # F'_r = 1024 / 16 = 64, F_c = 512 / 8 = 64: (64 * 64 - 1) * (1 + 32 + 8 - 2) + 15
    assert scalesim.ws_filter_cycles(sh, 16, 8) == (64 * 64 - 1) * (1 + 32 + 8 - 2) + 15


def test_buffer_access_counts():
    sh = scalesim.ScaleSimShape(H=32, W=32, C=64, K=64, R=3, S=3, stride=1)
    assert scalesim.glb_ifmap_reads(sh, 8) == 900 * 576 * 8
    assert scalesim.ofmap_writes(sh) == 900 * 64
    assert scalesim.ofmap_write_quirk(sh, 16, 8) == 57 * 8 * 24  # ceil(900 / 16) * (64 / 8) * (16 + 8)
    assert scalesim.weight_reads(sh) == 64 * 576


def test_tool_output_scale_padding_one_and_fc_times_nine():
    conv = conv_layer(K=8, C=4, P=16, R=3, stride=1, padding=1, T=2, spike_density=0.5)
    assert scalesim.tool_output_scale(conv, 1, True) == 1.0  # already padded 1: 16 x 16
    unpadded = conv_layer(K=8, C=4, P=14, R=3, stride=1, padding=0)
    assert scalesim.tool_output_scale(unpadded, 1, True) == pytest.approx(16 * 16 / (14 * 14))
    fc = linear(1024, 512, t=2, density=0.1)
    assert scalesim.tool_output_scale(fc, 1, True) == 9.0
    assert scalesim.tool_output_scale(fc, 1, False) == 1.0


def test_dram_ifmap_read_once_when_it_fits():
    sh = scalesim.ScaleSimShape(H=32, W=32, C=3, K=64, R=3, S=3, stride=1)
    assert scalesim.dram_ifmap_reads(sh, 16384, 8) == 3 * 32 * 32


def test_dram_ifmap_bands():
    # 32 x 32 x 128 input, 128 filters: bands of 2 output rows (4 input rows = 16384 B), 15 bands, 16 folds
    sh = scalesim.ScaleSimShape(H=32, W=32, C=128, K=128, R=3, S=3, stride=1)
    assert scalesim.dram_ifmap_reads(sh, 16384, 8) == 16 * 15 * 4 * 32 * 128
    # a band that does not divide the output rows: 30 rows in bands of 4 (6 input rows) -> 7 x 6 + (2 + 2)
    sh2 = scalesim.ScaleSimShape(H=32, W=32, C=64, K=64, R=3, S=3, stride=1)
    assert scalesim.dram_ifmap_reads(sh2, 6 * 32 * 64, 8) == 8 * (7 * 6 + 4) * 32 * 64
    # one output row does not fit: column bands of 4 outputs (6 input columns), 6 output rows
    sh3 = scalesim.ScaleSimShape(H=8, W=8, C=1024, K=8, R=3, S=3, stride=1)
    assert scalesim.dram_ifmap_reads(sh3, 4 * 3 * 1024, 8) == 1 * 6 * (3 * 4 + 0) * 3 * 1024
    # not even one window fits: every operand from DRAM
    assert scalesim.dram_ifmap_reads(sh3, 100, 8) == sh3.n_pix * sh3.w_red * 1


def test_band_model_equals_engine_fills_for_the_band_mapping(arch):
    """The band count is the engine's DRAM -> GLB-A input fill count for an OS mapping with the filter folds
    outermost and a band of 2 output rows as the GLB tile (the closed form is a loop-nest count, not a fit)."""
    layer = conv_layer(K=128, C=128, P=30, R=3, stride=1, padding=0)
    assert layer.in_h == 32
    m = Mapping(
        levels=(
            LevelMapping(temporal=(Loop(Dim.K, 16), Loop(Dim.P, 15))),
            LevelMapping(),
            LevelMapping(
                temporal=(Loop(Dim.C, 128), Loop(Dim.P, 2)),
                spatial=(Loop(Dim.K, 8, True, "x"), Loop(Dim.Q, 15, True, "y")),
            ),
            LevelMapping(temporal=(Loop(Dim.Q, 2),)),
            LevelMapping(temporal=(Loop(Dim.R, 3), Loop(Dim.S, 3))),
        )
    )
    view, factors = nest_of(arch, m)
    counts = element_counts(cost_form(arch, layer, view), factors)
    engine_fills = float(counts.writes[(arch.level_index("GLB-A"), Tensor.I)][0])
    assert engine_fills == scalesim.dram_ifmap_reads(scalesim.scalesim_shape(layer), 16384, 8)


def _tool_cost(arch, acc, layer):
    m = scalesim_os_mapping(arch, layer, acc)
    assert not isinstance(m, Invalid), m
    c = evaluate(arch, layer, m, acc)
    assert not isinstance(c, Invalid), c
    return c


def test_fc_layer_memory_is_the_tools_counts(arch, acc):
    """DRAM and array-buffer traffic of an FC layer under sata-compat are scale-sim's element counts times the
    spec's per-access energies: ifmap once (it fits), weights once, outputs once; buffer ifmap once per filter
    fold, outputs once plus the write quirk."""
    fc = linear(1024, 512, t=1, density=0.1)
    c = _tool_cost(arch, acc, fc)
    sh = scalesim.scalesim_shape(fc)
    dram, s = arch.levels[0], arch.levels[arch.systolic_level]
    e = c.energy_pj
    assert e[Key(dram.name, Tensor.I, Action.READ)] == pytest.approx(dram.energy(Action.READ) * 1024)
    assert e[Key(dram.name, Tensor.W, Action.READ)] == pytest.approx(dram.energy(Action.READ) * 1024 * 512)
    assert e[Key(s.name, Tensor.I, Action.READ)] == pytest.approx(s.energy(Action.READ) * 1024 * 64)
    writes = scalesim.ofmap_writes(sh) + scalesim.ofmap_write_quirk(sh, s.fanout.y, s.fanout.x)
    assert e[Key(s.name, Tensor.S, Action.WRITE)] == pytest.approx(s.energy(Action.WRITE) * writes)
    # the extra weight-load pass is in the cycles
    assert c.cycles >= scalesim.ws_filter_cycles(sh, s.fanout.y, s.fanout.x)


def test_sparsity_only_moves_gated_pe_energy(arch, acc):
    dense = _tool_cost(arch, acc, conv_layer(K=64, C=64, P=16, R=3, padding=1, spike_density=1.0))
    sparse = _tool_cost(arch, acc, conv_layer(K=64, C=64, P=16, R=3, padding=1, spike_density=0.1))
    assert dense.cycles == sparse.cycles
    moved = {k for k in dense.energy_pj if dense.energy_pj[k] != pytest.approx(sparse.energy_pj.get(k, 0.0))}
    assert moved and all(k.component.startswith(("SPAD", "compute")) for k in moved), moved
    assert dense.total_energy_pj > sparse.total_energy_pj


def test_network_prices_weight_layers_only_and_is_finite(arch):
    res = run_network(arch, load_network("vgg9-cifar10"), opts=Options(profile=COMPAT))
    priced = [lr.name for lr in res.layers if lr.cost.total_energy_pj > 0]
    assert priced == ["conv1", "conv2", "conv3", "conv4", "conv5", "conv6", "conv7", "fc1", "fc2"]
    assert {lr.name for lr in res.layers} - set(priced) == {"pool1", "pool2", "pool3"}
    assert math.isfinite(res.total.total_energy_pj) and res.total.total_energy_pj > 0
