"""T on a spatial axis (``compute.lif_spatial_t``): refused by default, in the mapspace and by ``check``; priced
where an arch allows it (partial sums moved to the neuron's LIF unit, serialised LIF updates), identically by
every arithmetic; the numbers of the example in docs/dataflows.md."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from tiny_arch import tiny_arch_dict

from costmodel.arch import Arch, arch_from_dict, load_arch
from costmodel.cost import Cost, Key
from costmodel.evaluate import cost_form, evaluate, evaluate_batch, nest_of
from costmodel.mapping import Invalid, mapping_from_dict
from costmodel.numeric import evaluate_form, total_energy
from costmodel.specio import SpecError
from costmodel.types import Action, Activation, Dim, Tensor
from costmodel.workload import conv_layer
from mappers.cpsat import SolverConfig, cpsat_search
from mappers.exhaustive import exhaustive_searches
from mappers.mapspace import FREE, Constraints, build_mapspace
from mappers.search import Objective, Status

KEY = "compute.lif_spatial_t"


def allowing(arch: Arch) -> Arch:
    return dataclasses.replace(arch, compute=dataclasses.replace(arch.compute, lif_spatial_t=True))


def doc_example() -> tuple[Arch, object, object]:
    """docs/dataflows.md: T = 4 on generic3's array x axis, K = 4 on its y axis, C, P, Q in time at DRAM."""
    arch = load_arch("generic3")
    layer = conv_layer("demo", T=4, K=4, C=8, P=4, Q=4, R=1, S=1, spike_density=0.2)
    mapping = mapping_from_dict(
        {
            "mapping": [
                {"level": "DRAM", "temporal": [["C", 8], ["P", 4], ["Q", 4]]},
                {"level": "GLB", "spatial": [["T", 4, "x"], ["K", 4, "y"]]},
                {"level": "RF"},
            ]
        },
        [lv.name for lv in arch.levels],
    )
    return arch, layer, mapping


def test_key_defaults_off_and_loads_strictly(tmp_path) -> None:  # noqa: ANN001
    for name in ("sata", "generic3", "spikeflow"):
        assert load_arch(name).compute.lif_spatial_t is False
    data = {
        "name": "a",
        "clock_hz": 1e9,
        "levels": [
            {
                "name": "M",
                "keeps": ["W", "I", "O", "U", "S"],
                "word_bits": 8,
                "energy_pj": {"read": 1.0},
                "fanout": {"x": 4, "y": 1},
            }
        ],
        "compute": {"ac_pj": 1.0, "lif_pj": 1.0, "lif_spatial_t": True},
    }
    assert arch_from_dict(data).compute.lif_spatial_t is True
    data["compute"]["lif_spatial_t"] = "yes"
    with pytest.raises(SpecError, match="lif_spatial_t"):
        arch_from_dict(data)


def test_check_refuses_spatial_t_naming_the_key() -> None:
    arch, layer, mapping = doc_example()
    bad = evaluate(arch, layer, mapping)
    assert isinstance(bad, Invalid)
    assert bad.key == KEY and KEY in str(bad) and bad.level == "GLB"
    assert isinstance(evaluate(allowing(arch), layer, mapping), Cost)
    ann = dataclasses.replace(layer, activation=Activation.RELU)  # no LIF, no membrane: nothing to serialise
    assert KEY not in str(evaluate(arch, ann, mapping))


def test_mapspace_has_spatial_t_only_where_allowed() -> None:
    arch, layer, _ = doc_example()
    off = build_mapspace(arch, layer, FREE)
    on = build_mapspace(allowing(arch), layer, FREE)
    assert not [s for s in off.slots if s.dim is Dim.T and s.spatial]
    assert {(s.level, s.axis) for s in on.slots if s.dim is Dim.T and s.spatial} == {(1, "x"), (1, "y")}


def test_doc_example_numbers() -> None:
    """Transfer 256 x 16 bits x 0.01 pJ/bit = 40.96 pJ on the GLB network; serialised LIF updates 16 x 4 = 64
    cycles (16 without the rule); compute 128 steps."""
    arch, layer, mapping = doc_example()
    arch = allowing(arch)
    view, factors = nest_of(arch, mapping)
    form = cost_form(arch, layer, view)
    ev = evaluate_form(form, factors)
    moved = [
        c
        for c in form.charges
        if c.key == Key("GLB", Tensor.O, Action.TRANSFER)
        and form.quantities[c.q].gates
        and form.quantities[c.q].factors == form.analysis.quantities[form.analysis.lif_ops].factors
    ]
    assert len(moved) == 1
    assert ev.values[moved[0].q][0] == 256 and moved[0].pj_per_unit * 256 == pytest.approx(40.96)
    serial = [b for b in form.buses if b.bus == "LIF units (timesteps on a spatial axis)"]
    assert len(serial) == 1 and serial[0].cycles_per_unit * ev.values[serial[0].q][0] == 64
    cm = form.cycles
    assert ev.values[cm.lif][0] * cm.cycles_per_lif_op == 16 and ev.values[cm.outer][0] == 128
    assert ev.cycles[0] >= 64
    # the charges are the only difference from the same mapping with T in time (nothing else changes)
    cost = evaluate(arch, layer, mapping)
    assert cost.energy_pj[Key("GLB", Tensor.O, Action.TRANSFER)] >= 40.96


def test_no_charge_without_a_live_spatial_t() -> None:
    """The terms are gated: a mapping of the same arch with T in time pays nothing extra."""
    arch, layer, _ = doc_example()
    names = [lv.name for lv in arch.levels]
    temporal = mapping_from_dict(
        {
            "mapping": [
                {"level": "DRAM", "temporal": [["C", 8], ["P", 4]]},
                {"level": "GLB", "spatial": [["Q", 4, "x"], ["K", 4, "y"]]},
                {"level": "RF", "temporal": [["T", 4]]},
            ]
        },
        names,
    )
    a, b = evaluate(arch, layer, temporal), evaluate(allowing(arch), layer, temporal)
    assert isinstance(a, Cost) and isinstance(b, Cost)
    assert a.energy_pj == b.energy_pj and a.cycles == b.cycles


TINY = tiny_arch_dict("tiny-t", lif_spatial_t=True)


def test_open_form_prices_spatial_t_like_the_concrete_nest() -> None:
    """The cost form CP-SAT encodes (open nest) agrees with evaluate_batch on mappings with T spatial."""
    arch = arch_from_dict(TINY)
    layer = conv_layer("t", T=4, K=2, C=2, P=2, Q=1, R=1, S=1, spike_density=0.3)
    space = build_mapspace(arch, layer)
    assert any(s.dim is Dim.T and s.spatial for s in space.slots)
    rng = np.random.default_rng(3)
    rows = space.factor_rows(rng.integers(0, space.n_factorizations_product(), size=512))
    rows = rows[space.fanout_ok(rows)]
    t_cols = [i for i, s in enumerate(space.slots) if s.dim is Dim.T and s.spatial]
    assert (rows[:, t_cols] > 1).any()
    for bypass in space.bypass_options[:4]:
        orders = {lv: space.temporal_dims[lv] for lv in space.order_levels}
        st_, cols = space.structure(orders, bypass)
        ref = evaluate_batch(arch, layer, st_, rows[:, cols])
        e, c, _ = total_energy(space.form, rows, rank=space.ranks(orders), keeps=space.keeps(bypass))
        np.testing.assert_allclose(e, ref.energy_pj, rtol=1e-12)
        np.testing.assert_allclose(c, ref.cycles, rtol=1e-12)


def test_cpsat_equals_exhaustive_with_spatial_t() -> None:
    arch = arch_from_dict(TINY)
    layer = conv_layer("t", T=4, K=2, C=2, P=2, Q=1, R=1, S=1, spike_density=0.3)
    # two free bypass bits (U and S at GLB): the free space's 512 bypass choices take the walk minutes
    keep = ((1, frozenset({Tensor.W, Tensor.I, Tensor.O})), (2, arch.levels[2].keeps))
    space = build_mapspace(arch, layer, Constraints(name="two bypass bits", keep=keep))
    assert len(space.bypass_options) == 4 and any(s.dim is Dim.T and s.spatial for s in space.slots)
    exact = exhaustive_searches(space, tuple(Objective))
    for obj in Objective:
        cp = cpsat_search(space, obj, SolverConfig(seed=0, workers=2))
        assert cp.status is Status.OPTIMAL, cp.notes
        assert abs(cp.value - exact[obj].value) <= 1e-9 * exact[obj].value
