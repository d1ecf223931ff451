"""Regression tests for issue 15 in the YAML reader, the CLI shell and the sweep: one per defect class.

Every failure must be one stderr line, exit status 2, naming the file (and key, line or flag); never a
traceback, a hang or a number that is not finite.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

import archspecs
from costmodel.specio import MAX_DEPTH, MAX_FILE_BYTES, Node, SpecError, load_yaml
from spikeloop.cli import main

ARCHSPECS = Path(archspecs.ROOT)
TINY = {
    "name": "tiny",
    "timesteps": 2,
    "input": {"channels": 2, "height": 8, "width": 8},
    "defaults": {
        "weight_bits": 8,
        "psum_bits": 16,
        "membrane_bits": 16,
        "spike_density": 0.25,
        "weight_density": 1.0,
        "neuron": {"leak": 0.9, "threshold": 1.0, "reset": "soft"},
    },
    "layers": [
        {"name": "conv1", "kind": "conv", "out_channels": 4, "kernel": 3, "padding": 1},
        {"name": "fc", "kind": "linear", "in_features": 256, "out_features": 3},
    ],
}


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


def one_line_error(rc: int, err: str, *needles: str) -> str:
    """Assert the CLI contract for a refused input and return the line."""
    assert rc == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump(TINY, sort_keys=False))
    return p


def unwritable(tmp_path: Path) -> Path:
    """A folder in which no file can be created, even by root (a read-only sysfs folder)."""
    if os.geteuid() != 0:
        d = tmp_path / "ro"
        d.mkdir()
        d.chmod(0o500)
        return d
    d = Path("/sys")
    try:
        (d / "spikeloop-probe").open("x").close()
    except OSError:
        return d
    pytest.skip("no unwritable folder on this machine")


# ------------------------------------------------------------------------------------ the YAML reader
def test_endless_file_as_arch_is_refused_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    t0 = time.monotonic()
    rc, _, err = run(["evaluate", "--arch", str(zero), "--network", "vgg5-cifar10"], capsys)
    one_line_error(rc, err, "zero.yaml", "not a regular file")
    rc, _, err = run(["evaluate", "--arch", "generic3", "--network", "vgg5-cifar10", "--mapping", "/dev/zero"], capsys)
    one_line_error(rc, err, "/dev/zero", "not a regular file")
    assert time.monotonic() - t0 < 10


def test_a_fifo_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "net.yaml"
    os.mkfifo(fifo)
    with pytest.raises(SpecError, match="net.yaml: cannot read: not a regular file"):
        load_yaml(fifo)


def test_file_size_is_bounded_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    with pytest.raises(SpecError, match=r"big\.yaml: .*bytes; a YAML file may have at most"):
        load_yaml(big)


@pytest.mark.parametrize("style", ["flow", "block", "alias"])
def test_deep_nesting_is_one_line_not_recursion_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], style: str
) -> None:
    net = tmp_path / "deep.yaml"
    base = yaml.safe_dump(TINY, sort_keys=False)
    if style == "flow":
        net.write_text(base + "extra: " + "[" * 20000 + "]" * 20000 + "\n")
    elif style == "block":
        net.write_text(base + "".join(" " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 10)) + " " * 80 + "v: 1\n")
    else:  # each level fits, but aliases stack them deeper than the bound
        half = MAX_DEPTH // 2 + 2
        net.write_text(
            base + "a: &a " + "[" * half + "1" + "]" * half + "\nb: " + "[" * half + "*a" + "]" * half + "\n"
        )
    rc, _, err = run(["evaluate", "--arch", "generic3", "--network", str(net)], capsys)
    one_line_error(rc, err, "deep.yaml:", f"nested deeper than {MAX_DEPTH} levels")


def test_duplicate_keys_name_file_line_and_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (ARCHSPECS / "generic3.yaml").read_text()
    lines = text.splitlines()
    first = next(i for i, ln in enumerate(lines) if ln.startswith("clock_hz:")) + 1
    bad = tmp_path / "dup.yaml"
    bad.write_text(text + "clock_hz: 2.0e9\n")
    rc, _, err = run(["evaluate", "--arch", str(bad), "--network", "vgg5-cifar10"], capsys)
    one_line_error(rc, err, f"dup.yaml:{len(lines) + 1}: duplicate key clock_hz (first at line {first})")


def test_merge_keys_may_override_but_not_repeat(tmp_path: Path) -> None:
    ok = tmp_path / "m.yaml"
    ok.write_text("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 3\n")
    assert load_yaml(ok)["d"] == {"x": 3, "y": 2}
    ok.write_text("d: {x: 1, y: 2, x: 3}\n")
    with pytest.raises(SpecError, match=r"m\.yaml:1: duplicate key x \(first at line 1\)"):
        load_yaml(ok)


@pytest.mark.parametrize(
    ("payload", "expect"),
    [
        (b"name: \xff\xfe generic3\n", "not UTF-8 text (byte 0xff at offset 6)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a binary file (NUL byte"),
    ],
)
def test_binary_files_are_refused_with_the_file_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], payload: bytes, expect: str
) -> None:
    bad = tmp_path / "bin.yaml"
    bad.write_bytes(payload)
    rc, _, err = run(["evaluate", "--arch", str(bad), "--network", "vgg5-cifar10"], capsys)
    line = one_line_error(rc, err, "bin.yaml", expect)
    assert "codec" not in line


def test_alias_bomb_is_refused_by_evaluate_and_sweep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny: Path
) -> None:
    bomb = "".join(f"  - &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 9))
    arch = tmp_path / "bomb.yaml"
    arch.write_text((ARCHSPECS / "spikeflow.yaml").read_text() + "bomb:\n  - &l0 [lol, lol, lol]\n" + bomb)
    t0 = time.monotonic()
    rc, _, err = run(["evaluate", "--arch", str(arch), "--network", str(tiny)], capsys)
    one_line_error(rc, err, "bomb.yaml:", "aliases expand to more than")
    grid = tmp_path / "grid.yaml"
    grid.write_text(f"archs: [{arch}]\nnetworks: [{tiny}]\n")
    rc, _, err = run(["sweep", "--grid", str(grid), "--out", str(tmp_path / "r.jsonl"), "--quiet"], capsys)
    one_line_error(rc, err, "bomb.yaml:", "aliases expand to more than")
    assert time.monotonic() - t0 < 10


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "loop.yaml"
    p.write_text("a: &a [1, *a]\n")
    with pytest.raises(SpecError, match=r"loop\.yaml:1: an alias refers to a node that contains it"):
        load_yaml(p)


@pytest.mark.parametrize(
    ("value", "expect"),
    [
        (".nan", "expected a finite number, got nan"),
        (".inf", "expected a finite number, got inf"),
        ("-.inf", "expected a finite number, got -inf"),
        ("'0.25'", "expected a number, got the string '0.25'"),
        ("true", "expected a number, got True"),
        ("1.0e+40", "expected a number of magnitude at most"),
    ],
)
def test_non_finite_and_string_numbers_in_a_network(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, expect: str
) -> None:
    net = tmp_path / "net.yaml"
    net.write_text(yaml.safe_dump(TINY, sort_keys=False).replace("spike_density: 0.25", f"spike_density: {value}"))
    rc, _, err = run(["evaluate", "--arch", "generic3", "--network", str(net)], capsys)
    one_line_error(rc, err, "net.yaml: defaults.spike_density: ", expect)


@pytest.mark.parametrize("value", [".nan", ".inf", "'4'", "-4", "0", "true", "1.0e+30"])
def test_non_finite_and_string_numbers_in_a_mapping(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny: Path, value: str
) -> None:
    m = tmp_path / "m.yaml"
    m.write_text(f"mapping:\n  - level: DRAM\n    temporal: [[K, {value}]]\n  - level: GLB\n  - level: RF\n")
    rc, _, err = run(["evaluate", "--arch", "generic3", "--network", str(tiny), "--mapping", str(m)], capsys)
    one_line_error(rc, err, "m.yaml", "mapping[0].temporal[0]")


def test_node_numbers_in_one_call() -> None:
    n = Node({"f": 0.5, "z": 0, "w": 12, "s": "3", "b": False, "big": 2**60, "none": None}, "a.yaml", "levels[1]")
    assert n.float("f", minimum=0.0, maximum=1.0) == 0.5
    with pytest.raises(SpecError, match=r"a\.yaml: levels\[1\]\.z: expected a number > 0\.0, got 0"):
        n.float("z", strict_minimum=True)
    with pytest.raises(SpecError, match=r"levels\[1\]\.f: expected a number < 0\.5, got 0\.5"):
        n.float("f", strict_maximum=True, maximum=0.5)
    with pytest.raises(SpecError, match=r"levels\[1\]\.w: expected a multiple of 8, got 12"):
        n.int("w", multiple_of=8)
    with pytest.raises(SpecError, match=r"levels\[1\]\.s: expected a positive integer, got the string '3'"):
        n.int("s")
    with pytest.raises(SpecError, match=r"levels\[1\]\.b: expected an integer, got False"):
        n.int("b", minimum=0)
    with pytest.raises(SpecError, match=r"levels\[1\]\.big: expected a positive integer of magnitude at most"):
        n.int("big")
    assert n.optional_int("none") is None and n.optional_float("missing") is None
    with pytest.raises(SpecError, match=r"levels\[1\]\.z: expected a positive integer or null, got 0"):
        n.optional_int("z")
    with pytest.raises(SpecError, match=r"a\.yaml: expected names as keys, got the key True \(YAML reads"):
        Node({True: 1}, "a.yaml")


# ------------------------------------------------------------------------------------ output destinations
def _write_targets(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """Bad destinations -> (path, what the error says)."""
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    return {
        "directory": (str(tmp_path / "adir"), "is a directory"),
        "under a file": (str(tmp_path / "afile" / "x.json"), "afile is a file, not a folder"),
        "unwritable": (str(unwritable(tmp_path) / "x.json"), "cannot write in"),
    }


def _commands(tmp_path: Path, tiny: Path, grid: Path) -> list[tuple[list[str], str, str]]:
    """(command line before the destination, flag, kind) for every flag that names a file or folder to write."""
    ev = ["evaluate", "--arch", "generic3", "--network", str(tiny)]
    mp = [
        "map",
        "--arch",
        "generic3",
        "--network",
        str(tiny),
        "--layer",
        "conv1",
        "--method",
        "random",
        "--time-limit",
        "1",
    ]
    return [
        (ev, "--json", "file"),
        (mp, "--json", "file"),
        (mp, "--out", "file"),
        (["compare", "--arch", "generic3", "--network", str(tiny), "-T", "1"], "--out", "dir"),
        (["reproduce", "estimate"], "--json", "file"),
        (["reproduce", "estimate"], "--out", "dir"),
        (["sweep", "--grid", str(grid), "--quiet"], "--out", "file"),
        (["sweep", "--pareto", str(tmp_path / "r.jsonl"), "--quiet"], "--png", "file"),
    ]


def test_output_destinations_are_checked_before_any_work(
    tmp_path: Path, tiny: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import spikeloop.commands.compare as compare_cmd
    import spikeloop.commands.evaluate as evaluate_cmd
    import spikeloop.commands.map as map_cmd
    import spikeloop.commands.reproduce as reproduce_cmd
    import spikeloop.commands.sweep as sweep_cmd

    def no_work(*_: Any, **__: Any) -> Any:
        raise AssertionError("work started before the output destination was checked")

    for mod, name in (
        (evaluate_cmd, "run_evaluate"),
        (map_cmd, "run_map"),
        (compare_cmd, "compare"),
        (reproduce_cmd, "gather_rows"),
        (sweep_cmd, "run"),
        (sweep_cmd, "pareto"),
    ):
        monkeypatch.setattr(mod, name, no_work)
    grid = tmp_path / "grid.yaml"
    grid.write_text(f"archs: [generic3]\nnetworks: [{tiny}]\n")
    (tmp_path / "r.jsonl").write_text("")
    targets = _write_targets(tmp_path)
    for cmd, flag, kind in _commands(tmp_path, tiny, grid):
        for case, (path, says) in targets.items():
            if kind == "dir" and case == "directory":
                path, says = str(tmp_path / "afile"), "is a file, expected a folder"
            elif kind == "dir" and case == "unwritable":
                path = str(Path(path).parent / "report")
            rc, _, err = run([*cmd, flag, path], capsys)
            one_line_error(rc, err, f"argument {flag}: ", path, says)


def test_sweep_default_output_next_to_the_grid_is_checked(
    tmp_path: Path, tiny: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    grid = tmp_path / "g.yaml"
    grid.write_text(f"archs: [generic3]\nnetworks: [{tiny}]\n")
    (tmp_path / "g.jsonl").mkdir()  # the default --out (GRID-stem.jsonl in the current folder) is a folder
    monkeypatch.chdir(tmp_path)
    rc, _, err = run(["sweep", "--grid", str(grid), "--quiet"], capsys)
    one_line_error(rc, err, "--out: ", "g.jsonl: is a directory")


# ------------------------------------------------------------------------------------ numeric flags
@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "-inf", "soon"])
def test_time_limits_must_be_positive_and_finite(
    value: str, tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = run(
        [
            "map",
            "--arch",
            "generic3",
            "--network",
            str(tiny),
            "--layer",
            "conv1",
            "--method",
            "random",
            f"--time-limit={value}",
        ],
        capsys,
    )
    one_line_error(rc, err, "argument --time-limit: expected a positive finite number", repr(value))
    rc, _, err = run(
        ["sweep", "--grid", str(tmp_path / "g.yaml"), "--scheduler", "tcp://127.0.0.1:1", f"--connect-timeout={value}"],
        capsys,
    )
    line = one_line_error(rc, err, "argument --connect-timeout: expected a positive finite number")
    assert "could not convert" not in line


def test_connect_timeout_minus_one_as_separate_argument(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(["sweep", "--grid", "g.yaml", "--connect-timeout", "-1"], capsys)
    one_line_error(rc, err, "argument --connect-timeout: expected a positive finite number, got '-1'")


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "two"])
def test_worker_counts_must_be_positive_integers(value: str, tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(["sweep", "--grid", "g.yaml", f"--workers={value}"], capsys)
    one_line_error(rc, err, "argument --workers: expected a positive integer", repr(value))
    rc, _, err = run(
        ["map", "--arch", "generic3", "--network", str(tiny), "--layer", "conv1", f"--workers={value}"], capsys
    )
    one_line_error(rc, err, "argument --workers: expected a positive integer", repr(value))


@pytest.mark.parametrize(("flag", "value"), [("-T", "0"), ("-T", "-2"), ("--lif-sharing", "0")])
def test_other_integer_flags(flag: str, value: str, tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(["evaluate", "--arch", "generic3", "--network", str(tiny), f"{flag}={value}"], capsys)
    one_line_error(rc, err, f"argument {flag}: expected a positive integer")


def test_probability_and_nonneg_types() -> None:
    import argparse

    from spikeloop.cliargs import nonneg_float, nonneg_int, positive_int_list, probability

    assert probability("0") == 0.0 and probability("1") == 1.0 and nonneg_float("0") == 0.0 and nonneg_int("0") == 0
    for f, bad in (
        (probability, "1.01"),
        (probability, "nan"),
        (probability, "-0.1"),
        (nonneg_float, "inf"),
        (nonneg_float, "-1"),
        (nonneg_int, "-1"),
        (positive_int_list, "1,0"),
        (positive_int_list, ","),
    ):
        with pytest.raises(argparse.ArgumentTypeError, match="expected"):
            f(bad)


# ------------------------------------------------------------------------------------ --dt-exit
def test_dt_exit_inline_json_equals_the_file(tmp_path: Path, tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "d.json"
    f.write_text('{"1": 0.6, "2": 0.4}')
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    base = ["evaluate", "--arch", "generic3", "--network", str(tiny)]
    assert run([*base, "--dt-exit", '{"1": 0.6, "2": 0.4}', "--json", str(a)], capsys)[0] == 0
    assert run([*base, "--dt-exit", str(f), "--json", str(b)], capsys)[0] == 0
    assert json.loads(a.read_text())["dt_exit"] == json.loads(b.read_text())["dt_exit"]
    assert json.loads(a.read_text())["dt_exit"]["distribution"] == {"1": 0.6, "2": 0.4}


@pytest.mark.parametrize(
    ("value", "expect"),
    [
        ('{"1": 0.6, "2": 0.4', "argument --dt-exit: inline JSON"),
        ('{"1": 0.5, "2": NaN}', "expected a fraction in [0, 1], got nan"),
        ('{"1": 0.5, "2": "0.5"}', "expected a fraction in [0, 1], got '0.5'"),
        ('{"1": 0.5, "1": 0.5}', "key '1' appears twice"),
        ("nosuch.json", "argument --dt-exit: nosuch.json: No such file"),
        ("/dev/zero", "argument --dt-exit: /dev/zero: not a regular file"),
    ],
)
def test_dt_exit_errors(value: str, expect: str, tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(["evaluate", "--arch", "generic3", "--network", str(tiny), "--dt-exit", value], capsys)
    one_line_error(rc, err, expect)


# ------------------------------------------------------------------------------------ errors that escape
@pytest.mark.parametrize(
    ("exc", "expect"),
    [
        (RecursionError("maximum recursion depth exceeded"), "nested too deeply"),
        (OverflowError("int too large to convert to float"), "a number is too large"),
        (MemoryError(), "out of memory"),
        (RuntimeError("CP-SAT model invalid:\nvariable 3 has an empty domain"), "CP-SAT model invalid: variable 3"),
        (PermissionError(13, "Permission denied", "/some/out.json"), "/some/out.json: Permission denied"),
        (AttributeError("'NoneType' object has no attribute 'x'"), "internal error"),
    ],
)
def test_escaping_errors_are_one_line(
    exc: BaseException, expect: str, tiny: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import spikeloop.commands.evaluate as evaluate_cmd

    def boom(*_: Any, **__: Any) -> Any:
        raise exc

    monkeypatch.setattr(evaluate_cmd, "run_evaluate", boom)
    rc, _, err = run(["evaluate", "--arch", "generic3", "--network", str(tiny)], capsys)
    one_line_error(rc, err, "spikeloop evaluate: error: ", expect)
    with pytest.raises(type(exc)):  # --debug keeps the traceback
        main(["--debug", "evaluate", "--arch", "generic3", "--network", str(tiny)])


def test_broken_pipe_is_quiet(tiny: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "spikeloop.cli", "evaluate", "--arch", "generic3", "--network", str(tiny)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line, as `| head -0` would be
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 141
    assert err == "", err


# ------------------------------------------------------------------------------------ sweep
def _group(pgid: int) -> list[str]:
    """Live (not zombie) processes of a process group, from /proc."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
            cmd = Path(f"/proc/{d}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(f"{d}: {cmd[:100]}")
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("scheduler", ["pool", "local"])
def test_sigkill_of_a_sweep_leaves_no_worker(tmp_path: Path, scheduler: str) -> None:
    """The local process pool, and a Dask LocalCluster the sweep starts (``--scheduler local``)."""
    if scheduler == "local":
        pytest.importorskip("distributed", reason='Dask is an optional extra: pip install "spikeloop[dask]"')
    grid = tmp_path / "grid.yaml"
    grid.write_text(
        "archs: [generic3]\noverrides:\n  compute.lif_sharing: [1, 2, 4]\n"
        "  levels[GLB].capacity_bits: [524288, 1048576]\nnetworks: [vgg5-cifar10]\nT: [1, 2]\n"
        "dataflows: [os, ws]\n"
    )
    out = tmp_path / "r.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spikeloop.cli",
            "sweep",
            "--grid",
            str(grid),
            "--out",
            str(out),
            "--workers",
            "2",
            "--quiet",
            *(["--scheduler", "local"] if scheduler == "local" else []),
        ],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and out.read_bytes().count(b"\n") >= 1:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the sweep ended before it could be killed"
        assert len(_group(proc.pid)) >= 3  # the sweep and its worker processes (and a fork server)
        os.kill(proc.pid, signal.SIGKILL)  # the sweep only: its workers must notice by themselves
        proc.wait()
        deadline = time.monotonic() + 15
        while _group(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = _group(proc.pid)
        assert not left, f"processes outlived the sweep: {left}"
    finally:
        for line in _group(proc.pid):
            os.kill(int(line.split(":")[0]), signal.SIGKILL)


def test_non_finite_results_are_failed_points(tmp_path: Path, tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import spikeloop.sweep.execute as execute
    from spikeloop.sweep import evaluate_point, load_grid

    grid = tmp_path / "grid.yaml"
    grid.write_text(f"archs: [generic3]\nnetworks: [{tiny}]\n")
    task = load_grid(grid).tasks[0]
    real = execute._evaluate

    class Poisoned:
        def __init__(self, result: Any) -> None:
            self.result = result

        def to_dict(self) -> dict[str, Any]:
            d = self.result.to_dict()
            d["layers"][1]["total_energy_pj"] = math.inf
            return d

    monkeypatch.setattr(execute, "_evaluate", lambda t: Poisoned(real(t)))
    rec = evaluate_point(task)
    assert rec["status"] == "failed"
    assert "non-finite" in rec["error"] and "layers[1].total_energy_pj = inf" in rec["error"]
    assert "total_energy_pj" not in rec
    json.loads(json.dumps(rec, allow_nan=False))  # the line it writes is strict JSON


def test_pareto_leaves_nan_points_out_and_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from spikeloop.sweep import pareto_fronts

    def rec(point: str, e: float, lat: float, area: float = 1.0, **kw: Any) -> dict[str, Any]:
        return {
            "point": point,
            "arch": "a",
            "network": "n",
            "T": 1,
            "dataflow": "os",
            "status": "ok",
            "total_energy_pj": e,
            "latency_s": lat,
            "area_mm2": area,
            **kw,
        }

    recs = [
        rec("good", 2.0, 2.0),
        rec("nan", math.nan, 0.0),
        rec("inf", 0.0, -math.inf),
        rec("fail", 0.0, 0.0, status="failed"),
    ]
    groups = pareto_fronts(recs)
    assert [r["point"] for g in groups for r in g.front] == ["good"]
    out = tmp_path / "r.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in recs))  # json writes NaN / -Infinity
    rc, text, err = run(["sweep", "--pareto", str(out), "--png", str(tmp_path / "p.png"), "--quiet"], capsys)
    assert rc == 0, err
    assert "good" in text and "| nan" not in text and "3 failed or non-finite point(s) left out" in text
    broken = rec("broken", 1.0, 1.0)
    del broken["latency_s"]
    out.write_text(json.dumps(recs[0]) + "\n" + json.dumps(broken) + "\n")
    rc, _, err = run(["sweep", "--pareto", str(out), "--png", str(tmp_path / "p.png"), "--quiet"], capsys)
    one_line_error(rc, err, f"{out}:2: point broken: latency_s: expected a number")
