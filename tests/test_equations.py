"""Hand-computed unit tests: one or more per equation of the analysis (costmodel.analysis, evaluated by
costmodel.numeric) and of the pricing (costmodel.pricing).

Every expected number is derived in the comment next to it, never by calling the code under test.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import sympy as sp

from costmodel import pricing as pr
from costmodel.analysis import window_extent
from costmodel.arch import Arch, arch_from_dict
from costmodel.evaluate import cost_form, nest_of
from costmodel.mapping import LevelMapping, Loop, Mapping
from costmodel.numeric import cycles_of, element_counts, quantity_values
from costmodel.symbolic import select
from costmodel.types import Axis, Dim, Granularity, Tensor
from costmodel.workload import Layer, conv_layer


def _arch(fanouts: list[dict[str, Any]], keeps: list[str] | None = None, **compute: Any) -> Arch:
    levels = [
        {
            "name": f"L{i}",
            "keeps": ["W", "I", "O", "U", "S"] if i == 0 else (keeps or ["W"]),
            "word_bits": 16,
            "energy_pj": {"read": 1.0},
            "area_um2": 10.0 * (i + 1),
            "fanout": fo,
        }
        for i, fo in enumerate(fanouts)
    ]
    return arch_from_dict(
        {"name": "eq", "clock_hz": 1e9, "levels": levels, "compute": {"ac_pj": 0.1, "lif_pj": 0.2, **compute}}
    )


def _t(*loops: tuple[Dim, int]) -> tuple[Loop, ...]:
    return tuple(Loop(d, b) for d, b in loops)


def _counts(arch: Arch, layer: Layer, mapping: Mapping):  # noqa: ANN202
    view, factors = nest_of(arch, mapping)
    return element_counts(cost_form(arch, layer, view), factors)


# ------------------------------------------------------------------------------ sliding windows
WINDOWS = [
    (4, 3, 1, 6),  # rows 0..5: (4-1)*1 + 3
    (4, 3, 2, 9),  # rows 0..8: (4-1)*2 + 3
    (3, 2, 2, 6),  # r == stride: rows 0..5 contiguous, (3-1)*2 + 2
    (3, 1, 2, 3),  # r < stride: rows 0, 2, 4 -> p*r
    (2, 2, 3, 4),  # r < stride: rows 0,1 and 3,4 -> p*r
    (1, 3, 2, 3),  # one output row: the filter's 3 rows
    (5, 1, 1, 5),  # 1x1 filter, stride 1: 5 rows
]


@pytest.mark.parametrize(("p", "r", "stride", "rows"), WINDOWS)
def test_window_extent_in_every_arithmetic(p: int, r: int, stride: int, rows: int) -> None:
    """One formula, three arithmetics: Python ints (CP-SAT tables), numpy arrays, sympy numbers."""
    assert window_extent(p, r, stride) == rows
    assert int(window_extent(np.array([p]), np.array([r]), stride, np.where)[0]) == rows
    assert window_extent(sp.Integer(p), sp.Integer(r), stride, select) == rows


def test_window_extent_symbolic_shortcuts() -> None:
    p, r = sp.symbols("p r", positive=True, integer=True)
    assert window_extent(p, sp.Integer(1), 2, select) == p  # r = 1 < stride: p * 1
    assert window_extent(p, r, 1, select) == p + r - 1  # r >= 1 = stride always: the sliding window
    assert isinstance(window_extent(p, r, 2, select), sp.Piecewise)


# ------------------------------------------------------------------------------ tiles and residencies
ROOMY = _arch([{"x": 8, "y": 8}, {"x": 8, "y": 8}], keeps=["W", "I", "O", "U", "S"])


def test_tiles() -> None:
    # T=2 N=1 K=2 C=3 P=4 Q=2 R=3 S=1 at level 1 (everything inside L1), nothing at L0
    layer = conv_layer(T=2, K=2, C=3, P=4, Q=2, R=3, S=1)
    m = Mapping(
        levels=(
            LevelMapping(),
            LevelMapping(temporal=_t((Dim.T, 2), (Dim.K, 2), (Dim.C, 3), (Dim.P, 4), (Dim.Q, 2), (Dim.R, 3))),
        )
    )
    tiles = _counts(ROOMY, layer, m).tiles
    assert int(tiles[(1, Tensor.W)][0]) == 2 * 3 * 3 * 1  # K*C*R*S
    assert int(tiles[(1, Tensor.I)][0]) == 2 * 1 * 3 * 6 * 2  # T*N*C * ((4-1)+3) * ((2-1)+1)
    assert int(tiles[(1, Tensor.O)][0]) == 2 * 1 * 2 * 4 * 2  # T*N*K*P*Q
    assert int(tiles[(1, Tensor.S)][0]) == 2 * 1 * 2 * 4 * 2  # T*N*K*P*Q
    assert int(tiles[(1, Tensor.U)][0]) == 1 * 2 * 4 * 2  # N*K*P*Q (no T)
    strided = conv_layer(T=2, K=2, C=3, P=4, Q=2, R=3, S=1, stride=2)
    tiles = _counts(ROOMY, strided, m).tiles
    assert int(tiles[(1, Tensor.I)][0]) == 2 * 1 * 3 * 9 * 2  # T*N*C * ((4-1)*2+3) * (Q=2, S=1 < 2: 2*1)


@pytest.mark.parametrize(
    ("outer", "fills"),
    [
        # [T=2 (irrelevant to W), K=3 (relevant), C=4 (relevant)] above the W tile at L1: 2*3*4 = 24
        (((Dim.T, 2), (Dim.K, 3), (Dim.C, 4)), 24),
        # [T=2, K=3, P=4]: P is irrelevant and innermost: reused -> 2*3 = 6
        (((Dim.T, 2), (Dim.K, 3), (Dim.P, 4)), 6),
        # [T=2, P=4]: nothing relevant moves inside the irrelevant loops: one residency
        (((Dim.T, 2), (Dim.P, 4)), 1),
        # [K=2, T=3, P=2, K=2]: everything outside the inner K counts: 2*3*2*2 = 24
        (((Dim.K, 2), (Dim.T, 3), (Dim.P, 2), (Dim.K, 2)), 24),
    ],
)
def test_residencies_of_a_weight_tile(outer: tuple[tuple[Dim, int], ...], fills: int) -> None:
    """L1 holds one weight (no loops at L1): its fills = residencies x tile 1 x 1 instance."""
    b = {d: 1 for d in Dim}
    for d, n in outer:
        b[d] *= n
    layer = conv_layer(T=b[Dim.T], K=b[Dim.K], C=b[Dim.C], P=b[Dim.P], Q=1, R=1, S=1)
    m = Mapping(levels=(LevelMapping(temporal=_t(*outer)), LevelMapping()))
    c = _counts(ROOMY, layer, m)
    assert int(c.writes[(1, Tensor.W)][0]) == fills
    assert int(c.reads[(0, Tensor.W)][0]) == fills


def test_spills_of_partial_sums() -> None:
    """[C=3 outer, P=2 inner] at L0, K=2 at L1: the O tile at L1 (K=2 elements) has 6 residencies of 2 distinct
    tiles: 4 spills of 2 elements each way: L1 writes 8 and reads 8 (+ 4 reads of the finished sums, K*P, by the LIF
    unit), L0 reads 8 and updates 8."""
    layer = conv_layer(K=2, C=3, P=2, Q=1, R=1, S=1)
    m = Mapping(levels=(LevelMapping(temporal=_t((Dim.C, 3), (Dim.P, 2))), LevelMapping(temporal=_t((Dim.K, 2)))))
    c = _counts(ROOMY, layer, m)
    assert (c.writes[(1, Tensor.O)][0], c.reads[(1, Tensor.O)][0]) == (8, 8 + 4)
    assert (c.reads[(0, Tensor.O)][0], c.updates[(0, Tensor.O)][0]) == (8, 8)


def test_multicast_and_compute_side() -> None:
    """K=4 spread over 4 instances of L1 (spatial, irrelevant to I): each instance fills the same 6-element input
    tile (C=6), the parent reads it once: L1 I writes 4*6 = 24, L0 I reads 6. Compute side: 24 MACs read W and I
    at L1 (no spatial loop below L1): 24 each."""
    layer = conv_layer(K=4, C=6, P=1, Q=1, R=1, S=1)
    m = Mapping(levels=(LevelMapping(spatial=(Loop(Dim.K, 4, True, Axis.X),)), LevelMapping(temporal=_t((Dim.C, 6)))))
    c = _counts(ROOMY, layer, m)
    assert (c.writes[(1, Tensor.I)][0], c.reads[(0, Tensor.I)][0]) == (24, 6)
    assert (c.reads[(1, Tensor.W)][0], c.reads[(1, Tensor.I)][0], int(c.macs[0])) == (24, 24, 24)


# ------------------------------------------------------------------------------ pricing
def test_tensor_bits() -> None:
    got = {
        t: pr.tensor_bits(t, input_bits=1, weight_bits=4, psum_bits=12, membrane_bits=10, output_bits=1) for t in Tensor
    }
    assert got == {Tensor.W: 4, Tensor.I: 1, Tensor.S: 1, Tensor.O: 12, Tensor.U: 10}
    got = {
        t: pr.tensor_bits(t, input_bits=8, weight_bits=8, psum_bits=16, membrane_bits=16, output_bits=8)
        for t in (Tensor.I, Tensor.S)
    }
    assert got == {Tensor.I: 8, Tensor.S: 8}  # a direct-coded input, a non-spiking layer's activations


def test_mac_steps() -> None:
    assert pr.mac_steps(8, bit_serial=True) == 8  # one accumulate (or row pulse) per input bit
    assert pr.mac_steps(8, bit_serial=False) == 1  # a real multiplier: one MAC
    assert pr.mac_steps(1, bit_serial=True) == 1  # spikes: one accumulate


def test_actions_per_element() -> None:
    assert pr.actions_per_element(16, 64, Granularity.PACKED) == Fraction(1, 4)  # 16/64
    assert pr.actions_per_element(1, 64, Granularity.PACKED) == Fraction(1, 64)  # spikes pack 64 to a word
    assert pr.actions_per_element(16, 64, Granularity.ELEMENT) == 1  # one access per element


def test_accumulations_per_spike() -> None:
    assert pr.accumulations_per_spike(0.5, True) == 0.5  # zero weights skipped too
    assert pr.accumulations_per_spike(0.5, False) == 1.0


def test_bus_and_lif_cycles() -> None:
    assert pr.bus_cycles_per_bit(64.0, 4) * 1024 == 4  # 1024 bits / (64*4)
    assert pr.lif_cycles_per_op(8) * 100 == 12.5


def test_static_power() -> None:
    # 2 * 4*2 = 16 PEs; L1 has 2 instances (fanout of L0), L2 16
    arch = _arch([{"x": 2}, {"x": 4, "y": 2}, {"x": 1}], static_pj_per_cycle=0.5, lif_static_pj_per_cycle=0.25)
    got = pr.static_pj_per_cycle(arch)
    assert sum(got.values()) == 16 * 0.5 + 16 * 0.25  # levels have no static power here


def test_areas() -> None:
    arch = _arch([{"x": 1}, {"x": 4, "y": 4}, {"x": 1}])
    assert pr.level_area_um2(arch.levels[2], 16) == 30.0 * 16  # 16 instances of 30 um^2
    # 2 * 4*2 = 16 PEs of 300 um^2; 16 LIF units (1 per PE, unshared) of 250 um^2; levels 10 + 2*20
    arch = _arch([{"x": 2}, {"x": 4, "y": 2}], area_um2=300.0, lif_area_um2=250.0)
    assert pr.arch_area_um2(arch) == 10 + 2 * 20 + 16 * 300.0 + 16 * 250.0
    # one LIF unit shared by 3 neurons: ceil(16/3) = 6 units
    arch = _arch([{"x": 2}, {"x": 4, "y": 2}], area_um2=300.0, lif_area_um2=250.0, lif_sharing=3)
    assert pr.arch_area_um2(arch) == 10 + 2 * 20 + 16 * 300.0 + 6 * 250.0


@pytest.mark.parametrize(
    ("fanouts", "cycles"),
    [
        # no systolic fanout: the product of every temporal bound, 4 * 6 * 5 = 120
        ([{"x": 1}, {"x": 4, "y": 4}, {"x": 1}], 120),
        # systolic 4x4 at level 1: every pass of levels 0..1 (4*6) runs the inner 5 iterations plus a
        # fill/drain skew of x + y - 2 = 6: 24 * (5 + 6) = 264
        ([{"x": 1}, {"x": 4, "y": 4, "systolic": True}, {"x": 1}], 264),
        # systolic 2x3 at the innermost level: 120 passes of 1 iteration + skew 3: 120 * 4 = 480
        ([{"x": 1}, {"x": 1}, {"x": 2, "y": 3, "systolic": True}], 480),
    ],
)
def test_compute_cycles(fanouts: list[dict[str, Any]], cycles: int) -> None:
    arch = _arch(fanouts, keeps=["W", "I", "O", "U", "S"])
    layer = conv_layer(K=4, C=6, P=5, Q=1, R=1, S=1)
    m = Mapping(
        levels=(
            LevelMapping(temporal=_t((Dim.K, 4))),
            LevelMapping(temporal=_t((Dim.C, 6))),
            LevelMapping(temporal=_t((Dim.P, 5))),
        )
    )
    view, factors = nest_of(arch, m)
    form = cost_form(arch, layer, view)
    got = cycles_of(form, quantity_values(form, factors))
    # LIF: 4*5 = 20 updates on 1 LIF unit = 20 cycles, never the maximum here; no bandwidth limits
    assert float(got[0]) == cycles
