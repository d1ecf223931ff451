"""``spikeloop reproduce [all|sata|spikesim|estimate|accuracy]``: the paper's numbers beside ours.

Each experiment is a module of :mod:`spikeloop.experiments` with ``rows(quiet=True) -> list[Row]``.
:func:`gather_rows` collects them (a report writer can call it); experiments whose module is not
there yet are skipped with a note on stderr. Output: a Markdown table on stdout; ``--json FILE``
writes the list of row dicts (``id, paper, ours, unit, ratio, note, command``); ``--out DIR``
writes ``reproduce.md`` and ``reproduce.json`` there.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

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
    if which not in CHOICES:
        raise ValueError(f"unknown experiment {which!r}; expected one of {', '.join(CHOICES)}")
    names = EXPERIMENTS if which == "all" else (which,)
    out: list[Row] = []
    for name in names:
        module = _load(name)
        if module is None:
            if skipped is not None:
                skipped.append(name)
            continue
        out.extend(module.rows(quiet=quiet))
    return out


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
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "reproduce.md").write_text(text + "\n")
        (out / "reproduce.json").write_text(to_json(rows))
        print(f"wrote {out / 'reproduce.md'} and {out / 'reproduce.json'}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reproduce", help="the paper's tables and figures beside our numbers",
                       description="Reproduce the paper's numbers: each row gives the paper's value, ours, "
                                   "their ratio and why they differ.")
    p.add_argument("which", nargs="?", default="all", choices=CHOICES, help="which experiment (default: all)")
    p.add_argument("--json", default=None, help="write the rows as a JSON list to this file")
    p.add_argument("--out", default=None, help="write reproduce.md and reproduce.json into this directory")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_cmd)


__all__ = ["gather_rows", "render", "to_json", "register"]
