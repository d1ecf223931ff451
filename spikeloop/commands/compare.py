"""``spikeloop compare``: dataflows x timesteps on one network, as Markdown, CSV, JSON and PNG."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spikeloop.cli import UserError
from spikeloop.cliargs import add_accounting, add_arch_network, output_dir, positive_int_list
from spikeloop.compare import compare, render_markdown, write_comparison
from spikeloop.engine import Options
from spikeloop.progress import Progress


def _ints(text: str) -> list[int]:
    try:
        vals = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UserError(f"-T: expected comma-separated integers, got {text!r}") from None
    if not vals or any(v < 1 for v in vals):
        raise UserError(f"-T: expected positive integers, got {text!r}")
    return vals


def _cmd(args: argparse.Namespace) -> int:
    flows = [x.strip() for x in args.dataflows.split(",") if x.strip()] if args.dataflows is not None else None
    if flows is not None and not flows:
        raise UserError("--dataflows: expected a comma-separated list, e.g. os,ws,time-batched")
    ts = _ints(args.T)
    opts = Options(profile=args.profile, activity=args.activity, latency=args.latency, lif_sharing=args.lif_sharing)
    total = (len(flows) if flows else 3) * len(ts)
    with Progress(total, "compare", quiet=args.quiet) as bar:
        cmp = compare(args.arch, args.network, flows, ts, opts=opts, progress=bar.step)
    print(render_markdown(cmp))
    if args.out:
        for p in write_comparison(cmp, Path(args.out)):
            print(f"wrote {p}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="compare dataflows and timesteps on one network",
        description="Total and per-layer energy by level and tensor per dataflow and T, latency, "
        "EDP, and which dataflow wins per layer and why.",
    )
    add_arch_network(p)
    p.add_argument(
        "--dataflows",
        default=None,
        help="comma-separated: os, ws, time-batched (digital archs), packed, spikesim, time-batched "
        "(crossbar archs), best; default: every named dataflow of the arch",
    )
    add_accounting(p, dataflow=False)
    p.add_argument(
        "-T", type=positive_int_list, default="1,2,4,8", help="comma-separated timestep counts (default 1,2,4,8)"
    )
    p.add_argument("--out", type=output_dir, default=None, help="folder for compare.md/.csv/.json/.png")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_cmd)
