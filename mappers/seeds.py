"""Legal mappings that start every search, found without a wall clock (same inputs and seed, same seeds).

* every named dataflow's heuristic mapping (:mod:`mappers.heuristic`: ``os``, ``ws``, ``time-batched`` and the SATA
  tool's schedule on a digital arch, ``packed``, ``spikesim``, ``time-batched`` on a crossbar arch) that lies in
  the mapspace (:meth:`mappers.mapspace.MapSpace.encode`: a mapspace narrowed by a dataflow or a user's
  constraints admits only some of them);
* a seeded random probe of a fixed number of samples (:func:`mappers.random.random_search`).

CP-SAT starts from the best of them (hint and objective cutoff) and returns it when its own search finds nothing
better within the limits, so a search never ends empty-handed when any of them is legal.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from costmodel.evaluate import evaluate
from costmodel.mapping import Invalid, Mapping
from mappers.dataflows import CROSSBAR_FLOWS, DATAFLOWS
from mappers.mapspace import MapSpace
from mappers.search import Objective, free_capacity_test

Seed = tuple[float, Mapping, str]  # (objective value, mapping, where it comes from)


def heuristic_seeds(space: MapSpace) -> list[tuple[str, Mapping]]:
    """(name, mapping) of every named dataflow heuristic that yields a legal mapping (not yet checked against the
    space's constraints)."""
    from mappers.heuristic import crossbar_mapping, heuristic_mapping, scalesim_os_mapping
    from mappers.mapspace import FREE

    arch, layer, acc = space.arch, space.layer, space.accounting
    fits = space.fits if space.constraints == FREE else free_capacity_test(arch, layer, acc)
    makers: list[tuple[str, Callable[[], Mapping | Invalid]]] = []
    if arch.crossbar is not None:
        for name, xflow in CROSSBAR_FLOWS.items():
            make_xb = functools.partial(crossbar_mapping, arch, layer, xflow.mapping, t_inner=xflow.t_inner)
            makers.append((name, make_xb))
    else:
        for name, flow in DATAFLOWS.items():
            makers.append((name, functools.partial(heuristic_mapping, arch, layer, flow, acc, capacity=fits)))
        if arch.systolic_level is not None:
            makers.append(("scalesim", lambda: scalesim_os_mapping(arch, layer, acc)))
    out = []
    for name, make in makers:
        try:
            m = make()
        except (ValueError, StopIteration):  # a heuristic that cannot place this layer at all
            continue
        if isinstance(m, Mapping):
            out.append((name, m))
    return out


def seed_mappings(
    space: MapSpace, obj: Objective, *, seed: int = 0, samples: int = 2048
) -> tuple[list[Seed], int, bool]:
    """The legal seed mappings of ``space``, best first (ties: heuristics first, in name order), the number of
    mappings evaluated, and whether Ctrl-C interrupted the probe. Each mapping is the space's own encoding
    (:meth:`~mappers.mapspace.MapSpace.encode`), so it is a legal point of the CP-SAT model."""
    from mappers.random import random_search

    seeds: list[Seed] = []
    evaluated = 0
    interrupted = False
    try:
        for name, m in heuristic_seeds(space):
            enc = space.encode(m)
            if enc is None:
                continue
            mapping = space.to_mapping(*enc)
            cost = evaluate(space.arch, space.layer, mapping, space.accounting)
            evaluated += 1
            if not isinstance(cost, Invalid):
                seeds.append((obj.of_cost(cost), mapping, f"the {name} heuristic"))
    except KeyboardInterrupt:
        interrupted = True
    if samples > 0 and not interrupted:
        res = random_search(space, obj, time_limit_s=None, samples=samples, seed=seed, top_k=1)
        evaluated += res.evaluated
        interrupted = res.interrupted
        if res.mapping is not None and res.value is not None:
            seeds.append((res.value, res.mapping, f"random probe (seed {seed}, {samples} samples)"))
    order = {id(s): i for i, s in enumerate(seeds)}
    seeds.sort(key=lambda s: (s[0], order[id(s)]))
    return seeds, evaluated, interrupted
