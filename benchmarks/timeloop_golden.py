"""Regenerate tests/data/timeloop/golden.json from a timeloop-model v3.0.3 binary, and compare spikeloop with it.

    python benchmarks/timeloop_golden.py --timeloop /path/to/timeloop-model [--check] [--compare]

For every case of :data:`CASES` (Timeloop input files under tests/data/timeloop) it runs ``timeloop-model`` in a
scratch folder, reads ``timeloop-model.stats.txt`` and records, per storage level and data space, the scalar
reads, fills and updates summed over the utilized instances (per-instance count x utilized instances, as
Timeloop sums them), the level's energy (storage + temporal reduction + address generation), the MACs and
their energy, the total energy, cycles and utilization. ``--check`` only compares the binary's numbers with the
stored golden.json (exit 1 on a difference); ``--compare`` prints spikeloop's count beside each.

Timeloop is not a dependency: build it in scratch space (never inside the repository), e.g. tag v3.0.3 of
github.com/NVlabs/timeloop with Debian's scons, g++, libconfig++-dev, libboost-dev, libboost-iostreams-dev,
libboost-serialization-dev, libyaml-cpp-dev, libncurses-dev, libtinfo-dev, libgpm-dev; link
``pat-public/src/pat`` to ``src/pat`` and run ``scons -j2`` (docs/timeloop.md). Tests never need the binary.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "timeloop"
GOLDEN = DATA / "golden.json"

#: case -> its Timeloop input files, relative to tests/data/timeloop.
CASES: dict[str, list[str]] = {
    "eyeriss_like": [
        "eyeriss_like/arch.yaml",
        "eyeriss_like/problem.yaml",
        "eyeriss_like/mapping.yaml",
        "eyeriss_like/ERT.yaml",
    ],
    "eyeriss_like_b": [
        "eyeriss_like/arch.yaml",
        "eyeriss_like/problem.yaml",
        "eyeriss_like/mapping_b.yaml",
        "eyeriss_like/ERT.yaml",
    ],
    "eyeriss_like_rs_dram": [
        "eyeriss_like/arch.yaml",
        "eyeriss_like/problem.yaml",
        "eyeriss_like/mapping_rs_dram.yaml",
        "eyeriss_like/ERT.yaml",
    ],
    "eyeriss_like_m4": [
        "eyeriss_like/arch.yaml",
        "eyeriss_like/problem.yaml",
        "eyeriss_like/mapping_m4.yaml",
        "eyeriss_like/ERT.yaml",
    ],
    "eyeriss_like_p_inner": [
        "eyeriss_like/arch.yaml",
        "eyeriss_like/problem.yaml",
        "eyeriss_like/mapping_p_inner.yaml",
        "eyeriss_like/ERT.yaml",
    ],
    "eyeriss_like_m_inner": [
        "eyeriss_like/arch.yaml",
        "eyeriss_like/problem.yaml",
        "eyeriss_like/mapping_m_inner.yaml",
        "eyeriss_like/ERT.yaml",
    ],
    "eyeriss_like_random_a": [
        "eyeriss_like/arch.yaml",
        "eyeriss_like/problem.yaml",
        "eyeriss_like/mapping_random_a.yaml",
        "eyeriss_like/ERT.yaml",
    ],
    "eyeriss_like_random_b": [
        "eyeriss_like/arch.yaml",
        "eyeriss_like/problem.yaml",
        "eyeriss_like/mapping_random_b.yaml",
        "eyeriss_like/ERT.yaml",
    ],
    "eyeriss_like_stride2": [
        "eyeriss_like/arch.yaml",
        "eyeriss_like/problem_stride2.yaml",
        "eyeriss_like/mapping_stride2.yaml",
        "eyeriss_like/ERT.yaml",
    ],
    "simple_os": ["simple_os/arch.yaml", "simple_os/problem.yaml", "simple_os/mapping.yaml", "simple_os/ERT.yaml"],
    # written by `spikeloop map --arch generic3 --network vgg9-cifar10 --layer L -T 1 --export-timeloop DIR`
    "generic3_conv3": [
        "generic3_conv3/arch.yaml",
        "generic3_conv3/problem.yaml",
        "generic3_conv3/mapping.yaml",
        "generic3_conv3/ERT.yaml",
    ],
    "generic3_fc1": [
        "generic3_fc1/arch.yaml",
        "generic3_fc1/problem.yaml",
        "generic3_fc1/mapping.yaml",
        "generic3_fc1/ERT.yaml",
    ],
}
SPACES = ("Weights", "Inputs", "Outputs")
_NUM = r"([-+]?[0-9][0-9.eE+-]*)"


def parse_stats(text: str) -> dict[str, Any]:
    """timeloop-model.stats.txt -> {blocks: {name: {space | "_level": {key: value}}}, order, networks, summary}.

    A block is a level (``=== name ===``) or, after the ``Networks`` heading, a network (``A <==> B``); values are
    the numbers of ``key : value`` lines (units dropped), per data space where a ``Weights:`` etc. line opens one."""
    blocks: dict[str, dict[str, dict[str, float]]] = {}
    order: list[str] = []
    networks: list[str] = []
    block = space = None
    summary: dict[str, float] = {}
    mode = "levels"
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == "Networks":
            mode, block = "networks", None
            continue
        if stripped == "Operational Intensity Stats" or stripped.startswith("Summary Stats"):
            mode, block = "summary" if stripped.startswith("Summary") else "other", None
            continue
        if mode == "summary":
            m = re.match(r"^(Utilization|Cycles|Energy|Computes)\s*[:=]\s*" + _NUM, stripped)
            if m:
                summary[m.group(1)] = float(m.group(2))
            m = re.match(r"^Total\s*=\s*" + _NUM, stripped)
            if m:
                summary["fJ/Compute"] = float(m.group(1))
            continue
        if mode == "other":
            continue
        m = re.match(r"^=== (.+) ===$", stripped)
        if m and mode == "levels":
            block, space = m.group(1), None
            blocks[block] = {}
            order.append(block)
            continue
        if mode == "networks" and "<==>" in stripped and ":" not in stripped:
            block, space = stripped, None
            blocks[block] = {}
            networks.append(block)
            continue
        if block is None:
            continue
        m = re.match(r"^\s+(Weights|Inputs|Outputs):\s*$", line)
        if m:
            space = m.group(1)
            blocks[block].setdefault(space, {})
            continue
        m = re.match(r"^\s+([A-Za-z][^:]*?)\s*:\s*" + _NUM + r"(\s*(pJ|fJ|words/cycle))?\s*$", line)
        if m:
            blocks[block].setdefault(space or "_level", {}).setdefault(m.group(1).strip(), float(m.group(2)))
    return {"blocks": blocks, "order": order, "networks": networks, "summary": summary}


def _energy(entry: dict[str, float]) -> float:
    return sum(v for k, v in entry.items() if k.endswith("(total)") and "nergy" in k)


def golden_of(stats: dict[str, Any]) -> dict[str, Any]:
    """The counts and energies of one case from parsed stats (see the module docstring)."""
    levels = []
    compute: dict[str, Any] = {}
    blocks = stats["blocks"]
    for name in stats["order"]:
        per = blocks[name]
        top = per.get("_level", {})
        if "Computes (total)" in top:
            compute = {"name": name, "computes": top["Computes (total)"], "energy_pj": top.get("Energy (total)", 0.0)}
            continue
        counts: dict[str, dict[str, float]] = {}
        energy = 0.0
        for space in SPACES:
            sp = per.get(space)
            if not sp:
                continue
            inst = sp.get("Utilized instances (max)", 0.0)
            c = {a: sp.get(f"Scalar {a} (per-instance)", 0.0) * inst for a in ("reads", "fills", "updates")}
            c = {a: int(round(v)) if abs(v - round(v)) < 1e-6 else v for a, v in c.items() if v}
            if c:
                counts[space] = c
            energy += _energy(sp)
        levels.append({"name": name, "counts": counts, "energy_pj": round(energy, 2)})
    links: dict[str, dict[str, float]] = {}
    network_pj = 0.0
    for name in stats["networks"]:
        for space, entry in blocks[name].items():
            network_pj += _energy(entry)
            if entry.get("Link transfers"):
                links.setdefault(name, {})[space] = entry["Link transfers"]
    total = sum(lv["energy_pj"] for lv in levels) + compute.get("energy_pj", 0.0) + network_pj
    sm = stats["summary"]
    return {
        "levels": levels,
        "macs": compute.get("computes"),
        "mac_energy_pj": compute.get("energy_pj"),
        "network_energy_pj": round(network_pj, 2),
        "link_transfers": links,
        "total_energy_pj": round(total, 2),
        "fj_per_mac": sm.get("fJ/Compute"),
        "cycles": sm.get("Cycles"),
        "utilization": sm.get("Utilization"),
    }


def run_timeloop(binary: str, files: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tl-golden-") as tmp:
        args = [binary, *[str(DATA / f) for f in files]]
        proc = subprocess.run(args, cwd=tmp, capture_output=True, text=True, timeout=600, check=False)
        stats = Path(tmp) / "timeloop-model.stats.txt"
        if proc.returncode != 0 or not stats.exists():
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
            raise SystemExit(f"timeloop-model failed on {files} (exit {proc.returncode}): {' | '.join(tail)}")
        return golden_of(parse_stats(stats.read_text()))


def compare(case: str, golden: dict[str, Any]) -> list[tuple[str, float, float]]:
    """(what, timeloop, spikeloop) for every count and energy of a case."""
    sys.path.insert(0, str(ROOT))
    from spikeloop.timeloop import run_model

    _, r = run_model([str(DATA / f) for f in CASES[case]])
    rows = [
        ("MACs", golden["macs"], r.macs),
        ("cycles", golden["cycles"], r.cycles),
        ("utilization", golden["utilization"], round(r.utilization, 2)),
        ("mac energy pJ", golden["mac_energy_pj"], r.mac_energy_pj),
        ("total energy pJ", golden["total_energy_pj"], r.total_energy_pj),
    ]
    ours = {lv.name: lv for lv in r.levels}
    for lv in golden["levels"]:
        mine = ours.get(lv["name"])
        spaces = set(lv["counts"]) | set(mine.counts if mine else {})
        for space in sorted(spaces):
            actions = set(lv["counts"].get(space, {})) | set(mine.counts.get(space, {}) if mine else {})
            for a in sorted(actions):
                rows.append(
                    (
                        f"{lv['name']} {space} {a}",
                        lv["counts"].get(space, {}).get(a, 0),
                        mine.counts.get(space, {}).get(a, 0) if mine else 0,
                    )
                )
        rows.append((f"{lv['name']} energy pJ", lv["energy_pj"], mine.energy_pj if mine else 0))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--timeloop",
        default=os.environ.get("TIMELOOP_MODEL") or shutil.which("timeloop-model"),
        help="the timeloop-model binary (default: $TIMELOOP_MODEL or timeloop-model on PATH)",
    )
    ap.add_argument("--check", action="store_true", help="compare with golden.json instead of writing it")
    ap.add_argument("--compare", action="store_true", help="print spikeloop's numbers beside Timeloop's")
    ap.add_argument("--only", nargs="*", default=None, help="cases to run (default: all)")
    ap.add_argument("--stats", default=None, help="parse this stats.txt and print the result (no run)")
    args = ap.parse_args()
    if args.stats:
        print(json.dumps(golden_of(parse_stats(Path(args.stats).read_text())), indent=1))
        return 0
    if not args.timeloop:
        print("no timeloop-model: give --timeloop PATH or set TIMELOOP_MODEL", file=sys.stderr)
        return 2
    cases = args.only or list(CASES)
    out = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    status = 0
    for case in cases:
        g = run_timeloop(args.timeloop, CASES[case])
        g["files"] = CASES[case]
        if args.check and out.get(case) != g:
            print(f"{case}: timeloop-model's numbers differ from golden.json", file=sys.stderr)
            status = 1
        out[case] = g
        print(f"{case}: {g['total_energy_pj']:,.0f} pJ, {g['cycles']:,.0f} cycles, utilization {g['utilization']}")
        if args.compare:
            for what, tl, sl in compare(case, g):
                same = "match" if abs((tl or 0) - (sl or 0)) <= 1e-6 * max(1.0, abs(tl or 0)) else "DIFFER"
                print(f"  {what:45s} {tl:>18,.2f} {sl:>18,.2f}  {same}")
    if not args.check:
        out = {"timeloop": "timeloop-model v3.0.3 (github.com/NVlabs/timeloop, tag v3.0.3)", **out}
        GOLDEN.write_text(json.dumps(out, indent=1, sort_keys=False) + "\n")
        print(f"wrote {GOLDEN.relative_to(ROOT)}")
    return status


if __name__ == "__main__":
    sys.exit(main())
