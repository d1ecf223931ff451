"""docs/api.md runs as a doctest, and the Python API (spikeloop.api) keeps its promises at the boundary.

Every ``>>>`` example of docs/api.md runs with ``ELLIPSIS | NORMALIZE_WHITESPACE`` (Markdown fence lines are
blanked first, so an example's expected output ends at its fence), in a temporary working directory so nothing
is written into the repository.
"""

from __future__ import annotations

import dataclasses
import doctest
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import spikeloop as sl

ROOT = Path(__file__).resolve().parent.parent
API_MD = ROOT / "docs" / "api.md"
README = ROOT / "README.md"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _examples(text: str, name: str) -> doctest.DocTest:
    """The doctest of a Markdown file: fence lines become blank lines (line numbers are kept)."""
    text = re.sub(r"^\s*```.*$", "", text, flags=re.M)
    return doctest.DocTestParser().get_doctest(text, {"__name__": name}, name, name, 0)


def _run(test: doctest.DocTest) -> tuple[int, int, str]:
    out: list[str] = []
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    result = runner.run(test, out=out.append)
    return result.failed, result.attempted, "".join(out)


# ------------------------------------------------------------------------------------------- the guide
def test_api_md_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    test = _examples(API_MD.read_text(), "docs/api.md")
    failed, attempted, report = _run(test)
    assert attempted >= 40, f"docs/api.md has only {attempted} examples"
    assert failed == 0, report
    assert list(tmp_path.iterdir()) == [], "docs/api.md left files in the working directory"


def test_the_doctest_harness_catches_a_wrong_output() -> None:
    """The harness is not vacuous: a wrong expected value fails, and a fence does not swallow the output."""
    text = "```python\n>>> 1 + 1\n3\n```\n"
    failed, attempted, _ = _run(_examples(text, "bad.md"))
    assert (failed, attempted) == (1, 1)
    failed, attempted, _ = _run(_examples(text.replace("3", "2"), "good.md"))
    assert (failed, attempted) == (0, 1)


def test_readme_python_api_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    section = README.read_text().split("## Python API", 1)[1].split("\n## ", 1)[0]
    failed, attempted, report = _run(_examples(section, "README.md"))
    assert attempted >= 3 and failed == 0, report


def test_every_public_name_is_documented() -> None:
    text = API_MD.read_text()
    missing = [name for name in sl.__all__ if name != "__version__" and f"`{name}" not in text]
    assert not missing, f"docs/api.md does not mention {missing}"
    for name in sl.__all__:
        obj = getattr(sl, name)
        if callable(obj):
            assert obj.__doc__, f"spikeloop.{name} has no docstring"


# ------------------------------------------------------------------------------------------- import cost
def test_import_spikeloop_is_light() -> None:
    code = (
        "import sys, spikeloop\n"
        "heavy = [m for m in ('matplotlib', 'ortools', 'costmodel', 'mappers', 'numpy', 'sympy', 'scipy') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "", f"import spikeloop imports {out.stdout.strip()}"


def test_api_names_survive_submodule_imports() -> None:
    import spikeloop.compare  # noqa: F401 - the modules behind compare_dataflows and sweep_grid
    import spikeloop.sweep  # noqa: F401

    assert sl.compare_dataflows.__module__ == "spikeloop.api"
    assert sl.sweep_grid.__module__ == "spikeloop.api"
    from mappers.dataflows import flow_names

    assert (*flow_names(False), "best") == sl.DATAFLOWS
    assert (*flow_names(True), "best") == sl.CROSSBAR_DATAFLOWS
    from costmodel.accounting import CROSSBAR_DATAFLOWS, DIGITAL_DATAFLOWS  # what a profile's dataflow is checked by

    assert (flow_names(False), flow_names(True)) == (DIGITAL_DATAFLOWS, CROSSBAR_DATAFLOWS)


# ------------------------------------------------------------------------------------------- boundary checks
_untyped: Any = sl  # the calls below pass wrong types on purpose
BAD_CALLS = [
    (lambda: _untyped.load_arch(None), TypeError, "arch: expected a shipped name"),
    (lambda: _untyped.load_arch(3), TypeError, "arch: expected"),
    (lambda: _untyped.load_arch("no-such-arch"), ValueError, "arch: unknown name 'no-such-arch'; shipped: "),
    (lambda: _untyped.load_arch("missing/arch.yaml"), FileNotFoundError, "arch: no such file 'missing/arch.yaml'"),
    (lambda: _untyped.load_network(None), TypeError, "network: expected"),
    (lambda: _untyped.load_network("vgg5-cifar10", timesteps="4"), TypeError, "timesteps: expected a positive integer"),
    (lambda: _untyped.load_network("vgg5-cifar10", timesteps=0), ValueError, "timesteps: expected a positive integer"),
    (lambda: _untyped.load_network("vgg5-cifar10", timesteps=2.0), TypeError, "timesteps: expected a positive integer"),
    (
        lambda: _untyped.load_network("vgg5-cifar10", timesteps=True),
        TypeError,
        "timesteps: expected a positive integer",
    ),
    (lambda: _untyped.load_mapping(None, "generic3"), TypeError, "mapping: expected"),
    (
        lambda: _untyped.evaluate("generic3", "vgg5-cifar10", dataflow="fast"),
        ValueError,
        "dataflow: expected one of os",
    ),
    (lambda: _untyped.evaluate("generic3", "vgg5-cifar10", dataflow=1), TypeError, "dataflow: expected one of"),
    (lambda: _untyped.evaluate("generic3", "vgg5-cifar10", timesteps="2"), TypeError, "timesteps: expected"),
    (lambda: _untyped.evaluate("generic3", "vgg5-cifar10", profile="tool"), ValueError, "profile: expected one of"),
    (lambda: _untyped.evaluate("generic3", "vgg5-cifar10", profle="native"), TypeError, "unexpected option 'profle'"),
    (lambda: _untyped.evaluate("generic3", "vgg5-cifar10", activity="dense"), ValueError, "activity: only for"),
    (lambda: _untyped.evaluate("generic3", "vgg5-cifar10", time_limit_s=1), TypeError, "go with dataflow='best'"),
    (
        lambda: _untyped.evaluate("generic3", "vgg5-cifar10", dataflow="best", time_limit_s="1"),
        TypeError,
        "time_limit_s: expected a positive number",
    ),
    (
        lambda: _untyped.evaluate("spikeflow", "vgg5-cifar10", dataflow="os"),
        ValueError,
        "dataflow: expected one of packed, spikesim",
    ),
    (lambda: _untyped.evaluate("spikeflow", "vgg5-cifar10", profile="x"), ValueError, "profile: expected one of"),
    (lambda: _untyped.evaluate("spikeflow", "vgg5-cifar10", lif_sharing="4"), TypeError, "lif_sharing: expected"),
    (lambda: _untyped.evaluate("spikeflow", "vgg5-cifar10", seed=1), TypeError, "unexpected option 'seed'"),
    (lambda: _untyped.evaluate_layer("generic3", None), TypeError, "layer: expected a Layer"),
    (lambda: _untyped.evaluate_layer("generic3", "conv1"), TypeError, "needs network="),
    (lambda: _untyped.evaluate_layer("generic3", "nope", network="vgg5-cifar10"), ValueError, "layer: network"),
    (
        lambda: _untyped.evaluate_layer("generic3", "conv1", network="vgg5-cifar10", dataflow="best"),
        ValueError,
        "dataflow",
    ),
    (lambda: _untyped.search("generic3", "pool1", network="vgg5-cifar10"), ValueError, "layer: pool1 is a pool layer"),
    (
        lambda: _untyped.search("generic3", "fc2", network="vgg5-cifar10", method="magic"),
        ValueError,
        "method: expected",
    ),
    (
        lambda: _untyped.search("generic3", "fc2", network="vgg5-cifar10", objective=None),
        TypeError,
        "objective: expected",
    ),
    (
        lambda: _untyped.search("generic3", "fc2", network="vgg5-cifar10", seed=-1),
        ValueError,
        "seed: expected an integer",
    ),
    (lambda: _untyped.search("generic3", "fc2", network="vgg5-cifar10", workers="2"), TypeError, "workers: expected"),
    (
        lambda: _untyped.search("generic3", "fc2", network="vgg5-cifar10", time_limit_s=math.nan),
        ValueError,
        "time_limit_s: expected a positive finite number",
    ),
    (
        lambda: _untyped.search("generic3", "fc2", network="vgg5-cifar10", constraints=3),
        TypeError,
        "constraints: expected",
    ),
    (lambda: _untyped.compare_dataflows("generic3", "vgg5-cifar10", "os"), TypeError, "dataflows: expected a list"),
    (lambda: _untyped.compare_dataflows("generic3", "vgg5-cifar10", ["os"], [0]), ValueError, "timesteps: expected"),
    (
        lambda: _untyped.compare_dataflows("generic3", "vgg5-cifar10", ["os"], 2),
        TypeError,
        "timesteps: expected a list",
    ),
    (lambda: _untyped.sweep_grid(None, "x.jsonl"), TypeError, "grid: expected a path"),
    (lambda: _untyped.sweep_grid({"archs": ["generic3"]}, None), TypeError, "out: expected a path"),
    (lambda: _untyped.sweep_grid({"archs": ["generic3"]}, "x.jsonl", workers=-1), ValueError, "workers: expected"),
    (lambda: _untyped.records(object()), TypeError, "result: expected a result of the spikeloop API"),
    (lambda: _untyped.to_dict(None), TypeError, "result: expected a result of the spikeloop API"),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD_CALLS, ids=[m for _, _, m in BAD_CALLS])
def test_arguments_are_checked_at_the_boundary(
    call: Callable[[], object], error: type[Exception], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error) as info:
        call()
    text = str(info.value)
    assert message in text
    assert "\n" not in text, "errors are one line"


def test_dict_input_uses_the_strict_loader_and_names_the_dict() -> None:
    import archspecs

    data = sl.load_yaml(archspecs.arch_path("generic3"))
    assert sl.load_arch(data) == dataclasses.replace(sl.load_arch("generic3"), file="<arch dict>")
    data["levels"][1]["capacity_bytes"] = 5
    with pytest.raises(ValueError, match=r"^<arch dict>: levels\[1\]\.capacity_bytes: unknown key$"):
        sl.load_arch(data)
    data = sl.load_yaml(archspecs.arch_path("generic3"))
    data["clock_hz"] = "1.0e9"  # what plain yaml.safe_load makes of 1.0e9
    with pytest.raises(ValueError, match=r"clock_hz: expected a number, got the string '1\.0e9' \(plain yaml"):
        sl.load_arch(data)


def test_user_paths_are_reported_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import archspecs

    text = archspecs.arch_path("generic3").read_text().replace("clock_hz: 1.0e9", "clock_hz: -1.0")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "my.yaml").write_text(text)
    monkeypatch.chdir(tmp_path / "sub")
    with pytest.raises(ValueError, match=r"^my\.yaml: clock_hz: "):
        sl.load_arch("my.yaml")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"^sub/my\.yaml: clock_hz: "):
        sl.load_arch(Path("sub/my.yaml"))


# ------------------------------------------------------------------------------------------- results
def test_evaluate_equals_the_cli_function_and_records_are_flat() -> None:
    from spikeloop.commands.evaluate import run_evaluate

    for flow in ("os", "time-batched"):
        ours = sl.evaluate("generic3", "vgg5-cifar10", dataflow=flow, timesteps=2)
        cli = run_evaluate("generic3", "vgg5-cifar10", timesteps=2, dataflow=flow)
        assert sl.to_dict(ours) == cli.to_dict()
    rows = sl.records(ours)
    assert [r["layer"] for r in rows] == [lr.name for lr in ours.layers]
    for row, lr in zip(rows, ours.layers, strict=True):
        assert all(not isinstance(v, dict | list) for v in row.values())
        assert row["total_energy_pj"] == lr.cost.total_energy_pj
        parts = sum(v for k, v in row.items() if k.startswith("breakdown_pj."))
        assert parts == pytest.approx(lr.cost.total_energy_pj)
    assert json.loads(sl.to_json(ours)) == ours.to_dict()


def test_mapping_file_and_dict_give_the_same_cost(tmp_path: Path) -> None:
    net = sl.load_network("vgg5-cifar10", timesteps=1)
    layer = net.layer("fc2")
    d = {
        "mapping": [
            {"level": "DRAM", "temporal": [["C", 64]]},
            {"level": "GLB", "temporal": [["K", 5], ["C", 16]], "spatial": [["K", 2, "x"]]},
            {"level": "RF"},
        ]
    }
    (tmp_path / "m.yaml").write_text(json.dumps(d))  # JSON is YAML
    a = sl.evaluate_layer("generic3", layer, mapping=d)
    b = sl.evaluate_layer("generic3", layer, mapping=tmp_path / "m.yaml")
    assert a == b and a.total_energy_pj > 0
    assert sl.evaluate_layer("generic3", layer) == sl.evaluate_layer("generic3", layer, dataflow="os")
    assert sl.evaluate_layer("generic3", layer, dataflow="ws") != sl.evaluate_layer("generic3", layer)


def test_sweep_result_records_and_resume(tmp_path: Path) -> None:
    grid = {"archs": ["generic3"], "networks": ["vgg5-cifar10"], "T": [1], "dataflows": ["os", "time-batched"]}
    out = tmp_path / "r.jsonl"
    first = sl.sweep_grid(grid, out, workers=0)
    assert (first.summary.points, first.summary.evaluated) == (2, 2)
    again = sl.sweep_grid(grid, out, workers=0)
    assert (again.summary.already_done, again.summary.evaluated) == (2, 0)
    rows = sl.records(again)
    assert sorted(r["dataflow"] for r in rows) == ["os", "time-batched"]
    assert all(r["status"] == "ok" and not isinstance(r["layers"], list) for r in rows)
    assert sl.to_dict(again)["records"][0]["point"] == rows[0]["point"]
    assert os.path.getsize(out) > 0
