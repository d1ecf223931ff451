"""``spikeloop accuracy`` and ``spikeloop train-reference``: flags, N chips, any network, one-line errors."""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import json  # noqa: E402
from dataclasses import replace  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

from crossbar.experiments import Experiment, accuracy, default_settings, run_accuracy  # noqa: E402
from crossbar.mapping import Encoding  # noqa: E402
from crossbar.model_io import FILLED_MODEL, read_npz  # noqa: E402
from spikeloop.cli import main  # noqa: E402


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["accuracy", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ir-drop", "nan"], "argument --ir-drop: expected a finite number >= 0, got 'nan'"),
        (["--ir-drop", "inf"], "argument --ir-drop: expected a finite number >= 0, got 'inf'"),
        (["--variation", "-0.1"], "argument --variation: expected a finite number >= 0, got '-0.1'"),
        (["--read-noise", "nan"], "argument --read-noise: expected a finite number >= 0, got 'nan'"),
        (["--adc-bits", "2.5"], "argument --adc-bits: expected an integer >= 0, got '2.5'"),
        (["--adc-bits", "-1"], "argument --adc-bits: expected an integer >= 0, got '-1'"),
        (["--dt-threshold", "0"], "argument --dt-threshold: expected a normalized entropy threshold in (0, 1]"),
        (["--dt-threshold", "1.5"], "argument --dt-threshold: expected a normalized entropy threshold in (0, 1]"),
        (["--dt-threshold", "nan"], "argument --dt-threshold: expected a normalized entropy threshold in (0, 1]"),
        (["--chips", "0"], "argument --chips: expected a positive integer, got '0'"),
        (["--chips", "2.5"], "argument --chips: expected a positive integer, got '2.5'"),
        (["--seed", "-3"], "argument --seed: expected an integer >= 0, got '-3'"),
        (["--sweep", "--wires", "1,nan"], "argument --wires: expected comma-separated finite numbers >= 0"),
        (["--wires", "1,2"], "--wires: only with --sweep"),
        (["--arch", "generic3"], "generic3.yaml: device: required key is missing (arch 'generic3' has no device:"),
        (["--arch", "sata"], "sata.yaml: device: required key is missing (arch 'sata' has no device:"),
        (["--arch", "nosuch"], "--arch: unknown architecture 'nosuch'"),
        (["--weights", "w.npz"], "--weights: needs --network NET.yaml as well"),
        (["--model", "m.npz", "--network", "n.yaml", "--weights", "w.npz"], "--model: give either --model"),
        (["--data", "/nonexistent/in.npz"], "/nonexistent/in.npz: no such inputs file"),
    ],
)
def test_bad_flags_are_one_line_errors_naming_the_flag(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1, err


def test_model_flag_on_files_that_are_not_models(tmp_path, capsys):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    code, _, err = run(capsys, "--model", str(text))
    assert code == 2 and f"{text}: not a .npz archive" in err and "allow_pickle" not in err
    plain = tmp_path / "plain.npz"
    np.savez(plain, **{"fc.weight": np.zeros((10, 64), np.float32)})
    code, _, err = run(capsys, "--model", str(plain))
    assert code == 2 and "plain.npz: no __meta__ entry, so this is a plain state dict" in err
    code, _, err = run(capsys, "--network", str(text), "--weights", str(plain))
    assert code == 2 and err.count("\n") == 1 and "notes.txt" in err


def test_shipped_arch_name_resolves(capsys):
    code, out, _ = run(capsys, "--arch", "spikeflow", "--adc-bits", "0", "--variation", "0", "--read-noise", "0")
    assert code == 0 and "| offset | 1 |" in out


def test_chips_json_records_seeds_and_interval(tmp_path, capsys):
    out = tmp_path / "acc.json"
    code, text, _ = run(
        capsys, "--ir-drop", "2.5", "--seed", "1", "--chips", "3", "--dt-threshold", "0.1", "--json", str(out)
    )
    assert code == 0
    doc = json.loads(out.read_text())
    assert [c["seed"] for c in doc["chips"]] == [1, 2, 3] and doc["settings"]["seeds"] == [1, 2, 3]
    accs = [c["accuracy"] for c in doc["chips"]]
    ci = doc["crossbar_accuracy_interval"]
    assert doc["crossbar_accuracy"] == pytest.approx(np.mean(accs))
    assert ci["low"] <= doc["crossbar_accuracy"] <= ci["high"] and ci["chips"] == 3 and "Student-t" in ci["method"]
    assert sum(doc["dt_snn"]["distribution"].values()) == pytest.approx(1.0)
    assert len(doc["dt_snn"]["per_chip"]) == 3
    assert "mean [95 % interval] over 3 chips" in text and "seed 1:" in text and "seed 3:" in text
    # each chip is the single-chip run with its seed
    exp = Experiment()
    s = default_settings(encoding=Encoding.OFFSET, r_row_ohm=2.5, r_col_ohm=2.5)
    singles = [run_accuracy(replace(s, seed=k), experiment=exp).crossbar_accuracy for k in (1, 2, 3)]
    assert singles == pytest.approx(accs)


def test_network_and_weights_with_user_inputs(tmp_path, capsys):
    state = read_npz(FILLED_MODEL)
    meta = json.loads(str(state.pop("__meta__")))
    net, weights, inputs = tmp_path / "mlp.yaml", tmp_path / "mlp.npz", tmp_path / "in.npz"
    net.write_text(yaml.safe_dump(meta["network"]))
    np.savez(weights, **state)
    from crossbar.data import digits_split

    split = digits_split()
    np.savez(inputs, x=split.x_test[:90], y=split.y_test[:90], x_train=split.x_train[:200])
    out = tmp_path / "r.json"
    code, text, _ = run(
        capsys,
        "--network",
        str(net),
        "--weights",
        str(weights),
        "--data",
        str(inputs),
        "--encoding",
        "hrs",
        "--bn-adapt",
        "--chips",
        "2",
        "--json",
        str(out),
    )
    assert code == 0, text
    doc = json.loads(out.read_text())
    assert doc["model"] == str(weights) and doc["data"] == str(inputs) and doc["settings"]["bn_adapt"]
    assert 0.8 <= doc["crossbar_accuracy"] <= 1.0 and len(doc["chips"]) == 2
    assert "90 test inputs" in text


def test_sweep_prints_intervals_fill_and_current(tmp_path, capsys):
    out = tmp_path / "s.json"
    code, text, _ = run(
        capsys,
        "--model",
        str(FILLED_MODEL),
        "--sweep",
        "--wires",
        "0,10",
        "--chips",
        "2",
        "--quiet",
        "--json",
        str(out),
    )
    assert code == 0
    doc = json.loads(out.read_text())
    rows = [r for r in doc["sweep"] if r["kind"] == "ir_drop"]
    assert {(r["encoding"], r["wire_ohm"]) for r in rows} == {(e.value, w) for e in Encoding for w in (0.0, 10.0)}
    for r in rows:
        assert r["accuracy_interval"]["low"] <= r["accuracy"] <= r["accuracy_interval"]["high"]
    assert doc["cell_fill"]["fraction"] == pytest.approx((6 * 4096 + 2 * 640) / (8 * 4096))
    assert [c["wire_ohm"] for c in doc["current_ratio"]] == [10.0]
    assert "2 chips (seeds 0-1); cells are mean [95 % interval]" in text and "Cell fill: 78.9 %" in text
    assert "Ideal column current kept through the wires" in text


def test_digits_spread_over_chips_is_reported():
    """The issue's case: offset at 2.5 ohm varies from chip to chip; the interval shows it."""
    exp = Experiment()
    res = run_accuracy(default_settings(r_row_ohm=2.5, r_col_ohm=2.5, seed=1), experiment=exp, chips=3)
    assert res.seeds == (1, 2, 3) and len(set(res.per_chip)) > 1
    assert res.crossbar.low < min(res.per_chip) <= max(res.per_chip) < res.crossbar.high
    assert accuracy(exp.software_outputs(4), exp.split.y_test) >= max(res.per_chip) - 0.02


def test_train_reference_mlp_one_epoch(tmp_path, capsys):
    pytest.importorskip("torch")
    out = tmp_path / "mlp.npz"
    assert main(["train-reference", "--model", "digits-mlp", "--epochs", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    torch_acc, numpy_acc = (float(p.split(" %")[0].split()[-1]) for p in text.split("), ")[:2])
    assert torch_acc == numpy_acc
    arrays = read_npz(out)
    assert {"fc1.bn.running_mean", "fc2.bn.weight", "fc3.bias"} <= set(arrays)
    meta = json.loads(str(arrays["__meta__"]))
    assert meta["network"]["layers"][1]["name"] == "fc2" and meta["train"]["model"] == "digits-mlp"
    assert main(["train-reference", "--model", "vgg"]) == 2
    assert "--model: expected one of digits-cnn, digits-mlp, got 'vgg'" in capsys.readouterr().err
