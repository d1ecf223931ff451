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
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import numpy as np

from costmodel.accounting import Accounting
from costmodel.arch import Arch
from costmodel.cost import Cost
from costmodel.evaluate import BatchResult, evaluate, evaluate_batch
from costmodel.mapping import Invalid, Mapping, mapping_to_dict
from costmodel.workload import Layer
from mappers.dataflows import CROSSBAR_FLOWS, DATAFLOWS, SCALESIM, check_flow
from mappers.mapspace import FREE, Constraints, MapSpace, build_mapspace, crossbar_constraints, dataflow_constraints

Array = np.ndarray


class Status(StrEnum):
    OPTIMAL = "OPTIMAL"  # proven best in the (constrained) mapspace
    FEASIBLE = "FEASIBLE"  # a legal mapping, optimality not proven
    INFEASIBLE = "INFEASIBLE"  # proven: no legal mapping
    UNKNOWN = "UNKNOWN"  # nothing found within the limits


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

    method: str
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
            "method": self.method,
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
            "t_position": self.mapping.t_position() if self.mapping else None,
            "mapping": mapping_to_dict(self.mapping, level_names)["mapping"] if self.mapping else None,
            "cost": c.to_dict() if c else None,
            "top": [{"value": t.value, "mapping": mapping_to_dict(t.mapping, level_names)["mapping"]}
                    for t in self.top],
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


def finish(*, method: str, space: MapSpace, obj: Objective, top: TopK, evaluated: int, clock: Deadline,
           status: Status, bound: float | None = None, interrupted: bool = False, timed_out: bool = False,
           notes: tuple[str, ...] = ()) -> SearchResult:
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
        invalid = invalid or Invalid(reason=f"no legal mapping of {space.layer.name} on {space.arch.name} "
                                     f"under constraints {space.constraints.name}")
    cands.sort(key=lambda c: c.value)
    return SearchResult(method=method, objective=obj, status=status, mapping=best_map, cost=best_cost,
                        evaluated=evaluated, wall_s=clock.elapsed(), bound=bound, top=tuple(cands),
                        space_size=None, interrupted=interrupted, timed_out=timed_out, invalid=invalid,
                        notes=notes)


# ------------------------------------------------------------------------------ front door
METHODS = ("exhaustive", "random", "cpsat")


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


def layer_mapper(arch: Arch, name: str, *, accounting: Accounting | None = None, quiet: bool = True,
                 objective_name: str = "energy", time_limit_s: float = 10.0, seed: int = 0, workers: int = 2
                 ) -> Callable[[Layer], Mapping | Invalid]:
    """The per-layer mapping source for a dataflow name: a fixed heuristic (``os``, ``ws``, ``time-batched`` on a
    digital arch; ``packed``, ``spikesim``, ``time-batched`` on a crossbar arch) or ``best`` (CP-SAT per layer).
    Raises ``ValueError`` naming the dataflow when it does not apply to the arch."""
    crossbar = arch.crossbar is not None
    check_flow(name, crossbar)
    if name == "best":
        return best_mapping_fn(arch, quiet=quiet, objective_name=objective_name, time_limit_s=time_limit_s,
                               seed=seed, workers=workers, accounting=accounting)
    from mappers.heuristic import crossbar_mapping, heuristic_mapping, scalesim_os_mapping

    if crossbar:
        flow = CROSSBAR_FLOWS[name]
        return lambda layer: crossbar_mapping(arch, layer, flow.mapping, t_inner=flow.t_inner)
    if name == SCALESIM:
        return lambda layer: scalesim_os_mapping(arch, layer, accounting)
    digital = DATAFLOWS[name]
    return lambda layer: heuristic_mapping(arch, layer, digital, accounting)


def default_dataflow(arch: Arch, accounting: Accounting | None = None) -> str:
    """The dataflow a command uses when none is given: the profile's, else ``os`` on a digital arch and
    ``packed`` on a crossbar arch."""
    acc = accounting or arch.profile()
    if acc.dataflow is not None:
        return acc.dataflow
    return "packed" if arch.crossbar is not None else "os"


def search(arch: Arch, layer: Layer, *, method: str = "cpsat", objective_name: str = "energy",
           constraints: Constraints = FREE, time_limit_s: float | None = None, seed: int = 0,
           workers: int = 2, top_k: int = 5, quiet: bool = True, samples: int | None = None,
           accounting: Accounting | None = None) -> SearchResult:
    """Map one layer with the named method; the Python face of ``spikeloop map``. ``accounting``: the profile
    the mappings are priced with (default: native)."""
    obj = objective(objective_name)
    space = build_mapspace(arch, layer, constraints, accounting)
    if method == "exhaustive":
        from mappers.exhaustive import exhaustive_search

        res = exhaustive_search(space, obj, time_limit_s=time_limit_s, top_k=top_k, quiet=quiet)
    elif method == "random":
        from mappers.random import random_search

        res = random_search(space, obj, time_limit_s=time_limit_s if time_limit_s is not None else 10.0,
                            samples=samples, seed=seed, top_k=top_k, quiet=quiet)
    elif method == "cpsat":
        from mappers.cpsat import SolverConfig, cpsat_search

        cfg = SolverConfig(time_limit_s=time_limit_s if time_limit_s is not None else 30.0, seed=seed,
                           workers=workers)
        res = cpsat_search(space, obj, cfg, top_k=top_k, quiet=quiet)
    else:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    from dataclasses import replace

    return replace(res, space_size=space.size().total)


def best_mapping_fn(arch: Arch, *, quiet: bool = True, objective_name: str = "energy",
                    time_limit_s: float = 10.0, seed: int = 0, workers: int = 2,
                    accounting: Accounting | None = None) -> Callable[[Layer], Mapping | Invalid]:
    """A ``Layer -> Mapping | Invalid`` that maps each layer with CP-SAT (used by
    ``spikeloop evaluate --dataflow best``). Falls back to random search if CP-SAT finds nothing.
    Layers that differ only in their name (e.g. VGG16's conv6 and conv7) are searched once."""
    memo: dict[Layer, Mapping | Invalid] = {}

    def best(layer: Layer) -> Mapping | Invalid:
        key = replace(layer, name="")
        if key in memo:
            return memo[key]
        res = search(arch, layer, method="cpsat", objective_name=objective_name, time_limit_s=time_limit_s,
                     seed=seed, workers=workers, quiet=True, accounting=accounting)
        if res.mapping is None:
            res = search(arch, layer, method="random", objective_name=objective_name, time_limit_s=time_limit_s,
                         seed=seed, quiet=True, accounting=accounting)
        if not quiet:
            print(f"  {layer.name}: {res.status.value} in {res.wall_s:.2f} s", file=sys.stderr)
        memo[key] = res.mapping if res.mapping is not None else (res.invalid or Invalid(reason="no mapping found"))
        return memo[key]

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


def evaluate_group(space: MapSpace, obj: Objective, rows: np.ndarray, orders: dict, bypass: tuple,
                   structures: dict, top: TopK) -> int:
    """Evaluate factor rows sharing one loop-order choice and bypass through costmodel's batch
    evaluator (loop structures memoised in ``structures``), offer the best to ``top``; returns the
    number of mappings evaluated."""
    key = (tuple(sorted(orders.items())), bypass)
    if key not in structures:
        structures[key] = space.structure(orders, bypass)
    st, cols = structures[key]
    res = evaluate_batch(space.arch, space.layer, st, rows[:, cols], space.accounting)
    val = np.where(res.valid, obj.of_batch(res), np.inf)
    offer_batch(top, val, rows, orders, bypass, space)
    return len(rows)
