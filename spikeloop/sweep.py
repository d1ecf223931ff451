"""Design-space sweeps (DESIGN.md section 7): a grid of points, each evaluated as an independent task.

A grid file names architectures with parameter overrides, networks, timestep counts, dataflows (or
``best``, the mapper) and mapper objectives; :func:`load_grid` expands it into :class:`Task` s. Each
task carries the *data* of its arch (overrides applied) and network, so a worker on another machine
needs the ``spikeloop`` package but none of the user's files. :func:`evaluate_point` is a pure
top-level function (picklable by reference) that never raises: a point that cannot be evaluated
comes back as a ``failed`` record with its error. :func:`run_sweep` pushes the tasks through any
:class:`concurrent.futures.Executor` (a local process pool, or a Dask ``Client.get_executor()``)
and appends one JSON line per point as it finishes, flushed at once.

Resume: every point has a stable key, a hash of its parameters *and* of its arch and network data
(so editing an arch file reruns its points instead of keeping stale numbers). A rerun skips keys
already in the output file; a truncated last line (a sweep killed mid-write) is dropped and its
point rerun; duplicate or corrupt lines are removed, so after a rerun every point is in the file
exactly once.

Grid YAML (keys other than ``archs`` and ``networks`` optional)::

    archs:                                  # shipped names or YAML files (relative to the grid file)
      - generic3
      - arch: my_arch.yaml
        overrides: {compute.lif_sharing: [1, 4]}        # only for this arch
    overrides:                              # for every arch: dotted path into the arch YAML -> values
      levels[GLB].capacity_bits: [524288, 1048576]      # a level by name (or index: levels[1])
      levels[GLB].fanout: [{x: 4, y: 4}, {x: 8, y: 8}]  # a whole sub-mapping is one value
    networks: [vgg5-cifar10]                # shipped names or YAML files
    T: [1, 4]                               # default: each network file's own T
    dataflows: [os, ws, time-batched, best] # default [os]; best = mappers.search.best_mapping_fn
    objectives: [energy, edp]               # mapper objectives of `best` points; default [energy]

Points are the product archs x override values x networks x T x dataflows (x objectives for
``best``). An override path must exist in the arch data, except that its last key may be new where
the arch loader checks keys strictly (top level, ``levels[...]``, ``compute``); every override value
is validated by building the arch at load time, and errors name the grid key.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import itertools
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

import archspecs
from costmodel.arch import arch_from_dict
from costmodel.dataflows import DATAFLOWS, dataflow, heuristic_mapping
from costmodel.network import network_from_data
from costmodel.network_eval import evaluate_network
from costmodel.specio import Node, SpecError, load_yaml

BEST = "best"
IMC = "imc"  # the dataflow of every point on an in-memory-compute arch (costmodel.imc)
OBJECTIVES = ("energy", "edp")
#: (record key, label, unit of the plot axis, scale from the record's unit to the axis unit)
PARETO_METRICS = (
    ("total_energy_pj", "energy", "mJ", 1e-9),
    ("latency_s", "latency", "ms", 1e3),
    ("area_mm2", "area", "mm²", 1.0),
)
_RESULT_KEYS = ("method", "total_energy_pj", "cycles", "latency_s", "area_mm2", "edp_pj_s", "macs",
                "accumulations", "lif_ops", "utilization", "breakdown_pj")
_STRICT_SECTIONS = ("levels", "compute")  # where arch_from_dict rejects unknown keys itself


# ---------------------------------------------------------------------------------------- values
@dataclass(frozen=True, slots=True, kw_only=True)
class Point:
    """The parameters of one sweep point, as the grid names them."""

    arch: str
    overrides: tuple[tuple[str, Any], ...]  # canonical override path -> value, in grid order
    network: str
    T: int
    dataflow: str
    objective: str | None  # mapper objective; None for the fixed heuristic dataflows

    def params(self) -> dict[str, Any]:
        return {"arch": self.arch, "overrides": dict(self.overrides), "network": self.network, "T": self.T,
                "dataflow": self.dataflow, "objective": self.objective}


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    """One independent unit of work: a point and the data needed to evaluate it anywhere."""

    key: str
    point: Point
    arch_data: Any
    arch_file: str
    network_data: Any
    network_file: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Grid:
    file: str
    tasks: tuple[Task, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepSummary:
    points: int  # in the grid
    already_done: int  # skipped: their key was already in the output file
    evaluated: int  # finished now, ok
    failed: int  # finished now, recorded with an error
    not_run: int  # lost to the executor (worker died, pool broken): not recorded, a rerun retries them
    foreign: int  # records in the file whose key is not in this grid (kept)
    repaired: int  # truncated, corrupt or duplicate lines removed from the file before resuming
    wall_s: float
    executor_errors: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()  # the first few failed points' errors

    @property
    def points_per_s(self) -> float:
        done = self.evaluated + self.failed
        return done / self.wall_s if self.wall_s > 0 else float("nan")


# ---------------------------------------------------------------------------------------- point keys
def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def data_digest(data: Any) -> str:
    """SHA-256 of parsed YAML data in canonical JSON form (key order and formatting do not matter)."""
    return hashlib.sha256(_canonical(data).encode()).hexdigest()


def point_key(point: Point, arch_digest: str, network_digest: str) -> str:
    """Stable key of a point: a hash of its parameters and of the digests of its arch and network data."""
    blob = _canonical({"params": point.params(), "arch": arch_digest, "network": network_digest})
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------- overrides
_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[[^\[\]]+\])*)")


def _parse_path(path: str) -> list[str | tuple[str]]:
    """``levels[GLB].fanout.x`` -> ``['levels', ('GLB',), 'fanout', 'x']`` (tuples are selectors)."""
    out: list[str | tuple[str]] = []
    for part in path.split("."):
        m = _SEGMENT.fullmatch(part)
        if not m:
            raise ValueError(f"malformed path segment {part!r} (expected name, name[index] or name[level name])")
        out.append(m.group(1))
        out.extend((sel,) for sel in re.findall(r"\[([^\[\]]+)\]", m.group(2)))
    return out


def _select(items: list, sel: str, where: str) -> tuple[int, str]:
    """Index of a list item by ``name`` or integer index; returns it and its canonical selector."""
    named = [i for i, it in enumerate(items) if isinstance(it, dict) and it.get("name") == sel]
    if named:
        return named[0], sel
    if re.fullmatch(r"-?\d+", sel):
        i = int(sel)
        if not -len(items) <= i < len(items):
            raise ValueError(f"{where}[{sel}]: index out of range (the list has {len(items)} items)")
        i %= len(items)
        name = items[i].get("name") if isinstance(items[i], dict) else None
        return i, name if isinstance(name, str) else str(i)
    names = [it["name"] for it in items if isinstance(it, dict) and isinstance(it.get("name"), str)]
    raise ValueError(f"{where}: no item named {sel!r}" + (f"; names: {', '.join(names)}" if names else ""))


def resolve_override(data: Any, path: str) -> tuple[str, Callable[[Any, Any], None]]:
    """Check ``path`` against arch ``data``; return its canonical form and a setter ``(data, value)``.

    Raises ValueError (no file or grid key: the caller adds them) for paths that do not exist.
    """
    segs = _parse_path(path)
    cur = data
    canon = ""
    steps: list[str | int] = []
    for n, seg in enumerate(segs):
        last = n == len(segs) - 1
        where = canon or "the arch"
        if isinstance(seg, tuple):
            if not isinstance(cur, list):
                raise ValueError(f"{where} is not a list; [{seg[0]}] does not apply")
            i, shown = _select(cur, seg[0], canon)
            steps.append(i)
            canon += f"[{shown}]"
            cur = cur[i]
            continue
        if not isinstance(cur, dict):
            kind = "a list" if isinstance(cur, list) else "a value"
            raise ValueError(f"{where} is {kind}, not a mapping; .{seg} does not apply")
        if seg not in cur and not (last and (not steps or steps[0] in _STRICT_SECTIONS)):
            # a new last key is allowed only where the arch loader rejects unknown keys itself
            keys = ", ".join(sorted(map(str, cur))) or "none"
            raise ValueError(f"{canon + '.' if canon else ''}{seg}: no such key in the arch (keys here: {keys})")
        steps.append(seg)
        canon += f".{seg}" if canon else seg
        cur = cur.get(seg)

    def setter(target: Any, value: Any) -> None:
        node = target
        for s in steps[:-1]:
            node = node[s]
        node[steps[-1]] = copy.deepcopy(value)

    return canon, setter


# ---------------------------------------------------------------------------------------- grid loading
def _resolve_file(entry: str, grid_dir: Path, finder: Callable[[str], Path]) -> Path:
    if entry.endswith((".yaml", ".yml")):
        for cand in (grid_dir / entry, Path(entry)):
            if cand.is_file():
                return cand
    return finder(entry)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(archspecs.ROOT.parent))
    except ValueError:
        return str(path)


def _str_list(node: Node, key: str, default: Any = ...) -> list[str]:
    v = node.raw(key, default)
    if not isinstance(v, list) or not v or not all(isinstance(x, str) and x for x in v):
        raise node.error(key, f"expected a non-empty list of names, got {v!r}")
    _no_duplicates(node, key, v)
    return v


def _no_duplicates(node: Node, key: str, values: list) -> None:
    seen: list[str] = []
    for v in values:
        c = _canonical(v)
        if c in seen:
            raise node.error(key, f"value {v!r} is listed twice")
        seen.append(c)


def _read_overrides(node: Node, key: str) -> list[tuple[str, list[Any], str]]:
    """``(path as written, values, grid key path for errors)`` for each override."""
    ov = node.child(key, None)
    if ov is None:
        return []
    out = []
    for path in ov.keys():  # noqa: SIM118 - Node has keys() but no __iter__
        values = ov.raw(path)
        if not isinstance(values, list) or not values:
            raise ov.error(path, f"expected a non-empty list of values, got {values!r}")
        _no_duplicates(ov, path, values)
        out.append((path, values, ov.where(path)))
    ov.done()
    return out


def _validate_arch(data: Any, file: str) -> None:
    """Build the arch (and, for an IMC arch, its crossbar spec and default profile) or raise SpecError."""
    arch = arch_from_dict(data, file)
    if arch.extra("imc") is not None:
        from costmodel.imc import imc_spec, resolve_options

        try:
            imc_spec(arch)
            resolve_options(arch)
        except (ValueError, KeyError) as exc:
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            raise SpecError(msg if msg.startswith(file) else f"{file}: {msg}") from None


def _arch_combos(base: Any, arch_file: str, overrides: list[tuple[str, list[Any], str]]
                 ) -> Iterator[tuple[tuple[tuple[str, Any], ...], Any]]:
    """Every combination of override values, validated: ``(canonical (path, value) pairs, arch data)``."""
    resolved = []
    seen: dict[str, str] = {}
    for path, values, where in overrides:
        try:
            canon, setter = resolve_override(base, path)
        except ValueError as exc:
            raise SpecError(f"{where}: {exc} ({arch_file})") from None
        if canon in seen:
            raise SpecError(f"{where}: the same arch key as {seen[canon]}")
        seen[canon] = where
        for value in values:  # one at a time first, so a bad value is blamed on its own grid key
            data = copy.deepcopy(base)
            setter(data, value)
            try:
                _validate_arch(data, arch_file)
            except SpecError as exc:
                raise SpecError(f"{where}: value {value!r}: {exc}") from None
        resolved.append((canon, setter, values))
    for combo in itertools.product(*(vals for _, _, vals in resolved)):
        data = copy.deepcopy(base)
        for (_, setter, _), value in zip(resolved, combo, strict=True):
            setter(data, value)
        pairs = tuple((canon, value) for (canon, _, _), value in zip(resolved, combo, strict=True))
        try:
            _validate_arch(data, arch_file)
        except SpecError as exc:
            raise SpecError(f"{arch_file} with overrides {dict(pairs)}: {exc}") from None
        yield pairs, data


def load_grid(path: str | Path) -> Grid:
    """Read, validate and expand a grid file; errors are :class:`SpecError` naming file and key."""
    path = Path(path)
    shown = str(path)
    root = Node(load_yaml(path), shown)
    grid_dir = path.parent

    archs_raw = root.raw("archs")
    if not isinstance(archs_raw, list) or not archs_raw:
        raise root.error("archs", f"expected a non-empty list, got {archs_raw!r}")
    global_ov = _read_overrides(root, "overrides")
    networks = _str_list(root, "networks")
    t_raw = root.raw("T", None)
    if t_raw is not None:
        if not isinstance(t_raw, list) or not t_raw or not all(
                isinstance(t, int) and not isinstance(t, bool) and t >= 1 for t in t_raw):
            raise root.error("T", f"expected a non-empty list of positive integers, got {t_raw!r}")
        _no_duplicates(root, "T", t_raw)
    flows = _str_list(root, "dataflows", ["os"])
    for f in flows:
        if f != BEST and f not in DATAFLOWS:
            raise root.error("dataflows", f"unknown dataflow {f!r}; expected one of {', '.join(DATAFLOWS)}, {BEST}")
    objectives = _str_list(root, "objectives", ["energy"])
    for o in objectives:
        if o not in OBJECTIVES:
            raise root.error("objectives", f"unknown objective {o!r}; expected one of {', '.join(OBJECTIVES)}")

    # networks: data, file shown in errors, and default T
    nets: list[tuple[str, Any, str, str, list[int]]] = []
    for i, entry in enumerate(networks):
        try:
            npath = _resolve_file(entry, grid_dir, archspecs.network_path)
        except FileNotFoundError as exc:
            raise root.error(f"networks[{i}]", str(exc)) from None
        nfile = _shown(npath)
        ndata = load_yaml(npath)
        net = network_from_data(ndata, nfile)  # validate once here; workers rebuild it from the data
        nets.append((entry, ndata, nfile, data_digest(ndata), list(t_raw) if t_raw is not None else [net.timesteps]))

    tasks: list[Task] = []
    keys: dict[str, int] = {}
    for i, entry in enumerate(archs_raw):
        if isinstance(entry, str):
            name, own_ov = entry, []
        else:
            an = Node(entry, shown, f"archs[{i}]")
            name = an.str("arch")
            own_ov = _read_overrides(an, "overrides")
            an.done()
        try:
            apath = _resolve_file(name, grid_dir, archspecs.arch_path)
        except FileNotFoundError as exc:
            raise root.error(f"archs[{i}]", str(exc)) from None
        afile = _shown(apath)
        base = load_yaml(apath)
        _validate_arch(base, afile)  # the unmodified arch must load too
        # an IMC arch (imc: section) keeps its weights in crossbars: no loop-nest dataflow, one point
        arch_flows = [IMC] if isinstance(base, dict) and "imc" in base else flows
        for pairs, adata in _arch_combos(base, afile, global_ov + own_ov):
            adigest = data_digest(adata)
            for nentry, ndata, nfile, ndigest, ts in nets:
                for t, flow in itertools.product(ts, arch_flows):
                    for obj in objectives if flow == BEST else [None]:
                        pt = Point(arch=name, overrides=pairs, network=nentry, T=t, dataflow=flow, objective=obj)
                        key = point_key(pt, adigest, ndigest)
                        if key in keys:
                            raise root.error(f"archs[{i}]", f"point {_canonical(pt.params())} is in the grid twice")
                        keys[key] = i
                        tasks.append(Task(key=key, point=pt, arch_data=adata, arch_file=afile,
                                          network_data=ndata, network_file=nfile))
    root.done()
    return Grid(file=shown, tasks=tuple(tasks))


# ---------------------------------------------------------------------------------------- one point
def _mapper(arch: Any, flow: str, objective: str | None):  # noqa: ANN202
    if flow != BEST:
        f = dataflow(flow)
        return lambda layer: heuristic_mapping(arch, layer, f)
    try:
        from mappers.search import best_mapping_fn
    except ImportError as exc:
        raise RuntimeError(f"dataflow best needs mappers.search.best_mapping_fn, which this installation "
                           f"lacks ({exc})") from None
    params = inspect.signature(best_mapping_fn).parameters
    kwargs: dict[str, Any] = {"quiet": True}
    if "workers" in params:  # the sweep is parallel across points: one solver thread per point
        kwargs["workers"] = 1
    for name in ("objective_name", "objective"):
        if name in params:
            kwargs[name] = objective or "energy"
            break
    else:
        if objective not in (None, "energy"):
            raise RuntimeError(f"mappers.search.best_mapping_fn takes no objective; cannot map for {objective}")
    return best_mapping_fn(arch, **kwargs)


def evaluate_point(task: Task) -> dict[str, Any]:
    """Evaluate one point; never raises. The record: key, parameters, status, then results or error.

    Top-level and free of global state, so a process pool or a Dask worker can run it.
    """
    t0 = time.perf_counter()
    p = task.point
    rec: dict[str, Any] = {"point": task.key, **p.params()}
    try:
        arch = arch_from_dict(task.arch_data, task.arch_file)
        net = network_from_data(task.network_data, task.network_file)
        if net.timesteps != p.T:
            net = net.with_timesteps(p.T)
        if p.dataflow == IMC:
            from costmodel.imc import evaluate_network_imc

            result = evaluate_network_imc(arch, net)
        elif arch.extra("imc") is not None:
            raise ValueError(f"arch {arch.name} is an IMC arch: dataflow {p.dataflow} does not apply")
        else:
            result = evaluate_network(arch, net, _mapper(arch, p.dataflow, p.objective),
                                      method=p.dataflow if p.objective is None else f"{p.dataflow} ({p.objective})")
        d = result.to_dict()
        rec["status"] = "ok"
        rec["arch_name"] = d["arch"]
        rec["network_name"] = d["network"]
        rec.update({k: d[k] for k in _RESULT_KEYS})
        if "imc" in d:  # the IMC summary: profile, tiles, PEs, area breakdown
            rec["imc"] = d["imc"]
        rec["layers"] = [{k: lr[k] for k in ("name", "kind", "total_energy_pj", "cycles", "t_position")}
                         for lr in d["layers"]]
    except Exception as exc:  # a failed point is a record, not the end of the sweep
        rec["status"] = "failed"
        rec["error"] = f"{type(exc).__name__}: {exc}"
    rec["wall_s"] = round(time.perf_counter() - t0, 6)
    return rec


def probe_worker() -> str:
    """Run on a remote worker before a sweep: proves it can import spikeloop; returns its version."""
    import spikeloop

    return spikeloop.__version__


# ---------------------------------------------------------------------------------------- results file
def read_records(path: str | Path) -> tuple[list[dict[str, Any]], int]:
    """Complete, parseable records of a results file and the number of bad lines (truncated, corrupt)."""
    p = Path(path)
    if not p.exists():
        return [], 0
    records, bad = [], 0
    with p.open("rb") as fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                bad += 1  # a truncated last line
                continue
            try:
                rec = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                bad += 1
                continue
            if isinstance(rec, dict) and isinstance(rec.get("point"), str):
                records.append(rec)
            else:
                bad += 1
    return records, bad


def _repair(path: Path, keep: Callable[[dict[str, Any]], bool]) -> tuple[dict[str, dict[str, Any]], int]:
    """Rewrite ``path`` (atomically) without bad lines, duplicates and records ``keep`` rejects.

    Returns the kept records by key and the number of lines removed. The file is only rewritten
    when something is removed.
    """
    records, bad = read_records(path)
    kept: dict[str, dict[str, Any]] = {}
    for rec in records:
        if rec["point"] not in kept and keep(rec):
            kept[rec["point"]] = rec
    removed = bad + len(records) - len(kept)
    if removed:
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w") as fh:
            for rec in kept.values():
                fh.write(json.dumps(rec) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    return kept, removed


def _lock(fh: TextIO, path: Path) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        return
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise RuntimeError(f"{path}: another sweep is writing to this file") from None


class _Progress:
    """tqdm on stderr when installed, else a plain counter line; nothing when disabled."""

    def __init__(self, total: int, enabled: bool, desc: str = "sweep") -> None:
        self._bar = None
        self._plain = False
        self.total, self.n = total, 0
        if not enabled or total == 0:
            return
        try:
            from tqdm import tqdm

            self._bar = tqdm(total=total, file=sys.stderr, desc=desc, unit="pt", dynamic_ncols=True)
        except ImportError:
            self._plain = True

    def update(self) -> None:
        self.n += 1
        if self._bar is not None:
            self._bar.update(1)
        elif self._plain and (self.n == self.total or self.n % max(1, self.total // 20) == 0):
            print(f"  {self.n}/{self.total} points", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def run_sweep(tasks: Sequence[Task], out: str | Path, executor: Executor, *, max_inflight: int = 8,
              progress: bool = False, retry_failed: bool = False,
              on_start: Callable[[int, int], None] | None = None) -> SweepSummary:
    """Evaluate the tasks not yet in ``out`` through ``executor``, appending one JSON line each.

    At most ``max_inflight`` tasks are submitted at a time (a million-point grid does not become a
    million futures). ``retry_failed`` first removes the failed records so those points run again.
    ``on_start(to_run, already_done)`` is called once the file has been read.
    """
    t0 = time.perf_counter()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.touch(exist_ok=True)
    guard = out.open("a")  # noqa: SIM115 - held (and locked) while the file is read, repaired, appended to
    try:
        _lock(guard, out)
        kept, repaired = _repair(out, lambda r: not (retry_failed and r.get("status") == "failed"))
        if repaired:  # the file was replaced: lock the new one
            guard.close()
            guard = out.open("a")  # noqa: SIM115
            _lock(guard, out)
        grid_keys = {t.key for t in tasks}
        todo = [t for t in tasks if t.key not in kept]
        already = len(tasks) - len(todo)
        foreign = sum(1 for k in kept if k not in grid_keys)
        if on_start:
            on_start(len(todo), already)
        counts, exec_errors, failures = _drain(todo, guard, executor, max_inflight, _Progress(len(todo), progress))
    finally:
        guard.close()
    evaluated, failed, not_run = counts
    return SweepSummary(points=len(tasks), already_done=already, evaluated=evaluated, failed=failed,
                        not_run=not_run, foreign=foreign, repaired=repaired, wall_s=time.perf_counter() - t0,
                        executor_errors=tuple(exec_errors), failures=tuple(failures))


def _drain(todo: Sequence[Task], fh: TextIO, executor: Executor, max_inflight: int, bar: _Progress
           ) -> tuple[tuple[int, int, int], list[str], list[str]]:
    """Submit, collect and append; returns (ok, failed, not run), executor errors, first failures."""
    evaluated = failed = not_run = 0
    exec_errors: list[str] = []
    failures: list[str] = []
    pending = iter(todo)
    inflight: dict[Future, Task] = {}
    broken = False
    try:
        while True:
            while not broken and len(inflight) < max_inflight:
                task = next(pending, None)
                if task is None:
                    break
                try:
                    inflight[executor.submit(evaluate_point, task)] = task
                except (BrokenProcessPool, RuntimeError) as exc:  # pool broken or shut down
                    broken = True
                    not_run += 1
                    exec_errors.append(f"{type(exc).__name__}: {exc}")
            if not inflight:
                break
            done, _ = wait(inflight, return_when=FIRST_COMPLETED)
            for fut in done:
                task = inflight.pop(fut)
                try:
                    rec = fut.result()
                except Exception as exc:  # the executor lost the task: not a property of the point
                    not_run += 1
                    exec_errors.append(f"{task.key}: {type(exc).__name__}: {exc}")
                    broken = broken or isinstance(exc, BrokenProcessPool)
                    bar.update()
                    continue
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
                if rec["status"] == "ok":
                    evaluated += 1
                else:
                    failed += 1
                    if len(failures) < 5:
                        failures.append(f"{_describe(rec)}: {rec.get('error')}")
                bar.update()
        not_run += sum(1 for _ in pending)
    finally:
        for fut in inflight:
            fut.cancel()
        bar.close()
    return (evaluated, failed, not_run), exec_errors[:5], failures


def _describe(rec: dict[str, Any]) -> str:
    ov = ", ".join(f"{k}={_canonical(v)}" for k, v in (rec.get("overrides") or {}).items())
    obj = f" ({rec['objective']})" if rec.get("objective") else ""
    return (f"{rec.get('arch')}{' [' + ov + ']' if ov else ''} / {rec.get('network')} / T={rec.get('T')} / "
            f"{rec.get('dataflow')}{obj}")


# ---------------------------------------------------------------------------------------- Pareto front
def pareto_mask(values: np.ndarray) -> np.ndarray:
    """Non-dominated rows of ``values`` (n x m, every column minimised).

    Row i is dominated when some row j is <= in every column and < in at least one; equal rows do
    not dominate each other.
    """
    v = np.asarray(values, dtype=float)
    keep = np.ones(len(v), dtype=bool)
    for i in range(len(v)):
        le = np.all(v <= v[i], axis=1)
        lt = np.any(v < v[i], axis=1)
        if np.any(le & lt):
            keep[i] = False
    return keep


@dataclass(frozen=True, slots=True, kw_only=True)
class ParetoGroup:
    """The Pareto front of the points of one workload (network, T)."""

    network: str
    T: int
    records: tuple[dict[str, Any], ...]  # every ok record of the workload
    front: tuple[dict[str, Any], ...]  # the non-dominated ones, by increasing energy


def pareto_fronts(records: Iterable[dict[str, Any]]) -> list[ParetoGroup]:
    """Energy / latency / area Pareto front per workload; failed records are left out.

    Points of different networks or T run different workloads, so they are not compared.
    """
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for rec in records:
        if rec.get("status") != "ok":
            continue
        groups.setdefault((str(rec.get("network")), int(rec.get("T", 0))), []).append(rec)
    out = []
    for (net, t), recs in sorted(groups.items()):
        vals = np.array([[float(r[k]) for k, *_ in PARETO_METRICS] for r in recs])
        mask = pareto_mask(vals)
        front = sorted((r for r, m in zip(recs, mask, strict=True) if m), key=lambda r: r[PARETO_METRICS[0][0]])
        out.append(ParetoGroup(network=net, T=t, records=tuple(recs), front=tuple(front)))
    return out


def render_pareto(groups: Sequence[ParetoGroup]) -> str:
    """One Markdown table per workload; columns only for the parameters that vary."""
    from spikeloop.formatting import si, table

    def flow(r: dict[str, Any]) -> str:
        return r["dataflow"] + (f" ({r['objective']})" if r.get("objective") else "")

    parts = []
    for g in groups:
        paths = list(dict.fromkeys(k for r in g.records for k in (r.get("overrides") or {})))
        cols: list[tuple[str, Callable[[dict[str, Any]], str]]] = [("arch", lambda r: str(r["arch"]))]
        cols += [(path, lambda r, path=path: _canonical((r.get("overrides") or {}).get(path, "-")))
                 for path in paths]
        cols += [("dataflow", flow)]
        varying = [(h, f) for h, f in cols if len({f(r) for r in g.records}) > 1] or cols[:1]
        rows = [[f(r) for _, f in varying] + [si(r["total_energy_pj"] * 1e-12, "J"), si(r["latency_s"], "s"),
                                              f"{r['area_mm2']:.4g}", r["point"]] for r in g.front]
        parts.append(f"{g.network}, T = {g.T}: {len(g.front)} of {len(g.records)} points on the "
                     f"energy / latency / area Pareto front\n\n"
                     + table([h for h, _ in varying] + ["energy", "latency", "area mm²", "point"], rows))
    return "\n\n".join(parts) if parts else "no successful points"


def plot_pareto(groups: Sequence[ParetoGroup], png: str | Path, *, title: str = "") -> None:
    """Two panels, latency vs energy and area vs energy: every point grey, the front coloured."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (ek, _, eu, es), (lk, _, lu, ls), (ak, _, au, as_) = PARETO_METRICS
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for n, g in enumerate(groups):
        c = colors[n % len(colors)]
        allx = [r[ek] * es for r in g.records]
        frx = [r[ek] * es for r in g.front]
        for ax, (k, s) in zip(axes, ((lk, ls), (ak, as_)), strict=True):
            ax.scatter(allx, [r[k] * s for r in g.records], s=10, color="0.75", zorder=1)
            ax.scatter(frx, [r[k] * s for r in g.front], s=28, color=c, edgecolors="k", linewidths=0.5, zorder=3,
                       label=f"{g.network}, T={g.T} ({len(g.front)}/{len(g.records)})")
    for ax, (label, unit) in zip(axes, (("latency", lu), ("area", au)), strict=True):
        ax.set_xlabel(f"energy per inference [{eu}]")
        ax.set_ylabel(f"{label} [{unit}]")
        ax.grid(True, alpha=0.3)
        for axis, getter in (("x", ax.get_xlim), ("y", ax.get_ylim)):
            lo, hi = getter()
            if lo > 0 and hi / lo > 100:
                (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    axes[0].set_title("latency vs energy")
    axes[1].set_title("area vs energy")
    axes[0].legend(fontsize=8, title="front (coloured) per workload", title_fontsize=8)
    fig.suptitle(title or "Energy / latency / area Pareto front (grey: dominated points)")
    fig.savefig(png, dpi=130)
    plt.close(fig)


__all__ = ["Grid", "Point", "Task", "SweepSummary", "ParetoGroup", "load_grid", "evaluate_point", "run_sweep",
           "read_records", "point_key", "data_digest", "resolve_override", "pareto_mask", "pareto_fronts",
           "render_pareto", "plot_pareto", "probe_worker"]
