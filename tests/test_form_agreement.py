"""One analysis, four arithmetics (issue 11): on random small problems and random legal mappings, the scalar
``evaluate``, the batched ``evaluate_batch`` on the concrete nest, the open cost form the mappers search (numpy, at
the mapping's loop order and bypass), the symbolic form (sympy, positional factors at the mapping's bounds) and the
CP-SAT model's quantities and objective (the mapping fixed in the model) give the same action counts, energy per
key, cycles and total. Nothing here restates a formula: every number comes from the one cost form."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model
from tiny_arch import tiny_arch_dict

from costmodel.arch import Arch, arch_from_dict
from costmodel.cost import Cost
from costmodel.evaluate import evaluate, evaluate_batch
from costmodel.mapping import Mapping
from costmodel.numeric import evaluate_form
from costmodel.symbolic import CYCLES, RHO, symbolic_cost
from costmodel.types import Activation
from costmodel.workload import Layer, conv_layer
from mappers.cpsat import MapperInstance, ModelOptions, _Model
from mappers.mapspace import MapSpace, build_mapspace, prime_factors
from mappers.search import Objective


def _arch(spatial_t: bool) -> Arch:
    return arch_from_dict(
        tiny_arch_dict(
            "agree",
            glb_capacity_bits=2048,
            rf_capacity_bits=256,
            mac_pj=0.25,
            activation_pj=0.02,
            lif_spatial_t=spatial_t,
        )
    )


ARCHS = {flag: _arch(flag) for flag in (False, True)}


def _layer(rng: np.random.Generator) -> Layer:
    r = int(rng.choice([1, 3]))
    kw: dict = {}
    if rng.random() < 0.3:  # a non-spiking layer with multi-bit inputs (an ANN twin's)
        kw = {"activation": Activation.RELU, "input_bits": 8, "output_bits": 8}
    elif rng.random() < 0.3:  # a direct-coded first layer
        kw = {"input_bits": 8}
    return conv_layer(
        "q",
        T=int(rng.choice([1, 2, 4])),
        K=int(rng.choice([1, 2, 4])),
        C=int(rng.choice([1, 2, 3])),
        P=int(rng.choice([1, 2, 4])),
        Q=int(rng.choice([1, 2])),
        R=r,
        S=r,
        stride=int(rng.choice([1, 2])),
        spike_density=float(rng.choice([0.1, 0.25, 1.0])),
        **kw,
    )


def _mapping(space: MapSpace, rng: np.random.Generator) -> tuple[np.ndarray, dict, tuple] | None:
    """A random legal point of the mapspace: factors, complete orders, bypass (None when the draw found none)."""
    rows = space.factor_rows(rng.integers(0, space.n_factorizations_product(), size=512))
    rows = rows[space.fanout_ok(rows)]
    bypass = space.bypass_options[int(rng.integers(len(space.bypass_options)))]
    rows = rows[space.precheck(rows, bypass)]
    if not len(rows):
        return None
    row = rows[int(rng.integers(len(rows)))]
    live = space.live_dims(row)
    orders = {}
    for lv in space.order_levels:
        classes = space.level_order_classes(lv, live.get(lv, ()), prune=False)
        orders[lv] = space.full_order(lv, classes[int(rng.integers(len(classes)))])
    return row, orders, bypass


def _fix(model: _Model, mapping: Mapping, orders: dict, bypass: tuple) -> None:
    """Pin the CP-SAT model's variables to ``mapping``: prime exponents, loop orders and keep bits."""
    for s, ex in model.v.e.items():
        lm = mapping.levels[s.level]
        f = (
            math.prod(lp.bound for lp in lm.spatial if lp.dim is s.dim and lp.axis == s.axis)
            if s.spatial
            else lm.factor(s.dim, spatial=False)
        )
        pf = prime_factors(f)
        for p, x in ex.items():
            model.m.add(x == pf.get(p, 0))
    for lv, before in model.v.before.items():
        order = orders[lv]
        for (a, c), lit in before.items():
            model.m.add(lit == int(order.index(a) < order.index(c)))
    for (li, t), k in model.v.keep.items():
        want = t not in bypass[li]
        if isinstance(k, bool):
            assert k == want
        else:
            model.m.add(k == int(want))


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), 1.0)


@given(seed=st.integers(0, 2**32 - 1), spatial_t=st.booleans())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_arithmetic_of_the_form_agrees(seed: int, spatial_t: bool) -> None:
    rng = np.random.default_rng(seed)
    arch = ARCHS[spatial_t]
    layer = _layer(rng)
    space = build_mapspace(arch, layer)
    got = _mapping(space, rng)
    assume(got is not None)
    row, orders, bypass = got
    mapping = space.to_mapping(row, orders, bypass)

    cost = evaluate(arch, layer, mapping)
    assert isinstance(cost, Cost), cost

    # the open form (what the mappers and CP-SAT encode), numpy, at this order and bypass
    ev = evaluate_form(space.form, row[None], rank=space.ranks(orders), keeps=space.keeps(bypass))
    assert bool(ev.valid[0])
    for key in set(cost.energy_pj) | set(ev.energy_pj):
        assert close(cost.energy_pj.get(key, 0.0), float(ev.energy_pj.get(key, np.zeros(1))[0])), key
    for key in set(cost.counts) | set(ev.counts):
        assert close(cost.counts.get(key, 0.0), float(ev.counts.get(key, np.zeros(1))[0])), key
    assert close(cost.cycles, float(ev.cycles[0]))

    # the concrete nest, batched
    view, cols = space.structure(orders, bypass)
    batch = evaluate_batch(arch, layer, view, row[None, cols])
    assert close(float(batch.energy_pj[0]), cost.total_energy_pj) and close(float(batch.cycles[0]), cost.cycles)

    # the symbolic form at the mapping's bounds, key by key
    sc = symbolic_cost(arch, layer, mapping, general=True)
    point = {s: int(b) for s, b in zip(sc.nest.factors, sc.bounds, strict=True)} | {RHO: sc.values[RHO]}
    point[CYCLES] = sc.values[CYCLES]
    for key, v in cost.counts.items():
        assert close(float(sp.sympify(sc.priced.counts[key]).xreplace(point)), v), key
    for key, v in cost.energy_pj.items():
        assert close(float(sp.sympify(sc.priced.energy[key]).xreplace(point)), v), key
    assert close(float(sc.values[CYCLES]), cost.cycles)

    # CP-SAT with the mapping pinned: every quantity it models, and its objective (hull cuts on: they must never
    # cut off a legal mapping)
    options = ModelOptions(hull_cuts=True, symmetry=False, cutoff=False, hint=False)
    model = _Model(MapperInstance(space=space, form=space.form, objective=Objective.ENERGY), options)
    cpm, info = model.build()
    _fix(model, mapping, orders, bypass)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 20.0
    assert solver.solve(cpm) == cp_model.OPTIMAL
    assert len(model.v.qvalue) >= len({c.q for c in space.form.charges})  # every charged quantity is modelled
    for qi, var in model.v.qvalue.items():
        have = var if isinstance(var, int) else solver.value(var)
        assert have == round(float(ev.values[qi][0]) * model._qscale(qi)), (qi, space.form.quantities[qi])
    objective = model.unscale(solver.objective_value, info)
    assert close(objective, cost.total_energy_pj, 1e-12 if model.exact else 1e-9)


@pytest.mark.parametrize("spatial_t", [False, True])
def test_a_problem_with_every_feature_is_drawn(spatial_t: bool) -> None:
    """The random problems above do reach what they are meant to cover (a guard against a vacuous test)."""
    seen = {"spatial_T": False, "bypass": False, "relu": False, "stride2": False}  # spatial_T: of a spiking layer
    for seed in range(200):
        rng = np.random.default_rng(seed)
        layer = _layer(rng)
        space = build_mapspace(ARCHS[spatial_t], layer)
        got = _mapping(space, rng)
        if got is None:
            continue
        row, _, bypass = got
        seen["spatial_T"] |= layer.spiking and any(  # (a non-spiking layer has no membrane: T may be spatial)
            s.spatial and s.dim.value == "T" and row[i] > 1 for i, s in enumerate(space.slots)
        )
        seen["bypass"] |= any(bypass)
        seen["relu"] |= not layer.spiking
        seen["stride2"] |= layer.stride == 2
    assert seen == {"spatial_T": spatial_t, "bypass": True, "relu": True, "stride2": True}
