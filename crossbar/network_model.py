"""Any network that fits: a spikeloop network YAML plus a plain weights ``.npz`` as a crossbar-runnable SNN.

The network file is the cost model's schema (``costmodel.network``: chained ``conv``, ``linear`` and ``pool``
layers, one ``neuron`` per layer, ``timesteps``, ``input``). The weights file is a plain state dict, the
contract ``spikeloop import-nir`` writes:

=============================================  =====================================================  =========
key                                            shape                                                   required
=============================================  =====================================================  =========
``<layer>.weight`` (conv)                      [K, C, R, S] (out channels, in channels, kernel rows,  yes
                                               kernel cols), as PyTorch's ``Conv2d``
``<layer>.weight`` (linear)                    [K, C] (out features, in features), as ``nn.Linear``   yes
``<layer>.bias``                               [K]                                                     no
``<layer>.bn.weight``, ``<layer>.bn.bias``,    [K] each: a batch norm on the layer's output (γ, β,    no (all
``<layer>.bn.running_mean``,                   running mean and variance, ε = 1e-5)                    four or
``<layer>.bn.running_var``                                                                             none)
=============================================  =====================================================  =========

Numbers must be finite; ``__meta__`` and ``*.num_batches_tracked`` are ignored; any other key is an error (a
misspelt layer name must not drop a batch norm silently).

How the layers run (direct encoding, T = the network's ``timesteps``): every conv or linear layer computes its
matmul (plus bias), then its batch norm if the weights have one, then a LIF neuron with the layer's ``neuron``
(leak, threshold, soft or hard reset), whose spikes feed the next layer, except the **last** conv/linear layer:
its output (before any neuron) is the readout, averaged over the timesteps. Pool layers (``avg`` with zero
padding counted, ``max``) pool whatever the previous layer produced; a linear layer reading a map flattens it
in (C, H, W) order, as ``torch.flatten`` does.

Refused with a one-line error naming the file and layer: ``add`` layers (residual sums), ``input:`` edges to
anything but the previous layer, unchained lists (``chain: false``), a conv or pool after a linear layer, and
weight shapes that disagree with the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from costmodel.types import LayerKind
from costmodel.workload import Layer as NetLayer
from crossbar.snn import LIF, BatchNorm, Conv, Flatten, Layer, Linear, Pool, PoolMode, SNNModel

BN_EPS = 1e-5
BN_KEYS = ("weight", "bias", "running_mean", "running_var")
IGNORED_KEYS = ("__meta__",)


def _shape(a: np.ndarray) -> list[int]:
    return [int(d) for d in a.shape]


class _Weights:
    """The state dict with the names of its files, handing out checked float32 arrays and noting used keys."""

    def __init__(self, state: Mapping[str, Any], weights_file: str, network_file: str) -> None:
        self.state = state
        self.file = weights_file
        self.network_file = network_file
        self.used: set[str] = set()

    def get(self, key: str, shape: tuple[int, ...], layer: str, *, required: bool = True) -> np.ndarray | None:
        if key not in self.state:
            if required:
                raise ValueError(
                    f"{self.file}: {key}: missing (layer {layer!r} of {self.network_file} needs a "
                    f"weight of shape {list(shape)})"
                )
            return None
        self.used.add(key)
        arr = np.asarray(self.state[key])
        if arr.dtype.kind not in "fiu":
            raise ValueError(f"{self.file}: {key}: expected a numeric array, got dtype {arr.dtype}")
        if tuple(arr.shape) != shape:
            raise ValueError(
                f"{self.file}: {key}: expected shape {list(shape)} (layer {layer!r} of "
                f"{self.network_file}), got {_shape(arr)}"
            )
        out = arr.astype(np.float32)
        if not np.isfinite(out).all():
            raise ValueError(f"{self.file}: {key}: holds NaN or infinite values")
        return out

    def batchnorm(self, layer: str, k: int) -> BatchNorm | None:
        keys = [f"{layer}.bn.{part}" for part in BN_KEYS]
        present = [key for key in keys if key in self.state]
        if not present:
            return None
        if len(present) != len(keys):
            missing = ", ".join(key for key in keys if key not in self.state)
            raise ValueError(f"{self.file}: {missing}: missing (a batch norm needs all of {', '.join(keys)})")
        gamma, beta, mean, var = (self.get(key, (k,), layer) for key in keys)
        assert gamma is not None and beta is not None and mean is not None and var is not None
        if (var < 0).any():
            raise ValueError(f"{self.file}: {layer}.bn.running_var: expected values >= 0, got {float(var.min())}")
        return BatchNorm(name=f"{layer}.bn", gamma=gamma, beta=beta, mean=mean, var=var, eps=BN_EPS)

    def check_all_used(self) -> None:
        extra = sorted(
            k
            for k in self.state
            if k not in self.used and k not in IGNORED_KEYS and not k.endswith(".num_batches_tracked")
        )
        if extra:
            shown = ", ".join(repr(k) for k in extra[:5]) + (" ..." if len(extra) > 5 else "")
            raise ValueError(
                f"{self.file}: {shown}: no layer of {self.network_file} uses "
                f"{'this key' if len(extra) == 1 else 'these keys'} (expected <layer>.weight, "
                "<layer>.bias, <layer>.bn.{weight,bias,running_mean,running_var})"
            )


def _check_topology(data: Any, file: str) -> None:
    """Refuse what the layer list of the network object cannot show: unchained lists and non-sequential edges."""
    if not isinstance(data, dict):
        return  # the loader reports it
    if data.get("chain", True) is False:
        raise ValueError(
            f"{file}: chain: false lists do not say how layers connect; the crossbar model runs chained networks only"
        )
    previous = "input"
    for i, layer in enumerate(data.get("layers") or []):
        if not isinstance(layer, dict):
            continue
        name = layer.get("name", f"layers[{i}]")
        if layer.get("kind") == LayerKind.ADD.value:
            raise ValueError(
                f"{file}: layers[{i}] ({name!r}): add (residual sum) layers are not supported by the "
                "crossbar executor (sequential conv/linear/pool networks only)"
            )
        src = layer.get("input", previous)
        if src != previous:
            raise ValueError(
                f"{file}: layers[{i}].input: layer {name!r} reads {src!r}, not the previous layer "
                f"{previous!r}; the crossbar executor runs sequential networks only"
            )
        previous = name


def model_from_network_data(
    data: Any, state: Mapping[str, Any], *, network_file: str, weights_file: str, meta: dict | None = None
) -> SNNModel:
    """Build the SNN from parsed network YAML ``data`` and a state dict; errors name ``network_file`` and
    ``weights_file`` (see the module docstring for the contract)."""
    from costmodel.network import network_from_data

    _check_topology(data, network_file)
    net = network_from_data(data, network_file)
    inp = data["input"]
    input_shape = (int(inp["channels"]), int(inp["height"]), int(inp["width"]))
    weights = _Weights(state, weights_file, network_file)
    kinds = [layer.kind for layer in net.layers]
    weight_idx = [i for i, kind in enumerate(kinds) if kind in (LayerKind.CONV, LayerKind.LINEAR)]
    if not weight_idx:
        raise ValueError(f"{network_file}: no conv or linear layer: nothing to put on crossbars")
    last = weight_idx[-1]
    seen_linear = ""
    for nl in net.layers:  # the shape of the data flow first, so that a wrong network is named before its weights
        if seen_linear and nl.kind in (LayerKind.CONV, LayerKind.POOL):
            raise ValueError(
                f"{network_file}: layer {nl.name!r}: a {nl.kind.value} layer after a linear layer "
                f"({seen_linear!r}) is not supported"
            )
        seen_linear = nl.name if nl.kind is LayerKind.LINEAR else seen_linear
    layers: list[Layer] = []
    is_map = True
    for i, nl in enumerate(net.layers):
        layers.extend(_layer(nl, weights, is_map, last=i == last, file=network_file))
        is_map = nl.kind is not LayerKind.LINEAR and is_map
    if is_map:  # a conv (and pool) readout: the classes are its flattened outputs
        layers.append(Flatten())
    weights.check_all_used()
    bits = max(nl.weight_bits for nl in net.layers if nl.kind in (LayerKind.CONV, LayerKind.LINEAR))
    info = dict(meta or {})
    info.setdefault("network", data)
    return SNNModel(
        layers=tuple(layers),
        timesteps=net.timesteps,
        weight_bits=bits,
        meta=info,
        input_shape=input_shape,
        name=weights_file,
    )


def _layer(nl: NetLayer, weights: _Weights, is_map: bool, *, last: bool, file: str) -> list[Layer]:
    """The SNN layers of one network layer (see the module docstring)."""
    _, _, k, c, _, _, r, s = nl.bounds
    if nl.kind is LayerKind.CONV:
        assert is_map, "checked in model_from_network_data"
        w = weights.get(f"{nl.name}.weight", (k, c, r, s), nl.name)
        assert w is not None
        out: list[Layer] = [
            Conv(
                name=nl.name,
                weight=w,
                bias=weights.get(f"{nl.name}.bias", (k,), nl.name, required=False),
                stride=nl.stride,
                padding=nl.padding,
            )
        ]
    elif nl.kind is LayerKind.LINEAR:
        w = weights.get(f"{nl.name}.weight", (k, c), nl.name)
        assert w is not None
        out = [Flatten()] if is_map else []
        out.append(Linear(name=nl.name, weight=w, bias=weights.get(f"{nl.name}.bias", (k,), nl.name, required=False)))
    elif nl.kind is LayerKind.POOL:
        assert is_map, "checked in model_from_network_data"
        assert nl.pool is not None
        return [Pool(mode=PoolMode(nl.pool.value), kernel=(r, s), stride=nl.stride, padding=nl.padding, name=nl.name)]
    else:  # add layers are refused by _check_topology
        raise ValueError(f"{file}: layer {nl.name!r}: kind {nl.kind.value} is not supported by the crossbar executor")
    bn = weights.batchnorm(nl.name, k)
    if bn is not None:
        out.append(bn)
    if not last:
        out.append(LIF(neuron=nl.neuron))
    return out


def load_network_model(network: str | Path, weights: str | Path) -> SNNModel:
    """The SNN of a network (shipped name or YAML path) with the weights of a plain ``.npz`` state dict."""
    import archspecs
    from costmodel.specio import load_yaml
    from crossbar.model_io import read_npz

    try:
        path = archspecs.network_path(str(network))
    except FileNotFoundError as exc:
        raise ValueError(f"--network: {exc}") from None
    data = load_yaml(path)
    return model_from_network_data(data, read_npz(weights), network_file=str(path), weights_file=str(weights))
