"""``spikeloop evaluate``: per-layer and total energy, cycles, area and breakdown of a network."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from costmodel.network_eval import NetworkResult
from spikeloop.cli import UserError
from spikeloop.cliargs import (
    add_accounting,
    add_arch_network,
    add_search_limit,
    json_or_file,
    output_file,
    positive_int,
)
from spikeloop.engine import Options, run_evaluate
from spikeloop.formatting import si, table


def render(result: NetworkResult) -> str:
    rows = []
    searched = any(lr.search_status is not None for lr in result.layers)  # --dataflow best: status and gap
    for lr in result.layers:
        c = lr.cost
        found = [lr.search_status or "-", "-" if lr.gap is None else f"{100 * lr.gap:.3f} %"]
        rows.append(
            [
                lr.name,
                lr.kind.value,
                si(c.total_energy_pj * 1e-12, "J"),
                f"{c.cycles:,.0f}",
                si(c.edp_pj_s * 1e-12, "J·s"),
                f"{lr.utilization:.2f}" if lr.mapping is not None else "-",
                lr.mapping.t_position() if lr.mapping else "-",
            ]
            + (found if searched else [])
        )
    tot = result.total
    rows.append(
        [
            "total",
            "",
            si(tot.total_energy_pj * 1e-12, "J"),
            f"{tot.cycles:,.0f}",
            si(tot.edp_pj_s * 1e-12, "J·s"),
            f"{tot.utilization:.2f}",
            "",
        ]
        + (["", ""] if searched else [])
    )
    head = (
        f"{result.network.name} on {result.arch.name}, T = {result.network.timesteps}, "
        f"mapping: {result.method}; area {tot.area_mm2:.3f} mm²; latency {si(tot.latency_s, 's')}\n\n"
    )
    body = table(
        ["layer", "kind", "energy", "cycles", "EDP", "util.", "T sits at"] + (["search", "gap"] if searched else []),
        rows,
    )
    top = sorted(tot.breakdown_pj().items(), key=lambda kv: -kv[1])[:8]
    share = "\n\nlargest energy terms: " + ", ".join(f"{k} {100 * v / tot.total_energy_pj:.1f} %" for k, v in top)
    acc = result.accounting
    share += f"\n\nprofile {acc.name}; latency {result.latency.value}" + (
        f"; {acc.activity.value} crossbar activity" if result.arch.crossbar is not None else ""
    )
    if result.arch.crossbar is not None:
        share += "\n\n" + _render_resident(result)
    return head + body + share


def _render_resident(result: NetworkResult) -> str:
    """Crossbar PEs, tiles and area per layer of an arch whose weights stay resident."""
    rows = [[lr.name, f"{lr.pes:,}", f"{lr.tiles:,}", f"{lr.area_um2 * 1e-6:.3f}"] for lr in result.layers]
    parts = ", ".join(f"{k} {v * 1e-6:.3f}" for k, v in result.area_breakdown_um2)
    pes = sum(lr.pes for lr in result.layers)
    return f"{pes:,} crossbar PEs; area mm²: {parts}\n\n" + table(["layer", "PEs", "tiles", "area mm²"], rows)


def _cmd(args: argparse.Namespace) -> int:
    if args.mapping and args.dataflow_given:
        raise UserError("give either --mapping or --dataflow, not both")
    if args.dt_exit and args.T is not None:
        raise UserError("give either -T or --dt-exit (the exit distribution sets the timesteps), not both")
    opts = Options(profile=args.profile, activity=args.activity, latency=args.latency, lif_sharing=args.lif_sharing)

    def run(t: int | None) -> NetworkResult:
        return run_evaluate(
            args.arch,
            args.network,
            timesteps=t,
            dataflow=args.dataflow,
            mapping_file=args.mapping,
            opts=opts,
            quiet=args.quiet,
            time_limit_s=args.time_limit,
        )

    dt = None
    if args.dt_exit:
        from spikeloop.dtsnn import expected_cost, read_distribution

        dist = read_distribution(args.dt_exit)
        dt = expected_cost(dist, run)
        result = run(dt.full_t)
    else:
        result = run(args.T)
    out = result.to_dict()
    print(render(result))
    if dt is not None:
        d = dt.to_dict()
        out["dt_exit"] = d
        print(
            f"\nDT-SNN exits from {args.dt_exit} (mean {dt.mean_timesteps:.2f} timesteps): expected energy "
            f"{si(dt.energy_pj * 1e-12, 'J')} ({100 * d['energy_reduction']:.1f} % below T = {dt.full_t}), "
            f"latency {si(dt.latency_s, 's')}, EDP {si(dt.edp_pj_s * 1e-12, 'J·s')} "
            f"({d['edp_reduction_x']:.2f}x below T = {dt.full_t})"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="energy, cycles and area of a network on an architecture",
        description="Per-layer and total energy, cycles, area and an energy breakdown.",
    )
    add_arch_network(p)
    p.add_argument("-T", type=positive_int, default=None, help="timesteps (default: the network file's)")
    add_accounting(p)
    add_search_limit(p)
    p.add_argument(
        "--mapping",
        default=None,
        help="a mapping file: one mapping for every weight layer, or one per layer (the JSON of "
        "evaluate --json replays a run)",
    )
    p.add_argument(
        "--dt-exit",
        type=json_or_file,
        default=None,
        metavar="JSON",
        help="DT-SNN: expected cost over an exit distribution (the JSON of spikeloop accuracy "
        '--dt-threshold H --json FILE, or {"1": 0.6, "2": 0.4}); the full-T result is printed',
    )
    p.add_argument("--json", type=output_file, default=None, help="write the result as JSON to this file")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_cmd, dataflow_given=False)


__all__ = ["run_evaluate", "render"]
