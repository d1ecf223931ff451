"""``spikeloop evaluate``: per-layer and total energy, cycles, area and breakdown of a network."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from costmodel.arch import Arch, load_arch
from costmodel.mapping import Invalid, load_mapping
from costmodel.network import load_network
from costmodel.network_eval import NetworkResult, evaluate_network
from mappers.dataflows import DATAFLOWS, dataflow
from mappers.heuristic import heuristic_mapping
from spikeloop.cli import UserError
from spikeloop.cliargs import DataflowGiven, add_arch_network, json_or_file, output_file, positive_int
from spikeloop.formatting import si, table


def mapper_for(arch: Arch, dataflow_name: str, *, quiet: bool = True):  # noqa: ANN201
    """The per-layer mapping source for a dataflow name: a fixed heuristic, or ``best`` (CP-SAT)."""
    if dataflow_name == "best":
        try:
            from mappers.search import best_mapping_fn
        except ImportError as exc:  # pragma: no cover - until the mappers land
            raise UserError("--dataflow best needs the mappers package (mappers.search)") from exc
        return best_mapping_fn(arch, quiet=quiet)
    flow = dataflow(dataflow_name)
    return lambda layer: heuristic_mapping(arch, layer, flow)


def run_evaluate(arch_name: str, network_name: str, *, timesteps: int | None = None,
                 dataflow_name: str = "os", mapping_file: str | None = None, quiet: bool = True,
                 profile: str | None = None, activity: str | None = None, latency: str | None = None,
                 lif_sharing: int | None = None) -> NetworkResult:
    """The Python face of ``spikeloop evaluate``. Archs with an ``imc:`` section (SpikeFlow) go to
    :func:`costmodel.imc.evaluate_network_imc` with an accounting profile and optional overrides."""
    arch = load_arch(arch_name)
    network = load_network(network_name, timesteps=timesteps)
    imc_options = {"--profile": profile, "--activity": activity, "--latency": latency, "--lif-sharing": lif_sharing}
    if arch.extra("imc") is not None:
        if mapping_file is not None:
            raise UserError(f"arch {arch.name} is an IMC arch (weights stay in crossbars): --mapping does not apply")
        from costmodel.imc import evaluate_network_imc

        return evaluate_network_imc(arch, network, profile_name=profile, activity=activity, latency=latency,
                                    lif_sharing=lif_sharing)
    given = [k for k, v in imc_options.items() if v is not None]
    if given:
        raise UserError(f"{', '.join(given)}: only for archs with an imc: section (e.g. spikeflow), not {arch.name}")
    if mapping_file is not None:  # the same mapping is applied to every weight layer; it must fit each
        mapping = load_mapping(mapping_file, [lv.name for lv in arch.levels])

        def fixed(_layer):  # noqa: ANN001, ANN202
            return mapping

        return evaluate_network(arch, network, fixed, method=f"mapping file {mapping_file}")
    return evaluate_network(arch, network, mapper_for(arch, dataflow_name, quiet=quiet), method=dataflow_name)


def render(result: NetworkResult) -> str:
    rows = []
    for lr in result.layers:
        c = lr.cost
        rows.append([lr.name, lr.kind.value, si(c.total_energy_pj * 1e-12, "J"), f"{c.cycles:,.0f}",
                     si(c.edp_pj_s * 1e-12, "J·s"), f"{c.utilization:.2f}",
                     lr.mapping.t_position() if lr.mapping else "-"])
    tot = result.total
    rows.append(["total", "", si(tot.total_energy_pj * 1e-12, "J"), f"{tot.cycles:,.0f}",
                 si(tot.edp_pj_s * 1e-12, "J·s"), f"{tot.utilization:.2f}", ""])
    head = (f"{result.network.name} on {result.arch.name}, T = {result.network.timesteps}, "
            f"mapping: {result.method}; area {tot.area_mm2:.3f} mm²; latency {si(tot.latency_s, 's')}\n\n")
    body = table(["layer", "kind", "energy", "cycles", "EDP", "util.", "T sits at"], rows)
    top = sorted(tot.breakdown_pj().items(), key=lambda kv: -kv[1])[:8]
    share = "\n\nlargest energy terms: " + ", ".join(
        f"{k} {100 * v / tot.total_energy_pj:.1f} %" for k, v in top)
    if hasattr(result, "allocations"):  # an IMC result (costmodel.imc.ImcNetworkResult)
        share += "\n\n" + _render_imc(result)
    return head + body + share


def _render_imc(result) -> str:  # noqa: ANN001 - costmodel.imc.ImcNetworkResult
    d = result.to_dict()
    rows = [[lr["name"], lr["imc"]["pes"], lr["imc"]["crossbars_used"], f"{lr['layer_area_mm2']:.3f}"]
            for lr in d["layers"]]
    imc = d["imc"]
    parts = ", ".join(f"{k} {v * 1e-6:.3f}" for k, v in imc["area_um2"].items())
    return (f"IMC profile {imc['profile']} ({imc['activity']} activity, {imc['latency']} latency, "
            f"C#{imc['lif_sharing']} LIF sharing): {imc['pes']} PEs in {imc['tiles']} tiles; area mm²: {parts}\n\n"
            + table(["layer", "PEs", "crossbars", "area mm²"], rows))


def _cmd(args: argparse.Namespace) -> int:
    if args.mapping and args.dataflow_given:
        raise UserError("give either --mapping or --dataflow, not both")
    if args.dt_exit and args.T is not None:
        raise UserError("give either -T or --dt-exit (the exit distribution sets the timesteps), not both")
    from costmodel.network_eval import MappingFailed

    def run(t: int | None) -> NetworkResult:
        try:
            return run_evaluate(args.arch, args.network, timesteps=t, dataflow_name=args.dataflow,
                                mapping_file=args.mapping, quiet=args.quiet, profile=args.profile,
                                activity=args.activity, latency=args.latency, lif_sharing=args.lif_sharing)
        except MappingFailed as exc:
            raise UserError(str(exc)) from exc

    dt = None
    if args.dt_exit:
        from spikeloop.dtsnn import expected_cost, read_distribution

        dist = read_distribution(args.dt_exit)
        dt = expected_cost(dist, run)
        result = run(dt.full_t)
    else:
        result = run(args.T)
    out = result.to_dict()
    print(render(result))
    if dt is not None:
        d = dt.to_dict()
        out["dt_exit"] = d
        print(f"\nDT-SNN exits from {args.dt_exit} (mean {dt.mean_timesteps:.2f} timesteps): expected energy "
              f"{si(dt.energy_pj * 1e-12, 'J')} ({100 * d['energy_reduction']:.1f} % below T = {dt.full_t}), "
              f"latency {si(dt.latency_s, 's')}, EDP {si(dt.edp_pj_s * 1e-12, 'J·s')} "
              f"({d['edp_reduction_x']:.2f}x below T = {dt.full_t})")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 0



def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="energy, cycles and area of a network on an architecture",
                       description="Per-layer and total energy, cycles, area and an energy breakdown.")
    add_arch_network(p)
    p.add_argument("-T", type=positive_int, default=None, help="timesteps (default: the network file's)")
    p.add_argument("--dataflow", default="os", action=DataflowGiven,
                   help=f"one of {', '.join(DATAFLOWS)}, best (default: os)")
    p.add_argument("--mapping", default=None, help="a mapping YAML applied to every weight layer")
    p.add_argument("--profile", default=None,
                   help="IMC archs only: accounting profile (spikeflow: native, spikesim-compat)")
    p.add_argument("--activity", choices=("dense", "event"), default=None,
                   help="IMC archs only: charge every PE cycle (dense) or only where spikes arrive (event)")
    p.add_argument("--latency", choices=("sequential", "pipelined"), default=None,
                   help="IMC archs only: the public SpikeSim latency (sequential) or layers/timesteps pipelined")
    p.add_argument("--lif-sharing", type=positive_int, default=None, metavar="N",
                   help="IMC archs only: C#N LIF sharing (one LIF neuron per N output channels)")
    p.add_argument("--dt-exit", type=json_or_file, default=None, metavar="JSON",
                   help="DT-SNN: expected cost over an exit distribution (the JSON of spikeloop accuracy "
                        "--dt-threshold H --json FILE, or {\"1\": 0.6, \"2\": 0.4}); the full-T result is printed")
    p.add_argument("--json", type=output_file, default=None, help="write the result as JSON to this file")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_cmd, dataflow_given=False)


__all__ = ["run_evaluate", "render", "mapper_for", "Invalid"]
