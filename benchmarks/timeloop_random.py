"""Random mappings of a Timeloop case, scored by timeloop-model v3.0.3 and by spikeloop timeloop-model side by side.

    python benchmarks/timeloop_random.py --timeloop /path/to/timeloop-model [--case eyeriss_like] [-n 20] [--seed 0]
        [--keep DIR]

For a case of benchmarks/timeloop_golden.py (its arch, problem and ERT; the bypass choices of its mapping) it draws
random factorizations (every prime factor of every dim to a random temporal loop or a spatial loop of a fanout
level), random loop orders, keeps those spikeloop finds legal (fanout and capacity), writes each as a Timeloop
mapping with spikeloop's own exporter, runs the binary on it and compares every count, level energy, total,
cycles and utilization. It prints one line per mapping and a summary; ``--keep DIR`` saves the mappings that
differ (or all with ``--keep-all``). Exit 1 if any mapping differs. Tests never need the binary; this is the
wider check behind the golden cases.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import timeloop_golden as tg  # noqa: E402

from costmodel.evaluate import evaluate  # noqa: E402
from costmodel.mapping import Invalid, LevelMapping, Loop, Mapping  # noqa: E402
from costmodel.types import DIMS, Axis  # noqa: E402
from mappers.mapspace import prime_factors  # noqa: E402
from spikeloop.timeloop import run_model  # noqa: E402
from spikeloop.timeloop.convert import load_case  # noqa: E402
from spikeloop.timeloop.export import mapping_dict  # noqa: E402


def draw(case, rng: random.Random) -> Mapping:  # noqa: ANN001
    """A random mapping of ``case.layer`` on ``case.arch`` with the case's bypass choices."""
    arch, layer = case.arch, case.layer
    n = len(arch.levels)
    slots: list[tuple[int, Axis | None]] = [(lv, None) for lv in range(n)]
    for lv, level in enumerate(arch.levels):
        for axis in Axis:
            if (level.fanout.x if axis is Axis.X else level.fanout.y) > 1:
                slots.append((lv, axis))
    temporal: list[dict] = [{} for _ in range(n)]
    spatial: list[dict] = [{} for _ in range(n)]
    for d in DIMS:
        primes = [p for p, e in prime_factors(layer.bound(d)).items() for _ in range(e)]
        for p in primes:
            lv, axis = rng.choice(slots)
            target = temporal[lv] if axis is None else spatial[lv]
            key = d if axis is None else (d, axis)
            target[key] = target.get(key, 1) * p
    levels = []
    for lv in range(n):
        dims = list(temporal[lv])
        rng.shuffle(dims)
        sp = list(spatial[lv])
        rng.shuffle(sp)
        levels.append(
            LevelMapping(
                temporal=tuple(Loop(d, temporal[lv][d]) for d in dims),
                spatial=tuple(Loop(d, spatial[lv][(d, a)], True, a) for d, a in sp),
                bypass=case.mapping.levels[lv].bypass,
            )
        )
    return Mapping(levels=tuple(levels))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeloop", default=os.environ.get("TIMELOOP_MODEL") or shutil.which("timeloop-model"))
    ap.add_argument("--case", default="eyeriss_like", choices=sorted(tg.CASES))
    ap.add_argument("-n", type=int, default=20, help="legal mappings to compare (default 20)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", default=None, help="save the mapping files that differ here")
    ap.add_argument("--keep-all", action="store_true", help="with --keep: save every mapping")
    args = ap.parse_args()
    if not args.timeloop:
        print("no timeloop-model: give --timeloop PATH or set TIMELOOP_MODEL", file=sys.stderr)
        return 2
    if args.n < 1:
        print(f"-n: expected a positive count, got {args.n}", file=sys.stderr)
        return 2
    files = [str(tg.DATA / f) for f in tg.CASES[args.case]]
    mapping_file = next(f for f in files if "mapping" in Path(f).name)
    others = [f for f in files if f != mapping_file]
    case = load_case(files)
    rng = random.Random(args.seed)
    done = drawn = bad = 0
    keep = Path(args.keep) if args.keep else None
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tl-random-") as tmp:
        while done < args.n:
            drawn += 1
            if drawn > 200 * args.n:
                print(f"only {done} legal mappings in {drawn} draws", file=sys.stderr)
                break
            m = draw(case, rng)
            if isinstance(evaluate(case.arch, case.layer, m, case.accounting), Invalid):
                continue
            path = Path(tmp) / f"mapping_{done}.yaml"
            path.write_text(yaml.safe_dump(mapping_dict(case.arch, case.layer, m), sort_keys=False))
            run = subprocess.run(
                [args.timeloop, *others, str(path)], cwd=tmp, capture_output=True, text=True, timeout=600, check=False
            )
            stats = Path(tmp) / "timeloop-model.stats.txt"
            if run.returncode != 0 or not stats.exists():
                continue  # Timeloop refuses it (e.g. a capacity it counts differently): not a comparison
            theirs = tg.golden_of(tg.parse_stats(stats.read_text()))
            stats.unlink()
            _, ours = run_model([*others, str(path)])
            diffs = []
            for lv in theirs["levels"]:
                for space, acts in lv["counts"].items():
                    for a, v in acts.items():
                        mine = ours.count(lv["name"], space, a)
                        if mine != v:
                            diffs.append(f"{lv['name']}/{space}/{a} {v:,.0f} vs {mine:,.0f}")
            if abs(ours.total_energy_pj - theirs["total_energy_pj"]) > 2.0:
                diffs.append(f"total {theirs['total_energy_pj']:,.2f} vs {ours.total_energy_pj:,.2f}")
            if ours.cycles != theirs["cycles"]:
                diffs.append(f"cycles {theirs['cycles']:,} vs {ours.cycles:,}")
            done += 1
            bad += bool(diffs)
            label = "differs: " + "; ".join(diffs) if diffs else "match"
            print(f"{done:3d} {theirs['total_energy_pj']:>16,.0f} pJ {theirs['cycles']:>10,} cycles  {label}")
            if keep and (diffs or args.keep_all):
                shutil.copy(path, keep / f"{args.case}_{args.seed}_{done}.yaml")
    print(f"{done} legal mappings of {args.case} ({drawn} drawn): {done - bad} match timeloop-model, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
