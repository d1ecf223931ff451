"""Arguments shared by several sub-commands, defined once."""

from __future__ import annotations

import argparse


class DataflowGiven(argparse.Action):
    """Stores ``--dataflow`` and records that the user gave it (``dataflow_given``), so a command can
    reject ``--dataflow`` together with ``--mapping``."""

    def __call__(self, parser, namespace, values, option_string=None):  # noqa: ANN001
        setattr(namespace, self.dest, values)
        namespace.dataflow_given = True


def add_arch_network(p: argparse.ArgumentParser, *, layer: bool = False) -> None:
    """``--arch`` and ``--network`` (and ``--layer``): shipped names or the user's YAML files."""
    p.add_argument("--arch", required=True, help="shipped arch name (sata, spikeflow, generic3) or a YAML file")
    p.add_argument("--network", required=True, help="shipped network name (vgg9-cifar10, ...) or a YAML file")
    if layer:
        p.add_argument("--layer", required=True, help="layer name (e.g. conv6)")
