"""Hand-computed unit tests: one or more per pure equation of costmodel.counts and costmodel.energy.

Every expected number is derived in the comment next to it, never by calling the code under test.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from costmodel import counts as cq
from costmodel import energy as eq
from costmodel.arch import Arch, arch_from_dict
from costmodel.types import DIMS, Dim, Tensor


def a(*v: float) -> np.ndarray:
    return np.array(v)


def _arch(fanouts: list[dict[str, Any]], **compute: Any) -> Arch:
    levels = [
        {"name": f"L{i}", "keeps": ["W", "I", "O", "U", "S"] if i == 0 else ["W"], "word_bits": 16,
         "energy_pj": {"read": 1.0}, "area_um2": 10.0 * (i + 1), "fanout": fo}
        for i, fo in enumerate(fanouts)
    ]
    return arch_from_dict({"name": "eq", "clock_hz": 1e9, "levels": levels,
                           "compute": {"ac_pj": 0.1, "lif_pj": 0.2, **compute}})


# ------------------------------------------------------------------------------ counts.py
@pytest.mark.parametrize(
    ("p", "r", "stride", "rows"),
    [
        (4, 3, 1, 6),  # rows 0..5: (4-1)*1 + 3
        (4, 3, 2, 9),  # rows 0..8: (4-1)*2 + 3
        (3, 2, 2, 6),  # r == stride: rows 0..5 contiguous, (3-1)*2 + 2
        (3, 1, 2, 3),  # r < stride: rows 0, 2, 4 -> p*r
        (2, 2, 3, 4),  # r < stride: rows 0,1 and 3,4 -> p*r
        (1, 3, 2, 3),  # one output row: the filter's 3 rows
        (5, 1, 1, 5),  # 1x1 filter, stride 1: 5 rows
    ],
)
def test_window_extent(p: int, r: int, stride: int, rows: int) -> None:
    assert int(cq.window_extent(np.array(p), np.array(r), stride)) == rows


def test_window_extent_is_elementwise_over_a_batch() -> None:
    got = cq.window_extent(a(4, 3, 2), a(3, 1, 2), 2)
    np.testing.assert_array_equal(got, [9, 3, 4])  # (3*2+3), 3*1 (gaps), (1*2+2)


def _extent(**kw: int) -> dict[Dim, np.ndarray]:
    return {d: np.array([kw.get(d.value, 1)]) for d in DIMS}


@pytest.mark.parametrize(
    ("tensor", "stride", "elements"),
    [
        (Tensor.W, 1, 2 * 3 * 3 * 1),  # K*C*R*S
        (Tensor.I, 1, 2 * 1 * 3 * 6 * 2),  # T*N*C * ((4-1)+3) * ((2-1)+1)
        (Tensor.I, 2, 2 * 1 * 3 * 9 * 1 * 2),  # T*N*C * ((4-1)*2+3) * (Q=2, S=1 < stride: 2*1)
        (Tensor.O, 1, 2 * 1 * 2 * 4 * 2),  # T*N*K*P*Q
        (Tensor.S, 1, 2 * 1 * 2 * 4 * 2),  # T*N*K*P*Q
        (Tensor.U, 1, 1 * 2 * 4 * 2),  # N*K*P*Q (no T)
    ],
)
def test_tile_elements(tensor: Tensor, stride: int, elements: int) -> None:
    ext = _extent(T=2, N=1, K=2, C=3, P=4, Q=2, R=3, S=1)
    assert int(cq.tile_elements(tensor, ext, stride)[0]) == elements


def test_residencies() -> None:
    rel = np.array([False, True, False])
    # [T=2 (irrelevant), K=3 (relevant), C=4 (irrelevant)] above a W tile: T wraps K -> 2*3 = 6;
    # C is innermost and irrelevant -> reused.
    # second row: K has bound 1, so nothing relevant moves inside T: 1 residency.
    # third row: every bound 1.
    f = np.array([[2, 3, 4], [2, 1, 4], [1, 1, 1]])
    np.testing.assert_array_equal(cq.residencies(f, rel), [6, 1, 1])
    # [K=2, T=3, C=2, K=2] with K relevant: everything outside the inner K=2 counts: 2*3*2*2 = 24
    f2 = np.array([[2, 3, 2, 2]])
    np.testing.assert_array_equal(cq.residencies(f2, np.array([True, False, False, True])), [24])
    # no loops above: one residency per mapping in the batch
    np.testing.assert_array_equal(cq.residencies(np.zeros((2, 0), dtype=np.int64), np.zeros(0, bool)), [1, 1])


def test_distinct_tiles() -> None:
    # relevant bounds 3 and 4 -> 12 distinct tiles, whatever the irrelevant ones
    f = np.array([[2, 3, 4], [5, 1, 4]])
    np.testing.assert_array_equal(cq.distinct_tiles(f, np.array([False, True, True])), [12, 4])
    np.testing.assert_array_equal(cq.distinct_tiles(np.zeros((1, 0), dtype=np.int64), np.zeros(0, bool)), [1])


def test_spill_transfers() -> None:
    # 6 residencies of 3 distinct tiles: 3 refills (and 3 writebacks) of 10 elements, 4 instances
    assert float(cq.spill_transfers(a(6), a(3), a(10), a(4))[0]) == 3 * 10 * 4
    assert float(cq.spill_transfers(a(3), a(3), a(10), a(4))[0]) == 0  # never evicted before done


def test_fill_transfers() -> None:
    assert float(cq.fill_transfers(a(6), a(10), a(4))[0]) == 6 * 10 * 4


def test_parent_side() -> None:
    # 240 child fills multicast to groups of 4 siblings: the parent reads 60
    assert float(cq.parent_side(a(240), a(4))[0]) == 60


def test_compute_side() -> None:
    # 1000 MACs, each operand broadcast to 8 units: 125 reads
    assert float(cq.compute_side(a(1000), a(8))[0]) == 125


# ------------------------------------------------------------------------------ energy.py
def test_tensor_bits() -> None:
    got = {t: eq.tensor_bits(t, weight_bits=4, psum_bits=12, membrane_bits=10) for t in Tensor}
    assert got == {Tensor.W: 4, Tensor.I: 1, Tensor.S: 1, Tensor.O: 12, Tensor.U: 10}


def test_words() -> None:
    assert float(eq.words(a(100), 16, 64, "packed")[0]) == 25  # 100*16/64
    assert float(eq.words(a(10), 1, 64, "packed")[0]) == 10 / 64  # spikes pack 64 to a word
    assert float(eq.words(a(100), 16, 64, "element")[0]) == 100  # one access per element


def test_access_energy_pj() -> None:
    assert float(eq.access_energy_pj(a(25), 640.0)[0]) == 16000.0


def test_link_energy_pj() -> None:
    assert float(eq.link_energy_pj(a(100), 16, 0.125)[0]) == 200.0  # 1600 bits * 0.125


def test_accumulations() -> None:
    assert float(eq.accumulations(a(1000), 0.25, 0.5, True)[0]) == 125  # 1000*0.25*0.5
    assert float(eq.accumulations(a(1000), 0.25, 0.5, False)[0]) == 250  # zero weights not skipped


def test_compute_energy_pj() -> None:
    assert float(eq.compute_energy_pj(a(250), 0.5)[0]) == 125.0


def test_static_energy_pj() -> None:
    assert float(eq.static_energy_pj(a(1000), 2.0, 16)[0]) == 32000.0  # 1000 cycles * 2 pJ * 16


def test_compute_cycles_without_systolic() -> None:
    arch = _arch([{"x": 1}, {"x": 4, "y": 4}, {"x": 1}])
    assert float(eq.compute_cycles((a(4), a(6), a(5)), arch)[0]) == 4 * 6 * 5


def test_compute_cycles_with_systolic_skew() -> None:
    # systolic 4x4 fanout at level 1: every pass of levels 0..1 (4*6 passes) runs the inner
    # 5 iterations plus a fill/drain skew of x + y - 2 = 6: 24 * (5 + 6) = 264
    arch = _arch([{"x": 1}, {"x": 4, "y": 4, "systolic": True}, {"x": 1}])
    assert float(eq.compute_cycles((a(4), a(6), a(5)), arch)[0]) == 264
    # systolic 2x3 at the innermost level: 120 passes of 1 iteration + skew 3: 120 * 4 = 480
    arch = _arch([{"x": 1}, {"x": 1}, {"x": 2, "y": 3, "systolic": True}])
    assert float(eq.compute_cycles((a(4), a(6), a(5)), arch)[0]) == 480


def test_bandwidth_cycles() -> None:
    assert float(eq.bandwidth_cycles(a(1024), 64.0, 4)[0]) == 4  # 1024 / (64*4)
    assert float(eq.bandwidth_cycles(a(1024), None, 4)[0]) == 0  # unbounded bandwidth


def test_lif_cycles() -> None:
    assert float(eq.lif_cycles(a(100), 8)[0]) == 12.5


def test_level_area_um2() -> None:
    arch = _arch([{"x": 1}, {"x": 4, "y": 4}, {"x": 1}])
    assert eq.level_area_um2(arch.levels[2], 16) == 30.0 * 16  # 16 instances of 30 um^2
    assert eq.level_area_um2(arch.levels[1], 1) == 20.0


def test_compute_area_um2() -> None:
    # 2 * 4*2 = 16 PEs of 300 um^2; 16 LIF units (1 per PE, unshared) of 250 um^2
    arch = _arch([{"x": 2}, {"x": 4, "y": 2}], area_um2=300.0, lif_area_um2=250.0)
    assert eq.compute_area_um2(arch) == 16 * 300.0 + 16 * 250.0
    # one LIF unit shared by 3 neurons: ceil(16/3) = 6 units
    arch = _arch([{"x": 2}, {"x": 4, "y": 2}], area_um2=300.0, lif_area_um2=250.0, lif_sharing=3)
    assert eq.compute_area_um2(arch) == 16 * 300.0 + 6 * 250.0
