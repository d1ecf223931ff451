"""Measured activity: the per-layer, per-timestep input densities the crossbar executor sees.

:func:`measure_activity` runs :func:`crossbar.snn.forward` (the executor of every crossbar experiment) with an
:class:`ActivityCounter` observing the input of each conv, linear and pool layer at each timestep. Definitions,
per layer and timestep t, summed over the images before dividing (so every image weighs the same):

* ``density_per_t[t]``: non-zero inputs / all inputs of what the layer multiplies: for a conv the im2col rows the
  matmul backend (software or crossbar) receives, one kernel window per output position, so zero padding counts as
  zero inputs and an input covered by several windows counts once per window; for a linear layer its input
  vector; for a pool its windows (zero padding counts as zero). Hence non-zero multiply-accumulates = dense MACs x
  density, exactly, which is how the cost model prices accumulations.
* ``map_density_per_t[t]``: non-zero fraction of the input map itself (every element once, no padding).
* ``spikes``: every input seen was 0 or 1. It is false for the analog image a direct-coded first layer reads and
  for average-pooled spikes (multiples of 1/window): their densities are fractions of non-zero values, not spike
  rates.
* ``weight_density`` (conv and linear): non-zero fraction of the quantized weights the executor multiplies by
  (``weight_bits``, per-output-channel quantization as in :class:`crossbar.snn.SoftwareBackend`).

Layers are named as in the model: conv and linear layers by their ``name``, pool layers by theirs (set when the
model was built from a network file) or else ``pool1``, ``pool2``, ... in order (:func:`observed_names`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from crossbar.snn import LIF, Conv, Layer, Linear, MatmulBackend, Pool, SNNModel, SoftwareBackend, forward

#: Images per forward call: bounds the im2col memory of large networks; densities do not depend on it.
BATCH = 64


@dataclass(frozen=True, kw_only=True)
class LayerActivity:
    """What one conv, linear or pool layer read (see the module docstring for the definitions)."""

    name: str
    kind: str  # conv | linear | pool
    density_per_t: tuple[float, ...]
    map_density_per_t: tuple[float, ...]
    spikes: bool
    reads_input: bool  # no LIF before it: it reads the network input (or a pooled copy of it)
    weight_density: float | None  # None for a pool layer

    @property
    def mean_density(self) -> float:
        return float(np.mean(self.density_per_t))

    @property
    def mean_map_density(self) -> float:
        return float(np.mean(self.map_density_per_t))

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "density_per_t": list(self.density_per_t),
            "map_density_per_t": list(self.map_density_per_t),
            "spikes": self.spikes,
            "reads_input": self.reads_input,
            "weight_density": self.weight_density,
        }


@dataclass(frozen=True, kw_only=True)
class Activity:
    """Measured input activity of every conv, linear and pool layer of a model, in model order."""

    layers: tuple[LayerActivity, ...]
    timesteps: int
    samples: int
    weight_bits: int

    def __getitem__(self, name: str) -> LayerActivity:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no measured layer named {name!r} (measured: {', '.join(self.names)})")

    def __iter__(self) -> Iterator[LayerActivity]:
        return iter(self.layers)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.layers)

    def as_dict(self) -> dict:
        return {
            "timesteps": self.timesteps,
            "samples": self.samples,
            "weight_bits": self.weight_bits,
            "layers": [layer.as_dict() for layer in self.layers],
        }


def observed_names(model: SNNModel) -> dict[int, str]:
    """Position in ``model.layers`` -> name, for every conv, linear and pool layer (unnamed pools: pool1, ...)."""
    out: dict[int, str] = {}
    pools = 0
    for position, layer in enumerate(model.layers):
        if isinstance(layer, Conv | Linear):
            out[position] = layer.name
        elif isinstance(layer, Pool):
            pools += 1
            out[position] = layer.name or f"pool{pools}"
    return out


def _pool_windows(x: np.ndarray, layer: Pool) -> np.ndarray:
    """The windows an NHWC map is pooled over, zero padded: [N, P, Q, C, rows, cols] (a view where possible)."""
    (kh, kw), st, pad = layer.kernel, layer.stride, layer.padding
    if pad:
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    return np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::st, ::st]


class ActivityCounter:
    """An :class:`crossbar.snn.InputObserver` counting non-zero inputs per observed layer and timestep (over every
    forward call it observes; images of several calls add up)."""

    def __init__(self, model: SNNModel, timesteps: int) -> None:
        self.names = observed_names(model)
        self.timesteps = timesteps
        shape = (len(model.layers), timesteps)
        self.nonzero = np.zeros(shape, dtype=np.int64)
        self.total = np.zeros(shape, dtype=np.int64)
        self.map_nonzero = np.zeros(shape, dtype=np.int64)
        self.map_total = np.zeros(shape, dtype=np.int64)
        self.binary = np.ones(len(model.layers), dtype=bool)

    def observe(self, position: int, layer: Layer, t: int, x: np.ndarray, cols: np.ndarray | None) -> None:
        seen = cols if cols is not None else _pool_windows(x, layer) if isinstance(layer, Pool) else x
        self.nonzero[position, t] += int(np.count_nonzero(seen))
        self.total[position, t] += seen.size
        self.map_nonzero[position, t] += int(np.count_nonzero(x))
        self.map_total[position, t] += x.size
        if self.binary[position]:
            self.binary[position] = bool(np.all((x == 0) | (x == 1)))


def run_with_activity(
    model: SNNModel,
    images: np.ndarray,
    timesteps: int | None = None,
    *,
    backend: MatmulBackend | None = None,
    weight_bits: int | None = None,
    dtype: type = np.float32,
) -> tuple[Activity, np.ndarray]:
    """:func:`measure_activity` and the outputs of the run, [T, N, classes] (for accuracy)."""
    steps = model.timesteps if timesteps is None else timesteps
    bits = model.weight_bits if weight_bits is None else weight_bits
    x = np.asarray(images)
    if x.ndim != 4 or x.shape[0] < 1:
        raise ValueError(f"images: expected an array [N, C, H, W] with N >= 1, got shape {list(x.shape)}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"timesteps: expected a positive integer, got {steps!r}")
    software = SoftwareBackend(model, bits=bits, dtype=dtype)
    run = software if backend is None else backend
    counter = ActivityCounter(model, steps)
    outs = [
        forward(model, x[k : k + BATCH], run, dtype=dtype, timesteps=steps, observer=counter)
        for k in range(0, x.shape[0], BATCH)
    ]
    w_density = [float(np.count_nonzero(w)) / w.size for w in software.mats]
    layers = []
    w_index, seen_lif = 0, False
    for position, layer in enumerate(model.layers):
        seen_lif = seen_lif or isinstance(layer, LIF)
        if position not in counter.names:
            continue
        if counter.total[position].min() == 0:
            raise ValueError(f"layer {counter.names[position]!r}: the executor never reached it")
        is_weight = isinstance(layer, Conv | Linear)
        layers.append(
            LayerActivity(
                name=counter.names[position],
                kind="conv" if isinstance(layer, Conv) else "linear" if isinstance(layer, Linear) else "pool",
                density_per_t=tuple(float(v) for v in counter.nonzero[position] / counter.total[position]),
                map_density_per_t=tuple(float(v) for v in counter.map_nonzero[position] / counter.map_total[position]),
                spikes=bool(counter.binary[position]),
                reads_input=not seen_lif,
                weight_density=w_density[w_index] if is_weight else None,
            )
        )
        w_index += int(is_weight)
    activity = Activity(layers=tuple(layers), timesteps=steps, samples=int(x.shape[0]), weight_bits=bits)
    return activity, np.concatenate(outs, axis=1)


def measure_activity(
    model: SNNModel,
    images: np.ndarray,
    timesteps: int | None = None,
    *,
    backend: MatmulBackend | None = None,
    weight_bits: int | None = None,
    dtype: type = np.float32,
) -> Activity:
    """Per-layer, per-timestep input densities and weight densities of ``model`` on NCHW ``images`` over
    ``timesteps`` steps (default: the model's T), measured by the executor itself (module docstring).

    The default backend is the software one with the weights quantized to ``weight_bits`` (default: the model's),
    no crossbar non-idealities; pass a :class:`crossbar.mapping.CrossbarBackend` (and its ``weight_bits`` and
    ``dtype``) to measure through a simulated chip. Pure: the model and images are not changed.
    """
    return run_with_activity(model, images, timesteps, backend=backend, weight_bits=weight_bits, dtype=dtype)[0]
