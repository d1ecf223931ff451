"""The reproduction figures (matplotlib, no pyplot state).

Every figure is drawn by a ``plot_*`` function that takes the report rows (and, for the crossbar figure, the
accuracy sweep points) and returns a :class:`matplotlib.figure.Figure`, or raises :class:`NoData` naming what is
missing when it cannot draw honestly. :data:`SPECS` lists them with their file names and captions;
:func:`build_figures` draws them all (tests inspect the returned Figures), :func:`draw_all` also saves the PNGs.

One style for all of them (:data:`STYLE`, applied by :func:`styled`): the same fonts, light grid, colour-blind-safe
palette, paper values in grey beside spikeloop's, tight layout and :data:`DPI`. Axes always carry a label with
its unit, integer axes (timesteps) get integer ticks, no axis uses an offset or ``1e6`` multiplier (energies are
shown in the unit that keeps them readable: :func:`energy_unit`), and panels with several series have a legend.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spikeloop.rows import Row

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure


class NoData(Exception):
    """A figure's data is not available (the reason is the message)."""


#: Okabe-Ito colour-blind-safe palette; series take them in order
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
PAPER_COLOR = "#9A9A9A"  # the paper's numbers, everywhere
OURS_COLOR = PALETTE[0]  # spikeloop's numbers where only one series of ours is drawn
SOFTWARE_COLOR = "#000000"
#: one colour per crossbar weight encoding (SpikeSim's offset code in vermillion, the HRS-favouring pair in green)
ENCODING_COLORS = {"offset": PALETTE[3], "differential": PALETTE[1], "hrs": PALETTE[2]}
DPI = 150

STYLE: dict[str, Any] = {
    "font.size": 10,
    "axes.titlesize": 10.5,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 8.5,
    "figure.titlesize": 11.5,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#D0D0D0",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.formatter.useoffset": False,
    "axes.formatter.limits": (-9, 12),
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "lines.markersize": 5,
    "errorbar.capsize": 3,
    "savefig.dpi": DPI,
    "figure.dpi": 100,
}


def styled(fn: Callable[..., Figure]) -> Callable[..., Figure]:
    """Run a plotting function under :data:`STYLE` (with the palette as colour cycle) and lay its figure out
    tightly. Text properties are fixed when artists are created, so the style sticks to the returned Figure."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        import matplotlib
        from cycler import cycler

        rc: Any = {**STYLE, "axes.prop_cycle": cycler(color=list(PALETTE))}
        with matplotlib.rc_context(rc):
            fig = fn(*args, **kwargs)
            fig.tight_layout()
        return fig

    return wrapper


def _figure(ncols: int = 1, width: float = 6.5, height: float = 4.2) -> tuple[Figure, list[Axes]]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def label(quantity: str, unit: str) -> str:
    """An axis label: the quantity in words, then its unit (``label('reduction', 'x') == 'reduction (x)'``)."""
    return f"{quantity} ({unit})" if unit else quantity


_ENERGY_J = {"pJ": 1e-12, "nJ": 1e-9, "µJ": 1e-6, "uJ": 1e-6, "mJ": 1e-3, "J": 1.0}
_ENERGY_LADDER = (("pJ", 1e-12), ("nJ", 1e-9), ("µJ", 1e-6), ("mJ", 1e-3), ("J", 1.0))


def energy_unit(values: Iterable[float], unit: str, *, smallest: bool = False) -> tuple[float, str]:
    """(factor, unit) that shows energies in ``unit`` readably: the largest value (or, with ``smallest``, the
    smallest non-zero one, for log axes) lands in [1, 1000). Units that are not energies come back unchanged."""
    if unit not in _ENERGY_J:
        return 1.0, unit
    vals = [abs(v) for v in values if v and math.isfinite(v)]
    if not vals:
        return 1.0, unit
    ref = (min(vals) if smallest else max(vals)) * _ENERGY_J[unit]
    name, scale = _ENERGY_LADDER[0]
    for cand, s in _ENERGY_LADDER:
        if ref >= s:
            name, scale = cand, s
    return _ENERGY_J[unit] / scale, name


def _plain_number(v: float, _pos: object = None) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1:
        return f"{v:,.0f}" if abs(v - round(v)) < 1e-9 * abs(v) else f"{v:,.3g}"
    return f"{v:.3g}"


def plain_log_axis(axis: Axis) -> None:
    """A log axis labelled 1, 10, 100, 1,000 (no 10^n math text, no minor-tick labels)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10))
    axis.set_major_formatter(FuncFormatter(_plain_number))
    axis.set_minor_formatter(NullFormatter())


def integer_ticks(axis: Axis, values: Sequence[int]) -> None:
    """Ticks exactly at the integer ``values`` (timesteps), labelled as integers."""
    from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

    vals = sorted({int(v) for v in values})
    axis.set_major_locator(FixedLocator(vals))
    axis.set_major_formatter(FixedFormatter([str(v) for v in vals]))
    axis.set_minor_locator(NullLocator())


def _legend(ax: Axes, **kw: Any) -> None:
    if len(ax.get_legend_handles_labels()[1]) >= 2:
        ax.legend(**kw)


def _by_id(rows: Sequence[Row]) -> dict[str, Row]:
    return {r.id: r for r in rows}


def _numbered(rows: Sequence[Row], pattern: str) -> dict[str, list[tuple[int, Row]]]:
    """Rows whose id matches ``pattern`` (groups: an integer, then an optional variant), by variant ('' for
    none), sorted by the integer."""
    out: dict[str, list[tuple[int, Row]]] = {}
    for r in rows:
        m = re.fullmatch(pattern, r.id)
        if m:
            out.setdefault(m.group(2) or "", []).append((int(m.group(1)), r))
    return {k: sorted(v, key=lambda p: p[0]) for k, v in out.items()}


WORKS = ("SBP", "BNTT", "Direct", "TSSL", "LTH", "TDBN")
WORK_LABELS = {"SBP": "S-BP"}
TOOLS = (("table2-est", "FLOPs estimate"), ("table2-sata", "SATA (28 nm)"), ("table2-spikesim", "SpikeFlow (65 nm)"))


def _paper_ours_bars(
    ax: Axes,
    groups: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[Row | None]]],
    *,
    scale: float = 1.0,
    log: bool = False,
    paper_color: str | None = None,
) -> None:
    """Grouped bars: for each (name, colour, rows per group) a paper bar (hatched, light, or ``paper_color``) and
    a spikeloop bar (solid), with our 95 % intervals as error bars where a row has them."""
    n = 2 * len(series)
    width = 0.8 / n
    for i, (name, color, rs) in enumerate(series):
        for j, which in enumerate(("paper", "ours")):
            xs, ys, lo, hi = [], [], [], []
            for g, r in enumerate(rs):
                v = None if r is None else getattr(r, which)
                if v is None or (log and v <= 0):
                    continue
                xs.append(g - 0.4 + (2 * i + j + 0.5) * width)
                ys.append(v * scale)
                ci = r.ci95 if (r is not None and which == "ours") else None
                lo.append(v * scale - ci[0] * scale if ci else 0.0)
                hi.append(ci[1] * scale - v * scale if ci else 0.0)
            if not xs:
                continue
            who = "paper" if which == "paper" else "spikeloop"
            c = (paper_color or color) if which == "paper" else color
            ax.bar(
                xs,
                ys,
                width,
                color=c,
                alpha=0.4 if which == "paper" and not paper_color else 1.0,
                edgecolor=c,
                linewidth=0.8,
                hatch="//" if which == "paper" else None,
                label=f"{name}, {who}" if name else who,
                yerr=[lo, hi] if any(lo) or any(hi) else None,
            )
    ax.set_xticks(range(len(groups)), list(groups))


@styled
def plot_table2(rows: Sequence[Row]) -> Figure:
    """Table II as grouped bars: the FLOPs estimate vs SATA vs SpikeFlow, paper (hatched) and ours, log scale."""
    ids = _by_id(rows)
    series = []
    for k, (prefix, name) in enumerate(TOOLS):
        got = [ids.get(f"{prefix}-{w}") for w in WORKS]
        if any(r is not None for r in got):
            series.append((name, PALETTE[k], got))
    if not series:
        raise NoData("no table2-* rows")
    values = [v for _, _, rs in series for r in rs if r is not None for v in (r.paper, r.ours) if v]
    unit = next(r.unit for _, _, rs in series for r in rs if r is not None)
    scale, shown = energy_unit(values, unit, smallest=True)
    fig, (ax,) = _figure(width=9.5, height=4.6)
    _paper_ours_bars(ax, [WORK_LABELS.get(w, w) for w in WORKS], series, scale=scale, log=True)
    ax.set_yscale("log")
    ax.set_ylim(top=max(values) * scale * 40)  # headroom for the legend
    plain_log_axis(ax.yaxis)
    ax.set_xlabel("Table II work (network, dataset and T as in the paper)")
    ax.set_ylabel(label("energy per inference", shown))
    ax.set_title("Table II: energy per inference, paper (hatched) vs spikeloop (solid)")
    ax.legend(ncol=len(series), loc="upper left")
    return fig


@styled
def plot_table2_improvement(rows: Sequence[Row]) -> Figure:
    """Table II's improvement factors (ids ``table2-x-sata-<WORK>``, ``table2-x-spikesim-<WORK>``)."""
    ids = _by_id(rows)
    series = []
    for k, (prefix, name) in enumerate(TOOLS[1:], start=1):
        got = [ids.get(f"table2-x-{prefix.removeprefix('table2-')}-{w}") for w in WORKS]
        if any(r is not None for r in got):
            series.append((name, PALETTE[k], got))
    if not series:
        raise NoData("no table2-x-* rows")
    fig, (ax,) = _figure(width=8.5, height=4.2)
    _paper_ours_bars(ax, [WORK_LABELS.get(w, w) for w in WORKS], series)
    for g in range(len(WORKS)):
        if all(rs[g] is None for _, _, rs in series):
            ax.text(g, 0.5, "no published\nbaseline", ha="center", va="bottom", fontsize="small", color=PAPER_COLOR)
    ax.set_xlabel("Table II work")
    ax.set_ylabel(label("improvement factor", "x"))
    ax.set_title("Table II improvement factors, paper (hatched) vs spikeloop (solid)")
    ax.legend(ncol=len(series), loc="upper left")
    return fig


@styled
def plot_energy_vs_t(rows: Sequence[Row]) -> Figure:
    """Fig. 4(b)-style: SATA energy per inference vs T, compute and memory stacked."""
    found = _numbered(rows, r"f4b-energy-T(\d+)()").get("", [])
    if not found:
        raise NoData("no f4b-energy-T* rows")
    ts = [t for t, _ in found]
    rs = [r for _, r in found]
    scale, shown = energy_unit([r.ours for r in rs], rs[0].unit)
    parts = [dict(r.parts) for r in rs]
    fig, (ax,) = _figure()
    if all("compute" in p and "memory" in p for p in parts):
        comp = [p["compute"] * scale for p in parts]
        mem = [p["memory"] * scale for p in parts]
        other = [r.ours * scale - c - m for r, c, m in zip(rs, comp, mem, strict=True)]
        ax.bar(ts, comp, 0.6, color=PALETTE[0], label="compute (PE + LIF)")
        ax.bar(ts, mem, 0.6, bottom=comp, color=PALETTE[1], label="memory (SRAM + DRAM)")
        if any(o > 1e-9 * r.ours * scale for o, r in zip(other, rs, strict=True)):
            ax.bar(
                ts, other, 0.6, bottom=[c + m for c, m in zip(comp, mem, strict=True)], color=PALETTE[5], label="other"
            )
    else:
        ax.bar(ts, [r.ours * scale for r in rs], 0.6, color=OURS_COLOR, label="total")
    integer_ticks(ax.xaxis, ts)
    ax.set_xlabel("timesteps T")
    ax.set_ylabel(label("energy per inference", shown))
    ax.set_title("SATA, VGG9 CIFAR-10 (engine os): energy grows with T")
    _legend(ax, loc="upper left")
    return fig


#: legend labels of the Fig. 5(a) series by id suffix ('' for the rows without one)
F5A_VARIANTS = {"": "per-word access prices", "sata-pricing": "SATA's block price per element access"}


@styled
def plot_dataflow_memory(rows: Sequence[Row]) -> Figure:
    """Fig. 5(a)-style: memory-movement energy saved by time-batched over output-stationary, vs T.
    Variants (``f5a-memory-saving-T4-<variant>``) are further series."""
    found = _numbered(rows, r"f5a-memory-saving-T(\d+)(?:-(.+))?")
    if not found:
        raise NoData("no f5a-memory-saving-T* rows")
    fig, (ax,) = _figure()
    ts: set[int] = set()
    paper: dict[int, float] = {}
    unit = ""
    for k, (variant, pts) in enumerate(sorted(found.items())):
        ts.update(t for t, _ in pts)
        unit = pts[0][1].unit
        ax.plot(
            [t for t, _ in pts],
            [r.ours for _, r in pts],
            marker="o",
            color=PALETTE[k],
            label=f"spikeloop, {F5A_VARIANTS.get(variant, variant.replace('-', ' '))}",
        )
        paper.update((t, r.paper) for t, r in pts if r.paper is not None)
    if paper:
        ax.plot(
            sorted(paper),
            [paper[t] for t in sorted(paper)],
            marker="s",
            linestyle="none",
            color=PAPER_COLOR,
            markersize=8,
            label="paper",
        )
    ax.set_xscale("log", base=2)
    integer_ticks(ax.xaxis, sorted(ts))
    if unit == "%":
        ax.set_ylim(0, 100)
    ax.set_xlabel("timesteps T")
    ax.set_ylabel(label("memory-movement energy saved", unit))
    ax.set_title("SATA, VGG9 Tiny-ImageNet: time-batched vs output-stationary")
    _legend(ax, loc="lower right")
    return fig


#: the DT-SNN row families: (id prefix, panel title, quantity)
DT_FAMILIES = (
    ("f4a-dt-edp-reduction", "SpikeFlow, VGG16 Tiny-ImageNet: EDP", "EDP reduction vs T = 4"),
    ("f4b-dt-energy-reduction", "SATA, VGG9 CIFAR-10: energy", "energy saved vs T = 4"),
)


@styled
def plot_dt_sensitivity(rows: Sequence[Row]) -> Figure:
    """Fig. 4-style DT-SNN: each reduction against the mean exit timestep (the ``-mean-<m>`` sensitivity rows as a
    line), the measured exit distribution's row at its mean (``parts`` ``mean_timesteps``), and the paper's value at
    the mean it states (the ``-paper`` row)."""
    panels = []
    for prefix, title, quantity in DT_FAMILIES:
        sens = []
        for r in rows:
            m = re.fullmatch(rf"{re.escape(prefix)}-mean-(\d+(?:\.\d+)?)(-paper)?", r.id)
            if m:
                sens.append((float(m.group(1)), r))
        if sens:
            main = next((r for r in rows if r.id == prefix), None)
            panels.append((title, quantity, sorted(sens, key=lambda p: p[0]), main))
    if not panels:
        raise NoData("no f4a-dt-edp-reduction-mean-* or f4b-dt-energy-reduction-mean-* rows")
    fig, axes = _figure(len(panels), width=4.6 * len(panels) + 0.4, height=4.3)
    for ax, (title, quantity, sens, main) in zip(axes, panels, strict=True):
        ax.plot(
            [m for m, _ in sens],
            [r.ours for _, r in sens],
            marker="o",
            color=OURS_COLOR,
            label="spikeloop, exits split around the mean",
        )
        paper = [(m, r.paper) for m, r in sens if r.paper is not None]
        if paper:
            ax.plot(
                [m for m, _ in paper],
                [v for _, v in paper],
                marker="s",
                linestyle="none",
                markersize=8,
                color=PAPER_COLOR,
                label="paper, at its stated mean",
            )
        mean = dict(main.parts).get("mean_timesteps") if main is not None else None
        if main is not None and mean is not None:
            ax.plot(
                [mean],
                [main.ours],
                marker="D",
                linestyle="none",
                markersize=7,
                color=PALETTE[3],
                label="spikeloop, measured exits",
            )
        unit = sens[0][1].unit
        ax.set_xlabel("mean exit timestep")
        ax.set_ylabel(label(quantity, unit))
        ax.set_title(title)
        _legend(ax, loc="upper right")
    fig.suptitle("DT-SNN: reduction against the mean exit timestep")
    return fig


LIF_POWER = (("f5b-lif-share", "LIF share of\ncompute power"), ("f5b-c4-lif-saving", "LIF power saved\nby C#4 sharing"))
LIF_AREA = (("f6a-c2-area", "C#2"), ("f6a-c4-area", "C#4"))


@styled
def plot_lif_sharing(rows: Sequence[Row]) -> Figure:
    """Fig. 5(b) / 6(a)-style: the LIF's share of SATA's compute power and what C#4 sharing saves; SpikeFlow's
    LIF-module area reduction with C#2 and C#4 sharing. Paper beside spikeloop."""
    ids = _by_id(rows)
    panels = []
    power = [(name, ids[k]) for k, name in LIF_POWER if k in ids]
    area = [(name, ids[k]) for k, name in LIF_AREA if k in ids]
    if power:
        panels.append(("SATA (28 nm): LIF power", "SATA power figure", "share of power", power))
    if area:
        panels.append(
            ("SpikeFlow (65 nm): LIF-module area", "LIF sharing configuration", "area reduction C#1 / C#n", area)
        )
    if not panels:
        raise NoData("no f5b-lif-share, f5b-c4-lif-saving or f6a-c*-area rows")
    fig, axes = _figure(len(panels), width=4.2 * len(panels), height=4.2)
    for ax, (title, xlabel, quantity, items) in zip(axes, panels, strict=True):
        _paper_ours_bars(
            ax, [name for name, _ in items], [("", OURS_COLOR, [r for _, r in items])], paper_color=PAPER_COLOR
        )
        unit = items[0][1].unit
        if unit == "%":
            ax.set_ylim(0, 100)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(label(quantity, unit))
        _legend(ax, loc="upper left")
    fig.suptitle("LIF cost and C#n LIF sharing")
    return fig


def _ci_err(points: Sequence[dict], scale: float) -> list[list[float]] | None:
    lo, hi = [], []
    for p in points:
        m = p["crossbar_accuracy"]
        low = p.get("crossbar_accuracy_low", p.get("ci95_low"))
        high = p.get("crossbar_accuracy_high", p.get("ci95_high"))
        lo.append((m - low) * scale if low is not None else 0.0)
        hi.append((high - m) * scale if high is not None else 0.0)
    return [lo, hi] if any(lo) or any(hi) else None


def _network_name(sweep: Sequence[dict] | None) -> str:
    names = {str(p["network"]) for p in sweep or () if p.get("network")}
    return names.pop() if len(names) == 1 else "crossbar SNN"


@styled
def plot_accuracy(rows: Sequence[Row], sweep: Sequence[dict] | None) -> Figure:
    """Fig. 6(b)-style: test accuracy vs wire resistance, one colour per encoding, without and with BN adaptation
    side by side; error bars are the 95 % interval over chips, the software accuracy a horizontal line."""
    if not sweep:
        raise NoData("no crossbar accuracy sweep")
    pts = [p for p in sweep if "wire_resistance_ohm" in p and "encoding" in p and "crossbar_accuracy" in p]
    if not pts:
        raise NoData("accuracy sweep points lack wire_resistance_ohm/encoding/crossbar_accuracy")
    software = {p["software_accuracy"] for p in pts if p.get("software_accuracy") is not None}
    bn_modes = sorted({bool(p.get("bn_adapt", False)) for p in pts})
    encodings = sorted({p["encoding"] for p in pts}, key=lambda e: (e not in ENCODING_COLORS, e))
    extra = iter(c for c in PALETTE if c not in ENCODING_COLORS.values())
    colors = {e: ENCODING_COLORS.get(e) or next(extra) for e in encodings}
    chips = {p.get("chips") for p in pts if p.get("chips")}
    fig, axes = _figure(len(bn_modes), width=4.6 * len(bn_modes) + 0.6, height=4.3)
    wires = sorted({float(p["wire_resistance_ohm"]) for p in pts})
    for ax, bn in zip(axes, bn_modes, strict=True):
        for enc in encodings:
            ps = sorted(
                (p for p in pts if p["encoding"] == enc and bool(p.get("bn_adapt", False)) == bn),
                key=lambda p: p["wire_resistance_ohm"],
            )
            if not ps:
                continue
            ax.errorbar(
                [p["wire_resistance_ohm"] for p in ps],
                [100 * p["crossbar_accuracy"] for p in ps],
                yerr=_ci_err(ps, 100),
                marker="o",
                color=colors[enc],
                label=f"{enc} encoding",
            )
        for sw in sorted(software):
            ax.axhline(
                100 * sw, color=SOFTWARE_COLOR, linestyle="--", linewidth=1.0, label=f"software ({100 * sw:.1f} %)"
            )
        ax.set_xticks(wires, [_plain_number(w) for w in wires])
        ax.set_ylim(0, 103)
        ax.set_xlabel(label("wire resistance per segment", "Ω"))
        ax.set_ylabel(label("test accuracy", "%"))
        ax.set_title("with BN adaptation" if bn else "without BN adaptation")
        _legend(ax, loc="lower left")
    interval = f"; error bars: 95 % interval over {chips.pop()} chips" if len(chips) == 1 else ""
    fig.suptitle(f"{_network_name(pts)} on non-ideal crossbars: accuracy vs IR drop{interval}")
    return fig


F6B_ROWS = (
    ("f6b-enc-5ohm", "encoding gain\nhrs - offset, 5 Ω"),
    ("f6b-enc", "encoding gain\nhrs - offset, 10 Ω"),
    ("f6b-bn", "offset loss after\nBN adaptation, 10 Ω"),
)


@styled
def plot_f6b_rows(rows: Sequence[Row], sweep: Sequence[dict] | None = None) -> Figure:
    """F6b's reported rows: encoding gain at 5 and 10 ohm and the loss BN adaptation leaves, paper beside ours,
    with our 95 % intervals over chips (``ci95_low`` / ``ci95_high`` in the rows' parts) as error bars."""
    ids = _by_id(rows)
    items = [(name, ids[k]) for k, name in F6B_ROWS if k in ids]
    if not items:
        raise NoData("no f6b-enc, f6b-enc-5ohm or f6b-bn rows")
    fig, (ax,) = _figure(width=7.2, height=4.5)
    _paper_ours_bars(
        ax, [name for name, _ in items], [("", OURS_COLOR, [r for _, r in items])], paper_color=PAPER_COLOR
    )
    ax.set_xlabel("Fig. 6(b) quantity (wire resistance per segment)")
    ax.set_ylabel(label("accuracy difference", items[0][1].unit))
    ax.set_title(
        f"F6b: spikeloop on the {_network_name(sweep)} (95 % intervals over chips)\n"
        "vs the paper's VGG16 on Tiny-ImageNet"
    )
    _legend(ax, loc="upper right")
    return fig


@dataclass(frozen=True, slots=True)
class FigureSpec:
    """A report figure: its file name, caption and plotting function ``(rows, sweep) -> Figure``."""

    name: str
    caption: str
    plot: Callable[[Sequence[Row], Sequence[dict] | None], Figure]


SPECS: tuple[FigureSpec, ...] = (
    FigureSpec(
        "table2.png",
        "Table II: the FLOPs-based estimate against SATA and SpikeFlow, paper vs spikeloop (log scale)",
        lambda rows, _sweep: plot_table2(rows),
    ),
    FigureSpec(
        "table2_improvement.png",
        "Table II improvement factors on SATA and SpikeFlow, paper vs spikeloop",
        lambda rows, _sweep: plot_table2_improvement(rows),
    ),
    FigureSpec(
        "energy_vs_T.png",
        "Fig. 4(b)-style: SATA energy per inference vs timesteps, compute vs memory",
        lambda rows, _sweep: plot_energy_vs_t(rows),
    ),
    FigureSpec(
        "dt_sensitivity.png",
        "Fig. 4-style DT-SNN: EDP and energy reduction against the mean exit timestep, the measured exits and the "
        "paper's value at its stated mean",
        lambda rows, _sweep: plot_dt_sensitivity(rows),
    ),
    FigureSpec(
        "dataflow_memory.png",
        "Fig. 5(a)-style: memory-movement energy saved by the time-batched dataflow over OS",
        lambda rows, _sweep: plot_dataflow_memory(rows),
    ),
    FigureSpec(
        "lif_sharing.png",
        "Fig. 5(b)/6(a)-style: LIF share of compute power and savings with LIF sharing",
        lambda rows, _sweep: plot_lif_sharing(rows),
    ),
    FigureSpec(
        "accuracy_ir_drop.png",
        "Fig. 6(b)-style: accuracy vs wire resistance per weight encoding, without "
        "and with BN adaptation, 95 % intervals over chips, software accuracy dashed",
        plot_accuracy,
    ),
    FigureSpec(
        "f6b_rows.png",
        "Fig. 6(b) rows: encoding gain and the loss left after BN adaptation, paper vs spikeloop with 95 % intervals",
        plot_f6b_rows,
    ),
)


def build_figures(
    rows: Sequence[Row], sweep: Sequence[dict] | None = None
) -> tuple[dict[str, tuple[Figure, str]], dict[str, str]]:
    """Every figure as a Figure, unsaved: ({file: (figure, caption)}, {file: why not drawn})."""
    built: dict[str, tuple[Figure, str]] = {}
    missing: dict[str, str] = {}
    for spec in SPECS:
        try:
            built[spec.name] = (spec.plot(rows, sweep), spec.caption)
        except NoData as exc:
            missing[spec.name] = str(exc)
    return built, missing


def save(fig: Figure, path: Path) -> None:
    """Write ``fig`` as a PNG at :data:`DPI`."""
    fig.savefig(path, dpi=DPI, format="png", metadata={"Software": "spikeloop"})


def draw_all(
    rows: Sequence[Row], out: Path, sweep: Sequence[dict] | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """Draw and save every figure into ``out``; returns ({file: caption}, {file: why not drawn})."""
    built, missing = build_figures(rows, sweep)
    drawn: dict[str, str] = {}
    for name, (fig, caption) in built.items():
        save(fig, out / name)
        drawn[name] = caption
    return drawn, missing
