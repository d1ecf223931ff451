"""What every command does before it prices anything, written once: the arch (with a LIF-sharing override),
the accounting profile (with option overrides, refused by name where they do not apply), and the per-layer
mapping source (a dataflow, ``best``, or the mappings of a file). evaluate, compare, explain, map, sweep and
reproduce all go through here, so the same arch, layer and mapping give the same number in every command.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace

from costmodel.accounting import Accounting
from costmodel.arch import Arch, load_arch, with_lif_sharing
from costmodel.mapping import Invalid, InvalidKind, Mapping, load_layer_mappings
from costmodel.network import load_network
from costmodel.network_eval import MappingFailed, NetworkResult, accounting_layers, evaluate_network
from costmodel.types import Activity, Latency
from costmodel.workload import Layer, Network
from mappers.dataflows import check_flow
from mappers.search import SearchResult, default_dataflow, layer_mapper, map_layers, mapping_of, shape_key

MapperFn = Callable[[Layer], "Mapping | Invalid"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """A command's choices about accounting: the profile and the options a flag overrides (None: the
    profile's)."""

    profile: str | None = None
    activity: Activity | str | None = None
    latency: Latency | str | None = None
    lif_sharing: int | None = None


def resolve(arch: Arch, opts: Options | None = None) -> tuple[Arch, Accounting]:
    """The arch (with ``lif_sharing``) and the accounting profile (with overrides). Raises ``ValueError`` naming
    the flag when a profile does not exist or an option does not apply to the arch."""
    opts = opts or Options()
    if opts.profile is not None and opts.profile not in arch.profile_names:
        raise ValueError(f"--profile {opts.profile}: arch {arch.name} has profiles {', '.join(arch.profile_names)}")
    acc = arch.profile(opts.profile)
    if acc.dataflow is not None:
        check_flow(acc.dataflow, arch.crossbar is not None, flag=f"{arch.file}: profiles.{acc.name}.dataflow:")
    if opts.activity is not None:
        if arch.crossbar is None:
            raise ValueError(f"--activity: only for crossbar (in-memory-compute) archs, not {arch.name}")
        acc = acc.with_overrides(activity=Activity(opts.activity))
    if opts.latency is not None:
        latency = Latency(opts.latency)
        if latency is Latency.PER_OUTPUT_NEURON and arch.crossbar is None:
            raise ValueError(
                f"--latency {latency.value}: the public SpikeSim formula needs a crossbar arch, not {arch.name}"
            )
        acc = acc.with_overrides(latency=latency)
    if opts.lif_sharing is not None:
        arch = with_lif_sharing(arch, opts.lif_sharing)
    return arch, acc


def mapper(
    arch: Arch,
    *,
    dataflow: str | None = None,
    mapping_file: str | None = None,
    accounting: Accounting | None = None,
    quiet: bool = True,
    time_limit_s: float | None = None,
    objective: str = "energy",
    workers: int = 2,
    seed: int = 0,
) -> tuple[MapperFn, str]:
    """The per-layer mapping source and its label: the mappings of ``mapping_file`` (one for every layer, or one
    per layer as ``evaluate --json`` writes them), else the dataflow (default: the arch's, see
    :func:`mappers.search.default_dataflow`). ``best`` searches each layer with CP-SAT when it is asked for
    (:func:`run_network` maps a whole network's layer shapes up front, in parallel)."""
    if mapping_file is not None:
        if dataflow is not None:
            raise ValueError("give either --mapping or --dataflow, not both")
        loaded = load_layer_mappings(mapping_file, [lv.name for lv in arch.levels])
        if isinstance(loaded, Mapping):
            return (lambda _layer: loaded), f"mapping file {mapping_file}"

        def from_file(layer: Layer) -> Mapping | Invalid:
            if layer.name not in loaded:
                return Invalid(reason=f"{mapping_file}: no mapping for layer {layer.name!r}")
            return loaded[layer.name]

        return from_file, f"mappings of {mapping_file}"
    name = dataflow or default_dataflow(arch, accounting)
    fn = layer_mapper(
        arch,
        name,
        accounting=accounting,
        quiet=quiet,
        time_limit_s=time_limit_s,
        objective_name=objective,
        workers=workers,
        seed=seed,
    )
    return fn, name


def default_jobs(workers: int) -> int:
    """Processes that search layer shapes at once: the cores over the CP-SAT threads of each search; one inside a
    worker process (a sweep's point or a pool's task already runs in parallel with others)."""
    if multiprocessing.parent_process() is not None:
        return 1
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def map_best(
    arch: Arch,
    network: Network,
    acc: Accounting,
    *,
    objective: str = "energy",
    time_limit_s: float | None = None,
    seed: int = 0,
    workers: int = 1,
    jobs: int | None = None,
    quiet: bool = True,
) -> dict[Layer, SearchResult]:
    """``--dataflow best`` for a whole network: every distinct weight-layer shape (as the profile counts it) searched
    once with CP-SAT, ``jobs`` shapes at a time on a local process pool (the sweep's
    :func:`spikeloop.sweep.workers.local_executor`), ``time_limit_s`` per shape; keyed by
    :func:`mappers.search.shape_key`. ``workers``: CP-SAT threads per shape (default 1: on 2 cores two shapes at once
    with one thread each took 14.8 s for VGG16 Tiny-ImageNet at T = 4 on SATA, one shape at a time with two threads
    41.7 s, with the same total energy; tied optimal mappings may differ between worker counts, so a fixed count is
    part of what makes a run reproducible)."""
    layers = [la for la in accounting_layers(network, acc) if la.has_weights]
    shapes = len({shape_key(la) for la in layers})
    jobs = default_jobs(workers) if jobs is None else jobs

    def report(layer: Layer, res: SearchResult) -> None:
        if not quiet:
            gap = f", gap {100 * res.gap:.3f} %" if res.gap else ""
            print(f"  {layer.name}: {res.status.value}{gap} in {res.wall_s:.2f} s", file=sys.stderr)

    if jobs > 1 and shapes > 1:
        from spikeloop.sweep.workers import local_executor

        with local_executor(min(jobs, shapes)) as pool:
            return map_layers(
                arch,
                layers,
                objective_name=objective,
                time_limit_s=time_limit_s,
                seed=seed,
                workers=workers,
                accounting=acc,
                executor=pool,
                report=report,
            )
    return map_layers(
        arch,
        layers,
        objective_name=objective,
        time_limit_s=time_limit_s,
        seed=seed,
        workers=workers,
        accounting=acc,
        report=report,
    )


def run_network(
    arch: Arch,
    network: Network,
    *,
    dataflow: str | None = None,
    mapping_file: str | None = None,
    opts: Options | None = None,
    quiet: bool = True,
    objective: str = "energy",
    workers: int = 1,
    time_limit_s: float | None = None,
    seed: int = 0,
    jobs: int | None = None,
) -> NetworkResult:
    """Every layer mapped and priced under the resolved profile, the network's latency and area composed. With
    ``best`` the layer shapes are searched first (:func:`map_best`) and each layer reports its search's status and
    gap."""
    arch, acc = resolve(arch, opts)
    searched: dict[Layer, SearchResult] = {}
    if mapping_file is None and (dataflow or default_dataflow(arch, acc)) == "best":
        check_flow("best", arch.crossbar is not None)
        searched = map_best(
            arch,
            network,
            acc,
            objective=objective,
            time_limit_s=time_limit_s,
            seed=seed,
            workers=workers,
            jobs=jobs,
            quiet=quiet,
        )
        fn, label = (lambda layer: mapping_of(searched[shape_key(layer)])), "best"
        cut = sum(not r.reproducible for r in searched.values())
        if cut:  # said in the table's header and the JSON's method: the same command may give another result
            label = (
                f"best ({cut} of {len(searched)} searches cut short by a wall-clock limit or Ctrl-C: not reproducible)"
            )
    else:
        fn, label = mapper(
            arch,
            dataflow=dataflow,
            mapping_file=mapping_file,
            accounting=acc,
            quiet=quiet,
            objective=objective,
            workers=workers,
            time_limit_s=time_limit_s,
            seed=seed,
        )
    try:
        result = evaluate_network(arch, network, fn, method=label, accounting=acc)
    except MappingFailed as exc:
        raise ValueError(failure_message(exc, arch, network, mapping_file)) from None
    if not searched:
        return result
    by_name = {la.name: searched[shape_key(la)] for la in accounting_layers(network, acc) if la.has_weights}
    return replace(
        result,
        layers=tuple(
            replace(lr, search_status=by_name[lr.name].status.value, gap=by_name[lr.name].gap)
            if lr.name in by_name
            else lr
            for lr in result.layers
        ),
    )


def failure_message(exc: MappingFailed, arch: Arch, network: Network, mapping_file: str | None) -> str:
    """One line naming where a layer that cannot be mapped comes from: the mapping file (key ``mapping``), or
    the arch level that refuses it (``levels[i].capacity_bits`` for a tile that does not fit)."""
    net = network.file or f"network {network.name}"
    if mapping_file is not None:
        return f"{mapping_file}: mapping: {exc} ({net})"
    inv = exc.invalid
    if inv.key:
        return f"{arch.file or arch.name}: {inv.key}: {net}: {exc}"
    names = [lv.name for lv in arch.levels]
    key = "levels"
    if inv.level in names:
        key = f"levels[{names.index(inv.level)}]"
        key += {InvalidKind.CAPACITY: ".capacity_bits", InvalidKind.FANOUT: ".fanout"}.get(inv.kind, "")
    return f"{arch.file or arch.name}: {key}: {net}: {exc}"


def run_evaluate(
    arch_name: str,
    network_name: str,
    *,
    timesteps: int | None = None,
    dataflow: str | None = None,
    mapping_file: str | None = None,
    opts: Options | None = None,
    quiet: bool = True,
    time_limit_s: float | None = None,
    workers: int = 1,
    seed: int = 0,
) -> NetworkResult:
    """The Python face of ``spikeloop evaluate``: shipped names or YAML files."""
    return run_network(
        load_arch(arch_name),
        load_network(network_name, timesteps=timesteps),
        dataflow=dataflow,
        mapping_file=mapping_file,
        opts=opts,
        quiet=quiet,
        time_limit_s=time_limit_s,
        workers=workers,
        seed=seed,
    )


__all__ = ["MapperFn", "Options", "map_best", "mapper", "resolve", "run_evaluate", "run_network"]
