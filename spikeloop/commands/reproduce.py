"""``spikeloop reproduce [all|sata|spikesim|estimate|accuracy]``: the paper's numbers beside ours.

Each experiment is a module of :mod:`spikeloop.experiments` with ``rows(quiet=True) -> list[Row]``.
:func:`gather_rows` collects them; experiments whose module is not there are skipped with a note.
Output: a Markdown table on stdout, the wall time of every step on stderr (each experiment, the figures, the
report files), and the report folder (``--out DIR``, default ``spikeloop-report/``): ``report.md``,
``report.html`` (the same, self-contained, sortable tables), ``rows.json``, ``rows.csv``, ``timings.json`` (step
-> wall seconds, plus ``total``) and PNG figures (:mod:`spikeloop.report`, :mod:`spikeloop.figures`).
``--json FILE`` also writes the rows list (``id, paper, ours, unit, ratio, note, command``) to FILE.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path

from spikeloop.cliargs import output_dir, output_file
from spikeloop.formatting import table
from spikeloop.rows import Row

EXPERIMENTS = ("estimate", "sata", "spikesim", "accuracy", "versus")
CHOICES = ("all", *EXPERIMENTS)


def _load(name: str):  # noqa: ANN202 - a module or None
    try:
        return importlib.import_module(f"spikeloop.experiments.{name}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("spikeloop.experiments"):
            return None
        raise


def gather_rows(
    which: str = "all",
    quiet: bool = True,
    skipped: list[str] | None = None,
    timings: dict[str, float] | None = None,
    background: dict[str, float] | None = None,
) -> list[Row]:
    """Rows of one experiment or of all (in :data:`EXPERIMENTS` order). Absent modules are skipped and
    their names appended to ``skipped`` (if given). An experiment with ``start``/``finish`` (work in worker
    processes) is started first and collected after the others, so they run meanwhile. ``timings`` (if given)
    gets each experiment's wall seconds in this process, import included (for a started one: starting it and
    waiting for it), so the steps add up to the elapsed time; ``background`` (if given) gets a started
    experiment's seconds from its start to its rows."""
    from spikeloop.progress import Progress

    if which not in CHOICES:
        raise ValueError(f"unknown experiment {which!r}; expected one of {', '.join(CHOICES)}")
    names = EXPERIMENTS if which == "all" else (which,)
    spent: dict[str, float] = {}
    modules = {}
    handles = {}
    started: dict[str, float] = {}
    for name in names:
        start = time.perf_counter()
        module = _load(name)
        if module is None:
            if skipped is not None:
                skipped.append(name)
            continue
        modules[name] = module
        if hasattr(module, "start") and hasattr(module, "finish"):
            started[name] = time.perf_counter()
            handles[name] = module.start()
        spent[name] = time.perf_counter() - start
    got: dict[str, list[Row]] = {}
    order = [n for n in modules if n not in handles] + [n for n in modules if n in handles]
    with Progress(len(order), "reproduce", quiet=quiet) as bar:
        for name in order:
            bar.step(name)
            start = time.perf_counter()
            module = modules[name]
            got[name] = module.finish(handles[name]) if name in handles else module.rows(quiet=True)
            spent[name] += time.perf_counter() - start
            if name in started and background is not None:
                background[name] = time.perf_counter() - started[name]
    if timings is not None:
        timings.update((name, spent[name]) for name in modules)
    return [r for name in modules for r in got[name]]


def accuracy_sweep(rows: list[Row]) -> list[dict] | None:
    """The crossbar accuracy sweep rows behind the F6b figure, if the accuracy experiment ran (its
    sweep is cached, so this costs nothing more)."""
    if not any(r.id.startswith("f6b-") for r in rows):
        return None
    module = _load("accuracy")
    return module.cached_sweep() if module is not None and hasattr(module, "cached_sweep") else None


def write_report_folder(
    rows: list[Row], out: Path, skipped: list[str], timings: dict[str, float] | None = None
) -> list[Path]:
    """report.md, report.html, rows.json, rows.csv and the figures, all from ``rows``. With ``timings`` (step ->
    wall seconds of the experiments so far), the figures and the report writing are timed into it too, the report
    gets a timings section and ``timings.json`` is written last (with every step)."""
    from spikeloop.figures import draw_all
    from spikeloop.report import write_report, write_timings

    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    drawn, missing = draw_all(rows, out, accuracy_sweep(rows))
    if timings is not None:
        timings["figures"] = time.perf_counter() - start
    why = {name: f"spikeloop.experiments.{name} is not available" for name in skipped}
    start = time.perf_counter()
    written = write_report(
        rows, out, figures=drawn, missing=missing, skipped=why, timings=dict(timings) if timings is not None else None
    )
    if timings is not None:
        timings["report"] = time.perf_counter() - start
        write_timings(timings, out / "timings.json")
        written.append(out / "timings.json")
    return written


def seconds_since_process_start() -> float | None:
    """Wall seconds since this process started (interpreter start-up and imports included), from /proc on Linux;
    None elsewhere."""
    try:
        stat = Path("/proc/self/stat").read_text()
        start_ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22, starttime, in clock ticks after boot
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


def timings_line(timings: dict[str, float]) -> str:
    """``estimate 1.2 s, sata 9.8 s, ..., report 0.1 s; total 30.4 s``."""
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
    return f"{steps}; total {sum(timings.values()):.1f} s"


def _num(v: float | None, unit: str = "") -> str:
    if v is None:
        return "-"
    if unit == "%":
        return f"{v:.1f}"
    return f"{v:.3g}"


def render(rows: list[Row]) -> str:
    """The Markdown table: id, paper, ours, unit, ours / paper, note."""
    body = [
        [
            r.id,
            _num(r.paper, r.unit),
            _num(r.ours, r.unit),
            r.unit,
            f"{r.ratio:.3f}" if r.ratio is not None else "-",
            r.note,
        ]
        for r in rows
    ]
    return table(["id", "paper", "ours", "unit", "ours/paper", "note"], body)


def to_json(rows: list[Row]) -> str:
    return json.dumps([r.to_dict() for r in rows], indent=1)


def _cmd(args: argparse.Namespace) -> int:
    skipped: list[str] = []
    timings: dict[str, float] = {}
    startup = seconds_since_process_start()
    if startup is not None:
        timings["startup"] = startup  # interpreter, imports, arguments
    background: dict[str, float] = {}
    rows = gather_rows(args.which, quiet=args.quiet, skipped=skipped, timings=timings, background=background)
    for name in skipped:
        print(
            f"spikeloop reproduce: {name}: not available yet (no spikeloop.experiments.{name}); skipped",
            file=sys.stderr,
        )
    text = render(rows)
    print(text)
    if args.json:
        Path(args.json).write_text(to_json(rows))
        print(f"\nwrote {args.json}", file=sys.stderr)
    written = write_report_folder(rows, Path(args.out), skipped, timings)
    if not args.quiet:
        print(f"wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
        print(f"spikeloop reproduce: wall time: {timings_line(timings)}", file=sys.stderr)
        for name, seconds in background.items():
            print(
                f"spikeloop reproduce: {name} ran in worker processes from the start, {seconds:.1f} s to its rows "
                f"(its step above is the wait for them)",
                file=sys.stderr,
            )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reproduce",
        help="the paper's tables and figures beside our numbers",
        description="Reproduce the paper's numbers: each row gives the paper's value, ours, "
        "their ratio and why they differ.",
    )
    p.add_argument("which", nargs="?", default="all", choices=CHOICES, help="which experiment (default: all)")
    p.add_argument("--json", type=output_file, default=None, help="write the rows as a JSON list to this file")
    p.add_argument(
        "--out",
        type=output_dir,
        default="spikeloop-report",
        help="report folder: report.md, report.html, rows.json, rows.csv, timings.json, PNG figures "
        "(default: spikeloop-report)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_cmd)


__all__ = ["gather_rows", "render", "timings_line", "to_json", "register", "write_report_folder"]
