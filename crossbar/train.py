"""Train the reference digits SNN with surrogate-gradient BPTT in PyTorch (optional extra: ``pip install '.[train]'``).

Recipe: direct encoding, T = 4, LIF u <- 0.9·u + x (threshold 1, soft reset), triangle surrogate
0.3·max(0, 1 - |u - θ|), per-output-channel 4-bit fake quantization of conv and fc weights with a
straight-through estimator (the same quantizer as :func:`crossbar.equations.quantize`), Adam 3e-3 with a
cosine schedule, batch 64, loss = mean over t of the cross entropy of the output averaged over the first t
steps (so that early exits, DT-SNN, are accurate too). One thread, seeded, deterministic.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crossbar.data import SPLIT_SEED, TEST_FRACTION, digits_split
from crossbar.model_io import DIGITS_LAYERS, DIGITS_NEURON, REFERENCE_MODEL, save_model


@dataclass(frozen=True, kw_only=True)
class TrainResult:
    path: str
    epochs: int
    seconds: float
    torch_test_accuracy: float


def _build(torch, timesteps: int, weight_bits: int):  # noqa: ANN001 - torch is imported lazily
    nn = torch.nn
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

    class DigitsSNN(nn.Module):
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


def train_reference(out: str | Path = REFERENCE_MODEL, *, epochs: int = 30, seed: int = 0, timesteps: int = 4,
                    weight_bits: int = 4, batch_size: int = 64, lr: float = 3e-3) -> TrainResult:
    """Train the reference digits SNN; write it to ``out`` (``.npz``, read by :func:`crossbar.model_io.load_model`)."""
    try:
        import torch
    except ImportError:
        raise ImportError("train-reference needs PyTorch: pip install torch==2.13.0 (the [train] extra)") from None
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    split = digits_split()
    x_tr, y_tr = torch.from_numpy(split.x_train), torch.from_numpy(split.y_train)
    x_te, y_te = torch.from_numpy(split.x_test), torch.from_numpy(split.y_test)
    model = _build(torch, timesteps, weight_bits)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = (len(x_tr) + batch_size - 1) // batch_size
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    ce = torch.nn.functional.cross_entropy
    for _ in range(epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(len(x_tr)))
        for k in range(steps_per_epoch):
            idx = order[k * batch_size : (k + 1) * batch_size]
            outs = model(x_tr[idx])
            cum = torch.cumsum(outs, 0) / torch.arange(1, timesteps + 1).view(-1, 1, 1)
            loss = sum(ce(cum[t], y_tr[idx]) for t in range(timesteps)) / timesteps
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    seconds = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        acc = float((model(x_te).mean(0).argmax(1) == y_te).float().mean())
    meta = {
        "layers": DIGITS_LAYERS,
        "timesteps": timesteps,
        "neuron": DIGITS_NEURON,
        "weight_bits": weight_bits,
        "bn_eps": 1e-5,
        "dataset": "sklearn digits, stratified split",
        "split_seed": SPLIT_SEED,
        "test_fraction": TEST_FRACTION,
        "train": {"epochs": epochs, "seed": seed, "batch_size": batch_size, "lr": lr, "optimizer": "adam+cosine",
                  "surrogate": "triangle 0.3*max(0,1-|u-theta|)", "torch": torch.__version__,
                  "torch_test_accuracy": acc, "seconds": round(seconds, 1)},
    }
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    save_model(out, model.state_dict(), meta)
    return TrainResult(path=str(out), epochs=epochs, seconds=seconds, torch_test_accuracy=acc)


def load_torch_checkpoint(path: str | Path, layers: list[dict] | None = None, *, timesteps: int = 4,
                          weight_bits: int = 4):  # noqa: ANN201
    """Load a PyTorch state_dict file (``torch.save(model.state_dict(), path)``) into an :class:`SNNModel`."""
    import torch

    from crossbar.model_io import model_from_state_dict

    state = torch.load(path, map_location="cpu", weights_only=True)
    return model_from_state_dict(state, layers or DIGITS_LAYERS, timesteps=timesteps, neuron=DIGITS_NEURON,
                                 weight_bits=weight_bits)
