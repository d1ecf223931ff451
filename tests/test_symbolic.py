"""costmodel.symbolic: the sympy forms equal the numeric closed forms (counts.py, price, evaluate).

* every ``*_sym`` counterpart against its numpy original;
* random loop structures (any dims at any level, temporal or spatial, bypass, stride 1 and 2)
  with random bounds: the symbolic counts and prices at those bounds == access_counts + price
  (``general=True`` with bounds including 1, the readable form with bounds >= 2);
* random small layers under each dataflow's heuristic mapping: the layer-dim formulas at the
  layer's values == evaluate(), key by key;
* LambdifiedBatch == evaluate_batch;
* the headline: under ``os`` the DRAM weight reads are K*C*R*S*T, under ``time-batched`` K*C*R*S.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costmodel import counts as cq
from costmodel import energy as eq
from costmodel.arch import load_arch
from costmodel.cost import Key
from costmodel.counts import NestStructure, access_counts
from costmodel.dataflows import DATAFLOWS, dataflow, heuristic_mapping
from costmodel.evaluate import evaluate, evaluate_batch, nest_of, price
from costmodel.mapping import Invalid
from costmodel.symbolic import (
    CYCLES,
    DIM_SYMBOLS,
    RHO,
    LambdifiedBatch,
    compute_cycles_sym,
    distinct_tiles_sym,
    formula,
    link_energy_pj_sym,
    nest_from_structure,
    positional_values,
    residencies_sym,
    symbolic_access_counts,
    symbolic_cost,
    symbolic_price,
    tile_elements_sym,
    window_extent_sym,
    words_sym,
)
from costmodel.types import DIMS, Action, Dim, Tensor
from costmodel.workload import conv_layer

ARCH = load_arch("generic3")
LEVEL_NAMES = [lv.name for lv in ARCH.levels]
SETTINGS = settings(max_examples=100, derandomize=True, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

K_, C_, R_, S_, T_ = (DIM_SYMBOLS[d] for d in (Dim.K, Dim.C, Dim.R, Dim.S, Dim.T))


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def at(expr, values) -> float:  # noqa: ANN001
    return float(sp.sympify(expr).xreplace(values))


# ------------------------------------------------------------------------------ counterparts
def test_window_extent_sym_matches_numeric() -> None:
    p, r, s = sp.symbols("p r s", positive=True, integer=True)
    expr = window_extent_sym(p, r, s)
    for pv in range(1, 6):
        for rv in range(1, 5):
            for sv in (1, 2, 3):
                want = int(cq.window_extent(np.array(pv), np.array(rv), sv))
                assert at(expr, {p: pv, r: rv, s: sv}) == want
                assert at(window_extent_sym(sp.Integer(pv), sp.Integer(rv), sv), {}) == want


def test_window_extent_sym_shortcuts_are_exact() -> None:
    p, r = sp.symbols("p r", positive=True, integer=True)
    assert window_extent_sym(p, sp.Integer(1), 2) == p
    assert window_extent_sym(sp.Integer(1), r, 2) == r
    assert window_extent_sym(p, r, 1) == p + r - 1  # r >= 1 always: the sliding window


@given(data=st.data())
@SETTINGS
def test_residencies_and_distinct_sym_match_numeric(data: st.DataObject) -> None:
    n = data.draw(st.integers(0, 6))
    rel = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    general = data.draw(st.booleans())
    vals = data.draw(st.lists(st.integers(1 if general else 2, 4), min_size=n, max_size=n))
    syms = sp.symbols(f"f0:{n}", positive=True, integer=True) if n else ()
    point = dict(zip(syms, vals, strict=True))
    f = np.array([vals], dtype=np.int64).reshape(1, n)
    relv = np.array(rel, dtype=bool)
    assert at(residencies_sym(list(syms), rel, general=general), point) == int(cq.residencies(f, relv)[0])
    assert at(distinct_tiles_sym(list(syms), rel), point) == int(cq.distinct_tiles(f, relv)[0])


def test_residencies_sym_readable_form_reuses_a_tile_under_irrelevant_outer_loops() -> None:
    a, b, c = sp.symbols("a b c", positive=True, integer=True)
    # outer irrelevant a, relevant b, inner irrelevant c: a counts (b inside it), c re-uses the tile
    assert residencies_sym([a, b, c], [False, True, False]) == a * b
    assert residencies_sym([a, c], [False, False]) == 1


@pytest.mark.parametrize("tensor", list(Tensor))
@pytest.mark.parametrize("stride", [1, 2])
def test_tile_elements_sym_matches_numeric(tensor: Tensor, stride: int) -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        ext = {d: int(rng.integers(1, 5)) for d in DIMS}
        want = int(cq.tile_elements(tensor, {d: np.array([v]) for d, v in ext.items()}, stride)[0])
        got = tile_elements_sym(tensor, {d: DIM_SYMBOLS[d] for d in DIMS}, stride)
        assert at(got, {DIM_SYMBOLS[d]: v for d, v in ext.items()}) == want


def test_words_and_link_energy_sym_match_numeric() -> None:
    n = sp.Symbol("n", positive=True)
    for bits, wb, gran in ((8, 64, "packed"), (1, 32, "packed"), (16, 16, "element")):
        want = float(eq.words(np.array([1000.0]), bits, wb, gran)[0])
        assert close(at(words_sym(n, bits, wb, gran), {n: 1000}), want)
    assert close(at(link_energy_pj_sym(n, 16, 0.01), {n: 1000}),
                 float(eq.link_energy_pj(np.array([1000.0]), 16, 0.01)[0]))


@pytest.mark.parametrize("systolic", [False, True])
def test_compute_cycles_sym_matches_numeric(systolic: bool) -> None:
    levels = list(ARCH.levels)
    levels[1] = dataclasses.replace(levels[1], fanout=dataclasses.replace(levels[1].fanout, systolic=systolic))
    arch = dataclasses.replace(ARCH, levels=tuple(levels))
    its = sp.symbols("i0:3", positive=True, integer=True)
    vals = (3, 5, 7)
    want = float(eq.compute_cycles(tuple(np.array([float(v)]) for v in vals), arch)[0])
    assert close(at(compute_cycles_sym(its, arch), dict(zip(its, vals, strict=True))), want)


# ------------------------------------------------------------------------------ random structures
@st.composite
def structures(draw: st.DrawFn, *, min_bound: int) -> tuple[NestStructure, np.ndarray, int]:
    level, dim, spatial = [], [], []
    for li in range(len(ARCH.levels)):
        for sp_flag in (False, True):
            n = draw(st.integers(0, 3 if not sp_flag else 2))
            for d in draw(st.lists(st.sampled_from(DIMS), min_size=n, max_size=n)):
                level.append(li)
                dim.append(d)
                spatial.append(sp_flag)
    if not level:  # an empty nest trips numeric access_counts (float mask dtype): reported, not tested here
        level, dim, spatial = [0], [draw(st.sampled_from(DIMS))], [False]
    keeps = [frozenset(ARCH.levels[0].keeps)]
    for lv in ARCH.levels[1:]:
        bypass = draw(st.sets(st.sampled_from(sorted(lv.keeps))))
        keeps.append(frozenset(lv.keeps - bypass))
    structure = NestStructure(level=tuple(level), dim=tuple(dim), spatial=tuple(spatial), keeps=tuple(keeps))
    bounds = draw(st.lists(st.integers(min_bound, 3), min_size=len(level), max_size=len(level)))
    stride = draw(st.integers(1, 2))
    return structure, np.array([bounds], dtype=np.int64).reshape(1, len(level)), stride


def _layer_for(structure: NestStructure, factors: np.ndarray, stride: int, density: float):  # noqa: ANN202
    b = {d: int(np.prod([f for f, x in zip(factors[0], structure.dim, strict=True) if x is d])) for d in DIMS}
    return conv_layer(T=b[Dim.T], N=b[Dim.N], K=b[Dim.K], C=b[Dim.C], P=b[Dim.P], Q=b[Dim.Q], R=b[Dim.R],
                      S=b[Dim.S], stride=stride, spike_density=density)


def _compare_structure(structure: NestStructure, factors: np.ndarray, stride: int, density: float,
                       general: bool) -> None:
    nest = nest_from_structure(structure, LEVEL_NAMES)
    point = positional_values(nest, factors[0])
    sym = symbolic_access_counts(nest, stride, general=general)
    num = access_counts(structure, factors, stride)
    for field in ("reads", "writes", "updates", "tiles", "compute_side", "fanout_traffic"):
        s_d, n_d = getattr(sym, field), getattr(num, field)
        assert set(s_d) == set(n_d), field
        for key in n_d:
            assert close(at(s_d[key], point), float(n_d[key][0])), (field, key, s_d[key])
    assert at(sym.macs, point) == int(num.macs[0])
    assert at(sym.lif_ops, point) == int(num.lif_ops[0])

    layer = _layer_for(structure, factors, stride, density)
    sp_priced = symbolic_price(ARCH, layer, sym, RHO)
    n_priced = price(ARCH, layer, structure, num)
    point[RHO] = sp.Rational(repr(density))
    cyc = at(sp_priced.cycles, point)
    assert close(cyc, float(n_priced.cycles[0]))
    point[CYCLES] = sp.Float(cyc, 30)
    assert set(sp_priced.energy) == set(n_priced.energy)
    for key, v in n_priced.energy.items():
        assert close(at(sp_priced.energy[key], point), float(v[0])), key
    for key, v in n_priced.counts.items():
        assert close(at(sp_priced.counts[key], point), float(v[0])), key
    assert close(at(sp_priced.total(), point), float(n_priced.total()[0]))


@given(s=structures(min_bound=1), density=st.sampled_from([0.0, 0.15, 0.5, 1.0]))
@SETTINGS
def test_general_form_equals_numeric_for_any_bounds(s, density: float) -> None:  # noqa: ANN001
    _compare_structure(*s, density, general=True)


@given(s=structures(min_bound=2), density=st.sampled_from([0.0, 0.3, 1.0]))
@SETTINGS
def test_readable_form_equals_numeric_when_every_loop_is_present(s, density: float) -> None:  # noqa: ANN001
    _compare_structure(*s, density, general=False)


def test_readable_form_needs_every_loop_present() -> None:
    """The readable form assumes bound > 1 for each loop it shows: with a bound of 1 it can differ
    (which is why symbolic_nest drops bound-1 loops), the general form cannot."""
    structure = NestStructure(level=(0, 0, 1), dim=(Dim.T, Dim.K, Dim.C), spatial=(False, False, False),
                              keeps=tuple(frozenset(lv.keeps) for lv in ARCH.levels))
    factors = np.array([[4, 1, 2]])
    nest = nest_from_structure(structure, LEVEL_NAMES)
    point = positional_values(nest, factors[0])
    num = float(access_counts(structure, factors, 1).reads[(0, Tensor.W)][0])
    assert at(symbolic_access_counts(nest, 1, general=True).reads[(0, Tensor.W)], point) == num
    assert at(symbolic_access_counts(nest, 1).reads[(0, Tensor.W)], point) == 4 * num


# ------------------------------------------------------------------------------ layers vs evaluate
@st.composite
def small_layers(draw: st.DrawFn):  # noqa: ANN201
    r = draw(st.integers(1, 3))
    return conv_layer(
        T=draw(st.integers(1, 4)), N=draw(st.integers(1, 2)), K=draw(st.integers(2, 24)),  # K >= 2: see structures()
        C=draw(st.integers(1, 24)), P=draw(st.integers(1, 8)), Q=draw(st.integers(1, 8)), R=r,
        S=draw(st.integers(1, 3)), stride=draw(st.integers(1, 2)),
        spike_density=draw(st.sampled_from([0.0, 0.1, 0.25, 1.0])),
    )


@given(layer=small_layers(), flow=st.sampled_from(sorted(DATAFLOWS)))
@SETTINGS
def test_layer_formulas_equal_evaluate(layer, flow: str) -> None:  # noqa: ANN001
    mapping = heuristic_mapping(ARCH, layer, dataflow(flow))
    assert not isinstance(mapping, Invalid), mapping
    cost = evaluate(ARCH, layer, mapping)
    assert not isinstance(cost, Invalid)
    sc = symbolic_cost(ARCH, layer, mapping)
    lp = sc.layer_priced
    free = set().union(*(sp.sympify(e).free_symbols for e in lp.counts.values()))
    assert free <= set(sc.values), free - set(sc.values)  # layer dims, inner sub-factors, rho only
    for key, v in cost.counts.items():
        assert close(at(lp.counts[key], sc.values), v), (key, lp.counts[key])
    for key, v in cost.energy_pj.items():
        assert close(at(lp.energy[key], sc.values), v), (key, lp.energy[key])
    extra = [k for k, e in lp.energy.items() if k not in cost.energy_pj and at(e, sc.values) != 0.0]
    assert not extra
    assert close(float(sc.values[CYCLES]), cost.cycles)
    assert close(at(lp.total(), sc.values), cost.total_energy_pj)
    # the positional form at the mapping's bounds gives the same numbers
    pos = positional_values(sc.nest, sc.bounds) | {RHO: sc.values[RHO]}
    pos[CYCLES] = sc.values[CYCLES]
    assert close(at(sc.priced.total(), pos), cost.total_energy_pj)


# ------------------------------------------------------------------------------ lambdify
@pytest.mark.parametrize("flow", sorted(DATAFLOWS))
def test_lambdified_batch_equals_evaluate_batch(flow: str) -> None:
    layer = conv_layer(T=4, K=32, C=16, P=8, R=3, spike_density=0.2)
    structure, f = nest_of(ARCH, heuristic_mapping(ARCH, layer, dataflow(flow)))
    rng = np.random.default_rng(7)
    batch = np.repeat(f, 200, axis=0)
    # move factors between positions of the same dim (keeps products; bounds of 1 included)
    for i in range(1, batch.shape[0]):
        for d in DIMS:
            cols = [j for j, x in enumerate(structure.dim) if x is d]
            if len(cols) > 1:
                total = int(np.prod(batch[i, cols]))
                rest = total
                for j in cols[1:]:
                    divs = [x for x in range(1, rest + 1) if rest % x == 0]
                    batch[i, j] = rng.choice(divs)
                    rest //= batch[i, j]
                batch[i, cols[0]] = rest
    lb = LambdifiedBatch(ARCH, layer, structure)
    got, want = lb(batch), evaluate_batch(ARCH, layer, structure, batch)
    np.testing.assert_allclose(got.energy_pj, want.energy_pj, rtol=1e-9)
    np.testing.assert_allclose(got.cycles, want.cycles, rtol=1e-9)
    np.testing.assert_array_equal(got.valid, want.valid)
    assert (batch == 1).any()  # the general form was exercised on absent loops too


# ------------------------------------------------------------------------------ the headline
def _dram_w_reads(flow: str, layer):  # noqa: ANN001, ANN202
    mapping = heuristic_mapping(ARCH, layer, dataflow(flow))
    sc = symbolic_cost(ARCH, layer, mapping)
    return sc.layer_priced.elements[Key("DRAM", Tensor.W, Action.READ)], sc, mapping


def test_headline_weight_dram_reads_carry_T_under_os_only() -> None:
    # 64x64x3x3 weights (36 KiB at 8 bits) do not fit the 16 KiB ... 128 KiB GLB next to the rest:
    # under os the weight tile at the GLB is evicted between timesteps
    layer = conv_layer(T=4, K=256, C=256, P=16, R=3, spike_density=0.15)
    expr_os, sc_os, m_os = _dram_w_reads("os", layer)
    assert m_os.levels[0].temporal[0].dim is Dim.T  # T outermost
    assert T_ in expr_os.free_symbols
    assert T_ not in sp.simplify(expr_os / T_).free_symbols  # T is a factor
    assert sp.simplify(expr_os - K_ * C_ * R_ * S_ * T_) == 0
    assert formula(expr_os) == "K*C*R*S*T"

    expr_tb, sc_tb, _ = _dram_w_reads("time-batched", layer)
    assert T_ not in expr_tb.free_symbols
    assert sp.simplify(expr_tb - K_ * C_ * R_ * S_) == 0
    # and the numbers: T times more DRAM weight reads under os
    assert at(expr_os, sc_os.values) == layer.bound(Dim.T) * at(expr_tb, sc_tb.values)


def test_explain_command_prints_the_formulas(capsys: pytest.CaptureFixture[str]) -> None:
    from spikeloop.cli import main

    rc = main(["explain", "--arch", "generic3", "--network", "vgg16-tinyimagenet", "--layer", "conv6",
               "--dataflow", "os"])
    out = capsys.readouterr().out
    assert rc == 0
    dram = out.split("## DRAM", 1)[1].split("## GLB", 1)[0]
    w_row = next(line for line in dram.splitlines() if line.startswith("| W ") and "| read " in line)
    assert "K*C*R*S*T" in w_row
    assert "differs" not in out and "All " in out

    rc = main(["explain", "--arch", "generic3", "--network", "vgg16-tinyimagenet", "--layer", "conv6",
               "--dataflow", "time-batched"])
    out = capsys.readouterr().out
    dram = out.split("## DRAM", 1)[1].split("## GLB", 1)[0]
    w_row = next(line for line in dram.splitlines() if line.startswith("| W ") and "| read " in line)
    assert rc == 0 and "| K*C*R*S " in w_row and "*T" not in w_row


def test_explain_reports_a_mismatch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check against evaluate() is live: a tampered evaluate() count is reported, status 1."""
    import spikeloop.commands.explain as ex

    real = ex.evaluate

    def tampered(arch, layer, mapping):  # noqa: ANN001, ANN202
        c = real(arch, layer, mapping)
        key = Key("DRAM", Tensor.W, Action.READ)
        return dataclasses.replace(c, counts={**c.counts, key: c.counts[key] * 2})

    monkeypatch.setattr(ex, "evaluate", tampered)
    res = ex.run_explain("generic3", "vgg16-tinyimagenet", "conv6", dataflow_name="os")
    assert len(res.mismatches) == 1 and "DRAM/W/read" in res.mismatches[0]
    from spikeloop.cli import main

    assert main(["explain", "--arch", "generic3", "--network", "vgg16-tinyimagenet", "--layer", "conv6"]) == 1


def test_explain_rejects_a_pool_layer(capsys: pytest.CaptureFixture[str]) -> None:
    from spikeloop.cli import main

    rc = main(["explain", "--arch", "generic3", "--network", "vgg16-tinyimagenet", "--layer", "pool1"])
    assert rc == 2
    assert "pool layer" in capsys.readouterr().err
