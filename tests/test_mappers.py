"""Mappers: mapspace sizes and classes, exhaustive vs CP-SAT optima, property tests, CLI and files.

Small generated problems (seeded) on a tiny 3-level arch so that exhaustive search is the ground
truth in well under a second each.
"""

from __future__ import annotations

import itertools
import json
import math
import os

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costmodel.arch import arch_from_dict, load_arch
from costmodel.evaluate import evaluate, evaluate_batch
from costmodel.mapping import Invalid, mapping_from_dict
from costmodel.numeric import total_energy
from costmodel.types import Dim, Tensor
from costmodel.workload import conv_layer
from mappers.cpsat import SolverConfig, cpsat_search
from mappers.dataflows import DATAFLOWS, TPlacement
from mappers.exhaustive import exhaustive_searches
from mappers.mapping_io import dump, timeloop_dict
from mappers.mapspace import (
    Constraints,
    build_mapspace,
    dataflow_constraints,
    iter_order_combos,
    load_constraints,
    order_classes,
    order_signature,
)
from mappers.random import random_search
from mappers.search import Objective, Status, constraints_for, search

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

TINY = {
    "name": "tiny3",
    "clock_hz": 1.0e9,
    "levels": [
        {
            "name": "DRAM",
            "keeps": ["W", "I", "O", "U", "S"],
            "capacity_bits": None,
            "word_bits": 16,
            "read_bandwidth_bits_per_cycle": 16,
            "write_bandwidth_bits_per_cycle": 16,
            "energy_pj": {"read": 100.0, "write": 120.0, "update": 220.0},
        },
        {
            "name": "GLB",
            "keeps": ["W", "I", "O", "U", "S"],
            "capacity_bits": 640,
            "word_bits": 16,
            "read_bandwidth_bits_per_cycle": 32,
            "write_bandwidth_bits_per_cycle": 32,
            "energy_pj": {"read": 6.0, "write": 7.0, "update": 13.0},
            "static_pj_per_cycle": 0.5,
            "link_pj_per_bit": 0.01,
            "fanout": {"x": 2, "y": 2},
        },
        {
            "name": "RF",
            "keeps": ["W", "I", "O", "U"],
            "capacity_bits": 96,
            "word_bits": 8,
            "read_bandwidth_bits_per_cycle": None,
            "write_bandwidth_bits_per_cycle": None,
            "energy_pj": {"read": 0.5, "write": 0.6, "update": 1.1},
            "spike_gated": ["W"],
            "static_pj_per_cycle": 0.01,
        },
    ],
    "compute": {"ac_pj": 0.03, "lif_pj": 0.08, "static_pj_per_cycle": 0.005, "lif_static_pj_per_cycle": 0.002},
}
TINY_ARCH = arch_from_dict(TINY)
ALL = frozenset(Tensor)


def problem(seed: int):
    """A seeded small problem: (layer, constraints) with 3 live dims of T, K, C, P (with R, stride)
    and 1 free bypass bit, so that exhaustive search takes well under a second."""
    rng = np.random.default_rng(seed)
    live = set(rng.choice(["T", "K", "C", "P"], size=3, replace=False))
    t = int(rng.choice([2, 4])) if "T" in live else 1
    k = int(rng.choice([2, 4])) if "K" in live else 1
    c = int(rng.choice([2, 3])) if "C" in live else 1
    p = int(rng.choice([2, 4])) if "P" in live else 1
    r = int(rng.choice([1, 3])) if (p > 1 and len(live) < 4) else 1
    if r > 1 and len(live) == 3:  # R makes a 4th live dim: drop one of the others to keep the size small
        k = 1 if k > 1 else k
        t = 1 if k > 1 else t
    stride = int(rng.choice([1, 2])) if r > 1 else 1
    layer = conv_layer(
        f"p{seed}", T=t, K=k, C=c, P=p, Q=1, R=r, S=1, stride=stride, spike_density=float(rng.choice([0.1, 0.25, 1.0]))
    )
    free = [(1, x) for x in (Tensor.U, Tensor.S, Tensor.O)] + [(2, x) for x in (Tensor.I, Tensor.U)]
    chosen = [free[i] for i in rng.choice(len(free), size=1, replace=False)]
    keep = []
    for lv in (1, 2):
        ks = TINY_ARCH.levels[lv].keeps - {x for (lvl, x) in chosen if lvl == lv}
        keep.append((lv, frozenset(ks)))
    return layer, Constraints(name=f"p{seed}", keep=tuple(keep))


SEEDS = list(range(26))


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b))


@pytest.mark.parametrize("seed", SEEDS)
def test_cpsat_equals_exhaustive(seed: int) -> None:
    """CP-SAT's optimum equals the exhaustive optimum (energy and EDP, with and without a dataflow)."""
    layer, cons = problem(seed)
    flows = [None, ["os", "ws", "time-batched"][seed % 3]]
    for flow in flows:
        c = constraints_for(TINY_ARCH, flow, cons)
        space = build_mapspace(TINY_ARCH, layer, c)
        exact = exhaustive_searches(space, tuple(Objective))
        for obj in Objective:
            ex = exact[obj]
            cp = cpsat_search(space, obj, SolverConfig(time_limit_s=30, seed=seed, workers=2))
            assert ex.status is Status.OPTIMAL, (flow, obj)
            assert cp.status is Status.OPTIMAL, (flow, obj, cp.notes)
            assert ex.value is not None and cp.value is not None
            assert _rel(ex.value, cp.value) < 1e-9, (flow, obj, ex.value, cp.value, cp.mapping)
            assert not isinstance(evaluate(TINY_ARCH, layer, cp.mapping), Invalid)
            assert cp.bound is not None and cp.bound <= cp.value * (1 + 1e-9)
            if flow == "time-batched" and layer.bound(Dim.T) > 1:
                assert cp.mapping.t_position().startswith("level 2 temporal")
            if flow in ("os", "ws") and layer.bound(Dim.T) > 1:
                assert cp.mapping.t_position().startswith("level 0 temporal, position 1")


def test_cost_form_matches_costmodel() -> None:
    """The open cost form CP-SAT encodes (order and bypass left as conditions), evaluated numerically with a
    chosen order and bypass, reproduces evaluate_batch on the concrete nest to 1e-12."""
    rng = np.random.default_rng(7)
    for arch in (TINY_ARCH, load_arch("generic3")):
        layer = conv_layer("f", T=2, K=4, C=3, P=4, R=3, stride=2, spike_density=0.3)
        space = build_mapspace(arch, layer)
        form = space.form
        for _ in range(20):
            rows = space.factor_rows(rng.integers(0, space.n_factorizations_product(), size=64))
            rows = rows[space.fanout_ok(rows)]
            bypass = space.bypass_options[int(rng.integers(len(space.bypass_options)))]
            orders = {
                lv: tuple(space.temporal_dims[lv][i] for i in rng.permutation(len(space.temporal_dims[lv])))
                for lv in space.order_levels
            }
            st_, cols = space.structure(orders, bypass)
            ref = evaluate_batch(arch, layer, st_, rows[:, cols])
            e, c, _ = total_energy(form, rows, rank=space.ranks(orders), keeps=space.keeps(bypass))
            np.testing.assert_allclose(e, ref.energy_pj, rtol=1e-12)
            np.testing.assert_allclose(c, ref.cycles, rtol=1e-12)


def test_order_classes_collapse_and_keep_costs() -> None:
    """Orders with one signature have equal costs; every order's cost is that of its class."""
    dims = (Dim.K, Dim.C, Dim.R)  # K first (either order of C, R), C K R, R K C, C and R before K: 4 classes
    classes = order_classes(dims)
    assert len(classes) == 4 < math.factorial(len(dims))
    sigs = {order_signature(o) for o in classes}
    assert len(sigs) == len(classes)
    layer = conv_layer("o", T=2, K=4, C=2, P=2, Q=1, R=1, S=1)
    space = build_mapspace(TINY_ARCH, layer, Constraints(keep=((1, ALL), (2, TINY_ARCH.levels[2].keeps))))
    row = space.factor_rows(np.arange(space.n_factorizations_product()))
    row = row[space.fanout_ok(row) & space.precheck(row, space.bypass_options[0])][:200]
    bypass = space.bypass_options[0]
    for perm in itertools.permutations(space.temporal_dims[0]):
        rep = next(
            o
            for o in order_classes(tuple(d for d in space.temporal_dims[0]))
            if order_signature(o) == order_signature(perm)
        )
        a = evaluate_batch(TINY_ARCH, layer, *_st(space, {0: perm}, bypass, row))
        b = evaluate_batch(TINY_ARCH, layer, *_st(space, {0: rep}, bypass, row))
        np.testing.assert_allclose(a.energy_pj, b.energy_pj, rtol=1e-12)


def _st(space, orders, bypass, rows):  # noqa: ANN001, ANN202
    full = {lv: space.full_order(lv, orders.get(lv, ())) for lv in space.order_levels}
    s, cols = space.structure(full, bypass)
    return s, rows[:, cols]


def test_mapspace_size_counts_without_enumerating() -> None:
    layer, cons = problem(3)
    space = build_mapspace(TINY_ARCH, layer, cons)
    size = space.size()
    rows = space.factor_rows(np.arange(space.n_factorizations_product()))
    assert size.factorizations == int(space.fanout_ok(rows).sum())
    assert size.bypass == len(space.bypass_options) == 2
    big = build_mapspace(load_arch("generic3"), conv_layer("big", T=4, K=512, C=512, P=8, R=3))
    assert big.size().total > 10**12  # reported without enumerating


def test_dataflow_constraints_shape_the_space() -> None:
    arch = load_arch("generic3")
    layer = conv_layer("d", T=4, K=8, C=4, P=4, R=3)
    tb = build_mapspace(arch, layer, dataflow_constraints(arch, DATAFLOWS["time-batched"]))
    t_slots = [s for s in tb.slots if s.dim is Dim.T]
    assert [(s.level, s.axis) for s in t_slots] == [(2, None)]
    os_ = build_mapspace(arch, layer, dataflow_constraints(arch, DATAFLOWS["os"]))
    assert [(s.level, s.axis) for s in os_.slots if s.dim is Dim.T] == [(0, None)]
    assert {s.dim for s in os_.slots if s.axis == "x"} == {Dim.K}
    assert all(o[0] is Dim.T for o in os_.level_order_classes(0, (Dim.T, Dim.K, Dim.C)))
    assert os_.constraints.t_placement is TPlacement.OUTERMOST


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), obj=st.sampled_from(list(Objective)))
def test_mapper_never_worse_than_any_mapping_it_was_shown(seed: int, obj: Objective) -> None:
    """Random and CP-SAT results are legal and no worse than any legal mapping they saw (random:
    its own samples; CP-SAT: any mapping of the space, here a random batch)."""
    layer, cons = problem(seed % 1000)
    space = build_mapspace(TINY_ARCH, layer, cons)
    rnd = random_search(space, obj, time_limit_s=None, samples=2000, seed=seed, top_k=50)
    cp = cpsat_search(space, obj, SolverConfig(time_limit_s=20, seed=seed, workers=1))
    assert cp.status is Status.OPTIMAL
    for res in (rnd, cp):
        assert res.mapping is not None
        assert not isinstance(evaluate(TINY_ARCH, layer, res.mapping), Invalid)
    for cand in rnd.top:  # everything random kept is no better than its best, and no better than CP-SAT
        assert rnd.value <= cand.value * (1 + 1e-12)
        assert cp.value <= cand.value * (1 + 1e-9)
    # a fresh batch of legal mappings the CP-SAT result must beat
    rng = np.random.default_rng(seed)
    rows = space.factor_rows(rng.integers(0, space.n_factorizations_product(), size=256))
    rows = rows[space.fanout_ok(rows)]
    for bypass in space.bypass_options:
        ok = rows[space.precheck(rows, bypass)]
        if not len(ok):
            continue
        for orders in itertools.islice(
            iter_order_combos(space, {lv: space.temporal_dims[lv] for lv in space.order_levels}, prune=False), 6
        ):
            s, cols = space.structure(orders, bypass)
            r = evaluate_batch(TINY_ARCH, layer, s, ok[:, cols])
            vals = obj.of_batch(r)[r.valid]
            if len(vals):
                assert cp.value <= vals.min() * (1 + 1e-9)


def test_exhaustive_top_k_sorted_and_valid() -> None:
    layer, cons = problem(5)
    res = search(TINY_ARCH, layer, method="exhaustive", constraints=cons, top_k=4)
    values = [c.value for c in res.top]
    assert values == sorted(values) and len(values) == 4
    assert res.top[0].value == res.value
    for c in res.top:
        assert not isinstance(evaluate(TINY_ARCH, layer, c.mapping), Invalid)


def test_time_limit_returns_best_so_far() -> None:
    layer = conv_layer("slow", T=4, K=16, C=8, P=4, R=3)
    res = search(load_arch("generic3"), layer, method="exhaustive", time_limit_s=0.5)
    assert res.timed_out and res.status is Status.FEASIBLE and res.mapping is not None


def test_mapping_files_roundtrip_and_timeloop(tmp_path) -> None:  # noqa: ANN001
    layer, cons = problem(2)
    res = search(TINY_ARCH, layer, method="cpsat", constraints=cons, time_limit_s=10)
    names = [lv.name for lv in TINY_ARCH.levels]
    back = mapping_from_dict(yaml.safe_load(dump(TINY_ARCH, res.mapping, "yaml")), names)
    assert back == res.mapping
    tl = timeloop_dict(TINY_ARCH, res.mapping)["mapping"]
    assert {e["type"] for e in tl} >= {"temporal", "bypass"}
    assert all(e["target"] in names for e in tl)
    text = dump(TINY_ARCH, res.mapping, "timeloop")
    assert "permutation" in text and "factors" in text


def test_user_constraints_yaml(tmp_path) -> None:  # noqa: ANN001
    arch = load_arch("generic3")
    f = tmp_path / "c.yaml"
    f.write_text("constraints:\n  t: innermost\n  levels:\n    - {level: GLB, factors: {K: 2}, bypass: [S]}\n")
    cons = load_constraints(f, arch)
    layer = conv_layer("u", T=2, K=4, C=2, P=2, R=1)
    res = search(arch, layer, method="cpsat", constraints=cons, time_limit_s=10)
    m = res.mapping
    assert m.levels[1].factor(Dim.K, spatial=False) == 2
    assert Tensor.S in m.levels[1].bypass
    assert res.mapping.t_position().startswith("level 2")
    bad = tmp_path / "bad.yaml"
    bad.write_text("constraints:\n  levels:\n    - {level: GLB, factorz: {K: 2}}\n")
    with pytest.raises(Exception, match="factorz"):
        load_constraints(bad, arch)


def test_cli_map_json(tmp_path, capsys) -> None:  # noqa: ANN001
    from spikeloop.cli import main

    out = tmp_path / "m.json"
    rc = main(
        [
            "map",
            "--arch",
            "generic3",
            "--network",
            "vgg16-tinyimagenet",
            "--layer",
            "fc3",
            "--method",
            "cpsat",
            "--dataflow",
            "time-batched",
            "--time-limit",
            "20",
            "--json",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0
    d = json.loads(out.read_text())
    for key in ("best_energy_pj", "best_edp_pj_s", "status", "evaluated", "wall_s", "mapping"):
        assert key in d
    assert d["status"] == "OPTIMAL"
    assert d["t_position"].startswith("level 2 temporal")
    assert main(["map", "--arch", "generic3", "--network", "vgg16-tinyimagenet", "--layer", "nope"]) == 2
    assert main(["map", "--arch", "generic3", "--network", "vgg16-tinyimagenet", "--layer", "pool1"]) == 2


def test_methods_are_an_enum_and_a_bad_name_is_refused() -> None:
    import spikeloop.api as api
    from mappers.search import METHODS, Method, method_of

    assert METHODS == tuple(m.value for m in Method) == api.METHODS
    assert method_of("cpsat") is Method.CPSAT and method_of(Method.RANDOM) is Method.RANDOM
    with pytest.raises(ValueError, match="unknown method 'annealing'; expected one of exhaustive, random, cpsat"):
        method_of("annealing")
