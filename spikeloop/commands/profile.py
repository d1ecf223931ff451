"""``spikeloop profile``: measured spike activity of an SNN, written into its network YAML for the cost model.

``spikeloop profile [--model MODEL.npz | --network NET.yaml --weights NET.npz] [--data digits|INPUTS.npz] [-T N]
[--samples N] --out NET-measured.yaml [--json FILE] [--arch NAME|YAML [--ir-drop OHM] [--encoding E] [--seed N]]``.

Runs the SNN with the crossbar package's numpy executor on the first ``--samples`` inputs of the data (digits: the
test split; INPUTS.npz: ``x`` [N, C, H, W], ``y`` optional) for T timesteps and writes a copy of the network YAML
whose every conv, linear and pool layer carries its measured ``spike_density_per_t`` (fraction of non-zero inputs
at each timestep, averaged over the samples) and every weight layer its ``weight_density`` (non-zero fraction of
the quantized weights), with a ``source:`` text and comments saying what was measured, on what, and what was not.
The model is the shipped digits CNN unless ``--model`` or ``--network`` with ``--weights`` is given (a model file
without a network gets one generated from its layers). The software executor (quantized weights, no crossbar
non-idealities) runs unless ``--arch`` names a crossbar device: then one simulated chip (the device's wires,
variation, read noise and ADC; ``--ir-drop``, ``--encoding``, ``--seed`` override) does the matmuls.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from spikeloop.cli import UserError
from spikeloop.cliargs import nonneg_float, nonneg_int, output_file, positive_int
from spikeloop.formatting import table


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "profile",
        help="measure per-layer, per-timestep spike densities on data and write them into the network YAML",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", default=None, help="model .npz (default: the shipped crossbar/data/digits_snn.npz)")
    p.add_argument("--network", default=None, help="network YAML (shipped name or file); needs --weights")
    p.add_argument("--weights", default=None, help="plain state-dict .npz for --network (<layer>.weight, ...)")
    p.add_argument("--data", default="digits", help="digits (default: its test split) or INPUTS.npz (x [N,C,H,W])")
    p.add_argument(
        "-T", "--timesteps", type=positive_int, default=None, help="timesteps to run (default: the network's T)"
    )
    p.add_argument("--samples", type=positive_int, default=None, metavar="N", help="first N inputs (default: all)")
    p.add_argument("--out", required=True, type=output_file, metavar="NET.yaml", help="profiled network YAML to write")
    p.add_argument("--json", type=output_file, metavar="FILE", help="also write the measured activity as JSON")
    p.add_argument(
        "--arch", default=None, help="measure through one simulated chip of this crossbar arch (device: block)"
    )
    p.add_argument("--ir-drop", type=nonneg_float, metavar="OHM", help="with --arch: wire resistance per segment")
    p.add_argument("--encoding", choices=("offset", "differential", "hrs"), help="with --arch: weight encoding")
    p.add_argument("--seed", type=nonneg_int, default=None, help="with --arch: the chip's seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="print only the line naming the written file")
    p.set_defaults(func=run)


def _loaded(args: argparse.Namespace, input_shape: tuple[int, int, int] | None):  # noqa: ANN202 - a Loaded
    from crossbar.model_io import REFERENCE_MODEL
    from spikeloop.profile import load_from_model, load_from_network

    if args.model is not None and (args.network is not None or args.weights is not None):
        raise UserError("--model: give either --model MODEL.npz or --network NET.yaml with --weights NET.npz")
    if (args.network is None) != (args.weights is None):
        flag = "--network" if args.network is not None else "--weights"
        other = "--weights NET.npz" if args.network is not None else "--network NET.yaml"
        raise UserError(f"{flag}: needs {other} as well")
    if args.network is not None:
        return load_from_network(args.network, args.weights)
    return load_from_model(args.model or REFERENCE_MODEL, input_shape)


def _crossbar(args: argparse.Namespace, model, split):  # noqa: ANN001, ANN202 - (backend, text, bits, dtype)
    """The backend of one simulated chip when ``--arch`` is given, else None."""
    if args.arch is None:
        for flag, value in (("--ir-drop", args.ir_drop), ("--encoding", args.encoding), ("--seed", args.seed)):
            if value is not None:
                raise UserError(f"{flag}: only with --arch (the crossbar path; the default is the software executor)")
        return None, None, None, None
    import archspecs
    from crossbar.circuit import GeffCache
    from crossbar.device import load_device
    from crossbar.experiments import Experiment
    from crossbar.mapping import CrossbarBackend, CrossbarSettings, Encoding, program_chip

    try:
        path = archspecs.arch_path(args.arch)
    except FileNotFoundError as exc:
        raise UserError(f"--arch: {exc}") from None
    overrides: dict = {"seed": args.seed or 0}
    if args.encoding is not None:
        overrides["encoding"] = Encoding(args.encoding)
    if args.ir_drop is not None:
        overrides.update(r_row_ohm=args.ir_drop, r_col_ohm=args.ir_drop)
    s = CrossbarSettings.from_device(load_device(path), **overrides)
    exp = Experiment(model, split, GeffCache(threads=2), threads=2)
    chip = program_chip(model, s, exp.cache, exp.calibration(s))
    adc = "ideal ADC" if s.adc_bits is None else f"{s.adc_bits}-bit ADC"
    text = (
        f"one simulated crossbar chip of {args.arch}: {s.encoding.value} encoding, {s.weight_bits}-bit weights, "
        f"wires {s.r_row_ohm:g} ohm, variation {s.variation_sigma:g}, read noise {s.read_noise_sigma:g}, {adc}, "
        f"seed {s.seed}"
    )
    return CrossbarBackend(chip, threads=2), text, s.weight_bits, s.dtype


def _split(data: str):  # noqa: ANN202 - (Split, description)
    from crossbar.data import digits_split, load_inputs
    from spikeloop.profile import DIGITS, DIGITS_TEXT

    if data == DIGITS:
        return digits_split(), DIGITS_TEXT
    return load_inputs(data, labels=False), data


def run(args: argparse.Namespace) -> int:
    from crossbar.data import check_inputs
    from crossbar.experiments import output_classes
    from spikeloop.profile import DataError, profile

    out = Path(args.out)
    if out.suffix not in (".yaml", ".yml"):
        raise UserError(f"--out {args.out}: expected a .yaml file")
    split, data_text = _split(args.data)
    available = split.x_test.shape[0]
    n = available if args.samples is None else args.samples
    if n > available:
        raise UserError(f"--samples: {n} is more than the {available} inputs of {data_text}")
    c, h, w = (int(d) for d in split.x_test.shape[1:])
    loaded = _loaded(args, (c, h, w))
    try:
        check_inputs(split, loaded.model, output_classes(loaded.model))
    except ValueError as exc:
        raise UserError(f"--data {exc}") from None
    backend, executor, bits, dtype = _crossbar(args, loaded.model, split)
    kwargs = {} if backend is None else {"backend": backend, "executor": executor, "weight_bits": bits, "dtype": dtype}
    try:
        result = profile(
            loaded,
            split.x_test[:n],
            data=data_text,
            timesteps=args.timesteps,
            labels=split.y_test[:n] if split.y_test.size else None,
            **kwargs,
        )
    except DataError as exc:  # the data runs into a layer whose input shape it does not fit
        raise UserError(f"--data {args.data}: {exc}") from None
    network = result.write(out, loaded.model)
    if args.json:
        Path(args.json).write_text(json.dumps(result.as_dict(), indent=2) + "\n")
    if not args.quiet:
        print(_summary(result))
    print(f"wrote {out} ({network.name}: {len(network.layers)} layers, T = {network.timesteps}; loads)")
    return 0


def _summary(result) -> str:  # noqa: ANN001 - a Profile
    from spikeloop.profile import reads_text

    act = result.activity
    acc = "" if result.accuracy is None else f"; accuracy on them {100 * result.accuracy:.2f} %"
    head = (
        f"{result.network['name']} ({result.origin}) on {act.samples} images of {result.data}, T = {act.timesteps}; "
        f"{result.executor}{acc}"
    )
    rows = [
        [
            la.name,
            la.kind,
            reads_text(la),
            " ".join(f"{v:.3f}" for v in la.density_per_t),
            f"{la.mean_density:.3f}",
            "" if la.weight_density is None else f"{la.weight_density:.3f}",
        ]
        for la in act
    ]
    headers = ["layer", "kind", "reads", "non-zero inputs per timestep", "mean", "non-zero weights"]
    return head + "\n\n" + table(headers, rows) + "\n"
