"""What every search returns, objectives, progress and interruption, and ``best_mapping_fn``.

A search (exhaustive, random, CP-SAT) returns a :class:`SearchResult`: the best mapping, its
:class:`~costmodel.cost.Cost` (always re-evaluated through ``costmodel.evaluate``), how many
mappings it evaluated, wall time, status (:class:`Status`), the objective bound and gap where the
method proves one, and the top-k mappings. Long searches show a tqdm progress bar on stderr unless
``quiet`` and return the best so far on Ctrl-C or when the time limit is reached.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import numpy as np

from costmodel.accounting import Accounting
from costmodel.arch import Arch
from costmodel.cost import Cost
from costmodel.evaluate import BatchResult, evaluate, evaluate_batch
from costmodel.mapping import Invalid, Mapping, mapping_to_dict
from costmodel.numeric import total_energy
from costmodel.workload import Layer
from mappers.dataflows import CROSSBAR_FLOWS, DATAFLOWS, SCALESIM, check_flow
from mappers.mapspace import (
    FREE,
    CapacityTest,
    Constraints,
    MapSpace,
    build_mapspace,
    capacity_test,
    crossbar_constraints,
    dataflow_constraints,
)

Array = np.ndarray


class Status(StrEnum):
    OPTIMAL = "OPTIMAL"  # proven best in the (constrained) mapspace
    FEASIBLE = "FEASIBLE"  # a legal mapping, optimality not proven
    INFEASIBLE = "INFEASIBLE"  # proven: no legal mapping
    UNKNOWN = "UNKNOWN"  # nothing found within the limits
    INTERRUPTED = "INTERRUPTED"  # stopped by Ctrl-C: the best legal mapping found so far


class Objective(StrEnum):
    ENERGY = "energy"
    EDP = "edp"

    def of_batch(self, res: BatchResult) -> Array:
        """The quantity minimised, per mapping of a batch (EDP in pJ x cycles: same order as pJ x s)."""
        return res.energy_pj if self is Objective.ENERGY else res.energy_pj * res.cycles

    def of_cost(self, cost: Cost) -> float:
        return cost.total_energy_pj if self is Objective.ENERGY else cost.total_energy_pj * cost.cycles


def objective(name: str | Objective) -> Objective:
    try:
        return Objective(name)
    except ValueError:
        raise ValueError(f"unknown objective {name!r}; expected energy or edp") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """One mapping a search saw, with its objective value (pJ or pJ x cycles)."""

    value: float
    mapping: Mapping


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchResult:
    """Outcome of one search. ``mapping``/``cost`` are None when nothing legal was found (then
    ``invalid`` says why). ``bound`` is a proven lower bound of the objective (same units as
    ``value``) where the method gives one; ``gap`` = (value - bound) / value."""

    method: Method
    objective: Objective
    status: Status
    mapping: Mapping | None
    cost: Cost | None
    evaluated: int
    wall_s: float
    bound: float | None = None
    top: tuple[Candidate, ...] = ()
    space_size: int | None = None
    interrupted: bool = False
    timed_out: bool = False
    invalid: Invalid | None = None
    notes: tuple[str, ...] = field(default=())
    reproducible: bool = True  # False when a wall-clock limit or Ctrl-C cut the search short
    deterministic_s: float | None = None  # CP-SAT's deterministic time spent

    @property
    def value(self) -> float | None:
        return None if self.cost is None else self.objective.of_cost(self.cost)

    @property
    def gap(self) -> float | None:
        v = self.value
        if v is None or self.bound is None or v == 0:
            return None
        return max(0.0, (v - self.bound) / v)

    def to_dict(self, level_names: list[str]) -> dict[str, Any]:
        """The JSON of ``spikeloop map`` (stable keys)."""
        c = self.cost
        return {
            "method": self.method.value,
            "objective": self.objective.value,
            "status": self.status.value,
            "best_energy_pj": c.total_energy_pj if c else None,
            "best_edp_pj_s": c.edp_pj_s if c else None,
            "cycles": c.cycles if c else None,
            "evaluated": self.evaluated,
            "wall_s": self.wall_s,
            "bound": self.bound,
            "gap": self.gap,
            "space_size": self.space_size,
            "interrupted": self.interrupted,
            "timed_out": self.timed_out,
            "reproducible": self.reproducible,
            "t_position": self.mapping.t_position() if self.mapping else None,
            "mapping": mapping_to_dict(self.mapping, level_names)["mapping"] if self.mapping else None,
            "cost": c.to_dict() if c else None,
            "top": [
                {"value": t.value, "mapping": mapping_to_dict(t.mapping, level_names)["mapping"]} for t in self.top
            ],
            "invalid": str(self.invalid) if self.invalid else None,
            "notes": list(self.notes),
        }


# ------------------------------------------------------------------------------ shared machinery
class TopK:
    """The k best (value, mapping-thunk) pairs seen; mappings are built only for the survivors."""

    def __init__(self, k: int) -> None:
        self.k = max(1, k)
        self._heap: list[tuple[float, int, Any]] = []  # max-heap by -value
        self._tie = itertools.count()

    def offer(self, value: float, payload: Any) -> None:
        item = (-value, -next(self._tie), payload)
        if len(self._heap) < self.k:
            heapq.heappush(self._heap, item)
        elif -value > self._heap[0][0]:
            heapq.heapreplace(self._heap, item)

    def worst(self) -> float:
        return -self._heap[0][0] if len(self._heap) >= self.k else float("inf")

    def items(self) -> list[tuple[float, Any]]:
        return sorted(((-v, p) for v, _, p in self._heap), key=lambda x: x[0])


def progress(total: int | None, desc: str, quiet: bool):  # noqa: ANN201 - tqdm or a no-op
    """A tqdm bar on stderr (a no-op object when quiet or tqdm is missing)."""
    if quiet:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        return _NoBar()
    unit = "sol" if desc == "cpsat" else "map"
    return tqdm(total=total, desc=desc, file=sys.stderr, unit=unit, unit_scale=True, leave=False)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str) -> None:
        pass

    def close(self) -> None:
        pass


class Deadline:
    def __init__(self, seconds: float | None) -> None:
        self.start = time.perf_counter()
        self.seconds = seconds

    def expired(self) -> bool:
        return self.seconds is not None and time.perf_counter() - self.start >= self.seconds

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


def finish(
    *,
    method: Method,
    space: MapSpace,
    obj: Objective,
    top: TopK,
    evaluated: int,
    clock: Deadline,
    status: Status,
    bound: float | None = None,
    interrupted: bool = False,
    timed_out: bool = False,
    notes: tuple[str, ...] = (),
) -> SearchResult:
    """Build the result: re-evaluate the best mappings through ``costmodel.evaluate``."""
    cands = []
    best_map, best_cost = None, None
    invalid = None
    for value, thunk in top.items():
        m = thunk() if callable(thunk) else thunk
        c = evaluate(space.arch, space.layer, m, space.accounting)
        if isinstance(c, Invalid):  # never expected: the batch said valid
            invalid = c
            continue
        cands.append(Candidate(value=obj.of_cost(c), mapping=m))
        if best_cost is None or obj.of_cost(c) < obj.of_cost(best_cost):
            best_map, best_cost = m, c
        del value
    if best_map is None:
        status = Status.INFEASIBLE if status is Status.OPTIMAL else Status.UNKNOWN
        invalid = invalid or Invalid(
            reason=f"no legal mapping of {space.layer.name} on {space.arch.name} "
            f"under constraints {space.constraints.name}"
        )
    cands.sort(key=lambda c: c.value)
    return SearchResult(
        method=method,
        objective=obj,
        status=status,
        mapping=best_map,
        cost=best_cost,
        evaluated=evaluated,
        wall_s=clock.elapsed(),
        bound=bound,
        top=tuple(cands),
        space_size=None,
        interrupted=interrupted,
        timed_out=timed_out,
        invalid=invalid,
        notes=notes,
    )


# ------------------------------------------------------------------------------ front door
class Method(StrEnum):
    """The search methods: every legal mapping, seeded random sampling, CP-SAT."""

    EXHAUSTIVE = "exhaustive"
    RANDOM = "random"
    CPSAT = "cpsat"


METHODS: tuple[str, ...] = tuple(m.value for m in Method)


def method_of(name: str | Method) -> Method:
    """The :class:`Method` named ``name``; ``ValueError`` naming the choices otherwise."""
    try:
        return Method(name)
    except ValueError:
        raise ValueError(f"unknown method {name!r}; expected one of {', '.join(METHODS)}") from None


def constraints_for(arch: Arch, dataflow_name: str | None, extra: Constraints | None = None) -> Constraints:
    """Constraints of a named dataflow (``None``/``free`` = none), merged with a user's."""
    base = FREE
    if dataflow_name not in (None, "", "free", "best"):
        check_flow(dataflow_name, arch.crossbar is not None)
        if arch.crossbar is not None:
            base = crossbar_constraints(arch, CROSSBAR_FLOWS[dataflow_name])
        else:  # the SATA tool's schedule searches the output-stationary space
            base = dataflow_constraints(arch, DATAFLOWS["os" if dataflow_name == SCALESIM else dataflow_name])
    return base.merged(extra) if extra is not None else base


def layer_mapper(
    arch: Arch,
    name: str,
    *,
    accounting: Accounting | None = None,
    quiet: bool = True,
    objective_name: str = "energy",
    time_limit_s: float | None = None,
    seed: int = 0,
    workers: int = 2,
) -> Callable[[Layer], Mapping | Invalid]:
    """The per-layer mapping source for a dataflow name: a fixed heuristic (``os``, ``ws``, ``time-batched`` on a
    digital arch; ``packed``, ``spikesim``, ``time-batched`` on a crossbar arch) or ``best`` (CP-SAT per layer).
    Raises ``ValueError`` naming the dataflow when it does not apply to the arch."""
    crossbar = arch.crossbar is not None
    check_flow(name, crossbar)
    if name == "best":
        return best_mapping_fn(
            arch,
            quiet=quiet,
            objective_name=objective_name,
            time_limit_s=time_limit_s,
            seed=seed,
            workers=workers,
            accounting=accounting,
        )
    from mappers.heuristic import crossbar_mapping, heuristic_mapping, scalesim_os_mapping

    if crossbar:
        flow = CROSSBAR_FLOWS[name]
        return lambda layer: crossbar_mapping(arch, layer, flow.mapping, t_inner=flow.t_inner)
    if name == SCALESIM:
        return lambda layer: scalesim_os_mapping(arch, layer, accounting)
    digital = DATAFLOWS[name]
    return lambda layer: heuristic_mapping(
        arch, layer, digital, accounting, capacity=free_capacity_test(arch, layer, accounting)
    )


@functools.lru_cache(maxsize=256)
def free_capacity_test(arch: Arch, layer: Layer, accounting: Accounting | None = None) -> CapacityTest:
    """The capacity test of a layer's free mapspace (:func:`mappers.mapspace.capacity_test`), kept for reuse: it
    answers the greedy heuristics' many "does this fit?" questions without a full evaluation each (VGG16
    Tiny-ImageNet on SATA, os + ws + time-batched: 7.3 s -> 1.8 s with the tests built, the same mappings)."""
    return capacity_test(arch, layer, accounting)


def default_dataflow(arch: Arch, accounting: Accounting | None = None) -> str:
    """The dataflow a command uses when none is given: the profile's, else ``os`` on a digital arch and
    ``packed`` on a crossbar arch."""
    acc = accounting or arch.profile()
    if acc.dataflow is not None:
        return acc.dataflow
    return "packed" if arch.crossbar is not None else "os"


#: Factorizations a random search draws given no time limit (deterministic: same seed, same result). About 4 s on
#: a VGG-sized conv layer on 2 cores; the draws the fanout and capacity checks reject count too.
RANDOM_SAMPLES = 4096


def search(
    arch: Arch,
    layer: Layer,
    *,
    method: str | Method = Method.CPSAT,
    objective_name: str = "energy",
    constraints: Constraints = FREE,
    time_limit_s: float | None = None,
    seed: int = 0,
    workers: int = 2,
    top_k: int = 5,
    quiet: bool = True,
    samples: int | None = None,
    accounting: Accounting | None = None,
) -> SearchResult:
    """Map one layer with the named method; the Python face of ``spikeloop map``. ``accounting``: the profile
    the mappings are priced with (default: native).

    Without ``time_limit_s`` every method is reproducible: exhaustive runs to the end, random draws ``samples``
    (default :data:`RANDOM_SAMPLES`) mappings, CP-SAT stops at its deterministic budget. A wall-clock limit that ends
    a search early makes its result depend on the machine: the result says so (``reproducible``, ``notes``)."""
    obj = objective(objective_name)
    if time_limit_s is not None and not (math.isfinite(time_limit_s) and time_limit_s > 0):
        raise ValueError(f"time limit: expected a positive finite number of seconds, got {time_limit_s!r}")
    method = method_of(method)
    space = build_mapspace(arch, layer, constraints, accounting)
    if method is Method.EXHAUSTIVE:
        from mappers.exhaustive import exhaustive_search

        res = exhaustive_search(space, obj, time_limit_s=time_limit_s, top_k=top_k, quiet=quiet)
    elif method is Method.RANDOM:
        from mappers.random import random_search

        if samples is None and time_limit_s is None:
            samples = RANDOM_SAMPLES
        res = random_search(space, obj, time_limit_s=time_limit_s, samples=samples, seed=seed, top_k=top_k, quiet=quiet)
    else:
        from mappers.cpsat import SolverConfig, cpsat_search

        cfg = SolverConfig(time_limit_s=time_limit_s, seed=seed, workers=workers)
        res = cpsat_search(space, obj, cfg, top_k=top_k, quiet=quiet)
    if method is not Method.CPSAT and (res.timed_out or res.interrupted):
        why = "Ctrl-C" if res.interrupted else "the wall-clock limit"
        res = replace(
            res,
            reproducible=False,
            notes=(*res.notes, f"{why} ended the search early: the result may differ from run to run"),
        )
    return replace(res, space_size=space.size().total)


# ------------------------------------------------------------------------------ whole networks
def shape_key(layer: Layer) -> Layer:
    """Layers that differ only in their name (e.g. VGG16's conv6 and conv7) have one mapping problem."""
    return replace(layer, name="")


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerTask:
    """One layer shape's CP-SAT search, as sent to a worker process (picklable, hashable: the memo's key)."""

    arch: Arch
    layer: Layer
    accounting: Accounting | None = None
    objective_name: str = "energy"
    time_limit_s: float | None = None
    seed: int = 0
    workers: int = 2


def run_layer_task(task: LayerTask) -> SearchResult:
    """A worker's job: the search of one layer shape (top level, so a process pool can run it)."""
    return search(
        task.arch,
        task.layer,
        method=Method.CPSAT,
        objective_name=task.objective_name,
        time_limit_s=task.time_limit_s,
        seed=task.seed,
        workers=task.workers,
        top_k=1,
        accounting=task.accounting,
    )


_MEMO: dict[LayerTask, SearchResult] = {}  # searches of this process, reused by identical shapes and later calls
_MEMO_SIZE = 256


def map_layers(
    arch: Arch,
    layers: Sequence[Layer],
    *,
    objective_name: str = "energy",
    time_limit_s: float | None = None,
    seed: int = 0,
    workers: int = 2,
    accounting: Accounting | None = None,
    executor: Executor | None = None,
    report: Callable[[Layer, SearchResult], None] | None = None,
) -> dict[Layer, SearchResult]:
    """The CP-SAT result of every distinct shape among ``layers`` (keyed by :func:`shape_key`): each shape is
    searched once (and not again in this process, see ``_MEMO``), the shapes in parallel on ``executor`` (e.g. a
    local process pool) when one is given and more than one shape is left. ``time_limit_s`` is per shape.
    ``report(layer, result)``: called as each shape finishes (the first layer of that shape)."""
    tasks: dict[Layer, LayerTask] = {}
    first: dict[Layer, Layer] = {}
    for layer in layers:
        key = shape_key(layer)
        if key not in tasks:
            tasks[key] = LayerTask(
                arch=arch,
                layer=key,
                accounting=accounting,
                objective_name=objective_name,
                time_limit_s=time_limit_s,
                seed=seed,
                workers=workers,
            )
            first[key] = layer
    out: dict[Layer, SearchResult] = {k: _MEMO[t] for k, t in tasks.items() if t in _MEMO}
    todo = [k for k in tasks if k not in out]

    def done(key: Layer, res: SearchResult) -> None:
        out[key] = res
        if len(_MEMO) >= _MEMO_SIZE:
            _MEMO.pop(next(iter(_MEMO)))
        _MEMO[tasks[key]] = res
        if report is not None:
            report(first[key], res)

    if executor is not None and len(todo) > 1:
        futures = {executor.submit(run_layer_task, tasks[k]): k for k in todo}
        for fut in as_completed(futures):
            done(futures[fut], fut.result())
    else:
        for k in todo:
            done(k, run_layer_task(tasks[k]))
    return {k: out[k] for k in tasks}


def mapping_of(res: SearchResult) -> Mapping | Invalid:
    """A search's mapping, or why there is none."""
    if res.mapping is not None:
        return res.mapping
    return res.invalid or Invalid(reason=f"no mapping found ({res.status.value})")


def best_mapping_fn(
    arch: Arch,
    *,
    quiet: bool = True,
    objective_name: str = "energy",
    time_limit_s: float | None = None,
    seed: int = 0,
    workers: int = 2,
    accounting: Accounting | None = None,
) -> Callable[[Layer], Mapping | Invalid]:
    """A ``Layer -> Mapping | Invalid`` that maps each layer with CP-SAT when it is asked for (one layer at a time;
    :func:`map_layers` maps a whole network's shapes at once, in parallel). Layers that differ only in their name
    are searched once. The search is seeded by the dataflow heuristics and a random probe, so it returns a mapping
    whenever one of them is legal."""

    def report(layer: Layer, res: SearchResult) -> None:
        if not quiet:
            gap = f", gap {100 * res.gap:.2g} %" if res.gap else ""
            print(f"  {layer.name}: {res.status.value}{gap} in {res.wall_s:.2f} s", file=sys.stderr)

    def best(layer: Layer) -> Mapping | Invalid:
        res = map_layers(
            arch,
            [layer],
            objective_name=objective_name,
            time_limit_s=time_limit_s,
            seed=seed,
            workers=workers,
            accounting=accounting,
            report=report,
        )[shape_key(layer)]
        return mapping_of(res)

    return best


def offer_batch(top: TopK, val: np.ndarray, rows: np.ndarray, orders: dict, bypass: tuple, space: MapSpace) -> None:
    """Offer the k smallest finite values of a batch to the top-k (mappings built lazily)."""
    k = min(top.k, len(val))
    idx = np.argpartition(val, k - 1)[:k] if k < len(val) else np.arange(len(val))
    for i in idx[np.argsort(val[idx], kind="stable")]:
        v = float(val[i])
        if not np.isfinite(v) or v >= top.worst():
            break
        top.offer(v, functools.partial(space.to_mapping, rows[i].copy(), dict(orders), bypass))


def evaluate_open(space: MapSpace, tops: dict[Objective, TopK], rows: np.ndarray, orders: dict, bypass: tuple) -> int:
    """Evaluate factor rows sharing one loop order and bypass with the mapspace's open cost form (no analysis per
    loop structure) and offer the best to the top-k of each objective; returns the number evaluated."""
    e, c, ok = total_energy(space.form, rows, rank=space.ranks(orders), keeps=space.keeps(bypass))
    for obj, top in tops.items():
        offer_batch(top, np.where(ok, e if obj is Objective.ENERGY else e * c, np.inf), rows, orders, bypass, space)
    return len(rows)


def evaluate_group(
    space: MapSpace,
    obj: Objective,
    rows: np.ndarray,
    orders: dict,
    bypass: tuple,
    structures: dict,
    top: TopK,
    *,
    open_form: bool = False,
) -> int:
    """Evaluate factor rows sharing one loop-order choice and bypass, offer the best to ``top``; returns the
    number of mappings evaluated. Through costmodel's batch evaluator on the concrete nest (loop structures
    memoised in ``structures``), or with ``open_form`` the mapspace's open cost form evaluated at that order and
    bypass (no analysis per structure: faster for the many small groups of a random search)."""
    if open_form:
        return evaluate_open(space, {obj: top}, rows, orders, bypass)
    key = (tuple(sorted(orders.items())), bypass)
    if key not in structures:
        structures[key] = space.structure(orders, bypass)
    st, cols = structures[key]
    res = evaluate_batch(space.arch, space.layer, st, rows[:, cols], space.accounting)
    val = np.where(res.valid, obj.of_batch(res), np.inf)
    offer_batch(top, val, rows, orders, bypass, space)
    return len(rows)
