"""Sweep throughput: points per second through the local process pool, 1 worker vs 2 workers.

    python benchmarks/sweep_bench.py [--network vgg5-cifar10] [--workers 1 2] [--scheduler tcp://HOST:PORT]

The grid is 216 points on the generic3 arch with the heuristic dataflows (no mapper search):
3 global-buffer sizes x 3 PE-array shapes x 2 LIF sharings x 4 T x 3 dataflows. Each run writes a
fresh results file; the runs must agree point for point (checked). ``--scheduler`` adds a run on
a Dask cluster. Threads are pinned to one per worker process.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from spikeloop.commands.sweep import dask_executor, local_executor  # noqa: E402
from spikeloop.sweep import load_grid, read_records, run_sweep  # noqa: E402

GRID = """\
archs: [generic3]
overrides:
  levels[GLB].capacity_bits: [262144, 524288, 1048576]
  levels[GLB].fanout: [{{x: 4, y: 4}}, {{x: 8, y: 8}}, {{x: 2, y: 8}}]
  compute.lif_sharing: [1, 4]
networks: [{network}]
T: [1, 2, 4, 8]
dataflows: [os, ws, time-batched]
"""


def _records(path: Path) -> tuple[dict[str, dict], float]:
    """Records without their timing, and the summed per-point evaluation time."""
    recs, bad = read_records(path)
    assert bad == 0
    busy = sum(r["wall_s"] for r in recs)
    return {r["point"]: {k: v for k, v in r.items() if k != "wall_s"} for r in recs}, busy


def _load() -> str:
    try:
        return f"load average {os.getloadavg()[0]:.2f}"
    except OSError:  # pragma: no cover
        return "load average n/a"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--network", default="vgg5-cifar10")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--scheduler", default=None, help="also run on this Dask scheduler")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        grid_file = Path(tmp) / "bench.yaml"
        grid_file.write_text(GRID.format(network=args.network))
        tasks = load_grid(grid_file).tasks
        assert len(tasks) >= 200
        print(f"grid: {len(tasks)} points (generic3 x {args.network}, heuristic dataflows); {os.cpu_count()} CPUs")
        runs: list[tuple[str, float, dict, float, str]] = []
        for n in args.workers:
            out = Path(tmp) / f"local{n}.jsonl"
            ex = local_executor(n)
            load = _load()
            t0 = time.perf_counter()
            s = run_sweep(tasks, out, ex, max_inflight=4 * n)
            ex.shutdown()
            wall = time.perf_counter() - t0
            assert s.evaluated == len(tasks), s
            runs.append((f"local pool, {n} worker{'s' if n > 1 else ''}", wall, *_records(out), load))
        if args.scheduler:
            ex, client, slots = dask_executor(args.scheduler)
            out = Path(tmp) / "dask.jsonl"
            load = _load()
            t0 = time.perf_counter()
            s = run_sweep(tasks, out, ex, max_inflight=4 * slots)
            wall = time.perf_counter() - t0
            client.close()
            runs.append((f"Dask {args.scheduler}, {slots} threads", wall, *_records(out), load))
        base = runs[0][1]
        print(
            "busy = summed per-point evaluation time / wall time (mean workers computing); "
            "the load average before each run shows other work on the machine"
        )
        for name, wall, recs, busy, load in runs:
            assert recs == runs[0][2], f"{name}: results differ from {runs[0][0]}"
            print(
                f"{name:<28} {wall:6.1f} s  {len(tasks) / wall:6.2f} points/s  speed-up {base / wall:4.2f}x  "
                f"busy {busy / wall:4.2f}  mean {busy / len(tasks) * 1e3:5.0f} ms/point  ({load})"
            )
        print("all runs agree point for point")


if __name__ == "__main__":
    main()
