"""Save and load :class:`crossbar.snn.SNNModel` as a small ``.npz`` (arrays by PyTorch state_dict names plus a JSON
layer list), and build one from any PyTorch-style state_dict (tensors or arrays) of the same layer types.

No torch import here: tensors are converted by duck typing (``.detach().cpu().numpy()``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from costmodel.workload import Neuron, Reset
from crossbar.snn import LIF, AvgPool, BatchNorm, Conv, Flatten, Layer, Linear, SNNModel

REFERENCE_MODEL = Path(__file__).resolve().parent / "data" / "digits_snn.npz"

#: The reference digits network: 2 conv (BN, LIF) + avg-pool + fc, T = 4 (names follow the torch module).
DIGITS_LAYERS: list[dict[str, Any]] = [
    {"type": "conv", "name": "conv1", "in": 1, "out": 16, "kernel": 3, "stride": 1, "padding": 1},
    {"type": "bn", "name": "bn1"},
    {"type": "lif"},
    {"type": "conv", "name": "conv2", "in": 16, "out": 32, "kernel": 3, "stride": 1, "padding": 1},
    {"type": "bn", "name": "bn2"},
    {"type": "lif"},
    {"type": "avgpool", "size": 2},
    {"type": "flatten"},
    {"type": "linear", "name": "fc", "in": 512, "out": 10},
]
DIGITS_NEURON = {"leak": 0.9, "threshold": 1.0, "reset": "soft"}


def _array(v: Any) -> np.ndarray:
    if hasattr(v, "detach"):
        v = v.detach().cpu().numpy()
    return np.asarray(v)


def model_from_state_dict(state: Mapping[str, Any], layers: list[dict[str, Any]], *, timesteps: int,
                          neuron: Mapping[str, Any], weight_bits: int = 4, bn_eps: float = 1e-5,
                          meta: dict | None = None) -> SNNModel:
    """Build an :class:`SNNModel` from a state_dict (``conv1.weight``, ``bn1.running_mean`` …) and a layer list.

    Layer list entries: ``{"type": "conv"|"linear"|"bn"|"lif"|"avgpool"|"flatten", ...}`` as in
    :data:`DIGITS_LAYERS`. Missing keys raise ``KeyError`` naming the key.
    """

    def get(key: str, required: bool = True) -> np.ndarray | None:
        if key not in state:
            if required:
                raise KeyError(f"state_dict: missing key {key!r}")
            return None
        return _array(state[key]).astype(np.float32)

    nrn = Neuron(leak=float(neuron["leak"]), threshold=float(neuron["threshold"]), reset=Reset(neuron["reset"]))
    out: list[Layer] = []
    for i, spec in enumerate(layers):
        kind = spec.get("type")
        name = spec.get("name", "")
        if kind == "conv":
            out.append(Conv(name=name, weight=get(f"{name}.weight"), bias=get(f"{name}.bias", False),
                            stride=int(spec.get("stride", 1)), padding=int(spec.get("padding", 0))))
        elif kind == "linear":
            out.append(Linear(name=name, weight=get(f"{name}.weight"), bias=get(f"{name}.bias", False)))
        elif kind == "bn":
            out.append(BatchNorm(name=name, gamma=get(f"{name}.weight"), beta=get(f"{name}.bias"),
                                 mean=get(f"{name}.running_mean"), var=get(f"{name}.running_var"), eps=bn_eps))
        elif kind == "lif":
            out.append(LIF(neuron=nrn))
        elif kind == "avgpool":
            out.append(AvgPool(size=int(spec.get("size", 2))))
        elif kind == "flatten":
            out.append(Flatten())
        else:
            raise ValueError(f"layers[{i}].type: expected conv, linear, bn, lif, avgpool or flatten, got {kind!r}")
    return SNNModel(layers=tuple(out), timesteps=timesteps, weight_bits=weight_bits, meta=dict(meta or {}))


def save_model(path: str | Path, state: Mapping[str, Any], meta: dict[str, Any]) -> None:
    """Write arrays (by state_dict name) and ``meta`` (layers, timesteps, neuron, weight_bits, ...) to ``path``."""
    arrays = {k: _array(v).astype(np.float32) for k, v in state.items() if not k.endswith("num_batches_tracked")}
    np.savez_compressed(path, __meta__=np.array(json.dumps(meta, sort_keys=True)), **arrays)


def load_model(path: str | Path = REFERENCE_MODEL) -> SNNModel:
    """Load a model written by :func:`save_model` (default: the shipped reference digits SNN)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such model file (run `spikeloop train-reference` to create it)")
    with np.load(p, allow_pickle=False) as z:
        meta = json.loads(str(z["__meta__"]))
        state = {k: z[k] for k in z.files if k != "__meta__"}
    return model_from_state_dict(state, meta["layers"], timesteps=int(meta["timesteps"]), neuron=meta["neuron"],
                                 weight_bits=int(meta["weight_bits"]), bn_eps=float(meta.get("bn_eps", 1e-5)),
                                 meta=meta)
