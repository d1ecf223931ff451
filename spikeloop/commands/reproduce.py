"""``spikeloop reproduce [all|sata|spikesim|estimate|accuracy]``: the paper's numbers beside ours.

Each experiment is a module of :mod:`spikeloop.experiments` with ``rows(quiet=True) -> list[Row]``.
:func:`gather_rows` collects them; experiments whose module is not there are skipped with a note.
Output: a Markdown table on stdout, and the report folder (``--out DIR``, default
``spikeloop-report/``): ``report.md``, ``rows.json``, ``rows.csv`` and PNG figures
(:mod:`spikeloop.report`, :mod:`spikeloop.figures`). ``--json FILE`` also writes the rows list
(``id, paper, ours, unit, ratio, note, command``) to FILE.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from spikeloop.cliargs import output_dir, output_file
from spikeloop.formatting import table
from spikeloop.rows import Row

EXPERIMENTS = ("estimate", "sata", "spikesim", "accuracy")
CHOICES = ("all", *EXPERIMENTS)


def _load(name: str):  # noqa: ANN202 - a module or None
    try:
        return importlib.import_module(f"spikeloop.experiments.{name}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("spikeloop.experiments"):
            return None
        raise


def gather_rows(which: str = "all", quiet: bool = True, skipped: list[str] | None = None) -> list[Row]:
    """Rows of one experiment or of all (in :data:`EXPERIMENTS` order). Absent modules are skipped and
    their names appended to ``skipped`` (if given)."""
    from spikeloop.progress import Progress

    if which not in CHOICES:
        raise ValueError(f"unknown experiment {which!r}; expected one of {', '.join(CHOICES)}")
    names = EXPERIMENTS if which == "all" else (which,)
    out: list[Row] = []
    with Progress(len(names), "reproduce", quiet=quiet) as bar:
        for name in names:
            bar.step(name)
            module = _load(name)
            if module is None:
                if skipped is not None:
                    skipped.append(name)
                continue
            out.extend(module.rows(quiet=True))
    return out


def accuracy_sweep(rows: list[Row]) -> list[dict] | None:
    """The crossbar accuracy sweep rows behind the F6b figure, if the accuracy experiment ran (its
    sweep is cached, so this costs nothing more)."""
    if not any(r.id.startswith("f6b-") for r in rows):
        return None
    module = _load("accuracy")
    return module.cached_sweep() if module is not None and hasattr(module, "cached_sweep") else None


def write_report_folder(rows: list[Row], out: Path, skipped: list[str]) -> list[Path]:
    """report.md, rows.json, rows.csv and the figures, all from ``rows``."""
    from spikeloop.figures import draw_all
    from spikeloop.report import write_report

    out.mkdir(parents=True, exist_ok=True)
    drawn, missing = draw_all(rows, out, accuracy_sweep(rows))
    why = {name: f"spikeloop.experiments.{name} is not available" for name in skipped}
    return write_report(rows, out, figures=drawn, missing=missing, skipped=why)


def _num(v: float | None, unit: str = "") -> str:
    if v is None:
        return "-"
    if unit == "%":
        return f"{v:.1f}"
    return f"{v:.3g}"


def render(rows: list[Row]) -> str:
    """The Markdown table: id, paper, ours, unit, ours / paper, note."""
    body = [[r.id, _num(r.paper, r.unit), _num(r.ours, r.unit), r.unit,
             f"{r.ratio:.3f}" if r.ratio is not None else "-", r.note] for r in rows]
    return table(["id", "paper", "ours", "unit", "ours/paper", "note"], body)


def to_json(rows: list[Row]) -> str:
    return json.dumps([r.to_dict() for r in rows], indent=1)


def _cmd(args: argparse.Namespace) -> int:
    skipped: list[str] = []
    rows = gather_rows(args.which, quiet=args.quiet, skipped=skipped)
    for name in skipped:
        print(f"spikeloop reproduce: {name}: not available yet (no spikeloop.experiments.{name}); skipped",
              file=sys.stderr)
    text = render(rows)
    print(text)
    if args.json:
        Path(args.json).write_text(to_json(rows))
        print(f"\nwrote {args.json}", file=sys.stderr)
    written = write_report_folder(rows, Path(args.out), skipped)
    if not args.quiet:
        print(f"wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reproduce", help="the paper's tables and figures beside our numbers",
                       description="Reproduce the paper's numbers: each row gives the paper's value, ours, "
                                   "their ratio and why they differ.")
    p.add_argument("which", nargs="?", default="all", choices=CHOICES, help="which experiment (default: all)")
    p.add_argument("--json", type=output_file, default=None, help="write the rows as a JSON list to this file")
    p.add_argument("--out", type=output_dir, default="spikeloop-report",
                   help="report folder: report.md, rows.json, rows.csv, PNG figures (default: spikeloop-report)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_cmd)


__all__ = ["gather_rows", "render", "to_json", "register"]
