"""The ``spikeloop`` command: a thin shell over the Python functions of each sub-command.

Every error path prints one line on stderr and exits with status 2: bad arguments (the argparse
types of :mod:`spikeloop.cliargs` check numbers and output destinations before any work starts),
errors a user can fix (bad YAML, unknown layer, an invalid mapping: they name the file, key and
value), files that cannot be read or written (named), and what escapes from the model or a solver
(``RecursionError``, ``OverflowError``, ``MemoryError``, ``RuntimeError``); anything else is reported
on one line as an internal error. ``spikeloop --debug COMMAND ...`` shows the traceback instead.
Output piped into a reader that stops early (``spikeloop evaluate ... | head -1``) ends quietly with
status 141, as a process killed by SIGPIPE would; Ctrl-C ends with status 130.
"""

from __future__ import annotations

import os

# One BLAS/OpenMP thread unless the user says otherwise: the matrices here are small, the crossbar
# model runs its own thread pool, and OpenBLAS threads spin-waiting on two cores made the accuracy
# sweep 6x slower (measured: 92 s vs 15.7 s). Set before numpy is imported by any command module.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import importlib  # noqa: E402
import pkgutil  # noqa: E402
import sys  # noqa: E402
from typing import NoReturn  # noqa: E402

from costmodel.specio import SpecError  # noqa: E402

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE


class UserError(Exception):
    """An error caused by the user's input; printed as one line, exit status 2."""


class _ArgumentError(Exception):
    """A command line argparse refused; the message is the whole line to print."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block): ``spikeloop map: error: argument --workers: ...``."""

    def error(self, message: str) -> NoReturn:
        raise _ArgumentError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    import spikeloop.commands as commands

    parser = _Parser(
        prog="spikeloop",
        description="What an SNN really costs on hardware: energy, latency, area, mappings, accuracy.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"spikeloop.commands.{info.name}")
        module.register(sub)
    return parser


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def describe(exc: BaseException) -> str:
    """The one-line message of an error that ends a command."""
    if isinstance(exc, KeyError) and exc.args:
        msg = str(exc.args[0])
    elif isinstance(exc, OSError) and exc.filename is not None:
        target = f"{exc.filename} -> {exc.filename2}" if exc.filename2 is not None else str(exc.filename)
        msg = f"{target}: {exc.strerror or exc}"
    elif isinstance(exc, UserError | SpecError | ValueError | OSError):
        msg = str(exc)
    elif isinstance(exc, RecursionError):
        msg = f"input nested too deeply for the model (RecursionError: {exc})"
    elif isinstance(exc, OverflowError):
        msg = f"a number is too large for the model (OverflowError: {exc})"
    elif isinstance(exc, MemoryError):
        msg = "out of memory: the problem is too large for this machine (MemoryError)"
    elif isinstance(exc, RuntimeError):
        msg = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    else:
        msg = f"internal error, please report it with the --debug traceback: {type(exc).__name__}: {exc}"
    return _one_line(msg) or type(exc).__name__


def _say(line: str) -> None:
    with contextlib.suppress(OSError):  # stderr is gone too
        print(line, file=sys.stderr, flush=True)


def _quiet_broken_pipe() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not report the broken pipe again."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # captured or closed: nothing to flush to a pipe
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    command = ""
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except _ArgumentError as exc:
            _say(_one_line(str(exc)))
            return EXIT_ERROR
        if not getattr(args, "func", None):
            parser.print_help()
            return EXIT_ERROR
        debug, command = args.debug, f" {args.command}"
        return int(args.func(args) or 0)
    except BrokenPipeError:
        _quiet_broken_pipe()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        _say(f"spikeloop{command}: interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:  # every error ends as one line (the traceback only with --debug)
        if debug:
            raise
        _say(f"spikeloop{command}: error: {describe(exc)}")
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover - ``python -m spikeloop.cli``
    # run the importable module's main, so the commands' ``spikeloop.cli.UserError`` is the class caught
    from spikeloop.cli import main as _main

    sys.exit(_main())
