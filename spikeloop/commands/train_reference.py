"""``spikeloop train-reference``: train a reference digits SNN (needs the optional ``[train]`` extra, PyTorch).

``--model digits-cnn`` (default) writes ``crossbar/data/digits_snn.npz``; ``--model digits-mlp`` writes
``crossbar/data/digits_mlp.npz`` (the MLP 64-128-128-10 that fills its crossbars, used by the report's Fig. 6(b)
rows); ``--out`` writes elsewhere. Then the test accuracy is re-checked with the numpy inference of
:mod:`crossbar` (4-bit quantized weights), which needs no torch.
"""

from __future__ import annotations

import argparse
import os

from spikeloop.cli import UserError
from spikeloop.cliargs import output_file


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train-reference", help="train the digits SNN shipped for the crossbar experiments", description=__doc__
    )
    p.add_argument(
        "--model",
        default="digits-cnn",
        metavar="digits-cnn|digits-mlp",
        help="which reference model (default digits-cnn)",
    )
    p.add_argument("--epochs", type=int, default=40, help="training epochs (default 40)")
    p.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    p.add_argument(
        "--out",
        type=output_file,
        default=None,
        help="output .npz (default: crossbar/data/digits_snn.npz or digits_mlp.npz)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.epochs < 1:
        raise UserError(f"--epochs: expected a positive integer, got {args.epochs}")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    from crossbar.data import digits_split
    from crossbar.model_io import load_model
    from crossbar.snn import SoftwareBackend, forward, predict
    from crossbar.train import ReferenceModel

    try:
        which = ReferenceModel(args.model)
    except ValueError:
        choices = ", ".join(m.value for m in ReferenceModel)
        raise UserError(f"--model: expected one of {choices}, got {args.model!r}") from None
    try:
        from crossbar.train import train_reference

        res = train_reference(args.out, model=which, epochs=args.epochs, seed=args.seed)
    except ImportError as exc:
        raise UserError(str(exc)) from None
    model = load_model(res.path)
    split = digits_split()
    acc = float(
        (predict(forward(model, split.x_test, SoftwareBackend(model, bits=model.weight_bits))) == split.y_test).mean()
    )
    print(
        f"wrote {res.path}: {res.epochs} epochs in {res.seconds:.1f} s; test accuracy "
        f"{100 * res.torch_test_accuracy:.2f} % (torch, fake-quantized), {100 * acc:.2f} % (numpy, "
        f"{model.weight_bits}-bit)"
    )
    return 0
