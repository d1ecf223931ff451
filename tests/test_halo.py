"""Halo reuse and peer forwarding of input tiles (costmodel/halo.py): hand-computed cases, the walk without them
against the engine's closed form on random nests, and the invariants (reuse never adds traffic).

The Timeloop golden cases (tests/test_timeloop_golden.py) check the same functions against timeloop-model v3.0.3
itself; these tests pin the rules one at a time.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel.analysis import FlowOptions, NestView, Position, analyze
from costmodel.halo import Loop, box_delta, input_flow, tile_extent, translation, walk
from costmodel.numeric import _Columns, quantity_value
from costmodel.types import Action, Axis, Dim, Tensor

X, Y = Axis.X, Axis.Y


def test_translation_and_extent_by_hand() -> None:
    # DRAM: Q2 P2; GLB: C8 P16 Q16; below GLB: R3, C8 (stride 1)
    nest = [
        Loop(0, Dim.Q, 2),
        Loop(0, Dim.P, 2),
        Loop(1, Dim.C, 8),
        Loop(1, Dim.P, 16),
        Loop(1, Dim.Q, 16),
        Loop(2, Dim.R, 3),
        Loop(2, Dim.S, 3),
        Loop(2, Dim.C, 8),
    ]
    # the DRAM P loop moves the GLB tile by the 16 rows of P inside it; the GLB Q loop by one column
    assert translation(nest, 1, 1).tolist() == [0, 0, 0, 16, 0]
    assert translation(nest, 4, 1).tolist() == [0, 0, 0, 0, 1]
    assert translation(nest, 2, 1).tolist() == [0, 0, 8, 0, 0]
    assert translation(nest, 1, 2).tolist() == [0, 0, 0, 32, 0]  # stride 2: 16 rows of P are 32 input rows
    assert translation(nest, 3, 2).tolist() == [0, 0, 0, 2, 0]
    # GLB tile: t1 n1 c64 h (16-1)+3 = 18, w 18; RF tile: c8, 3 x 3
    assert tile_extent(nest, 1, 1).tolist() == [1, 1, 64, 18, 18]
    assert tile_extent(nest, 2, 1).tolist() == [1, 1, 8, 3, 3]
    assert tile_extent(nest, 1, 2).tolist() == [1, 1, 64, 33, 33]  # (16 - 1) * 2 + 3


def test_box_delta_by_hand() -> None:
    ext = np.array([1, 1, 4, 3, 5])
    lo = np.zeros(5, dtype=np.int64)
    same = box_delta(lo, lo, ext)
    assert int(np.prod(same[1])) == 0
    d_lo, d_ext = box_delta(np.array([0, 0, 0, 1, 0]), lo, ext)  # one row down: the new bottom row
    assert d_lo.tolist() == [0, 0, 0, 3, 0] and d_ext.tolist() == [1, 1, 4, 1, 5]
    d_lo, d_ext = box_delta(np.array([0, 0, 0, 0, -2]), lo, ext)  # two columns left: the new left columns
    assert d_lo.tolist() == [0, 0, 0, 0, -2] and d_ext.tolist() == [1, 1, 4, 3, 2]
    assert box_delta(np.array([0, 0, 0, 1, 1]), lo, ext)[1].tolist() == ext.tolist()  # two coords: whole box
    assert box_delta(np.array([0, 0, 0, 3, 0]), lo, ext)[1].tolist() == ext.tolist()  # no overlap: whole box


def test_the_walk_by_hand() -> None:
    """The GLB tile (64 x 18 x 18) under DRAM loops Q2 (outer), P2 (inner): the first tile whole (324 per
    channel), the P step only its 16 new rows (288), the Q step changes the translation (reset: 324), its P step
    288 again: 64 x 1224 = 78,336 (timeloop-model: DRAM input reads 78,336). Without halo reuse: 4 x 20,736."""
    nest = [Loop(0, Dim.Q, 2), Loop(0, Dim.P, 2), Loop(1, Dim.P, 16), Loop(1, Dim.Q, 16), Loop(1, Dim.R, 3)]
    nest += [Loop(1, Dim.S, 3), Loop(1, Dim.C, 64)]
    assert walk(nest, 1, 0, 1, halo=True, links=False).elements == 64 * (324 + 288 + 324 + 288) == 78_336
    assert walk(nest, 1, 0, 1, halo=False, links=False).elements == 4 * 64 * 18 * 18
    # P outer, Q inner, the same: 2 x (324 + 288)
    swapped = [nest[1], nest[0], *nest[2:]]
    assert walk(swapped, 1, 0, 1, halo=True, links=False).elements == 78_336


def test_sampling_counts_iteration_one_for_the_rest() -> None:
    """P split as P2 (outer) x P2 (inner) above a tile of 3 rows (R3): the walk's tiles lie at rows 0, 1, 2, 3.
    Iteration 0 -> 1 of the inner loop moves one row (1 new row); the outer step moves from row 1 to row 2: the
    same translation, so 1 new row; then 1 again: 3 + 1 + 1 + 1 = 6 rows."""
    nest = [Loop(0, Dim.P, 2), Loop(0, Dim.P, 2), Loop(1, Dim.R, 3)]
    assert walk(nest, 1, 0, 1, halo=True, links=False).elements == 6
    # P3 x P3: the outer step translates by 3 - 1 = 2 rows, not 1: reset, the whole tile (Timeloop's sampling)
    nest = [Loop(0, Dim.P, 3), Loop(0, Dim.P, 3), Loop(1, Dim.R, 3)]
    # calls: 3 (first) + 2 x 1 (inner, weight 2) + 2 x 3 (outer, reset, weight 2) + 2 x 2 x 1 (weight 4)
    assert walk(nest, 1, 0, 1, halo=True, links=False).elements == 3 + 2 + 6 + 4


def test_links_between_neighbours_by_hand() -> None:
    """Three PEs on Y over S, each holding one input column (w = q + s); Q8 above them. After the first step
    PE s needs column q + s, which PE s + 1 received on the step before: PEs 0 and 1 link, PE 2 reads the
    parent. Reads: 3 + 7 x 1 columns of 4 channels; fills: everything each PE receives, 3 x 8 x 4."""
    nest = [Loop(0, Dim.Q, 8), Loop(0, Dim.S, 3, Y), Loop(1, Dim.C, 4)]
    f = input_flow(nest, 0, 1, 1, halo=True, forwarding=True)
    assert f.parent_reads == 4 * (3 + 7)
    assert f.peer_reads == 4 * 2 * 7
    assert f.child_fills == 4 * 3 * 8
    off = input_flow(nest, 0, 1, 1, halo=True, forwarding=False)
    assert off.parent_reads == off.child_fills == 4 * 3 * 8 and off.peer_reads == 0
    # on the X axis the same; on separate fanouts no link: K between them breaks the adjacency
    assert input_flow([nest[0], Loop(0, Dim.S, 3, X), nest[2]], 0, 1, 1, halo=True, forwarding=True) == f
    assert input_flow(nest, 0, 1, 1, halo=True, forwarding=True, links_one_instance=True) == f  # one owner


def test_links_are_reported_for_one_owner_with_the_quirk() -> None:
    nest = [Loop(0, Dim.Q, 8), Loop(0, Dim.K, 2, X), Loop(1, Dim.S, 3, Y), Loop(2, Dim.C, 4)]
    full = input_flow(nest, 0, 2, 1, halo=True, forwarding=True)
    quirk = input_flow(nest, 0, 2, 1, halo=True, forwarding=True, links_one_instance=True)
    assert full.peer_reads == 2 * quirk.peer_reads == 2 * 4 * 2 * 7
    assert full.parent_reads == quirk.parent_reads == 4 * (3 + 7)  # the two K columns share (multicast)
    assert full.child_fills - full.peer_reads == quirk.child_fills - quirk.peer_reads


# ------------------------------------------------------------------------------ against the engine
DIMS_T = (Dim.T, Dim.N, Dim.K, Dim.C, Dim.P, Dim.Q, Dim.R, Dim.S)
DIMS_SP = (Dim.T, Dim.N, Dim.K, Dim.C, Dim.P, Dim.Q)  # no R, S in space: h = p + r offsets would coincide


@st.composite
def nests(draw: st.DrawFn) -> list[Loop]:
    out: list[Loop] = []
    for level in range(3):
        for d in draw(st.lists(st.sampled_from(DIMS_T), max_size=3)):
            out.append(Loop(level, d, draw(st.integers(1, 3))))
        if level < 2:
            for d in draw(st.lists(st.sampled_from(DIMS_SP), max_size=2)):
                out.append(Loop(level, d, draw(st.integers(1, 3)), draw(st.sampled_from((X, Y)))))
    return out


def engine_counts(nest: list[Loop], parent: int, child: int, flows: FlowOptions | None) -> tuple[int, int]:
    """(child fills, parent reads) of the inputs by the engine's analysis of the nest (numeric arithmetic)."""
    keeps = tuple(frozenset({Tensor.I}) for _ in range(3))
    view = NestView(
        positions=tuple(Position(lp.level, lp.dim, lp.axis is not None, lp.axis) for lp in nest),
        may_keep=keeps,
        keeps=tuple(k if lv in (parent, child) else frozenset() for lv, k in enumerate(keeps)),
    )
    a = analyze(view, 1, spiking=False, flows=flows)
    cols = _Columns(np.array([[lp.bound for lp in nest]], dtype=np.int64))

    def total(level: int, action: Action) -> int:
        return sum(
            x.sign * int(quantity_value(a.quantities[x.q], cols, None, view.keeps)[0])
            for x in a.accesses
            if x.tensor is Tensor.I and x.level == level and x.action is action and x.pair == (parent, child)
        )

    return total(child, Action.WRITE), total(parent, Action.READ)


@settings(max_examples=150, deadline=None)
@given(nest=nests(), pair=st.sampled_from(((0, 1), (1, 2), (0, 2))))
def test_walk_without_reuse_is_the_engine_closed_form(nest: list[Loop], pair: tuple[int, int]) -> None:
    """Without halo reuse and links the walk (sampled iterations, whole tiles unless unmoved, multicast by
    equal tiles) gives exactly the engine's closed form (residencies x tile x instances / multicast)."""
    parent, child = pair
    f = input_flow(nest, parent, child, 1, halo=False, forwarding=False)
    fills, reads = engine_counts(nest, parent, child, None)
    assert (f.child_fills, f.parent_reads) == (fills, reads)


@settings(max_examples=150, deadline=None)
@given(nest=nests(), pair=st.sampled_from(((0, 1), (1, 2), (0, 2))), stride=st.sampled_from((1, 2)))
def test_reuse_never_adds_traffic(nest: list[Loop], pair: tuple[int, int], stride: int) -> None:
    parent, child = pair
    plain = input_flow(nest, parent, child, stride, halo=False, forwarding=False)
    halo = input_flow(nest, parent, child, stride, halo=True, forwarding=False)
    fwd = input_flow(nest, parent, child, stride, halo=True, forwarding=True)
    assert halo.child_fills <= plain.child_fills and halo.parent_reads <= plain.parent_reads
    assert fwd.parent_reads <= halo.parent_reads
    assert fwd.child_fills == halo.child_fills  # links change who sends, not what arrives
    # every instance receives at least one whole tile
    inst = math.prod(lp.bound for lp in nest if lp.axis is not None and lp.level < child)
    assert halo.child_fills >= inst * int(np.prod(tile_extent(nest, child, stride)))


@settings(max_examples=60, deadline=None)
@given(nest=nests(), pair=st.sampled_from(((0, 1), (1, 2), (0, 2))))
def test_the_analysis_charges_the_walk(nest: list[Loop], pair: tuple[int, int]) -> None:
    """With the options on, the analysis's input fills and parent reads are the walk's (one plumbing, no
    second count)."""
    parent, child = pair
    opts = FlowOptions(halo=True, forwarding=True)
    f = input_flow(nest, parent, child, 1, halo=True, forwarding=True)
    assert engine_counts(nest, parent, child, opts) == (f.child_fills, f.parent_reads)


def test_an_open_view_refuses_the_options() -> None:
    view = NestView(positions=(Position(0, Dim.P),), may_keep=(frozenset({Tensor.I}),), keeps=None, ordered=False)
    with pytest.raises(ValueError, match="halo_reuse"):
        analyze(view, 1, flows=FlowOptions(halo=True))
