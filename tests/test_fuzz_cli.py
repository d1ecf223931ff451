"""Property-based fuzzing of the CLI on mutated copies of the shipped arch, network, mapping and grid files.

Each example takes one shipped file, applies one mutation (a number made NaN, infinite, negative, zero,
huge, a string or a boolean; a key deleted, duplicated or renamed; a list and a mapping swapped; a value
nested deeper), runs the CLI in-process and checks the contract of issue 15:

* exit 0 and every number in the output (stdout and the ``--json`` file) finite, or
* exit 2 and exactly one stderr line ``spikeloop CMD: error: ...`` naming the mutated file, and a key path or
  a line in it,

never a traceback or an "internal error", and never slower than :data:`TIME_BOUND_S`. Derandomized and
bounded (about a minute on two cores); a failure prints the exact mutation.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import archspecs
from spikeloop.cli import main

ROOT = Path(archspecs.ROOT)
TIME_BOUND_S = 20.0
NON_FINITE = re.compile(r"(?<![\w.])-?(nan|inf|infinity)(?![\w])", re.IGNORECASE)
SETTINGS = settings(
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)

Path_ = tuple[str | int, ...]


# ------------------------------------------------------------------------------------ mutations
@dataclass(frozen=True)
class Mutation:
    path: Path_
    op: str
    arg: Any = None

    def __str__(self) -> str:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path).lstrip(".") or "<root>"
        return f"{self.op} at {where}" + (f" -> {self.arg!r}" if self.arg is not None else "")


NUMBER_VALUES: tuple[Any, ...] = (
    math.nan,
    math.inf,
    -math.inf,
    -1,
    -0.5,
    0,
    0.0,
    10**12,
    1e300,
    "1e9",
    "12",
    True,
    None,
)
OPS = ("number", "delete", "duplicate", "rename", "swap", "nest")


def paths(data: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every path in a YAML tree (mappings and lists), the root excluded."""
    out: list[Path_] = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for k, v in items:
        out.append((*prefix, k))
        out.extend(paths(v, (*prefix, k)))
    return out


def get(data: Any, path: Path_) -> Any:
    for p in path:
        data = data[p]
    return data


def apply(data: Any, m: Mutation) -> Any:
    """The mutated copy of ``data`` (a duplicated key is written by :func:`dump` instead)."""
    import copy

    data = copy.deepcopy(data)
    parent, key = get(data, m.path[:-1]), m.path[-1]
    value = parent[key]
    if m.op == "number":
        parent[key] = m.arg
    elif m.op == "delete":
        del parent[key]
    elif m.op == "rename" and isinstance(parent, dict):
        parent[f"{key}_renamed"] = parent.pop(key)
    elif m.op == "swap":
        if isinstance(value, list):
            parent[key] = {str(i): v for i, v in enumerate(value)}
        elif isinstance(value, dict):
            parent[key] = list(value.values())
        else:
            parent[key] = [value]
    elif m.op == "nest":
        parent[key] = {"value": value} if m.arg == "map" else [[value]]
    return data


def dump(data: Any, m: Mutation | None) -> str:
    """YAML text of ``data``; for a ``duplicate`` mutation, the key at ``m.path`` appears twice."""
    if m is None or m.op != "duplicate":
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    parent = get(data, m.path[:-1])
    key = m.path[-1]
    marker = "__duplicate_me__"
    parent[marker] = parent[key]
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
    del parent[marker]
    return text.replace(f"{marker}:", f"{key}:", 1) if isinstance(key, str) else text.replace(f"{marker}:", "", 1)


@st.composite
def mutations(draw: st.DrawFn, data: Any) -> Mutation:
    all_paths = paths(data)
    path = draw(st.sampled_from(all_paths))
    value = get(data, path)
    parent_is_map = isinstance(get(data, path[:-1]), dict)
    ops = [op for op in OPS if op not in ("rename", "duplicate") or parent_is_map]
    if isinstance(value, bool) or not isinstance(value, int | float):
        ops = [op for op in ops if op != "number"] or ["nest"]
    op = draw(st.sampled_from(ops))
    arg = None
    if op == "number":
        arg = draw(st.sampled_from(NUMBER_VALUES))
    elif op == "nest":
        arg = draw(st.sampled_from(("map", "list")))
    return Mutation(path, op, arg)


# ------------------------------------------------------------------------------------ running the CLI
def run_cli(args: list[str]) -> tuple[int, str, str, float]:
    out, err = io.StringIO(), io.StringIO()
    t0 = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(args)
    return rc, out.getvalue(), err.getvalue(), time.monotonic() - t0


def walk_numbers(value: Any) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [x for v in value.values() for x in walk_numbers(v)]
    if isinstance(value, list):
        return [x for v in value for x in walk_numbers(v)]
    return []


@dataclass(frozen=True)
class Outcome:
    rc: int
    out: str
    err: str
    took: float

    @property
    def line(self) -> str:
        return self.err.strip().splitlines()[0] if self.err.strip() else ""


def violation(command: str, mutated: Path, outcome: Outcome, outputs: list[Path]) -> str | None:
    """How a run breaks the contract, or None."""
    if outcome.took > TIME_BOUND_S:
        return f"took {outcome.took:.1f} s"
    if "Traceback" in outcome.err or "internal error" in outcome.err:
        return f"traceback or internal error:\n{outcome.err}"
    if outcome.rc == 0:
        if NON_FINITE.search(outcome.out):
            return f"non-finite number in the output:\n{outcome.out}"
        for f in outputs:
            for line in f.read_text().splitlines() if f.suffix == ".jsonl" else [f.read_text()]:
                rec = json.loads(line)
                if isinstance(rec, dict) and rec.get("status") == "failed":
                    continue
                bad = [x for x in walk_numbers(rec) if not math.isfinite(x)]
                if bad:
                    return f"non-finite numbers in {f.name}: {bad[:3]}"
        return None
    if outcome.rc != 2:
        return f"exit {outcome.rc}:\n{outcome.err}"
    if len(outcome.err.strip().splitlines()) != 1:
        return f"{len(outcome.err.strip().splitlines())} stderr lines:\n{outcome.err}"
    line = outcome.line
    if not line.startswith(f"spikeloop {command}: error: "):
        return f"not a spikeloop error line: {line}"
    if mutated.name not in line:
        return f"the error does not name the file: {line}"
    # a key path (``name: levels[1].word_bits: ...``) or a line (``name:12: ...``) follows the file name
    if not re.search(re.escape(mutated.name) + r"(:\d+:| with overrides|: [^\s:]+:|: line \d+)", line):
        return f"the error names no key path or line: {line}"
    return None


@dataclass(frozen=True)
class KnownDefect:
    """A failure class found by this fuzzer in code outside the YAML reader, the CLI shell and the sweep.

    Examples that match are discarded by the property tests (nothing else is), and ``test_known_defects``
    pins one exact mutation of each as ``xfail(strict=True)``: when the check lands, that test XPASSes and
    fails, and the entry here must go.
    """

    name: str
    reason: str
    matches: Callable[[Path, Mutation, Outcome], bool]


KNOWN_DEFECTS = ()


def known_defect(mutated: Path, m: Mutation, outcome: Outcome) -> KnownDefect | None:
    return next((d for d in KNOWN_DEFECTS if d.matches(mutated, m, outcome)), None)


# ------------------------------------------------------------------------------------ the shipped files
def shipped(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


Args = Callable[[Path, Path], tuple[str, list[str], list[Path]]]


def run_mutation(
    tmp_path: Path, base: Any, name: str, m: Mutation, make_args: Args
) -> tuple[str | None, Outcome, Path]:
    """Run one mutated file through the CLI: (the contract violation or None, what the run gave, the file)."""
    d = tmp_path / f"case{time.monotonic_ns()}"
    d.mkdir()
    f = d / name
    f.write_text(dump(apply(base, m), m))
    command, args, outputs = make_args(f, d)
    outcome = Outcome(*run_cli(args))
    why = violation(command, f, outcome, outputs)
    return (None if why is None else f"{name}: {m}: spikeloop {' '.join(args)}: {why}"), outcome, f


def fuzz(tmp_path: Path, base: Any, name: str, m: Mutation, make_args: Args) -> None:
    why, outcome, f = run_mutation(tmp_path, base, name, m, make_args)
    if why is not None:
        assume(known_defect(f, m, outcome) is None)  # a known defect outside this test's scope: discarded
    assert why is None, why


ARCH_FILES = ("generic3.yaml", "sata.yaml", "spikeflow.yaml")
ARCHS = {n: shipped(ROOT / n) for n in ARCH_FILES}
NETWORK = shipped(ROOT / "networks" / "vgg5-cifar10.yaml")
GRID = shipped(ROOT / "grids" / "example.yaml")


def arch_args(f: Path, d: Path) -> tuple[str, list[str], list[Path]]:
    j = d / "out.json"
    return "evaluate", ["evaluate", "--arch", str(f), "--network", "vgg5-cifar10", "--json", str(j), "--quiet"], [j]


def network_args(f: Path, d: Path) -> tuple[str, list[str], list[Path]]:
    j = d / "out.json"
    return "evaluate", ["evaluate", "--arch", "generic3", "--network", str(f), "--json", str(j), "--quiet"], [j]


def mapping_args(netf: Path) -> Args:
    def args(f: Path, d: Path) -> tuple[str, list[str], list[Path]]:
        j = d / "out.json"
        return (
            "evaluate",
            [
                "evaluate",
                "--arch",
                "generic3",
                "--network",
                str(netf),
                "--mapping",
                str(f),
                "--json",
                str(j),
                "--quiet",
            ],
            [j],
        )

    return args


def grid_args(f: Path, d: Path) -> tuple[str, list[str], list[Path]]:
    out = d / "r.jsonl"
    return "sweep", ["sweep", "--grid", str(f), "--out", str(out), "--workers", "1", "--quiet"], [out]


@pytest.mark.parametrize("arch_file", ARCH_FILES)
@settings(SETTINGS, max_examples=40)
@given(data=st.data())
def test_fuzz_arch(tmp_path: Path, arch_file: str, data: st.DataObject) -> None:
    base = ARCHS[arch_file]
    m = data.draw(mutations(base), label="mutation")

    def args(f: Path, d: Path) -> tuple[str, list[str], list[Path]]:
        j = d / "out.json"
        return "evaluate", ["evaluate", "--arch", str(f), "--network", "vgg5-cifar10", "--json", str(j), "--quiet"], [j]

    fuzz(tmp_path, base, f"mut-{arch_file}", m, args)


@settings(SETTINGS, max_examples=80)
@given(data=st.data())
def test_fuzz_network(tmp_path: Path, data: st.DataObject) -> None:
    m = data.draw(mutations(NETWORK), label="mutation")

    fuzz(tmp_path, NETWORK, "mut-vgg5.yaml", m, network_args)


@pytest.fixture(scope="module")
def one_layer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """vgg5-cifar10 cut to its first layer, and the heuristic os mapping of that layer on generic3 (as YAML)."""
    from costmodel.arch import load_arch
    from costmodel.mapping import Invalid
    from costmodel.network import network_from_data
    from mappers.dataflows import dataflow
    from mappers.heuristic import heuristic_mapping
    from mappers.mapping_io import dump as dump_mapping

    d = tmp_path_factory.mktemp("one_layer")
    net = dict(NETWORK, layers=NETWORK["layers"][:1])
    netf = d / "vgg5-conv1.yaml"
    netf.write_text(yaml.safe_dump(net, sort_keys=False))
    arch = load_arch("generic3")
    layer = network_from_data(net, str(netf)).layers[0]
    heuristic = heuristic_mapping(arch, layer, dataflow("os"))
    assert not isinstance(heuristic, Invalid), heuristic
    mapping = yaml.safe_load(dump_mapping(arch, heuristic, "yaml"))
    return netf, mapping


@settings(SETTINGS, max_examples=60)
@given(data=st.data())
def test_fuzz_mapping(tmp_path: Path, one_layer: tuple[Path, Any], data: st.DataObject) -> None:
    netf, mapping = one_layer
    rc, _, err, _ = run_cli(
        [
            "evaluate",
            "--arch",
            "generic3",
            "--network",
            str(netf),
            "--mapping",
            str(_write(tmp_path / "base.yaml", mapping)),
            "--quiet",
        ]
    )
    assert rc == 0, err  # the unmutated mapping is valid
    m = data.draw(mutations(mapping), label="mutation")

    def args(f: Path, d: Path) -> tuple[str, list[str], list[Path]]:
        j = d / "out.json"
        return (
            "evaluate",
            [
                "evaluate",
                "--arch",
                "generic3",
                "--network",
                str(netf),
                "--mapping",
                str(f),
                "--json",
                str(j),
                "--quiet",
            ],
            [j],
        )

    fuzz(tmp_path, mapping, "mut-mapping.yaml", m, args)


def _write(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# the shipped grid, cut to one value per list so an example is a few points, not 48
SMALL_GRID = {
    k: (v[:1] if isinstance(v, list) else {p: vals[:1] for p, vals in v.items()} if k == "overrides" else v)
    for k, v in GRID.items()
}


@settings(SETTINGS, max_examples=40)
@given(data=st.data())
def test_fuzz_grid(tmp_path: Path, data: st.DataObject) -> None:
    m = data.draw(mutations(SMALL_GRID), label="mutation")

    fuzz(tmp_path, SMALL_GRID, "mut-grid.yaml", m, grid_args)


# ------------------------------------------------------------------------------------ known defects
_DEFECT = {d.name: d for d in KNOWN_DEFECTS}
KNOWN_CASES: list[tuple[str, str, Mutation]] = []


@pytest.mark.parametrize(
    ("kind", "mutation"),
    [
        pytest.param(
            kind, m, id=name, marks=pytest.mark.xfail(strict=True, raises=AssertionError, reason=_DEFECT[name].reason)
        )
        for name, kind, m in KNOWN_CASES
    ],
)
def test_known_defects(tmp_path: Path, one_layer: tuple[Path, Any], kind: str, mutation: Mutation) -> None:
    """The exact mutations behind :data:`KNOWN_DEFECTS`, still failing the contract today."""
    netf, mapping = one_layer
    base, name, make_args = {
        "mapping": (mapping, "mut-mapping.yaml", mapping_args(netf)),
        "network": (NETWORK, "mut-vgg5.yaml", network_args),
    }.get(kind, (ARCHS.get(kind), f"mut-{kind}", arch_args))
    why, outcome, f = run_mutation(tmp_path, base, name, mutation, make_args)
    assert why is None, why
