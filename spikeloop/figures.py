"""The reproduction figures (matplotlib, Agg). Each ``fig_*`` function takes the report rows and
the output folder, draws one PNG, and returns its caption; it raises :class:`NoData` naming what
is missing when it cannot draw honestly."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from spikeloop.rows import Row


class NoData(Exception):
    """A figure's data is not available (the reason is the message)."""


def _plt():  # noqa: ANN202
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _by_id(rows: Sequence[Row]) -> dict[str, Row]:
    return {r.id: r for r in rows}


WORKS = ("SBP", "BNTT", "Direct", "TSSL", "LTH", "TDBN")


def fig_table2(rows: Sequence[Row], path: Path) -> str:
    """Table II as grouped bars: estimate vs SATA vs SpikeFlow, paper and ours, log scale."""
    ids = _by_id(rows)
    series = []
    for prefix, label in (("table2-est", "estimate"), ("table2-sata", "SATA"), ("table2-spikesim", "SpikeFlow")):
        got = [ids.get(f"{prefix}-{w}") for w in WORKS]
        if all(r is not None for r in got):
            series.append((label, got))
    if not series:
        raise NoData("no table2-* rows")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 4.5))
    n = len(series) * 2
    width = 0.8 / n
    for i, (label, rs) in enumerate(series):
        for j, (which, alpha) in enumerate((("paper", 0.45), ("ours", 1.0))):
            k = 2 * i + j
            vals = [getattr(r, which) or 0.0 for r in rs]
            ax.bar([x + k * width for x in range(len(WORKS))], vals, width, alpha=alpha,
                   color=f"C{i}", label=f"{label} ({which})", edgecolor="black" if which == "ours" else None)
    ax.set_yscale("log")
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(WORKS))], WORKS)
    ax.set_ylabel("energy per inference (nJ)")
    ax.set_title("Table II: estimated vs SATA (28 nm) vs SpikeFlow (65 nm); light = paper, dark = spikeloop")
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return "Table II: the FLOPs-based estimate against SATA and SpikeFlow, paper vs spikeloop (log scale)"


def fig_energy_vs_t(rows: Sequence[Row], path: Path) -> str:
    """F4-style: energy vs T on SATA (compute vs memory stacked) and SpikeFlow EDP ratio."""
    ids = _by_id(rows)
    sata = [ids.get(f"f4b-energy-T{t}") for t in (1, 2, 3, 4)]
    if any(r is None for r in sata):
        raise NoData("no f4b-energy-T* rows")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    ts = [1, 2, 3, 4]
    parts = [dict(r.parts) for r in sata]  # type: ignore[union-attr]
    if all("compute" in p and "memory" in p for p in parts):
        comp = [p["compute"] for p in parts]
        mem = [p["memory"] for p in parts]
        other = [r.ours - c - m for r, c, m in zip(sata, comp, mem, strict=True)]  # type: ignore[union-attr]
        ax.bar(ts, comp, label="compute (PE + LIF)")
        ax.bar(ts, mem, bottom=comp, label="memory (SRAM + DRAM)")
        if any(o > 1e-9 * r.ours for o, r in zip(other, sata, strict=True)):  # type: ignore[union-attr]
            ax.bar(ts, other, bottom=[c + m for c, m in zip(comp, mem, strict=True)], label="other")
    else:
        ax.bar(ts, [r.ours for r in sata], label="total")  # type: ignore[union-attr]
    ax.set_xlabel("timesteps T")
    ax.set_ylabel(f"energy per inference ({sata[0].unit})")  # type: ignore[union-attr]
    ax.set_title("SATA, VGG9 CIFAR-10: energy grows with T")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return "Fig. 4(b)-style: SATA energy per inference vs timesteps, compute vs memory"


def fig_dataflow_memory(rows: Sequence[Row], path: Path) -> str:
    """F5a-style: memory-movement saving of time-batched over os vs T."""
    ids = _by_id(rows)
    got = [(t, ids.get(f"f5a-memory-saving-T{t}")) for t in (1, 2, 4, 8)]
    got = [(t, r) for t, r in got if r is not None]
    if not got:
        raise NoData("no f5a-memory-saving-T* rows")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    ax.plot([t for t, _ in got], [r.ours for _, r in got], marker="o", label="spikeloop")
    paper = [(t, r.paper) for t, r in got if r.paper is not None]
    if paper:
        ax.plot([t for t, _ in paper], [p for _, p in paper], marker="s", linestyle="none", label="paper")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("timesteps T")
    ax.set_ylabel(f"memory-movement energy saved ({got[0][1].unit})")
    ax.set_title("SATA, VGG9 Tiny-ImageNet: time-batched vs output-stationary")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return "Fig. 5(a)-style: memory-movement energy saved by the time-batched dataflow over OS"


def fig_lif_sharing(rows: Sequence[Row], path: Path) -> str:
    """F5b / F6a-style: LIF share of compute power and LIF savings with C#n sharing."""
    ids = _by_id(rows)
    items = [(k, ids[k]) for k in ("f5b-lif-share", "f5b-c4-lif-saving", "f6a-c2-area", "f6a-c4-area") if k in ids]
    if not items:
        raise NoData("no f5b/f6a rows")
    plt = _plt()
    fig, axes = plt.subplots(1, len(items), figsize=(3.0 * len(items), 3.8))
    if len(items) == 1:
        axes = [axes]
    for ax, (k, r) in zip(axes, items, strict=True):
        vals = [r.paper or 0.0, r.ours]
        ax.bar(["paper", "spikeloop"], vals, color=["C7", "C0"])
        ax.set_title(k, fontsize=9)
        ax.set_ylabel(r.unit)
    fig.suptitle("LIF cost and C#n LIF sharing (SATA power, SpikeFlow area)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return "Fig. 5(b)/6(a)-style: LIF share of compute power and savings with LIF sharing"


def fig_accuracy(rows: Sequence[Row], path: Path, sweep: list[dict] | None) -> str:
    """F6b-style: accuracy vs wire resistance per encoding, with and without BN adaptation."""
    if not sweep:
        raise NoData("no crossbar accuracy sweep")
    pts = [r for r in sweep if "wire_resistance_ohm" in r and "encoding" in r and "crossbar_accuracy" in r]
    if not pts:
        raise NoData("accuracy sweep rows lack wire_resistance_ohm/encoding/crossbar_accuracy")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    keys = sorted({(r["encoding"], bool(r.get("bn_adapt", False))) for r in pts})
    colors = {enc: f"C{i}" for i, enc in enumerate(sorted({k[0] for k in keys}))}
    for enc, bn in keys:
        rs = sorted((r for r in pts if r["encoding"] == enc and bool(r.get("bn_adapt", False)) == bn),
                    key=lambda r: r["wire_resistance_ohm"])
        ax.plot([r["wire_resistance_ohm"] for r in rs], [100 * r["crossbar_accuracy"] for r in rs], marker="o",
                linestyle="-" if bn else "--", color=colors[enc], label=f"{enc}{' + BN adapt' if bn else ''}")
    ax.set_xlabel("wire resistance per segment (Ω)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Crossbar SNN accuracy vs IR drop (digits, T=4)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return "Fig. 6(b)-style: accuracy vs wire resistance per weight encoding, with and without BN adaptation"


FIGURES: dict[str, Callable[[Sequence[Row], Path], str]] = {
    "table2.png": fig_table2,
    "energy_vs_T.png": fig_energy_vs_t,
    "dataflow_memory.png": fig_dataflow_memory,
    "lif_sharing.png": fig_lif_sharing,
}


def draw_all(rows: Sequence[Row], out: Path, sweep: list[dict] | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """Draw every figure; returns ({file: caption}, {file: why missing})."""
    drawn: dict[str, str] = {}
    missing: dict[str, str] = {}
    jobs: dict[str, Callable[[Sequence[Row], Path], str]] = dict(FIGURES)
    jobs["accuracy_ir_drop.png"] = lambda rows, path: fig_accuracy(rows, path, sweep)
    for name, fn in jobs.items():
        try:
            drawn[name] = fn(rows, out / name)
        except NoData as exc:
            missing[name] = str(exc)
    return drawn, missing
