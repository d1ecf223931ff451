"""The reproduction report: report.md, rows.json, rows.csv and PNG figures from a list of Rows.

Every number in report.md and rows.csv is formatted from the same Row values that rows.json
holds (``ours`` and ``paper`` printed with 4 significant digits, the JSON keeps full precision).
Figures are drawn by :mod:`spikeloop.figures`; a figure whose data is missing is listed with the
reason instead of drawn. ``report.html`` has report.md's content in one self-contained page (figures inlined as
base64 PNGs, tables sortable by clicking a header, no external resources); an optional timings section lists
the wall time of each step of the run (``timings.json`` beside them, written by the reproduce command).
"""

from __future__ import annotations

import base64
import csv
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

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
        [
            [r.id, fmt(r.paper), fmt(r.ours), r.unit, fmt(r.ratio), r.note, f"`{r.command}`" if r.command else ""]
            for r in rows
        ],
    )


def write_rows_json(rows: Sequence[Row], path: Path) -> None:
    path.write_text(json.dumps([r.to_dict() for r in rows], indent=1))


def write_rows_csv(rows: Sequence[Row], path: Path) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_FIELDS)
        for r in rows:
            w.writerow([r.id, fmt(r.paper), fmt(r.ours), r.unit, fmt(r.ratio), r.note, r.command])


TITLE = 'spikeloop reproduction of "Are SNNs Truly Energy-efficient? - A Hardware Perspective"'
INTRO = (
    "Every row: the paper's figure, ours (computed by the model from the specs and workloads; no paper number "
    "enters a computation of ours, except in the labelled sensitivity rows whose ids end in `-paper`, evaluated at "
    "a setting the paper states), ours/paper, and why they differ. `rows.json` holds the same values at full "
    "precision."
)
HEADERS = ("id", "paper", "ours", "unit", "ours/paper", "note", "command")


def _seconds(s: float) -> str:
    return f"{s:.2f}" if s < 10 else f"{s:.1f}"


def timings_markdown(timings: Mapping[str, float]) -> str:
    """The timings table: step, wall seconds, share of the listed total."""
    total = sum(timings.values())
    body = [[k, _seconds(v), f"{100 * v / total:.0f} %" if total > 0 else ""] for k, v in timings.items()]
    body.append(["total (listed steps)", _seconds(total), "100 %" if total > 0 else ""])
    return table(["step", "wall time (s)", "share"], body)


TIMINGS_NOTE = (
    "Wall time of each step of this run (the report files themselves are written after this table; "
    "`timings.json` has that step too)."
)


def render_markdown(
    rows: Sequence[Row],
    *,
    figures: Mapping[str, str] | None = None,
    missing: Mapping[str, str] | None = None,
    skipped: Mapping[str, str] | None = None,
    timings: Mapping[str, float] | None = None,
) -> str:
    """report.md: the rows table, the parts not run, the timings and the figures with their captions."""
    figures = figures or {}
    missing = missing or {}
    parts = [f"# {TITLE}\n", INTRO + "\n", rows_markdown(rows)]
    if skipped:
        parts.append("\n## Parts not run\n")
        parts.extend(f"- `{k}`: {v}" for k, v in skipped.items())
    if timings:
        parts.extend(["\n## Timings\n", TIMINGS_NOTE + "\n", timings_markdown(timings)])
    if figures or missing:
        parts.append("\n## Figures\n")
        for name, caption in figures.items():
            parts.append(f"![{caption}]({name})\n\n*{caption}*\n")
        for name, why in missing.items():
            parts.append(f"- `{name}` not drawn: {why}")
    return "\n".join(parts) + "\n"


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1400px;
       padding: 0 1em; color: #222; line-height: 1.4; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.88em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.5em; vertical-align: top; text-align: left; }
th { background: #f0f0f0; cursor: pointer; user-select: none; white-space: nowrap; }
th[data-dir="asc"]::after { content: " \\25B2"; }
th[data-dir="desc"]::after { content: " \\25BC"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafafa; }
code { font-size: 0.92em; }
figure { margin: 2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-style: italic; }
"""

# Click a header to sort its table by that column (numbers numerically via data-v, text alphabetically, empty
# cells last); click again to reverse.
_SORT_JS = """
document.querySelectorAll("table.sortable th").forEach((th, col) => th.addEventListener("click", () => {
  const table = th.closest("table"), body = table.tBodies[0];
  const dir = th.dataset.dir === "asc" ? "desc" : "asc";
  table.querySelectorAll("th").forEach(h => delete h.dataset.dir);
  th.dataset.dir = dir;
  const key = tr => { const td = tr.cells[col], v = td.dataset.v ?? td.textContent.trim();
                      const n = v === "" ? NaN : Number(v); return isNaN(n) ? v.toLowerCase() : n; };
  const rank = v => (v === "" ? 2 : typeof v === "number" ? 0 : 1);
  const rows = Array.from(body.rows);
  rows.sort((a, b) => { const x = key(a), y = key(b);
    if (rank(x) !== rank(y)) return rank(x) - rank(y);
    const c = x < y ? -1 : x > y ? 1 : 0; return dir === "asc" ? c : -c; });
  rows.forEach(r => body.appendChild(r));
}));
"""


def _num_td(x: float | None) -> str:
    if x is None:
        return '<td class="num" data-v=""></td>'
    return f'<td class="num" data-v="{x!r}">{escape(fmt(x))}</td>'


def _html_table(headers: Sequence[str], body: Iterable[str], table_id: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return (
        f'<table class="sortable" id="{table_id}">\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(body)
        + "\n</tbody>\n</table>"
    )


def rows_html(rows: Sequence[Row]) -> str:
    """The rows as a sortable HTML table, the same columns as report.md."""
    body = []
    for r in rows:
        cmd = f"<code>{escape(r.command)}</code>" if r.command else ""
        body.append(
            f"<tr><td>{escape(r.id)}</td>{_num_td(r.paper)}{_num_td(r.ours)}<td>{escape(r.unit)}</td>"
            f"{_num_td(r.ratio)}<td>{escape(r.note)}</td><td>{cmd}</td></tr>"
        )
    return _html_table(HEADERS, body, "rows")


def timings_html(timings: Mapping[str, float]) -> str:
    """The timings as a sortable HTML table (step, wall seconds, share of the listed total)."""
    total = sum(timings.values())
    body = []
    for k, v in timings.items():
        share = v / total if total > 0 else 0.0
        body.append(
            f'<tr><td>{escape(k)}</td><td class="num" data-v="{v!r}">{_seconds(v)}</td>'
            f'<td class="num" data-v="{share!r}">{100 * share:.0f} %</td></tr>'
        )
    return (
        _html_table(["step", "wall time (s)", "share"], body, "timings")
        + f"\n<p>total (listed steps): {_seconds(total)} s</p>"
    )


def _inline_md(text: str) -> str:
    """Escape text and turn Markdown `code` spans into <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text, quote=False))


def render_html(
    rows: Sequence[Row],
    *,
    figures: Mapping[str, str] | None = None,
    images: Mapping[str, bytes] | None = None,
    missing: Mapping[str, str] | None = None,
    skipped: Mapping[str, str] | None = None,
    timings: Mapping[str, float] | None = None,
) -> str:
    """report.html, self-contained: report.md's content, tables sortable by clicking a header (a few lines of
    plain JavaScript), every figure inlined as a base64 PNG (``images`` maps file name -> PNG bytes)."""
    figures = figures or {}
    images = images or {}
    missing = missing or {}
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">',
        f"<title>{escape(TITLE)}</title>\n<style>{_CSS}</style>\n</head>\n<body>",
        f"<h1>{escape(TITLE)}</h1>\n<p>{_inline_md(INTRO)} Click a column header to sort.</p>",
        rows_html(rows),
    ]
    if skipped:
        parts.append("<h2>Parts not run</h2>\n<ul>")
        parts.extend(f"<li><code>{escape(k)}</code>: {escape(v)}</li>" for k, v in skipped.items())
        parts.append("</ul>")
    if timings:
        parts.extend(["<h2>Timings</h2>", f"<p>{_inline_md(TIMINGS_NOTE)}</p>", timings_html(timings)])
    if figures or missing:
        parts.append("<h2>Figures</h2>")
        for name, caption in figures.items():
            data = base64.b64encode(images[name]).decode("ascii")
            parts.append(
                f'<figure id="{escape(name)}">\n<img src="data:image/png;base64,{data}" '
                f'alt="{escape(caption)}">\n<figcaption>{escape(caption)} ({escape(name)})</figcaption>\n'
                "</figure>"
            )
        if missing:
            parts.append("<ul>")
            parts.extend(f"<li><code>{escape(k)}</code> not drawn: {escape(v)}</li>" for k, v in missing.items())
            parts.append("</ul>")
    parts.append(f"<script>{_SORT_JS}</script>\n</body>\n</html>\n")
    return "\n".join(parts)


def write_report(
    rows: Sequence[Row],
    out: Path,
    *,
    figures: dict[str, str] | None = None,
    missing: dict[str, str] | None = None,
    skipped: dict[str, str] | None = None,
    timings: Mapping[str, float] | None = None,
) -> list[Path]:
    """Write report.md, report.html, rows.json and rows.csv to ``out``; ``figures`` maps PNG file name (already
    saved in ``out``) -> caption; ``timings`` maps step -> wall seconds for the report's timings section."""
    out.mkdir(parents=True, exist_ok=True)
    figures = figures or {}
    kw: dict[str, Any] = {"figures": figures, "missing": missing, "skipped": skipped, "timings": timings}
    md = out / "report.md"
    md.write_text(render_markdown(rows, **kw))
    page = out / "report.html"
    page.write_text(render_html(rows, images={n: (out / n).read_bytes() for n in figures}, **kw), encoding="utf-8")
    js = out / "rows.json"
    write_rows_json(rows, js)
    cs = out / "rows.csv"
    write_rows_csv(rows, cs)
    return [md, page, js, cs, *(out / n for n in figures)]


def write_timings(timings: Mapping[str, float], path: Path) -> None:
    """timings.json: {step: wall seconds, ..., "total": seconds}."""
    path.write_text(
        json.dumps({**{k: round(v, 3) for k, v in timings.items()}, "total": round(sum(timings.values()), 3)}, indent=1)
        + "\n"
    )
