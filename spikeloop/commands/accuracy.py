"""``spikeloop accuracy``: SNN accuracy through simulated non-ideal RRAM crossbars (the shipped digits SNN).

``spikeloop accuracy [--ir-drop OHM] [--variation F] [--read-noise F] [--adc-bits B]
[--encoding offset|differential|hrs] [--bn-adapt] [--dt-threshold H] [--sweep] [--json FILE]``.
Defaults come from the ``device:`` block of ``archspecs/spikeflow.yaml``. Prints Markdown; ``--json`` writes
``software_accuracy``, ``crossbar_accuracy`` (0..1), ``settings``, ``dt_snn`` and ``sweep`` (a list of rows,
empty without ``--sweep``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from spikeloop.cli import UserError


def _nonneg(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return v


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("accuracy", help="accuracy of the digits SNN on simulated non-ideal crossbars",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", default=None, help="arch spec YAML with a device: block (default: spikeflow)")
    p.add_argument("--model", default=None, help="model .npz (default: the shipped crossbar/data/digits_snn.npz)")
    p.add_argument("--ir-drop", type=_nonneg, metavar="OHM", help="wire resistance per cell segment, rows and columns")
    p.add_argument("--variation", type=_nonneg, metavar="F", help="relative programming variation sigma")
    p.add_argument("--read-noise", type=_nonneg, metavar="F", help="relative read noise sigma per read")
    p.add_argument("--adc-bits", type=int, metavar="B", help="ADC bits (0 = ideal ADC)")
    p.add_argument("--encoding", default="offset", metavar="offset|differential|hrs",
                   help="signed weight encoding (default offset, SpikeSim's)")
    p.add_argument("--bn-adapt", action="store_true", help="re-estimate BN statistics through the crossbars")
    p.add_argument("--dt-threshold", type=_nonneg, metavar="H", help="DT-SNN exit entropy threshold (normalized)")
    p.add_argument("--seed", type=int, default=0, help="chip seed (programming variation, read noise)")
    p.add_argument("--sweep", action="store_true", help="also run the sweep over wire resistance, encodings, DT-SNN")
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress output (the sweep takes 10-20 s)")
    p.add_argument("--cache-dir", metavar="DIR", help="keep effective conductances in DIR (.npy, by content hash)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from crossbar.circuit import GeffCache
    from crossbar.device import DEFAULT_ARCH, load_device
    from crossbar.experiments import Experiment, accuracy_sweep, run_accuracy, sweep_markdown
    from crossbar.mapping import CrossbarSettings, Encoding
    from crossbar.model_io import REFERENCE_MODEL, load_model

    try:
        encoding = Encoding(args.encoding)
    except ValueError:
        raise UserError(f"--encoding: expected offset, differential or hrs, got {args.encoding!r}") from None
    if args.adc_bits is not None and args.adc_bits < 0:
        raise UserError(f"--adc-bits: expected an integer >= 0, got {args.adc_bits}")
    overrides: dict = {"encoding": encoding, "seed": args.seed}
    if args.ir_drop is not None:
        overrides.update(r_row_ohm=args.ir_drop, r_col_ohm=args.ir_drop)
    if args.variation is not None:
        overrides["variation_sigma"] = args.variation
    if args.read_noise is not None:
        overrides["read_noise_sigma"] = args.read_noise
    if args.adc_bits is not None:
        overrides["adc_bits"] = args.adc_bits or None
    settings = CrossbarSettings.from_device(load_device(args.arch or DEFAULT_ARCH), **overrides)
    exp = Experiment(load_model(args.model or REFERENCE_MODEL), cache=GeffCache(args.cache_dir), threads=2)
    res = run_accuracy(settings, bn_adapt=args.bn_adapt, dt_threshold=args.dt_threshold, experiment=exp)
    adc = "ideal" if settings.adc_bits is None else f"{settings.adc_bits} bit"
    print("| encoding | wire r (ohm) | variation | read noise | ADC | BN adapt | software acc (%) | crossbar acc (%) |")
    print("|---|---:|---:|---:|---|---|---:|---:|")
    print(f"| {settings.encoding.value} | {settings.r_row_ohm:g} | {settings.variation_sigma:g} | "
          f"{settings.read_noise_sigma:g} | {adc} | {'yes' if args.bn_adapt else 'no'} | "
          f"{100 * res.software_accuracy:.2f} | {100 * res.crossbar_accuracy:.2f} |")
    if res.dt is not None:
        dist = ", ".join(f"t={t}: {100 * f:.1f} %" for t, f in res.dt.fractions.items())
        print(f"\nDT-SNN (entropy < {res.dt.threshold:g}): accuracy {100 * res.dt.accuracy:.2f} %, "
              f"average timesteps {res.dt.mean_timesteps:.2f} ({dist})")
    rows: list[dict] = []
    sweep = None
    if args.sweep:
        from crossbar.experiments import SWEEP_WIRE_OHMS
        from crossbar.mapping import Encoding
        from spikeloop.progress import Progress

        with Progress(len(SWEEP_WIRE_OHMS) * len(Encoding), "accuracy sweep", quiet=args.quiet) as bar:
            sweep = accuracy_sweep(settings, experiment=exp, progress=bar.step)
        print("\n" + sweep_markdown(sweep))
        rows = [{"kind": "ir_drop", **r} for r in sweep["rows"]] + [{"kind": "dt_snn", **r} for r in sweep["dt_rows"]]
    if args.json:
        doc = {**res.as_dict(), "sweep": rows}
        if sweep is not None:
            doc["sweep_settings"] = {"base": sweep["settings"], "dt": sweep["dt_settings"],
                                     "seconds": sweep["seconds"]}
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
    return 0
