"""``spikeloop profile`` and :func:`crossbar.activity.measure_activity`: measured densities equal what the crossbar
executor sees, the cost model prices them, the shipped digits networks are profile output, bad input is one line."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from costmodel.network import load_network
from costmodel.types import LayerKind
from crossbar import equations as eq
from crossbar.activity import Activity, measure_activity
from crossbar.data import digits_split
from crossbar.model_io import FILLED_MODEL, REFERENCE_MODEL, load_model, read_npz
from crossbar.snn import (
    LIF,
    BatchNorm,
    Conv,
    Flatten,
    Linear,
    Pool,
    SNNModel,
    SoftwareBackend,
    forward,
    im2col,
    input_densities,
    pool2d,
)
from spikeloop.cli import main
from spikeloop.profile import network_for_model, network_yaml

SAMPLES = 64
TOL = 5e-7  # the file holds densities rounded to 6 decimals


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return digits_split().x_test[:SAMPLES]


@pytest.fixture(scope="module")
def cnn() -> SNNModel:
    return load_model(REFERENCE_MODEL)


def profile(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["profile", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def layers_of(path: Path) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in yaml.safe_load(path.read_text())["layers"]}


# ------------------------------------------------------------------ an independent executor, layer by layer
def window_counts(x: np.ndarray, kernel: tuple[int, int], stride: int, padding: int) -> tuple[int, int]:
    """(non-zero, all) inputs over the kernel windows of an NHWC map, from how many windows cover each pixel."""
    n, h, w, c = x.shape
    (kh, kw), s, pad = kernel, stride, padding
    p, q = (h + 2 * pad - kh) // s + 1, (w + 2 * pad - kw) // s + 1
    cover = np.zeros((h, w), dtype=np.int64)
    for i in range(p):
        for j in range(q):
            r0, c0 = i * s - pad, j * s - pad
            cover[max(r0, 0) : max(r0 + kh, 0), max(c0, 0) : max(c0 + kw, 0)] += 1
    nonzero = int(((x != 0).sum(axis=(0, 3)) * cover).sum())
    return nonzero, n * p * q * kh * kw * c


def densities_layer_by_layer(model: SNNModel, images: np.ndarray, steps: int) -> dict[str, list[float]]:
    """Run the model one layer at a time with the crossbar's software matmuls and count each layer's inputs."""
    backend = SoftwareBackend(model, bits=model.weight_bits)
    counts: dict[str, np.ndarray] = {}
    membranes: dict[int, np.ndarray] = {}
    pools = 0
    for t in range(steps):
        x = np.ascontiguousarray(images.astype(np.float32).transpose(0, 2, 3, 1))
        w_index = 0
        for li, layer in enumerate(model.layers):
            if isinstance(layer, Conv):
                k = tuple(int(d) for d in layer.weight.shape[2:])
                counts.setdefault(layer.name, np.zeros((steps, 2)))[t] += window_counts(
                    x, (k[0], k[1]), layer.stride, layer.padding
                )
                cols, (n, p, q) = im2col(x, k[0], k[1], layer.stride, layer.padding)
                x = backend.matmul(w_index, cols, t).reshape(n, p, q, -1)
                x = x if layer.bias is None else x + layer.bias
                w_index += 1
            elif isinstance(layer, Linear):
                counts.setdefault(layer.name, np.zeros((steps, 2)))[t] += (np.count_nonzero(x), x.size)
                x = backend.matmul(w_index, x, t)
                x = x if layer.bias is None else x + layer.bias
                w_index += 1
            elif isinstance(layer, BatchNorm):
                x = eq.batchnorm(x, layer.mean, layer.var, layer.gamma, layer.beta, layer.eps)
            elif isinstance(layer, LIF):
                nrn = layer.neuron
                membranes[li], x = eq.lif_step(
                    membranes.get(li, np.zeros_like(x)), x, nrn.leak, nrn.threshold, nrn.reset
                )
            elif isinstance(layer, Pool):
                pools += t == 0
                name = layer.name or f"pool{pools}"
                counts.setdefault(name, np.zeros((steps, 2)))[t] += window_counts(
                    x, layer.kernel, layer.stride, layer.padding
                )
                x = pool2d(x, layer)
            else:
                assert isinstance(layer, Flatten)
                x = np.ascontiguousarray(x.transpose(0, 3, 1, 2)).reshape(x.shape[0], -1)
    return {name: list(c[:, 0] / c[:, 1]) for name, c in counts.items()}


class CountingBackend:
    """Wraps a matmul backend and counts the non-zero entries of what each call receives, per layer and step."""

    def __init__(self, inner: Any, layers: int, steps: int) -> None:
        self.inner = inner
        self.counts = np.zeros((layers, steps, 2))

    def matmul(self, index: int, cols: np.ndarray, t: int) -> np.ndarray:
        self.counts[index, t] += (np.count_nonzero(cols), cols.size)
        return self.inner.matmul(index, cols, t)


# ------------------------------------------------------------------------------------------ (1) densities
def test_profile_of_the_digits_cnn_writes_the_densities_the_executor_sees(tmp_path, capsys, images, cnn):
    out = tmp_path / "digits-measured.yaml"
    code, text, err = profile(capsys, "--samples", str(SAMPLES), "-T", "4", "--out", str(out))
    assert code == 0, err
    written = layers_of(out)
    expected = densities_layer_by_layer(cnn, images, 4)
    assert set(written) == set(expected) == {"conv1", "conv2", "pool1", "fc"}
    for name, per_t in expected.items():
        assert written[name]["spike_density_per_t"] == pytest.approx(per_t, abs=TOL), name
    # what the matmul backend (the crossbar's entry point) receives, counted by a wrapper around it
    wrapped = CountingBackend(SoftwareBackend(cnn, bits=cnn.weight_bits), len(cnn.weight_layers()), 4)
    forward(cnn, images, wrapped, timesteps=4)
    for index, layer in enumerate(cnn.weight_layers()):
        seen = wrapped.counts[index, :, 0] / wrapped.counts[index, :, 1]
        assert written[layer.name]["spike_density_per_t"] == pytest.approx(list(seen), abs=TOL)
    # weight densities: non-zero fraction of the 4-bit weights
    for layer in cnn.weight_layers():
        w = np.asarray(layer.weight, dtype=np.float64)
        w = w.reshape(w.shape[0], -1)
        q = np.clip(np.round(w / (np.abs(w).max(axis=1, keepdims=True) / 7)), -7, 7)
        assert written[layer.name]["weight_density"] == pytest.approx(np.count_nonzero(q) / q.size, abs=TOL)
    # the densities move over the timesteps (LIF membranes charge up): a per-step measurement, not a copy of one value
    assert len(set(written["conv2"]["spike_density_per_t"])) == 4
    net = load_network(str(out))
    assert net.timesteps == 4 and [la.name for la in net.layers] == ["conv1", "conv2", "pool1", "fc"]
    source = net.source
    assert f"on {SAMPLES} images of the digits test split" in source and "T = 4" in source
    assert "conv1 reads the analog network input (direct coding)" in source
    assert "fc reads non-binary values" in source and "Not measured: none" in source
    assert "| conv2 | conv   | spikes" in text and f"wrote {out}" in text


def test_measure_activity_api(images, cnn):
    act = measure_activity(cnn, images, 3)
    assert isinstance(act, Activity) and act.timesteps == 3 and act.samples == SAMPLES
    assert act.names == ("conv1", "conv2", "pool1", "fc")
    with pytest.raises(dataclasses.FrozenInstanceError):
        act.samples = 1  # type: ignore[misc]
    with pytest.raises(KeyError, match="no measured layer named 'conv9'"):
        act["conv9"]
    assert act["conv2"].density_per_t == pytest.approx(densities_layer_by_layer(cnn, images, 3)["conv2"], abs=1e-12)
    assert act["conv1"].reads_input and not act["conv1"].spikes and act["conv2"].spikes and not act["fc"].spikes
    assert act["pool1"].weight_density is None and 0 < act["fc"].weight_density < 1
    # the map density counts every input once; the window density weighs border pixels less (zero padding)
    assert act["conv1"].mean_map_density == pytest.approx(np.count_nonzero(images) / images.size)
    assert act["conv1"].mean_density < act["conv1"].mean_map_density
    # input_densities (the crossbar model's mean densities) is the mean over T of the same measurement
    assert input_densities(cnn, images)["conv2"] == pytest.approx(measure_activity(cnn, images).layers[1].mean_density)
    with pytest.raises(ValueError, match="timesteps: expected a positive integer, got 0"):
        measure_activity(cnn, images, 0)


def test_through_a_simulated_chip_the_densities_are_what_its_crossbars_receive(images, cnn):
    from crossbar.circuit import GeffCache
    from crossbar.experiments import default_settings
    from crossbar.mapping import CrossbarBackend, calibrate_adc, program_chip

    settings = default_settings(r_row_ohm=0.0, r_col_ohm=0.0, seed=3)
    chip = program_chip(cnn, settings, GeffCache(), calibrate_adc(cnn, settings, images[:32]))
    act = measure_activity(cnn, images, backend=CrossbarBackend(chip), weight_bits=settings.weight_bits)
    wrapped = CountingBackend(CrossbarBackend(chip), len(cnn.weight_layers()), 4)  # same seed: same noise draws
    forward(cnn, images, wrapped)
    for index, layer in enumerate(cnn.weight_layers()):
        seen = wrapped.counts[index, :, 0] / wrapped.counts[index, :, 1]
        assert act[layer.name].density_per_t == pytest.approx(list(seen), abs=1e-12)
    software = measure_activity(cnn, images)
    assert act["conv1"].density_per_t == software["conv1"].density_per_t  # the input does not go through a chip
    assert act["fc"].density_per_t != software["fc"].density_per_t  # noise and the ADC change the spikes


def test_crossbar_path_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "chip.yaml"
    argv = ["--arch", "spikeflow", "--ir-drop", "0", "--seed", "1", "--samples", "16", "--out", str(out), "--quiet"]
    code, text, err = profile(capsys, *argv)
    assert code == 0, err
    assert text.count("\n") == 1 and text.startswith(f"wrote {out}")
    source = load_network(str(out)).source
    assert "one simulated crossbar chip of spikeflow: offset encoding, 4-bit weights, wires 0 ohm" in source
    assert "seed 1" in source and "on 16 images" in source


# ------------------------------------------------------------------------------ shipped networks are profiles
@pytest.mark.parametrize(("name", "path"), [("digits-cnn", REFERENCE_MODEL), ("digits-mlp", FILLED_MODEL)])
def test_shipped_digits_networks_hold_their_measured_densities(name, path):
    model = load_model(path)
    net = load_network(name)
    act = measure_activity(model, digits_split().x_test)
    assert [layer.name for layer in net.layers] == list(act.names)
    for layer in net.layers:
        la = act[layer.name]
        assert layer.spike_density_per_t == pytest.approx(la.density_per_t, abs=TOL)
        if layer.has_weights:
            assert layer.weight_density == pytest.approx(la.weight_density, abs=TOL)
    for layer in model.weight_layers():  # the network's shapes are the model's
        nl = next(x for x in net.layers if x.name == layer.name)
        k, c, r, s = nl.bounds[2], nl.bounds[3], nl.bounds[6], nl.bounds[7]
        assert ((k, c, r, s) if nl.kind is LayerKind.CONV else (k, c)) == tuple(layer.weight.shape)
    assert net.timesteps == model.timesteps == 4 and "on 360 images of the digits test split" in net.source


def test_digits_cnn_network_matches_the_model_shapes():
    net = load_network("digits-cnn")
    shapes = [(la.name, la.kind.value, la.bounds[2:]) for la in net.layers]
    assert shapes == [
        ("conv1", "conv", (16, 1, 8, 8, 3, 3)),
        ("conv2", "conv", (32, 16, 8, 8, 3, 3)),
        ("pool1", "pool", (32, 32, 4, 4, 2, 2)),
        ("fc", "linear", (10, 512, 1, 1, 1, 1)),
    ]
    assert net.layers[0].padding == 1 and net.layers[0].weight_bits == 4


# ------------------------------------------------------------------------------------ (2) the cost model
def plain_cnn(tmp_path: Path, cnn: SNNModel, density: float) -> tuple[Path, Path]:
    """The digits CNN as a user would bring it: an unprofiled network YAML (the input layer at 1.0, every other at
    ``density``, as import-nir assumes) and its weights as a plain state dict (batch norms as conv<i>.bn.*)."""
    data = network_for_model(cnn, name="digits-cnn", input_shape=(1, 8, 8), origin="test")
    for entry in data["layers"]:
        entry["spike_density"] = 1.0 if entry["name"] == "conv1" else density
    net = tmp_path / "digits.yaml"
    net.write_text(network_yaml(data, {}, header="test"))
    bn = {"bn1": "conv1.bn", "bn2": "conv2.bn"}
    state = {}
    for key, value in read_npz(REFERENCE_MODEL).items():
        if key != "__meta__":
            head, _, tail = key.partition(".")
            state[f"{bn.get(head, head)}.{tail}"] = value
    weights = tmp_path / "digits.npz"
    np.savez(weights, **state)  # type: ignore[arg-type]
    return net, weights


def evaluate(tmp_path: Path, network: Path) -> dict[str, dict[str, Any]]:
    out = tmp_path / f"{network.stem}.json"
    assert main(["evaluate", "--arch", "generic3", "--network", str(network), "--json", str(out)]) == 0
    return {layer["name"]: layer for layer in json.loads(out.read_text())["layers"]}


def test_evaluate_prices_the_measured_densities(tmp_path, capsys, images, cnn):
    net, weights = plain_cnn(tmp_path, cnn, 0.15)
    out = tmp_path / "digits-measured.yaml"
    code, _, err = profile(
        capsys, "--network", str(net), "--weights", str(weights), "--samples", "64", "--out", str(out)
    )
    assert code == 0, err
    written = layers_of(out)
    act = measure_activity(cnn, images)  # the network file with plain weights runs the same SNN as the model file
    for name in act.names:
        assert written[name]["spike_density_per_t"] == pytest.approx(act[name].density_per_t, abs=TOL)
    before, after = evaluate(tmp_path, net), evaluate(tmp_path, out)
    moved = []
    for name, entry in written.items():
        old = 1.0 if name == "conv1" else 0.15
        new = float(np.mean(entry["spike_density_per_t"]))
        # accumulations = dense MACs x the measured mean density (generic3 does not skip zero weights)
        assert after[name]["accumulations"] == pytest.approx(after[name]["macs"] * new, rel=1e-9)
        assert before[name]["accumulations"] == pytest.approx(before[name]["macs"] * old, rel=1e-9)
        delta = after[name]["total_energy_pj"] - before[name]["total_energy_pj"]
        assert np.sign(delta) == np.sign(new - old) != 0, (name, old, new, delta)
        moved.append(np.sign(new - old))
    assert set(moved) == {-1.0, 1.0}  # conv1 falls (0.47 < 1), the spiking layers rise (> 0.15)


# ------------------------------------------------------------------------------- other T, other inputs
def test_other_timesteps_and_unlabelled_inputs(tmp_path, capsys, images):
    inputs = tmp_path / "inputs.npz"
    np.savez(inputs, x=images[:8])  # no labels: profiling does not need them
    out = tmp_path / "mlp6.yaml"
    argv = ["--model", str(FILLED_MODEL), "--data", str(inputs), "-T", "6", "--out", str(out), "--json"]
    code, text, err = profile(capsys, *argv, str(tmp_path / "act.json"))
    assert code == 0, err
    net = load_network(str(out))
    assert net.timesteps == 6 and all(len(la.spike_density_per_t or ()) == 6 for la in net.layers)
    assert f"on 8 images of {inputs}, T = 6." in net.source and "accuracy" not in text
    doc = json.loads((tmp_path / "act.json").read_text())
    assert doc["timesteps"] == 6 and doc["samples"] == 8 and doc["accuracy"] is None
    assert [la["name"] for la in doc["layers"]] == ["fc1", "fc2", "fc3"]
    # profiling the profiled file again keeps one original source, not a nest of them
    again = tmp_path / "again.yaml"
    plain = {k: v for k, v in read_npz(FILLED_MODEL).items() if k != "__meta__"}
    np.savez(tmp_path / "mlp.npz", **plain)  # type: ignore[arg-type]
    argv = ["--network", str(out), "--weights", str(tmp_path / "mlp.npz"), "--samples", "8", "--out", str(again)]
    code, _, err = profile(capsys, *argv)
    assert code == 0, err
    source = load_network(str(again)).source
    assert source.count("Densities measured by spikeloop profile") == 1 and source.count("Original source:") == 1
    assert "T = 6" in source and "spikeloop train-reference" in source  # the file's T is the default


# ------------------------------------------------------------------------------------------ (3) bad input
@pytest.fixture(scope="module")
def files(tmp_path_factory, cnn) -> dict[str, str]:
    root = tmp_path_factory.mktemp("bad")
    net, weights = plain_cnn(root, cnn, 0.15)
    state = dict(read_npz(weights))
    state["conv2.weight"] = state["conv2.weight"][:, :8]
    np.savez(root / "wrong.npz", **state)  # type: ignore[arg-type]
    np.savez(root / "big.npz", x=np.zeros((4, 1, 16, 16), np.float32))
    np.savez(root / "rgb.npz", x=np.zeros((4, 3, 8, 8), np.float32))
    return {"net": str(net), "weights": str(weights), "root": str(root)}


BAD = [
    (["--network", "{net}", "--weights", "{root}/missing.npz"], "{root}/missing.npz: no such weights file"),
    (["--network", "{net}", "--weights", "{root}/wrong.npz"], "{root}/wrong.npz: conv2.weight: expected shape"),
    (["--network", "{net}"], "--network: needs --weights NET.npz as well"),
    (["--model", "{weights}", "--network", "{net}", "--weights", "{weights}"], "--model: give either --model"),
    (["--model", "{weights}"], "{weights}: no __meta__ entry"),
    (["--data", "{root}/big.npz"], "--data {root}/big.npz: layer 'fc': weight [10, 512] expects 512 input features"),
    (["--data", "{root}/rgb.npz"], "--data {root}/rgb.npz: inputs are 3x8x8 (C x H x W) but the first layer"),
    (["--data", "{root}/none.npz"], "{root}/none.npz: no such inputs file"),
    (["-T", "0"], "argument -T/--timesteps: expected a positive integer, got '0'"),
    (["-T", "-1"], "argument -T/--timesteps: expected a positive integer, got '-1'"),
    (["-T", "nan"], "argument -T/--timesteps: expected a positive integer, got 'nan'"),
    (["--samples", "0"], "argument --samples: expected a positive integer, got '0'"),
    (["--samples", "361"], "--samples: 361 is more than the 360 inputs of the digits test split"),
    (["--out", "{root}"], "argument --out: {root}: is a directory, expected a file name"),
    (["--out", "{root}/x.txt"], "--out {root}/x.txt: expected a .yaml file"),
    (["--ir-drop", "1"], "--ir-drop: only with --arch"),
    (["--arch", "generic3"], "generic3.yaml: device: required key is missing"),
    (["--network", "nosuch", "--weights", "{weights}"], "--network: unknown network 'nosuch'"),
]


@pytest.mark.parametrize(("argv", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_naming_the_flag_or_file(tmp_path, capsys, files, argv, message):
    out = tmp_path / "out.yaml"
    args = [a.format(**files) for a in argv]
    if "--out" not in args:
        args += ["--out", str(out)]
    code, text, err = profile(capsys, *args)
    assert code == 2 and text == "", text
    assert err.startswith("spikeloop profile: error: ") and err.count("\n") == 1, err
    assert message.format(**files) in err, err
    assert not out.exists()


def test_a_written_network_that_does_not_fit_the_model_is_removed(tmp_path, images, cnn):
    from spikeloop.profile import load_from_model
    from spikeloop.profile import profile as run_profile

    result = run_profile(load_from_model(FILLED_MODEL), images[:4], data="four digits")
    out = tmp_path / "mlp.yaml"
    with pytest.raises(ValueError, match="network 'digits-mlp': no layer 'conv1' \\(the model has one\\)"):
        result.write(out, cnn)
    assert not out.exists()
    assert [layer.name for layer in result.write(out).layers] == ["fc1", "fc2", "fc3"] and out.exists()
