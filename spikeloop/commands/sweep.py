"""``spikeloop sweep``: design-space sweeps through a local process pool or a Dask cluster.

``spikeloop sweep --grid grid.yaml [--out results.jsonl] [--workers N] [--scheduler tcp://HOST:PORT]``
evaluates every point of the grid (see :mod:`spikeloop.sweep`) and appends one JSON line per point;
rerunning the same command resumes. ``spikeloop sweep --pareto results.jsonl [--axes energy,latency,area]
[--group network,T] [--png FILE]`` prints and plots the Pareto front of a results file, its points numbered and
labelled by the parameters that vary (arch, overrides, dataflow, T).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from spikeloop.cli import UserError
from spikeloop.cliargs import check_output, output_file, positive_float, positive_int
from spikeloop.sweep.workers import local_executor

__all__ = ["dask_executor", "local_executor", "pareto", "register", "report", "run"]


def _say(quiet: bool, msg: str) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


LOCAL_DASK = "local"  # --scheduler local: a Dask LocalCluster started (and ended) by the sweep


def local_dask_cluster(workers: int) -> Any:  # noqa: ANN401 - distributed.LocalCluster
    """A Dask ``LocalCluster`` of ``workers`` single-threaded worker processes on this machine
    (``--scheduler local``). Its workers end when this process ends, even by SIGKILL: each nanny's worker
    process watches a pipe from its parent and exits when it closes (``tests/test_reliability.py``)."""
    try:
        from distributed import LocalCluster
    except ImportError:
        raise UserError(
            '--scheduler needs Dask: pip install "spikeloop[dask]" (or pip install "dask[distributed]")'
        ) from None
    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )


def dask_executor(address: str, *, timeout_s: float = 30.0) -> tuple[Executor, Any, int]:
    """``(executor, client, worker threads)`` for a running Dask scheduler; checks the workers first."""
    try:
        from distributed import Client
    except ImportError:
        raise UserError(
            '--scheduler needs Dask: pip install "spikeloop[dask]" (or pip install "dask[distributed]")'
        ) from None
    import spikeloop
    from spikeloop.sweep.execute import probe_worker

    try:
        client = Client(address, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError) as exc:
        raise UserError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        client.wait_for_workers(1, timeout=timeout_s)
        versions = client.run(probe_worker)
    except Exception as exc:
        client.close()
        raise UserError(
            f"Dask workers at {address} cannot run spikeloop (install it on every worker): {type(exc).__name__}: {exc}"
        ) from None
    odd = {w: v for w, v in versions.items() if v != spikeloop.__version__}
    if odd:
        client.close()
        raise UserError(
            f"Dask workers run spikeloop {sorted(set(odd.values()))}, this client "
            f"{spikeloop.__version__}: results would not be comparable"
        )
    threads = sum(client.nthreads().values())
    return client.get_executor(), client, threads


def run(
    grid_file: str,
    out: str,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    quiet: bool = False,
    retry_failed: bool = False,
    connect_timeout_s: float = 30.0,
):  # noqa: ANN201
    """The Python face of ``spikeloop sweep --grid``: returns the :class:`SweepSummary`."""
    from spikeloop.sweep.execute import run_sweep
    from spikeloop.sweep.grid import load_grid

    grid = load_grid(grid_file)
    client = cluster = None
    if scheduler == LOCAL_DASK:
        cluster = local_dask_cluster(workers or _cpus())
        executor, client, slots = dask_executor(cluster.scheduler_address, timeout_s=connect_timeout_s)
        where = f"Dask LocalCluster ({slots} worker processes)"
    elif scheduler:
        executor, client, slots = dask_executor(scheduler, timeout_s=connect_timeout_s)
        where = f"Dask scheduler {scheduler} ({slots} worker threads)"
    else:
        slots = workers or _cpus()
        executor = local_executor(slots)
        where = f"local process pool ({slots} workers)"

    def started(todo: int, done: int) -> None:
        _say(quiet, f"{len(grid.tasks)} points in {grid.file}; {done} already in {out}; {todo} to run on the {where}")

    try:
        summary = run_sweep(
            grid.tasks,
            out,
            executor,
            max_inflight=max(4 * slots, 8),
            progress=not quiet,
            retry_failed=retry_failed,
            on_start=started,
        )
    except RuntimeError as exc:  # the output file is locked by another sweep
        raise UserError(str(exc)) from None
    finally:
        if client is not None:
            client.close()
        else:
            executor.shutdown(wait=True, cancel_futures=True)
        if cluster is not None:
            cluster.close()
    return summary


def report(summary: Any, out: str) -> str:  # noqa: ANN401
    s = summary
    plural = "s" if s.points != 1 else ""
    lines = [
        f"{s.points} point{plural}: {s.already_done} already done, {s.evaluated} evaluated, {s.failed} failed"
        + (f", {s.not_run} not run" if s.not_run else "")
        + f" in {s.wall_s:.1f} s"
        + (f" ({s.points_per_s:.2f} points/s)" if s.evaluated + s.failed else "")
        + f" -> {out}"
    ]
    if s.repaired:
        lines.append(f"removed {s.repaired} truncated, corrupt or duplicate line(s) from {out} before resuming")
    if s.foreign:
        lines.append(f"{s.foreign} record(s) in {out} are not points of this grid (kept)")
    for f in s.failures:
        lines.append(f"failed: {f}")
    if s.failed:
        lines.append("failed points are recorded; rerun with --retry-failed to run them again")
    for e in s.executor_errors:
        lines.append(f"executor error: {e}")
    if s.not_run:
        lines.append("points not run are not recorded: rerun the same command to resume")
    return "\n".join(lines)


def pareto(
    results: str,
    png: str | None,
    *,
    quiet: bool = False,
    axes: str | Sequence[str] = "energy,latency,area",
    group: str | Sequence[str] = "network,T",
) -> str:
    """Print text of ``spikeloop sweep --pareto``; writes the plot to ``png``. ``axes``: the metrics minimised
    together (two or more of energy, latency, area, edp); ``group``: the record fields that separate fronts (every
    other parameter, e.g. T with ``group="network"``, is a design axis). Failed points and points with non-finite
    numbers are left out; a malformed ``ok`` record is an error naming the file and line."""
    from spikeloop.sweep.pareto import (
        pareto_fronts,
        parse_axes,
        parse_group,
        plot_pareto,
        read_front_records,
        render_pareto,
    )

    try:
        metrics = parse_axes(axes if isinstance(axes, str) else ",".join(axes))
        fields = parse_group(group if isinstance(group, str) else ",".join(group))
    except ValueError as exc:
        raise UserError(f"--axes/--group: {exc}") from None
    if not Path(results).is_file():
        raise UserError(f"{results}: no such results file")
    records, left_out, bad = read_front_records(results, metrics)
    groups = pareto_fronts(records, axes=metrics, group=fields)
    if not groups:
        raise UserError(f"{results}: no successful points to compare")
    text = render_pareto(groups)
    notes = []
    if left_out:
        notes.append(f"{left_out} failed or non-finite point(s) left out")
    if bad:
        notes.append(f"{bad} unreadable line(s) skipped")
    if notes:
        text += "\n\n" + "; ".join(notes)
    if png:
        names = " / ".join(m.value for m in metrics)
        plot_pareto(
            groups,
            png,
            title=f"{names[0].upper()}{names[1:]} Pareto front of {Path(results).name} "
            f"(per {', '.join(f.value for f in fields)}; grey: dominated)",
        )
        _say(quiet, f"wrote {png}")
    return text


def _axes_arg(text: str) -> str:
    from spikeloop.sweep.pareto import parse_axes

    try:
        parse_axes(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _group_arg(text: str) -> str:
    from spikeloop.sweep.pareto import parse_group

    try:
        parse_group(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _cmd(args: argparse.Namespace) -> int:
    if args.pareto:
        if args.grid or args.scheduler or args.workers or args.retry_failed or args.out:
            raise UserError("--pareto takes only a results file, --axes, --group and --png")
        png = args.png or str(Path(args.pareto).with_suffix("")) + "-pareto.png"
        check_output("--png", "file", png)
        print(
            pareto(
                args.pareto,
                png,
                quiet=args.quiet,
                axes=args.axes or "energy,latency,area",
                group=args.group or "network,T",
            )
        )
        return 0
    if not args.grid:
        raise UserError("give --grid GRID.yaml (run a sweep) or --pareto RESULTS.jsonl (its Pareto front)")
    for flag, value in (("--png", args.png), ("--axes", args.axes), ("--group", args.group)):
        if value:
            raise UserError(f"{flag} goes with --pareto")
    if args.workers and args.scheduler and args.scheduler != LOCAL_DASK:
        raise UserError("--workers is for the local pool; a Dask cluster's size is set where it is started")
    out = args.out or Path(args.grid).stem + ".jsonl"
    check_output("--out", "file", out)
    summary = run(
        args.grid,
        out,
        workers=args.workers,
        scheduler=args.scheduler,
        quiet=args.quiet,
        retry_failed=args.retry_failed,
        connect_timeout_s=args.connect_timeout,
    )
    print(report(summary, out))
    return 1 if summary.not_run else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="design-space sweep over archs, overrides, networks, T and dataflows; Pareto fronts",
        description="Evaluate every point of a grid through a local process pool (default) or a Dask cluster "
        "(--scheduler), one JSON line per point; rerunning resumes. --pareto prints and plots the "
        "Pareto front of a results file (--axes: the metrics; --group: the fields that separate fronts), its "
        "points numbered and labelled by the parameters that vary.",
    )
    p.add_argument("--grid", default=None, help="grid YAML (see archspecs/grids/example.yaml)")
    p.add_argument(
        "--out", type=output_file, default=None, help="results JSON-lines file (default: GRID-stem.jsonl here)"
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="local worker processes (default: the CPUs this process may use)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="run on this Dask distributed scheduler instead of a local pool; 'local' starts a Dask "
        "LocalCluster of --workers processes here",
    )
    p.add_argument(
        "--connect-timeout",
        type=positive_float,
        default=30.0,
        metavar="S",
        help="with --scheduler: seconds to wait for the scheduler and a first worker (default 30)",
    )
    p.add_argument("--retry-failed", action="store_true", help="run points recorded as failed again")
    p.add_argument("--pareto", default=None, metavar="RESULTS.jsonl", help="print and plot the Pareto front")
    p.add_argument(
        "--png", type=output_file, default=None, help="with --pareto: plot file (default: RESULTS-pareto.png)"
    )
    p.add_argument(
        "--axes",
        type=_axes_arg,
        default=None,
        metavar="M,M[,...]",
        help="with --pareto: metrics minimised together, two or more of energy, latency, area, edp "
        "(default energy,latency,area)",
    )
    p.add_argument(
        "--group",
        type=_group_arg,
        default=None,
        metavar="F[,...]",
        help="with --pareto: fields that separate fronts, of network, T, dataflow, arch (default network,T); "
        "the others are design axes: --group network lets T compete on one front",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_cmd)
