"""Invariants of the cost model (STYLE.md 14d): what must hold for every mapping and workload."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from test_counts_walker import ARCHES, Problem, problems

from costmodel.arch import Arch, load_arch
from costmodel.cost import Cost, Key
from costmodel.evaluate import evaluate
from costmodel.mapping import Invalid, LevelMapping, Loop, Mapping
from costmodel.types import Action, Dim, Tensor
from costmodel.workload import Layer, conv_layer


@pytest.fixture(scope="module")
def generic3() -> Arch:
    return load_arch("generic3")


def _lm(
    temporal: tuple[tuple[Dim, int], ...] = (),
    spatial: tuple[tuple[Dim, int, str], ...] = (),
    bypass: frozenset[Tensor] = frozenset(),
) -> LevelMapping:
    return LevelMapping(
        temporal=tuple(Loop(d, b) for d, b in temporal),
        spatial=tuple(Loop(d, b, True, ax) for d, b, ax in spatial),
        bypass=bypass,
    )


# A layer and a mapping that fit generic3 (RF 2048 bits per PE, GLB 1 Mbit, 4x4 PEs).
LAYER = conv_layer("inv", T=4, K=8, C=4, P=4, Q=4, R=3, S=3, spike_density=0.2)


def _mapping(dram: tuple[tuple[Dim, int], ...]) -> Mapping:
    return Mapping(
        levels=(
            _lm(dram),
            _lm(((Dim.C, 4), (Dim.Q, 4)), ((Dim.K, 4, "x"), (Dim.P, 4, "y"))),
            _lm(((Dim.R, 3), (Dim.S, 3))),
        )
    )


T_OUTER = _mapping(((Dim.T, 4), (Dim.K, 2)))  # T outermost: the GLB W tile changes with k every timestep
T_INNER = _mapping(((Dim.K, 2), (Dim.T, 4)))  # T innermost at DRAM: the GLB W tile stays for all 4 timesteps


def _cost(arch: Arch, layer: Layer, mapping: Mapping) -> Cost:
    c = evaluate(arch, layer, mapping)
    assert isinstance(c, Cost), str(c)
    return c


# --------------------------------------------------------------------------- mapping independence
@settings(max_examples=60, derandomize=True, deadline=None)
@given(problem=problems())
def test_macs_and_lif_ops_do_not_depend_on_the_mapping(problem: Problem) -> None:
    """Whatever the mapping, the work done is the layer's: T*N*K*C*P*Q*R*S MACs, x density
    accumulations, T*N*K*P*Q LIF updates (compared with a mapping that keeps every loop in DRAM)."""
    layer = problem.layer.with_spike_density(0.375)
    flat = Mapping(
        levels=(
            _lm(tuple((d, layer.bound(d)) for d in Dim)),
            *(LevelMapping() for _ in problem.mapping.levels[1:]),
        )
    )
    ref = _cost(problem.arch, layer, flat)
    got = _cost(problem.arch, layer, problem.mapping)
    dense = 1
    for b in layer.bounds:
        dense *= b
    assert got.macs == ref.macs == dense
    assert got.accumulations == ref.accumulations == dense * 0.375
    b = layer.bounds_dict()
    assert got.lif_ops == ref.lif_ops == b[Dim.T] * b[Dim.N] * b[Dim.K] * b[Dim.P] * b[Dim.Q]
    assert got.energy_by(component="compute") == pytest.approx(ref.energy_by(component="compute"))


# --------------------------------------------------------------------------- spike density
def test_energy_does_not_decrease_with_spike_density(generic3: Arch) -> None:
    energies = [_cost(generic3, LAYER.with_spike_density(d / 10), T_INNER).total_energy_pj for d in range(11)]
    assert all(b >= a for a, b in zip(energies, energies[1:], strict=False)), energies
    assert energies[-1] > energies[0]  # density is priced at all (accumulations, gated RF W reads)


def test_accumulations_scale_with_density(generic3: Arch) -> None:
    lo = _cost(generic3, LAYER.with_spike_density(0.1), T_INNER)
    hi = _cost(generic3, LAYER.with_spike_density(0.4), T_INNER)
    assert hi.accumulations == pytest.approx(4 * lo.accumulations)
    assert hi.energy_by(component="compute", action=Action.AC) == pytest.approx(
        4 * lo.energy_by(component="compute", action=Action.AC)
    )


# --------------------------------------------------------------------------- where T sits
def test_weight_dram_reads_scale_with_t_when_t_is_outermost(generic3: Arch) -> None:
    outer = _cost(generic3, LAYER, T_OUTER)
    inner = _cost(generic3, LAYER, T_INNER)
    key = Key("DRAM", Tensor.W, Action.READ)
    t = LAYER.bound(Dim.T)
    assert inner.counts[key] > 0
    assert outer.counts[key] == t * inner.counts[key]
    assert outer.energy_pj[key] == pytest.approx(t * inner.energy_pj[key])
    # the same work either way
    assert outer.macs == inner.macs and outer.lif_ops == inner.lif_ops


def test_t_outermost_spills_membranes_t_inside_does_not(generic3: Arch) -> None:
    """T outermost over K: each GLB membrane tile is written back and refetched every timestep;
    T inside K keeps it: no DRAM membrane traffic at all (docs/dataflows.md, time-batched)."""
    outer = _cost(generic3, LAYER, T_OUTER)
    inner = _cost(generic3, LAYER, T_INNER)
    for action in (Action.READ, Action.UPDATE):
        key = Key("DRAM", Tensor.U, action)
        assert outer.counts.get(key, 0.0) > 0
        assert inner.counts.get(key, 0.0) == 0


# --------------------------------------------------------------------------- determinism
def test_evaluate_is_deterministic(generic3: Arch) -> None:
    first = _cost(generic3, LAYER, T_OUTER)
    rebuilt = _mapping(((Dim.T, 4), (Dim.K, 2)))  # an equal, separately built mapping
    again = [_cost(generic3, LAYER, m) for m in (T_OUTER, rebuilt, T_OUTER)]
    for c in again:
        assert c == first
        assert c.to_dict() == first.to_dict()
    assert _cost(generic3, LAYER, T_INNER) != first  # the comparison can tell costs apart


@settings(max_examples=40, derandomize=True, deadline=None)
@given(problem=problems())
def test_evaluate_is_deterministic_on_random_problems(problem: Problem) -> None:
    assert _cost(problem.arch, problem.layer, problem.mapping) == _cost(problem.arch, problem.layer, problem.mapping)


# --------------------------------------------------------------------------- invalid mappings
def test_factors_that_do_not_multiply_are_invalid(generic3: Arch) -> None:
    bad = _mapping(((Dim.T, 4),))  # K: 4 (GLB spatial) x 1 = 4, the layer has 8
    got = evaluate(generic3, LAYER, bad)
    assert isinstance(got, Invalid)
    assert not got
    assert got.kind == "factors"
    assert "K" in got.reason and "4" in got.reason and "8" in got.reason


def test_fanout_overflow_is_invalid(generic3: Arch) -> None:
    bad = Mapping(
        levels=(
            _lm(((Dim.T, 4),)),
            _lm(((Dim.C, 4), (Dim.Q, 4), (Dim.P, 4)), ((Dim.K, 8, "x"),)),  # 8 along x, GLB fans out 4
            _lm(((Dim.R, 3), (Dim.S, 3))),
        )
    )
    got = evaluate(generic3, LAYER, bad)
    assert isinstance(got, Invalid)
    assert (got.kind, got.level) == ("fanout", "GLB")
    assert "8" in got.reason and "4" in got.reason and "x" in got.reason


def test_capacity_overflow_is_invalid_and_names_the_numbers(generic3: Arch) -> None:
    # RF holds K 8, C 4, R 3, S 3: W 288 * 8 = 2304 bits; I C4 * 3 * 3 = 36 bits;
    # O and U: K 8 * 16 = 128 bits each -> 2596 bits > 2048
    bad = Mapping(
        levels=(
            _lm(((Dim.T, 4),)),
            _lm(((Dim.Q, 4),), ((Dim.P, 4, "y"),)),
            _lm(((Dim.K, 8), (Dim.C, 4), (Dim.R, 3), (Dim.S, 3))),
        )
    )
    got = evaluate(generic3, LAYER, bad)
    assert isinstance(got, Invalid)
    assert (got.kind, got.level) == ("capacity", "RF")
    assert "2596" in got.reason and "2048" in got.reason
    assert "RF" in str(got)


def test_per_tensor_capacity_overflow_names_the_tensor() -> None:
    arch = ARCHES[2]
    data_arch = dataclasses.replace(
        arch, levels=(arch.levels[0], dataclasses.replace(arch.levels[1], tensor_capacity_bits=((Tensor.W, 64),)))
    )
    # W tile at L1: K 3 * C 4 = 12 weights * 8 bits = 96 bits > 64
    layer = conv_layer("cap", K=3, C=4, P=1, Q=1, R=1, S=1)
    m = Mapping(levels=(_lm(), _lm(((Dim.K, 3), (Dim.C, 4)))))
    got = evaluate(data_arch, layer, m)
    assert isinstance(got, Invalid)
    assert (got.kind, got.level, got.tensor) == ("capacity", "L1", Tensor.W)
    assert "96" in got.reason and "64" in got.reason


def test_bypassing_the_outermost_level_is_invalid(generic3: Arch) -> None:
    m = T_INNER
    bad = Mapping(levels=(dataclasses.replace(m.levels[0], bypass=frozenset({Tensor.W})), *m.levels[1:]))
    got = evaluate(generic3, LAYER, bad)
    assert isinstance(got, Invalid) and got.kind == "bypass" and got.level == "DRAM"


# --------------------------------------------------------------------------- networks
def test_bypassing_a_level_does_not_make_its_network_free(generic3: Arch) -> None:
    """FAILS on costmodel as of this writing (bug in counts.access_counts ``fanout_traffic``).

    generic3, a layer with K = 4 (every other dim 1), the GLB spreading K over 4 PEs (spatial K 4 x).
    Each RF receives its own weight over the GLB's 4x4 network whether or not the GLB keeps W:
    4 weights * 8 bits * 0.01 pJ/bit = 0.32 pJ. When the GLB keeps W this is charged
    (GLB/W/transfer = 0.32 pJ); when the GLB bypasses W the weights go DRAM -> RF over the same
    network but ``fanout_traffic`` is only recorded at the parent kept level (DRAM, whose own
    fanout is 1x1), so the GLB network is free and GLB/W/transfer is missing.
    """
    layer = conv_layer("net", K=4, C=1, P=1, Q=1, R=1, S=1)
    key = Key("GLB", Tensor.W, Action.TRANSFER)
    costs = {}
    for bypass in (frozenset(), frozenset({Tensor.W})):
        m = Mapping(levels=(_lm(), _lm(spatial=((Dim.K, 4, "x"),), bypass=bypass), _lm()))
        costs[bool(bypass)] = _cost(generic3, layer, m)
    assert costs[False].energy_pj[key] == pytest.approx(4 * 8 * 0.01)
    assert costs[True].energy_pj.get(key, 0.0) == pytest.approx(4 * 8 * 0.01), "GLB network is free when bypassed"
