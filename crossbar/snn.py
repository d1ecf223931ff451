"""Spiking network values and numpy inference: direct encoding over T steps; conv, linear, avg/max pool, BN, LIF.

Activations are NHWC internally (``flatten`` reorders to the NCHW order PyTorch uses, so fully connected
weights keep PyTorch's layout). Conv and linear layers run as im2col matmuls through a :class:`MatmulBackend`:
the software backend multiplies by (quantized or float) weights, the crossbar backend (:mod:`crossbar.mapping`)
by simulated crossbars. The input image is fed unchanged at every timestep (direct encoding); the output is the
last layer's output averaged over the timesteps seen so far. An :class:`InputObserver` passed to :func:`forward`
sees the input of every conv, linear and pool layer at every timestep (:mod:`crossbar.activity` counts spikes).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Protocol

import numpy as np

from costmodel.workload import Neuron
from crossbar import equations as eq


@dataclass(frozen=True, eq=False, kw_only=True)
class Conv:
    """2-D convolution; ``weight`` [K, C, kh, kw] (PyTorch layout); optional ``bias`` [K]."""

    name: str
    weight: np.ndarray
    bias: np.ndarray | None = None
    stride: int = 1
    padding: int = 0


@dataclass(frozen=True, eq=False, kw_only=True)
class Linear:
    """Fully connected layer; ``weight`` [K, C] (PyTorch layout); optional ``bias`` [K]."""

    name: str
    weight: np.ndarray
    bias: np.ndarray | None = None


@dataclass(frozen=True, eq=False, kw_only=True)
class BatchNorm:
    """Per-channel batch norm with running statistics (``mean``, ``var``) and affine ``gamma``, ``beta``."""

    name: str
    gamma: np.ndarray
    beta: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    eps: float = 1e-5


@dataclass(frozen=True, kw_only=True)
class LIF:
    """Leaky integrate-and-fire layer; the membrane persists across timesteps."""

    neuron: Neuron = field(default_factory=Neuron)


class PoolMode(StrEnum):
    """How a pooling window is reduced: AVG = mean (zero padding counted), MAX = maximum (padding ignored)."""

    AVG = "avg"
    MAX = "max"


@dataclass(frozen=True, kw_only=True)
class Pool:
    """Pooling over ``kernel`` = (rows, cols) windows every ``stride`` steps after zero ``padding`` on each side;
    output side floor((H + 2·padding - rows)/stride) + 1 (PyTorch's ``avg_pool2d``/``max_pool2d``, ceil_mode off).
    ``name`` is the network layer's name when the model was built from a network ('' otherwise)."""

    mode: PoolMode = PoolMode.AVG
    kernel: tuple[int, int] = (2, 2)
    stride: int = 2
    padding: int = 0
    name: str = ""

    def __post_init__(self) -> None:
        if min(self.kernel) < 1 or self.stride < 1 or self.padding < 0:
            raise ValueError(
                f"pool: expected kernel, stride >= 1 and padding >= 0, got {self.kernel}, {self.stride}, {self.padding}"
            )


def AvgPool(size: int = 2) -> Pool:  # noqa: N802 - reads as the layer it builds
    """Average pooling over non-overlapping size x size windows (a partial last window is dropped)."""
    return Pool(mode=PoolMode.AVG, kernel=(size, size), stride=size, padding=0)


@dataclass(frozen=True, kw_only=True)
class Flatten:
    pass


Layer = Conv | Linear | BatchNorm | LIF | Pool | Flatten
WeightLayer = Conv | Linear


@dataclass(frozen=True, eq=False, kw_only=True)
class SNNModel:
    """An ordered stack of layers run for ``timesteps`` steps on a direct-encoded input; ``meta`` is free text.

    ``input_shape`` (C, H, W) is the input the network expects when it is known (checked against the data);
    ``name`` says where the model came from (a file name) in error messages.
    """

    layers: tuple[Layer, ...]
    timesteps: int
    weight_bits: int = 4
    meta: dict = field(default_factory=dict)
    input_shape: tuple[int, int, int] | None = None
    name: str = "model"

    def weight_layers(self) -> list[WeightLayer]:
        return [layer for layer in self.layers if isinstance(layer, Conv | Linear)]

    def batchnorms(self) -> list[BatchNorm]:
        return [layer for layer in self.layers if isinstance(layer, BatchNorm)]


def weight_matrix(layer: WeightLayer) -> np.ndarray:
    """The layer as an im2col matrix [rows, K]; conv rows are ordered (kh, kw, c) (one kernel tap per C rows)."""
    w = np.asarray(layer.weight)
    if isinstance(layer, Conv):
        return w.transpose(2, 3, 1, 0).reshape(-1, w.shape[0])
    return w.T


def im2col(x: np.ndarray, kh: int, kw: int, stride: int, padding: int) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Patches of NHWC ``x`` as rows [N·P·Q, kh·kw·C] in (kh, kw, c) order; returns (cols, (N, P, Q))."""
    n, h, w, c = x.shape
    if padding:
        x = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]
    p, q = win.shape[1], win.shape[2]
    cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(n * p * q, kh * kw * c)
    return cols, (n, p, q)


class MatmulBackend(Protocol):
    """How conv/linear layers multiply: ``matmul(index, cols, t) -> [rows, K]`` for weight layer ``index``."""

    def matmul(self, index: int, cols: np.ndarray, t: int) -> np.ndarray: ...


class InputObserver(Protocol):
    """Sees what each conv, linear and pool layer reads at step ``t``: ``position`` indexes ``model.layers``, ``x``
    is the layer's input (NHWC map, or [N, features] for a linear layer) and ``cols`` what the matmul backend
    receives (im2col rows of a conv; ``x`` itself for a linear layer; None for a pool)."""

    def observe(self, position: int, layer: Layer, t: int, x: np.ndarray, cols: np.ndarray | None) -> None: ...


class SoftwareBackend:
    """Exact digital matmuls with the quantized weights (q·s per output channel), or float weights if bits=None."""

    def __init__(self, model: SNNModel, *, bits: int | None, dtype: type = np.float32) -> None:
        self.mats: list[np.ndarray] = []
        for layer in model.weight_layers():
            w = weight_matrix(layer).astype(np.float64)
            if bits is not None:
                s = eq.quantization_scale(np.abs(w).max(axis=0), bits)
                w = eq.quantize(w, s, bits) * s
            self.mats.append(w.astype(dtype))

    def matmul(self, index: int, cols: np.ndarray, t: int) -> np.ndarray:
        return cols @ self.mats[index]


class BNStatistics:
    """BN in training mode with cumulative averaging (PyTorch ``momentum=None``): every call normalizes with the
    batch statistics over (N, H, W) and adds its mean and unbiased variance to running averages."""

    def __init__(self) -> None:
        self.sums: dict[str, list] = {}

    def normalize(self, bn: BatchNorm, x: np.ndarray) -> np.ndarray:
        axes = tuple(range(x.ndim - 1))
        x64 = x.astype(np.float64)
        mean = x64.mean(axis=axes)
        var = x64.var(axis=axes)
        count = x.size // x.shape[-1]
        entry = self.sums.setdefault(bn.name, [np.zeros_like(mean), np.zeros_like(var), 0])
        entry[0] += mean
        entry[1] += var * count / max(count - 1, 1)
        entry[2] += 1
        return eq.batchnorm(x, mean, var, bn.gamma, bn.beta, bn.eps)

    def adapted(self, bn: BatchNorm) -> BatchNorm:
        if bn.name not in self.sums:
            return bn
        s_mean, s_var, k = self.sums[bn.name]
        return BatchNorm(name=bn.name, gamma=bn.gamma, beta=bn.beta, mean=s_mean / k, var=s_var / k, eps=bn.eps)


def forward(
    model: SNNModel,
    images: np.ndarray,
    backend: MatmulBackend,
    *,
    dtype: type = np.float32,
    timesteps: int | None = None,
    bn_stats: BNStatistics | None = None,
    observer: InputObserver | None = None,
) -> np.ndarray:
    """Run the SNN on NCHW ``images`` for T steps; returns the last layer's output per step [T, N, classes].

    Direct encoding: the same analog image enters the first layer every step. LIF membranes start at 0 and
    persist across steps. With ``bn_stats`` the BN layers use batch statistics and accumulate them (adaptation).
    ``observer`` sees every conv, linear and pool input (:class:`InputObserver`); it does not change the result.
    """
    steps = model.timesteps if timesteps is None else timesteps
    x0: np.ndarray = np.ascontiguousarray(np.asarray(images, dtype=dtype).transpose(0, 2, 3, 1))  # NHWC
    membranes: dict[int, np.ndarray] = {}
    outs = []
    for t in range(steps):
        x = x0
        w_index = 0
        for li, layer in enumerate(model.layers):
            if isinstance(layer, Conv):
                if x.ndim != 4 or x.shape[-1] != layer.weight.shape[1]:
                    raise ValueError(
                        f"layer {layer.name!r}: weight {list(layer.weight.shape)} expects "
                        f"{layer.weight.shape[1]} input channels, got activations of shape "
                        f"{_nchw(x)}"
                    )
                kh, kw = layer.weight.shape[2:]
                cols, (n, p, q) = im2col(x, kh, kw, layer.stride, layer.padding)
                if observer is not None:
                    observer.observe(li, layer, t, x, cols)
                y = backend.matmul(w_index, cols, t)
                if layer.bias is not None:
                    y = y + layer.bias.astype(dtype)
                x = y.reshape(n, p, q, -1)
                w_index += 1
            elif isinstance(layer, Linear):
                if x.ndim != 2 or x.shape[-1] != layer.weight.shape[1]:
                    raise ValueError(
                        f"layer {layer.name!r}: weight {list(layer.weight.shape)} expects "
                        f"{layer.weight.shape[1]} input features, got activations of shape "
                        f"{_nchw(x)}"
                    )
                if observer is not None:
                    observer.observe(li, layer, t, x, x)
                y = backend.matmul(w_index, x, t)
                x = y + layer.bias.astype(dtype) if layer.bias is not None else y
                w_index += 1
            elif isinstance(layer, BatchNorm):
                if bn_stats is not None:
                    x = bn_stats.normalize(layer, x).astype(dtype)
                else:
                    x = eq.batchnorm(x, layer.mean, layer.var, layer.gamma, layer.beta, layer.eps)
            elif isinstance(layer, LIF):
                u = membranes.get(li, np.zeros_like(x))
                nrn = layer.neuron
                u, x = eq.lif_step(u, x, nrn.leak, nrn.threshold, nrn.reset)
                membranes[li] = u
            elif isinstance(layer, Pool):
                if observer is not None:
                    observer.observe(li, layer, t, x, None)
                x = pool2d(x, layer)
            elif isinstance(layer, Flatten):
                x = np.ascontiguousarray(x.transpose(0, 3, 1, 2)).reshape(x.shape[0], -1)
        outs.append(x)
    return np.stack(outs)


def _nchw(x: np.ndarray) -> list[int]:
    """Shape of an internal activation in PyTorch order (NHWC maps are shown as [N, C, H, W])."""
    return [x.shape[0], x.shape[3], x.shape[1], x.shape[2]] if x.ndim == 4 else list(x.shape)


def pool2d(x: np.ndarray, layer: Pool) -> np.ndarray:
    """Pool an NHWC map: avg (zero padding counted, as PyTorch's default) or max (padding never wins)."""
    (kh, kw), st, pad = layer.kernel, layer.stride, layer.padding
    n, h, w, c = x.shape
    if pad == 0 and st == kh == kw:  # non-overlapping windows: a reshape, no copy
        k = kh
        blocks = x[:, : h - h % k, : w - w % k].reshape(n, h // k, k, w // k, k, c)
        return blocks.mean(axis=(2, 4)) if layer.mode is PoolMode.AVG else blocks.max(axis=(2, 4))
    fill = 0.0 if layer.mode is PoolMode.AVG else -np.inf
    if pad:
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), constant_values=fill)
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::st, ::st]
    out = win.mean(axis=(-2, -1)) if layer.mode is PoolMode.AVG else win.max(axis=(-2, -1))
    return np.ascontiguousarray(out, dtype=x.dtype)


def input_densities(model: SNNModel, images: np.ndarray) -> dict[str, float]:
    """Fraction of non-zero inputs of each conv/linear layer over all timesteps on ``images`` (software, quantized
    weights): the mean over T of :func:`crossbar.activity.measure_activity`'s per-step densities. For conv layers
    the im2col rows count, so zero padding counts as zero inputs."""
    from crossbar.activity import measure_activity

    activity = measure_activity(model, images)
    return {layer.name: activity[layer.name].mean_density for layer in model.weight_layers()}


def with_batchnorms(model: SNNModel, bns: dict[str, BatchNorm]) -> SNNModel:
    """A copy of ``model`` whose BN layers are replaced by ``bns`` (by name); weights untouched."""
    layers = tuple(bns.get(layer.name, layer) if isinstance(layer, BatchNorm) else layer for layer in model.layers)
    return replace(model, layers=layers)


def cumulative_mean(outputs: np.ndarray) -> np.ndarray:
    """Output averaged over the first t+1 steps for every t: [T, N, K] -> [T, N, K]."""
    return np.cumsum(outputs, axis=0) / np.arange(1, outputs.shape[0] + 1).reshape(-1, 1, 1)


def predict(outputs: np.ndarray) -> np.ndarray:
    """Class decided after all T steps: argmax of the output averaged over T."""
    return outputs.mean(axis=0).argmax(axis=-1)
