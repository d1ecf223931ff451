"""archspecs/sata.yaml: the per-equation pieces of SATA's power model, read through the spec language."""

from __future__ import annotations

from dataclasses import replace

import pytest

from costmodel import scalesim as compat
from costmodel.arch import load_arch
from costmodel.types import Action, Tensor


@pytest.fixture(scope="module")
def arch():
    return load_arch("sata")


def test_shape_of_the_array_and_hierarchy(arch):
    assert [lv.name for lv in arch.levels] == ["DRAM", "GLB-W", "GLB-A", "SPAD-A", "SPAD-W"]
    assert arch.pes == 128 and arch.lif_units == 128
    fo = arch.levels[arch.level_index("GLB-A")].fanout
    assert (fo.y, fo.x, fo.systolic) == (16, 8, True)
    assert arch.clock_hz == 4e8


def test_buffer_capacities(arch):
    assert arch.levels[arch.level_index("GLB-W")].capacity_bits == 144 * 1024 * 8
    glb_a = arch.levels[arch.level_index("GLB-A")]
    assert glb_a.tensor_capacity(Tensor.I) == 32 * 1024 * 8  # needs the per-tensor capacity loader
    assert arch.levels[arch.level_index("SPAD-W")].capacity_bits == 9 * 8


def test_ungated_power_per_pe_is_0720_pj_per_cycle(arch):
    # AND+adder 0.0481 + comparator+subtractor 0.1406 + spike/psum register files 0.5308
    assert compat.ungated_pj_per_pe_cycle(arch) == pytest.approx(0.720, abs=5e-4)
    assert arch.compute.static_pj_per_cycle == pytest.approx(0.01924 * 2.5)
    assert arch.compute.lif_static_pj_per_cycle == pytest.approx(0.05625 * 2.5)
    assert arch.levels[arch.level_index("SPAD-A")].static_pj_per_cycle == pytest.approx(0.21233 * 2.5)


def test_gated_energies(arch):
    assert compat.gated_pj_per_synop(arch) == pytest.approx(0.344, abs=5e-4)  # acc register + weight SPAD
    assert arch.compute.lif_pj == pytest.approx(0.0472, abs=1e-4)  # threshold + membrane registers
    spad_w = arch.levels[arch.level_index("SPAD-W")]
    assert Tensor.W in spad_w.spike_gated


def test_sram_leakage_is_93_6_pj_per_cycle(arch):
    leak = sum(arch.levels[arch.level_index(n)].static_pj_per_cycle for n in ("GLB-W", "GLB-A"))
    assert leak == pytest.approx(93.6, abs=0.05)


def test_memory_energies_per_block(arch):
    dram = arch.levels[arch.level_index("DRAM")]
    assert dram.energy(Action.READ) == pytest.approx(468.76) and dram.word_bits == 1024
    assert arch.levels[arch.level_index("GLB-W")].energy(Action.READ) == pytest.approx(28.63)
    glb_a = arch.levels[arch.level_index("GLB-A")]
    assert (glb_a.energy(Action.READ), glb_a.energy(Action.WRITE)) == (pytest.approx(11.03), pytest.approx(12.77))


def test_lif_share_of_compute_power(arch):
    # LIF (0.1406 + 0.0472) / (LIF + MAC (0.0481 + 0.0628)) per PE
    assert compat.lif_power_share(arch) == pytest.approx(0.629, abs=1e-3)


def test_c4_sharing_removes_three_quarters_of_lif_power(arch):
    c4 = replace(arch, compute=replace(arch.compute, lif_sharing=4))
    assert c4.lif_units == 32
    assert 1 - compat.lif_power_pj_per_cycle(c4) / compat.lif_power_pj_per_cycle(arch) == pytest.approx(0.75)
    assert compat.lif_power_share(c4) < compat.lif_power_share(arch)


def test_estimate_profile_present(arch):
    prof = arch.flops_estimate
    assert prof is not None and prof.clock_hz == 2.5e8
