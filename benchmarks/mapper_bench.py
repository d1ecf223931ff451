"""Mapper benchmark: CP-SAT vs random search (same wall time) vs exhaustive, VGG16 Tiny-ImageNet.

For every conv and FC layer, on generic3 and (if present) the SATA spec: CP-SAT wall time and
status (objective energy, free mapspace, 2 workers, 10 s limit), random-search energy with the same
wall time, the exhaustive optimum where the mapspace has fewer than 10 million mappings, and the
mapspace size. Also the whole-network CP-SAT time and where T sits in the chosen mappings.

    OMP_NUM_THREADS=1 python benchmarks/mapper_bench.py [--archs generic3,sata] [--time-limit 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import archspecs  # noqa: E402
from costmodel.arch import load_arch  # noqa: E402
from costmodel.network import load_network  # noqa: E402
from mappers.cpsat import SolverConfig, cpsat_search  # noqa: E402
from mappers.exhaustive import exhaustive_search  # noqa: E402
from mappers.mapspace import build_mapspace  # noqa: E402
from mappers.random import random_search  # noqa: E402
from mappers.search import Objective, constraints_for  # noqa: E402

EXHAUSTIVE_LIMIT = 10_000_000


def bench_arch(arch_name: str, network: str, time_limit: float, workers: int, dataflow: str | None) -> None:
    arch = load_arch(arch_name)
    net = load_network(network)
    print(f"\n## {network} on {arch.name} (objective energy, constraints {dataflow or 'free'}, "
          f"CP-SAT {workers} workers, limit {time_limit:g} s)\n")
    print("| layer | mapspace | CP-SAT status | CP-SAT s | CP-SAT energy pJ | gap | random energy pJ (same s) "
          "| random/CP-SAT | exhaustive pJ | T sits at |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    total = unique_total = 0.0
    statuses = []
    seen: set = set()
    for layer in net.layers:
        if not layer.has_weights:
            continue
        space = build_mapspace(arch, layer, constraints_for(arch, dataflow))
        size = space.size().total
        cp = cpsat_search(space, Objective.ENERGY, SolverConfig(time_limit_s=time_limit, seed=0, workers=workers))
        total += cp.wall_s
        shape = replace(layer, name="")
        if shape not in seen:  # evaluate --dataflow best searches each distinct layer shape once
            seen.add(shape)
            unique_total += cp.wall_s
        statuses.append(cp.status.value)
        rnd = random_search(space, Objective.ENERGY, time_limit_s=max(cp.wall_s, 0.05), seed=0)
        ex = "-"
        if size < EXHAUSTIVE_LIMIT:
            exr = exhaustive_search(space, Objective.ENERGY, time_limit_s=120)
            ex = f"{exr.value:.6g}" + ("" if exr.status.value == "OPTIMAL" else " (timeout)")
        ce = cp.value
        re_ = rnd.value
        ratio = f"{re_ / ce:.2f}" if (ce and re_) else "-"
        gap = f"{100 * cp.gap:.2g} %" if cp.gap is not None else "-"
        print(f"| {layer.name} | {size:.3g} | {cp.status.value} | {cp.wall_s:.2f} | "
              f"{ce:.6g} | {gap} | {re_:.6g} | {ratio} | {ex} | {cp.mapping.t_position() if cp.mapping else '-'} |"
              if ce else f"| {layer.name} | {size:.3g} | {cp.status.value} | {cp.wall_s:.2f} | - | - | - | - | {ex} | - |",  # noqa: E501
              flush=True)
    n_opt = statuses.count("OPTIMAL")
    print(f"\nwhole network: CP-SAT {total:.1f} s over {len(statuses)} layers, {n_opt} OPTIMAL, "
          f"{len(statuses) - n_opt} not proven; {unique_total:.1f} s for the {len(seen)} distinct layer shapes "
          "(what `spikeloop evaluate --dataflow best` spends: it searches each shape once)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", default="generic3,sata")
    ap.add_argument("--network", default="vgg16-tinyimagenet")
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--dataflow", default=None, help="also constrain to a dataflow (os, ws, time-batched)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    for name in args.archs.split(","):
        if name not in archspecs.arch_names():
            print(f"\n(skipping {name}: archspecs/{name}.yaml does not exist)")
            continue
        bench_arch(name, args.network, args.time_limit, args.workers, args.dataflow)
    print(f"\nbenchmark wall time {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
