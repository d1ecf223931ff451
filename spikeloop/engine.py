"""What every command does before it prices anything, written once: the arch (with a LIF-sharing override),
the accounting profile (with option overrides, refused by name where they do not apply), and the per-layer
mapping source (a dataflow, ``best``, or the mappings of a file). evaluate, compare, explain, map, sweep and
reproduce all go through here, so the same arch, layer and mapping give the same number in every command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from costmodel.accounting import Accounting
from costmodel.arch import Arch, load_arch, with_lif_sharing
from costmodel.mapping import Invalid, InvalidKind, Mapping, load_layer_mappings
from costmodel.network import load_network
from costmodel.network_eval import MappingFailed, NetworkResult, evaluate_network
from costmodel.types import Activity, Latency
from costmodel.workload import Layer, Network
from mappers.dataflows import check_flow
from mappers.search import default_dataflow, layer_mapper

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
        raise ValueError(f"--profile {opts.profile}: arch {arch.name} has profiles "
                         f"{', '.join(arch.profile_names)}")
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
            raise ValueError(f"--latency {latency.value}: the public SpikeSim formula needs a crossbar arch, not "
                             f"{arch.name}")
        acc = acc.with_overrides(latency=latency)
    if opts.lif_sharing is not None:
        arch = with_lif_sharing(arch, opts.lif_sharing)
    return arch, acc


def mapper(arch: Arch, *, dataflow: str | None = None, mapping_file: str | None = None,
           accounting: Accounting | None = None, quiet: bool = True, time_limit_s: float = 10.0,
           objective: str = "energy", workers: int = 2) -> tuple[MapperFn, str]:
    """The per-layer mapping source and its label: the mappings of ``mapping_file`` (one for every layer, or one
    per layer as ``evaluate --json`` writes them), else the dataflow (default: the arch's, see
    :func:`mappers.search.default_dataflow`)."""
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
    fn = layer_mapper(arch, name, accounting=accounting, quiet=quiet, time_limit_s=time_limit_s,
                      objective_name=objective, workers=workers)
    return fn, name


def run_network(arch: Arch, network: Network, *, dataflow: str | None = None, mapping_file: str | None = None,
                opts: Options | None = None, quiet: bool = True, objective: str = "energy", workers: int = 2,
                time_limit_s: float = 10.0) -> NetworkResult:
    """Every layer mapped and priced under the resolved profile, the network's latency and area composed."""
    arch, acc = resolve(arch, opts)
    fn, label = mapper(arch, dataflow=dataflow, mapping_file=mapping_file, accounting=acc, quiet=quiet,
                       objective=objective, workers=workers, time_limit_s=time_limit_s)
    try:
        return evaluate_network(arch, network, fn, method=label, accounting=acc)
    except MappingFailed as exc:
        raise ValueError(failure_message(exc, arch, network, mapping_file)) from None


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


def run_evaluate(arch_name: str, network_name: str, *, timesteps: int | None = None, dataflow: str | None = None,
                 mapping_file: str | None = None, opts: Options | None = None, quiet: bool = True) -> NetworkResult:
    """The Python face of ``spikeloop evaluate``: shipped names or YAML files."""
    return run_network(load_arch(arch_name), load_network(network_name, timesteps=timesteps), dataflow=dataflow,
                       mapping_file=mapping_file, opts=opts, quiet=quiet)


__all__ = ["MapperFn", "Options", "mapper", "resolve", "run_evaluate", "run_network"]
