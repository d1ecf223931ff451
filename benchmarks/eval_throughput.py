"""Mappings evaluated per second: one VGG16 conv layer on the generic 3-level arch, one core.

    python benchmarks/eval_throughput.py [--layer conv6] [--dataflow os] [--sizes 1000,10000,100000]
                                         [--repeats 3] [--profile]

The structure (which dim sits at which level, in which order, temporal or spatial) is the
dataflow's heuristic mapping; each batch holds random *legal* factorizations of it: every dim's
factors multiply to the layer's bound and the spatial loops fit the fanout (capacity is checked
by the evaluator and reported as the valid fraction). Timed paths:

* ``evaluate_batch``: :func:`costmodel.evaluate.evaluate_batch` (vectorised numpy, the mappers' path);
* ``lambdified``: :class:`costmodel.symbolic.LambdifiedBatch` (the sympy forms, lambdified to numpy);
* ``evaluate`` (scalar): :func:`costmodel.evaluate.evaluate` on one Mapping at a time.

The target is 100,000 mappings per second for the batched path. ``--profile`` prints a cProfile
of the largest ``evaluate_batch`` call. No assertion: the numbers are printed.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import itertools  # noqa: E402
import pstats  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from costmodel.analysis import NestView  # noqa: E402
from costmodel.arch import Arch, load_arch  # noqa: E402
from costmodel.evaluate import evaluate, evaluate_batch, nest_of  # noqa: E402
from costmodel.mapping import Invalid, LevelMapping, Loop, Mapping  # noqa: E402
from costmodel.network import load_network  # noqa: E402
from costmodel.symbolic import LambdifiedBatch  # noqa: E402
from costmodel.types import DIMS  # noqa: E402
from costmodel.workload import Layer  # noqa: E402
from mappers.dataflows import dataflow  # noqa: E402
from mappers.heuristic import heuristic_mapping  # noqa: E402

TARGET = 100_000


def _ordered_factorizations(n: int, k: int) -> list[tuple[int, ...]]:
    """Every ordered k-tuple of positive integers whose product is n."""
    if k == 1:
        return [(n,)]
    return [(d, *rest) for d in range(1, n + 1) if n % d == 0 for rest in _ordered_factorizations(n // d, k - 1)]


def random_factors(arch: Arch, layer: Layer, view: NestView, m: int, rng: np.random.Generator) -> np.ndarray:
    """(m, J) random legal bounds for ``view``: products per dim = the layer's, spatial fits."""
    pos = view.positions
    out = np.ones((m, len(pos)), dtype=np.int64)
    for d in DIMS:
        cols = [j for j, p in enumerate(pos) if p.dim is d]
        if not cols:
            continue
        choices = np.array(_ordered_factorizations(layer.bound(d), len(cols)), dtype=np.int64)
        for c, j in enumerate(cols):  # a spatial loop alone cannot exceed its axis
            axis = pos[j].axis
            if axis is not None:
                choices = choices[choices[:, c] <= arch.levels[pos[j].level].fanout.along(axis)]
        out[:, cols] = choices[rng.integers(0, len(choices), size=m)]
    # spatial loops sharing one axis of one level: keep rows whose product fits, refill the rest
    groups: dict[tuple, list[int]] = {}
    for j, p in enumerate(pos):
        if p.axis is not None:
            groups.setdefault((p.level, p.axis), []).append(j)
    ok = np.ones(m, dtype=bool)
    for (lv, ax), cols in groups.items():
        ok &= np.prod(out[:, cols], axis=1) <= arch.levels[lv].fanout.along(ax)
    if not ok.all():
        good = out[ok]
        out[~ok] = good[rng.integers(0, len(good), size=int((~ok).sum()))]
    return out


def mapping_from_row(template: Mapping, row: np.ndarray) -> Mapping:
    """``template``'s loops (same order, axes) with the bounds of ``row``."""
    it = iter(int(x) for x in row)
    levels = []
    for lv in template.levels:
        temporal = tuple(Loop(lp.dim, next(it)) for lp in lv.temporal)
        spatial = tuple(Loop(lp.dim, next(it), True, lp.axis) for lp in lv.spatial)
        levels.append(LevelMapping(temporal=temporal, spatial=spatial, bypass=lv.bypass))
    return Mapping(levels=tuple(levels))


def _best_rate(fn, m: int, repeats: int) -> float:  # noqa: ANN001
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return m / best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="generic3")
    ap.add_argument("--network", default="vgg16-tinyimagenet")
    ap.add_argument("--layer", default="conv6", help="a conv layer (default conv6: C = K = 256)")
    ap.add_argument("--dataflow", default="os")
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--scalar", type=int, default=300, help="mappings for the scalar evaluate() rate")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", action="store_true", help="cProfile the largest evaluate_batch call")
    args = ap.parse_args(argv)

    arch = load_arch(args.arch)
    layer = load_network(args.network).layer(args.layer)
    template = heuristic_mapping(arch, layer, dataflow(args.dataflow))
    if isinstance(template, Invalid):
        raise SystemExit(f"no {args.dataflow} mapping for {args.layer}: {template}")
    structure, _ = nest_of(arch, template)
    rng = np.random.default_rng(args.seed)
    sizes = [int(s) for s in args.sizes.split(",")]
    dims = " ".join(f"{d.value}={layer.bound(d)}" for d in DIMS)
    print(
        f"# evaluation throughput: {args.network}/{layer.name} ({dims}) on {arch.name}, "
        f"{args.dataflow} structure ({len(structure.positions)} loops), 1 thread\n"
    )

    t0 = time.perf_counter()
    lamb = LambdifiedBatch(arch, layer, structure)
    lamb_build = time.perf_counter() - t0

    rows = []
    batches = {}
    for m in sizes:
        f = random_factors(arch, layer, structure, m, rng)
        batches[m] = f
        res = evaluate_batch(arch, layer, structure, f)
        rate = _best_rate(lambda f=f: evaluate_batch(arch, layer, structure, f), m, args.repeats)
        rows.append(("evaluate_batch", m, rate, float(res.valid.mean())))
        lres = lamb(f)
        assert np.allclose(lres.energy_pj, res.energy_pj, rtol=1e-9) and (lres.valid == res.valid).all()
        rate = _best_rate(lambda f=f: lamb(f), m, args.repeats)
        rows.append(("lambdified", m, rate, float(lres.valid.mean())))

    # scalar evaluate on the first rows of the smallest batch (Mapping objects built beforehand)
    f = batches[sizes[0]][: args.scalar]
    mappings = [mapping_from_row(template, row) for row in f]
    t0 = time.perf_counter()
    costs = [evaluate(arch, layer, mp) for mp in mappings]
    scalar_rate = len(mappings) / (time.perf_counter() - t0)
    valid = [not isinstance(c, Invalid) for c in costs]
    batch = evaluate_batch(arch, layer, structure, f)
    agree = all(
        abs(c.total_energy_pj - e) <= 1e-9 * abs(e) for c, e, v in zip(costs, batch.energy_pj, valid, strict=True) if v
    )
    rows.append(("evaluate (scalar)", len(mappings), scalar_rate, float(np.mean(valid))))

    print("| path              | batch   | mappings / s | vs target | valid |")
    print("|-------------------|---------|--------------|-----------|-------|")
    for name, m, rate, v in rows:
        print(f"| {name:<17} | {m:>7,} | {rate:>12,.0f} | {rate / TARGET:>8.2f}x | {v:>5.2f} |")
    best = max(r[2] for r in rows if r[0] == "evaluate_batch")
    print(
        f"\nevaluate_batch best: {best:,.0f} mappings/s on one core "
        f"({'meets' if best >= TARGET else 'BELOW'} the {TARGET:,} target); "
        f"lambdified build (once per structure): {lamb_build:.2f} s; "
        f"scalar evaluate() agrees with evaluate_batch: {agree}"
    )

    if args.profile:
        m = sizes[-1]
        prof = cProfile.Profile()
        prof.enable()
        evaluate_batch(arch, layer, structure, batches[m])
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(12)
        print(f"\n## cProfile of evaluate_batch, batch {m:,} (by own time)\n")
        print("\n".join(itertools.islice((ln for ln in buf.getvalue().splitlines() if ln.strip()), 4, 22)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
