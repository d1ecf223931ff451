"""costmodel.symbolic: the sympy arithmetic on a cost form equals the numpy arithmetic on the same form.

* random loop structures (any dims at any level, temporal or spatial, bypass, stride 1 and 2)
  with random bounds: the symbolic tiles, energies, counts and cycles at those bounds == the numeric
  evaluation of the same form (``general=True`` with bounds including 1, the readable form with bounds >= 2);
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

from costmodel.analysis import NestView, Position
from costmodel.arch import load_arch
from costmodel.cost import Key
from costmodel.evaluate import cost_form, evaluate, evaluate_batch, nest_of
from costmodel.mapping import Invalid
from costmodel.numeric import evaluate_form, quantity_values
from costmodel.symbolic import (
    CYCLES,
    DIM_SYMBOLS,
    RHO,
    LambdifiedBatch,
    formula,
    nest_from_view,
    symbolic_cost,
    symbolic_price,
)
from costmodel.types import DIMS, Action, Axis, Dim, Tensor
from costmodel.workload import conv_layer
from mappers.dataflows import DATAFLOWS, dataflow
from mappers.heuristic import heuristic_mapping

ARCH = load_arch("generic3")
LEVEL_NAMES = [lv.name for lv in ARCH.levels]
SETTINGS = settings(max_examples=100, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])

K_, C_, R_, S_, T_ = (DIM_SYMBOLS[d] for d in (Dim.K, Dim.C, Dim.R, Dim.S, Dim.T))


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def at(expr, values) -> float:  # noqa: ANN001
    return float(sp.sympify(expr).xreplace(values))


# ------------------------------------------------------------------------------ random nests
@st.composite
def structures(draw: st.DrawFn, *, min_bound: int) -> tuple[NestView, np.ndarray, int]:
    positions = []
    for li in range(len(ARCH.levels)):
        for sp_flag in (False, True):
            n = draw(st.integers(0, 3 if not sp_flag else 2))
            for d in draw(st.lists(st.sampled_from(DIMS), min_size=n, max_size=n)):
                axis = draw(st.sampled_from(list(Axis))) if sp_flag else None
                positions.append(Position(li, d, sp_flag, axis))
    keeps = [frozenset(ARCH.levels[0].keeps)]
    for lv in ARCH.levels[1:]:
        bypass = draw(st.sets(st.sampled_from(sorted(lv.keeps))))
        keeps.append(frozenset(lv.keeps - bypass))
    view = NestView(positions=tuple(positions), may_keep=tuple(lv.keeps for lv in ARCH.levels), keeps=tuple(keeps))
    bounds = draw(st.lists(st.integers(min_bound, 3), min_size=len(positions), max_size=len(positions)))
    stride = draw(st.integers(1, 2))
    return view, np.array([bounds], dtype=np.int64).reshape(1, len(positions)), stride


def _layer_for(view: NestView, factors: np.ndarray, stride: int, density: float):  # noqa: ANN202
    b = {d: int(np.prod([f for f, p in zip(factors[0], view.positions, strict=True) if p.dim is d])) for d in DIMS}
    return conv_layer(
        T=b[Dim.T],
        N=b[Dim.N],
        K=b[Dim.K],
        C=b[Dim.C],
        P=b[Dim.P],
        Q=b[Dim.Q],
        R=b[Dim.R],
        S=b[Dim.S],
        stride=stride,
        spike_density=density,
    )


def _compare(view: NestView, factors: np.ndarray, stride: int, density: float, general: bool) -> None:
    """The sympy arithmetic on the form equals the numpy arithmetic on the same form, key by key."""
    layer = _layer_for(view, factors, stride, density)
    form = cost_form(ARCH, layer, view)
    nest = nest_from_view(view, LEVEL_NAMES)
    point = {s: int(b) for s, b in zip(nest.factors, factors[0], strict=True)}
    point[RHO] = sp.Rational(repr(density))
    sym = symbolic_price(form, nest.factors, general=general)
    num = evaluate_form(form, factors)
    values = quantity_values(form, factors)
    for (lv, t), e in sym.tiles.items():
        u = next(u for u in form.analysis.tiles if (u.level, u.tensor) == (lv, t))
        assert at(e, point) == float(values[u.q][0]), (lv, t)
    cyc = at(sym.cycles, point)
    assert close(cyc, float(num.cycles[0]))
    point[CYCLES] = sp.Float(cyc, 30)
    assert set(sym.energy) == set(num.energy_pj)
    for key, v in num.energy_pj.items():
        assert close(at(sym.energy[key], point), float(v[0])), key
    for key, v in num.counts.items():
        assert close(at(sym.counts[key], point), float(v[0])), key
    assert close(at(sym.total(), point), float(num.total()[0]))


@given(s=structures(min_bound=1), density=st.sampled_from([0.0, 0.15, 0.5, 1.0]))
@SETTINGS
def test_general_form_equals_numeric_for_any_bounds(s, density: float) -> None:  # noqa: ANN001
    _compare(*s, density, general=True)


@given(s=structures(min_bound=2), density=st.sampled_from([0.0, 0.3, 1.0]))
@SETTINGS
def test_readable_form_equals_numeric_when_every_loop_is_present(s, density: float) -> None:  # noqa: ANN001
    _compare(*s, density, general=False)


def test_readable_form_needs_every_loop_present() -> None:
    """The readable form assumes bound > 1 for each loop it shows: with a bound of 1 it can differ
    (which is why symbolic_nest drops bound-1 loops), the general form cannot."""
    positions = (Position(0, Dim.T), Position(0, Dim.K), Position(1, Dim.C))
    view = NestView(
        positions=positions,
        may_keep=tuple(lv.keeps for lv in ARCH.levels),
        keeps=tuple(frozenset(lv.keeps) for lv in ARCH.levels),
    )
    factors = np.array([[4, 1, 2]])
    layer = conv_layer(T=4, K=1, C=2, P=1, R=1)
    form = cost_form(ARCH, layer, view)
    nest = nest_from_view(view, LEVEL_NAMES)
    point = {s: int(b) for s, b in zip(nest.factors, factors[0], strict=True)} | {RHO: sp.Rational(1, 10)}
    key = Key("DRAM", Tensor.W, Action.READ)
    num = float(evaluate_form(form, factors).counts[key][0])
    assert at(symbolic_price(form, nest.factors, general=True).counts[key], point) == num
    assert at(symbolic_price(form, nest.factors).counts[key], point) == 4 * num


# ------------------------------------------------------------------------------ layers vs evaluate
@st.composite
def small_layers(draw: st.DrawFn):  # noqa: ANN201
    r = draw(st.integers(1, 3))
    return conv_layer(
        T=draw(st.integers(1, 4)),
        N=draw(st.integers(1, 2)),
        K=draw(st.integers(2, 24)),  # K >= 2: see structures()
        C=draw(st.integers(1, 24)),
        P=draw(st.integers(1, 8)),
        Q=draw(st.integers(1, 8)),
        R=r,
        S=draw(st.integers(1, 3)),
        stride=draw(st.integers(1, 2)),
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
    pos = {s: int(b) for s, b in zip(sc.nest.factors, sc.bounds, strict=True)} | {RHO: sc.values[RHO]}
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
            cols = [j for j, p in enumerate(structure.positions) if p.dim is d]
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

    rc = main(
        ["explain", "--arch", "generic3", "--network", "vgg16-tinyimagenet", "--layer", "conv6", "--dataflow", "os"]
    )
    out = capsys.readouterr().out
    assert rc == 0
    dram = out.split("## DRAM", 1)[1].split("## GLB", 1)[0]
    w_row = next(line for line in dram.splitlines() if line.startswith("| W ") and "| read " in line)
    assert "K*C*R*S*T" in w_row
    assert "differs" not in out and "All " in out

    rc = main(
        [
            "explain",
            "--arch",
            "generic3",
            "--network",
            "vgg16-tinyimagenet",
            "--layer",
            "conv6",
            "--dataflow",
            "time-batched",
        ]
    )
    out = capsys.readouterr().out
    dram = out.split("## DRAM", 1)[1].split("## GLB", 1)[0]
    w_row = next(line for line in dram.splitlines() if line.startswith("| W ") and "| read " in line)
    assert rc == 0 and "| K*C*R*S " in w_row and "*T" not in w_row


def test_explain_reports_a_mismatch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check against evaluate() is live: a tampered evaluate() count is reported, status 1."""
    import spikeloop.commands.explain as ex

    real = ex.evaluate

    def tampered(arch, layer, mapping, accounting=None):  # noqa: ANN001, ANN202
        c = real(arch, layer, mapping, accounting)
        key = Key("DRAM", Tensor.W, Action.READ)
        return dataclasses.replace(c, counts={**c.counts, key: c.counts[key] * 2})

    monkeypatch.setattr(ex, "evaluate", tampered)
    res = ex.run_explain("generic3", "vgg16-tinyimagenet", "conv6", dataflow="os")
    assert len(res.mismatches) == 1 and "DRAM/W/read" in res.mismatches[0]
    from spikeloop.cli import main

    assert main(["explain", "--arch", "generic3", "--network", "vgg16-tinyimagenet", "--layer", "conv6"]) == 1


def test_explain_rejects_a_pool_layer(capsys: pytest.CaptureFixture[str]) -> None:
    from spikeloop.cli import main

    rc = main(["explain", "--arch", "generic3", "--network", "vgg16-tinyimagenet", "--layer", "pool1"])
    assert rc == 2
    assert "pool layer" in capsys.readouterr().err
