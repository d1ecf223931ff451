"""Save and load :class:`crossbar.snn.SNNModel` as a small ``.npz``, and read plain weight archives safely.

Two ``.npz`` layouts are read:

* a **model file** (:func:`save_model`, :func:`load_model`): arrays by state_dict name plus a JSON ``__meta__``
  entry holding either a crossbar layer list (``layers``, the shipped digits CNN) or a spikeloop network
  (``network``, the schema of ``costmodel.network``; built by :mod:`crossbar.network_model`);
* a **plain state dict** (:func:`read_npz`): ``<layer>.weight``, ``<layer>.bias`` ... only; it needs a network
  YAML beside it (``spikeloop accuracy --network NET.yaml --weights NET.npz``).

No torch import here: tensors are converted by duck typing (``.detach().cpu().numpy()``). Every error is a one-line
``ValueError`` naming the file (and the key where there is one).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from costmodel.workload import Neuron, Reset
from crossbar.snn import LIF, AvgPool, BatchNorm, Conv, Flatten, Layer, Linear, SNNModel

META_KEY = "__meta__"
DATA_DIR = Path(__file__).resolve().parent / "data"
REFERENCE_MODEL = DATA_DIR / "digits_snn.npz"
#: The second reference model: an MLP 64-128-128-10 whose layers fill most cells of their 64x64 crossbars.
FILLED_MODEL = DATA_DIR / "digits_mlp.npz"

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


def model_from_state_dict(
    state: Mapping[str, Any],
    layers: list[dict[str, Any]],
    *,
    timesteps: int,
    neuron: Mapping[str, Any],
    weight_bits: int = 4,
    bn_eps: float = 1e-5,
    meta: dict | None = None,
) -> SNNModel:
    """Build an :class:`SNNModel` from a state_dict (``conv1.weight``, ``bn1.running_mean`` …) and a layer list.

    Layer list entries: ``{"type": "conv"|"linear"|"bn"|"lif"|"avgpool"|"flatten", ...}`` as in
    :data:`DIGITS_LAYERS`. Missing keys raise ``KeyError`` naming the key.
    """

    def get(key: str) -> np.ndarray:
        if key not in state:
            raise KeyError(f"state_dict: missing key {key!r}")
        return _array(state[key]).astype(np.float32)

    def optional(key: str) -> np.ndarray | None:
        return get(key) if key in state else None

    nrn = Neuron(leak=float(neuron["leak"]), threshold=float(neuron["threshold"]), reset=Reset(neuron["reset"]))
    out: list[Layer] = []
    for i, spec in enumerate(layers):
        kind = spec.get("type")
        name = spec.get("name", "")
        if kind == "conv":
            out.append(
                Conv(
                    name=name,
                    weight=get(f"{name}.weight"),
                    bias=optional(f"{name}.bias"),
                    stride=int(spec.get("stride", 1)),
                    padding=int(spec.get("padding", 0)),
                )
            )
        elif kind == "linear":
            out.append(Linear(name=name, weight=get(f"{name}.weight"), bias=optional(f"{name}.bias")))
        elif kind == "bn":
            out.append(
                BatchNorm(
                    name=name,
                    gamma=get(f"{name}.weight"),
                    beta=get(f"{name}.bias"),
                    mean=get(f"{name}.running_mean"),
                    var=get(f"{name}.running_var"),
                    eps=bn_eps,
                )
            )
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
    arrays: dict[str, np.ndarray] = {
        k: _array(v).astype(np.float32) for k, v in state.items() if not k.endswith("num_batches_tracked")
    }
    arrays[META_KEY] = np.array(json.dumps(meta, sort_keys=True))
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle


def read_npz(path: str | Path, what: str = "weights file") -> dict[str, np.ndarray]:
    """All arrays of a ``.npz`` archive by key. A non-archive or pickled objects are one-line ``ValueError`` s
    naming the file (numpy's own messages, e.g. about ``allow_pickle``, never reach the user); a missing file is a
    ``FileNotFoundError`` naming it."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such {what}")
    if not p.is_file():
        raise ValueError(f"{p}: not a regular file (expected a .npz {what})")
    if not zipfile.is_zipfile(p):
        raise ValueError(f"{p}: not a .npz archive (expected a {what} written by numpy.savez)")
    out: dict[str, np.ndarray] = {}
    try:
        with np.load(p, allow_pickle=False) as z:
            for key in z.files:
                try:
                    out[key] = z[key]
                except ValueError:
                    raise ValueError(f"{p}: {key}: holds pickled Python objects; expected a numeric array") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"{p}: cannot read the .npz archive ({type(exc).__name__}: {exc})") from None
    return out


def load_model(path: str | Path = REFERENCE_MODEL) -> SNNModel:
    """Load a model file written by :func:`save_model` (default: the shipped reference digits SNN)."""
    p = Path(path)
    if not p.exists():
        hint = " (run `spikeloop train-reference` to create it)" if p.parent == DATA_DIR else ""
        raise FileNotFoundError(f"{p}: no such model file{hint}")
    arrays = read_npz(p, "model file")
    if META_KEY not in arrays:
        raise ValueError(
            f"{p}: no {META_KEY} entry, so this is a plain state dict, not a model file; give it as "
            "--weights together with --network NET.yaml"
        )
    try:
        meta = json.loads(str(arrays.pop(META_KEY)))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p}: {META_KEY}: not JSON ({exc.msg})") from None
    if not isinstance(meta, dict) or ("network" not in meta and "layers" not in meta):
        raise ValueError(f"{p}: {META_KEY}: expected an object with 'network' or 'layers'")
    if "network" in meta:
        from crossbar.network_model import model_from_network_data

        return model_from_network_data(
            meta["network"], arrays, network_file=f"{p}:{META_KEY}.network", weights_file=str(p), meta=meta
        )
    try:
        model = model_from_state_dict(
            arrays,
            meta["layers"],
            timesteps=int(meta["timesteps"]),
            neuron=meta["neuron"],
            weight_bits=int(meta["weight_bits"]),
            bn_eps=float(meta.get("bn_eps", 1e-5)),
            meta=meta,
        )
    except KeyError as exc:
        raise ValueError(f"{p}: {exc.args[0]}") from None
    shape = meta.get("input_shape")
    input_shape = (int(shape[0]), int(shape[1]), int(shape[2])) if isinstance(shape, list) and len(shape) == 3 else None
    return SNNModel(
        layers=model.layers,
        timesteps=model.timesteps,
        weight_bits=model.weight_bits,
        meta=meta,
        input_shape=input_shape,
        name=str(p),
    )
