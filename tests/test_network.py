"""Network workloads: every shipped YAML loads, shapes are inferred right, errors name file and key."""

from __future__ import annotations

import copy
import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

import archspecs
from costmodel.network import load_network, network_from_data
from costmodel.specio import SpecError
from costmodel.types import Dim, LayerKind, PoolKind
from costmodel.workload import Neuron, Reset

SHIPPED = (
    [f"{net}-{ds}" for net in ("vgg5", "vgg9", "vgg16", "resnet18", "resnet19") for ds in ("cifar10", "tinyimagenet")]
    + ["bntt", "sbp", "direct", "tssl", "lth", "tdbn"]
    + ["digits-cnn", "digits-mlp", "dvs-gesture"]
)
# the networks behind Table II's SpikeSim column (docs/spikeflow.md): TDBN/LTH are the ResNet19 conv trunk, no FC
SPIKESIM = [f"spikesim-{w}" for w in ("bntt", "sbp", "direct", "tssl", "lth", "tdbn")]
CONV_TRUNK_ONLY = {"spikesim-lth", "spikesim-tdbn"}

# A small chained network whose numbers are easy to check by hand (T = 2).
SMALL: dict[str, Any] = {
    "name": "small",
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
        {"name": "conv1", "kind": "conv", "out_channels": 4, "kernel": 3, "padding": 1},  # 4x8x8
        {"name": "conv2", "kind": "conv", "out_channels": 4, "kernel": 3, "padding": 1},  # 4x8x8
        {"name": "sc", "kind": "conv", "input": "input", "out_channels": 4, "kernel": 1},  # 4x8x8
        {"name": "add", "kind": "add", "inputs": ["conv2", "sc"]},  # 4x8x8
        {"name": "pool", "kind": "pool", "pool": "max", "kernel": 2},  # 4x4x4
        {"name": "fc", "kind": "linear", "in_features": 64, "out_features": 3},
    ],
}


def write(tmp_path: Path, data: Any, name: str = "net.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def small(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(SMALL)
    data.update(changes)
    return data


def with_layer(index: int, **changes: Any) -> dict[str, Any]:
    data = small()
    data["layers"][index].update(changes)
    return data


def load_error(tmp_path: Path, data: Any) -> tuple[str, str]:
    path = write(tmp_path, data)
    with pytest.raises(SpecError) as info:
        load_network(str(path))
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(str(path)), msg
    return msg, str(path)


# ------------------------------------------------------------------------------------ shipped files
def test_all_shipped_networks_present() -> None:
    assert sorted(SHIPPED + SPIKESIM) == archspecs.network_names()


@pytest.mark.parametrize("name", SHIPPED + SPIKESIM)
def test_shipped_network_loads(name: str) -> None:
    net = load_network(name)
    assert net.name == name
    assert net.source.strip() and net.dataset
    assert all(layer.bound(Dim.T) == net.timesteps for layer in net.layers)
    assert all(layer.bound(Dim.N) == 1 for layer in net.layers)
    if name not in CONV_TRUNK_ONLY:
        assert net.layers[-1].kind is LayerKind.LINEAR


def test_vgg9_cifar10_shapes() -> None:
    net = load_network("vgg9-cifar10")
    assert len(net.layers) == 12 and net.timesteps == 4
    fc1 = net.layer("fc1")
    assert fc1.bounds == (4, 1, 1024, 256 * 4 * 4, 1, 1, 1, 1)
    assert (fc1.in_h, fc1.in_w) == (1, 1)
    conv3 = net.layer("conv3")
    assert conv3.bounds == (4, 1, 128, 64, 16, 16, 3, 3)
    assert (conv3.in_h, conv3.in_w, conv3.stride, conv3.padding) == (16, 16, 1, 1)
    pool1 = net.layer("pool1")
    assert pool1.bounds == (4, 1, 64, 64, 16, 16, 2, 2)
    assert (pool1.pool, pool1.stride, pool1.in_h) == (PoolKind.AVG, 2, 32)
    assert net.layer("conv1").spike_density == 1.0
    assert net.layer("conv2").spike_density == 0.15
    assert net.layer("fc2").bounds[2:4] == (10, 1024)


def test_resnet18_tinyimagenet_shapes() -> None:
    net = load_network("resnet18-tinyimagenet")
    # stem + 8 blocks x (conv, conv, add) + 3 projections + avgpool + fc
    assert len(net.layers) == 1 + 8 * 3 + 3 + 1 + 1 == 30
    kinds = [layer.kind for layer in net.layers]
    assert kinds.count(LayerKind.ADD) == 8 and kinds.count(LayerKind.CONV) == 20
    sc = net.layer("layer2.0.shortcut")
    assert sc.bounds == (4, 1, 128, 64, 32, 32, 1, 1)
    assert (sc.stride, sc.padding, sc.in_h, sc.in_w) == (2, 0, 64, 64)
    assert net.layer("layer2.0.conv1").bounds == (4, 1, 128, 64, 32, 32, 3, 3)
    assert net.layer("layer4.1.add").bounds == (4, 1, 512, 512, 8, 8, 1, 1)
    avgpool = net.layer("avgpool")
    assert avgpool.bounds == (4, 1, 512, 512, 1, 1, 8, 8)
    assert net.layer("fc").bounds == (4, 1, 200, 512, 1, 1, 1, 1)


def test_resnet19_cifar10_shapes() -> None:
    net = load_network("resnet19-cifar10")
    convs = [layer for layer in net.layers if layer.kind is LayerKind.CONV and layer.bound(Dim.R) == 3]
    assert len(convs) == 17  # the 17 3x3 convs of TDBN's ResNet19
    assert net.layer("layer3.1.conv2").bounds == (4, 1, 512, 512, 8, 8, 3, 3)
    assert net.layer("fc1").bounds[2:4] == (256, 512)
    assert net.layer("fc2").bounds[2:4] == (10, 256)


@pytest.mark.parametrize(
    ("name", "t", "density", "n_layers"),
    [("bntt", 20, 0.09, 9), ("sbp", 50, 0.10, 9), ("direct", 10, 0.10, 7), ("tssl", 5, 0.10, 7),
     ("tdbn", 4, 0.15, 18), ("lth", 5, 0.02, 18)],
)  # fmt: skip
def test_table2_workloads(name: str, t: int, density: float, n_layers: int) -> None:
    net = load_network(name)
    assert (net.timesteps, len(net.layers)) == (t, n_layers)
    assert all(layer.spike_density == pytest.approx(density) for layer in net.layers)
    assert all(layer.weight_density == 1.0 for layer in net.layers)


def test_table2_layer_lists() -> None:
    """The layer lists of sata.md section 4, as (in side, C, K, stride) and FC (C, K)."""

    def table(name: str) -> list[tuple[int, ...]]:
        out = []
        for layer in load_network(name).layers:
            if layer.kind is LayerKind.CONV:
                assert (layer.bound(Dim.R), layer.padding) == (3, 1)
                out.append((layer.in_h, layer.bound(Dim.C), layer.bound(Dim.K), layer.stride))
            else:
                out.append((layer.bound(Dim.C), layer.bound(Dim.K)))
        return out

    bntt = [(32, 3, 64, 1), (32, 64, 64, 1), (16, 64, 128, 1), (8, 128, 128, 1), (4, 128, 256, 1),
            (4, 256, 256, 1), (4, 256, 256, 1), (1024, 1024), (1024, 512)]  # fmt: skip
    direct = [(32, 3, 128, 1), (32, 128, 256, 1), (16, 256, 512, 1), (8, 512, 1024, 1), (4, 1024, 512, 1),
              (8192, 1024), (1024, 512)]  # fmt: skip
    tdbn = ([(32, 3, 128, 1)] + [(32, 128, 128, 1)] * 6 + [(32, 128, 256, 2)] + [(16, 256, 256, 1)] * 5
            + [(16, 256, 512, 2)] + [(8, 512, 512, 1)] * 3 + [(8192, 256)])  # fmt: skip
    assert table("bntt") == table("sbp") == bntt
    assert table("direct") == table("tssl") == direct
    assert table("tdbn") == table("lth") == tdbn
    tdbn_net = load_network("tdbn")
    assert tdbn_net.layer("conv8").bounds == (4, 1, 256, 128, 16, 16, 3, 3)
    assert tdbn_net.layer("conv14").bounds == (4, 1, 512, 256, 8, 8, 3, 3)


def test_table2_dense_macs_by_hand() -> None:
    bntt = (32 * 32 * 3 * 64 + 32 * 32 * 64 * 64 + 16 * 16 * 64 * 128 + 8 * 8 * 128 * 128
            + 4 * 4 * 128 * 256 + 2 * 4 * 4 * 256 * 256) * 9 + 1024 * 1024 + 1024 * 512  # fmt: skip
    net = load_network("bntt", timesteps=1)
    assert sum(layer.macs for layer in net.layers) == bntt == 92_995_584


# ------------------------------------------------------------------------------------ small network
def test_small_network_by_hand(tmp_path: Path) -> None:
    net = load_network(str(write(tmp_path, SMALL)))
    assert net.timesteps == 2 and net.dataset == "toy"
    conv1, conv2, sc, add, pool, fc = net.layers
    assert conv1.bounds == (2, 1, 4, 2, 8, 8, 3, 3)
    assert conv2.bounds == (2, 1, 4, 4, 8, 8, 3, 3)
    assert sc.bounds == (2, 1, 4, 2, 8, 8, 1, 1)
    assert add.bounds == (2, 1, 4, 4, 8, 8, 1, 1)
    assert pool.bounds == (2, 1, 4, 4, 4, 4, 2, 2) and pool.stride == 2 and pool.pool is PoolKind.MAX
    assert fc.bounds == (2, 1, 3, 64, 1, 1, 1, 1)
    # dense MACs: T * K * C * P * Q * R * S per weight layer
    macs = {layer.name: layer.macs for layer in net.layers if layer.has_weights}
    assert macs == {
        "conv1": 2 * 4 * 2 * 64 * 9,
        "conv2": 2 * 4 * 4 * 64 * 9,
        "sc": 2 * 4 * 2 * 64,
        "fc": 2 * 3 * 64,
    }
    assert sum(macs.values()) == 9216 + 18432 + 1024 + 384 == 29056
    assert conv1.neuron == Neuron(leak=0.9, threshold=1.0, reset=Reset.SOFT)
    assert all(layer.spike_density == 0.25 for layer in net.layers)


def test_layer_overrides(tmp_path: Path) -> None:
    data = with_layer(1, neuron={"reset": "hard"}, weight_bits=4, spike_density_per_t=[0.5, 0.1])
    data["layers"][4]["membrane_bits"] = 8
    net = load_network(str(write(tmp_path, data)))
    conv2 = net.layer("conv2")
    assert conv2.neuron == Neuron(leak=0.9, threshold=1.0, reset=Reset.HARD)  # only reset overridden
    assert conv2.weight_bits == 4 and net.layer("conv1").weight_bits == 8
    assert conv2.spike_density_per_t == (0.5, 0.1)
    assert conv2.spike_density == pytest.approx(0.3) == conv2.mean_spike_density
    assert net.layer("pool").membrane_bits == 8


def test_non_square_input_and_kernel(tmp_path: Path) -> None:
    data = small(input={"channels": 1, "height": 6, "width": 10})
    data["layers"] = [
        {"name": "c", "kind": "conv", "out_channels": 2, "kernel": [3, 5], "stride": 1},
        {"name": "p", "kind": "pool", "pool": "avg", "kernel": "global"},
        {"name": "f", "kind": "linear", "out_features": 2},
    ]
    net = load_network(str(write(tmp_path, data)))
    assert net.layer("c").bounds == (2, 1, 2, 1, 4, 6, 3, 5)
    assert net.layer("p").bounds == (2, 1, 2, 2, 1, 1, 4, 6)
    assert net.layer("f").bounds == (2, 1, 2, 2, 1, 1, 1, 1)


def test_network_from_data_matches_file(tmp_path: Path) -> None:
    assert network_from_data(copy.deepcopy(SMALL), "x.yaml") == load_network(str(write(tmp_path, SMALL)))


def test_values_are_frozen() -> None:
    net = load_network("vgg5-cifar10")
    with pytest.raises(dataclasses.FrozenInstanceError):
        net.layers[0].name = "x"  # type: ignore[misc]
    assert isinstance(net.layers, tuple)


# ------------------------------------------------------------------------------------ timesteps
def test_timesteps_override() -> None:
    base = load_network("vgg9-cifar10")
    net = load_network("vgg9-cifar10", timesteps=8)
    assert net.timesteps == 8
    assert all(layer.bound(Dim.T) == 8 for layer in net.layers)
    for a, b in zip(base.layers, net.layers, strict=True):
        assert b.macs == 2 * a.macs
    assert load_network("vgg9-cifar10", timesteps=4) == base


def test_timesteps_override_drops_per_t_densities(tmp_path: Path) -> None:
    path = write(tmp_path, with_layer(0, spike_density_per_t=[1.0, 0.5]))
    assert load_network(str(path)).layer("conv1").spike_density_per_t == (1.0, 0.5)
    conv1 = load_network(str(path), timesteps=3).layer("conv1")
    assert conv1.spike_density_per_t is None and conv1.spike_density == pytest.approx(0.75)


@pytest.mark.parametrize("bad", [0, -1, True, 2.0])
def test_timesteps_argument_checked(bad: Any) -> None:
    with pytest.raises(SpecError, match="timesteps argument"):
        load_network("vgg5-cifar10", timesteps=bad)


# ------------------------------------------------------------------------------------ errors
def test_error_unknown_key(tmp_path: Path) -> None:
    msg, path = load_error(tmp_path, with_layer(1, kernal=3))
    assert msg == f"{path}: layers[1].kernal: unknown key"


def test_error_unknown_key_at_top_and_in_defaults(tmp_path: Path) -> None:
    msg, path = load_error(tmp_path, small(timestep=4))
    assert msg == f"{path}: timestep: unknown key"
    data = small()
    data["defaults"]["neuron"]["tau"] = 2
    msg, path = load_error(tmp_path, data)
    assert msg == f"{path}: defaults.neuron.tau: unknown key"


def test_error_shipped_file_name_is_repo_relative() -> None:
    from costmodel.network import _display_name

    assert _display_name(archspecs.network_path("vgg9-cifar10")) == "archspecs/networks/vgg9-cifar10.yaml"
    with pytest.raises(SpecError) as info:
        network_from_data({"name": "x", "timesteps": 0}, "archspecs/networks/vgg9-cifar10.yaml")
    assert str(info.value) == "archspecs/networks/vgg9-cifar10.yaml: timesteps: expected a positive integer, got 0"


def test_error_negative_size(tmp_path: Path) -> None:
    msg, _ = load_error(tmp_path, with_layer(0, out_channels=-5))
    assert msg.endswith("layers[0].out_channels: expected a positive integer, got -5")
    msg, _ = load_error(tmp_path, small(input={"channels": 2, "height": -8, "width": 8}))
    assert msg.endswith("input.height: expected a positive integer, got -8")
    msg, _ = load_error(tmp_path, with_layer(0, padding=-1))
    assert msg.endswith("layers[0].padding: expected an integer >= 0, got -1")


def test_error_wrong_in_features_names_layer_and_both_numbers(tmp_path: Path) -> None:
    msg, _ = load_error(tmp_path, with_layer(5, in_features=1024))
    assert "layers[5].in_features: layer 'fc'" in msg
    assert "1024" in msg and "64" in msg


def test_error_wrong_in_channels(tmp_path: Path) -> None:
    msg, _ = load_error(tmp_path, with_layer(1, in_channels=3))
    assert "layers[1].in_channels: layer 'conv2': in_channels = 3 but its input has 4 channels" in msg


def test_error_add_shape_mismatch(tmp_path: Path) -> None:
    msg, _ = load_error(tmp_path, with_layer(2, stride=2))  # sc becomes 4x4x4
    assert "layers[3].inputs: layer 'add': shapes differ: conv2 (4x8x8), sc (4x4x4)" in msg


def test_error_unknown_input_layer(tmp_path: Path) -> None:
    msg, _ = load_error(tmp_path, with_layer(2, input="conv9"))
    assert "layers[2].input: layer 'sc': no earlier layer named 'conv9'" in msg
    msg, _ = load_error(tmp_path, with_layer(1, input="fc"))  # a later layer is not an input
    assert "layers[1].input: layer 'conv2': no earlier layer named 'fc'" in msg
    msg, _ = load_error(tmp_path, with_layer(3, inputs=["conv2", "nope"]))
    assert "layers[3].inputs: layer 'add': no earlier layer named 'nope'" in msg


def test_error_malformed_yaml(tmp_path: Path) -> None:
    msg, path = load_error(tmp_path, "name: x\nlayers: [\n  {name: a, kind: conv\n")
    assert "malformed YAML" in msg and "line" in msg


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (small(timesteps=None), "timesteps: expected a positive integer, got None"),
        ({k: v for k, v in SMALL.items() if k != "timesteps"}, "timesteps: required key is missing"),
        ({k: v for k, v in SMALL.items() if k != "defaults"}, "defaults: required key is missing"),
        ({k: v for k, v in SMALL.items() if k != "input"}, "input: required key is missing"),
        (small(layers=[]), "layers: expected at least one layer"),
        (small(layers={"a": 1}), "layers: expected a list"),
        (small(chain="no"), "chain: expected true or false"),
        (with_layer(0, kind="dense"), "layers[0].kind: expected one of conv, linear, pool, add, got 'dense'"),
        (with_layer(0, kernel="big"), "layers[0].kernel: expected a positive integer or [rows, cols]"),
        (with_layer(0, kernel=[3, 0]), "layers[0].kernel: expected a positive integer or [rows, cols]"),
        (with_layer(0, kernel=11), "layers[0].kernel: layer 'conv1': kernel rows 11 exceed the padded input"),
        (with_layer(0, spike_density=1.5), "layers[0].spike_density: expected a number <= 1.0, got 1.5"),
        (with_layer(0, spike_density_per_t=[0.1]), "layers[0].spike_density_per_t: expected a list of timesteps"),
        (with_layer(0, spike_density_per_t=[0.1, 2]), "layers[0].spike_density_per_t: expected numbers in [0, 1]"),
        (with_layer(0, spike_density_per_t=[0.1, 0.2], spike_density=0.1), "layers[0].spike_density_per_t: give"),
        (with_layer(0, neuron={"leak": 0}), "layers[0].neuron.leak: expected 0 < leak <= 1, got 0"),
        (with_layer(0, neuron={"reset": "zero"}), "layers[0].neuron.reset: expected one of soft, hard"),
        (with_layer(1, name="conv1"), "layers[1].name: duplicate layer name 'conv1'"),
        (with_layer(1, name="input"), "layers[1].name: expected a layer name other than 'input'"),
        (with_layer(4, weight_bits=4), "layers[4].weight_bits: unknown key"),
        (with_layer(4, pool="min"), "layers[4].pool: expected one of avg, max, got 'min'"),
        (with_layer(4, kernel=[2, 3]), "layers[4].stride: required for a non-square pool kernel"),
        (with_layer(4, kernel="global", stride=1), "layers[4].stride: not allowed with kernel: global"),
        (with_layer(4, in_size=4), "layers[4].in_size: layer 'pool': in_size = 4 but its input map is 8x8"),
        (with_layer(3, inputs=["conv2"]), "layers[3].inputs: expected a list of two or more layer names"),
        (with_layer(3, input="conv2"), "layers[3].input: unknown key"),
        (with_layer(5, kernel=1), "layers[5].kernel: unknown key"),
    ],
)
def test_error_paths(tmp_path: Path, data: dict[str, Any], where: str) -> None:
    msg, path = load_error(tmp_path, data)
    assert msg.startswith(f"{path}: {where}"), msg


def test_error_defaults_missing_key(tmp_path: Path) -> None:
    data = small()
    del data["defaults"]["weight_density"]
    msg, path = load_error(tmp_path, data)
    assert msg == f"{path}: defaults.weight_density: required key is missing"


# ------------------------------------------------------------------------------------ chain: false
UNCHAINED: dict[str, Any] = {
    **{k: v for k, v in SMALL.items() if k not in ("input", "layers")},
    "chain": False,
    "layers": [
        {"name": "a", "kind": "conv", "in_channels": 3, "in_size": 32, "out_channels": 8, "kernel": 3, "padding": 1},
        {"name": "b", "kind": "conv", "in_channels": 5, "in_size": 7, "out_channels": 8, "kernel": 3, "stride": 2},
        {"name": "p", "kind": "pool", "pool": "avg", "in_channels": 8, "in_size": 4, "kernel": 2},
        {"name": "s", "kind": "add", "in_channels": 8, "in_size": 2},
        {"name": "f", "kind": "linear", "in_features": 100, "out_features": 10},
    ],
}


def test_unchained_layers_state_their_inputs(tmp_path: Path) -> None:
    net = load_network(str(write(tmp_path, UNCHAINED)))
    a, b, p, s, f = net.layers
    assert a.bounds == (2, 1, 8, 3, 32, 32, 3, 3)
    assert b.bounds == (2, 1, 8, 5, 3, 3, 3, 3) and (b.in_h, b.stride) == (7, 2)
    assert p.bounds == (2, 1, 8, 8, 2, 2, 2, 2)
    assert s.bounds == (2, 1, 8, 8, 2, 2, 1, 1)
    assert f.bounds == (2, 1, 10, 100, 1, 1, 1, 1)
    assert math.prod(a.bounds) == a.macs


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"input": {"channels": 3, "height": 32, "width": 32}}, "input: not allowed with chain: false"),
        ({"layers": [{"name": "a", "kind": "conv", "out_channels": 8, "kernel": 3}]},
         "layers[0].in_size: required key is missing"),
        ({"layers": [{"name": "f", "kind": "linear", "out_features": 8}]},
         "layers[0].in_features: required key is missing"),
        ({"layers": [{"name": "f", "kind": "linear", "input": "x", "in_features": 4, "out_features": 8}]},
         "layers[0].input: not allowed with chain: false"),
        ({"layers": [{"name": "s", "kind": "add", "inputs": ["a", "b"], "in_channels": 4, "in_size": 2}]},
         "layers[0].inputs: not allowed with chain: false"),
        ({"layers": [{"name": "f", "kind": "linear", "in_features": 4, "out_features": 8}] * 2},
         "layers[1].name: duplicate layer name 'f'"),
    ],
)  # fmt: skip
def test_unchained_errors(tmp_path: Path, change: dict[str, Any], where: str) -> None:
    msg, path = load_error(tmp_path, {**copy.deepcopy(UNCHAINED), **change})
    assert msg.startswith(f"{path}: {where}"), msg


def test_unknown_network_name() -> None:
    with pytest.raises(SpecError, match="unknown network 'vgg99'"):
        load_network("vgg99")


def test_dvs_gesture_is_the_issue_network() -> None:
    """Issue 14's DVS network: 2x128x128 input, four 3x3/2/1 convs 2->32->64->128->256, fc 256*8*8 -> 11, T = 16,
    input spike densities 0.3, 0.2, 0.15, 0.1, 0.1."""
    net = load_network("dvs-gesture")
    assert net.timesteps == 16
    shapes = [
        (la.name, la.bound(Dim.C), la.bound(Dim.K), la.bound(Dim.P), la.bound(Dim.R), la.stride) for la in net.layers
    ]
    assert shapes == [
        ("conv1", 2, 32, 64, 3, 2),
        ("conv2", 32, 64, 32, 3, 2),
        ("conv3", 64, 128, 16, 3, 2),
        ("conv4", 128, 256, 8, 3, 2),
        ("fc", 16384, 11, 1, 1, 1),
    ]
    assert [la.spike_density for la in net.layers] == [0.3, 0.2, 0.15, 0.1, 0.1]
