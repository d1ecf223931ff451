"""Pareto fronts of sweep results: the axes to minimise, what to group by, tables and plots with labelled points.

* **Axes** (:class:`Metric`): the quantities minimised together, two or more of ``energy``, ``latency``, ``area``
  and ``edp`` (default energy, latency, area).
* **Groups** (:class:`GroupBy`): points are compared only with the points that share the group fields (default
  ``network, T``: one front per workload). Every parameter that is not a group field is a design axis of the
  front: ``--group network`` makes T (and the dataflow, the arch and its overrides) design choices that compete
  on one front.
* **Labels**: each front point is numbered in the table and in the plot, and labelled by the parameters that vary
  within its group (arch, overrides, dataflow, T).

Only records with status ``ok`` and finite metrics take part: a failed point, or a point whose numbers are NaN or
infinite (an old results file), is never on a front.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from spikeloop.sweep.grid import canonical
from spikeloop.sweep.results import Record, read_numbered_records


class Metric(StrEnum):
    """A quantity a front minimises (its record key, axis wording and record unit in :data:`METRIC_INFO`)."""

    ENERGY = "energy"
    LATENCY = "latency"
    AREA = "area"
    EDP = "edp"

    @property
    def key(self) -> str:
        return METRIC_INFO[self][0]

    @property
    def quantity(self) -> str:
        return METRIC_INFO[self][1]

    @property
    def unit(self) -> str:
        return METRIC_INFO[self][2]


#: metric -> (record key, axis wording, unit of the record's number)
METRIC_INFO: dict[Metric, tuple[str, str, str]] = {
    Metric.ENERGY: ("total_energy_pj", "energy per inference", "pJ"),
    Metric.LATENCY: ("latency_s", "latency per inference", "s"),
    Metric.AREA: ("area_mm2", "chip area", "mm²"),
    Metric.EDP: ("edp_pj_s", "energy-delay product", "pJ·s"),
}
DEFAULT_AXES: tuple[Metric, ...] = (Metric.ENERGY, Metric.LATENCY, Metric.AREA)


class GroupBy(StrEnum):
    """A record field that separates fronts (points are compared only within equal values)."""

    NETWORK = "network"
    T = "T"
    DATAFLOW = "dataflow"
    ARCH = "arch"


DEFAULT_GROUP: tuple[GroupBy, ...] = (GroupBy.NETWORK, GroupBy.T)

#: (record key, label, unit of the plot axis, scale from the record's unit to the axis unit) of the default axes
PARETO_METRICS = (
    ("total_energy_pj", "energy", "mJ", 1e-9),
    ("latency_s", "latency", "ms", 1e3),
    ("area_mm2", "area", "mm²", 1.0),
)


def parse_axes(text: str) -> tuple[Metric, ...]:
    """``"energy,latency,area"`` -> metrics; two or more distinct names of :class:`Metric` (ValueError naming
    the bad one otherwise)."""
    names = [n.strip() for n in text.split(",")]
    allowed = ", ".join(m.value for m in Metric)
    out: list[Metric] = []
    for n in names:
        try:
            m = Metric(n)
        except ValueError:
            raise ValueError(f"unknown axis {n!r}; expected a comma-separated list of {allowed}") from None
        if m in out:
            raise ValueError(f"axis {n!r} is listed twice")
        out.append(m)
    if len(out) < 2:
        raise ValueError(f"a front needs at least two axes, got {text!r} (choose from {allowed})")
    return tuple(out)


def parse_group(text: str) -> tuple[GroupBy, ...]:
    """``"network"`` or ``"network,T"`` -> group fields; distinct names of :class:`GroupBy`, at least one."""
    allowed = ", ".join(g.value for g in GroupBy)
    out: list[GroupBy] = []
    for n in (n.strip() for n in text.split(",")):
        try:
            g = GroupBy(n)
        except ValueError:
            raise ValueError(f"unknown group field {n!r}; expected a comma-separated list of {allowed}") from None
        if g in out:
            raise ValueError(f"group field {n!r} is listed twice")
        out.append(g)
    return tuple(out)


class RecordError(ValueError):
    """An ``ok`` record that lacks what a Pareto front needs (a metric, the network, T)."""


def _is_number(v: Any) -> bool:  # noqa: ANN401
    return isinstance(v, int | float) and not isinstance(v, bool)


def record_problem(rec: Record, axes: Sequence[Metric] = DEFAULT_AXES) -> str | None:
    """Why an ``ok`` record cannot be placed (missing or non-numeric metric, network or T), or None."""
    if not isinstance(rec.get("network"), str):
        return f"network: expected a name, got {rec.get('network')!r}"
    t = rec.get("T")
    if not isinstance(t, int) or isinstance(t, bool) or t < 1:
        return f"T: expected a positive integer, got {t!r}"
    for m in axes:
        if not _is_number(rec.get(m.key)):
            return f"{m.key}: expected a number, got {rec.get(m.key, 'nothing')!r}"
    return None


def usable(rec: Record, axes: Sequence[Metric] = DEFAULT_AXES) -> bool:
    """An ``ok`` record whose metrics on ``axes`` are all finite numbers."""
    return (
        rec.get("status") == "ok" and record_problem(rec, axes) is None and all(math.isfinite(rec[m.key]) for m in axes)
    )


def read_front_records(path: str | Path, axes: Sequence[Metric] = DEFAULT_AXES) -> tuple[list[Record], int, int]:
    """The first record of each point in a results file, checked for a Pareto front.

    Returns ``(records, left out, unreadable lines)``: failed and non-finite points are left out; an ``ok``
    record without its metrics raises :class:`RecordError` ``"FILE:LINE: point KEY: latency_s: ..."``.
    """
    numbered, bad = read_numbered_records(path)
    seen: set[str] = set()
    out: list[Record] = []
    left_out = 0
    for line, rec in numbered:
        if rec["point"] in seen:
            continue
        seen.add(rec["point"])
        if rec.get("status") == "ok":
            why = record_problem(rec, axes)
            if why:
                raise RecordError(f"{path}:{line}: point {rec['point']}: {why}")
        if usable(rec, axes):
            out.append(rec)
        else:
            left_out += 1
    return out, left_out, bad


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


# ---------------------------------------------------------------------------------------- labels
def _short_path(path: str) -> str:
    """``levels[GLB-W].capacity_bits`` -> ``GLB-W.capacity_bits`` (a level selector reads as the level)."""
    return path[len("levels[") :].replace("]", "", 1) if path.startswith("levels[") else path


def _short_value(value: Any, path: str = "") -> str:  # noqa: ANN401
    """A value as a label shows it: a fanout ``{x: 8, y: 16, systolic: true}`` as ``8x16``, a capacity in bits
    that is whole KiB as ``36 KiB``, others compactly."""
    whole_kib = isinstance(value, int) and not isinstance(value, bool) and value > 0 and value % 8192 == 0
    if path.endswith("capacity_bits") and whole_kib:
        return f"{value // 8192} KiB"
    if isinstance(value, dict) and {"x", "y"} <= value.keys() and set(value) <= {"x", "y", "systolic"}:
        return f"{value['x']}x{value['y']}"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str | int):
        return str(value)
    return canonical(value)


def _flow(r: Record) -> str:
    return str(r.get("dataflow")) + (f" ({r['objective']})" if r.get("objective") else "")


def _override_value(path: str, r: Record) -> str:
    """How the table shows a record's value of the override ``path``."""
    return _short_value((r.get("overrides") or {}).get(path, "-"))


def _override_label(path: str, short: str, r: Record) -> str:
    """How a point label shows a record's value of the override ``path`` (named ``short``)."""
    return f"{short}={_short_value((r.get('overrides') or {}).get(path, '-'), path)}"


@dataclass(frozen=True, slots=True)
class Column:
    """A design parameter of a group's points: its table header, how the table shows a record's value, and how
    a point label shows it."""

    header: str
    value: Callable[[Record], str]
    label: Callable[[Record], str]


def _all_columns(records: Sequence[Record]) -> list[Column]:
    paths = list(dict.fromkeys(k for r in records for k in (r.get("overrides") or {})))
    cols = [Column("arch", lambda r: str(r.get("arch")), lambda r: str(r.get("arch")))]
    for path in paths:
        short = _short_path(path)
        cols.append(
            Column(
                path,
                functools.partial(_override_value, path),
                functools.partial(_override_label, path, short),
            )
        )
    cols.append(Column("dataflow", _flow, _flow))
    cols.append(Column("T", lambda r: str(r.get("T")), lambda r: f"T={r.get('T')}"))
    return cols


def design_columns(records: Sequence[Record]) -> list[Column]:
    """The parameters that vary among ``records`` (arch, each override path, dataflow, T), in that order (within
    a group, the group fields do not vary, so they are never columns). A parameter whose values move one to one
    with an earlier column's (the other paths of a linked group) is folded into that column: its header gains
    ``+N``, and the label keeps the first path."""
    kept: list[tuple[Column, list[str], tuple[int, ...] | None]] = []
    for c in _all_columns(records):
        values = [c.value(r) for r in records]
        if len(set(values)) < 2:
            continue
        first: dict[str, int] = {}
        path = c.header not in ("arch", "dataflow", "T")  # only override paths fold (linked groups are paths)
        pattern = tuple(first.setdefault(v, len(first)) for v in values) if path else None  # who shares a value
        for _, folded, other in kept:
            if pattern is not None and other == pattern:
                folded.append(c.header)
                break
        else:
            kept.append((c, [], pattern))
    return [Column(f"{c.header} +{len(folded)}", c.value, c.label) if folded else c for c, folded, _ in kept]


def constants(records: Sequence[Record], group: Sequence[str] = ()) -> list[str]:
    """The parameters every one of ``records`` shares (``dataflow time-batched``), as words; the ``group``
    fields (which a group's title states) are left out."""
    out = []
    for c in _all_columns(records):
        values = {c.value(r) for r in records}
        if len(values) == 1 and c.header in ("arch", "dataflow", "T") and c.header not in group:
            out.append(f"{c.header} {values.pop()}")
    return out


def point_label(rec: Record, columns: Sequence[Column]) -> str:
    """A front point in words: the values of the varying parameters (``GLB-W.capacity_bits=36 KiB,
    GLB-A.fanout=8x16, T=1``); the arch and dataflow by their names."""
    parts = [c.label(rec) for c in columns]
    return ", ".join(parts) if parts else str(rec.get("arch"))


# ---------------------------------------------------------------------------------------- fronts
@dataclass(frozen=True, slots=True, kw_only=True)
class ParetoGroup:
    """The Pareto front of the points that share the group fields' values."""

    group: tuple[tuple[str, Any], ...]  # group field -> value, e.g. (("network", "vgg9-cifar10"), ("T", 4))
    axes: tuple[Metric, ...]
    records: tuple[Record, ...]  # every usable record of the group
    front: tuple[Record, ...]  # the non-dominated ones, by increasing first axis

    @property
    def network(self) -> str | None:
        return dict(self.group).get(GroupBy.NETWORK.value)

    @property
    def T(self) -> int | None:  # noqa: N802 - the dim's name
        return dict(self.group).get(GroupBy.T.value)

    @property
    def title(self) -> str:
        """``vgg9-cifar10, T = 4`` (the group fields' values)."""
        return ", ".join(f"{k} = {v}" if k in ("T",) else str(v) for k, v in self.group) or "all points"

    @property
    def columns(self) -> list[Column]:
        return design_columns(self.records)

    def shared(self) -> str:
        """``"; every point: arch a.yaml, dataflow os"`` (what the group's points share beyond the group fields)."""
        same = constants(self.records, [k for k, _ in self.group])
        return "; every point: " + ", ".join(same) if same else ""

    def labels(self) -> list[str]:
        """The label of each front point, in front order (the table's ``#`` is its position + 1)."""
        cols = self.columns
        return [point_label(r, cols) for r in self.front]


def pareto_fronts(
    records: Iterable[Record], *, axes: Sequence[Metric] = DEFAULT_AXES, group: Sequence[GroupBy] = DEFAULT_GROUP
) -> list[ParetoGroup]:
    """The Pareto front over ``axes`` of each group of records with equal ``group`` fields; failed and non-finite
    records are left out. The default groups by workload (network, T): points of different T run different
    workloads; ``group=(GroupBy.NETWORK,)`` lets T compete as a design choice."""
    axes, group = tuple(Metric(a) for a in axes), tuple(GroupBy(g) for g in group)
    groups: dict[str, tuple[tuple[tuple[str, Any], ...], list[Record]]] = {}
    for rec in records:
        if usable(rec, axes):
            gkey = tuple((g.value, rec.get(g.value)) for g in group)
            groups.setdefault(canonical(gkey), (gkey, []))[1].append(rec)
    out = []
    for _, (gkey, recs) in sorted(groups.items(), key=lambda item: _order(item[1][0])):
        vals = np.array([[float(r[m.key]) for m in axes] for r in recs])
        mask = pareto_mask(vals)
        front = sorted((r for r, m in zip(recs, mask, strict=True) if m), key=lambda r: [r[m.key] for m in axes])
        out.append(ParetoGroup(group=gkey, axes=axes, records=tuple(recs), front=tuple(front)))
    return out


def _order(gkey: tuple[tuple[str, Any], ...]) -> tuple[tuple[float, str], ...]:
    """Groups in a natural order: numbers by value (T = 2 before T = 10), names alphabetically."""
    return tuple((float(v) if _is_number(v) else 0.0, str(v)) for _, v in gkey)


# ---------------------------------------------------------------------------------------- table
def render_pareto(groups: Sequence[ParetoGroup]) -> str:
    """One Markdown table per group: ``#`` (the point's number in the plot), the design parameters that vary in
    the group, energy, latency, area (and EDP when it is an axis), the point key."""
    from spikeloop.formatting import si, table

    parts = []
    for g in groups:
        cols = g.columns or _all_columns(g.records)[:1]
        shown = [Metric.ENERGY, Metric.LATENCY, Metric.AREA] + ([Metric.EDP] if Metric.EDP in g.axes else [])

        def cell(r: Record, m: Metric) -> str:
            v = r[m.key]  # four digits: front points can differ by less than 0.1 % on an axis
            if m is Metric.ENERGY:
                return si(v * 1e-12, "J", 4)
            if m is Metric.LATENCY:
                return si(v, "s", 4)
            if m is Metric.EDP:
                return si(v * 1e-12, "J·s", 4)
            return f"{v:.4g}"

        headers = (
            ["#"]
            + [c.header for c in cols]
            + [{"energy": "energy", "latency": "latency", "area": "area mm²", "edp": "EDP"}[m.value] for m in shown]
            + ["point"]
        )
        rows = [
            [str(i)] + [c.value(r) for c in cols] + [cell(r, m) for m in shown] + [r["point"]]
            for i, r in enumerate(g.front, 1)
        ]
        axes = " / ".join(m.value for m in g.axes)
        design = ", ".join(c.header for c in g.columns) or "nothing varies"
        parts.append(
            f"{g.title}: {len(g.front)} of {len(g.records)} points on the {axes} Pareto front "
            f"(design axes: {design}{g.shared()})\n\n" + table(headers, rows)
        )
    return "\n\n".join(parts) if parts else "no successful points"


# ---------------------------------------------------------------------------------------- plot
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _scaled(values: Sequence[float], m: Metric) -> tuple[float, str]:
    """(factor, unit) that shows a metric's record values readably (the largest in [1, 1000) where it can)."""
    from spikeloop.figures import energy_unit

    if m in (Metric.ENERGY, Metric.EDP):
        f, unit = energy_unit([v * 1e-12 for v in values], "J")
        return f * 1e-12, unit + ("·s" if m is Metric.EDP else "")
    if m is Metric.LATENCY:
        top = max(values)
        for unit, f in (("s", 1.0), ("ms", 1e3), ("µs", 1e6)):
            if top * f >= 1.0:
                return f, unit
        return 1e9, "ns"
    return 1.0, m.unit


def plot_pareto(groups: Sequence[ParetoGroup], png: str | Path, *, title: str = "") -> Any:  # noqa: ANN401
    """Panels of every further axis against the first (one row per group): every point grey, the front
    coloured by T and shaped by dataflow, each front point numbered as in the table, and the numbers' labels
    (the parameters that vary) listed under the panels. The style of spikeloop's report figures. Saves the
    figure to ``png`` and returns it (a matplotlib ``Figure``)."""
    import matplotlib
    from cycler import cycler
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import LogLocator

    from spikeloop.figures import PALETTE, STYLE, label, plain_log_axis

    npanels = max(len(g.axes) - 1 for g in groups)
    widest = len(str(max(len(g.front) for g in groups)))
    text_lines: list[str] = []
    for g in groups:
        text_lines.append(f"{g.title}: {len(g.front)} of {len(g.records)} points on the front{g.shared()}")
        text_lines += [f"  {i:>{widest}}  {lab}" for i, lab in enumerate(g.labels(), 1)]
    panels_in, text_in = 3.3 * len(groups), 0.16 * len(text_lines) + 0.15
    rc: Any = {**STYLE, "axes.prop_cycle": cycler(color=list(PALETTE)), "axes.grid.axis": "both"}
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(4.4 * npanels + 0.6, panels_in + text_in + 0.5), layout="constrained")
        top, bottom = fig.subfigures(2, 1, squeeze=False, height_ratios=[panels_in, text_in])[:, 0]
        axs = top.subplots(len(groups), npanels, squeeze=False)
        for row, g in enumerate(groups):
            t_values: set[Any] = {r.get("T") for r in g.records}  # record values are untyped JSON
            ts = sorted(t_values)
            flows = sorted({_flow(r) for r in g.records})
            color = {t: PALETTE[k % len(PALETTE)] for k, t in enumerate(ts)}
            marker = {f: _MARKERS[k % len(_MARKERS)] for k, f in enumerate(flows)}
            x_axis = g.axes[0]
            fx, ux = _scaled([r[x_axis.key] for r in g.records], x_axis)
            for p, y_axis in enumerate(g.axes[1:]):
                ax = axs[row][p]
                fy, uy = _scaled([r[y_axis.key] for r in g.records], y_axis)
                ax.scatter(
                    [r[x_axis.key] * fx for r in g.records],
                    [r[y_axis.key] * fy for r in g.records],
                    s=12,
                    color="#C8C8C8",
                    zorder=1,
                )
                for i, r in enumerate(g.front, 1):
                    x, y = r[x_axis.key] * fx, r[y_axis.key] * fy
                    ax.scatter(
                        [x],
                        [y],
                        s=38,
                        color=color[r.get("T")],
                        marker=marker[_flow(r)],
                        edgecolors="black",
                        linewidths=0.5,
                        zorder=3,
                    )
                    ax.annotate(str(i), (x, y), xytext=(4, 3), textcoords="offset points", fontsize=8, zorder=4)
                ax.set_xlabel(label(x_axis.quantity, ux))
                ax.set_ylabel(label(y_axis.quantity, uy))
                ax.set_title(f"{g.title}: {y_axis.value} vs {x_axis.value}")
                for metric, setter, axis in ((x_axis, ax.set_xscale, ax.xaxis), (y_axis, ax.set_yscale, ax.yaxis)):
                    lo, hi = min(r[metric.key] for r in g.records), max(r[metric.key] for r in g.records)
                    if lo > 0 and hi / lo > 10:  # a wide range: log, so the front is not squeezed into a corner
                        setter("log")
                        plain_log_axis(axis)
                        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
                handles = [Line2D([], [], ls="", marker="o", color="#C8C8C8", label="dominated")]
                handles += [
                    Line2D([], [], ls="", marker="o", color=color[t], markeredgecolor="black", label=f"front, T = {t}")
                    for t in ts
                    if any(r.get("T") == t for r in g.front)
                ]
                if len(flows) > 1:
                    handles += [
                        Line2D([], [], ls="", marker=marker[f], color="0.45", label=f)
                        for f in flows
                        if any(_flow(r) == f for r in g.front)
                    ]
                ax.legend(handles=handles, loc="best")
            for p in range(len(g.axes) - 1, npanels):
                axs[row][p].set_visible(False)
        bottom.text(0.01, 0.98, "\n".join(text_lines), family="monospace", fontsize=8, va="top", ha="left")
        fig.suptitle(title or "Pareto front (grey: dominated points)")
        fig.savefig(png)
    return fig
