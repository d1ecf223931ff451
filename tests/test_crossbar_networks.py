"""Any network that fits: network YAML + plain weights npz, user inputs, pooling, and one-line errors for the rest."""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import json  # noqa: E402
import pickle  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

from costmodel.specio import SpecError  # noqa: E402
from crossbar.data import digits_split, load_inputs  # noqa: E402
from crossbar.experiments import Experiment, default_settings, run_accuracy  # noqa: E402
from crossbar.mapping import Encoding  # noqa: E402
from crossbar.model_io import FILLED_MODEL, REFERENCE_MODEL, load_model, read_npz  # noqa: E402
from crossbar.network_model import load_network_model  # noqa: E402
from crossbar.snn import Pool, PoolMode, SoftwareBackend, forward, pool2d  # noqa: E402

NEURON = {"leak": 0.9, "threshold": 1.0, "reset": "soft"}


def network(layers: list[dict], channels: int = 1, side: int = 8) -> dict:
    return {
        "name": "test-net",
        "timesteps": 4,
        "input": {"channels": channels, "height": side, "width": side},
        "defaults": {
            "weight_bits": 4,
            "psum_bits": 16,
            "membrane_bits": 16,
            "spike_density": 0.5,
            "weight_density": 1.0,
            "neuron": NEURON,
        },
        "layers": layers,
    }


CNN_LAYERS = [
    {"name": "conv1", "kind": "conv", "out_channels": 16, "kernel": 3, "padding": 1},
    {"name": "conv2", "kind": "conv", "out_channels": 32, "kernel": 3, "padding": 1},
    {"name": "pool", "kind": "pool", "pool": "avg", "kernel": 2},
    {"name": "fc", "kind": "linear", "out_features": 10},
]


def cnn_state() -> dict[str, np.ndarray]:
    """The shipped digits CNN as a plain state dict in the weights contract (BN of conv<i> under conv<i>.bn.*)."""
    arrays = read_npz(REFERENCE_MODEL)
    arrays.pop("__meta__")
    out = {}
    for key, value in arrays.items():
        for torch_name, layer in (("bn1.", "conv1.bn."), ("bn2.", "conv2.bn.")):
            if key.startswith(torch_name):
                key = layer + key[len(torch_name) :]
        out[key] = value
    return out


def write(tmp_path, net: dict, state: dict, name: str = "net") -> tuple[str, str]:
    y, w = tmp_path / f"{name}.yaml", tmp_path / f"{name}.npz"
    y.write_text(yaml.safe_dump(net))
    np.savez(w, **state)
    return str(y), str(w)


def test_network_yaml_plus_state_dict_equals_the_shipped_model(tmp_path):
    y, w = write(tmp_path, network(CNN_LAYERS), cnn_state())
    model, ref = load_network_model(y, w), load_model()
    assert model.input_shape == (1, 8, 8) and model.timesteps == 4
    x = digits_split().x_test[:50]
    np.testing.assert_array_equal(
        forward(model, x, SoftwareBackend(model, bits=4)), forward(ref, x, SoftwareBackend(ref, bits=4))
    )
    # and through one noisy chip (same seeds): identical crossbar accuracy
    s = default_settings(encoding=Encoding.OFFSET, r_row_ohm=2.5, r_col_ohm=2.5)
    split = digits_split()
    a = run_accuracy(s, experiment=Experiment(model, split))
    b = run_accuracy(s, experiment=Experiment(ref, split))
    assert a.crossbar_accuracy == b.crossbar_accuracy


def test_filled_model_is_a_network_plus_weights():
    model = load_model(FILLED_MODEL)
    assert [layer.name for layer in model.weight_layers()] == ["fc1", "fc2", "fc3"]
    assert [bn.name for bn in model.batchnorms()] == ["fc1.bn", "fc2.bn"]
    assert model.input_shape == (1, 8, 8)
    assert FILLED_MODEL.stat().st_size < 300_000
    split = digits_split()
    acc = float(
        (forward(model, split.x_test, SoftwareBackend(model, bits=4)).mean(0).argmax(-1) == split.y_test).mean()
    )
    assert acc >= 0.95, acc


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda s: s.update({"conv2.weight": s["conv2.weight"][:, :8]}),
            r"conv2\.weight: expected shape \[32, 16, 3, 3\].*got \[32, 8, 3, 3\]",
        ),
        (lambda s: s.pop("fc.weight"), r"fc\.weight: missing"),
        (lambda s: s.update({"fc.bias": np.zeros(9, np.float32)}), r"fc\.bias: expected shape \[10\].*got \[9\]"),
        (lambda s: s.pop("conv1.bn.running_var"), r"conv1\.bn\.running_var: missing \(a batch norm needs all of"),
        (
            lambda s: s.update({"conv1.bn.runing_mean": np.zeros(16)}),
            r"'conv1\.bn\.runing_mean': no layer of .* uses this key",
        ),
        (lambda s: s.update({"fc.weight": np.full((10, 512), np.nan, np.float32)}), r"fc\.weight: holds NaN"),
        (
            lambda s: s.update({"fc.weight": np.array(["a"] * 5120).reshape(10, 512)}),
            r"fc\.weight: expected a numeric array",
        ),
    ],
)
def test_weight_errors_name_file_key_and_shapes(tmp_path, mutate, message):
    state = cnn_state()
    mutate(state)
    y, w = write(tmp_path, network(CNN_LAYERS), state)
    with pytest.raises(ValueError, match=message) as info:
        load_network_model(y, w)
    assert "\n" not in str(info.value) and str(tmp_path) in str(info.value)


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        (
            [*CNN_LAYERS[:2], {"name": "skip", "kind": "add", "inputs": ["conv1", "conv2"]}, *CNN_LAYERS[2:]],
            r"layers\[2\] \('skip'\): add \(residual sum\) layers are not supported",
        ),
        (
            [CNN_LAYERS[0], {**CNN_LAYERS[1], "input": "input", "out_channels": 32}, *CNN_LAYERS[2:]],
            r"layers\[1\]\.input: layer 'conv2' reads 'input', not the previous layer 'conv1'",
        ),
        (
            [
                {"name": "fc0", "kind": "linear", "out_features": 64},
                {"name": "conv", "kind": "conv", "out_channels": 4, "kernel": 1},
            ],
            r"layer 'conv': a conv layer after a linear layer \('fc0'\) is not supported",
        ),
    ],
)
def test_topologies_the_executor_cannot_run_are_refused(tmp_path, layers, message):
    y, w = write(tmp_path, network(layers), {})
    with pytest.raises(ValueError, match=message):
        load_network_model(y, w)


def test_unchained_network_and_unknown_name_are_refused(tmp_path):
    net = network(CNN_LAYERS)
    net["chain"] = False
    y, w = write(tmp_path, net, cnn_state())
    with pytest.raises(ValueError, match="chain: false"):
        load_network_model(y, w)
    with pytest.raises(ValueError, match="--network: unknown network 'no-such-net'"):
        load_network_model("no-such-net", w)
    with pytest.raises(SpecError, match="layers"):  # the cost model's loader names the key
        load_network_model(*write(tmp_path, {**network(CNN_LAYERS), "layers": []}, {}, "empty"))


def test_non_npz_files_give_one_line_naming_the_file(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("not an archive")
    for loader in (lambda p: load_model(p), lambda p: read_npz(p)):
        with pytest.raises(ValueError, match=r"notes\.npz: not a \.npz archive"):
            loader(text)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, w=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match=r"pickled\.npz: w: holds pickled Python objects") as info:
        read_npz(pickled)
    assert "allow_pickle" not in str(info.value)
    plain = tmp_path / "plain.npz"
    np.savez(plain, **cnn_state())
    with pytest.raises(ValueError, match=r"plain\.npz: no __meta__ entry, so this is a plain state dict.*--weights"):
        load_model(plain)
    with pytest.raises(FileNotFoundError, match=r"missing\.npz: no such model file"):
        load_model(tmp_path / "missing.npz")
    assert pickle  # (imported for the object-array case above)


def test_two_channel_model_needs_two_channel_inputs(tmp_path):
    state = cnn_state()
    state["conv1.weight"] = np.concatenate([state["conv1.weight"]] * 2, axis=1) / 2
    y, w = write(tmp_path, network(CNN_LAYERS, channels=2), state)
    model = load_network_model(y, w)
    with pytest.raises(ValueError, match=r"digits: inputs are 1x8x8 \(C x H x W\) but .* expects 2x8x8"):
        Experiment(model, digits_split())
    split = digits_split()
    inputs = tmp_path / "two.npz"
    np.savez(
        inputs,
        x=np.repeat(split.x_test[:60], 2, axis=1),
        y=split.y_test[:60],
        x_train=np.repeat(split.x_train[:130], 2, axis=1),
    )
    data = load_inputs(inputs)
    assert not data.train_is_test and data.x_train.shape == (130, 2, 8, 8)
    res = run_accuracy(default_settings(), experiment=Experiment(model, data))
    # the two channels carry the same image and half the weights each: the software network is the digits CNN
    assert res.software_accuracy >= 0.9
    # a legacy model file with a 2-channel first conv gets the same one-line refusal instead of a matmul error
    ref = load_model()
    with pytest.raises(ValueError, match=r"inputs are 2x8x8 .* reads 1 channel"):
        Experiment(ref, data)


def test_inputs_file_errors(tmp_path):
    split = digits_split()
    cases = {
        "noy.npz": ({"x": split.x_test[:5]}, r"noy\.npz: y: missing"),
        "flat.npz": (
            {"x": split.x_test[:5, 0, 0], "y": split.y_test[:5]},
            r"flat\.npz: x: expected a numeric array \[N, C, H, W\].*shape \[5, 8\]",
        ),
        "ylen.npz": ({"x": split.x_test[:5], "y": split.y_test[:4]}, r"ylen\.npz: y: expected 5 integer labels"),
        "yfloat.npz": (
            {"x": split.x_test[:5], "y": np.zeros(5)},
            r"yfloat\.npz: y: expected 5 integer labels.*float64",
        ),
        "train.npz": (
            {"x": split.x_test[:5], "y": split.y_test[:5], "x_train": np.zeros((3, 1, 4, 4))},
            r"train\.npz: x_train: expected images of shape \[1, 8, 8\]",
        ),
        "extra.npz": (
            {"x": split.x_test[:5], "y": split.y_test[:5], "labels": split.y_test[:5]},
            r"extra\.npz: labels: unknown key",
        ),
    }
    for name, (arrays, message) in cases.items():
        np.savez(tmp_path / name, **arrays)
        with pytest.raises(ValueError, match=message):
            load_inputs(tmp_path / name)
    big = tmp_path / "labels.npz"
    np.savez(big, x=split.x_test[:5], y=np.array([0, 1, 2, 3, 12]))
    with pytest.raises(ValueError, match=r"labels\.npz: y: label 12 is out of range for the 10 outputs"):
        Experiment(load_model(), load_inputs(big))
    alone = tmp_path / "alone.npz"
    np.savez(alone, x=split.x_test[:5], y=split.y_test[:5])
    assert load_inputs(alone).train_is_test


def _pool_reference(x: np.ndarray, mode: str, k: int, stride: int, pad: int) -> np.ndarray:
    """Pooling written out window by window on NHWC ``x`` (PyTorch semantics: avg counts zero padding)."""
    n, h, w, c = x.shape
    fill = 0.0 if mode == "avg" else -np.inf
    xp = np.full((n, h + 2 * pad, w + 2 * pad, c), fill)
    xp[:, pad : pad + h, pad : pad + w] = x
    p = (h + 2 * pad - k) // stride + 1
    q = (w + 2 * pad - k) // stride + 1
    out = np.zeros((n, p, q, c))
    for i in range(p):
        for j in range(q):
            win = xp[:, i * stride : i * stride + k, j * stride : j * stride + k]
            out[:, i, j] = win.mean(axis=(1, 2)) if mode == "avg" else win.max(axis=(1, 2))
    return out


@pytest.mark.parametrize(
    ("mode", "k", "stride", "pad"),
    [("avg", 2, 2, 0), ("max", 2, 2, 0), ("avg", 3, 2, 1), ("max", 3, 1, 1), ("max", 2, 1, 0)],
)
def test_pooling_by_windows(mode, k, stride, pad):
    x = np.random.default_rng(1).normal(size=(2, 7, 7, 3))
    got = pool2d(x, Pool(mode=PoolMode(mode), kernel=(k, k), stride=stride, padding=pad))
    np.testing.assert_allclose(got, _pool_reference(x, mode, k, stride, pad), rtol=1e-12)


def test_max_pool_network_runs(tmp_path):
    layers = [
        {"name": "conv1", "kind": "conv", "out_channels": 16, "kernel": 3, "padding": 1},
        {"name": "conv2", "kind": "conv", "out_channels": 32, "kernel": 3, "padding": 1},
        {"name": "pool", "kind": "pool", "pool": "max", "kernel": 2},
        {"name": "fc", "kind": "linear", "out_features": 10},
    ]
    y, w = write(tmp_path, network(layers), cnn_state())
    model = load_network_model(y, w)
    assert isinstance(model.layers[6], Pool) and model.layers[6].mode is PoolMode.MAX
    out = forward(model, digits_split().x_test[:20], SoftwareBackend(model, bits=4))
    assert out.shape == (4, 20, 10) and np.isfinite(out).all()
    assert json.dumps(model.meta["network"])  # the network travels with the model
