"""``spikeloop accuracy``: SNN accuracy through simulated non-ideal RRAM crossbars, over one or several chips.

``spikeloop accuracy [--model MODEL.npz | --network NET.yaml --weights NET.npz] [--data digits|INPUTS.npz]
[--arch NAME|YAML] [--ir-drop OHM] [--variation F] [--read-noise F] [--adc-bits B]
[--encoding offset|differential|hrs] [--bn-adapt] [--dt-threshold H] [--seed N] [--chips N] [--sweep]
[--wires LIST] [--json FILE]``.

The model is the shipped digits CNN unless ``--model`` (a model file, e.g. ``crossbar/data/digits_mlp.npz``) or
``--network`` with ``--weights`` (a spikeloop network YAML and a plain state-dict ``.npz``, the files
``spikeloop import-nir`` writes) is given. Device defaults come from the ``device:`` block of the arch
(``spikeflow``). ``--chips N`` simulates N chips (seeds ``seed .. seed+N-1``) and reports the mean accuracy and a
95 % Student-t interval over chips. Prints Markdown; ``--json`` writes ``software_accuracy``,
``crossbar_accuracy`` (mean, 0..1), ``crossbar_accuracy_interval``, ``chips`` (seed and accuracy of each),
``settings``, ``dt_snn``, ``sweep`` (a list of rows, empty without ``--sweep``) and, with ``--sweep``,
``sweep_settings``, ``cell_fill`` and ``current_ratio``.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from spikeloop.cli import UserError
from spikeloop.cliargs import nonneg_float, nonneg_int, output_dir, output_file, positive_int


def _dt_threshold(text: str) -> float:
    """A normalized entropy threshold in (0, 1]: entropy / ln(classes), so (0, ln K] nats map onto (0, 1]."""
    what = "a normalized entropy threshold in (0, 1] (entropy / ln(classes))"
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not math.isfinite(v) or not 0.0 < v <= 1.0:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return v


def _wires(text: str) -> tuple[float, ...]:
    """Comma-separated finite wire resistances >= 0 (ohm), e.g. ``0,2.5,5,10``."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers >= 0, got {text!r}")
    out = []
    for p in parts:
        try:
            out.append(nonneg_float(p))
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(f"expected comma-separated finite numbers >= 0, got {text!r}") from None
    return tuple(dict.fromkeys(out))


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "accuracy",
        help="accuracy of an SNN on simulated non-ideal crossbars (N chips)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--arch", default=None, help="shipped arch name or YAML file with a device: block (default spikeflow)"
    )
    p.add_argument("--model", default=None, help="model .npz (default: the shipped crossbar/data/digits_snn.npz)")
    p.add_argument("--network", default=None, help="network YAML (shipped name or file); needs --weights")
    p.add_argument("--weights", default=None, help="plain state-dict .npz for --network (<layer>.weight, ...)")
    p.add_argument("--data", default="digits", help="digits (default) or an INPUTS.npz with x [N,C,H,W] and y [N]")
    p.add_argument(
        "--ir-drop", type=nonneg_float, metavar="OHM", help="wire resistance per cell segment, rows and columns"
    )
    p.add_argument("--variation", type=nonneg_float, metavar="F", help="relative programming variation sigma")
    p.add_argument("--read-noise", type=nonneg_float, metavar="F", help="relative read noise sigma per read")
    p.add_argument("--adc-bits", type=nonneg_int, metavar="B", help="ADC bits (0 = ideal ADC)")
    p.add_argument(
        "--encoding",
        default="offset",
        metavar="offset|differential|hrs",
        help="signed weight encoding (default offset, SpikeSim's; hrs = one-sided differential pair)",
    )
    p.add_argument("--bn-adapt", action="store_true", help="re-estimate BN statistics through the crossbars")
    p.add_argument(
        "--dt-threshold",
        type=_dt_threshold,
        metavar="H",
        help="DT-SNN exit threshold on the normalized output entropy, in (0, 1]",
    )
    p.add_argument("--seed", type=nonneg_int, default=0, help="seed of the first chip (default 0)")
    p.add_argument(
        "--chips",
        type=positive_int,
        default=1,
        metavar="N",
        help="simulated chips (seeds seed..seed+N-1); mean and 95 %% t-interval over them (default 1)",
    )
    p.add_argument("--sweep", action="store_true", help="also run the sweep over wire resistance, encodings, DT-SNN")
    p.add_argument(
        "--wires", type=_wires, metavar="LIST", help="wire resistances of the sweep in ohm (default 0,1,2.5,5,10)"
    )
    p.add_argument("--json", type=output_file, metavar="FILE", help="write the results as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument(
        "--cache-dir", type=output_dir, metavar="DIR", help="keep effective conductances in DIR (.npy, by content hash)"
    )
    p.set_defaults(func=run)


def _load_model(args: argparse.Namespace):  # noqa: ANN202 - an SNNModel
    from crossbar.model_io import REFERENCE_MODEL, load_model
    from crossbar.network_model import load_network_model

    if args.model is not None and (args.network is not None or args.weights is not None):
        raise UserError("--model: give either --model MODEL.npz or --network NET.yaml with --weights NET.npz")
    if (args.network is None) != (args.weights is None):
        flag = "--network" if args.network is not None else "--weights"
        other = "--weights NET.npz" if args.network is not None else "--network NET.yaml"
        raise UserError(f"{flag}: needs {other} as well")
    if args.network is not None:
        return load_network_model(args.network, args.weights)
    return load_model(args.model or REFERENCE_MODEL)


def _device(arch: str | None):  # noqa: ANN202 - a DeviceSpec
    import archspecs
    from crossbar.device import DEFAULT_ARCH, load_device

    if arch is None:
        return load_device(DEFAULT_ARCH)
    try:
        path = archspecs.arch_path(arch)
    except FileNotFoundError as exc:
        raise UserError(f"--arch: {exc}") from None
    return load_device(path)


def _split(data: str):  # noqa: ANN202 - a Split
    from crossbar.data import digits_split, load_inputs

    if data == "digits":
        return digits_split()
    return load_inputs(data)


def run(args: argparse.Namespace) -> int:
    from crossbar.circuit import GeffCache
    from crossbar.experiments import Experiment, run_accuracy
    from crossbar.mapping import CrossbarSettings, Encoding

    try:
        encoding = Encoding(args.encoding)
    except ValueError:
        raise UserError(f"--encoding: expected offset, differential or hrs, got {args.encoding!r}") from None
    if args.wires is not None and not args.sweep:
        raise UserError("--wires: only with --sweep")
    overrides: dict = {"encoding": encoding, "seed": args.seed}
    if args.ir_drop is not None:
        overrides.update(r_row_ohm=args.ir_drop, r_col_ohm=args.ir_drop)
    if args.variation is not None:
        overrides["variation_sigma"] = args.variation
    if args.read_noise is not None:
        overrides["read_noise_sigma"] = args.read_noise
    if args.adc_bits is not None:
        overrides["adc_bits"] = args.adc_bits or None
    settings = CrossbarSettings.from_device(_device(args.arch), **overrides)
    model = _load_model(args)
    exp = Experiment(model, _split(args.data), cache=GeffCache(args.cache_dir, threads=2), threads=2)
    res = run_accuracy(
        settings, bn_adapt=args.bn_adapt, dt_threshold=args.dt_threshold, experiment=exp, chips=args.chips
    )
    print(_summary(res, exp))
    rows: list[dict] = []
    doc = res.as_dict()
    if args.sweep:
        rows, extra, text = _sweep(args, settings, exp)
        print("\n" + text)
        doc.update(extra)
    if args.json:
        doc["sweep"] = rows
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
    return 0


def _summary(res, exp) -> str:  # noqa: ANN001 - AccuracyResult, Experiment
    s = res.settings
    adc = "ideal" if s.adc_bits is None else f"{s.adc_bits} bit"
    n = len(res.seeds)
    acc_head = "crossbar acc (%)" if n == 1 else f"crossbar acc (%), mean [95 % interval] over {n} chips"
    lines = [
        f"Model {exp.model.name}; data {exp.split.name} ({len(exp.split.y_test)} test inputs"
        + (
            ", also used for ADC calibration and BN adaptation: the file has no x_train)"
            if exp.split.train_is_test
            else ")"
        )
        + ".",
        "",
        f"| encoding | wire r (ohm) | variation | read noise | ADC | BN adapt | software acc (%) | {acc_head} |",
        "|---|---:|---:|---:|---|---|---:|---:|",
        f"| {s.encoding.value} | {s.r_row_ohm:g} | {s.variation_sigma:g} | {s.read_noise_sigma:g} | {adc} | "
        f"{'yes' if res.bn_adapted else 'no'} | {100 * res.software_accuracy:.2f} | {res.crossbar.text()} |",
    ]
    if n > 1:
        per = ", ".join(f"seed {seed}: {100 * a:.2f}" for seed, a in zip(res.seeds, res.per_chip, strict=True))
        lines += [
            "",
            f"Chips (programming-variation and read-noise draws): {per} %. Interval: mean ± "
            f"t(0.975, {n - 1})·s/sqrt({n}) over chips.",
        ]
    if res.dt is not None:
        d = res.dt
        dist = ", ".join(f"t={t}: {100 * f:.1f} %" for t, f in d.pooled.fractions.items())
        lines += [
            "",
            f"DT-SNN (normalized entropy < {d.pooled.threshold:g}): accuracy {d.accuracy.text()} %, "
            f"average timesteps {d.mean_timesteps.text(1.0)} ({dist}" + (f"; pooled over {n} chips)" if n > 1 else ")"),
        ]
    return "\n".join(lines)


def _sweep(args: argparse.Namespace, settings, exp) -> tuple[list[dict], dict, str]:  # noqa: ANN001
    from dataclasses import replace

    from crossbar.experiments import SWEEP_WIRE_OHMS, accuracy_sweep, sweep_markdown
    from crossbar.f6b import cell_fill, current_ratio
    from crossbar.mapping import Encoding
    from spikeloop.progress import Progress

    wires = args.wires or SWEEP_WIRE_OHMS
    with Progress(len(wires) * len(Encoding), "accuracy sweep", quiet=args.quiet) as bar:
        sweep = accuracy_sweep(settings, wire_ohms=wires, experiment=exp, progress=bar.step, chips=args.chips)
    fill = cell_fill(exp.model, settings.rows, settings.columns)
    offset = replace(settings, encoding=Encoding.OFFSET)
    ratios = [current_ratio(exp.model, replace(offset, r_row_ohm=w, r_col_ohm=w), exp.cache) for w in wires if w > 0]
    text = (
        sweep_markdown(sweep)
        + "\n\n"
        + (
            f"Cell fill: {100 * fill.fraction:.1f} % of the cells of the {fill.crossbars} crossbars per plane hold a "
            f"weight (used rows x columns: {fill.text()})."
        )
    )
    if ratios:
        text += (
            " Ideal column current kept through the wires (offset chip, seed "
            + f"{settings.seed}): "
            + "; ".join(f"{r.wire_ohm:g} ohm {r.mean:.3f} (crossbars {r.low:.3f}-{r.high:.3f})" for r in ratios)
            + "."
        )
    rows = [{"kind": "ir_drop", **r} for r in sweep["rows"]] + [{"kind": "dt_snn", **r} for r in sweep["dt_rows"]]
    extra = {
        "sweep_settings": {
            "base": sweep["settings"],
            "dt": sweep["dt_settings"],
            "chips": sweep["chips"],
            "seeds": sweep["seeds"],
            "interval_method": sweep["interval_method"],
            "seconds": sweep["seconds"],
        },
        "cell_fill": fill.as_dict(),
        "current_ratio": [r.as_dict() for r in ratios],
    }
    return rows, extra, text
