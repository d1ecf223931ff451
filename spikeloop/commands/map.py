"""``spikeloop map``: the best mapping of one layer (exhaustive, random or CP-SAT search)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from costmodel.arch import load_arch
from costmodel.network import load_network
from costmodel.network_eval import accounting_layers
from mappers.mapping_io import FORMATS, dump
from mappers.mapspace import build_mapspace, describe, load_constraints
from mappers.search import METHODS, SearchResult, constraints_for, search
from spikeloop.cli import UserError
from spikeloop.cliargs import add_accounting, add_arch_network, nonneg_int, output_file, positive_float, positive_int
from spikeloop.engine import Options, resolve
from spikeloop.formatting import si, table


def run_map(
    arch_name: str,
    network_name: str,
    layer_name: str,
    *,
    method: str = "cpsat",
    objective_name: str = "energy",
    dataflow_name: str | None = None,
    constraints_file: str | None = None,
    time_limit_s: float | None = None,
    timesteps: int | None = None,
    seed: int = 0,
    workers: int = 2,
    quiet: bool = True,
    opts: Options | None = None,
) -> tuple[SearchResult, dict]:
    """The Python face of ``spikeloop map``: (result, mapspace description). The layer is searched as the
    profile counts it (the same layer ``evaluate`` prices)."""
    arch, acc = resolve(load_arch(arch_name), opts)
    network = load_network(network_name, timesteps=timesteps)
    try:
        network.layer(layer_name)
    except KeyError as exc:
        raise UserError(exc.args[0]) from None
    layer = next(la for la in accounting_layers(network, acc) if la.name == layer_name)
    if not layer.has_weights:
        raise UserError(f"layer {layer_name} is a {layer.kind.value} layer: it has no loop nest to map")
    extra = load_constraints(constraints_file, arch) if constraints_file else None
    cons = constraints_for(arch, dataflow_name, extra)
    space = build_mapspace(arch, layer, cons, acc)
    res = search(
        arch,
        layer,
        method=method,
        objective_name=objective_name,
        constraints=cons,
        time_limit_s=time_limit_s,
        seed=seed,
        workers=workers,
        quiet=quiet,
        accounting=acc,
    )
    return res, describe(space)


def render(res: SearchResult, space: dict, arch_name: str, layer_name: str) -> str:
    c = res.cost
    head = (
        f"{layer_name} on {arch_name}: {res.method}, objective {res.objective.value}, "
        f"constraints {space['constraints']}\n"
        f"mapspace: {space['factorizations']:,} factorizations x {space['order_classes']:,} loop-order classes "
        f"x {space['bypass_choices']:,} bypass choices = {space['total']:.3g}\n"
    )
    if c is None:
        return head + f"status {res.status.value}: {res.invalid}"
    assert res.mapping is not None  # a search result has a mapping whenever it has a cost
    gap = f"{100 * res.gap:.3f} %" if res.gap is not None else "-"  # fixed point: float noise reads 0.000
    rows = [
        ["status", res.status.value],
        ["energy", si(c.total_energy_pj * 1e-12, "J")],
        ["cycles", f"{c.cycles:,.0f}"],
        ["EDP", si(c.edp_pj_s * 1e-12, "J·s")],
        ["utilization", f"{c.utilization:.2f}"],
        ["T sits at", res.mapping.t_position()],
        ["evaluated", f"{res.evaluated:,}"],
        ["wall", f"{res.wall_s:.2f} s"],
        ["gap", gap],
    ]
    if not res.reproducible:
        rows.append(["reproducible", "no (see the notes)"])
    notes = "".join(f"\nnote: {n}" for n in res.notes)
    return head + "\n" + table(["", ""], rows) + notes


def _cmd(args: argparse.Namespace) -> int:
    from spikeloop.timeloop import timeloop_layer, timeloop_warnings, write_timeloop  # checked before the search

    tl = args.export_timeloop or (args.out and args.format == "timeloop")
    tl_layer = timeloop_layer(args.network, args.layer, args.T) if tl else None
    try:
        res, space = run_map(
            args.arch,
            args.network,
            args.layer,
            method=args.method,
            objective_name=args.objective,
            dataflow_name=args.dataflow,
            constraints_file=args.constraints,
            time_limit_s=args.time_limit,
            timesteps=args.T,
            seed=args.seed,
            workers=args.workers,
            quiet=args.quiet,
            opts=Options(
                profile=args.profile, activity=args.activity, latency=args.latency, lif_sharing=args.lif_sharing
            ),
        )
    except (OverflowError, RuntimeError) as exc:
        raise UserError(str(exc)) from exc
    arch = load_arch(args.arch)
    names = [lv.name for lv in arch.levels]
    print(render(res, space, arch.name, args.layer))
    if res.mapping is not None:
        print("\nmapping (outer to inner):\n" + dump(arch, res.mapping, "yaml"))
        if args.out:
            if tl_layer is not None and args.format == "timeloop":
                write_timeloop(args.out, arch, tl_layer, res.mapping, mapping_only=True)
            else:
                Path(args.out).write_text(dump(arch, res.mapping, args.format))
            print(f"wrote {args.out} ({args.format})", file=sys.stderr)
        if args.export_timeloop:
            assert tl_layer is not None  # --export-timeloop made tl true, so tl_layer was built above
            written = write_timeloop(args.export_timeloop, arch, tl_layer, res.mapping)
            print(f"wrote {', '.join(map(str, written))} (timeloop-model inputs)", file=sys.stderr)
        for w in timeloop_warnings(arch, tl_layer, res.mapping) if tl_layer is not None else ():
            print(f"note: {w}", file=sys.stderr)
    if args.json:
        d = res.to_dict(names)
        d.update({"arch": arch.name, "network": args.network, "layer": args.layer, "mapspace": space})
        Path(args.json).write_text(json.dumps(d, indent=1))
        print(f"wrote {args.json}", file=sys.stderr)
    return 0 if res.mapping is not None else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "map",
        help="search the best mapping of one layer",
        description="Find the minimum-energy (or EDP) mapping of one layer: exhaustive, random or "
        "CP-SAT search over the mapspace, optionally constrained by a dataflow.",
    )
    add_arch_network(p, layer=True)
    p.add_argument("--method", default="cpsat", choices=METHODS)
    p.add_argument("--objective", default="energy", choices=("energy", "edp"))
    add_accounting(p)
    p.add_argument("--constraints", default=None, help="a constraints YAML (fixed factors, orders, keep/bypass)")
    p.add_argument(
        "--time-limit",
        type=positive_float,
        default=None,
        metavar="S",
        help="wall-clock seconds (default: a reproducible budget: CP-SAT's deterministic time, "
        "random search's sample count, exhaustive to the end)",
    )
    p.add_argument("-T", type=positive_int, default=None, help="timesteps (default: the network file's)")
    p.add_argument("--seed", type=nonneg_int, default=0)
    p.add_argument("--workers", type=positive_int, default=2, help="CP-SAT worker threads")
    p.add_argument("--json", type=output_file, default=None, help="write the result as JSON to this file")
    p.add_argument("--out", type=output_file, default=None, help="write the best mapping to this file")
    p.add_argument("--format", default="yaml", choices=FORMATS, help="format of --out (default: yaml)")
    p.add_argument(
        "--export-timeloop",
        metavar="DIR",
        default=None,
        help="write arch, problem, mapping and ERT files for timeloop-model into DIR (a layer with T = 1)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd)
