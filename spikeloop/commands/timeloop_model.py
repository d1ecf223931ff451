"""``spikeloop timeloop-model``: price a Timeloop case (architecture, problem, mapping, ERT, ART files) with spikeloop's
engine under the ``timeloop`` accounting profile, and print the counts and energies in Timeloop's terms."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from spikeloop.cliargs import output_file
from spikeloop.formatting import table
from spikeloop.timeloop import Case, Result, run_model


def _n(v: float) -> str:
    return f"{v:,.0f}" if abs(v - round(v)) < 1e-6 else f"{v:,.2f}"


def _e(v: float) -> str:
    return f"{v:,.0f}"


def render(case: Case, res: Result) -> str:
    """Per level and data space: reads, fills, updates (scalar accesses over all instances) and energy; the
    MACs; the total, fJ/MAC, cycles and utilization, as timeloop-model's summary has them."""
    p = case.problem
    dims = " ".join(f"{p.names[r]}={p.bounds[r]}" for r in p.names)
    on = [k if v is True else f"{k}={str(v).lower()}" for k, v in res.profile.items()]
    head = (
        f"{', '.join(case.files)}\nproblem {dims} (stride {p.stride}): {res.macs:,.0f} MACs\n"
        f"profile timeloop ({', '.join(on)})\n\n"
    )
    rows = []
    for lv in res.levels:
        spaces = [s for s in ("Weights", "Inputs", "Outputs") if s in lv.counts] + [
            s for s in lv.counts if s not in ("Weights", "Inputs", "Outputs")
        ]
        if not spaces:
            rows.append([lv.name, f"{lv.instances:,}", "-", "", "", "", _e(lv.energy_pj)])
            continue
        for i, s in enumerate(spaces):
            c = lv.counts[s]
            rows.append(
                [
                    lv.name if i == 0 else "",
                    f"{lv.instances:,}" if i == 0 else "",
                    s,
                    _n(c.get("reads", 0.0)),
                    _n(c.get("fills", 0.0)),
                    _n(c.get("updates", 0.0)),
                    _e(lv.energy_pj) if i == 0 else "",
                ]
            )
    ar = case.tl_arch.arithmetic
    rows.append([ar.name, f"{ar.instances:,}", "MACs", _n(res.macs), "", "", _e(res.mac_energy_pj)])
    body = table(["level", "instances", "data space", "reads", "fills", "updates", "energy pJ"], rows)
    tail = (
        f"\n\ntotal {res.total_energy_pj:,.0f} pJ = {res.fj_per_mac:,.2f} fJ/MAC; cycles {res.cycles:,.0f}; "
        f"utilization {res.utilization:.2f}"
    )
    if res.missing_options:
        tail += (
            f"\nnote: the engine has no {', '.join(res.missing_options)} option yet: those Timeloop rules are "
            "not applied (counts that depend on them differ from timeloop-model)"
        )
    tail += "".join(f"\nnote: {n}" for n in res.notes)
    return head + body + tail


def _cmd(args: argparse.Namespace) -> int:
    case, res = run_model(args.files)
    print(render(case, res))
    if args.json:
        d = res.to_dict()
        d["files"] = list(case.files)
        d["problem"] = {case.problem.names[r]: b for r, b in case.problem.bounds.items()} | {
            "stride": case.problem.stride
        }
        Path(args.json).write_text(json.dumps(d, indent=1))
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "timeloop-model",
        help="price a Timeloop case (arch, problem, mapping, ERT) in Timeloop's terms",
        description="Read Timeloop v3 / timeloopfe files (architecture tree, conv problem, mapping, ERT, ART: any "
        "order, merged by their top-level keys as timeloop-model does), evaluate the mapping with "
        "spikeloop's engine under the timeloop accounting profile, and print reads, fills and updates "
        "per data space and level, energy per level, total pJ, fJ/MAC, cycles and utilization. "
        "See docs/timeloop.md.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="ARCH.yaml PROBLEM.yaml MAPPING.yaml [ERT.yaml] [ART.yaml]")
    p.add_argument("--json", type=output_file, default=None, help="write the result as JSON to this file")
    p.set_defaults(func=_cmd)
