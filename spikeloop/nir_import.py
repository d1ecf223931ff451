"""NIR import: a Neuromorphic Intermediate Representation graph -> a spikeloop network and its weights.

:func:`import_nir` reads a NIR graph (a ``nir.NIRGraph`` or a ``.nir`` file written by ``nir.write``) of
Input / Output / Conv2d / Linear / Affine / LIF / CubaLIF / IF / LI / SumPool2d / AvgPool2d / Flatten / Scale
/ Threshold nodes, including residual graphs (several edges into one node sum their inputs), and returns an
:class:`ImportResult`: the network YAML data (the schema of :mod:`costmodel.network`, validated by
:func:`costmodel.network.network_from_data`), the weights as a plain state dict (``<layer>.weight``,
``<layer>.bias``, float32) and the lists of notes and approximations. ``docs/formats.md`` ("Network YAML
produced by import-nir", "Weights .npz") documents the mapping; in short:

* Every Conv2d, Linear/Affine and SumPool2d/AvgPool2d node becomes a layer of that node's name (conv, linear,
  pool: avg); a node with several incoming edges gets an ``add`` layer named ``<node>.add`` in front of it.
  Input and Flatten nodes only carry shapes (spikeloop's linear layers flatten C x H x W themselves).
* A neuron node (LIF, CubaLIF, IF, LI, Threshold) after a layer becomes that layer's ``neuron``:
  ``leak = 1 - dt/tau`` (forward Euler at ``dt``; IF: leak 1), ``threshold = v_threshold / gain`` where
  ``gain`` is the per-step input gain ``dt*r/tau`` (IF: ``dt*r``), exact because the membrane is linear in
  its input; ``v_leak`` becomes a bias term ``(dt/tau)*v_leak/gain`` of the layer before the neuron.
  NIR neurons reset to ``v_reset`` (hard reset), so the written reset is ``hard`` unless ``reset`` says
  otherwise.
* Scale nodes and SumPool2d's factor (``kernel rows x cols``, as spikeloop pools are ``avg``) are folded into
  the weights of the conv/linear layer after them (input channels) or before them (output channels), or into
  the threshold of the neuron after them, wherever that is exact.
* What the schema cannot hold is listed in :attr:`ImportResult.approximations` (``strict=True`` refuses
  instead); unsupported node types and structures are refused with a one-line error naming the node.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from costmodel.network import network_from_data
from costmodel.specio import SpecError
from costmodel.workload import Reset

__all__ = [
    "DEFAULT_DT",
    "SUPPORTED_NODE_TYPES",
    "ImportResult",
    "ImportedLayer",
    "Reduce",
    "import_nir",
    "network_yaml",
    "write_network",
    "write_weights",
]

#: Forward-Euler step (seconds) that turns NIR time constants into per-step leaks: snnTorch's exporter writes
#: ``tau = dt / (1 - beta)`` with this dt.
DEFAULT_DT = 1e-4
#: The leak written for a memoryless Threshold node (the network schema needs 0 < leak <= 1).
THRESHOLD_LEAK = 1e-6
#: Relative tolerance for "uniform" parameter arrays and for "gain is 1" (float32 arithmetic of exporters).
RTOL = 1e-6

INPUT = "input"  # the name by which network YAML layers refer to the network input

SUPPORTED_NODE_TYPES: tuple[str, ...] = (
    "Input", "Output", "Conv2d", "Linear", "Affine", "LIF", "CubaLIF", "IF", "LI", "SumPool2d", "AvgPool2d",
    "Flatten", "Scale", "Threshold",
)  # fmt: skip
_UNSUPPORTED_HINT = {"NIRGraph": " (a nested subgraph, as exporters write recurrent layers)"}


class Reduce(StrEnum):
    """What to do with per-neuron parameter arrays that are not uniform (one neuron per layer in spikeloop)."""

    NONE = "none"  # refuse, naming the node and the parameter
    MEAN = "mean"  # take the mean (listed as an approximation)


@dataclass(frozen=True, slots=True)
class ImportedLayer:
    """One layer of the imported network and the NIR nodes it came from (for reports)."""

    name: str
    kind: str
    nodes: tuple[str, ...]  # "name (Type)" of every NIR node merged into the layer
    shape: str  # output C x H x W
    neuron: str  # "leak 0.9, threshold 1, hard" or "none in the graph"


@dataclass(frozen=True, slots=True, eq=False)
class ImportResult:
    """What :func:`import_nir` returns. ``network`` is the network YAML data (plain dicts, lists, str, int,
    float); ``weights`` the state dict (``<layer>.weight`` conv [K, C, R, S] / linear [K, C], ``<layer>.bias``
    [K], float32); ``notes`` what the import decided or assumed; ``approximations`` what the network schema
    cannot hold (``strict=True`` refuses them)."""

    network: dict[str, Any]
    weights: dict[str, np.ndarray]
    notes: tuple[str, ...]
    approximations: tuple[str, ...]
    layers: tuple[ImportedLayer, ...]


# ---------------------------------------------------------------------------------------------- public
def import_nir(
    graph: Any,
    *,
    dt: float = DEFAULT_DT,
    reset: Reset | str | None = None,
    reduce: Reduce | str = Reduce.NONE,
    strict: bool = False,
    timesteps: int = 4,
    name: str | None = None,
    dataset: str = "",
    spike_density: float = 0.15,
    weight_bits: int = 8,
    psum_bits: int = 16,
    membrane_bits: int = 16,
) -> ImportResult:
    """Import a NIR graph (a ``nir.NIRGraph``, or the path of a ``.nir`` file) as a spikeloop network.

    ``dt``: forward-Euler step for the time constants (leak = 1 - dt/tau). ``reset``: ``soft``/``hard`` for
    every spiking neuron (default: the graph's reset to ``v_reset``, i.e. hard). ``reduce``: ``none`` refuses
    non-uniform per-neuron parameters, ``mean`` takes their mean. ``strict``: refuse instead of listing
    approximations. ``timesteps``, ``name``, ``dataset``, ``spike_density`` (every layer but those reading the
    analog network input, which get 1.0) and the bit widths fill the network keys the graph has no value for.
    Raises ``ValueError`` (:class:`~costmodel.specio.SpecError` for files) with a one-line message.
    """
    source, nodes, edges, version = _read_graph(graph)
    where = source
    if not (isinstance(dt, int | float) and not isinstance(dt, bool) and math.isfinite(dt) and dt > 0):
        raise ValueError(f"{where}: dt: expected a positive number of seconds, got {dt!r}")
    reset_mode = None if reset is None else _enum(Reset, reset, f"{where}: reset")
    reduce_mode = _enum(Reduce, reduce, f"{where}: reduce")
    if isinstance(timesteps, bool) or not isinstance(timesteps, int) or timesteps < 1:
        raise ValueError(f"{where}: timesteps: expected a positive integer, got {timesteps!r}")
    if not 0.0 <= spike_density <= 1.0:
        raise ValueError(f"{where}: spike_density: expected a fraction in [0, 1], got {spike_density!r}")
    net_name = name or (Path(source).stem if source != _GRAPH else "nir-import")
    imp = _Importer(where, nodes, edges, dt=float(dt), reset=reset_mode, reduce=reduce_mode)
    imp.run()
    if strict and imp.approx:
        raise ValueError(
            f"{where}: strict: {len(imp.approx)} parameter(s) the network schema cannot hold: " + "; ".join(imp.approx)
        )
    settings = _Settings(
        name=net_name,
        dataset=dataset,
        timesteps=timesteps,
        spike_density=float(spike_density),
        weight_bits=weight_bits,
        psum_bits=psum_bits,
        membrane_bits=membrane_bits,
        dt=float(dt),
        source=source,
        version=version,
    )
    return imp.result(settings)


def network_yaml(result: ImportResult) -> str:
    """The network YAML text of an import (flow-style layers, keys in schema order)."""
    header = "# written by spikeloop import-nir; schema: costmodel/network.py, docs/formats.md\n"
    data = dict(result.network)
    data["layers"] = [_FlowDict(entry) for entry in data["layers"]]
    return header + yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, default_flow_style=None, width=110, allow_unicode=True
    )


class _FlowDict(dict):
    """A layer entry, written on one line like the shipped network files."""


class _Dumper(yaml.SafeDumper):
    """Safe YAML with one-line layers and long text folded (``>-``)."""


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = ">" if len(text) > 80 and "\n" not in text and text == text.strip() else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


def _represent_flow(dumper: yaml.SafeDumper, entry: _FlowDict) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", entry.items(), flow_style=True)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(_FlowDict, _represent_flow)


def write_network(result: ImportResult, path: str | Path) -> Path:
    """Write the network YAML of ``result`` to ``path`` and return the path."""
    out = Path(path)
    out.write_text(network_yaml(result), encoding="utf-8")
    return out


def write_weights(result: ImportResult, path: str | Path) -> Path:
    """Write the weights of ``result`` as a plain ``.npz`` state dict (no pickled objects)."""
    out = Path(path)
    with out.open("wb") as fh:
        np.savez(fh, **result.weights)  # type: ignore[arg-type]
    return out


# ---------------------------------------------------------------------------------------------- reading
_GRAPH = "NIR graph"


def _read_graph(graph: Any) -> tuple[str, dict[str, Any], list[tuple[str, str]], str]:
    """(source name, nodes, edges, nir version) of a graph object or a ``.nir`` file."""
    version = ""
    if isinstance(graph, str | Path):
        path = Path(graph)
        source = str(path)
        if not path.is_file():
            raise SpecError(f"{source}: no such NIR file")
        try:
            import nir
        except ImportError:
            raise SpecError(
                f"{source}: reading NIR files needs the nir package: pip install 'spikeloop[nir]'"
            ) from None
        try:
            graph = nir.read(path, type_check=False)
            version = _file_version(path)
        except Exception as exc:  # noqa: BLE001 - h5py and nir raise many kinds; all mean "not readable"
            raise SpecError(f"{source}: not a readable NIR file: {_unknown_type(path) or _one_line(exc)}") from None
    else:
        source = _GRAPH
    nodes, edges = getattr(graph, "nodes", None), getattr(graph, "edges", None)
    if not isinstance(nodes, Mapping) or not isinstance(edges, list | tuple):
        raise ValueError(f"{source}: expected a nir.NIRGraph (nodes and edges), got {type(graph).__name__}")
    pairs = []
    for e in edges:
        if not (isinstance(e, list | tuple) and len(e) == 2):
            raise ValueError(f"{source}: edges: expected (source, target) pairs, got {e!r}")
        pairs.append((_str(e[0]), _str(e[1])))
    return source, {_str(k): v for k, v in nodes.items()}, pairs, version


def _file_version(path: Path) -> str:
    """The NIR version a file was written with (its ``version`` dataset), or ''."""
    import h5py

    with h5py.File(path, "r") as f:
        return _str(f["version"][()]) if "version" in f else ""


def _str(x: Any) -> str:
    return x.decode("utf8") if isinstance(x, bytes) else str(x)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _unknown_type(path: Path) -> str:
    """For a file nir cannot read: 'node X: unsupported NIR node type T' if an unknown node type is the cause."""
    try:
        import h5py

        with h5py.File(path, "r") as f:
            group = f["node"]["nodes"]
            for key in group:
                kind = _str(group[key]["type"][()])
                if kind not in SUPPORTED_NODE_TYPES:
                    return f"node {key!r}: unsupported NIR node type {kind}"
    except Exception:  # noqa: BLE001 - best effort: the caller reports the original error
        return ""
    return ""


def _enum(cls: Any, value: Any, what: str) -> Any:
    try:
        return cls(value)
    except ValueError:
        allowed = "|".join(m.value for m in cls)
        raise ValueError(f"{what}: expected {allowed}, got {value!r}") from None


def _sig(x: float) -> float:
    """``x`` to 7 significant digits (float32 parameters carry no more)."""
    return float(f"{x:.7g}")


def _fmt(x: float) -> str:
    return f"{x:.7g}"


# ---------------------------------------------------------------------------------------------- values
@dataclass(frozen=True, slots=True, eq=False)
class _Value:
    """What flows out of a NIR node, in spikeloop terms."""

    layer: str  # the spikeloop layer that produces it (INPUT for the network input)
    shape: tuple[int, ...]  # per-sample NIR shape: (C, H, W) or (F,)
    spiking: bool  # a neuron node has been applied (the layer's output spikes)
    private: bool  # every node from the layer's node to here has exactly one successor
    gain: np.ndarray | None = None  # a pending factor (Scale / SumPool2d), broadcast to ``shape``
    gain_from: tuple[str, ...] = ()  # the nodes the gain comes from


@dataclass(slots=True, eq=False)
class _Layer:
    """A layer being built (mutable until :meth:`_Importer.result`)."""

    name: str
    kind: str
    nodes: list[str]
    out: tuple[int, int, int]
    keys: dict[str, Any]
    reads: list[str]  # source layers (INPUT for the network input)
    weight: np.ndarray | None = None  # float64 while folding
    bias: np.ndarray | None = None
    neuron: dict[str, Any] | None = None
    multivalued_input: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Settings:
    name: str
    dataset: str
    timesteps: int
    spike_density: float
    weight_bits: int
    psum_bits: int
    membrane_bits: int
    dt: float
    source: str
    version: str


@dataclass(frozen=True, slots=True)
class _Neuron:
    """A NIR neuron node reduced to spikeloop terms (before gains are folded)."""

    leak: float
    gain: float  # per-step input gain: v[t] = leak*v[t-1] + gain*x[t] + drive*gain
    drive: float  # constant input per step from v_leak, in units of x
    threshold: float | None  # None: non-spiking (LI)
    v_reset: float
    reset: Reset | None  # forced reset (Threshold nodes), else None


# ---------------------------------------------------------------------------------------------- importer
class _Importer:
    def __init__(
        self,
        where: str,
        nodes: dict[str, Any],
        edges: list[tuple[str, str]],
        *,
        dt: float,
        reset: Reset | None,
        reduce: Reduce,
    ) -> None:
        self.where = where
        self.nodes = nodes
        self.edges = edges
        self.dt = dt
        self.reset = reset
        self.reduce = reduce
        self.preds: dict[str, list[str]] = {k: [] for k in nodes}
        self.succs: dict[str, list[str]] = {k: [] for k in nodes}
        self.values: dict[str, _Value] = {}
        self.layers: dict[str, _Layer] = {}
        self.input_shape: tuple[int, int, int] = (1, 1, 1)
        self.batch_dims = 0
        self.notes: list[str] = []
        self.approx: list[str] = []
        self.outputs: list[str] = []
        self.graph_reset_notes: list[str] = []

    # ------------------------------------------------------------------ helpers
    def err(self, node: str, msg: str) -> ValueError:
        kind = type(self.nodes[node]).__name__ if node in self.nodes else "?"
        return ValueError(f"{self.where}: node {node!r} ({kind}): {msg}")

    def kind(self, node: str) -> str:
        return type(self.nodes[node]).__name__

    def attr(self, node: str, key: str) -> Any:
        obj = self.nodes[node]
        if not hasattr(obj, key):
            raise self.err(node, f"has no {key!r} field")
        return getattr(obj, key)

    def array(self, node: str, key: str) -> np.ndarray:
        raw = self.attr(node, key)
        try:
            arr = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            raise self.err(node, f"{key}: expected numbers, got {type(raw).__name__}") from None
        if arr.size == 0 or not np.all(np.isfinite(arr)):
            raise self.err(node, f"{key}: expected finite numbers, got {arr.ravel()[:4].tolist()}")
        return arr

    def pair(self, node: str, key: str, *, minimum: int) -> tuple[int, int]:
        """A scalar or two-element integer attribute (exporters write both forms) as (rows, cols)."""
        raw = self.attr(node, key)
        arr = np.asarray(raw).ravel()
        ok = arr.size in (1, 2) and arr.dtype.kind in "iuf" and np.all(arr == np.round(arr))
        if not ok or np.any(arr < minimum):
            raise self.err(node, f"{key}: expected an integer >= {minimum} or two of them, got {_show(raw)}")
        vals = [int(v) for v in arr]
        return (vals[0], vals[0]) if len(vals) == 1 else (vals[0], vals[1])

    def square(self, node: str, key: str, value: tuple[int, int]) -> int:
        if value[0] != value[1]:
            raise self.err(node, f"{key} {list(value)}: spikeloop layers have one {key} for rows and columns, not two")
        return value[0]

    def uniform(self, node: str, key: str, arr: np.ndarray, shape: tuple[int, ...]) -> float:
        """One value for a per-neuron parameter array: uniform, or the mean with ``reduce=mean``."""
        a = _squeeze_leading(arr)
        try:
            np.broadcast_to(a, shape)
        except ValueError:
            raise self.err(node, f"{key} has shape {list(arr.shape)} but its input has shape {list(shape)}") from None
        lo, hi = float(a.min()), float(a.max())
        if _close(lo, hi):
            return float(a.ravel()[0])
        if self.reduce is Reduce.NONE:
            raise self.err(
                node,
                f"{key} is not uniform over its {a.size} neurons (min {_fmt(lo)}, max {_fmt(hi)}); the network "
                "schema has one neuron per layer: pass --reduce mean (reduce='mean') to take the mean",
            )
        mean = float(a.mean())
        self.approx.append(
            f"{self.kind(node)} {node!r}: {key} ranges {_fmt(lo)}..{_fmt(hi)} over {a.size} neurons; "
            f"written as the mean {_fmt(mean)}"
        )
        return mean

    def new_layer(self, base: str, kind: str, nodes: list[str], out: tuple[int, int, int], reads: list[str]) -> _Layer:
        name = base
        n = 1
        while not name or name == INPUT or name in self.layers:
            name = f"{base}.{n}"
            n += 1
        if name != base:
            self.notes.append(f"layer name {base!r} is taken (or reserved): the layer is called {name!r}")
        layer = _Layer(name=name, kind=kind, nodes=nodes, out=out, keys={}, reads=reads)
        self.layers[name] = layer
        return layer

    def out_shape(self, v: _Value) -> tuple[int, int, int]:
        """The spikeloop C x H x W of a value's layer output."""
        return self.input_shape if v.layer == INPUT else self.layers[v.layer].out

    # ------------------------------------------------------------------ graph checks and order
    def run(self) -> None:
        bad = [(k, type(n).__name__) for k, n in self.nodes.items() if type(n).__name__ not in SUPPORTED_NODE_TYPES]
        if bad:
            listed = ", ".join(f"node {k!r} ({t}{_UNSUPPORTED_HINT.get(t, '')})" for k, t in bad)
            raise ValueError(
                f"{self.where}: unsupported NIR node type{'s' if len(bad) > 1 else ''}: {listed}; "
                f"supported: {', '.join(SUPPORTED_NODE_TYPES)}"
            )
        for a, b in self.edges:
            for end in (a, b):
                if end not in self.nodes:
                    raise ValueError(f"{self.where}: edge ({a!r}, {b!r}): no node named {end!r}")
            self.succs[a].append(b)
            self.preds[b].append(a)
        inputs = [k for k, n in self.nodes.items() if type(n).__name__ == "Input"]
        if len(inputs) != 1:
            raise ValueError(f"{self.where}: expected exactly one Input node, found {len(inputs)}: {inputs}")
        for k in self.nodes:
            kind = self.kind(k)
            if kind == "Input" and self.preds[k]:
                raise self.err(k, f"an Input node has incoming edges from {self.preds[k]}")
            if kind == "Output" and self.succs[k]:
                raise self.err(k, f"an Output node has outgoing edges to {self.succs[k]}")
        for k in self._order(inputs[0]):
            self.visit(k)

    def _order(self, start: str) -> list[str]:
        """Topological order from the Input node (node order breaks ties); unreachable nodes and cycles refused."""
        reach, stack = {start}, [start]
        while stack:
            for s in self.succs[stack.pop()]:
                if s not in reach:
                    reach.add(s)
                    stack.append(s)
        lost = [k for k in self.nodes if k not in reach]
        if lost:
            raise ValueError(
                f"{self.where}: node {lost[0]!r} ({self.kind(lost[0])}) is not reachable from the Input node "
                f"{start!r}" + (f" (nor are {lost[1:]})" if len(lost) > 1 else "")
            )
        index = {k: i for i, k in enumerate(self.nodes)}
        missing = {k: len(self.preds[k]) for k in self.nodes}
        ready, order = [start], []
        while ready:
            ready.sort(key=index.__getitem__)
            k = ready.pop(0)
            order.append(k)
            for s in self.succs[k]:
                missing[s] -= 1
                if missing[s] == 0:
                    ready.append(s)
        if len(order) != len(self.nodes):
            stuck = next(k for k in self.nodes if k not in set(order))
            raise ValueError(
                f"{self.where}: node {stuck!r} ({self.kind(stuck)}) is on a cycle (a recurrent edge); "
                "spikeloop networks are feed-forward"
            )
        return order

    # ------------------------------------------------------------------ nodes
    def visit(self, k: str) -> None:
        kind = self.kind(k)
        if kind == "Input":
            self.values[k] = self.visit_input(k)
            return
        v = self.incoming(k)
        if kind == "Output":
            self.visit_output(k, v)
            return
        handler = {
            "Conv2d": self.visit_conv,
            "Linear": self.visit_linear,
            "Affine": self.visit_linear,
            "SumPool2d": self.visit_pool,
            "AvgPool2d": self.visit_pool,
            "Flatten": self.visit_flatten,
            "Scale": self.visit_scale,
        }.get(kind, self.visit_neuron)
        self.values[k] = handler(k, v)

    def visit_input(self, k: str) -> _Value:
        node = self.nodes[k]
        types = getattr(node, "input_type", None) or getattr(node, "output_type", None) or {}
        raw = next(iter(types.values()), None) if isinstance(types, Mapping) else None
        if raw is None:
            raise self.err(k, "has no shape (input_type)")
        shape = [int(x) for x in np.asarray(raw).ravel()]
        if len(shape) in (2, 4) and shape[0] == 1:
            shape = shape[1:]
            self.batch_dims = 1
            self.notes.append(f"input {k!r}: leading batch dimension 1 dropped; shapes are per sample")
        if len(shape) == 3:
            c, h, w = shape
        elif len(shape) == 1:
            c, h, w = shape[0], 1, 1
        else:
            raise self.err(k, f"shape {shape}: expected [channels, height, width] or [features]")
        if min(c, h, w) < 1:
            raise self.err(k, f"shape {shape}: expected positive sizes")
        self.input_shape = (c, h, w)
        return _Value(INPUT, tuple(shape), spiking=False, private=len(self.succs[k]) == 1)

    def incoming(self, k: str) -> _Value:
        """The value entering node ``k``: its one predecessor's, or an add layer over several."""
        preds = self.preds[k]
        if len(preds) == 1:
            return self.values[preds[0]]
        vals = [self.values[p] for p in preds]
        shapes = {v.shape for v in vals}
        outs = {self.out_shape(v) for v in vals}
        if len(shapes) > 1 or len(outs) > 1:
            listed = ", ".join(
                f"{p} {list(v.shape)} (layer {v.layer}: {'x'.join(map(str, self.out_shape(v)))})"
                for p, v in zip(preds, vals, strict=True)
            )
            raise self.err(k, f"its {len(preds)} inputs are summed but their shapes differ: {listed}")
        for p, v in zip(preds, vals, strict=True):
            if v.gain is not None:
                self.fold_output_side(v, f"a branch of the sum into {k!r} (from {p!r})")
        reads = [v.layer for v in vals]
        c, h, w = outs.pop()
        layer = self.new_layer(f"{k}.add", "add", [f"{k} (sum of {len(preds)} edges)"], (c, h, w), reads)
        layer.keys["inputs"] = reads
        for v in vals:
            self.note_multivalued(layer, v)
        return _Value(layer.name, vals[0].shape, spiking=False, private=True)

    def visit_output(self, k: str, v: _Value) -> None:
        if v.gain is not None:
            self.fold_output_side(v, f"the graph output {k!r}")
        if v.layer != INPUT:
            self.outputs.append(v.layer)

    def visit_conv(self, k: str, v: _Value) -> _Value:
        if len(v.shape) != 3:
            raise self.err(k, f"expected a channels x height x width input, got shape {list(v.shape)}")
        c, h, w = v.shape
        weight = self.array(k, "weight")
        if weight.ndim != 4:
            raise self.err(k, f"weight: expected [out, in, rows, cols], got shape {list(weight.shape)}")
        groups = int(np.asarray(getattr(self.nodes[k], "groups", 1)).ravel()[0])
        if groups != 1:
            raise self.err(k, f"groups = {groups}: grouped (depthwise) convolutions are not in the network schema")
        dil = self.pair(k, "dilation", minimum=1) if getattr(self.nodes[k], "dilation", None) is not None else (1, 1)
        if dil != (1, 1):
            raise self.err(k, f"dilation {list(dil)}: dilated convolutions are not in the network schema")
        kk, wc, r, s = weight.shape
        if wc != c:
            raise self.err(k, f"weight has {wc} input channels but its input has {c} ({list(v.shape)})")
        given = getattr(self.nodes[k], "input_shape", None)
        if given is not None:
            gh, gw = (int(x) for x in np.broadcast_to(np.asarray(given).ravel(), (2,)))
            if (gh, gw) != (h, w):
                raise self.err(k, f"input_shape ({gh}, {gw}) but its input map is {h} x {w}")
        stride = self.square(k, "stride", self.pair(k, "stride", minimum=1))
        padding = self.square(k, "padding", self.conv_padding(k, r, s, stride))
        p, q = _side(h, r, stride, padding), _side(w, s, stride, padding)
        if p < 1 or q < 1:
            raise self.err(k, f"kernel {r} x {s} exceeds the padded input {h} x {w} (padding {padding})")
        layer = self.new_layer(k, "conv", [f"{k} (Conv2d)"], (kk, p, q), [v.layer])
        layer.keys.update(
            out_channels=kk, kernel=r if r == s else [r, s], stride=stride, padding=padding, in_channels=c
        )
        layer.weight = weight.copy()
        bias = getattr(self.nodes[k], "bias", None)
        if bias is not None:
            b = self.array(k, "bias")
            try:
                layer.bias = np.broadcast_to(b.ravel() if b.size == kk else b, (kk,)).copy()
            except ValueError:
                raise self.err(k, f"bias has shape {list(b.shape)}, expected [{kk}]") from None
        self.fold_input_side(layer, v)
        self.note_multivalued(layer, v)
        return _Value(layer.name, (kk, p, q), spiking=False, private=len(self.succs[k]) == 1)

    def conv_padding(self, k: str, r: int, s: int, stride: int) -> tuple[int, int]:
        raw = self.attr(k, "padding")
        if isinstance(raw, np.ndarray) and raw.dtype.kind in "OSU":
            raw = raw.item()
        if isinstance(raw, str | bytes):
            text = _str(raw)
            if text == "valid":
                return (0, 0)
            if text == "same" and stride == 1 and r % 2 == 1 and s % 2 == 1:
                return ((r - 1) // 2, (s - 1) // 2)
            raise self.err(k, f"padding {text!r}: expected an integer, two integers, 'valid', or 'same' with stride 1 "
                           "and an odd kernel")  # fmt: skip
        return self.pair(k, "padding", minimum=0)

    def visit_linear(self, k: str, v: _Value) -> _Value:
        kind = self.kind(k)
        weight = self.array(k, "weight")
        if weight.ndim != 2:
            raise self.err(k, f"weight: expected [out, in], got shape {list(weight.shape)}")
        if len(v.shape) != 1:
            raise self.err(k, f"expected a flat input (a Flatten node before it), got shape {list(v.shape)}")
        kk, f = weight.shape
        if f != v.shape[0]:
            raise self.err(k, f"weight has {f} inputs but its input has {v.shape[0]} features")
        layer = self.new_layer(k, "linear", [f"{k} ({kind})"], (kk, 1, 1), [v.layer])
        layer.keys.update(out_features=kk, in_features=f)
        layer.weight = weight.copy()
        if kind == "Affine":
            b = self.array(k, "bias")
            try:
                layer.bias = np.broadcast_to(b.ravel() if b.size == kk else b, (kk,)).copy()
            except ValueError:
                raise self.err(k, f"bias has shape {list(b.shape)}, expected [{kk}]") from None
        self.fold_input_side(layer, v)
        self.note_multivalued(layer, v)
        return _Value(layer.name, (kk,), spiking=False, private=len(self.succs[k]) == 1)

    def visit_pool(self, k: str, v: _Value) -> _Value:
        kind = self.kind(k)
        if len(v.shape) != 3:
            raise self.err(k, f"expected a channels x height x width input, got shape {list(v.shape)}")
        c, h, w = v.shape
        r, s = self.pair(k, "kernel_size", minimum=1)
        stride_raw = getattr(self.nodes[k], "stride", None)
        stride = self.square(k, "stride", self.pair(k, "stride", minimum=1) if stride_raw is not None else (r, s))
        pad_raw = getattr(self.nodes[k], "padding", None)
        padding = self.square(k, "padding", self.pair(k, "padding", minimum=0) if pad_raw is not None else (0, 0))
        p, q = _side(h, r, stride, padding), _side(w, s, stride, padding)
        if p < 1 or q < 1:
            raise self.err(k, f"window {r} x {s} exceeds the padded input {h} x {w} (padding {padding})")
        layer = self.new_layer(k, "pool", [f"{k} ({kind})"], (c, p, q), [v.layer])
        layer.keys.update(pool="avg", kernel=r if r == s else [r, s], stride=stride, padding=padding, in_channels=c)
        self.note_multivalued(layer, v)
        gain: np.ndarray | None = None
        gain_from: tuple[str, ...] = ()
        if v.gain is not None:
            per_channel = _per_channel(v.gain, v.shape)
            if per_channel is None:
                self.approx.append(
                    f"factor from {_names(v.gain_from)} varies within a channel before pool {k!r}: not represented"
                )
            else:
                gain, gain_from = np.broadcast_to(per_channel[:, None, None], (c, p, q)).copy(), v.gain_from
        if kind == "SumPool2d":
            factor = np.full((c, p, q), float(r * s))
            gain = factor if gain is None else gain * factor
            gain_from = (*gain_from, k)
            self.notes.append(
                f"SumPool2d {k!r} written as pool: avg; its sum is {r * s} x the average, a factor folded below"
            )
        return _Value(layer.name, (c, p, q), spiking=False, private=len(self.succs[k]) == 1, gain=gain,
                      gain_from=gain_from)  # fmt: skip

    def visit_flatten(self, k: str, v: _Value) -> _Value:
        n = len(v.shape)
        if n > 1:
            start = int(np.asarray(self.attr(k, "start_dim")).ravel()[0])
            end = int(np.asarray(self.attr(k, "end_dim")).ravel()[0])
            ok = False
            for rank, first in ((n, 0), (n + 1, 1), (n + 1, 0)):  # per sample; with a batch dimension in front
                s, e = (start + rank if start < 0 else start), (end + rank if end < 0 else end)
                ok = ok or (s == first and e == rank - 1)
            if not ok:
                raise self.err(
                    k, f"start_dim {start}, end_dim {end} on shape {list(v.shape)}: only flattening a whole "
                    "sample into one vector is supported"
                )  # fmt: skip
        features = math.prod(v.shape)
        gain = None if v.gain is None else v.gain.reshape(features)
        return _Value(v.layer, (features,), v.spiking, v.private and len(self.succs[k]) == 1, gain, v.gain_from)

    def visit_scale(self, k: str, v: _Value) -> _Value:
        s = self.array(k, "scale")
        try:
            full = np.broadcast_to(_squeeze_leading(s), v.shape).astype(np.float64)
        except ValueError:
            raise self.err(k, f"scale has shape {list(s.shape)} but its input has shape {list(v.shape)}") from None
        gain = full if v.gain is None else v.gain * full
        private = v.private and len(self.succs[k]) == 1
        if np.allclose(gain, 1.0, rtol=0, atol=RTOL):
            return _Value(v.layer, v.shape, v.spiking, private, None, ())
        return _Value(v.layer, v.shape, v.spiking, private, gain, (*v.gain_from, k))

    # ------------------------------------------------------------------ neurons
    def visit_neuron(self, k: str, v: _Value) -> _Value:
        kind = self.kind(k)
        if v.layer == INPUT:
            raise self.err(k, "reads the network input directly; spikeloop attaches a neuron to a layer "
                           "(conv, linear, pool, add), and there is none before this node")  # fmt: skip
        layer = self.layers[v.layer]
        if v.spiking or layer.neuron is not None:
            raise self.err(k, f"follows another neuron of layer {layer.name!r} with no layer between; spikeloop has "
                           "one neuron per layer")  # fmt: skip
        if not v.private:
            raise self.err(
                k, f"the output of layer {layer.name!r} also goes elsewhere before this neuron; a spikeloop layer "
                "has one output, after its neuron"
            )  # fmt: skip
        nrn = self.neuron_params(k, v.shape)
        gain = nrn.gain
        value_gain = v.gain
        if value_gain is not None and layer.weight is not None:
            self.fold_output_side(v, f"{kind} {k!r}")
            value_gain = None
        if value_gain is not None:
            scalar = _scalar(value_gain)
            if scalar is not None and scalar > 0:
                gain *= scalar
                self.notes.append(f"factor {_fmt(scalar)} from {_names(v.gain_from)} folded into the threshold of "
                                  f"{kind} {k!r}")  # fmt: skip
            else:
                self.approx.append(
                    f"factor from {_names(v.gain_from)} before {kind} {k!r} is not one positive number and layer "
                    f"{layer.name!r} has no weights to fold it into: not represented"
                )
        if nrn.drive != 0.0:
            if layer.weight is not None:
                kk = layer.out[0]
                layer.bias = (np.zeros(kk) if layer.bias is None else layer.bias) + nrn.drive
                self.notes.append(f"{kind} {k!r}: v_leak drives {_fmt(nrn.drive)} per step, added to the bias of "
                                  f"layer {layer.name!r}")  # fmt: skip
            else:
                self.approx.append(f"{kind} {k!r}: v_leak drives {_fmt(nrn.drive)} per step and layer "
                                   f"{layer.name!r} has no bias to hold it: dropped")  # fmt: skip
        threshold = 1.0 if nrn.threshold is None else nrn.threshold
        if nrn.threshold is not None and not _close(gain, 1.0):
            if gain <= 0:
                raise self.err(k, f"input gain {_fmt(gain)} (dt*r/tau and factors) is not positive")
            threshold = nrn.threshold / gain
            self.notes.append(f"{kind} {k!r}: input gain {_fmt(gain)} (dt*r/tau at dt = {self.dt:g} s, and factors) "
                              f"folded into the threshold ({_fmt(nrn.threshold)} -> {_fmt(threshold)})")  # fmt: skip
        if threshold <= 0:
            raise self.err(k, f"threshold {_fmt(threshold)}: spikeloop neurons need a positive threshold")
        reset = nrn.reset or self.reset or Reset.HARD
        if nrn.threshold is not None and nrn.reset is None and self.reset is not Reset.SOFT and nrn.v_reset != 0.0:
            self.approx.append(
                f"{kind} {k!r}: v_reset = {_fmt(nrn.v_reset)}; spikeloop's hard reset goes to 0: written as reset to 0"
            )
        leak = _sig(nrn.leak)
        if not 0.0 < leak <= 1.0:
            raise self.err(k, f"leak 1 - dt/tau = {_fmt(nrn.leak)} at dt = {self.dt:g} s is not in (0, 1]: tau is "
                           "shorter than dt; pass the dt the exporter used (--dt)")  # fmt: skip
        layer.neuron = {"leak": leak, "threshold": _sig(threshold), "reset": reset.value}
        layer.nodes.append(f"{k} ({kind})")
        return _Value(layer.name, v.shape, spiking=nrn.threshold is not None, private=len(self.succs[k]) == 1)

    def neuron_params(self, k: str, shape: tuple[int, ...]) -> _Neuron:
        kind = self.kind(k)
        dt = self.dt

        def one(key: str) -> float:
            return self.uniform(k, key, self.array(k, key), shape)

        def tau(key: str) -> float:
            t = one(key)
            if t <= 0:
                raise self.err(k, f"{key} = {_fmt(t)}: expected a positive time constant")
            return t

        def v_reset() -> float:
            return one("v_reset") if getattr(self.nodes[k], "v_reset", None) is not None else 0.0

        if kind == "Threshold":
            theta = one("threshold")
            self.approx.append(
                f"Threshold {k!r} is memoryless (spike when the input exceeds {_fmt(theta)}); the schema has no "
                f"leak 0: written as leak {THRESHOLD_LEAK:g} with hard reset, and the cost model prices a membrane "
                "update it does not have"
            )
            return _Neuron(THRESHOLD_LEAK, 1.0, 0.0, theta, 0.0, Reset.HARD)
        if kind == "IF":
            r = one("r")
            return _Neuron(1.0, dt * r, 0.0, one("v_threshold"), v_reset(), None)
        if kind in ("LIF", "LI"):
            t, r, v_leak = tau("tau"), one("r"), one("v_leak")
            gain = dt * r / t
            drive = (dt / t) * v_leak / gain if gain != 0 else 0.0
            if kind == "LI":
                self.approx.append(
                    f"LI {k!r} is a non-spiking leaky integrator (tau {_fmt(t)} s, leak {_fmt(1 - dt / t)}): "
                    "written as a LIF neuron with that leak and threshold 1; its graph output is the membrane "
                    "potential, not spikes"
                )
                return _Neuron(1 - dt / t, gain, drive, None, 0.0, None)
            return _Neuron(1 - dt / t, gain, drive, one("v_threshold"), v_reset(), None)
        # CubaLIF
        t_syn, t_mem, r, v_leak = tau("tau_syn"), tau("tau_mem"), one("r"), one("v_leak")
        w_in = one("w_in") if getattr(self.nodes[k], "w_in", None) is not None else 1.0
        syn_gain = dt * w_in / t_syn
        gain = syn_gain * dt * r / t_mem
        drive = (dt / t_mem) * v_leak / gain if gain != 0 else 0.0
        self.approx.append(
            f"CubaLIF {k!r}: synaptic current (tau_syn {_fmt(t_syn)} s, decay {_fmt(1 - dt / t_syn)} per step) not "
            "in the schema: written as a LIF neuron whose input current has no memory (per-step synaptic gain "
            f"{_fmt(syn_gain)} kept); the cost model prices one state per neuron, not two"
        )
        return _Neuron(1 - dt / t_mem, gain, drive, one("v_threshold"), v_reset(), None)

    # ------------------------------------------------------------------ folding factors into weights
    def fold_input_side(self, layer: _Layer, v: _Value) -> None:
        """A factor on a conv/linear layer's input: scale the weights of the matching input channels (exact)."""
        if v.gain is None:
            return
        assert layer.weight is not None
        if layer.kind == "linear":
            layer.weight = layer.weight * v.gain.reshape(1, -1)
        else:
            per_channel = _per_channel(v.gain, v.shape)
            if per_channel is None:
                self.approx.append(
                    f"factor from {_names(v.gain_from)} varies within a channel before conv {layer.name!r}: "
                    "not represented"
                )
                return
            layer.weight = layer.weight * per_channel.reshape(1, -1, 1, 1)
        self.notes.append(f"factor {_describe(v.gain)} from {_names(v.gain_from)} folded into the weights of "
                          f"layer {layer.name!r} (input channels)")  # fmt: skip

    def fold_output_side(self, v: _Value, before: str) -> None:
        """A factor after a conv/linear layer (before its neuron): scale its output channels' weights and bias."""
        assert v.gain is not None
        layer = self.layers.get(v.layer)
        per_channel = None
        if layer is not None and layer.weight is not None and v.private and not v.spiking:
            # the value is the layer's output, possibly flattened: as many factors as output neurons
            per_channel = _per_channel(v.gain.reshape(layer.out), layer.out)
        if layer is None or layer.weight is None or per_channel is None:
            self.approx.append(
                f"factor {_describe(v.gain)} from {_names(v.gain_from)} before {before} cannot be folded into a "
                "layer's weights: not represented"
            )
            return
        shape = (-1,) + (1,) * (layer.weight.ndim - 1)
        layer.weight = layer.weight * per_channel.reshape(shape)
        if layer.bias is not None:
            layer.bias = layer.bias * per_channel
        self.notes.append(f"factor {_describe(v.gain)} from {_names(v.gain_from)} folded into the weights of "
                          f"layer {layer.name!r} (output channels)")  # fmt: skip

    def note_multivalued(self, layer: _Layer, v: _Value) -> None:
        if v.layer != INPUT and not v.spiking:
            layer.multivalued_input.append(v.layer)

    # ------------------------------------------------------------------ result
    def result(self, s: _Settings) -> ImportResult:
        layers = list(self.layers.values())
        if not layers:
            raise ValueError(f"{self.where}: the graph has no conv, linear or pool node: nothing to import")
        neurons = [tuple(sorted(lay.neuron.items())) for lay in layers if lay.neuron is not None]
        if neurons:
            default_neuron = dict(Counter(neurons).most_common(1)[0][0])
        else:
            default_neuron = {"leak": 1.0, "threshold": 1.0, "reset": (self.reset or Reset.HARD).value}
        default_neuron = {key: default_neuron[key] for key in ("leak", "threshold", "reset")}

        out_layers: list[dict[str, Any]] = []
        weights: dict[str, np.ndarray] = {}
        analog: list[str] = []
        previous = INPUT
        for lay in layers:
            entry: dict[str, Any] = {"name": lay.name, "kind": lay.kind}
            if lay.kind != "add" and lay.reads[0] != previous:
                entry["input"] = lay.reads[0]
            entry.update(lay.keys)
            if INPUT in lay.reads:
                analog.append(lay.name)
                entry["spike_density"] = 1.0
            if lay.weight is not None:
                w = lay.weight.astype(np.float32)
                weights[f"{lay.name}.weight"] = w
                if lay.bias is not None and np.any(lay.bias != 0):
                    weights[f"{lay.name}.bias"] = lay.bias.astype(np.float32)
                density = float(np.count_nonzero(w)) / w.size
                if density != 1.0:
                    entry["weight_density"] = density
            if lay.neuron is not None and lay.neuron != default_neuron:
                entry["neuron"] = {key: lay.neuron[key] for key in ("leak", "threshold", "reset")}
            out_layers.append(entry)
            previous = lay.name

        notes = self.final_notes(layers, analog, s)
        text = self.source_text(s, analog, notes)
        data: dict[str, Any] = {"name": s.name}
        if s.dataset:
            data["dataset"] = s.dataset
        data["source"] = text
        data["timesteps"] = s.timesteps
        channels, height, width = self.input_shape
        data["input"] = {"channels": channels, "height": height, "width": width}
        data["defaults"] = {
            "weight_bits": s.weight_bits,
            "psum_bits": s.psum_bits,
            "membrane_bits": s.membrane_bits,
            "spike_density": s.spike_density,
            "weight_density": 1.0,
            "neuron": default_neuron,
        }
        data["layers"] = out_layers
        try:
            network_from_data(copy.deepcopy(data), f"{s.name} (imported from {s.source})")
        except SpecError as exc:  # the importer wrote something the loader refuses: a bug here, say so
            raise ValueError(f"{self.where}: import-nir produced a network the loader refuses: {exc}") from None
        summary = [
            ImportedLayer(
                name=lay.name,
                kind=lay.kind,
                nodes=tuple(lay.nodes),
                shape="x".join(str(x) for x in lay.out),
                neuron=(
                    "none in the graph"
                    if lay.neuron is None
                    else f"leak {_fmt(lay.neuron['leak'])}, threshold {_fmt(lay.neuron['threshold'])}, "
                    f"{lay.neuron['reset']}"
                ),
            )
            for lay in layers
        ]
        return ImportResult(
            network=data, weights=weights, notes=tuple(notes), approximations=tuple(self.approx), layers=tuple(summary)
        )

    def final_notes(self, layers: list[_Layer], analog: list[str], s: _Settings) -> list[str]:
        notes: list[str] = []
        spiking = [lay for lay in layers if lay.neuron is not None]
        if self.reset is None:
            if spiking:
                notes.append(
                    "reset: NIR neurons reset to v_reset, written as reset: hard (to 0). snnTorch's exporter writes "
                    "v_reset = 0 whatever the model's reset mechanism (snnTorch's default is subtraction): for a "
                    "model trained with reset by subtraction pass --reset soft"
                )
        else:
            notes.append(f"reset: {self.reset.value} for every spiking neuron, as given (the graph resets to v_reset)")
        if analog:
            notes.append(
                f"analog input: {_names(tuple(analog))} read{'s' if len(analog) == 1 else ''} the network input, "
                "which is analog under direct coding, not 1-bit spikes; priced with input density 1.0 (every value "
                "an event); the network schema has no input-bit field"
            )
        silent = [lay.name for lay in layers if lay.neuron is None]
        if silent:
            notes.append(
                f"no neuron node after {_names(tuple(silent))}: their outputs are multi-valued in the graph; the cost "
                "model prices every layer's output as 1-bit spikes with one LIF update per output (their neuron is "
                "the default one)"
            )
        multi = sorted({f"{lay.name!r} (from {src!r})" for lay in layers for src in lay.multivalued_input})
        if multi:
            notes.append(f"multi-valued inputs, not spikes: {', '.join(multi)}")
        if spiking:
            notes.append(
                "firing: NIR neurons spike when v > threshold, spikeloop's when u >= threshold (they differ only "
                "when the membrane equals the threshold exactly)"
            )
        notes.append(
            f"densities: spike_density {s.spike_density:g} for every layer not reading the input is an assumption, "
            "not a measurement; weight_density is measured from the weights (fraction of nonzero weights)"
        )
        return notes + self.notes

    def source_text(self, s: _Settings, analog: list[str], notes: list[str]) -> str:
        origin = f"NIR file {Path(s.source).name}" if s.source != _GRAPH else "a NIR graph"
        version = f" (NIR {s.version})" if s.version else ""
        parts = [
            f"Imported by spikeloop import-nir from {origin}{version}. Layers are named after their NIR nodes; each "
            f"layer's neuron is the NIR neuron node after it, leak = 1 - dt/tau by forward Euler at dt = {s.dt:g} s.",
        ]
        parts += [n[0].upper() + n[1:] + "." for n in notes]
        if self.approx:
            parts.append("Approximations: " + "; ".join(self.approx) + ".")
        return " ".join(parts)


# ---------------------------------------------------------------------------------------------- small helpers
def _side(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output side floor((size + 2*padding - kernel) / stride) + 1, as costmodel.network computes it."""
    if size + 2 * padding < kernel:
        return 0
    return (size + 2 * padding - kernel) // stride + 1


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= RTOL * max(abs(a), abs(b), 1e-30)


def _squeeze_leading(a: np.ndarray) -> np.ndarray:
    while a.ndim > 1 and a.shape[0] == 1:
        a = a[0]
    return a


def _per_channel(gain: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """The per-channel factors of a C x H x W gain (None if a channel's factor varies over H, W); flat: as is."""
    g = np.broadcast_to(gain, shape)
    if len(shape) != 3:
        return g.reshape(-1).copy()
    flat = g.reshape(shape[0], -1)
    first = flat[:, :1]
    if not np.allclose(flat, first, rtol=RTOL, atol=0):
        return None
    return first[:, 0].copy()


def _scalar(gain: np.ndarray) -> float | None:
    first = float(gain.ravel()[0])
    return first if np.allclose(gain, first, rtol=RTOL, atol=0) else None


def _describe(gain: np.ndarray) -> str:
    s = _scalar(gain)
    if s is not None:
        return _fmt(s)
    return f"{_fmt(float(gain.min()))}..{_fmt(float(gain.max()))}"


def _names(nodes: tuple[str, ...]) -> str:
    return ", ".join(repr(n) for n in nodes)


def _show(raw: Any) -> str:
    try:
        return str(np.asarray(raw).tolist())
    except Exception:  # noqa: BLE001
        return repr(raw)
