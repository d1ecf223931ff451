"""Dataflow comparison: one network on one arch, several dataflows x several T.

``compare(...)`` returns a :class:`Comparison` (one :class:`NetworkResult` per (dataflow, T));
``write_comparison`` writes Markdown, CSV, JSON and PNG plots. The per-layer verdict names the
winning dataflow and the term that decides it: the (level/tensor/action) energy entry whose
difference between the winner and the runner-up is largest.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from costmodel.arch import load_arch
from costmodel.network import load_network
from costmodel.network_eval import NetworkResult
from mappers.dataflows import check_flow, flow_names
from spikeloop.engine import Options, run_network
from spikeloop.formatting import si, table


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    arch: str
    network: str
    dataflows: tuple[str, ...]
    timesteps: tuple[int, ...]
    results: dict[tuple[str, int], NetworkResult]


def compare(
    arch_name: str,
    network_name: str,
    dataflows: Sequence[str] | None,
    timesteps: Sequence[int],
    *,
    opts: Options | None = None,
    progress: Callable[[str], None] | None = None,
) -> Comparison:
    """Evaluate ``network`` on ``arch`` for every (dataflow, T) under one accounting profile (``opts``); the
    dataflows default to every named dataflow of the arch (digital or crossbar)."""
    arch = load_arch(arch_name)
    flows = list(dataflows) if dataflows else list(flow_names(arch.crossbar is not None))
    for df in flows:
        check_flow(df, arch.crossbar is not None, flag="--dataflows")
    results: dict[tuple[str, int], NetworkResult] = {}
    for t in timesteps:
        network = load_network(network_name, timesteps=t)
        for df in flows:
            if progress:
                progress(f"{df} T={t}")
            results[(df, t)] = run_network(arch, network, dataflow=df, opts=opts)
    dataflows = flows
    return Comparison(
        arch=arch.name, network=network_name, dataflows=tuple(dataflows), timesteps=tuple(timesteps), results=results
    )


def memory_energy_pj(breakdown: dict[str, float], levels: Sequence[str]) -> float:
    """Energy of storage levels and their networks (everything but compute, LIF and static)."""
    return sum(v for k, v in breakdown.items() if k.split("/")[0] in levels)


def deciding_term(win: dict[str, float], other: dict[str, float]) -> tuple[str, float]:
    """The breakdown entry with the largest saving of ``win`` over ``other`` (label, pJ saved)."""
    keys = set(win) | set(other)
    best = max(keys, key=lambda k: other.get(k, 0.0) - win.get(k, 0.0))
    return best, other.get(best, 0.0) - win.get(best, 0.0)


def summary_rows(cmp: Comparison) -> list[dict[str, Any]]:
    """One row per (dataflow, T): totals and the split into memory (storage levels and their networks), compute
    (accumulates, MACs, LIF updates, activations), static, and the crossbar column periphery (read steps, ADCs,
    muxes, DIFF units, H-tree, temp buffer: everything else); the four add up to the total."""
    rows = []
    for (df, t), res in cmp.results.items():
        tot = res.total
        bd = tot.breakdown_pj()
        levels = [lv.name for lv in res.arch.levels]
        mem = memory_energy_pj(bd, levels)
        static = sum(v for k, v in bd.items() if k.startswith("static/"))
        compute = sum(v for k, v in bd.items() if k.split("/")[0] in ("compute", "lif") and not k.startswith("static/"))
        rows.append(
            {
                "dataflow": df,
                "T": t,
                "total_energy_pj": tot.total_energy_pj,
                "memory_energy_pj": mem,
                "compute_energy_pj": compute,
                "static_energy_pj": static,
                "periphery_energy_pj": tot.total_energy_pj - mem - compute - static,
                "cycles": tot.cycles,
                "latency_s": tot.latency_s,
                "edp_pj_s": tot.edp_pj_s,
                "area_mm2": tot.area_mm2,
            }
        )
    return rows


def layer_verdicts(cmp: Comparison, t: int) -> list[dict[str, Any]]:
    """Per layer at timestep count ``t``: energy per dataflow, the winner and the deciding term."""
    out = []
    first = cmp.results[(cmp.dataflows[0], t)]
    for i, lr in enumerate(first.layers):
        energies = {df: cmp.results[(df, t)].layers[i].cost for df in cmp.dataflows}
        ranked = sorted(cmp.dataflows, key=lambda d: energies[d].total_energy_pj)
        win = ranked[0]
        row: dict[str, Any] = {"layer": lr.name, "T": t, "winner": win}
        row.update({f"{df}_energy_pj": energies[df].total_energy_pj for df in cmp.dataflows})
        tied = [d for d in ranked if energies[d].total_energy_pj <= energies[win].total_energy_pj * (1 + 1e-9)]
        if len(tied) > 1:
            row["winner"] = "tie: " + "=".join(tied)
        if len(tied) == len(ranked) and len(ranked) > 1:
            row["why"] = "same energy (the layer's mappings coincide or T = 1)"
        elif len(ranked) > 1:
            win = tied[0]
            runner = ranked[len(tied)]
            term, saved = deciding_term(energies[win].breakdown_pj(), energies[runner].breakdown_pj())
            row["why"] = (
                f"{term} {saved / max(energies[runner].total_energy_pj, 1e-30) * 100:.1f} % lower than {runner}"
            )
        if len(ranked) == 1:
            row["why"] = "only one dataflow"
        out.append(row)
    return out


def per_layer_breakdown(cmp: Comparison) -> list[dict[str, Any]]:
    """Long format: dataflow, T, layer, level/tensor/action, pJ."""
    out = []
    for (df, t), res in cmp.results.items():
        for lr in res.layers:
            for key, v in lr.cost.breakdown_pj().items():
                out.append({"dataflow": df, "T": t, "layer": lr.name, "term": key, "energy_pj": v})
    return out


def render_markdown(cmp: Comparison) -> str:
    rows = summary_rows(cmp)
    parts = [f"# Dataflow comparison: {cmp.network} on {cmp.arch}\n"]
    periphery = any(abs(r["periphery_energy_pj"]) > 1e-9 * r["total_energy_pj"] for r in rows)
    parts.append(
        table(
            [
                "dataflow",
                "T",
                "energy",
                "memory",
                "compute",
                *(["periphery"] if periphery else []),
                "static",
                "latency",
                "EDP",
            ],
            [
                [
                    r["dataflow"],
                    r["T"],
                    si(r["total_energy_pj"] * 1e-12, "J"),
                    si(r["memory_energy_pj"] * 1e-12, "J"),
                    si(r["compute_energy_pj"] * 1e-12, "J"),
                    *([si(r["periphery_energy_pj"] * 1e-12, "J")] if periphery else []),
                    si(r["static_energy_pj"] * 1e-12, "J"),
                    si(r["latency_s"], "s"),
                    si(r["edp_pj_s"] * 1e-12, "J·s"),
                ]
                for r in rows
            ],
        )
    )
    for t in cmp.timesteps:
        v = layer_verdicts(cmp, t)
        parts.append(f"\n## Per layer, T = {t}\n")
        parts.append(
            table(
                ["layer", *cmp.dataflows, "winner", "why"],
                [
                    [
                        r["layer"],
                        *(si(r[f"{df}_energy_pj"] * 1e-12, "J") for df in cmp.dataflows),
                        r["winner"],
                        r["why"],
                    ]
                    for r in v
                ],
            )
        )
    return "\n".join(parts) + "\n"


def plot_comparison(cmp: Comparison, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summary_rows(cmp)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    width = 0.8 / len(cmp.dataflows)
    for i, df in enumerate(cmp.dataflows):
        rs = [r for r in rows if r["dataflow"] == df]
        xs = [j + i * width for j in range(len(rs))]
        mem = [r["memory_energy_pj"] * 1e-6 for r in rs]
        rest = [(r["total_energy_pj"] - r["memory_energy_pj"]) * 1e-6 for r in rs]
        axes[0].bar(xs, mem, width, label=f"{df}: memory")
        axes[0].bar(xs, rest, width, bottom=mem, label=f"{df}: compute+static", alpha=0.5)
        axes[1].plot([r["T"] for r in rs], [r["edp_pj_s"] * 1e-12 for r in rs], marker="o", label=df)
    axes[0].set_xticks([j + 0.4 - width / 2 for j in range(len(cmp.timesteps))], [f"T={t}" for t in cmp.timesteps])
    axes[0].set_ylabel("energy per inference (µJ)")
    axes[0].set_title("Energy by dataflow and timesteps")
    axes[0].legend(fontsize=7)
    axes[1].set_xlabel("timesteps T")
    axes[1].set_ylabel("EDP (J·s)")
    axes[1].set_yscale("log")
    axes[1].set_title("Energy-delay product")
    axes[1].legend(fontsize=8)
    fig.suptitle(f"{cmp.network} on {cmp.arch}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def write_comparison(cmp: Comparison, out: Path) -> list[Path]:
    """Write compare.md, compare.csv (summary), compare_layers.csv (long breakdown), compare.json, compare.png."""
    out.mkdir(parents=True, exist_ok=True)
    md = out / "compare.md"
    md.write_text(render_markdown(cmp))
    rows = summary_rows(cmp)
    csv_path = _write_csv(out / "compare.csv", rows)
    layers_csv = _write_csv(out / "compare_layers.csv", per_layer_breakdown(cmp))
    js = out / "compare.json"
    js.write_text(
        json.dumps(
            {
                "arch": cmp.arch,
                "network": cmp.network,
                "dataflows": list(cmp.dataflows),
                "T": list(cmp.timesteps),
                "summary": rows,
                "verdicts": [v for t in cmp.timesteps for v in layer_verdicts(cmp, t)],
                "results": [{"dataflow": df, **res.to_dict()} for (df, _t), res in cmp.results.items()],
            },
            indent=1,
        )
    )
    png = out / "compare.png"
    plot_comparison(cmp, png)
    return [md, csv_path, layers_csv, js, png]
