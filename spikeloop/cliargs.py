"""Arguments shared by several sub-commands, and the argparse types of every flag kind, defined once.

Each type turns a bad value into ``argparse.ArgumentTypeError``, which the ``spikeloop`` parser prints
as one line naming the flag (``spikeloop map: error: argument --time-limit: expected a positive finite
number, got 'nan'``) with exit status 2, before any work starts. That includes output destinations:
:func:`output_file` and :func:`output_dir` check that the path can be written (not a directory where a
file is expected, not under a regular file, not in an unwritable folder) when the arguments are parsed,
so a long run never ends in a traceback because its result cannot be saved.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import stat
import tempfile
from pathlib import Path

from spikeloop.cli import UserError


class DataflowGiven(argparse.Action):
    """Stores ``--dataflow`` and records that the user gave it (``dataflow_given``), so a command can
    reject ``--dataflow`` together with ``--mapping``."""

    def __call__(self, parser, namespace, values, option_string=None):  # noqa: ANN001
        setattr(namespace, self.dest, values)
        namespace.dataflow_given = True


def add_accounting(p: argparse.ArgumentParser, *, dataflow: bool = True) -> None:
    """``--dataflow``, ``--profile`` and the accounting overrides every pricing command shares (resolved by
    :func:`spikeloop.engine.resolve`, which refuses a flag that does not apply to the arch, naming it)."""
    if dataflow:
        p.add_argument(
            "--dataflow",
            default=None,
            action=DataflowGiven,
            help="digital archs: os, ws, time-batched; crossbar archs: packed, spikesim, time-batched; "
            "any arch: best (CP-SAT per layer). Default: os, or the crossbar profile's allocation",
        )
    p.add_argument(
        "--profile",
        default=None,
        help="accounting profile of the arch (native; spikeflow: spikesim-compat; sata: sata-compat)",
    )
    p.add_argument(
        "--activity",
        choices=("dense", "event"),
        default=None,
        help="crossbar archs: charge every PE cycle (dense) or only where spikes arrive (event)",
    )
    p.add_argument(
        "--latency",
        choices=("sequential", "pipelined", "per-output-neuron"),
        default=None,
        help="how layer latencies add up (per-output-neuron: the public SpikeSim formula, crossbar archs)",
    )
    p.add_argument(
        "--lif-sharing",
        type=positive_int,
        default=None,
        metavar="N",
        help="C#N LIF sharing: one LIF unit and stored membrane per N neurons",
    )


def add_search_limit(p: argparse.ArgumentParser) -> None:
    """``--time-limit``: wall-clock seconds per layer for ``--dataflow best`` (default: CP-SAT's deterministic
    budget, reproducible; a limit that stops a search makes its result machine-dependent, and the output says so)."""
    p.add_argument(
        "--time-limit",
        type=positive_float,
        default=None,
        metavar="S",
        help="--dataflow best: wall-clock seconds per layer shape (default: a deterministic budget)",
    )


def add_arch_network(p: argparse.ArgumentParser, *, layer: bool = False) -> None:
    """``--arch`` and ``--network`` (and ``--layer``): shipped names or the user's YAML files."""
    p.add_argument("--arch", required=True, help="shipped arch name (sata, spikeflow, generic3) or a YAML file")
    p.add_argument("--network", required=True, help="shipped network name (vgg9-cifar10, ...) or a YAML file")
    if layer:
        p.add_argument("--layer", required=True, help="layer name (e.g. conv6)")


# ------------------------------------------------------------------------------------------ numbers
def _float(text: str, what: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return v


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def positive_float(text: str) -> float:
    """A finite number > 0 (time limits, timeouts): 0, -1, nan and inf are refused."""
    what = "a positive finite number"
    v = _float(text, what)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return v


def nonneg_float(text: str) -> float:
    """A finite number >= 0."""
    what = "a finite number >= 0"
    v = _float(text, what)
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return v


def probability(text: str) -> float:
    """A number in [0, 1]."""
    what = "a number in [0, 1]"
    v = _float(text, what)
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return v


def positive_int(text: str) -> int:
    """An integer >= 1 (worker counts, timesteps): 0 means nothing, not "the default"."""
    what = "a positive integer"
    v = _int(text, what)
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return v


def nonneg_int(text: str) -> int:
    """An integer >= 0 (seeds, counts where 0 has a meaning)."""
    what = "an integer >= 0"
    v = _int(text, what)
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return v


def positive_int_list(text: str) -> str:
    """Comma-separated positive integers (``-T 1,2,4,8``); the text is kept for the command to split."""
    what = "comma-separated positive integers"
    parts = [x.strip() for x in text.split(",") if x.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    for x in parts:
        try:
            ok = int(x) >= 1
        except ValueError:
            ok = False
        if not ok:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return text


# ------------------------------------------------------------------------------------------ inputs
def is_inline_json(text: str) -> bool:
    """Whether a JSON-or-file argument is inline JSON (an object) rather than a file name."""
    return text.lstrip().startswith("{")


def json_or_file(text: str) -> str:
    """Inline JSON (an object, e.g. ``'{"1": 0.6, "2": 0.4}'``) or the name of an existing regular file.

    The text is returned as given (the command reads it with :func:`is_inline_json`); a JSON syntax
    error or a missing file is reported here, before any work starts.
    """
    if is_inline_json(text):
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise argparse.ArgumentTypeError(f"inline JSON {text!r} is malformed: {exc.msg} at {exc.pos}") from None
        return text
    p = Path(text)
    try:
        mode = p.stat().st_mode
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"{text}: {exc.strerror} (expected inline JSON or a JSON file)") from None
    if not stat.S_ISREG(mode):
        raise argparse.ArgumentTypeError(f"{text}: not a regular file (expected inline JSON or a JSON file)")
    return text


# ------------------------------------------------------------------------------------------ outputs
def _nearest_existing(p: Path) -> Path:
    q = p
    while not q.exists() and not q.is_symlink() and q != q.parent:
        q = q.parent
    return q


def _probe_dir(folder: Path, shown: str) -> None:
    """Can a file be created in ``folder``? Tries it (``os.access`` says yes to root on read-only mounts)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"{shown}: cannot write in {folder}: {exc.strerror}") from None


def _check_ancestor(p: Path, text: str) -> None:
    anc = _nearest_existing(p.parent if str(p.parent) else Path("."))
    if not anc.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: {anc} is a file, not a folder")


def output_file(text: str) -> str:
    """A file to write: not a directory, in an existing folder where a file can be created (an existing
    file must be writable; devices such as ``/dev/null`` are accepted). Returns the text."""
    if not text:
        raise argparse.ArgumentTypeError("expected a file name, got ''")
    p = Path(text)
    if p.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a directory, expected a file name")
    if p.exists():
        if not os.access(p, os.W_OK):
            raise argparse.ArgumentTypeError(f"{text}: not writable")
        if p.is_file():
            try:  # append mode: checks the permission without touching the content
                with p.open("ab"):
                    pass
            except OSError as exc:
                raise argparse.ArgumentTypeError(f"{text}: cannot write: {exc.strerror}") from None
        return text
    _check_ancestor(p, text)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: folder {parent} does not exist")
    _probe_dir(parent, text)
    return text


def output_dir(text: str) -> str:
    """A folder to write into: an existing writable folder, or one that can be created (its nearest
    existing ancestor is a writable folder). Returns the text."""
    if not text:
        raise argparse.ArgumentTypeError("expected a folder name, got ''")
    p = Path(text)
    if p.exists() and not p.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a file, expected a folder")
    anc = _nearest_existing(p)
    if not anc.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: {anc} is a file, not a folder")
    _probe_dir(anc, text)
    return text


def check_output(flag: str, kind: str, value: str) -> None:
    """The check of :func:`output_file` (``kind="file"``) or :func:`output_dir` (``"dir"``) for a destination a
    command derives itself (e.g. a default next to an input file); raises :class:`~spikeloop.cli.UserError`
    naming the flag."""
    try:
        (output_file if kind == "file" else output_dir)(value)
    except argparse.ArgumentTypeError as exc:
        raise UserError(f"{flag}: {exc}") from None
