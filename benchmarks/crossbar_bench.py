"""Speed of the crossbar accuracy model. Prints a Markdown table.

(a) the digits test split (360 images, T = 4) through noisy crossbars at the device defaults (variation, read noise,
    ADC, 1 ohm wires), after the effective conductances are cached; target < 10 s on 2 cores.
(b) the one-off cost of the effective conductances of one 64x64 crossbar (batched block solver; sparse LU).
(c) a VGG9-shaped CIFAR-10-sized network (random weights): conv2..conv7 (64-64-128-128-256-256-256 channels,
    32x32 -> 16x16 -> 8x8 maps, 423 crossbars of 64x64) on crossbars with exact IR drop, in seconds per
    image-timestep, batched. The input of conv2 is a random spike map (10 % density) standing in for conv1's
    output; conv1 and the classifier are digital and cheap. BN statistics are set by one software pass.

Usage: ``python benchmarks/crossbar_bench.py [--batch 8] [--steps 2] [--threads 2]``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402

import numpy as np  # noqa: E402

from costmodel.workload import Neuron  # noqa: E402
from crossbar.circuit import GeffCache, effective_conductance, effective_conductance_sparse  # noqa: E402
from crossbar.experiments import Experiment, accuracy, adapt_batchnorm, default_settings  # noqa: E402
from crossbar.mapping import CrossbarBackend, Encoding, calibrate_adc, program_chip  # noqa: E402
from crossbar.snn import LIF, AvgPool, BatchNorm, Conv, SNNModel, SoftwareBackend, forward  # noqa: E402


def vgg9_conv2_to_conv7(seed: int = 0) -> SNNModel:
    """conv2..conv7 of VGG9 (3x3, stride 1, pad 1) with BN and LIF, avg-pools after conv2 and conv4; random weights."""
    rng = np.random.default_rng(seed)
    chans = [(64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256)]
    layers = []
    for i, (c, k) in enumerate(chans, start=2):
        w = (rng.standard_normal((k, c, 3, 3)) * np.sqrt(2.0 / (9 * c))).astype(np.float32)
        layers.append(Conv(name=f"conv{i}", weight=w, stride=1, padding=1))
        layers.append(
            BatchNorm(
                name=f"bn{i}",
                gamma=np.ones(k, np.float32),
                beta=np.zeros(k, np.float32),
                mean=np.zeros(k, np.float32),
                var=np.ones(k, np.float32),
            )
        )
        layers.append(LIF(neuron=Neuron(leak=0.9, threshold=1.0)))
        if i in (2, 4):
            layers.append(AvgPool(size=2))
    return SNNModel(layers=tuple(layers), timesteps=1)


def bench_digits(threads: int) -> list[tuple[str, str]]:
    exp = Experiment(threads=threads)
    rows = []
    for enc in (Encoding.OFFSET, Encoding.HRS):
        s = default_settings(encoding=enc)
        t0 = time.perf_counter()
        chip = program_chip(exp.model, s, exp.cache, exp.calibration(s))
        t1 = time.perf_counter()
        out = forward(exp.model, exp.split.x_test, CrossbarBackend(chip, threads=threads))
        t2 = time.perf_counter()
        acc = accuracy(out, exp.split.y_test)
        rows.append(
            (
                f"(a) digits test split, 360 images x T=4, {enc.value}, {chip.n_crossbars} crossbars, "
                f"threads={threads} (accuracy {100 * acc:.2f} %)",
                f"{t2 - t1:.2f} s inference (+ {t1 - t0:.2f} s one-off programming, G_eff, ADC calibration)",
            )
        )
    return rows


def bench_geff() -> list[tuple[str, str]]:
    rng = np.random.default_rng(0)
    g = rng.uniform(5e-6, 50e-6, size=(32, 64, 64))
    t0 = time.perf_counter()
    effective_conductance(g, 1.0, 1.0)
    per_block = (time.perf_counter() - t0) / len(g)
    t0 = time.perf_counter()
    for k in range(4):
        effective_conductance_sparse(g[k], 1.0, 1.0)
    per_sparse = (time.perf_counter() - t0) / 4
    return [
        ("(b) G_eff of one 64x64 crossbar, block solver (batch of 32)", f"{1e3 * per_block:.1f} ms"),
        ("(b) G_eff of one 64x64 crossbar, sparse LU (splu) + 64 solves", f"{1e3 * per_sparse:.1f} ms"),
    ]


def bench_vgg9(batch: int, steps: int, thread_counts: list[int]) -> list[tuple[str, str]]:
    model = vgg9_conv2_to_conv7()
    rng = np.random.default_rng(1)
    spikes = (rng.random((batch, 64, 32, 32)) < 0.1).astype(np.float32)
    model = adapt_batchnorm(model, SoftwareBackend(model, bits=4), spikes[: min(batch, 4)])
    model = SNNModel(layers=model.layers, timesteps=steps)
    base = default_settings(encoding=Encoding.OFFSET)
    cache = GeffCache()
    rows = []
    configs = [
        ("IR drop only (1 ohm), ideal ADC", replace(base, variation_sigma=0.0, read_noise_sigma=0.0, adc_bits=None)),
        ("IR drop + variation + read noise + 4-bit ADC", base),
    ]
    for name, s in configs:
        cal = calibrate_adc(model, s, spikes[:2]) if s.adc_bits is not None else None
        t0 = time.perf_counter()
        before = cache.computed
        chip = program_chip(model, s, cache, cal)
        t1 = time.perf_counter()
        rows.append(
            (
                f"(c) VGG9 conv2..conv7: programming {chip.n_crossbars} crossbars, {name} "
                f"({cache.computed - before} G_eff solved, one-off)",
                f"{t1 - t0:.1f} s",
            )
        )
        for threads in thread_counts:
            backend = CrossbarBackend(chip, threads=threads)
            forward(model, spikes[:1], backend, timesteps=1)  # warm-up
            t2 = time.perf_counter()
            forward(model, spikes, backend)
            per = (time.perf_counter() - t2) / (batch * steps)
            rows.append(
                (
                    f"(c) VGG9 conv2..conv7, {name}, batch {batch} x T={steps}, threads={threads}",
                    f"{per:.4f} s per image-timestep",
                )
            )
    t0 = time.perf_counter()
    forward(model, spikes, SoftwareBackend(model, bits=4))
    per_sw = (time.perf_counter() - t0) / (batch * steps)
    rows.append(
        (
            "(c) same network, software quantized reference (no crossbars), threads=1",
            f"{per_sw:.4f} s per image-timestep",
        )
    )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2, help="row pieces run in this many threads (BLAS stays at 1)")
    args = ap.parse_args()
    rows = []
    for th in sorted({1, args.threads}):
        rows += bench_digits(th)
    rows += bench_geff()
    rows += bench_vgg9(args.batch, args.steps, sorted({1, args.threads}))
    print(f"load average at end: {os.getloadavg()[0]:.2f} (2 cores; other processes inflate these times)\n")
    print("| benchmark | measured |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
