"""``spikeloop versus``: the SNN against its ANN twin on the same arch (:mod:`spikeloop.versus`)."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from spikeloop.cliargs import (
    add_accounting,
    add_arch_network,
    output_dir,
    output_file,
    positive_float,
    positive_int_list,
)
from spikeloop.engine import Options
from spikeloop.progress import Progress

#: the largest T accepted (a loop bound, not a search: beyond it a user has mistyped)
MAX_TIMESTEPS = 4096


def timesteps(text: str) -> tuple[int, ...]:
    """``-T``: comma-separated positive integers up to :data:`MAX_TIMESTEPS`, sorted, duplicates dropped."""
    positive_int_list(text)
    vals = sorted({int(x) for x in text.split(",") if x.strip()})
    if vals[-1] > MAX_TIMESTEPS:
        raise argparse.ArgumentTypeError(f"expected timesteps <= {MAX_TIMESTEPS}, got {vals[-1]}")
    return tuple(vals)


def density(text: str) -> float:
    """``--ann-density``: a number in (0, 1] (0, nan and inf refused)."""
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not 0.0 < v <= 1.0:  # false for nan
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return v


def _cmd(args: argparse.Namespace) -> int:
    from spikeloop.versus import render_text, run_versus, write_json, write_versus

    opts = Options(profile=args.profile, activity=args.activity, latency=args.latency, lif_sharing=args.lif_sharing)
    with Progress(len(args.T) + 1, "versus", quiet=args.quiet) as bar:
        v = run_versus(
            args.arch,
            args.network,
            args.T,
            dataflow=args.dataflow,
            opts=opts,
            ann_density=args.ann_density,
            time_limit_s=args.time_limit,
            progress=bar.step,
        )
    print(render_text(v), end="")
    if args.json:
        print(f"wrote {write_json(v, Path(args.json))}", file=sys.stderr)
    if args.out:
        for p in write_versus(v, Path(args.out)):
            print(f"wrote {p}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "versus",
        help="the SNN against its ANN twin on the same arch",
        description="Prices the SNN at every T and its ANN twin (same layer shapes and weights, "
        "T = 1, 8-bit ReLU activations) on the same arch with the same mapping source: "
        "energy, latency, EDP and area per layer and in total, the break-even T, and "
        "the energy terms that grow with T (docs/versus.md).",
    )
    add_arch_network(p)
    add_accounting(p)
    p.add_argument(
        "-T",
        type=timesteps,
        default="1,2,4,8,16",
        help=f"comma-separated SNN timestep counts, each 1..{MAX_TIMESTEPS} (default 1,2,4,8,16)",
    )
    p.add_argument(
        "--ann-density",
        type=density,
        default=1.0,
        metavar="X",
        help="fraction of non-zero ANN activations the PEs skip over, in (0, 1] (default 1.0: no "
        "zero-skipping claimed for the ANN)",
    )
    p.add_argument(
        "--time-limit",
        type=positive_float,
        default=10.0,
        metavar="S",
        help="--dataflow best: CP-SAT seconds per layer (default 10)",
    )
    p.add_argument("--json", type=output_file, default=None, metavar="F", help="write the result as JSON")
    p.add_argument(
        "--out",
        type=output_dir,
        default=None,
        metavar="DIR",
        help="folder for versus.md, versus.csv, versus_layers.csv, versus.json, versus.png",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_cmd)
