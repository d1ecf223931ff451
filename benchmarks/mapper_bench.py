"""Mapper benchmark: CP-SAT per layer (status, gap, wall, CPU and deterministic time) against the best fixed
dataflow and against random search at equal wall time; and the measured effect of each CP-SAT idea.

Suites (both print Markdown tables; nothing here is asserted, machines differ):

* ``acceptance`` (default): every distinct conv and fc layer shape of ``vgg16-tinyimagenet``,
  ``resnet18-tinyimagenet`` and ``dvs-gesture`` on ``sata`` and ``generic3``; objective energy, free mapspace,
  2 workers, the default deterministic budget (``--time-limit`` adds a wall-clock limit). Columns: CP-SAT status,
  gap, wall s (seeds + model + both CP-SAT phases), CPU s of this process over the layer (both workers; on a busy
  machine wall time grows while CPU time does not), CP-SAT deterministic time, energy, the best named dataflow's
  heuristic mapping (os, ws, time-batched, the SATA tool's schedule) and random search given the same wall time,
  both as ratios to CP-SAT, and where T sits.
* ``ideas``: an ablation on the hardest layers: the full model, then each idea switched off in turn
  (:class:`mappers.cpsat.ModelOptions`), and the single-worker canonical phase's share; columns per layer:
  status, deterministic time, wall s.

    OMP_NUM_THREADS=1 python benchmarks/mapper_bench.py [--suite acceptance|ideas] [--archs sata,generic3]
        [--networks vgg16-tinyimagenet,...] [--layers conv2,conv5] [--time-limit S] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from dataclasses import replace

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

from costmodel.arch import load_arch  # noqa: E402
from costmodel.evaluate import evaluate  # noqa: E402
from costmodel.mapping import Invalid  # noqa: E402
from costmodel.network import load_network  # noqa: E402
from mappers.cpsat import ModelOptions, SolverConfig, cpsat_search  # noqa: E402
from mappers.mapspace import build_mapspace  # noqa: E402
from mappers.random import random_search  # noqa: E402
from mappers.search import Objective, constraints_for  # noqa: E402
from mappers.seeds import heuristic_seeds  # noqa: E402

NETWORKS = ("vgg16-tinyimagenet", "resnet18-tinyimagenet", "dvs-gesture")
ARCHS = ("sata", "generic3")
# the hardest layers of the acceptance suite (largest deterministic time), for the ablation
IDEA_LAYERS = (
    ("sata", "vgg16-tinyimagenet", "conv2"),
    ("sata", "dvs-gesture", "conv3"),
    ("generic3", "vgg16-tinyimagenet", "conv2"),
    ("generic3", "dvs-gesture", "conv1"),
)
IDEAS = ("hull_cuts", "log_fanout", "linear_cycles", "spill_terms", "symmetry", "cutoff", "hint")


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def distinct_weight_layers(network: str) -> list:
    seen, out = set(), []
    for layer in load_network(network).layers:
        key = replace(layer, name="")
        if layer.has_weights and key not in seen:
            seen.add(key)
            out.append(layer)
    return out


def best_dataflow(arch, layer) -> tuple[float | None, str]:  # noqa: ANN001
    """The lowest energy of the named dataflows' heuristic mappings (the fixed-dataflow baseline)."""
    best: tuple[float | None, str] = (None, "-")
    space = build_mapspace(arch, layer)
    for name, m in heuristic_seeds(space):
        c = evaluate(arch, layer, m)
        if not isinstance(c, Invalid) and (best[0] is None or c.total_energy_pj < best[0]):
            best = (c.total_energy_pj, name)
    return best


def acceptance(
    archs: list[str], networks: list[str], layers: list[str] | None, time_limit: float | None, workers: int
) -> None:
    rows = []
    for arch_name in archs:
        arch = load_arch(arch_name)
        for network in networks:
            print(
                f"\n## {network} on {arch.name} (energy, free mapspace, {workers} workers"
                + (f", wall limit {time_limit:g} s" if time_limit else ", deterministic budget")
                + ")\n"
            )
            print(
                "| layer | status | gap | wall s | CPU s | det. s | CP-SAT energy pJ | best dataflow | "
                "dataflow/CP-SAT | random/CP-SAT (same wall) | T sits at |"
            )
            print("|---|---|---|---|---|---|---|---|---|---|---|")
            for layer in distinct_weight_layers(network):
                if layers and layer.name not in layers:
                    continue
                t0, c0 = time.perf_counter(), cpu_s()
                space = build_mapspace(arch, layer, constraints_for(arch, None))
                cp = cpsat_search(
                    space, Objective.ENERGY, SolverConfig(time_limit_s=time_limit, seed=0, workers=workers)
                )
                wall, cpu = time.perf_counter() - t0, cpu_s() - c0
                rnd = random_search(space, Objective.ENERGY, time_limit_s=max(wall, 0.05), seed=0)
                df, df_name = best_dataflow(arch, layer)
                ce, re_ = cp.value, rnd.value
                gap = f"{100 * cp.gap:.2g} %" if cp.gap is not None else "-"
                ratio_df = f"{df / ce:.3f}" if (df and ce) else "-"
                ratio_rnd = f"{re_ / ce:.3f}" if (re_ and ce) else "-"
                print(
                    f"| {layer.name} | {cp.status.value} | {gap} | {wall:.1f} | {cpu:.1f} | "
                    f"{cp.deterministic_s or 0:.2f} | {ce:.6g} | {df_name} | {ratio_df} | {ratio_rnd} | "
                    f"{cp.mapping.t_position() if cp.mapping else '-'} |",
                    flush=True,
                )
                rows.append((arch_name, network, layer.name, cp.status.value, cp.gap, wall, cpu))
    n = len(rows)
    opt = sum(1 for r in rows if r[3] == "OPTIMAL" and (r[4] or 0) == 0)
    within = sum(1 for r in rows if r[3] == "OPTIMAL" and r[5] <= 10.0)
    print(
        f"\n{opt} of {n} layer shapes OPTIMAL with gap 0; {within} of them within 10 s wall on this machine "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores); CPU s: median "
        f"{sorted(r[6] for r in rows)[n // 2] if n else 0:.1f}, max {max((r[6] for r in rows), default=0):.1f}"
    )


def ideas(workers: int, time_limit: float | None) -> None:
    variants = [("all on", ModelOptions())] + [(f"no {i}", replace(ModelOptions(), **{i: False})) for i in IDEAS]
    print(
        f"\n## CP-SAT ideas: each switched off in turn ({workers} workers"
        + (f", wall limit {time_limit:g} s" if time_limit else "")
        + "); cell = status, deterministic s, wall s\n"
    )
    heads = [f"{a} {n} {la}" for a, n, la in IDEA_LAYERS]
    print("| variant | " + " | ".join(heads) + " |")
    print("|---" * (len(heads) + 1) + "|")
    for name, opts in variants:
        cells = []
        for arch_name, network, layer_name in IDEA_LAYERS:
            arch = load_arch(arch_name)
            layer = load_network(network).layer(layer_name)
            t0 = time.perf_counter()
            space = build_mapspace(arch, layer)
            cp = cpsat_search(
                space, Objective.ENERGY, SolverConfig(time_limit_s=time_limit, seed=0, workers=workers, options=opts)
            )
            gap = "" if cp.status.value == "OPTIMAL" else f" gap {100 * (cp.gap or 1):.2g} %"
            cells.append(f"{cp.status.value[:4]}{gap}, {cp.deterministic_s or 0:.2f}, {time.perf_counter() - t0:.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", choices=("acceptance", "ideas"), default="acceptance")
    ap.add_argument("--archs", default=",".join(ARCHS))
    ap.add_argument("--networks", default=",".join(NETWORKS))
    ap.add_argument("--layers", default=None, help="only these layer names (comma-separated)")
    ap.add_argument("--time-limit", type=float, default=None, help="wall-clock limit per layer (default: none)")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.suite == "ideas":
        ideas(args.workers, args.time_limit)
    else:
        acceptance(
            args.archs.split(","),
            args.networks.split(","),
            args.layers.split(",") if args.layers else None,
            args.time_limit,
            args.workers,
        )
    print(f"\nbenchmark wall time {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
