"""The documented Python API of spikeloop, in one place (``import spikeloop``; guide: ``docs/api.md``).

A thin, stable facade over the engine (:mod:`costmodel`, :mod:`mappers`) and the application modules
(:mod:`spikeloop.compare`, :mod:`spikeloop.sweep`): it resolves names, paths and dicts, checks every argument at
the boundary (``TypeError`` for a wrong type, ``ValueError`` for a wrong value, each naming the argument and what
it expected), and turns every result into flat records (:func:`records`, ready for ``pandas.DataFrame``) and
stable JSON (:func:`to_dict`, :func:`to_json`).

Nothing heavy is imported here at import time: the engine is imported inside the functions, and matplotlib and
OR-Tools only by the functions that draw or run CP-SAT.

Loading (each accepts a shipped name, a path to a YAML file, a dict already parsed, or the loaded value itself):

* :func:`load_arch` -> ``costmodel.arch.Arch``
* :func:`load_network` -> ``costmodel.workload.Network``
* :func:`load_mapping` -> ``costmodel.mapping.Mapping``

Evaluating and searching:

* :func:`evaluate` -> ``costmodel.network_eval.NetworkResult``
* :func:`evaluate_layer` -> ``costmodel.cost.Cost``
* :func:`search` -> ``mappers.search.SearchResult``
* :func:`compare_dataflows` -> ``spikeloop.compare.Comparison``
* :func:`sweep_grid` -> :class:`SweepResult`

``spikeloop.compare`` and ``spikeloop.sweep`` are the modules behind the last two, which is why the functions are
called ``compare_dataflows`` and ``sweep_grid``: a package attribute named like a submodule is replaced by the
submodule as soon as it is imported.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:  # the engine is imported lazily, inside the functions
    from costmodel.arch import Arch
    from costmodel.cost import Cost
    from costmodel.mapping import Mapping as LoopMapping
    from costmodel.network_eval import NetworkResult
    from costmodel.workload import Layer, Network
    from mappers.mapspace import Constraints
    from mappers.search import SearchResult
    from spikeloop.compare import Comparison
    from spikeloop.sweep import SweepSummary

__all__ = [
    "CROSSBAR_DATAFLOWS",
    "DATAFLOWS",
    "METHODS",
    "OBJECTIVES",
    "SweepResult",
    "compare_dataflows",
    "evaluate",
    "evaluate_layer",
    "load_arch",
    "load_mapping",
    "load_mappings",
    "load_network",
    "load_yaml",
    "records",
    "search",
    "shipped_archs",
    "shipped_networks",
    "sweep_grid",
    "to_dict",
    "to_json",
]

#: Dataflow names on a digital arch: the heuristic dataflows, the SATA tool's schedule (``scalesim``) and
#: ``best`` (CP-SAT per layer). Kept equal to ``mappers.dataflows.flow_names(False)`` plus ``best``.
DATAFLOWS: tuple[str, ...] = ("os", "ws", "time-batched", "scalesim", "best")
#: Dataflow names on a crossbar arch (``crossbar:`` section): how a layer fills the resident crossbars.
CROSSBAR_DATAFLOWS: tuple[str, ...] = ("packed", "spikesim", "time-batched", "best")
#: Search methods of :func:`search`.
METHODS: tuple[str, ...] = ("exhaustive", "random", "cpsat")
#: Search objectives of :func:`search` and of ``evaluate(dataflow="best")``.
OBJECTIVES: tuple[str, ...] = ("energy", "edp")

PathLike: TypeAlias = "str | os.PathLike[str]"
ArchLike: TypeAlias = "Arch | str | os.PathLike[str] | Mapping[str, Any]"
NetworkLike: TypeAlias = "Network | str | os.PathLike[str] | Mapping[str, Any]"
MappingLike: TypeAlias = "LoopMapping | str | os.PathLike[str] | Mapping[str, Any]"

_ACCOUNTING_OPTIONS = ("profile", "activity", "latency", "lif_sharing")
_BEST_OPTIONS = ("objective", "time_limit_s", "seed", "workers", "quiet")


# ============================================================================== argument checks
def _kind(value: Any) -> str:
    return "None" if value is None else f"{value!r} ({type(value).__name__})"


def _int(name: str, value: Any, *, minimum: int = 1) -> int:
    """An int (not a bool, float or string) >= ``minimum``: TypeError / ValueError naming ``name``."""
    what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected {what}, got {_kind(value)}")
    if value < minimum:
        raise ValueError(f"{name}: expected {what}, got {value}")
    return value


def _opt_int(name: str, value: Any, *, minimum: int = 1) -> int | None:
    return None if value is None else _int(name, value, minimum=minimum)


def _positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name}: expected a positive number, got {_kind(value)}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: expected a positive finite number, got {value!r}")
    return float(value)


def _choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected one of {', '.join(allowed)}, got {_kind(value)}")
    if value not in allowed:
        raise ValueError(f"{name}: expected one of {', '.join(allowed)}, got {value!r}")
    return value


def _str(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{name}: expected a non-empty string, got {_kind(value)}")
    return value


def _looks_like_path(value: str | os.PathLike[str]) -> bool:
    if not isinstance(value, str):
        return True
    return value.endswith((".yaml", ".yml")) or "/" in value or os.sep in value


def _user_path(name: str, value: str | os.PathLike[str]) -> Path:
    p = Path(value)
    if not p.exists():
        raise FileNotFoundError(f"{name}: no such file {os.fspath(value)!r}")
    return p


# A string that the project's YAML reader reads as a float but plain PyYAML (YAML 1.1) keeps as a string:
# ``4.0e8`` and ``1e9`` (YAML 1.1 wants a dot and a signed exponent, ``4.0e+8``).
_EXP_FLOAT = re.compile(r"got the string '([-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+)'")


def _dict_error(exc: Exception) -> Exception:
    """A loader error for dict input, with a hint when a number arrived as a string from plain PyYAML."""
    m = _EXP_FLOAT.search(str(exc))
    if not m:
        return exc
    hint = (
        f" (plain yaml.safe_load reads {m.group(1)} as a string under YAML 1.1: write it with a dot and a signed "
        "exponent such as 4.0e+8, give the file's path instead, or parse it with spikeloop.load_yaml)"
    )
    return type(exc)(str(exc) + hint)


# ============================================================================== loading
def load_yaml(path: PathLike) -> Any:
    """Parse a YAML file the way every spikeloop loader does (``1e9`` is a number; duplicate keys, alias bombs,
    binary and oversized files are refused with one line naming the file). Returns plain Python data."""
    from costmodel.specio import load_yaml as _load

    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path: expected a path to a YAML file, got {_kind(path)}")
    return _load(Path(path))


def shipped_archs() -> list[str]:
    """Names of the shipped architectures (``archspecs/*.yaml``), e.g. ``generic3``, ``sata``, ``spikeflow``."""
    import archspecs

    return archspecs.arch_names()


def shipped_networks() -> list[str]:
    """Names of the shipped networks (``archspecs/networks/*.yaml``), e.g. ``vgg5-cifar10``."""
    import archspecs

    return archspecs.network_names()


def load_arch(arch: ArchLike) -> Arch:
    """An architecture from a shipped name (``"generic3"``), a path to an arch YAML file, a dict (parsed YAML,
    validated by the same strict loader) or an :class:`~costmodel.arch.Arch` (returned as is).

    Errors: ``TypeError`` for anything else; ``FileNotFoundError`` for a path that does not exist;
    ``ValueError`` for an unknown name; :class:`~costmodel.specio.SpecError` (a ``ValueError``) for a malformed
    spec, naming the file as you gave it (or ``<arch dict>``) and the key path. Schema: ``docs/formats.md``.
    """
    from costmodel.arch import Arch, arch_from_dict
    from costmodel.arch import load_arch as _load_shipped
    from costmodel.specio import load_yaml as _load

    if isinstance(arch, Arch):
        return arch
    if isinstance(arch, Mapping):
        try:
            return arch_from_dict(dict(arch), "<arch dict>")
        except ValueError as exc:
            raise _dict_error(exc) from None
    if not isinstance(arch, str | os.PathLike):
        raise TypeError(f"arch: expected a shipped name, a path to a YAML file, a dict or an Arch, got {_kind(arch)}")
    if _looks_like_path(arch):
        p = _user_path("arch", arch)
        return arch_from_dict(_load(p), os.fspath(arch))
    names = shipped_archs()
    if arch not in names:
        raise ValueError(f"arch: unknown name {arch!r}; shipped: {', '.join(names)} (or give a path to a .yaml file)")
    return _load_shipped(arch)


def load_network(network: NetworkLike, timesteps: int | None = None) -> Network:
    """A network from a shipped name (``"vgg5-cifar10"``), a path to a network YAML file, a dict or a
    :class:`~costmodel.workload.Network`.

    ``timesteps`` (a positive int) overrides the file's T; per-timestep spike densities are then replaced by their
    mean. Errors as :func:`load_arch` (``<network dict>`` names a dict).
    """
    from costmodel.network import load_network as _load_shipped
    from costmodel.network import network_from_data
    from costmodel.specio import load_yaml as _load
    from costmodel.workload import Network

    t = _opt_int("timesteps", timesteps)
    if isinstance(network, Network):
        net = network
    elif isinstance(network, Mapping):
        try:
            net = network_from_data(dict(network), "<network dict>")
        except ValueError as exc:
            raise _dict_error(exc) from None
    elif not isinstance(network, str | os.PathLike):
        raise TypeError(
            f"network: expected a shipped name, a path to a YAML file, a dict or a Network, got {_kind(network)}"
        )
    elif _looks_like_path(network):
        p = _user_path("network", network)
        net = network_from_data(_load(p), os.fspath(network))
    else:
        names = shipped_networks()
        if network not in names:
            raise ValueError(
                f"network: unknown name {network!r}; shipped: {', '.join(names)} (or give a path to a .yaml file)"
            )
        net = _load_shipped(network)
    if t is not None and t != net.timesteps:
        return net.with_timesteps(t)
    return net


def load_mapping(mapping: MappingLike, arch: ArchLike) -> LoopMapping:
    """A loop-nest mapping from a path to a mapping YAML file, a dict (``{"mapping": [...]}``) or a
    :class:`~costmodel.mapping.Mapping`, for ``arch`` (its level names must match the arch's, in order)."""
    from costmodel.mapping import Mapping as LoopMapping
    from costmodel.mapping import mapping_from_dict
    from costmodel.specio import load_yaml as _load

    a = load_arch(arch)
    names = [lv.name for lv in a.levels]
    if isinstance(mapping, LoopMapping):
        if len(mapping.levels) != len(names):
            raise ValueError(f"mapping: has {len(mapping.levels)} levels, arch {a.name} has {len(names)}")
        return mapping
    if isinstance(mapping, Mapping):
        try:
            return mapping_from_dict(dict(mapping), names, "<mapping dict>")
        except ValueError as exc:
            raise _dict_error(exc) from None
    if not isinstance(mapping, str | os.PathLike):
        raise TypeError(f"mapping: expected a path to a YAML file, a dict or a Mapping, got {_kind(mapping)}")
    p = _user_path("mapping", mapping)
    return mapping_from_dict(_load(p), names, os.fspath(mapping))


def load_mappings(mapping: MappingLike | Mapping[str, Any], arch: ArchLike) -> LoopMapping | dict[str, LoopMapping]:
    """One mapping for every layer (as :func:`load_mapping`), or per-layer mappings by layer name from a file or
    dict with ``layers: [{name, mapping}, ...]`` (what ``spikeloop evaluate --json`` writes: replay it)."""
    from costmodel.mapping import Mapping as LoopMapping
    from costmodel.mapping import layer_mappings_from_dict
    from costmodel.specio import load_yaml as _load

    a = load_arch(arch)
    names = [lv.name for lv in a.levels]
    if isinstance(mapping, LoopMapping):
        return load_mapping(mapping, a)
    if isinstance(mapping, Mapping):
        try:
            return layer_mappings_from_dict(dict(mapping), names, "<mapping dict>")
        except ValueError as exc:
            raise _dict_error(exc) from None
    if not isinstance(mapping, str | os.PathLike):
        raise TypeError(f"mapping: expected a path to a YAML/JSON file, a dict or a Mapping, got {_kind(mapping)}")
    p = _user_path("mapping", mapping)
    return layer_mappings_from_dict(_load(p), names, os.fspath(mapping))


def _layer(network: NetworkLike | None, layer: Any) -> Layer:
    from costmodel.workload import Layer

    if isinstance(layer, Layer):
        return layer
    if isinstance(layer, str):
        if network is None:
            raise TypeError(f"layer: a layer name ({layer!r}) needs network= (a name, path, dict or Network)")
        net = load_network(network)
        try:
            return net.layer(layer)
        except KeyError as exc:
            raise ValueError(f"layer: {exc.args[0]}") from None
    raise TypeError(f"layer: expected a Layer (network.layer(name)) or a layer name with network=, got {_kind(layer)}")


# ============================================================================== mapping sources
def _options(arch: Arch, options: Mapping[str, Any], allowed: Sequence[str]) -> Any:
    """The accounting keywords as :class:`spikeloop.engine.Options`, each checked and named on error."""
    from costmodel.types import Activity, Latency
    from spikeloop.engine import Options

    unknown = [k for k in options if k not in allowed]
    if unknown:
        raise TypeError(f"unexpected option {unknown[0]!r}; accepted: {', '.join(allowed)}")
    prof = options.get("profile")
    if prof is not None:
        _choice("profile", prof, arch.profile_names)
    activity = options.get("activity")
    if activity is not None:
        _choice("activity", activity, [a.value for a in Activity])
        if arch.crossbar is None:
            raise ValueError(f"activity: only for crossbar (in-memory-compute) archs, not {arch.name}")
    latency = options.get("latency")
    if latency is not None:
        _choice("latency", latency, [la.value for la in Latency])
    return Options(
        profile=prof,
        activity=activity,
        latency=latency,
        lif_sharing=_opt_int("lif_sharing", options.get("lif_sharing")),
    )


def _dataflows(arch: Arch) -> tuple[str, ...]:
    """The dataflow names of ``arch``: :data:`DATAFLOWS` (digital) or :data:`CROSSBAR_DATAFLOWS`."""
    _check_dataflows()
    return CROSSBAR_DATAFLOWS if arch.crossbar is not None else DATAFLOWS


def _check_dataflows() -> None:
    from mappers.dataflows import flow_names

    for crossbar, ours in ((False, DATAFLOWS), (True, CROSSBAR_DATAFLOWS)):
        engine = (*flow_names(crossbar), "best")
        if engine != ours:  # pragma: no cover - the engine gained or lost a dataflow
            raise RuntimeError(f"spikeloop.api dataflow names are out of date: the engine has {', '.join(engine)}")


def _mapper(
    arch: Arch, acc: Any, dataflow: str | None, mapping: MappingLike | None, best: Mapping[str, Any]
) -> tuple[Callable[[Layer], Any], str]:
    """``Layer -> Mapping | Invalid`` and its label: the mapping given (one for every layer, or a dict of them by
    layer name as ``evaluate --json`` writes), else the dataflow (default: the profile's or the arch's)."""
    from mappers.search import default_dataflow, layer_mapper

    if mapping is not None:
        if dataflow is not None:
            raise ValueError("give either mapping= or dataflow=, not both")
        if best:
            raise TypeError(f"unexpected option {next(iter(best))!r}: it goes with dataflow='best'")
        fixed = load_mappings(mapping, arch)
        label = f"mapping file {os.fspath(mapping)}" if isinstance(mapping, str | os.PathLike) else "mapping"
        if not isinstance(fixed, dict):
            return (lambda _layer: fixed), label

        def by_name(layer: Layer) -> Any:
            from costmodel.mapping import Invalid

            return fixed.get(layer.name) or Invalid(reason=f"mapping: no mapping for layer {layer.name!r}")

        return by_name, label
    name = _choice("dataflow", dataflow, _dataflows(arch)) if dataflow is not None else default_dataflow(arch, acc)
    if best and name != "best":
        raise TypeError(f"unexpected option {next(iter(best))!r}: {', '.join(_BEST_OPTIONS)} go with dataflow='best'")
    fn = layer_mapper(
        arch,
        name,
        accounting=acc,
        quiet=bool(best.get("quiet", True)),
        objective_name=_choice("objective", best.get("objective", "energy"), OBJECTIVES),
        time_limit_s=_positive_float("time_limit_s", best.get("time_limit_s", 10.0)),
        seed=_int("seed", best.get("seed", 0), minimum=0),
        workers=_int("workers", best.get("workers", 2)),
    )
    return fn, name


def _split(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    acc = {k: v for k, v in options.items() if k in _ACCOUNTING_OPTIONS}
    best = {k: v for k, v in options.items() if k not in _ACCOUNTING_OPTIONS}
    unknown = [k for k in best if k not in _BEST_OPTIONS]
    if unknown:
        raise TypeError(
            f"unexpected option {unknown[0]!r}; accepted: {', '.join((*_ACCOUNTING_OPTIONS, *_BEST_OPTIONS))}"
        )
    return acc, best


# ============================================================================== evaluating
def evaluate(
    arch: ArchLike,
    network: NetworkLike,
    *,
    dataflow: str | None = None,
    mapping: MappingLike | None = None,
    timesteps: int | None = None,
    **options: Any,
) -> NetworkResult:
    """Energy, cycles, latency, area and EDP of every layer of ``network`` on ``arch`` (``spikeloop evaluate``):
    one engine for every arch, digital or crossbar.

    Each weight layer is mapped by ``dataflow`` (default: the accounting profile's, else ``os`` on a digital arch
    and ``packed`` on a crossbar arch; names: :data:`DATAFLOWS`, :data:`CROSSBAR_DATAFLOWS`; ``"best"`` = CP-SAT
    per layer, with options ``objective``, ``time_limit_s`` (per layer, default 10), ``seed``, ``workers``,
    ``quiet``), or by ``mapping`` (one mapping for every weight layer, or a dict / file with ``layers:`` giving
    each layer its own, as ``evaluate --json`` writes). Pool and add layers are priced without a loop nest.

    Accounting options: ``profile`` (a name of the arch's ``profiles:``, default its ``default_profile``),
    ``activity`` (``dense``, ``event``; crossbar archs), ``latency`` (``sequential``, ``pipelined``,
    ``per-output-neuron``) and ``lif_sharing`` (a positive int).

    Returns a :class:`~costmodel.network_eval.NetworkResult` (``.layers``, ``.total``); flat records with
    :func:`records`, the JSON of ``spikeloop evaluate --json`` with :func:`to_dict`. A layer with no legal mapping
    raises ``ValueError`` naming it and the arch key that refuses it.
    """
    from costmodel.network_eval import MappingFailed, evaluate_network
    from spikeloop.engine import failure_message, resolve

    a = load_arch(arch)
    net = load_network(network, timesteps=timesteps)
    acc_opts, best = _split(options)
    a, acc = resolve(a, _options(a, acc_opts, _ACCOUNTING_OPTIONS))
    fn, label = _mapper(a, acc, dataflow, mapping, best)
    try:
        return evaluate_network(a, net, fn, method=label, accounting=acc)
    except MappingFailed as exc:
        shown = os.fspath(mapping) if isinstance(mapping, str | os.PathLike) else None
        raise ValueError(failure_message(exc, a, net, shown)) from None


def evaluate_layer(
    arch: ArchLike,
    layer: Layer | str,
    *,
    mapping: MappingLike | None = None,
    dataflow: str | None = None,
    network: NetworkLike | None = None,
    profile: str | None = None,
) -> Cost:
    """The :class:`~costmodel.cost.Cost` of one layer under ``mapping`` or a heuristic ``dataflow`` (default as
    :func:`evaluate`; ``best`` is :func:`search`), priced with the accounting ``profile``.

    ``layer`` is a :class:`~costmodel.workload.Layer` (``spikeloop.load_network(...).layer("conv2")``) or a layer
    name with ``network=``. A mapping that does not fit raises :class:`~costmodel.network_eval.MappingFailed`
    (a ``ValueError``) with the reason (level, tensor, numbers).
    """
    from costmodel.evaluate import evaluate as _evaluate
    from costmodel.mapping import Invalid
    from costmodel.network_eval import MappingFailed, weightless_cost
    from spikeloop.engine import resolve

    a = load_arch(arch)
    lay = _layer(network, layer)
    a, acc = resolve(a, _options(a, {"profile": profile}, ("profile",)))
    if not lay.has_weights:
        if mapping is not None or dataflow is not None:
            raise ValueError(f"layer: {lay.name} is a {lay.kind.value} layer: it has no loop nest to map")
        return weightless_cost(a, lay, acc)
    if dataflow == "best":
        raise ValueError("dataflow: 'best' is a search: use spikeloop.search(arch, layer)")
    fn, label = _mapper(a, acc, dataflow, mapping, {})
    m = fn(lay)
    if isinstance(m, Invalid):
        raise MappingFailed(lay.name, m, f"layer {lay.name}: no legal {label} mapping on {a.name}: {m}")
    c = _evaluate(a, lay, m, acc)
    if isinstance(c, Invalid):
        raise MappingFailed(lay.name, c, f"layer {lay.name}: {c}")
    return c


# ============================================================================== searching
def search(
    arch: ArchLike,
    layer: Layer | str,
    *,
    method: str = "cpsat",
    objective: str = "energy",
    dataflow: str | None = None,
    constraints: Constraints | PathLike | None = None,
    time_limit_s: float | None = None,
    seed: int = 0,
    workers: int = 2,
    top_k: int = 5,
    network: NetworkLike | None = None,
    quiet: bool = True,
    profile: str | None = None,
) -> SearchResult:
    """Search the mapspace of one weight layer (``spikeloop map``): ``method`` ``exhaustive``, ``random`` or
    ``cpsat``; ``objective`` ``energy`` or ``edp``; ``dataflow`` (a name of the arch's, or None = free) and/or
    ``constraints`` (a constraints YAML path or a ``mappers.mapspace.Constraints``) restrict it; mappings are
    priced under the accounting ``profile``.

    ``time_limit_s``: seconds (CP-SAT default 30, random 10, exhaustive none); ``seed`` and ``workers`` (CP-SAT
    threads) make runs repeatable. Returns a :class:`~mappers.search.SearchResult`: ``status`` (OPTIMAL,
    FEASIBLE, INFEASIBLE, UNKNOWN), ``mapping``, ``cost`` (re-evaluated by ``costmodel.evaluate``), ``bound``,
    ``gap``, ``evaluated``, ``wall_s``, ``top``. For :func:`records` and :func:`to_dict` pass ``arch=`` too
    (the result does not carry its arch's level names).
    """
    from mappers.mapspace import Constraints, load_constraints
    from mappers.search import constraints_for
    from mappers.search import search as _search
    from spikeloop.engine import resolve

    a = load_arch(arch)
    lay = _layer(network, layer)
    a, acc = resolve(a, _options(a, {"profile": profile}, ("profile",)))
    if not lay.has_weights:
        raise ValueError(f"layer: {lay.name} is a {lay.kind.value} layer: it has no loop nest to map")
    _choice("method", method, METHODS)
    _choice("objective", objective, OBJECTIVES)
    if dataflow is not None:
        _choice("dataflow", dataflow, _dataflows(a)[:-1])
    limit = None if time_limit_s is None else _positive_float("time_limit_s", time_limit_s)
    _int("seed", seed, minimum=0)
    _int("workers", workers)
    _int("top_k", top_k)
    extra: Constraints | None
    if constraints is None or isinstance(constraints, Constraints):
        extra = constraints
    elif isinstance(constraints, str | os.PathLike):
        extra = load_constraints(_user_path("constraints", constraints), a)
    else:
        raise TypeError(
            f"constraints: expected a path to a constraints YAML or a Constraints, got {_kind(constraints)}"
        )
    cons = constraints_for(a, dataflow, extra)
    return _search(
        a,
        lay,
        method=method,
        objective_name=objective,
        constraints=cons,
        time_limit_s=limit,
        seed=seed,
        workers=workers,
        top_k=top_k,
        quiet=quiet,
        accounting=acc,
    )


# ============================================================================== comparing, sweeping
def compare_dataflows(
    arch: ArchLike,
    network: NetworkLike,
    dataflows: Sequence[str] | None = None,
    timesteps: Sequence[int] | None = None,
    *,
    profile: str | None = None,
) -> Comparison:
    """``network`` on ``arch`` for every (dataflow, T) (``spikeloop compare``) under one accounting ``profile``:
    a :class:`spikeloop.compare.Comparison` whose ``results[(dataflow, T)]`` are network results. ``dataflows``
    defaults to every named dataflow of the arch (``os``, ``ws``, ``time-batched``, ``scalesim`` on a digital
    arch; ``packed``, ``spikesim``, ``time-batched`` on a crossbar arch); ``timesteps`` to the network file's T.
    :func:`records` gives one row per (dataflow, T); per-layer winners and the deciding energy term are in
    ``spikeloop.compare.layer_verdicts(comparison, T)``; files (Markdown, CSV, JSON, PNG) with
    ``spikeloop.compare.write_comparison(comparison, out_dir)``.
    """
    from spikeloop.compare import Comparison
    from spikeloop.engine import run_network

    a = load_arch(arch)
    opts = _options(a, {"profile": profile}, ("profile",))
    base = load_network(network)
    names = _dataflows(a)
    if dataflows is None:
        flows = names[:-1]
    elif isinstance(dataflows, str) or not isinstance(dataflows, Iterable):
        raise TypeError(f"dataflows: expected a list of dataflow names, got {_kind(dataflows)}")
    else:
        flows = tuple(_choice("dataflows", d, names) for d in dataflows)
    if not flows or len(set(flows)) != len(flows):
        raise ValueError(f"dataflows: expected distinct dataflow names, got {list(flows)}")
    if timesteps is None:
        ts: tuple[int, ...] = (base.timesteps,)
    elif isinstance(timesteps, Iterable) and not isinstance(timesteps, str):
        ts = tuple(_int("timesteps", t) for t in timesteps)
    else:
        raise TypeError(f"timesteps: expected a list of positive integers, got {_kind(timesteps)}")
    if not ts or len(set(ts)) != len(ts):
        raise ValueError(f"timesteps: expected distinct positive integers, got {list(ts)}")
    results = {}
    for t in ts:
        net = base.with_timesteps(t) if t != base.timesteps else base
        for df in flows:
            results[(df, t)] = run_network(a, net, dataflow=df, opts=opts)
    return Comparison(arch=a.name, network=base.name, dataflows=flows, timesteps=ts, results=results)


class _InProcess(Executor):
    """Runs each task at submit time in this process (``sweep_grid(workers=0)``)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:  # noqa: ANN401
        fut: Future[Any] = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future, as a pool would
            fut.set_exception(exc)
        return fut


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepResult:
    """A finished :func:`sweep_grid`: the run's counts (``summary``) and the JSON-lines file of every point
    (``out``, including points done by earlier runs)."""

    grid: str
    out: Path
    summary: SweepSummary

    def to_records(self) -> list[dict[str, Any]]:
        """One flat dict per point of the results file (parameters, status, totals; breakdown flattened as
        ``breakdown_pj.<level/tensor/action>``, overrides as ``overrides.<path>``; ``layers`` as JSON text)."""
        from spikeloop.sweep import read_records

        recs, _bad = read_records(self.out)
        return [_flat(r) for r in recs]

    def to_dict(self) -> dict[str, Any]:
        """``grid``, ``out``, the summary counts and ``records`` (the file's records as written)."""
        from spikeloop.sweep import read_records

        s = self.summary
        recs, bad = read_records(self.out)
        return {
            "grid": self.grid,
            "out": str(self.out),
            "points": s.points,
            "already_done": s.already_done,
            "evaluated": s.evaluated,
            "failed": s.failed,
            "not_run": s.not_run,
            "wall_s": s.wall_s,
            "failures": list(s.failures),
            "bad_lines": bad,
            "records": recs,
        }


def sweep_grid(
    grid: PathLike | Mapping[str, Any], out: PathLike, *, workers: int | None = None, retry_failed: bool = False
) -> SweepResult:
    """Evaluate every point of a grid (``spikeloop sweep --grid``) and append one JSON line per point to ``out``;
    points already in ``out`` are skipped (resume). ``grid`` is a grid YAML path or a dict of the same keys
    (arch and network entries are names or paths relative to the working directory). ``workers``: processes of
    a local pool (default: every core), or 0 to run in this process. Returns a :class:`SweepResult`.
    """
    import tempfile

    import yaml

    from costmodel.specio import SpecError
    from spikeloop.sweep import load_grid, local_executor, run_sweep

    if not isinstance(out, str | os.PathLike):
        raise TypeError(f"out: expected a path to a JSON-lines file, got {_kind(out)}")
    n = (os.cpu_count() or 1) if workers is None else _int("workers", workers, minimum=0)
    if isinstance(grid, Mapping):
        with tempfile.TemporaryDirectory() as tmp:
            f = Path(tmp) / "grid.yaml"
            f.write_text(yaml.safe_dump(dict(grid), sort_keys=False))
            try:
                g = load_grid(f)
            except SpecError as exc:
                raise SpecError(str(exc).replace(str(f), "<grid dict>")) from None
        shown = "<grid dict>"
    elif isinstance(grid, str | os.PathLike):
        g = load_grid(_user_path("grid", grid))
        shown = os.fspath(grid)
    else:
        raise TypeError(f"grid: expected a path to a grid YAML or a dict, got {_kind(grid)}")
    executor: Executor = _InProcess() if n == 0 else local_executor(n)
    try:
        summary = run_sweep(g.tasks, Path(out), executor, max_inflight=max(4 * n, 8), retry_failed=retry_failed)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    return SweepResult(grid=shown, out=Path(out), summary=summary)


# ============================================================================== records and JSON
def _flat(d: Mapping[str, Any]) -> dict[str, Any]:
    from costmodel.records import flat

    return flat(d)


def _level_names(result: Any, arch: ArchLike | None) -> list[str]:
    if arch is None:
        raise TypeError(
            f"arch: a {type(result).__name__} does not carry its arch's level names: pass arch= (the arch searched)"
        )
    return [lv.name for lv in load_arch(arch).levels]


def to_dict(result: Any, *, arch: ArchLike | None = None) -> dict[str, Any]:
    """The stable JSON form of any result of this API: a network result (the JSON of ``spikeloop evaluate
    --json``), a ``Cost``, a search result (``spikeloop map --json``; needs ``arch=``), a comparison (``compare.json``
    of ``spikeloop compare --out``) or a :class:`SweepResult`. Keys: ``docs/formats.md``."""
    from costmodel.cost import Cost
    from costmodel.network_eval import NetworkResult
    from mappers.search import SearchResult
    from spikeloop.compare import Comparison, layer_verdicts, summary_rows

    if isinstance(result, NetworkResult):
        return result.to_dict()
    if isinstance(result, Cost):
        return result.to_dict()
    if isinstance(result, SearchResult):
        return result.to_dict(_level_names(result, arch))
    if isinstance(result, Comparison):
        return {
            "arch": result.arch,
            "network": result.network,
            "dataflows": list(result.dataflows),
            "T": list(result.timesteps),
            "summary": summary_rows(result),
            "verdicts": [v for t in result.timesteps for v in layer_verdicts(result, t)],
            "results": [{"dataflow": df, **res.to_dict()} for (df, _t), res in result.results.items()],
        }
    if isinstance(result, SweepResult):
        return result.to_dict()
    raise TypeError(f"result: expected a result of the spikeloop API, got {type(result).__name__}")


def to_json(result: Any, *, arch: ArchLike | None = None, indent: int | None = 1) -> str:
    """:func:`to_dict` as JSON text (keys in a fixed order, plain numbers)."""
    return json.dumps(to_dict(result, arch=arch), indent=indent)


def records(result: Any, *, arch: ArchLike | None = None) -> list[dict[str, Any]]:
    """Flat dicts, ready for ``pandas.DataFrame(records(result))``.

    * network result: one row per layer (``arch``, ``network``, ``T``, ``method``, ``layer``, ``kind``, the cost
      keys, ``mapping`` as one line, ``t_position``, ``breakdown_pj.<level/tensor/action>``, ``layer_area_mm2``,
      ``pes``, ``tiles``, ``utilization``);
    * ``Cost``: one row; search result: one row for the best mapping (needs ``arch=``);
    * comparison: one row per (dataflow, T) with the memory / compute / static split;
    * :class:`SweepResult`: one row per point of its results file.
    """
    from costmodel.cost import Cost
    from costmodel.network_eval import NetworkResult
    from mappers.search import SearchResult
    from spikeloop.compare import Comparison, summary_rows

    if isinstance(result, NetworkResult):
        from costmodel.records import network_records

        return network_records(result.to_dict())
    if isinstance(result, Cost):
        return result.to_records()
    if isinstance(result, SearchResult):
        d = result.to_dict(_level_names(result, arch))
        d.pop("top", None)
        return [_flat(d)]
    if isinstance(result, Comparison):
        return summary_rows(result)
    if isinstance(result, SweepResult):
        return result.to_records()
    raise TypeError(f"result: expected a result of the spikeloop API, got {type(result).__name__}")
