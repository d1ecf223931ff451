"""``spikeloop import-nir``: a NIR graph (``nir.write`` file) -> a spikeloop network YAML and a weights ``.npz``.

The mapping (layers, neurons, folded factors, what the schema cannot hold) is in :mod:`spikeloop.nir_import`
and ``docs/formats.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from spikeloop.cli import UserError
from spikeloop.cliargs import output_file, positive_float, positive_int, probability
from spikeloop.formatting import table

_DESCRIPTION = """Import a NIR graph (Conv2d, Linear, Affine, LIF, CubaLIF, IF, LI, SumPool2d, AvgPool2d, Flatten,
Scale, Threshold; residual sums) as a spikeloop network YAML (--out) and a plain .npz state dict of its weights
(--weights: <layer>.weight, <layer>.bias, float32). Prints the layers, what the import assumed (notes) and what
the network schema cannot hold (approximations; --strict refuses them). Unsupported nodes are refused by name."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "import-nir", help="import a NIR graph as a network YAML and a weights .npz", description=_DESCRIPTION
    )
    p.add_argument(
        "model", metavar="MODEL.nir", help="NIR file written by nir.write (e.g. after snntorch.export_to_nir)"
    )
    p.add_argument("--out", required=True, type=output_file, metavar="NET.yaml", help="network YAML to write")
    p.add_argument(
        "--weights",
        type=output_file,
        metavar="NET.npz",
        help="weights to write: <layer>.weight and <layer>.bias, float32",
    )
    p.add_argument(
        "--dt",
        type=positive_float,
        default=1e-4,
        help="forward-Euler step in seconds for the time constants: leak = 1 - dt/tau (IF: leak 1); default 1e-4, "
        "the dt snnTorch's exporter writes (tau = dt/(1-beta))",
    )
    p.add_argument(
        "--reset",
        choices=["soft", "hard"],
        default=None,
        help="reset of every spiking neuron (default: hard, the graph's reset to v_reset; snnTorch writes that "
        "whatever the model used: pass soft for reset by subtraction)",
    )
    p.add_argument(
        "--reduce",
        choices=["none", "mean"],
        default="none",
        help="per-neuron parameters that differ within a node: none refuses (default), mean takes the mean",
    )
    p.add_argument("--strict", action="store_true", help="refuse the import if any parameter must be approximated")
    p.add_argument(
        "-T", "--timesteps", type=positive_int, default=4, help="timesteps written to the network (default 4)"
    )
    p.add_argument("--name", default=None, help="network name (default: the file name without .nir)")
    p.add_argument("--dataset", default="", help="dataset name written to the network (optional)")
    p.add_argument(
        "--spike-density",
        type=probability,
        default=0.15,
        help="assumed input spike density of every layer not reading the (analog) input, which gets 1.0 "
        "(default 0.15); spikeloop profile measures them",
    )
    p.add_argument("--weight-bits", type=positive_int, default=8, help="weight bits (default 8)")
    p.add_argument("--psum-bits", type=positive_int, default=16, help="partial-sum bits (default 16)")
    p.add_argument("--membrane-bits", type=positive_int, default=16, help="membrane bits (default 16)")
    p.set_defaults(func=_cmd)


def _cmd(args: argparse.Namespace) -> int:
    from costmodel.network import load_network
    from spikeloop.nir_import import import_nir, write_network, write_weights

    out = Path(args.out)
    if out.suffix not in (".yaml", ".yml"):
        raise UserError(f"--out {args.out}: expected a .yaml file")
    if args.weights is not None and not args.weights.endswith(".npz"):
        raise UserError(f"--weights {args.weights}: expected a .npz file")
    result = import_nir(
        args.model,
        dt=args.dt,
        reset=args.reset,
        reduce=args.reduce,
        strict=args.strict,
        timesteps=args.timesteps,
        name=args.name,
        dataset=args.dataset,
        spike_density=args.spike_density,
        weight_bits=args.weight_bits,
        psum_bits=args.psum_bits,
        membrane_bits=args.membrane_bits,
    )
    write_network(result, out)
    network = load_network(out)  # what was written must load
    written = [str(out)]
    if args.weights is not None:
        write_weights(result, args.weights)
        written.append(f"{args.weights} ({len(result.weights)} arrays)")
    c = result.network["input"]
    print(
        f"{args.model} -> network {network.name!r}: {len(network.layers)} layers, input "
        f"{c['channels']}x{c['height']}x{c['width']}, T = {network.timesteps}\n"
    )
    rows = [[lay.name, lay.kind, " + ".join(lay.nodes), lay.shape, lay.neuron] for lay in result.layers]
    print(table(["layer", "kind", "NIR nodes", "output", "neuron"], rows))
    print("\nnotes:")
    for note in result.notes:
        print(f"- {note}")
    if result.approximations:
        print("\napproximations (what the network schema cannot hold; --strict refuses them):")
        for item in result.approximations:
            print(f"- {item}")
    else:
        print("\napproximations: none")
    print(f"\nwrote {', '.join(written)}")
    return 0
