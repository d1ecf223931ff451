"""The ``spikeloop`` command: a thin shell over the Python functions of each sub-command.

Errors that a user can fix (bad YAML, unknown layer, an invalid mapping) print one line and exit
with status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import os

# One BLAS/OpenMP thread unless the user says otherwise: the matrices here are small, the crossbar
# model runs its own thread pool, and OpenBLAS threads spin-waiting on two cores made the accuracy
# sweep 6x slower (measured: 92 s vs 15.7 s). Set before numpy is imported by any command module.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import importlib  # noqa: E402
import pkgutil  # noqa: E402
import sys  # noqa: E402

from costmodel.specio import SpecError  # noqa: E402


class UserError(Exception):
    """An error caused by the user's input; printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    import spikeloop.commands as commands

    parser = argparse.ArgumentParser(
        prog="spikeloop",
        description="What an SNN really costs on hardware: energy, latency, area, mappings, accuracy.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"spikeloop.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (UserError, SpecError, FileNotFoundError, KeyError, ValueError) as exc:
        if args.debug:
            raise
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"spikeloop {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"spikeloop {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
