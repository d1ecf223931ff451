"""Design-space sweeps: grid expansion and overrides, streaming, resume, failures, Dask, Pareto front."""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import json  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import Executor, Future, ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import archspecs  # noqa: E402
from costmodel.arch import arch_from_dict  # noqa: E402
from costmodel.network import load_network  # noqa: E402
from costmodel.network_eval import evaluate_network  # noqa: E402
from costmodel.specio import SpecError, load_yaml  # noqa: E402
from mappers.dataflows import dataflow  # noqa: E402
from mappers.heuristic import heuristic_mapping  # noqa: E402
from spikeloop.cli import main  # noqa: E402
from spikeloop.sweep import (  # noqa: E402
    evaluate_point,
    load_grid,
    pareto_fronts,
    pareto_mask,
    read_records,
    resolve_override,
    run_sweep,
)

# A tiny network: a point costs milliseconds, so the tests can afford real process pools.
TINY: dict[str, Any] = {
    "name": "tiny",
    "dataset": "toy",
    "source": "test",
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
        {"name": "pool", "kind": "pool", "pool": "max", "kernel": 2},
        {"name": "fc", "kind": "linear", "in_features": 64, "out_features": 3},
    ],
}

# 2 capacities x 2 array sizes x 2 T x 3 dataflows = 24 points
GRID = """\
archs: [generic3]
overrides:
  levels[GLB].capacity_bits: [524288, 1048576]
  levels[1].fanout: [{x: 4, y: 4}, {x: 2, y: 8}]
networks: [tiny.yaml]
T: [1, 3]
dataflows: [os, ws, time-batched]
"""

VOLATILE = ("wall_s",)  # the only record key that may differ between two runs of a point


def write_grid(tmp_path: Path, text: str = GRID, name: str = "grid.yaml") -> Path:
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY, sort_keys=False))
    path = tmp_path / name
    path.write_text(text)
    return path


def by_key(path: Path) -> dict[str, dict[str, Any]]:
    """Records of a results file by point key; fails on a duplicate or an unreadable line."""
    records, bad = read_records(path)
    assert bad == 0
    out: dict[str, dict[str, Any]] = {}
    for rec in records:
        assert rec["point"] not in out, f"point {rec['point']} twice"
        out[rec["point"]] = {k: v for k, v in rec.items() if k not in VOLATILE}
    return out


def serial_reference(grid: Path) -> dict[str, dict[str, Any]]:
    recs = (evaluate_point(t) for t in load_grid(grid).tasks)
    return {r["point"]: {k: v for k, v in r.items() if k not in VOLATILE} for r in recs}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, Any]]]:
    d = tmp_path_factory.mktemp("ref")
    grid = write_grid(d)
    return grid, serial_reference(grid)


# ------------------------------------------------------------------------------------ grid
def test_grid_expands_to_the_product(tmp_path: Path) -> None:
    grid = load_grid(write_grid(tmp_path))
    assert len(grid.tasks) == 2 * 2 * 2 * 3
    assert len({t.key for t in grid.tasks}) == len(grid.tasks)
    p = grid.tasks[0].point
    # levels[1] is written in its canonical form, by level name
    assert [k for k, _ in p.overrides] == ["levels[GLB].capacity_bits", "levels[GLB].fanout"]
    assert {t.point.T for t in grid.tasks} == {1, 3}
    assert {t.point.dataflow for t in grid.tasks} == {"os", "ws", "time-batched"}
    assert all(t.point.objective is None for t in grid.tasks)


def test_point_keys_are_stable_and_follow_the_data(tmp_path: Path) -> None:
    path = write_grid(tmp_path)
    keys = [t.key for t in load_grid(path).tasks]
    assert keys == [t.key for t in load_grid(path).tasks]
    # the same grid written differently (index vs name, other key order) gives the same points
    alt = write_grid(tmp_path, GRID.replace("levels[1].fanout", "levels[GLB].fanout"), "alt.yaml")
    assert sorted(keys) == sorted(t.key for t in load_grid(alt).tasks)
    # a changed network file is new data: new keys, so a resume does not keep stale numbers
    changed = dict(TINY, layers=[*TINY["layers"][:2], dict(TINY["layers"][2], out_features=5)])
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(changed, sort_keys=False))
    assert not set(keys) & {t.key for t in load_grid(path).tasks}


def test_default_T_is_the_network_files(tmp_path: Path) -> None:
    grid = load_grid(write_grid(tmp_path, "archs: [generic3]\nnetworks: [tiny.yaml, vgg5-cifar10]\n"))
    assert sorted((t.point.network, t.point.T, t.point.dataflow) for t in grid.tasks) == [
        ("tiny.yaml", 2, "os"),
        ("vgg5-cifar10", 4, "os"),
    ]


def test_best_points_multiply_by_objectives(tmp_path: Path) -> None:
    grid = load_grid(
        write_grid(
            tmp_path, "archs: [generic3]\nnetworks: [tiny.yaml]\ndataflows: [os, best]\nobjectives: [energy, edp]\n"
        )
    )
    assert sorted((t.point.dataflow, str(t.point.objective)) for t in grid.tasks) == [
        ("best", "edp"),
        ("best", "energy"),
        ("os", "None"),
    ]


def test_per_arch_overrides(tmp_path: Path) -> None:
    text = (
        "archs:\n  - generic3\n  - arch: generic3\n    overrides:\n      compute.lif_sharing: [2, 4]\n"
        "networks: [tiny.yaml]\n"
    )
    grid = load_grid(write_grid(tmp_path, text))
    assert sorted(dict(t.point.overrides).get("compute.lif_sharing", 1) for t in grid.tasks) == [1, 2, 4]


@pytest.mark.parametrize(
    ("override", "expect"),
    [
        (
            "levels[GLB].capacity_bitz: [1]",
            "overrides.levels[GLB].capacity_bitz: value 1: archspecs/generic3.yaml: "
            "levels[1].capacity_bitz: unknown key",
        ),
        ("levels[SRAM].capacity_bits: [1]", "overrides.levels[SRAM].capacity_bits: levels: no item named 'SRAM'"),
        ("levels[7].word_bits: [8]", "overrides.levels[7].word_bits: levels[7]: index out of range"),
        ("levels[GLB].capacity_bits: [-5]", "overrides.levels[GLB].capacity_bits: value -5: "),
        ("levels[GLB].fanout.z: [2]", "overrides.levels[GLB].fanout.z: value 2: "),
        ("compute.lif_sharing: [0]", "overrides.compute.lif_sharing: value 0: "),
        ("device.adc.bits: [4]", "overrides.device.adc.bits: device: no such key in the arch"),
        ("levels.GLB: [1]", "overrides.levels.GLB: levels is a list, not a mapping"),
        ("levels[GLB]capacity_bits: [1]", "malformed path segment"),
        ("compute.lif_sharing: 4", "overrides.compute.lif_sharing: expected a non-empty list of values"),
        ("compute.lif_sharing: [1, 1]", "overrides.compute.lif_sharing: value 1 is listed twice"),
    ],
)
def test_bad_overrides_name_the_grid_key(tmp_path: Path, override: str, expect: str) -> None:
    path = write_grid(tmp_path, f"archs: [generic3]\noverrides:\n  {override}\nnetworks: [tiny.yaml]\n")
    with pytest.raises(SpecError) as info:
        load_grid(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}: "), msg
    assert expect in msg, msg


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("archs: []\nnetworks: [tiny.yaml]\n", "archs: expected a non-empty list"),
        ("archs: [nosuch]\nnetworks: [tiny.yaml]\n", "archs[0]: unknown architecture 'nosuch'"),
        ("archs: [generic3]\nnetworks: [nosuch]\n", "networks[0]: unknown network 'nosuch'"),
        ("archs: [generic3]\nnetworks: [tiny.yaml]\nT: [0]\n", "T: expected a non-empty list of positive integers"),
        ("archs: [generic3]\nnetworks: [tiny.yaml]\ndataflows: [xs]\n", "dataflows: unknown dataflow 'xs'"),
        ("archs: [generic3]\nnetworks: [tiny.yaml]\nobjectives: [area]\n", "objectives: unknown objective 'area'"),
        ("archs: [generic3]\nnetworks: [tiny.yaml]\ncolour: red\n", "colour: unknown key"),
        ("archs: [generic3, generic3]\nnetworks: [tiny.yaml]\n", "archs[1]: point {"),
        ("archs:\n  - {arch: generic3, colour: red}\nnetworks: [tiny.yaml]\n", "archs[0].colour: unknown key"),
        (
            "archs:\n  - arch: generic3\n    overrides:\n      levels[1].word_bits: [8]\noverrides:\n"
            "  levels[GLB].word_bits: [16]\nnetworks: [tiny.yaml]\n",
            "the same arch key as",
        ),
    ],
)
def test_bad_grids_fail_on_one_line(tmp_path: Path, text: str, expect: str) -> None:
    path = write_grid(tmp_path, text)
    with pytest.raises((SpecError, FileNotFoundError)) as info:
        load_grid(path)
    assert "\n" not in str(info.value)
    assert expect in str(info.value), str(info.value)


def test_cli_grid_error_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_grid(tmp_path, "archs: [generic3]\noverrides:\n  levels[X].word_bits: [8]\nnetworks: [tiny.yaml]\n")
    assert main(["sweep", "--grid", str(path), "--out", str(tmp_path / "r.jsonl"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "overrides.levels[X].word_bits" in err


def test_resolve_override_sets_the_right_value() -> None:
    data = load_yaml(archspecs.arch_path("generic3"))
    canon, setter = resolve_override(data, "levels[-1].fanout.x")
    assert canon == "levels[RF].fanout.x"
    setter(data, 3)
    assert arch_from_dict(data).levels[2].fanout.x == 3
    canon, setter = resolve_override(data, "compute.skip_zero_weights")  # a new key the loader checks
    setter(data, True)
    assert arch_from_dict(data).compute.skip_zero_weights is True


def test_crossbar_arch_points_take_its_default_dataflow(tmp_path: Path) -> None:
    """A grid of digital dataflows gives a crossbar arch one point with its default dataflow; the point equals
    the engine's evaluation of the overridden arch (its default profile switched to spikesim-compat)."""
    from costmodel.arch import load_arch
    from spikeloop.engine import Options, run_network

    text = (
        "archs:\n  - arch: spikeflow\n    overrides:\n      default_profile: [native, spikesim-compat]\n"
        "  - generic3\nnetworks: [tiny.yaml]\ndataflows: [os, ws]\n"
    )
    grid = load_grid(write_grid(tmp_path, text))
    assert sorted((t.point.arch, t.point.dataflow) for t in grid.tasks) == [
        ("generic3", "os"),
        ("generic3", "ws"),
        ("spikeflow", "default"),
        ("spikeflow", "default"),
    ]
    task = next(t for t in grid.tasks if dict(t.point.overrides).get("default_profile") == "spikesim-compat")
    rec = evaluate_point(task)
    assert rec["status"] == "ok", rec.get("error")
    want = run_network(
        load_arch("spikeflow"), load_network(tmp_path / "tiny.yaml"), opts=Options(profile="spikesim-compat")
    ).to_dict()
    assert rec["total_energy_pj"] == want["total_energy_pj"] and rec["latency_s"] == want["latency_s"]
    assert rec["profile"] == "spikesim-compat"


def test_bad_profile_override_value_names_the_grid_key(tmp_path: Path) -> None:
    path = write_grid(tmp_path, "archs: [spikeflow]\noverrides:\n  default_profile: [nosuch]\nnetworks: [tiny.yaml]\n")
    with pytest.raises(SpecError, match=r"overrides\.default_profile: value 'nosuch': archspecs/spikeflow"):
        load_grid(path)


# ------------------------------------------------------------------------------------ points
def test_a_point_equals_evaluate_with_the_overridden_arch(tmp_path: Path) -> None:
    grid = load_grid(write_grid(tmp_path))
    task = next(
        t
        for t in grid.tasks
        if dict(t.point.overrides)["levels[GLB].fanout"] == {"x": 2, "y": 8}
        and t.point.T == 3
        and t.point.dataflow == "ws"
    )
    rec = evaluate_point(task)
    assert rec["status"] == "ok"
    data = load_yaml(archspecs.arch_path("generic3"))
    data["levels"][1]["fanout"] = {"x": 2, "y": 8}
    data["levels"][1]["capacity_bits"] = dict(task.point.overrides)["levels[GLB].capacity_bits"]
    arch = arch_from_dict(data)
    net = load_network(tmp_path / "tiny.yaml", timesteps=3)
    flow = dataflow("ws")
    want = evaluate_network(arch, net, lambda layer: heuristic_mapping(arch, layer, flow), method="ws").to_dict()
    for k in ("total_energy_pj", "cycles", "latency_s", "area_mm2", "edp_pj_s", "breakdown_pj", "T", "method"):
        assert rec[k] == want[k], k
    assert [lr["name"] for lr in rec["layers"]] == ["conv1", "pool", "fc"]
    # and the override really changes the result: the default 4x4 array has other cycles
    other = next(
        t
        for t in grid.tasks
        if dict(t.point.overrides)["levels[GLB].fanout"] == {"x": 4, "y": 4}
        and t.point.T == 3
        and t.point.dataflow == "ws"
        and t.point.overrides[0] == task.point.overrides[0]
    )
    assert evaluate_point(other)["cycles"] != rec["cycles"]


def test_a_failed_point_is_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    # an 8-bit register file holds no tile: the heuristic mapping fails for that point only
    text = GRID.replace("levels[1].fanout: [{x: 4, y: 4}, {x: 2, y: 8}]", "levels[RF].capacity_bits: [2048, 8]")
    grid = load_grid(write_grid(tmp_path, text))
    out = tmp_path / "r.jsonl"
    with ThreadPoolExecutor(2) as ex:
        s = run_sweep(grid.tasks, out, ex)
    recs = by_key(out)
    assert len(recs) == len(grid.tasks) == s.evaluated + s.failed
    failed = [r for r in recs.values() if r["status"] == "failed"]
    assert s.failed == len(failed) == len(grid.tasks) // 2
    assert all(r["overrides"]["levels[RF].capacity_bits"] == 8 and r["error"] for r in failed)
    assert all("total_energy_pj" not in r for r in failed)
    # a rerun skips them; --retry-failed runs them again, and the file still has each point once
    with ThreadPoolExecutor(2) as ex:
        assert run_sweep(grid.tasks, out, ex).already_done == len(grid.tasks)
        again = run_sweep(grid.tasks, out, ex, retry_failed=True)
    assert again.failed == len(failed) and again.already_done == len(grid.tasks) - len(failed)
    assert by_key(out).keys() == recs.keys()


class _LosesEveryThird(Executor):
    """Runs tasks inline but loses every third one, like a worker that died."""

    def __init__(self) -> None:
        self.n = 0

    def submit(self, fn, /, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
        self.n += 1
        fut: Future = Future()
        if self.n % 3 == 0:
            fut.set_exception(OSError("worker lost"))
        else:
            fut.set_result(fn(*args, **kwargs))
        return fut


def test_points_lost_by_the_executor_are_not_recorded_and_resume(tmp_path: Path, reference) -> None:  # noqa: ANN001
    grid_path, want = reference
    tasks = load_grid(grid_path).tasks
    out = tmp_path / "r.jsonl"
    s = run_sweep(tasks, out, _LosesEveryThird())
    assert s.not_run == len(tasks) // 3 and s.evaluated == len(tasks) - s.not_run
    assert "worker lost" in s.executor_errors[0]
    with ThreadPoolExecutor(2) as ex:
        s2 = run_sweep(tasks, out, ex)
    assert s2.evaluated == s.not_run
    assert by_key(out) == want


# ------------------------------------------------------------------------------------ streaming and resume
def test_cli_local_pool_then_rerun_skips_everything(
    tmp_path: Path,
    reference,  # noqa: ANN001
    capsys: pytest.CaptureFixture[str],
) -> None:
    grid, want = reference
    out = tmp_path / "r.jsonl"
    assert main(["sweep", "--grid", str(grid), "--out", str(out), "--workers", "2", "--quiet"]) == 0
    assert "24 points: 0 already done, 24 evaluated, 0 failed" in capsys.readouterr().out
    assert by_key(out) == want
    before = out.read_bytes()
    assert main(["sweep", "--grid", str(grid), "--out", str(out), "--workers", "2", "--quiet"]) == 0
    assert "24 points: 24 already done, 0 evaluated" in capsys.readouterr().out
    assert out.read_bytes() == before


def test_resume_repairs_a_truncated_line_duplicates_and_garbage(tmp_path: Path, reference) -> None:  # noqa: ANN001
    grid, want = reference
    tasks = load_grid(grid).tasks
    full = tmp_path / "full.jsonl"
    with ThreadPoolExecutor(2) as ex:
        run_sweep(tasks, full, ex)
    lines = full.read_text().splitlines(keepends=True)
    out = tmp_path / "r.jsonl"
    # 7 complete lines, one of them twice, a corrupt line, then a record cut in the middle (no newline)
    out.write_text("".join(lines[:7]) + lines[3] + "{not json\n" + lines[7][: len(lines[7]) // 2])
    with ThreadPoolExecutor(2) as ex:
        s = run_sweep(tasks, out, ex)
    assert s.already_done == 7 and s.evaluated == len(tasks) - 7 and s.repaired == 3
    assert by_key(out) == want


def test_killed_sweep_resumes_with_every_point_exactly_once(tmp_path: Path) -> None:
    # vgg5 points take ~0.2 s each: a 12-point sweep is still running when killed after 3 lines
    text = (
        "archs: [generic3]\noverrides:\n  compute.lif_sharing: [1, 2, 4]\n  levels[GLB].capacity_bits: "
        "[524288, 1048576]\nnetworks: [vgg5-cifar10]\nT: [1]\ndataflows: [os, ws]\n"
    )
    grid = write_grid(tmp_path, text)
    out = tmp_path / "r.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "spikeloop.cli",
        "sweep",
        "--grid",
        str(grid),
        "--out",
        str(out),
        "--workers",
        "1",
        "--quiet",
    ]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    deadline = time.monotonic() + 40
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and out.read_bytes().count(b"\n") >= 3:
                break
            time.sleep(0.02)
        assert proc.poll() is None, f"sweep ended before it could be killed: {proc.stderr.read().decode()}"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its pool workers, as a crash would
        proc.wait()
        proc.stderr.close()
    done = out.read_bytes().count(b"\n")
    assert 3 <= done < 12
    with out.open("ab") as fh:  # and as if the kill had come in the middle of a write
        fh.write(b'{"point": "')
    assert main(["sweep", "--grid", str(grid), "--out", str(out), "--workers", "2", "--quiet"]) == 0
    recs = by_key(out)
    assert sorted(recs) == sorted(t.key for t in load_grid(grid).tasks)
    assert all(r["status"] == "ok" for r in recs.values())


def test_two_sweeps_cannot_write_one_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fcntl = pytest.importorskip("fcntl")
    grid = write_grid(tmp_path)
    out = tmp_path / "r.jsonl"
    with out.open("a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main(["sweep", "--grid", str(grid), "--out", str(out), "--workers", "1", "--quiet"]) == 2
    assert "another sweep is writing to this file" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ Dask
def test_dask_cluster_gives_the_local_pool_results(
    tmp_path: Path,
    reference,  # noqa: ANN001
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("distributed", reason='Dask is an optional extra: pip install "spikeloop[dask]"')
    from distributed import LocalCluster

    grid, want = reference
    local = tmp_path / "local.jsonl"
    assert main(["sweep", "--grid", str(grid), "--out", str(local), "--workers", "2", "--quiet"]) == 0
    dist = tmp_path / "dask.jsonl"
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        rc = main(
            ["sweep", "--grid", str(grid), "--out", str(dist), "--scheduler", cluster.scheduler_address, "--quiet"]
        )
        # the points really ran on the cluster: its scheduler saw one evaluate_point task per point
        ran = {t[0] for t in cluster.scheduler.transition_log if t[2] == "memory" and "evaluate_point" in str(t[0])}
        assert len(ran) == len(want)
    assert rc == 0, capsys.readouterr().err
    assert "24 evaluated, 0 failed" in capsys.readouterr().out
    assert by_key(dist) == by_key(local) == want


def test_unreachable_scheduler_is_a_user_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("distributed", reason='Dask is an optional extra: pip install "spikeloop[dask]"')
    import socket

    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    grid = write_grid(tmp_path)
    rc = main(
        [
            "sweep",
            "--grid",
            str(grid),
            "--out",
            str(tmp_path / "r.jsonl"),
            "--quiet",
            "--scheduler",
            f"tcp://127.0.0.1:{port}",
            "--connect-timeout",
            "1",
        ]
    )
    assert rc == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ Pareto
def test_pareto_mask_by_hand() -> None:
    v = np.array([[1, 5, 1], [2, 2, 1], [3, 3, 1], [1, 5, 1], [5, 1, 2], [5, 1, 1]], dtype=float)
    # [3,3,1] is dominated by [2,2,1]; [5,1,2] by [5,1,1]; the two equal [1,5,1] both stay
    assert pareto_mask(v).tolist() == [True, True, False, True, False, True]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(*[st.integers(0, 6)] * 3), min_size=1, max_size=25))
def test_pareto_front_is_exactly_the_non_dominated_set(points: list[tuple[int, int, int]]) -> None:
    v = np.array(points, dtype=float)
    mask = pareto_mask(v)

    def dominates(a: np.ndarray, b: np.ndarray) -> bool:
        return bool(np.all(a <= b) and np.any(a < b))

    for i in range(len(v)):
        dominated = any(dominates(v[j], v[i]) for j in range(len(v)))
        assert mask[i] == (not dominated)
    assert mask.any()


def test_pareto_groups_by_workload_and_skips_failures() -> None:
    def rec(net: str, t: int, e: float, lat: float, a: float, status: str = "ok") -> dict[str, Any]:
        return {
            "point": f"{net}{t}{e}{lat}{a}",
            "network": net,
            "T": t,
            "status": status,
            "arch": "a",
            "dataflow": "os",
            "total_energy_pj": e,
            "latency_s": lat,
            "area_mm2": a,
        }

    groups = pareto_fronts(
        [
            rec("n", 1, 1, 9, 1),
            rec("n", 1, 2, 2, 1),
            rec("n", 1, 3, 3, 1),
            rec("n", 2, 9, 9, 9),
            rec("n", 1, 0, 0, 0, status="failed"),
        ]
    )
    assert [(g.network, g.T, len(g.records), len(g.front)) for g in groups] == [("n", 1, 3, 2), ("n", 2, 1, 1)]
    assert [r["total_energy_pj"] for r in groups[0].front] == [1, 2]


def test_cli_pareto_prints_and_plots(tmp_path: Path, reference, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    grid, want = reference
    out = tmp_path / "r.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in want.values()))
    png = tmp_path / "front.png"
    assert main(["sweep", "--pareto", str(out), "--png", str(png), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "tiny.yaml, T = 1:" in text and "tiny.yaml, T = 3:" in text and "Pareto front" in text
    groups = pareto_fronts(want.values())
    for g in groups:
        for r in g.front:
            assert r["point"] in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["sweep", "--pareto", str(tmp_path / "none.jsonl"), "--quiet"]) == 2


# ------------------------------------------------------------------------------------ linked overrides
LINKED = """\
archs: [generic3]
overrides:
  levels[GLB].fanout: [{x: 4, y: 4}, {x: 2, y: 8}]
linked:
  - levels[GLB].capacity_bits: [524288, 1048576, 2097152]
    levels[GLB].area_um2: [400000.0, 800000.0, 1600000.0]
    levels[GLB].static_pj_per_cycle: [2.0, 4.0, 8.0]
networks: [tiny.yaml]
T: [1]
dataflows: [os]
"""


def test_linked_values_move_together_and_the_group_is_one_axis(tmp_path: Path) -> None:
    grid = load_grid(write_grid(tmp_path, LINKED))
    assert len(grid.tasks) == 2 * 3  # fanouts x linked steps, not 2 x 3 x 3 x 3
    seen = set()
    for task in grid.tasks:
        ov = dict(task.point.overrides)
        assert list(ov) == ["levels[GLB].fanout", "levels[GLB].capacity_bits", "levels[GLB].area_um2",
                            "levels[GLB].static_pj_per_cycle"]  # fmt: skip
        step = {524288: 0, 1048576: 1, 2097152: 2}[ov["levels[GLB].capacity_bits"]]
        assert ov["levels[GLB].area_um2"] == 400000.0 * 2**step
        assert ov["levels[GLB].static_pj_per_cycle"] == 2.0 * 2**step
        glb = arch_from_dict(task.arch_data).levels[1]  # the arch the worker builds carries all three values
        assert (glb.capacity_bits, glb.area_um2, glb.static_pj_per_cycle) == (
            ov["levels[GLB].capacity_bits"],
            ov["levels[GLB].area_um2"],
            ov["levels[GLB].static_pj_per_cycle"],
        )
        seen.add((canonical_fanout(ov["levels[GLB].fanout"]), step))
    assert len(seen) == 6


def canonical_fanout(fanout: dict[str, int]) -> str:
    return f"{fanout['x']}x{fanout['y']}"


def test_linked_points_price_the_linked_area(tmp_path: Path) -> None:
    grid = load_grid(write_grid(tmp_path, LINKED))
    recs = [evaluate_point(t) for t in grid.tasks if dict(t.point.overrides)["levels[GLB].fanout"]["x"] == 4]
    assert all(r["status"] == "ok" for r in recs), recs
    area = {r["overrides"]["levels[GLB].capacity_bits"]: r["area_mm2"] for r in recs}
    # the GLB's area is the only one that moves: +400,000 um^2, then +800,000 um^2
    assert area[1048576] - area[524288] == pytest.approx(0.4, rel=1e-9)
    assert area[2097152] - area[1048576] == pytest.approx(0.8, rel=1e-9)


def test_per_arch_linked_groups(tmp_path: Path) -> None:
    text = (
        "archs:\n  - arch: generic3\n    linked:\n      - levels[GLB].capacity_bits: [524288, 1048576]\n"
        "        levels[GLB].area_um2: [1.0, 2.0]\n  - generic3.yaml\nnetworks: [tiny.yaml]\nT: [1]\n"
    )
    (tmp_path / "generic3.yaml").write_text(archspecs.arch_path("generic3").read_text())
    grid = load_grid(write_grid(tmp_path, text))
    own = [dict(t.point.overrides) for t in grid.tasks if t.point.arch == "generic3"]
    other = [dict(t.point.overrides) for t in grid.tasks if t.point.arch == "generic3.yaml"]
    assert own == [{"levels[GLB].capacity_bits": 524288, "levels[GLB].area_um2": 1.0},
                   {"levels[GLB].capacity_bits": 1048576, "levels[GLB].area_um2": 2.0}]  # fmt: skip
    assert other == [{}]


def test_linked_estimate_capacity_moves_with_the_level(tmp_path: Path) -> None:
    """An explicit estimate.capacity_bits must agree with the level's: alone it is refused (naming the grid key),
    linked with the level's capacity_bits it is the same point as the defaulted estimate."""
    variant = archspecs.ROOT / "variants" / "sata-estimate.yaml"
    alone = (f"archs: [{variant}]\noverrides:\n  levels[GLB-W].estimate.capacity_bits: [589824]\n"
             "networks: [tiny.yaml]\nT: [1]\n")  # fmt: skip
    with pytest.raises(
        SpecError,
        match=r"overrides\.levels\[GLB-W\]\.estimate\.capacity_bits: value 589824: .*"
        r"levels\[1\]\.estimate\.capacity_bits: 589824 differs from the level's",
    ):
        load_grid(write_grid(tmp_path, alone))
    linked = (f"archs: [{variant}]\nlinked:\n  - levels[GLB-W].capacity_bits: [589824, 2359296]\n"
              "    levels[GLB-W].estimate.capacity_bits: [589824, 2359296]\nnetworks: [tiny.yaml]\nT: [1]\n"
              "dataflows: [time-batched]\n")  # fmt: skip
    plain = (f"archs: [{variant}]\noverrides:\n  levels[GLB-W].capacity_bits: [589824, 2359296]\n"
             "networks: [tiny.yaml]\nT: [1]\ndataflows: [time-batched]\n")  # fmt: skip
    a = [evaluate_point(t) for t in load_grid(write_grid(tmp_path, linked, "a.yaml")).tasks]
    b = [evaluate_point(t) for t in load_grid(write_grid(tmp_path, plain, "b.yaml")).tasks]
    assert [r["status"] for r in a + b] == ["ok"] * 4
    for ra, rb in zip(a, b, strict=True):
        assert ra["estimates"]["GLB-W"] == rb["estimates"]["GLB-W"]
        assert (ra["area_mm2"], ra["total_energy_pj"]) == (rb["area_mm2"], rb["total_energy_pj"])
    assert a[1]["area_mm2"] > a[0]["area_mm2"]


@pytest.mark.parametrize(
    ("linked", "expect"),
    [
        ("linked:\n  levels[GLB].capacity_bits: [1]", "linked: expected a non-empty list of groups"),
        ("linked: []", "linked: expected a non-empty list of groups"),
        ("linked:\n  - [1, 2]", "linked[0]: expected a mapping"),
        ("linked:\n  - levels[GLB].capacity_bits: [524288]", "linked[0]: a linked group needs at least two paths"),
        (
            "linked:\n  - levels[GLB].capacity_bits: [524288, 1048576]\n    levels[GLB].area_um2: [1.0]",
            "linked[0].levels[GLB].area_um2: 1 value, but levels[GLB].capacity_bits has 2",
        ),
        (
            "linked:\n  - levels[GLB].capacity_bits: 524288\n    levels[GLB].area_um2: [1.0]",
            "linked[0].levels[GLB].capacity_bits: expected a non-empty list of values",
        ),
        (
            "linked:\n  - levels[GLB].capacity_bits: [524288, 524288]\n    levels[GLB].area_um2: [1.0, 1.0]",
            "linked[0]: step 1 (levels[GLB].capacity_bits = 524288, levels[GLB].area_um2 = 1.0) repeats step 0",
        ),
        (
            "linked:\n  - levels[GLB].capacity_bits: [524288, 0]\n    levels[GLB].area_um2: [1.0, 2.0]",
            "linked[0]: step 1 (levels[GLB].capacity_bits = 0, levels[GLB].area_um2 = 2.0): archspecs/generic3.yaml:"
            " levels[1].capacity_bits",
        ),
        (
            "linked:\n  - levels[GLB].capacity_bits: [524288]\n    levels[GLB].nosuch.x: [1]",
            "linked[0].levels[GLB].nosuch.x: levels[GLB].nosuch: no such key",
        ),
        (
            "overrides:\n  compute.lif_sharing: [1]\nlinked:\n  - levels[GLB].capacity_bits: [524288]\n"
            "    compute.lif_sharing: [2]",
            "linked[0].compute.lif_sharing: the same arch key as",
        ),
    ],
)
def test_bad_linked_groups_name_the_grid_key(tmp_path: Path, linked: str, expect: str) -> None:
    path = write_grid(tmp_path, f"archs: [generic3]\nnetworks: [tiny.yaml]\n{linked}\n")
    with pytest.raises(SpecError) as info:
        load_grid(path)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{path}: "), msg
    assert expect in msg, msg


def test_cli_linked_error_exits_2_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_grid(
        tmp_path,
        "archs: [generic3]\nnetworks: [tiny.yaml]\nlinked:\n"
        "  - levels[GLB].capacity_bits: [524288, 1048576]\n    levels[GLB].area_um2: [1.0]\n",
    )
    assert main(["sweep", "--grid", str(path), "--out", str(tmp_path / "r.jsonl"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "linked[0].levels[GLB].area_um2: 1 value" in err, err


# ------------------------------------------------------------------------------------ Pareto axes, groups, labels
def _rec(point: str, t: int, e: float, lat: float, a: float, *, flow: str = "os", ov: Any = None) -> dict[str, Any]:
    return {
        "point": point,
        "arch": "a.yaml",
        "overrides": {"levels[GLB].capacity_bits": ov} if ov is not None else {},
        "network": "n",
        "T": t,
        "dataflow": flow,
        "objective": None,
        "status": "ok",
        "total_energy_pj": e,
        "latency_s": lat,
        "area_mm2": a,
        "edp_pj_s": e * lat,
    }


DESIGNS = [  # p2 (T = 4) is on its T's front but dominated by p1 (T = 1); p4 is the only small-area point
    _rec("p1", 1, 1.0, 1.0, 2.0, ov=524288),
    _rec("p2", 4, 1.5, 1.5, 2.0, ov=524288),
    _rec("p3", 1, 2.0, 0.5, 3.0, ov=1048576, flow="time-batched"),
    _rec("p4", 4, 3.0, 3.0, 1.0, ov=1048576, flow="time-batched"),
]


def test_group_network_makes_T_a_design_axis() -> None:
    from spikeloop.sweep import GroupBy

    default = pareto_fronts(DESIGNS)  # per (network, T): every T has its own front
    assert [(g.T, [r["point"] for r in g.front]) for g in default] == [(1, ["p1", "p3"]), (4, ["p2", "p4"])]
    (one,) = pareto_fronts(DESIGNS, group=[GroupBy.NETWORK])  # T competes: p2 is dominated by p1
    assert one.network == "n" and one.T is None and one.title == "n"
    assert [r["point"] for r in one.front] == ["p1", "p3", "p4"]
    assert [c.header for c in one.columns] == ["levels[GLB].capacity_bits", "dataflow", "T"]


def test_axes_choose_what_is_minimised() -> None:
    from spikeloop.sweep import Metric

    (g,) = pareto_fronts(DESIGNS, axes=[Metric.ENERGY, Metric.AREA], group=["network"])
    assert [r["point"] for r in g.front] == ["p1", "p4"]  # without latency p3 is dominated by p1
    (g,) = pareto_fronts(DESIGNS, axes=["latency", "edp"], group=["network"])
    assert [r["point"] for r in g.front] == ["p3"]
    assert g.axes == (Metric.LATENCY, Metric.EDP)


@pytest.mark.parametrize(
    ("axes", "group", "expect"),
    [
        ("energy", "network", "a front needs at least two axes"),
        ("energy,power", "network", "unknown axis 'power'"),
        ("energy,energy", "network", "axis 'energy' is listed twice"),
        ("energy,area", "network,layer", "unknown group field 'layer'"),
        ("energy,area", "T,T", "group field 'T' is listed twice"),
    ],
)
def test_bad_axes_and_groups_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], axes: str, group: str, expect: str
) -> None:
    from spikeloop.sweep import parse_axes, parse_group

    with pytest.raises(ValueError, match=expect):
        parse_axes(axes)
        parse_group(group)
    out = tmp_path / "r.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in DESIGNS))
    rc = main(["sweep", "--pareto", str(out), "--axes", axes, "--group", group, "--png", str(tmp_path / "p.png")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and expect in err, err


def test_axes_and_group_go_with_pareto(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    grid = write_grid(tmp_path)
    assert main(["sweep", "--grid", str(grid), "--group", "network", "--quiet"]) == 2
    assert "--group goes with --pareto" in capsys.readouterr().err


def test_table_and_plot_number_and_label_the_front_points(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from spikeloop.sweep import plot_pareto, render_pareto

    groups = pareto_fronts(DESIGNS, group=["network"])
    text = render_pareto(groups)
    assert "n: 3 of 4 points on the energy / latency / area Pareto front" in text
    assert "design axes: levels[GLB].capacity_bits, dataflow, T; every point: arch a.yaml" in text
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines() if line.startswith("| ")]
    assert rows[0][:4] == ["#", "levels[GLB].capacity_bits", "dataflow", "T"]
    assert [r[:4] for r in rows[1:]] == [["1", "524288", "os", "1"], ["2", "1048576", "time-batched", "1"],
                                         ["3", "1048576", "time-batched", "4"]]  # fmt: skip
    assert groups[0].labels() == [
        "GLB.capacity_bits=64 KiB, os, T=1",
        "GLB.capacity_bits=128 KiB, time-batched, T=1",
        "GLB.capacity_bits=128 KiB, time-batched, T=4",
    ]
    png = tmp_path / "front.png"
    fig = plot_pareto(groups, png, title="t")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_ylabel() for ax in axes] == ["latency per inference (s)", "chip area (mm²)"]
    for ax in axes:  # every front point numbered in every panel
        assert sorted(t.get_text() for t in ax.texts) == ["1", "2", "3"]
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert legend == ["dominated", "front, T = 1", "front, T = 4", "os", "time-batched"]
    block = "\n".join(t.get_text() for sub in fig.subfigs for t in sub.texts)
    for i, lab in enumerate(groups[0].labels(), 1):
        assert f"{i}  {lab}" in block
    out = tmp_path / "r.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in DESIGNS))
    assert main(["sweep", "--pareto", str(out), "--axes", "energy,latency,area", "--group", "network",
                 "--png", str(png), "--quiet"]) == 0  # fmt: skip
    assert capsys.readouterr().out.strip() == text


def test_linked_paths_fold_into_one_column() -> None:
    """Paths whose values move one to one (a linked group) are one column, headed by the first path and +N."""
    from spikeloop.sweep import render_pareto

    recs = []
    for i, (cap, area, flow) in enumerate([(1, 10.0, "os"), (2, 20.0, "os"), (1, 10.0, "ws"), (2, 20.0, "ws")]):
        r = _rec(f"q{i}", 1, 4.0 - i, float(i + 1), area, flow=flow)
        r["overrides"] = {"levels[GLB].capacity_bits": cap, "levels[GLB].area_um2": area}
        recs.append(r)
    (g,) = pareto_fronts(recs)
    assert [c.header for c in g.columns] == ["levels[GLB].capacity_bits +1", "dataflow"]
    assert "| # | levels[GLB].capacity_bits +1 | dataflow |" in render_pareto([g])
    assert g.labels() == ["GLB.capacity_bits=2, ws", "GLB.capacity_bits=1, ws", "GLB.capacity_bits=2, os",
                          "GLB.capacity_bits=1, os"]  # fmt: skip
