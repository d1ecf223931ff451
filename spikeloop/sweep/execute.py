"""Running a sweep: :func:`evaluate_point` (one task, never raises) through any ``Executor``.

:func:`run_sweep` pushes the tasks not yet in the results file through a local process pool or a
Dask ``Client.get_executor()``, at most ``max_inflight`` at a time, and appends one JSON line per
point as it finishes, flushed at once. A point that cannot be evaluated, or whose result has a NaN or
infinite number, comes back as a ``failed`` record with the reason; a task the executor loses (a
worker died) is not recorded, so a rerun retries it.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from costmodel.arch import Arch, arch_from_dict
from costmodel.network import network_from_data
from costmodel.network_eval import NetworkResult
from spikeloop.engine import run_network
from spikeloop.sweep.grid import DEFAULT, Task, canonical
from spikeloop.sweep.results import Record, lock, non_finite, repair

_RESULT_KEYS = (
    "method",
    "total_energy_pj",
    "cycles",
    "latency_s",
    "area_mm2",
    "edp_pj_s",
    "macs",
    "accumulations",
    "lif_ops",
    "utilization",
    "breakdown_pj",
)
_LAYER_KEYS = ("name", "kind", "total_energy_pj", "cycles", "t_position")


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


# ---------------------------------------------------------------------------------------- one point
def _evaluate(task: Task) -> NetworkResult:
    p = task.point
    arch: Arch = arch_from_dict(task.arch_data, task.arch_file)
    net = network_from_data(task.network_data, task.network_file)
    if net.timesteps != p.T:
        net = net.with_timesteps(p.T)
    # the sweep is parallel across points: one solver thread per point
    return run_network(
        arch, net, dataflow=None if p.dataflow == DEFAULT else p.dataflow, objective=p.objective or "energy", workers=1
    )


def evaluate_point(task: Task) -> Record:
    """Evaluate one point; never raises. The record: key, parameters, status, then results or error.

    Top-level and free of global state, so a process pool or a Dask worker can run it. A result with a
    NaN or infinite number is a failed point (the error names the number), never an ``ok`` one.
    """
    t0 = time.perf_counter()
    rec: Record = {"point": task.key, **task.point.params()}
    try:
        d = _evaluate(task).to_dict()
        results: Record = {"arch_name": d["arch"], "network_name": d["network"], **{k: d[k] for k in _RESULT_KEYS}}
        results["profile"] = d["profile"]
        results["estimates"] = d["estimates"]  # the resolved numbers of estimate: levels (reproducible)
        if d["sizing"] == "resident":  # the area of a resident-weight (crossbar) arch, by part
            results["area_breakdown_um2"] = d["area_breakdown_um2"]
        results["layers"] = [{k: lr[k] for k in _LAYER_KEYS} for lr in d["layers"]]
        bad = non_finite(results)
        if bad:
            raise ValueError(f"the model gave a non-finite number: {bad}")
        rec["status"] = "ok"
        rec.update(results)
    except Exception as exc:  # a failed point is a record, not the end of the sweep
        rec["status"] = "failed"
        rec["error"] = f"{type(exc).__name__}: {exc}"
    rec["wall_s"] = round(time.perf_counter() - t0, 6)
    return rec


def probe_worker() -> str:
    """Run on a remote worker before a sweep: proves it can import spikeloop; returns its version."""
    import spikeloop

    return spikeloop.__version__


# ---------------------------------------------------------------------------------------- progress
class _Progress:
    """tqdm on stderr when installed, else a plain counter line; nothing when disabled."""

    def __init__(self, total: int, enabled: bool, desc: str = "sweep") -> None:
        self._bar: Any = None
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


# ---------------------------------------------------------------------------------------- the loop
@dataclass
class _Tally:
    evaluated: int = 0
    failed: int = 0
    not_run: int = 0
    exec_errors: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def record(self, rec: Record) -> None:
        if rec["status"] == "ok":
            self.evaluated += 1
        else:
            self.failed += 1
            if len(self.failures) < 5:
                self.failures.append(f"{describe(rec)}: {rec.get('error')}")

    def lost(self, what: str, exc: BaseException) -> None:
        self.not_run += 1
        if len(self.exec_errors) < 5:
            self.exec_errors.append(f"{what}{type(exc).__name__}: {exc}")


def describe(rec: Record) -> str:
    """A point in words: arch [overrides] / network / T / dataflow (objective)."""
    ov = ", ".join(f"{k}={canonical(v)}" for k, v in (rec.get("overrides") or {}).items())
    obj = f" ({rec['objective']})" if rec.get("objective") else ""
    return (
        f"{rec.get('arch')}{' [' + ov + ']' if ov else ''} / {rec.get('network')} / T={rec.get('T')} / "
        f"{rec.get('dataflow')}{obj}"
    )


def _drain(todo: Sequence[Task], fh: TextIO, executor: Executor, max_inflight: int, bar: _Progress) -> _Tally:
    """Submit, collect and append one line per finished point."""
    tally = _Tally()
    pending = iter(todo)
    inflight: dict[Future[Record], Task] = {}
    broken = False
    try:
        while True:
            while not broken and len(inflight) < max_inflight and (task := next(pending, None)) is not None:
                try:
                    inflight[executor.submit(evaluate_point, task)] = task
                except (BrokenProcessPool, RuntimeError) as exc:  # pool broken or shut down
                    broken = True
                    tally.lost("", exc)
            if not inflight:
                break
            done, _ = wait(inflight, return_when=FIRST_COMPLETED)
            for fut in done:
                task = inflight.pop(fut)
                bar.update()
                try:
                    rec = fut.result()
                except Exception as exc:  # the executor lost the task: not a property of the point
                    tally.lost(f"{task.key}: ", exc)
                    broken = broken or isinstance(exc, BrokenProcessPool)
                    continue
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
                tally.record(rec)
        tally.not_run += sum(1 for _ in pending)
    finally:
        for fut in inflight:
            fut.cancel()
        bar.close()
    return tally


def run_sweep(
    tasks: Sequence[Task],
    out: str | Path,
    executor: Executor,
    *,
    max_inflight: int = 8,
    progress: bool = False,
    retry_failed: bool = False,
    on_start: Callable[[int, int], None] | None = None,
) -> SweepSummary:
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
        lock(guard, out)
        kept, repaired = repair(out, lambda r: not (retry_failed and r.get("status") == "failed"))
        if repaired:  # the file was replaced: lock the new one
            guard.close()
            guard = out.open("a")  # noqa: SIM115
            lock(guard, out)
        grid_keys = {t.key for t in tasks}
        todo = [t for t in tasks if t.key not in kept]
        already = len(tasks) - len(todo)
        foreign = sum(1 for k in kept if k not in grid_keys)
        if on_start:
            on_start(len(todo), already)
        tally = _drain(todo, guard, executor, max_inflight, _Progress(len(todo), progress))
    finally:
        guard.close()
    return SweepSummary(
        points=len(tasks),
        already_done=already,
        evaluated=tally.evaluated,
        failed=tally.failed,
        not_run=tally.not_run,
        foreign=foreign,
        repaired=repaired,
        wall_s=time.perf_counter() - t0,
        executor_errors=tuple(tally.exec_errors),
        failures=tuple(tally.failures),
    )
