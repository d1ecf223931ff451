"""Golden regression files: the headline outputs pinned in ``tests/golden/``, so a change that moves a number is
seen (``tests/test_golden.py`` diffs them).

Pinned: every row of ``spikeloop reproduce`` (id, paper, ours, unit: ``reproduce_rows.json``) and the JSON of
``spikeloop evaluate --json`` for each shipped arch on VGG9 CIFAR-10 (``evaluate_<arch>[_<profile>].json``: sata,
generic3, spikeflow, and spikeflow under spikesim-compat). Numbers match within a relative 1e-9; every other
value exactly.

    python -m spikeloop.golden            # compare: print every moved value, exit 1 if any moved
    python -m spikeloop.golden --update   # rewrite tests/golden/*.json from the current code

Regenerate only after checking that every moved value moved for a reason, and say the reason in the commit.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from spikeloop.rows import Row

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "tests" / "golden"
REL_TOL = 1e-9
ABS_TOL = 1e-12  # for values that are zero up to float round-off
ROWS_FILE = "reproduce_rows.json"
NETWORK = "vgg9-cifar10"
#: (arch, profile or None for the arch's default): one ``evaluate --json`` each
EVALUATIONS: tuple[tuple[str, str | None], ...] = (
    ("sata", None),
    ("generic3", None),
    ("spikeflow", None),
    ("spikeflow", "spikesim-compat"),
)
COMMAND = "python -m spikeloop.golden --update"


def evaluate_file(arch: str, profile: str | None) -> str:
    return f"evaluate_{arch}{'_' + profile if profile else ''}.json"


def file_names() -> tuple[str, ...]:
    return (ROWS_FILE, *(evaluate_file(a, p) for a, p in EVALUATIONS))


def rows_payload(rows: Sequence[Row]) -> dict[str, Any]:
    return {
        "what": "every row of spikeloop reproduce: id, paper, ours, unit (notes are not pinned)",
        "rows": [{"id": r.id, "paper": r.paper, "ours": r.ours, "unit": r.unit} for r in rows],
    }


def reproduce_rows() -> list[Row]:
    """Every row of ``spikeloop reproduce`` (all experiments; raises if one is not available)."""
    from spikeloop.commands.reproduce import gather_rows

    skipped: list[str] = []
    rows = gather_rows("all", skipped=skipped)
    if skipped:
        raise RuntimeError(f"experiments not available: {', '.join(skipped)}")
    return rows


def evaluate_payload(arch: str, profile: str | None) -> dict[str, Any]:
    """What ``spikeloop evaluate --arch ARCH --network vgg9-cifar10 [--profile P] --json FILE`` writes."""
    from spikeloop.cli import main

    args = ["evaluate", "--arch", arch, "--network", NETWORK, "--quiet"]
    if profile:
        args += ["--profile", profile]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "e.json"
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
            code = main([*args, "--json", str(out)])
        if code != 0:
            raise RuntimeError(f"spikeloop {' '.join(args)} failed ({code}): {err.getvalue().strip()}")
        return json.loads(out.read_text())


def current(rows: Sequence[Row] | None = None) -> dict[str, Any]:
    """Every golden payload from the current code (``rows``: reproduce rows already computed, if any)."""
    out: dict[str, Any] = {ROWS_FILE: rows_payload(reproduce_rows() if rows is None else rows)}
    for arch, profile in EVALUATIONS:
        out[evaluate_file(arch, profile)] = evaluate_payload(arch, profile)
    return out


def load(folder: Path = GOLDEN_DIR) -> dict[str, Any]:
    """The golden payloads on disk (a missing file is absent from the result)."""
    return {name: json.loads((folder / name).read_text()) for name in file_names() if (folder / name).exists()}


def write(payloads: dict[str, Any], folder: Path = GOLDEN_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, payload in payloads.items():
        path = folder / name
        path.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
        written.append(path)
    return written


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _fmt(v: Any) -> str:
    return f"{v:.12g}" if isinstance(v, float) else json.dumps(v)


def diff_values(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Every difference between two JSON values, one line each naming its key path: numbers beyond a relative
    :data:`REL_TOL`, anything else not equal, keys or list items added or removed."""
    where = path or "(top)"
    if _num(expected) and _num(actual):
        if math.isclose(expected, actual, rel_tol=REL_TOL, abs_tol=ABS_TOL):
            return []
        rel = (actual - expected) / abs(expected) if expected else math.inf
        return [f"{where}: {_fmt(expected)} -> {_fmt(actual)} (relative {rel:+.3g})"]
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for k in sorted(set(expected) | set(actual)):
            sub = f"{path}.{k}" if path else str(k)
            if k not in actual:
                out.append(f"{sub}: removed (was {_fmt(expected[k])[:80]})")
            elif k not in expected:
                out.append(f"{sub}: added ({_fmt(actual[k])[:80]})")
            else:
                out += diff_values(expected[k], actual[k], sub)
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        per_item = [diff_values(e, a, f"{path}[{i}]") for i, (e, a) in enumerate(zip(expected, actual, strict=False))]
        flat = [line for lines in per_item for line in lines]
        if len(expected) != len(actual):
            flat.append(f"{where}: {len(expected)} items -> {len(actual)}")
        return flat
    if expected != actual:
        return [f"{where}: {_fmt(expected)[:80]} -> {_fmt(actual)[:80]}"]
    return []


def diff_rows(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Rows compared by id (so a new row does not shift every other): moved values, added and removed rows."""
    exp = {r["id"]: r for r in expected["rows"]}
    act = {r["id"]: r for r in actual["rows"]}
    out = []
    for rid in list(exp) + [i for i in act if i not in exp]:
        if rid not in act:
            out.append(f"row {rid}: removed (ours was {_fmt(exp[rid]['ours'])})")
        elif rid not in exp:
            out.append(f"row {rid}: added (ours {_fmt(act[rid]['ours'])})")
        else:
            out += [f"row {line}" for line in diff_values(exp[rid], act[rid], rid)]
    return out


def compare(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Every moved value of every golden file, prefixed by the file's name."""
    out = []
    for name in file_names():
        if name not in expected:
            out.append(f"{name}: no golden file (run {COMMAND})")
            continue
        if name not in actual:
            continue
        differ: Callable[[Any, Any], list[str]] = diff_rows if name == ROWS_FILE else diff_values
        out += [f"{name}: {line}" for line in differ(expected[name], actual[name])]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m spikeloop.golden", description=__doc__.split("\n\n")[0])
    p.add_argument("--update", action="store_true", help="rewrite tests/golden/*.json from the current code")
    args = p.parse_args(argv)
    payloads = current()
    if args.update:
        moved = compare(load(), payloads)
        for path in write(payloads):
            print(f"wrote {path}", file=sys.stderr)
        for line in moved:
            print(f"moved: {line}", file=sys.stderr)
        return 0
    moved = compare(load(), payloads)
    for line in moved:
        print(line)
    print(f"{len(moved)} moved values" if moved else "golden files match", file=sys.stderr)
    return 1 if moved else 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["COMMAND", "EVALUATIONS", "GOLDEN_DIR", "compare", "current", "diff_rows", "diff_values", "load", "write"]
