"""Property tests: the closed-form access counts equal a literal walk of the loop nest.

Random small layers and random legal mappings on 2- and 3-level arches built here (capacities
unbounded, fanouts large): random factor splits of every dim over levels and temporal/spatial,
random loop order per level, random bypass of inner levels, T anywhere, stride 1 and 2, spiking and
non-spiking layers with 1- or multi-bit inputs and outputs, and both ways of counting partial-sum reads (ours,
and Timeloop's read-modify-write updates without drain reads). For every (level, tensor) the reads, writes,
updates and tile size of the loop-nest analysis
(:func:`costmodel.analysis.analyze` through :func:`costmodel.evaluate.cost_form`, evaluated by
:func:`costmodel.numeric.element_counts`) must equal :func:`walker.walk` exactly.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from walker import Rules, flatten, walk

from costmodel.accounting import Accounting
from costmodel.arch import Arch, arch_from_dict
from costmodel.evaluate import check, cost_form, nest_of
from costmodel.mapping import LevelMapping, Loop, Mapping, dump_mapping
from costmodel.numeric import element_counts
from costmodel.pricing import bits_of
from costmodel.types import DIMS, Activation, Dim, Tensor
from costmodel.workload import Layer, conv_layer

MAX_MACS = 1024  # keeps the walker fast: the whole file runs in well under a minute
CHOICES: dict[Dim, tuple[int, ...]] = {
    Dim.T: (1, 2, 3),
    Dim.N: (1, 2),
    Dim.K: (1, 2, 3, 4),
    Dim.C: (1, 2, 3, 4),
    Dim.P: (1, 2, 3, 4),
    Dim.Q: (1, 2, 3),
    Dim.R: (1, 2, 3),
    Dim.S: (1, 2),
}
PRIMES = {1: [], 2: [2], 3: [3], 4: [2, 2]}


def roomy_arch(n_levels: int) -> Arch:
    """An arch whose every level keeps every tensor, unbounded capacity, 64 x 64 fanout."""
    return arch_from_dict(
        {
            "name": f"walk{n_levels}",
            "clock_hz": 1.0e9,
            "levels": [
                {
                    "name": f"L{i}",
                    "keeps": ["W", "I", "O", "U", "S"],
                    "word_bits": 8,
                    "energy_pj": {"read": 1.0},
                    "fanout": {"x": 64, "y": 64},
                }
                for i in range(n_levels)
            ],
            # T may be spatial (the random mappings put it anywhere): the LIF units take timesteps in order
            "compute": {"ac_pj": 1.0, "lif_pj": 1.0, "mac_pj": 2.0, "lif_spatial_t": True},
        }
    )


ARCHES = {2: roomy_arch(2), 3: roomy_arch(3)}


@dataclass(frozen=True)
class Problem:
    arch: Arch
    layer: Layer
    mapping: Mapping
    timeloop_reads: bool = False  # update reads on, drain reads off

    @property
    def rules(self) -> Rules:
        return Rules(spiking=self.layer.spiking, update_reads=self.timeloop_reads, drain_reads=not self.timeloop_reads)

    @property
    def accounting(self) -> Accounting:
        return Accounting(update_reads=self.timeloop_reads, drain_reads=not self.timeloop_reads)


@st.composite
def layers(draw: st.DrawFn) -> Layer:
    """A small conv layer: each dim drawn in a random order from values that keep MACs <= MAX_MACS."""
    order = draw(st.permutations(DIMS))
    bounds: dict[Dim, int] = {}
    budget = MAX_MACS
    for d in order:
        b = draw(st.sampled_from([v for v in CHOICES[d] if v <= budget]))
        bounds[d] = b
        budget //= b
    stride = draw(st.sampled_from((1, 2)))
    spiking = draw(st.integers(0, 3)) > 0  # one layer in four is non-spiking (ReLU)
    return conv_layer(
        "walk",
        T=bounds[Dim.T],
        N=bounds[Dim.N],
        K=bounds[Dim.K],
        C=bounds[Dim.C],
        P=bounds[Dim.P],
        Q=bounds[Dim.Q],
        R=bounds[Dim.R],
        S=bounds[Dim.S],
        stride=stride,
        input_bits=draw(st.sampled_from((1, 1, 8))),
        output_bits=1 if spiking else draw(st.sampled_from((4, 8))),
        activation=Activation.LIF if spiking else Activation.RELU,
    )


@st.composite
def mappings(draw: st.DrawFn, layer: Layer, n_levels: int) -> Mapping:
    """A random legal mapping: every prime factor of every dim goes to a (level, temporal|spatial)
    slot; a slot's factors become one loop or several; loops are shuffled per level; a few loops of
    bound 1 are sprinkled in; inner levels bypass a random set of tensors."""
    slots: dict[tuple[int, bool], list[tuple[Dim, int]]] = {
        (lv, sp): [] for lv in range(n_levels) for sp in (False, True)
    }
    for d in DIMS:
        for prime in PRIMES[layer.bound(d)]:
            lv = draw(st.integers(0, n_levels - 1))
            sp = draw(st.integers(0, 3)) == 0  # one factor in four is spatial
            slots[(lv, sp)].append((d, prime))
    levels = []
    for lv in range(n_levels):
        loops: dict[bool, list[Loop]] = {}
        for sp in (False, True):
            merged: dict[Dim, list[int]] = {}
            for d, f in slots[(lv, sp)]:
                if merged.get(d) and draw(st.booleans()):
                    merged[d][-1] *= f  # same dim, one loop
                else:
                    merged.setdefault(d, []).append(f)  # same dim, another loop
            items = [(d, f) for d, fs in merged.items() for f in fs]
            if not sp and draw(st.integers(0, 4)) == 0:
                items.append((draw(st.sampled_from(DIMS)), 1))  # a loop of bound 1
            items = draw(st.permutations(items))
            loops[sp] = [Loop(d, f, sp, draw(st.sampled_from("xy")) if sp else "x") for d, f in items]
        bypass = frozenset(draw(st.sets(st.sampled_from(list(Tensor))))) if lv > 0 else frozenset()
        levels.append(LevelMapping(temporal=tuple(loops[False]), spatial=tuple(loops[True]), bypass=bypass))
    return Mapping(levels=tuple(levels))


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    layer = draw(layers())
    n_levels = draw(st.sampled_from((2, 3)))
    return Problem(ARCHES[n_levels], layer, draw(mappings(layer, n_levels)), draw(st.integers(0, 3)) == 0)


# ------------------------------------------------------------------------------------- coverage
COVERAGE: Counter[str] = Counter()


def features(p: Problem, spilled: set[Tensor], multicast: bool) -> set[str]:
    """What an example exercises; the coverage test below insists each shows up."""
    out: set[str] = {
        f"levels={len(p.mapping.levels)}",
        f"stride={p.layer.stride}",
        "spiking" if p.layer.spiking else "non-spiking",
        f"input_bits={p.layer.input_bits}",
        "timeloop reads" if p.timeloop_reads else "our reads",
    }
    nest = [x for x in flatten(p.mapping) if x.bound > 1]
    temporal = [x for x in nest if not x.spatial]
    for lv, lm in enumerate(p.mapping.levels):
        t = [lp for lp in lm.temporal if lp.bound > 1]
        for a, b in zip(t, t[1:], strict=False):
            out.add(f"order:{a.dim.value}{b.dim.value}")
        if any(lp.bound > 1 for lp in lm.spatial):
            out.add(f"spatial@L{lv}")
        out.update(f"bypass:{x.value}" for x in lm.bypass)
        out.update(
            f"T@L{lv}" + ("s" if lp.spatial else "t") for lp in (*t, *lm.spatial) if lp.dim is Dim.T and lp.bound > 1
        )
        if sum(lp.dim is d for lp in t for d in DIMS) > len({lp.dim for lp in t}):
            out.add("dim twice in one level")
        if any(lp.bound == 1 for lp in lm.temporal):
            out.add("bound-1 loop")
    if temporal and temporal[0].dim is Dim.T:
        out.add("T outermost")
    if len(temporal) > 1 and temporal[-1].dim is Dim.T:
        out.add("T innermost")
    if p.layer.bound(Dim.P) > 1 and p.layer.bound(Dim.R) > 1:
        out.add(f"P,R>1 stride={p.layer.stride}")
        if len({x.level for x in nest if x.dim in (Dim.P, Dim.R)}) > 1:
            out.add("P/R split over levels")
    for lv in range(len(p.mapping.levels)):
        inner = [x for x in nest if x.level >= lv]
        r = math.prod(x.bound for x in inner if x.dim is Dim.R)
        if r < p.layer.stride and any(x.dim is Dim.P for x in inner):
            out.add("window gap (r < stride in a tile)")
    out.update(f"spill:{t.value}" if isinstance(t, Tensor) else t for t in spilled)
    if multicast:
        out.add("multicast/reduction")
    return out


REQUIRED = (
    [
        "levels=2",
        "levels=3",
        "stride=1",
        "stride=2",
        "spiking",
        "non-spiking",
        "input_bits=1",
        "input_bits=8",
        "timeloop reads",
        "our reads",
        "spatial@L0",
        "spatial@L1",
        "spatial@L2",
        "T@L0t",
        "T@L1t",
        "T@L2t",
        "T outermost",
        "T innermost",
        "dim twice in one level",
        "bound-1 loop",
        "P,R>1 stride=1",
        "P,R>1 stride=2",
        "P/R split over levels",
        "window gap (r < stride in a tile)",
        "multicast/reduction",
    ]
    + [f"T@L{lv}s" for lv in (0, 1)]
    + [f"bypass:{t.value}" for t in Tensor]
    + [f"spill:{t.value}" for t in (Tensor.O, Tensor.U)]
    + ["drain:O"]
    + [f"order:{a}{b}" for a, b in ("TK", "KT", "KC", "CK", "TC", "CT", "PQ", "QP", "PR", "RP", "TN", "NT")]
)


# ------------------------------------------------------------------------------------- the test
ACTIONS = ("reads", "writes", "updates")


def compare(p: Problem) -> tuple[set[Tensor], bool]:
    """Assert the closed forms equal the walk; return (tensors that spilled, any multicast seen)."""
    assert check(p.arch, p.layer, p.mapping) is None
    view, factors = nest_of(p.arch, p.mapping)
    form = cost_form(p.arch, p.layer, view, p.accounting)
    counts = element_counts(form, factors)
    walked = walk(p.mapping, view.keeps, p.layer.stride, p.rules)
    where = (
        f"\nlayer {dict(zip((d.value for d in DIMS), p.layer.bounds, strict=True))} stride {p.layer.stride}\n"
        f"{dump_mapping(p.mapping, [lv.name for lv in p.arch.levels])}"
        f"walker residencies (R, D) per instance: {walked.residencies}"
    )

    assert int(counts.macs[0]) == walked.macs == p.layer.macs
    assert int(counts.lif_ops[0]) == walked.lif_ops == p.layer.neurons * p.layer.bound(Dim.T)
    for action in ACTIONS:
        closed = getattr(counts, action)
        brute = getattr(walked, action)
        for key in sorted(set(closed) | set(brute), key=lambda k: (k[0], k[1].value)):
            got = float(closed[key][0]) if key in closed else 0.0
            assert got == brute[key], (
                f"{action} of {key[1].value} at level {key[0]}: closed form {got}, walker {brute[key]}{where}"
            )
    assert set(counts.tiles) == set(walked.tiles), where
    for key, tile in walked.tiles.items():
        assert int(counts.tiles[key][0]) == tile, f"tile of {key[1].value} at level {key[0]}{where}"
    for cap in form.capacities:  # the capacity check weighs every kept tile by its tensor's width in this layer
        want = {
            (u.q, bits_of(p.layer, u.tensor))
            for u in form.analysis.tiles
            if u.level == cap.level and (cap.tensor is None or u.tensor is cap.tensor)
        }
        assert set(cap.uses) == want, where
    spilled = {t for (_, t), (r, d) in walked.residencies.items() if r > d and t in (Tensor.O, Tensor.U)}
    if walked.drained:
        spilled.add("drain:O")
    multicast = bool(walked.merged)
    return spilled, multicast


@settings(max_examples=300, derandomize=True, deadline=None)
@given(problem=problems())
def test_closed_forms_equal_walker(problem: Problem) -> None:
    spilled, multicast = compare(problem)
    feats = features(problem, spilled, multicast)
    for f in sorted(feats):
        event(f)
    COVERAGE.update(feats)


def test_strategy_covers_the_mapspace() -> None:
    """The random problems above exercise every loop order, spatial loops at every level, bypass of
    every tensor, T everywhere, both strides, split windows, spills and multicast."""
    if not COVERAGE:  # run alone (e.g. -k): generate the examples first
        test_closed_forms_equal_walker()
    missing = [f for f in REQUIRED if COVERAGE[f] == 0]
    assert not missing, f"never generated: {missing}; seen: {dict(COVERAGE)}"


# ------------------------------------------------------------------------------- fixed examples
def _m(*levels: LevelMapping) -> Mapping:
    return Mapping(levels=levels)


def _t(*loops: tuple[Dim, int]) -> tuple[Loop, ...]:
    return tuple(Loop(d, b) for d, b in loops)


@pytest.mark.parametrize(
    ("layer", "mapping"),
    [
        # T outermost over K at DRAM: the RF's U tile is spilled every timestep
        (
            conv_layer(T=3, K=2, C=2, P=2, Q=1, R=1),
            _m(LevelMapping(temporal=_t((Dim.T, 3), (Dim.K, 2))), LevelMapping(temporal=_t((Dim.C, 2), (Dim.P, 2)))),
        ),
        # stride 2 windows split over levels, a C reduction spread spatially (spatial reduction of O)
        (
            conv_layer(K=2, C=2, P=4, Q=1, R=3, S=1, stride=2),
            _m(
                LevelMapping(temporal=_t((Dim.P, 2), (Dim.R, 3)), spatial=(Loop(Dim.C, 2, True),)),
                LevelMapping(temporal=_t((Dim.P, 2), (Dim.K, 2))),
            ),
        ),
        # r < stride inside the inner tile (window gaps), I bypassing the middle level, 3 levels
        (
            conv_layer(T=2, K=2, C=1, P=3, Q=1, R=2, S=1, stride=2),
            _m(
                LevelMapping(temporal=_t((Dim.R, 2))),
                LevelMapping(temporal=_t((Dim.K, 2), (Dim.T, 2)), bypass=frozenset({Tensor.I})),
                LevelMapping(temporal=_t((Dim.P, 3)), spatial=(Loop(Dim.K, 1, True),)),
            ),
        ),
    ],
)
def test_fixed_examples_equal_walker(layer: Layer, mapping: Mapping) -> None:
    compare(Problem(ARCHES[len(mapping.levels)], layer, mapping))


def test_walker_sees_a_window_literally() -> None:
    """Guards the walker itself: a stride-2 layer whose inner tile has r < stride has gaps (p*r rows)."""
    layer = conv_layer(K=1, C=1, P=3, Q=1, R=2, S=1, stride=2)
    m = _m(LevelMapping(temporal=_t((Dim.R, 2))), LevelMapping(temporal=_t((Dim.P, 3))))
    view, _ = nest_of(ARCHES[2], m)
    w = walk(m, view.keeps, layer.stride)
    assert w.tiles[(0, Tensor.I)] == (3 - 1) * 2 + 2  # whole layer: rows 0..5
    assert w.tiles[(1, Tensor.I)] == 3  # one r: rows r, r+2, r+4
    assert w.reads[(0, Tensor.I)] == 2 * 3  # two residencies of a 3-element tile
    assert math.prod(layer.bounds) == w.macs == 6


def test_walker_spills_and_multicast_by_hand() -> None:
    """Guards the walker itself on numbers derived by hand.

    T=3 K=2 C=2 P=2, L0: temporal [T 3, K 2], spatial [C 2]; L1: temporal [P 2].
    U (projected nest [T 3, K 2 | P 2]): L1 tile P = 2; T wraps K -> 6 residencies of 2 tiles:
    4 spills of 2 elements: L1 writes 8 (refills) and reads 8 (writebacks); L0 reads 8, updates 8;
    the C spatial loop is projected away, so one L1 instance holds U. LIF updates 3*2*2 = 12.
    W: L1 tile 1 (no W loop at L1); 6 residencies per instance (K changes each step, T wraps it),
    2 instances (C spatial, relevant): L1 writes 12, L0 reads 12.
    I: L1 tile P = 2 rows; K is irrelevant to I and innermost at L0 (reuse), T relevant outside it:
    3 residencies per instance, 2 instances: L1 writes 3*2*2 = 12, L0 reads 12.
    O: 6 residencies of 6 tiles per instance (no spill); compute updates of O at L1: 24 (no spatial
    loop below L1). The C loop is spatial above L1, so the two L1 instances hold halves of each sum:
    L1 is split, every distinct tile's final value drains to L0 (6 tiles x 2 elements x 2 instances
    = 24 L1 reads; the two C halves merge: 12 L0 updates) and the LIF reads the 12 finished sums at L0.
    S: 6 residencies of a 2-element L1 tile, each written back once: L1 reads 12, L0 writes 12;
    the LIF writes 12 spikes into L1.
    """
    layer = conv_layer(T=3, K=2, C=2, P=2, Q=1, R=1, S=1)
    m = _m(
        LevelMapping(temporal=_t((Dim.T, 3), (Dim.K, 2)), spatial=(Loop(Dim.C, 2, True),)),
        LevelMapping(temporal=_t((Dim.P, 2))),
    )
    view, _ = nest_of(ARCHES[2], m)
    w = walk(m, view.keeps, layer.stride)
    assert (w.macs, w.lif_ops) == (24, 12)
    assert w.residencies[(1, Tensor.U)] == (6, 2)
    assert (w.writes[(1, Tensor.U)], w.reads[(1, Tensor.U)]) == (8, 8)
    assert (w.reads[(0, Tensor.U)], w.updates[(0, Tensor.U)]) == (8, 8)
    assert w.updates[(1, Tensor.U)] == 12
    assert (w.writes[(1, Tensor.W)], w.reads[(0, Tensor.W)]) == (12, 12)
    assert (w.writes[(1, Tensor.I)], w.reads[(0, Tensor.I)]) == (12, 12)
    assert w.reads[(1, Tensor.I)] == 24 and w.reads[(1, Tensor.W)] == 24
    assert w.updates[(1, Tensor.O)] == 24 and w.reads[(1, Tensor.O)] == 24
    assert (w.reads[(0, Tensor.O)], w.updates[(0, Tensor.O)]) == (12, 12)
    assert (w.reads[(1, Tensor.S)], w.writes[(0, Tensor.S)], w.writes[(1, Tensor.S)]) == (12, 12, 12)
