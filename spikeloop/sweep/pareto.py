"""Energy / latency / area Pareto fronts of sweep results, per workload (network, T): table and plot.

Only records with status ``ok`` and finite metrics take part: a failed point, or a point whose numbers
are NaN or infinite (an old results file), is never on a front.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spikeloop.sweep.grid import canonical
from spikeloop.sweep.results import Record, read_numbered_records

#: (record key, label, unit of the plot axis, scale from the record's unit to the axis unit)
PARETO_METRICS = (
    ("total_energy_pj", "energy", "mJ", 1e-9),
    ("latency_s", "latency", "ms", 1e3),
    ("area_mm2", "area", "mm²", 1.0),
)


class RecordError(ValueError):
    """An ``ok`` record that lacks what a Pareto front needs (a metric, the network, T)."""


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def record_problem(rec: Record) -> str | None:
    """Why an ``ok`` record cannot be placed (missing or non-numeric metric, network or T), or None."""
    if not isinstance(rec.get("network"), str):
        return f"network: expected a name, got {rec.get('network')!r}"
    t = rec.get("T")
    if not isinstance(t, int) or isinstance(t, bool) or t < 1:
        return f"T: expected a positive integer, got {t!r}"
    for key, *_ in PARETO_METRICS:
        if not _is_number(rec.get(key)):
            return f"{key}: expected a number, got {rec.get(key, 'nothing')!r}"
    return None


def usable(rec: Record) -> bool:
    """An ``ok`` record whose metrics are all finite numbers."""
    return (
        rec.get("status") == "ok"
        and record_problem(rec) is None
        and all(math.isfinite(rec[k]) for k, *_ in PARETO_METRICS)
    )


def read_front_records(path: str | Path) -> tuple[list[Record], int, int]:
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
            why = record_problem(rec)
            if why:
                raise RecordError(f"{path}:{line}: point {rec['point']}: {why}")
        if usable(rec):
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


@dataclass(frozen=True, slots=True, kw_only=True)
class ParetoGroup:
    """The Pareto front of the points of one workload (network, T)."""

    network: str
    T: int
    records: tuple[Record, ...]  # every usable record of the workload
    front: tuple[Record, ...]  # the non-dominated ones, by increasing energy


def pareto_fronts(records: Iterable[Record]) -> list[ParetoGroup]:
    """Energy / latency / area Pareto front per workload; failed and non-finite records are left out.

    Points of different networks or T run different workloads, so they are not compared.
    """
    groups: dict[tuple[str, int], list[Record]] = {}
    for rec in records:
        if usable(rec):
            groups.setdefault((rec["network"], rec["T"]), []).append(rec)
    out = []
    for (net, t), recs in sorted(groups.items()):
        vals = np.array([[float(r[k]) for k, *_ in PARETO_METRICS] for r in recs])
        mask = pareto_mask(vals)
        front = sorted((r for r, m in zip(recs, mask, strict=True) if m), key=lambda r: r[PARETO_METRICS[0][0]])
        out.append(ParetoGroup(network=net, T=t, records=tuple(recs), front=tuple(front)))
    return out


def _arch(r: Record) -> str:
    return str(r.get("arch"))


def _override(path: str) -> Callable[[Record], str]:
    return lambda r: canonical((r.get("overrides") or {}).get(path, "-"))


def _flow(r: Record) -> str:
    return str(r.get("dataflow")) + (f" ({r['objective']})" if r.get("objective") else "")


def render_pareto(groups: Sequence[ParetoGroup]) -> str:
    """One Markdown table per workload; columns only for the parameters that vary."""
    from spikeloop.formatting import si, table

    parts = []
    for g in groups:
        paths = list(dict.fromkeys(k for r in g.records for k in (r.get("overrides") or {})))
        cols: list[tuple[str, Callable[[Record], str]]] = [("arch", _arch)]
        cols += [(path, _override(path)) for path in paths]
        cols += [("dataflow", _flow)]
        varying = [(h, f) for h, f in cols if len({f(r) for r in g.records}) > 1] or cols[:1]
        rows = [
            [f(r) for _, f in varying]
            + [si(r["total_energy_pj"] * 1e-12, "J"), si(r["latency_s"], "s"), f"{r['area_mm2']:.4g}", r["point"]]
            for r in g.front
        ]
        parts.append(
            f"{g.network}, T = {g.T}: {len(g.front)} of {len(g.records)} points on the "
            f"energy / latency / area Pareto front\n\n"
            + table([h for h, _ in varying] + ["energy", "latency", "area mm²", "point"], rows)
        )
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
            ax.scatter(
                frx,
                [r[k] * s for r in g.front],
                s=28,
                color=c,
                edgecolors="k",
                linewidths=0.5,
                zorder=3,
                label=f"{g.network}, T={g.T} ({len(g.front)}/{len(g.records)})",
            )
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
