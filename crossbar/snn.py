"""Spiking network values and numpy inference: direct encoding over T steps, conv / linear / avg-pool / BN / LIF.

Activations are NHWC internally (``flatten`` reorders to the NCHW order PyTorch uses, so fully connected
weights keep PyTorch's layout). Conv and linear layers run as im2col matmuls through a :class:`MatmulBackend`:
the software backend multiplies by (quantized or float) weights, the crossbar backend (:mod:`crossbar.mapping`)
by simulated crossbars. The input image is fed unchanged at every timestep (direct encoding); the output is the
last layer's output averaged over the timesteps seen so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass(frozen=True, kw_only=True)
class AvgPool:
    size: int = 2


@dataclass(frozen=True, kw_only=True)
class Flatten:
    pass


Layer = Conv | Linear | BatchNorm | LIF | AvgPool | Flatten
WeightLayer = Conv | Linear


@dataclass(frozen=True, eq=False, kw_only=True)
class SNNModel:
    """An ordered stack of layers run for ``timesteps`` steps on a direct-encoded input; ``meta`` is free text."""

    layers: tuple[Layer, ...]
    timesteps: int
    weight_bits: int = 4
    meta: dict = field(default_factory=dict)

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


class SoftwareBackend:
    """Exact digital matmuls with the quantized weights (q·s per output channel), or float weights if bits=None."""

    def __init__(self, model: SNNModel, *, bits: int | None, dtype: type = np.float32) -> None:
        self.mats = []
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


def forward(model: SNNModel, images: np.ndarray, backend: MatmulBackend, *, dtype: type = np.float32,
            timesteps: int | None = None, bn_stats: BNStatistics | None = None) -> np.ndarray:
    """Run the SNN on NCHW ``images`` for T steps; returns the last layer's output per step [T, N, classes].

    Direct encoding: the same analog image enters the first layer every step. LIF membranes start at 0 and
    persist across steps. With ``bn_stats`` the BN layers use batch statistics and accumulate them (adaptation).
    """
    steps = model.timesteps if timesteps is None else timesteps
    x0 = np.ascontiguousarray(np.asarray(images, dtype=dtype).transpose(0, 2, 3, 1))  # NHWC
    membranes: dict[int, np.ndarray] = {}
    outs = []
    for t in range(steps):
        x = x0
        w_index = 0
        for li, layer in enumerate(model.layers):
            if isinstance(layer, Conv):
                kh, kw = layer.weight.shape[2:]
                cols, (n, p, q) = im2col(x, kh, kw, layer.stride, layer.padding)
                y = backend.matmul(w_index, cols, t)
                if layer.bias is not None:
                    y = y + layer.bias.astype(dtype)
                x = y.reshape(n, p, q, -1)
                w_index += 1
            elif isinstance(layer, Linear):
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
            elif isinstance(layer, AvgPool):
                k = layer.size
                n, h, w, c = x.shape
                x = x[:, : h - h % k, : w - w % k].reshape(n, h // k, k, w // k, k, c).mean(axis=(2, 4))
            elif isinstance(layer, Flatten):
                x = np.ascontiguousarray(x.transpose(0, 3, 1, 2)).reshape(x.shape[0], -1)
        outs.append(x)
    return np.stack(outs)


def with_batchnorms(model: SNNModel, bns: dict[str, BatchNorm]) -> SNNModel:
    """A copy of ``model`` whose BN layers are replaced by ``bns`` (by name); weights untouched."""
    layers = tuple(bns.get(layer.name, layer) if isinstance(layer, BatchNorm) else layer for layer in model.layers)
    return SNNModel(layers=layers, timesteps=model.timesteps, weight_bits=model.weight_bits, meta=model.meta)


def cumulative_mean(outputs: np.ndarray) -> np.ndarray:
    """Output averaged over the first t+1 steps for every t: [T, N, K] -> [T, N, K]."""
    return np.cumsum(outputs, axis=0) / np.arange(1, outputs.shape[0] + 1).reshape(-1, 1, 1)


def predict(outputs: np.ndarray) -> np.ndarray:
    """Class decided after all T steps: argmax of the output averaged over T."""
    return outputs.mean(axis=0).argmax(axis=-1)
