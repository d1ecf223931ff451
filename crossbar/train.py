"""Train the reference digits SNNs with surrogate-gradient BPTT in PyTorch (optional extra: ``pip install '.[train]'``).

Two models (:class:`ReferenceModel`): ``digits-cnn`` (conv3x3 1->16, BN, LIF; conv3x3 16->32, BN, LIF; avg-pool 2;
fc 512->10; shipped as ``crossbar/data/digits_snn.npz``) and ``digits-mlp`` (fc 64->128, BN, LIF; fc 128->128, BN,
LIF; fc 128->10; shipped as ``crossbar/data/digits_mlp.npz``, a spikeloop network plus its weights, whose layers
fill most cells of their 64x64 crossbars). Recipe for both: direct encoding, T = 4, LIF u <- 0.9·u + x
(threshold 1, soft reset), triangle surrogate 0.3·max(0, 1 - |u - θ|), per-output-channel 4-bit fake quantization
of conv and fc weights with a straight-through estimator (the same quantizer as :func:`crossbar.equations.quantize`),
Adam 3e-3 with a cosine schedule, batch 64, loss = mean over t of the cross entropy of the output averaged over the
first t steps (so that early exits, DT-SNN, are accurate too). One thread, seeded, deterministic (the shipped files
are what ``spikeloop train-reference --model NAME`` writes, byte for byte in the weights).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from crossbar.data import SPLIT_SEED, TEST_FRACTION, digits_split
from crossbar.model_io import DIGITS_LAYERS, DIGITS_NEURON, FILLED_MODEL, REFERENCE_MODEL, save_model


class ReferenceModel(StrEnum):
    """The shipped reference models (``spikeloop train-reference --model``)."""

    CNN = "digits-cnn"
    MLP = "digits-mlp"

    @property
    def path(self) -> Path:
        return REFERENCE_MODEL if self is ReferenceModel.CNN else FILLED_MODEL


MLP_HIDDEN = 128


def mlp_network(
    hidden: int = MLP_HIDDEN, timesteps: int = 4, weight_bits: int = 4, densities: dict[str, float] | None = None
) -> dict[str, Any]:
    """The digits MLP as a spikeloop network (the schema of ``costmodel.network``); BN lives in the weights
    (``fc1.bn.*``, ``fc2.bn.*``). ``densities`` (layer -> measured mean input density) become ``spike_density``."""
    dens = densities or {}
    layers: list[dict[str, Any]] = []
    for name, out in (("fc1", hidden), ("fc2", hidden), ("fc3", 10)):
        layer: dict[str, Any] = {"name": name, "kind": "linear", "out_features": out}
        if name in dens:
            layer["spike_density"] = round(float(dens[name]), 4)
        layers.append(layer)
    return {
        "name": "digits-mlp",
        "dataset": "sklearn digits 8x8, stratified 80/20 split (seed 0)",
        "source": "spikeloop train-reference --model digits-mlp (crossbar/train.py)",
        "timesteps": timesteps,
        "input": {"channels": 1, "height": 8, "width": 8},
        "defaults": {
            "weight_bits": weight_bits,
            "psum_bits": 16,
            "membrane_bits": 16,
            "spike_density": 1.0,
            "weight_density": 1.0,
            "neuron": dict(DIGITS_NEURON),
        },
        "layers": layers,
    }


@dataclass(frozen=True, kw_only=True)
class TrainResult:
    path: str
    epochs: int
    seconds: float
    torch_test_accuracy: float


def _build(torch, timesteps: int, weight_bits: int, model: ReferenceModel):  # noqa: ANN001 - lazy torch
    nn = torch.nn
    module: Any = nn.Module
    q_max = 2 ** (weight_bits - 1) - 1
    leak, theta = DIGITS_NEURON["leak"], DIGITS_NEURON["threshold"]

    class SpikeFn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, u):  # noqa: ANN001, ANN205
            ctx.save_for_backward(u)
            return (u >= theta).to(u.dtype)

        @staticmethod
        def backward(ctx, grad):  # noqa: ANN001, ANN205
            (u,) = ctx.saved_tensors
            return grad * 0.3 * torch.clamp(1.0 - torch.abs(u - theta), min=0.0)

    def fake_quant(w):  # noqa: ANN001, ANN202
        dims = tuple(range(1, w.dim()))
        s = w.detach().abs().amax(dim=dims, keepdim=True) / q_max
        s = torch.where(s > 0, s, torch.ones_like(s))
        wq = torch.clamp(torch.round(w / s), -q_max, q_max) * s
        return w + (wq - w).detach()

    def lif(u, a):  # noqa: ANN001, ANN202 - membrane update, spike, soft reset
        u = a if u is None else leak * u + a
        s = SpikeFn.apply(u)
        return u - theta * s.detach(), s

    class DigitsMLP(module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(64, MLP_HIDDEN, bias=False)
            self.bn1 = nn.BatchNorm1d(MLP_HIDDEN)
            self.fc2 = nn.Linear(MLP_HIDDEN, MLP_HIDDEN, bias=False)
            self.bn2 = nn.BatchNorm1d(MLP_HIDDEN)
            self.fc3 = nn.Linear(MLP_HIDDEN, 10)

        def forward(self, x):  # noqa: ANN001, ANN202
            f = nn.functional
            x = x.flatten(1)
            u1 = u2 = None
            outs = []
            for _ in range(timesteps):
                u1, s1 = lif(u1, self.bn1(f.linear(x, fake_quant(self.fc1.weight))))
                u2, s2 = lif(u2, self.bn2(f.linear(s1, fake_quant(self.fc2.weight))))
                outs.append(f.linear(s2, fake_quant(self.fc3.weight), self.fc3.bias))
            return torch.stack(outs)  # [T, N, 10]

    if model is ReferenceModel.MLP:
        return DigitsMLP()

    class DigitsSNN(module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(32)
            self.fc = nn.Linear(512, 10)

        def forward(self, x):  # noqa: ANN001, ANN202
            f = nn.functional
            u1 = u2 = None
            outs = []
            for _ in range(timesteps):
                a = self.bn1(f.conv2d(x, fake_quant(self.conv1.weight), padding=1))
                u1 = a if u1 is None else leak * u1 + a
                s1 = SpikeFn.apply(u1)
                u1 = u1 - theta * s1.detach()
                b = self.bn2(f.conv2d(s1, fake_quant(self.conv2.weight), padding=1))
                u2 = b if u2 is None else leak * u2 + b
                s2 = SpikeFn.apply(u2)
                u2 = u2 - theta * s2.detach()
                z = f.avg_pool2d(s2, 2).flatten(1)
                outs.append(f.linear(z, fake_quant(self.fc.weight), self.fc.bias))
            return torch.stack(outs)  # [T, N, 10]

    return DigitsSNN()


def train_reference(
    out: str | Path | None = None,
    *,
    model: ReferenceModel = ReferenceModel.CNN,
    epochs: int = 30,
    seed: int = 0,
    timesteps: int = 4,
    weight_bits: int = 4,
    batch_size: int = 64,
    lr: float = 3e-3,
) -> TrainResult:
    """Train a reference digits SNN; write it to ``out`` (default: the shipped file of ``model``; ``.npz``, read by
    :func:`crossbar.model_io.load_model`)."""
    try:
        import torch
    except ImportError:
        raise ImportError("train-reference needs PyTorch: pip install torch==2.13.0 (the [train] extra)") from None
    out = model.path if out is None else Path(out)
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    split = digits_split()
    x_tr, y_tr = torch.from_numpy(split.x_train), torch.from_numpy(split.y_train)
    x_te, y_te = torch.from_numpy(split.x_test), torch.from_numpy(split.y_test)
    net = _build(torch, timesteps, weight_bits, model)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    steps_per_epoch = (len(x_tr) + batch_size - 1) // batch_size
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    ce = torch.nn.functional.cross_entropy
    for _ in range(epochs):
        net.train()
        order = torch.from_numpy(rng.permutation(len(x_tr)))
        for k in range(steps_per_epoch):
            idx = order[k * batch_size : (k + 1) * batch_size]
            outs = net(x_tr[idx])
            cum = torch.cumsum(outs, 0) / torch.arange(1, timesteps + 1).view(-1, 1, 1)
            loss: Any = sum(ce(cum[t], y_tr[idx]) for t in range(timesteps)) / timesteps
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    seconds = time.perf_counter() - t0
    net.eval()
    with torch.no_grad():
        acc = float((net(x_te).mean(0).argmax(1) == y_te).float().mean())
    meta: dict[str, Any] = {
        "timesteps": timesteps,
        "neuron": DIGITS_NEURON,
        "weight_bits": weight_bits,
        "bn_eps": 1e-5,
        "input_shape": [1, 8, 8],
        "dataset": "sklearn digits, stratified split",
        "split_seed": SPLIT_SEED,
        "test_fraction": TEST_FRACTION,
        "train": {
            "model": model.value,
            "epochs": epochs,
            "seed": seed,
            "batch_size": batch_size,
            "lr": lr,
            "optimizer": "adam+cosine",
            "surrogate": "triangle 0.3*max(0,1-|u-theta|)",
            "torch": torch.__version__,
            "torch_test_accuracy": acc,
            "seconds": round(seconds, 1),
        },
    }
    state = {k: v.detach().cpu().numpy() for k, v in net.state_dict().items()}
    if model is ReferenceModel.MLP:
        state = {_mlp_key(k): v for k, v in state.items()}
        plain = mlp_network(timesteps=timesteps, weight_bits=weight_bits)
        meta["network"] = mlp_network(
            timesteps=timesteps, weight_bits=weight_bits, densities=_densities(state, plain, split.x_test)
        )
    else:
        meta["layers"] = DIGITS_LAYERS
    out.parent.mkdir(parents=True, exist_ok=True)
    save_model(out, state, meta)
    return TrainResult(path=str(out), epochs=epochs, seconds=seconds, torch_test_accuracy=acc)


def _mlp_key(key: str) -> str:
    """torch module names -> the weights contract: ``bn1.*`` is the batch norm of ``fc1`` (``fc1.bn.*``)."""
    for torch_name, layer in (("bn1.", "fc1"), ("bn2.", "fc2")):
        if key.startswith(torch_name):
            return f"{layer}.bn.{key[len(torch_name) :]}"
    return key


def _densities(state: dict[str, np.ndarray], network: dict[str, Any], images: np.ndarray) -> dict[str, float]:
    """Measured mean input density (fraction of non-zero inputs) of each weight layer on ``images``."""
    from crossbar.network_model import model_from_network_data
    from crossbar.snn import input_densities

    model = model_from_network_data(network, state, network_file="digits-mlp", weights_file="digits-mlp")
    return input_densities(model, images)


def load_torch_checkpoint(
    path: str | Path, layers: list[dict] | None = None, *, timesteps: int = 4, weight_bits: int = 4
):  # noqa: ANN201
    """Load a PyTorch state_dict file (``torch.save(model.state_dict(), path)``) into an :class:`SNNModel`."""
    import torch

    from crossbar.model_io import model_from_state_dict

    state = torch.load(path, map_location="cpu", weights_only=True)
    return model_from_state_dict(
        state, layers or DIGITS_LAYERS, timesteps=timesteps, neuron=DIGITS_NEURON, weight_bits=weight_bits
    )
