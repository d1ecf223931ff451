"""Measured activity for the cost model: run an SNN on data and write its densities into its network YAML.

:func:`profile` loads a model (a spikeloop network YAML with a plain weights ``.npz``, or a crossbar model file
such as the shipped digits CNN, whose network YAML :func:`network_for_model` generates), runs it with the crossbar
package's numpy executor (:func:`crossbar.activity.measure_activity`: software path with quantized weights, or a
simulated chip when crossbar settings are given) and returns a :class:`Profile`, whose :meth:`Profile.yaml` is a
copy of the network in which every measured layer carries ``spike_density_per_t`` (fraction of non-zero inputs at
each timestep, averaged over the samples) and every weight layer its ``weight_density`` (non-zero fraction of the
quantized weights), with a ``source:`` text and comments saying what was measured, on what, and what was not.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from crossbar.activity import Activity, LayerActivity, observed_names, run_with_activity
from crossbar.snn import LIF, BatchNorm, Conv, Flatten, Linear, Pool, SNNModel

if TYPE_CHECKING:
    from costmodel.workload import Network

#: Decimals of the densities written to the YAML.
DECIMALS = 6
DIGITS = "digits"
DIGITS_TEXT = "the digits test split (sklearn digits 8x8, crossbar/data/digits_split.json)"
#: Key order of the written file (the shipped files' order; other keys follow, measured densities come last).
TOP_ORDER = ("name", "dataset", "source", "timesteps", "batch", "chain", "input", "defaults", "layers")
DEFAULTS_ORDER = ("weight_bits", "psum_bits", "membrane_bits", "spike_density", "spike_density_per_t", "weight_density")
LAYER_ORDER = (
    "name", "kind", "input", "inputs", "pool", "in_channels", "in_size", "in_features", "out_channels", "out_features",
    "kernel", "stride", "padding",
)  # fmt: skip


class DataError(ValueError):
    """The model cannot run on the images (e.g. a map that does not fit a layer)."""


@dataclass(frozen=True, kw_only=True)
class Loaded:
    """A runnable model with the network data it came from (or was generated for it) and where both came from."""

    model: SNNModel
    network: dict[str, Any]
    origin: str  # e.g. "archspecs/networks/x.yaml with x.npz" or "crossbar/data/digits_snn.npz"


@dataclass(frozen=True, kw_only=True)
class Profile:
    """The measured activity of a model on data, and the profiled network (``network``: YAML-ready data)."""

    activity: Activity
    network: dict[str, Any]
    origin: str
    data: str
    executor: str
    accuracy: float | None  # on the profiled samples, when the data has labels
    comments: dict[str, str]  # layer name -> the comment written above it

    def yaml(self) -> str:
        """The profiled network as YAML text (one flow-style line per layer, each with a comment above)."""
        return network_yaml(self.network, self.comments, header=f"written by spikeloop profile from {self.origin}")

    def write(self, path: str | Path, model: SNNModel | None = None) -> Network:
        """Write :meth:`yaml` to ``path``, load it back with :func:`costmodel.network.load_network` and, given the
        ``model``, check that its conv/linear shapes are the model's; returns the loaded network. A file that fails
        either check is removed and the error raised."""
        from costmodel.network import load_network

        out = Path(path)
        out.write_text(self.yaml(), encoding="utf-8")
        try:
            network = load_network(str(out))
            if model is not None:
                check_network_matches(network, model)
        except Exception:
            out.unlink(missing_ok=True)
            raise
        return network

    def as_dict(self) -> dict[str, Any]:
        return {
            "network": self.network["name"],
            "origin": self.origin,
            "data": self.data,
            "executor": self.executor,
            "accuracy": self.accuracy,
            **self.activity.as_dict(),
        }


# ------------------------------------------------------------------------------------------------ loading
def load_from_network(network: str | Path, weights: str | Path) -> Loaded:
    """A network YAML (shipped name or path) with a plain state-dict ``.npz`` (:mod:`crossbar.network_model`)."""
    import archspecs
    from costmodel.specio import load_yaml
    from crossbar.model_io import read_npz
    from crossbar.network_model import model_from_network_data

    try:
        path = archspecs.network_path(str(network))
    except FileNotFoundError as exc:
        raise ValueError(f"--network: {exc}") from None
    data = load_yaml(path)
    model = model_from_network_data(data, read_npz(weights), network_file=str(path), weights_file=str(weights))
    return Loaded(model=model, network=copy.deepcopy(data), origin=f"{_shown(path)} with weights {weights}")


def load_from_model(path: str | Path, input_shape: tuple[int, int, int] | None = None) -> Loaded:
    """A crossbar model file: its ``__meta__`` network if it has one, else a network generated from its layers
    (:func:`network_for_model`; ``input_shape`` when the file does not say, e.g. the data's)."""
    from crossbar.model_io import REFERENCE_MODEL, load_model

    model = load_model(path)
    if isinstance(model.meta.get("network"), dict):
        return Loaded(model=model, network=copy.deepcopy(model.meta["network"]), origin=_shown(path))
    shape = model.input_shape or input_shape
    if shape is None:
        raise ValueError(f"{path}: the model file does not give its input shape; profile it with data")
    reference = Path(path).resolve() == REFERENCE_MODEL.resolve()
    name = "digits-cnn" if reference else Path(path).stem
    network = network_for_model(model, name=name, input_shape=shape, origin=_shown(path))
    return Loaded(model=model, network=network, origin=_shown(path))


def _shown(path: str | Path) -> str:
    """A repository file relative to the repository (``crossbar/data/digits_snn.npz``), else as given."""
    root = Path(__file__).resolve().parent.parent
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return str(path)


def _neuron(nrn: Any) -> dict[str, Any]:
    return {"leak": float(nrn.leak), "threshold": float(nrn.threshold), "reset": nrn.reset.value}


def _kernel(rows: int, cols: int) -> int | list[int]:
    return rows if rows == cols else [rows, cols]


def network_for_model(
    model: SNNModel, *, name: str, input_shape: tuple[int, int, int], origin: str, dataset: str | None = None
) -> dict[str, Any]:
    """The spikeloop network (the schema of ``costmodel.network``) of a crossbar model's layer list: conv, linear
    and pool layers in order, each conv/linear with the neuron of the LIF after it (the readout, which has none in
    the executor, gets the first one), ``weight_bits`` from the model, 16-bit partial sums and membranes. Densities
    are placeholders (1.0) until measured."""
    names = observed_names(model)
    layers: list[dict[str, Any]] = []
    neurons: list[dict[str, Any] | None] = []
    summary: list[str] = []
    for position, layer in enumerate(model.layers):
        if isinstance(layer, Conv):
            k, c, kh, kw = (int(d) for d in layer.weight.shape)
            entry = {"name": layer.name, "kind": "conv", "out_channels": k, "kernel": _kernel(kh, kw)}
            entry |= {"stride": layer.stride, "padding": layer.padding}
            summary.append(f"conv{kh}x{kw} {c}->{k}" + (f" stride {layer.stride}" if layer.stride != 1 else ""))
        elif isinstance(layer, Linear):
            k, c = (int(d) for d in layer.weight.shape)
            entry = {"name": layer.name, "kind": "linear", "in_features": c, "out_features": k}
            summary.append(f"fc {c}->{k}")
        elif isinstance(layer, Pool):
            rows, cols = layer.kernel
            entry = {"name": names[position], "kind": "pool", "pool": layer.mode.value, "kernel": _kernel(rows, cols)}
            entry |= {"stride": layer.stride} | ({"padding": layer.padding} if layer.padding else {})
            summary.append(f"{layer.mode.value}-pool {_kernel(rows, cols)}")
        elif isinstance(layer, LIF):
            if neurons and neurons[-1] is None:
                neurons[-1] = _neuron(layer.neuron)
            summary[-1] += ", LIF"
            continue
        else:
            if isinstance(layer, BatchNorm):
                summary[-1] += ", BN"
            assert isinstance(layer, BatchNorm | Flatten)
            continue
        layers.append(entry)
        neurons.append(None)
    found = [n for n in neurons if n is not None]
    default = found[0] if found else {"leak": 1.0, "threshold": 1.0, "reset": "soft"}
    for entry, nrn in zip(layers, neurons, strict=True):
        if nrn is not None and nrn != default:
            entry["neuron"] = nrn
    return {
        "name": name,
        "dataset": dataset or str(model.meta.get("dataset") or "unknown"),
        "source": f"{origin}: {'; '.join(summary)} (the crossbar model's layer list, written as a spikeloop network)",
        "timesteps": model.timesteps,
        "input": {"channels": input_shape[0], "height": input_shape[1], "width": input_shape[2]},
        "defaults": {
            "weight_bits": model.weight_bits,
            "psum_bits": 16,
            "membrane_bits": 16,
            "spike_density": 1.0,
            "weight_density": 1.0,
            "neuron": default,
        },
        "layers": layers,
    }


def check_network_matches(network: Network, model: SNNModel) -> None:
    """Raise if a conv/linear layer of the (loaded) ``network`` and the model's weights disagree in shape."""
    from costmodel.types import Dim

    by_name = {layer.name: layer for layer in network.layers}
    for layer in model.weight_layers():
        if layer.name not in by_name:
            raise ValueError(f"network {network.name!r}: no layer {layer.name!r} (the model has one)")
        nl = by_name[layer.name]
        dims = (Dim.K, Dim.C, Dim.R, Dim.S) if isinstance(layer, Conv) else (Dim.K, Dim.C)
        want = tuple(nl.bound(d) for d in dims)
        if want != tuple(layer.weight.shape):
            raise ValueError(
                f"network {network.name!r}: layer {layer.name!r} has {want} but the model's weight is "
                f"{list(layer.weight.shape)}"
            )


# ------------------------------------------------------------------------------------------------ profiling
def profile(
    loaded: Loaded,
    images: np.ndarray,
    *,
    data: str,
    timesteps: int | None = None,
    labels: np.ndarray | None = None,
    backend: Any = None,
    executor: str | None = None,
    weight_bits: int | None = None,
    dtype: type = np.float32,
) -> Profile:
    """Measure ``loaded.model`` on ``images`` (``data`` says what they are) and build the profiled network.

    ``backend`` (a :class:`crossbar.mapping.CrossbarBackend`) with ``executor`` (its description), ``weight_bits``
    and ``dtype`` measures through a simulated chip; the default is the software executor. Raises
    :class:`DataError` when the model cannot run on the images."""
    steps = loaded.model.timesteps if timesteps is None else timesteps
    bits = loaded.model.weight_bits if weight_bits is None else weight_bits
    try:
        activity, outputs = run_with_activity(
            loaded.model, images, steps, backend=backend, weight_bits=bits, dtype=dtype
        )
    except ValueError as exc:  # e.g. images whose map does not fit a layer
        raise DataError(str(exc)) from None
    acc = None
    if labels is not None and labels.size:
        acc = float((outputs.mean(axis=0).argmax(axis=-1) == labels[: outputs.shape[1]]).mean())
    run = executor or f"software executor, weights quantized to {bits} bits, no crossbar non-idealities"
    network, comments = profiled_network(loaded.network, activity, data=data, executor=run, accuracy=acc)
    return Profile(
        activity=activity,
        network=network,
        origin=loaded.origin,
        data=data,
        executor=run,
        accuracy=acc,
        comments=comments,
    )


def reads_text(la: LayerActivity) -> str:
    """What a layer reads, in words: the analog or binary network input, spikes, or non-binary values."""
    if la.reads_input:
        return "the binary network input" if la.spikes else "the analog network input (direct coding)"
    return "spikes" if la.spikes else "non-binary values, e.g. average-pooled spikes"


def _comment(la: LayerActivity) -> str:
    per_t = ", ".join(f"{v:.3f}" for v in la.density_per_t)
    text = f"{la.name} reads {reads_text(la)}: non-zero inputs per timestep {per_t}"
    if la.kind == "conv" or la.kind == "pool":
        text += f" (windows, zero padding as zero; of the input map itself: {la.mean_map_density:.3f} on average)"
    if la.weight_density is not None:
        text += f"; non-zero weights {la.weight_density:.3f}"
    return text


PROFILE_MARK = "Densities measured by spikeloop profile"
ORIGINAL_MARK = "Original source: "


def _source(network: Mapping[str, Any], activity: Activity, unmeasured: list[str], **run: Any) -> str:
    """The ``source:`` text of a profiled network (what was measured, on what, and what was not)."""
    layers = list(activity)
    acc = run["accuracy"]
    text = (
        f"{PROFILE_MARK} ({run['executor']}) on {activity.samples} images of {run['data']}, "
        f"T = {activity.timesteps}"
        + (f"; accuracy on them {100 * acc:.2f} %" if acc is not None else "")
        + ". spike_density_per_t: fraction of non-zero inputs of the layer at each timestep, averaged over the "
        "images, counted over the kernel windows of conv and pool layers (zero padding counts as zero, so "
        f"accumulations = dense MACs x density); weight_density: non-zero fraction of the {activity.weight_bits}-bit "
        "weights."
    )
    analog = [la for la in layers if not la.spikes]
    if analog:
        text += (
            " Not spike rates (inputs not all 0 or 1: the density is the fraction of non-zero values): "
            + "; ".join(f"{la.name} reads {reads_text(la)}" for la in analog)
            + "."
        )
    if unmeasured:
        text += f" Not measured (the original file's values kept): {', '.join(unmeasured)}."
    else:
        text += " Not measured: none (every layer ran in the executor)."
    original = str(network.get("source", "")).strip()
    if original.startswith(PROFILE_MARK):  # a profiled file profiled again: keep the first original only
        original = original.split(ORIGINAL_MARK, 1)[1] if ORIGINAL_MARK in original else ""
    return text + (f" {ORIGINAL_MARK}{original}" if original else "")


def _mean_density(entry: dict[str, Any], t: int) -> None:
    """Per-timestep densities of another T become their mean (what ``load_network(timesteps=...)`` does)."""
    per_t = entry.get("spike_density_per_t")
    if isinstance(per_t, list) and len(per_t) != t and per_t and all(isinstance(v, int | float) for v in per_t):
        del entry["spike_density_per_t"]
        entry["spike_density"] = round(float(np.mean(per_t)), DECIMALS)


def profiled_network(
    network: Mapping[str, Any],
    activity: Activity,
    *,
    data: str = "",
    executor: str = "",
    accuracy: float | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """A copy of ``network`` (parsed YAML) whose measured layers carry ``spike_density_per_t`` (rounded to
    :data:`DECIMALS`) and whose weight layers carry ``weight_density``, with ``timesteps`` = the measured T and a
    ``source`` saying what was measured; returns (network, layer name -> comment)."""
    out = copy.deepcopy(dict(network))
    t = activity.timesteps
    out["timesteps"] = t
    if isinstance(out.get("defaults"), dict):
        _mean_density(out["defaults"], t)
    entries = [e for e in out.get("layers") or [] if isinstance(e, dict)]
    missing = [name for name in activity.names if name not in {e.get("name") for e in entries}]
    if missing:
        raise ValueError(f"network {out.get('name')!r}: no layer named {missing[0]!r}, which the model runs")
    comments: dict[str, str] = {}
    unmeasured: list[str] = []
    for entry in entries:
        name = str(entry.get("name"))
        if name not in activity.names:
            unmeasured.append(name)
            _mean_density(entry, t)
            continue
        la = activity[name]
        entry.pop("spike_density", None)
        entry.pop("spike_density_per_t", None)
        entry.pop("weight_density", None)
        entry["spike_density_per_t"] = [round(v, DECIMALS) for v in la.density_per_t]
        if la.weight_density is not None:
            entry["weight_density"] = round(la.weight_density, DECIMALS)
        comments[name] = _comment(la)
    out["source"] = _source(network, activity, unmeasured, data=data, executor=executor, accuracy=accuracy)
    for entry in entries:
        _order(entry, LAYER_ORDER)
    if isinstance(out.get("defaults"), dict):
        _order(out["defaults"], DEFAULTS_ORDER)
    return _order(out, TOP_ORDER), comments


def _order(entry: dict[str, Any], first: tuple[str, ...]) -> dict[str, Any]:
    """Reorder ``entry`` in place: the ``first`` keys in that order, then the others, measured densities last."""
    last = ("spike_density_per_t", "weight_density") if first is LAYER_ORDER else ()
    keys = [k for k in first if k in entry] + [k for k in entry if k not in first and k not in last]
    items = [(k, entry[k]) for k in keys + [k for k in last if k in entry]]
    entry.clear()
    entry.update(items)
    return entry


# ------------------------------------------------------------------------------------------------ YAML text
class _Dumper(yaml.SafeDumper):
    """Safe YAML: maps of scalars in flow style (``input: {channels: 1, ...}``), others as blocks; long text
    folded (``>-``)."""


class _Block(dict):
    """A map always written as a block (the document's top level)."""


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = ">" if len(text) > 80 and "\n" not in text and text == text.strip() else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


def _represent_dict(dumper: yaml.SafeDumper, data: dict) -> yaml.Node:
    flow = not isinstance(data, _Block) and not any(isinstance(v, dict | list) for v in data.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(_Block, _represent_dict)


def network_yaml(network: Mapping[str, Any], comments: Mapping[str, str], *, header: str) -> str:
    """``network`` as YAML: top-level keys in order, maps of scalars in flow style, one flow-style line per layer
    with its comment (wrapped) above it."""
    import textwrap

    top = f"{header}; schema: costmodel/network.py, docs/formats.md"
    lines = [f"# {line}" for line in textwrap.wrap(top, 116, break_on_hyphens=False)]
    head = _Block({k: v for k, v in network.items() if k != "layers"})
    lines.append(yaml.dump(head, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=110).rstrip("\n"))
    lines.append("layers:")
    for entry in network.get("layers") or []:
        name = str(entry.get("name")) if isinstance(entry, dict) else ""
        if name in comments:
            lines += [f"  # {line}" for line in textwrap.wrap(comments[name], 114, break_on_hyphens=False)]
        flow = yaml.dump(entry, Dumper=yaml.SafeDumper, sort_keys=False, default_flow_style=True, width=10**6)
        lines.append(f"  - {flow.strip()}")
    return "\n".join(lines) + "\n"
