"""The reproduction report: report.md, rows.json, rows.csv and PNG figures from a list of Rows.

Every number in report.md and rows.csv is formatted from the same Row values that rows.json
holds (``ours`` and ``paper`` printed with 4 significant digits, the JSON keeps full precision).
Figures are drawn by :mod:`spikeloop.figures`; a figure whose data is missing is listed with the
reason instead of drawn.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

from spikeloop.formatting import table
from spikeloop.rows import Row

CSV_FIELDS = ("id", "paper", "ours", "unit", "ratio", "note", "command")


def fmt(x: float | None) -> str:
    """Numbers in the report and CSV: 4 significant digits, '' for None."""
    if x is None:
        return ""
    return f"{x:.4g}"


def rows_markdown(rows: Sequence[Row]) -> str:
    return table(
        ["id", "paper", "ours", "unit", "ours/paper", "note", "command"],
        [[r.id, fmt(r.paper), fmt(r.ours), r.unit, fmt(r.ratio), r.note, f"`{r.command}`" if r.command else ""]
         for r in rows],
    )


def write_rows_json(rows: Sequence[Row], path: Path) -> None:
    path.write_text(json.dumps([r.to_dict() for r in rows], indent=1))


def write_rows_csv(rows: Sequence[Row], path: Path) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_FIELDS)
        for r in rows:
            w.writerow([r.id, fmt(r.paper), fmt(r.ours), r.unit, fmt(r.ratio), r.note, r.command])


def write_report(rows: Sequence[Row], out: Path, *, figures: dict[str, str] | None = None,
                 missing: dict[str, str] | None = None, skipped: dict[str, str] | None = None) -> list[Path]:
    """Write report.md, rows.json and rows.csv to ``out``; ``figures`` maps PNG file name -> caption."""
    out.mkdir(parents=True, exist_ok=True)
    figures = figures or {}
    missing = missing or {}
    parts = [
        "# spikeloop reproduction of \"Are SNNs Truly Energy-efficient? - A Hardware Perspective\"\n",
        "Every row: the paper's figure, ours (computed by the model from the specs and workloads; no paper number "
        "enters a computation), ours/paper, and why they differ. `rows.json` holds the same values at full "
        "precision.\n",
        rows_markdown(rows),
    ]
    if skipped:
        parts.append("\n## Parts not run\n")
        parts.extend(f"- `{k}`: {v}" for k, v in skipped.items())
    if figures or missing:
        parts.append("\n## Figures\n")
        for name, caption in figures.items():
            parts.append(f"![{caption}]({name})\n\n*{caption}*\n")
        for name, why in missing.items():
            parts.append(f"- `{name}` not drawn: {why}")
    md = out / "report.md"
    md.write_text("\n".join(parts) + "\n")
    js = out / "rows.json"
    write_rows_json(rows, js)
    cs = out / "rows.csv"
    write_rows_csv(rows, cs)
    return [md, js, cs, *(out / n for n in figures)]
