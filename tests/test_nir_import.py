"""NIR import (``spikeloop import-nir``, :mod:`spikeloop.nir_import`), on graphs built with the ``nir`` API.

LIF nodes are written as snnTorch's exporter writes them: per-neuron float32 arrays, ``tau = dt/(1-beta)`` with
dt = 1e-4, ``r = tau/dt``, ``v_leak = 0``, ``v_reset = 0``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import nir
import numpy as np
import pytest
import yaml

from costmodel.network import load_network, network_from_data
from spikeloop.cli import main
from spikeloop.commands.evaluate import run_evaluate
from spikeloop.nir_import import SUPPORTED_NODE_TYPES, import_nir, network_yaml, write_network, write_weights

DT = 1e-4
RNG = np.random.default_rng(0)
SHIPPED_VGG9 = Path(__file__).resolve().parents[1] / "archspecs" / "networks" / "vgg9-cifar10.yaml"


# ---------------------------------------------------------------------------------------------- builders
def lif(shape: tuple[int, ...], beta: float = 0.9, threshold: float = 1.0, v_leak: float = 0.0) -> nir.LIF:
    """A LIF node as snnTorch's exporter writes it (float32 arrays of the layer's shape)."""
    b = np.full(shape, beta, dtype=np.float32)
    tau = DT / (1 - b)
    return nir.LIF(
        tau=tau,
        r=tau / DT,
        v_leak=np.full(shape, v_leak, dtype=np.float32),
        v_threshold=np.full(shape, threshold, dtype=np.float32),
        v_reset=np.zeros(shape, dtype=np.float32),
    )


def conv(
    c_in: int,
    c_out: int,
    size: int,
    *,
    k: int = 3,
    stride: object = 1,
    padding: object = 1,
    rng: np.random.Generator | None = None,
) -> nir.Conv2d:
    rng = RNG if rng is None else rng
    return nir.Conv2d(
        input_shape=(size, size),
        weight=rng.standard_normal((c_out, c_in, k, k), dtype=np.float32),
        stride=stride,
        padding=padding,
        dilation=1,
        groups=1,
        bias=rng.standard_normal(c_out, dtype=np.float32),
    )


def affine(n_in: int, n_out: int) -> nir.Affine:
    return nir.Affine(
        weight=RNG.standard_normal((n_out, n_in), dtype=np.float32), bias=RNG.standard_normal(n_out, dtype=np.float32)
    )


def chain(nodes: dict[str, nir.NIRNode]) -> nir.NIRGraph:
    names = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(names, names[1:], strict=False)), type_check=False)


def small_conv_graph() -> nir.NIRGraph:
    """input 2x8x8 -> conv1 (4) -> LIF -> avg pool 2 -> flatten -> fc (10) -> LIF."""
    return chain(
        {
            "input": nir.Input(input_type=np.array([2, 8, 8])),
            "conv1": conv(2, 4, 8),
            "lif1": lif((4, 8, 8)),
            "pool1": nir.AvgPool2d(kernel_size=2, stride=2, padding=np.array([0, 0])),  # as snnTorch writes it
            "flat": nir.Flatten(input_type={"input": np.array([4, 4, 4])}, start_dim=0, end_dim=-1),
            "fc": affine(64, 10),
            "lif2": lif((10,), beta=0.8),
            "output": nir.Output(output_type=np.array([10])),
        }
    )


def vgg9_graph() -> nir.NIRGraph:
    """The shape of archspecs/networks/vgg9-cifar10.yaml: 64C3-64C3-AP2-128C3-128C3-AP2-256C3x3-AP2-FC1024-FC10.

    Strides, paddings and pool sizes alternate between the scalar and the list forms exporters write."""
    nodes: dict[str, nir.NIRNode] = {"input": nir.Input(input_type=np.array([3, 32, 32]))}
    size, c = 32, 3
    plan: list[int | str] = [64, 64, "pool1", 128, 128, "pool2", 256, 256, 256, "pool3"]
    n_conv = 0
    for item in plan:
        if isinstance(item, int):
            n_conv += 1
            form = n_conv % 2 == 0
            nodes[f"conv{n_conv}"] = conv(c, item, size, stride=[1, 1] if form else 1, padding=[1, 1] if form else 1)
            nodes[f"lif{n_conv}"] = lif((item, size, size))
            c = item
        else:
            form = item == "pool2"
            nodes[str(item)] = nir.AvgPool2d(
                kernel_size=np.array([2, 2]) if form else np.array(2),
                stride=np.array([2, 2]) if form else np.array(2),
                padding=np.array([0, 0]),
            )
            size //= 2
    nodes["flatten"] = nir.Flatten(input_type={"input": np.array([c, size, size])}, start_dim=0, end_dim=-1)
    nodes["fc1"] = affine(c * size * size, 1024)
    nodes["lif_fc1"] = lif((1024,))
    nodes["fc2"] = affine(1024, 10)
    nodes["lif_fc2"] = lif((10,))
    nodes["output"] = nir.Output(output_type=np.array([10]))
    return chain(nodes)


def residual_graph(*, shortcut_scale: float | None = None) -> nir.NIRGraph:
    """Two residual blocks: an identity shortcut summed into lif_b, then a 1x1 stride-2 projection into lif_c.
    The same weights on every call."""
    rng = np.random.default_rng(1)
    nodes: dict[str, nir.NIRNode] = {
        "input": nir.Input(input_type=np.array([4, 8, 8])),
        "conv_a": conv(4, 4, 8, rng=rng),
        "lif_a": lif((4, 8, 8)),
        "conv_b": conv(4, 4, 8, rng=rng),
        "lif_b": lif((4, 8, 8), beta=0.95),
        "conv_c": conv(4, 8, 8, stride=2, rng=rng),
        "conv_s": conv(4, 8, 8, k=1, stride=[2, 2], padding=[0, 0], rng=rng),
        "lif_c": lif((8, 4, 4)),
        "flat": nir.Flatten(input_type={"input": np.array([8, 4, 4])}, start_dim=0, end_dim=-1),
        "fc": affine(128, 10),
        "lif_fc": lif((10,)),
        "output": nir.Output(output_type=np.array([10])),
    }
    edges = [
        ("input", "conv_a"),
        ("conv_a", "lif_a"),
        ("lif_a", "conv_b"),
        ("conv_b", "lif_b"),
        ("lif_a", "lif_b"),  # identity shortcut: two edges into lif_b sum
        ("lif_b", "conv_c"),
        ("conv_c", "lif_c"),
        ("lif_b", "conv_s"),
        ("lif_c", "flat"),
        ("flat", "fc"),
        ("fc", "lif_fc"),
        ("lif_fc", "output"),
    ]
    if shortcut_scale is None:
        edges.append(("conv_s", "lif_c"))
    else:
        nodes["scale_s"] = nir.Scale(scale=np.full((8, 4, 4), shortcut_scale, dtype=np.float32))
        edges += [("conv_s", "scale_s"), ("scale_s", "lif_c")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def layers_by_name(result) -> dict[str, dict]:  # noqa: ANN001
    return {entry["name"]: entry for entry in result.network["layers"]}


def neuron_of(result, name: str) -> dict:  # noqa: ANN001
    return {**result.network["defaults"]["neuron"], **layers_by_name(result)[name].get("neuron", {})}


# ---------------------------------------------------------------------------------------------- (1) VGG9
def test_vgg9_graph_imports_to_the_shipped_vgg9_loop_nests_and_costs(tmp_path: Path) -> None:
    result = import_nir(vgg9_graph(), name="vgg9-nir")
    imported = network_from_data(result.network, "imported")
    shipped = load_network("vgg9-cifar10")
    assert [layer.name for layer in imported.layers] == [layer.name for layer in shipped.layers]
    for got, want in zip(imported.layers, shipped.layers, strict=True):
        assert (got.kind, got.bounds, got.stride, got.padding, got.in_h, got.in_w, got.pool) == (
            want.kind,
            want.bounds,
            want.stride,
            want.padding,
            want.in_h,
            want.in_w,
            want.pool,
        ), got.name

    # the same (per-layer, deliberately uneven) spike densities in both files, then evaluate both
    densities = {layer.name: round(0.03 + 0.07 * i, 2) for i, layer in enumerate(shipped.layers)}
    paths = []
    for label, data in (("shipped", yaml.safe_load(SHIPPED_VGG9.read_text())), ("imported", result.network)):
        data = {**data, "layers": [{**entry, "spike_density": densities[entry["name"]]} for entry in data["layers"]]}
        path = tmp_path / f"{label}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        paths.append(path)
    a, b = (run_evaluate("generic3", str(p), dataflow="os") for p in paths)
    assert b.total.total_energy_pj == a.total.total_energy_pj
    assert b.total.cycles == a.total.cycles
    for la, lb in zip(a.layers, b.layers, strict=True):
        assert (lb.name, lb.cost.total_energy_pj, lb.cost.cycles) == (la.name, la.cost.total_energy_pj, la.cost.cycles)

    # weights: as exported, float32, one weight (and bias) per conv/linear layer
    conv_fc = [layer.name for layer in shipped.layers if layer.has_weights]
    assert set(result.weights) == {f"{n}.{t}" for n in conv_fc for t in ("weight", "bias")}
    assert result.weights["conv1.weight"].shape == (64, 3, 3, 3)
    assert result.weights["fc1.weight"].shape == (1024, 4096)
    assert all(w.dtype == np.float32 for w in result.weights.values())


# ---------------------------------------------------------------------------------------------- (2) residual
def test_residual_graph_imports_with_add_layers() -> None:
    result = import_nir(residual_graph())
    layers = layers_by_name(result)
    assert list(layers) == ["conv_a", "conv_b", "lif_b.add", "conv_c", "conv_s", "lif_c.add", "fc"]
    assert layers["lif_b.add"]["kind"] == "add"
    assert layers["lif_b.add"]["inputs"] == ["conv_b", "conv_a"]
    assert layers["conv_s"]["input"] == "lif_b.add"
    assert (layers["conv_s"]["kernel"], layers["conv_s"]["stride"], layers["conv_s"]["padding"]) == (1, 2, 0)
    assert layers["lif_c.add"]["inputs"] == ["conv_c", "conv_s"]
    assert neuron_of(result, "lif_b.add")["leak"] == pytest.approx(0.95, abs=1e-6)  # lif_b belongs to the add
    assert "neuron" not in layers["conv_b"]  # no neuron of its own: reported, default neuron
    assert any("'conv_b'" in n and "no neuron" in n for n in result.notes)

    net = network_from_data(result.network, "residual")
    add = net.layer("lif_b.add")
    assert (add.bounds[2:], add.in_h) == ((4, 4, 8, 8, 1, 1), 8)
    assert net.layer("lif_c.add").bounds[2:] == (8, 8, 4, 4, 1, 1)


def test_a_scale_on_a_residual_branch_is_folded_into_the_conv_before_it() -> None:
    plain = import_nir(residual_graph())
    scaled = import_nir(residual_graph(shortcut_scale=0.5))
    np.testing.assert_allclose(scaled.weights["conv_s.weight"], 0.5 * plain.weights["conv_s.weight"], rtol=1e-6)
    np.testing.assert_allclose(scaled.weights["conv_s.bias"], 0.5 * plain.weights["conv_s.bias"], rtol=1e-6)
    np.testing.assert_array_equal(scaled.weights["conv_c.weight"], plain.weights["conv_c.weight"])
    assert scaled.approximations == ()
    assert any("'scale_s'" in n and "conv_s" in n for n in scaled.notes)


# ---------------------------------------------------------------------------------------------- (3) refusals
UNSUPPORTED = {
    "Conv1d": lambda: nir.Conv1d(
        input_shape=4, weight=np.ones((4, 4, 1)), stride=1, padding=0, dilation=1, groups=1, bias=np.zeros(4)
    ),
    "CubaLI": lambda: nir.CubaLI(tau_syn=np.ones(4), tau_mem=np.ones(4), r=np.ones(4), v_leak=np.zeros(4)),
    "I": lambda: nir.I(r=np.ones(4)),
    "Delay": lambda: nir.Delay(delay=np.ones(4)),
    "NIRGraph": lambda: nir.NIRGraph(
        nodes={"i": nir.Input(input_type=np.array([4])), "o": nir.Output(output_type=np.array([4]))},
        edges=[("i", "o")],
        type_check=False,
    ),
}


def test_every_nir_node_type_is_supported_or_tested_as_refused() -> None:
    types = {n for n in dir(nir) if isinstance(getattr(nir, n), type) and issubclass(getattr(nir, n), nir.NIRNode)}
    types.discard("NIRNode")
    assert types - set(SUPPORTED_NODE_TYPES) == set(UNSUPPORTED)


@pytest.mark.parametrize("kind", sorted(UNSUPPORTED))
def test_unsupported_node_types_are_refused_by_name(kind: str) -> None:
    graph = chain(
        {
            "input": nir.Input(input_type=np.array([4])),
            "fc": affine(4, 4),
            "odd_node": UNSUPPORTED[kind](),
            "output": nir.Output(output_type=np.array([4])),
        }
    )
    with pytest.raises(ValueError, match=rf"unsupported NIR node type: node 'odd_node' \({kind}[ )]") as info:
        import_nir(graph)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("nodes", "edges", "match"),
    [
        ({"in": nir.Input(input_type=np.array([4])), "lif": lif((4,))}, [("in", "lif")], r"'lif' \(LIF\): reads"),
        (
            {"in": nir.Input(input_type=np.array([4])), "fc": affine(4, 4), "l1": lif((4,)), "l2": lif((4,))},
            [("in", "fc"), ("fc", "l1"), ("l1", "l2")],
            r"'l2' \(LIF\): follows another neuron",
        ),
        (
            {"in": nir.Input(input_type=np.array([4])), "fc": affine(4, 4), "l1": lif((4,)), "fb": affine(4, 4)},
            [("in", "fc"), ("fc", "l1"), ("l1", "fb"), ("fb", "l1")],
            r"'l1' \(LIF\) is on a cycle",
        ),
        (
            {"in": nir.Input(input_type=np.array([4])), "fc": affine(4, 4), "lost": affine(4, 4)},
            [("in", "fc")],
            r"'lost' \(Affine\) is not reachable",
        ),
        (
            {"in": nir.Input(input_type=np.array([4])), "fc": affine(4, 4), "l1": lif((4,)), "fc2": affine(4, 4)},
            [("in", "fc"), ("fc", "l1"), ("fc", "fc2")],
            r"'l1' \(LIF\): the output of layer 'fc' also goes elsewhere",
        ),
        (
            {"in": nir.Input(input_type=np.array([2, 8, 8])), "c": conv(2, 2, 8, stride=[1, 2])},
            [("in", "c")],
            r"'c' \(Conv2d\): stride \[1, 2\]",
        ),
    ],
    ids=["neuron-on-input", "neuron-after-neuron", "recurrent", "unreachable", "pre-neuron-fanout", "stride-pair"],
)
def test_structures_the_schema_cannot_hold_are_refused_naming_the_node(nodes, edges, match) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=match):
        import_nir(nir.NIRGraph(nodes=nodes, edges=edges, type_check=False))


# ---------------------------------------------------------------------------------------------- (4) neurons
def mlp(neuron: nir.NIRNode, n: int = 4) -> nir.NIRGraph:
    return chain(
        {
            "input": nir.Input(input_type=np.array([3])),
            "fc": affine(3, n),
            "nrn": neuron,
            "output": nir.Output(output_type=np.array([n])),
        }
    )


def test_snntorch_lif_beta_09_is_leak_09_with_hard_reset_reported() -> None:
    node = lif((4,), beta=0.9, threshold=1.25)
    assert node.tau.dtype == np.float32
    assert float(node.tau[0]) == pytest.approx(9.999997e-4, rel=1e-7)  # dt/(1-beta) in float32
    assert float(node.r[0]) == pytest.approx(9.999997, rel=1e-7)
    result = import_nir(mlp(node))
    nrn = neuron_of(result, "fc")
    assert nrn["leak"] == pytest.approx(0.9, abs=1e-6)  # 1 - 1e-4 / 9.999997e-4 = 0.8999999(7)
    assert nrn["threshold"] == pytest.approx(1.25, rel=1e-6)  # gain dt*r/tau = 1: threshold as exported
    assert nrn["reset"] == "hard"
    assert any(n.startswith("reset:") and "--reset soft" in n for n in result.notes)
    assert neuron_of(import_nir(mlp(node), reset="soft"), "fc")["reset"] == "soft"
    assert result.approximations == ()


def test_if_lif_gain_and_time_constant_conversions_by_hand() -> None:
    n = 4
    # IF: leak 1; gain dt*r = 1e-4 * 1e4 = 1
    if_node = nir.IF(r=np.full(n, 1e4), v_threshold=np.full(n, 0.5), v_reset=np.zeros(n))
    assert neuron_of(import_nir(mlp(if_node)), "fc") == {"leak": 1.0, "threshold": 0.5, "reset": "hard"}
    # a LIF written with r = 1 and dt = 1e-3 (tau 10 ms): leak 1 - 1e-3/1e-2 = 0.9, gain 0.1 -> threshold 1/0.1
    norse = nir.LIF(tau=np.full(n, 1e-2), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n))
    result = import_nir(mlp(norse), dt=1e-3)
    assert neuron_of(result, "fc") == {"leak": 0.9, "threshold": 10.0, "reset": "hard"}
    assert any("gain 0.1" in note for note in result.notes)
    # beta 0.5 and 0.99 through dt/(1-beta)
    assert neuron_of(import_nir(mlp(lif((n,), beta=0.5))), "fc")["leak"] == pytest.approx(0.5, abs=1e-6)
    assert neuron_of(import_nir(mlp(lif((n,), beta=0.99))), "fc")["leak"] == pytest.approx(0.99, abs=1e-6)
    # tau shorter than dt gives no valid leak
    with pytest.raises(ValueError, match=r"'nrn' \(LIF\): leak"):
        import_nir(mlp(norse), dt=0.05)


def test_v_leak_becomes_a_bias_and_v_reset_is_an_approximation() -> None:
    node = lif((4,), beta=0.9, v_leak=0.5)  # drive (dt/tau)*v_leak per step = v_leak/r = 0.05 in input units
    plain = import_nir(mlp(lif((4,), beta=0.9)))
    graph = mlp(node)
    graph.nodes["fc"] = nir.Affine(weight=plain.weights["fc.weight"], bias=plain.weights["fc.bias"])
    result = import_nir(graph)
    np.testing.assert_allclose(result.weights["fc.bias"], plain.weights["fc.bias"] + 0.05, rtol=1e-5)
    node = lif((4,))
    node.v_reset = np.full(4, 0.2, dtype=np.float32)
    result = import_nir(mlp(node))
    assert any("v_reset = 0.2" in a for a in result.approximations)
    assert import_nir(mlp(node), reset="soft").approximations == ()


def test_non_uniform_parameters_are_refused_or_reduced_by_mean() -> None:
    node = lif((4,))
    node.tau = np.array([1e-3, 1e-3, 2e-3, 2e-3], dtype=np.float32)
    node.r = node.tau / DT
    with pytest.raises(ValueError, match=r"node 'nrn' \(LIF\): tau is not uniform .*--reduce mean"):
        import_nir(mlp(node))
    result = import_nir(mlp(node), reduce="mean")
    assert neuron_of(result, "fc")["leak"] == pytest.approx(1 - DT / 1.5e-3, abs=1e-6)
    assert any("'nrn'" in a and "tau ranges" in a for a in result.approximations)


def test_cubalif_li_threshold_are_listed_approximations_and_strict_refuses_them() -> None:
    n = 4
    alpha, beta = np.full(n, 0.5, np.float32), np.full(n, 0.9, np.float32)
    tau_syn, tau_mem = DT / (1 - alpha), DT / (1 - beta)  # snnTorch Synaptic: w_in = tau_syn/dt, r = tau_mem/dt
    cuba = nir.CubaLIF(
        tau_syn=tau_syn,
        tau_mem=tau_mem,
        r=tau_mem / DT,
        v_leak=np.zeros(n, np.float32),
        v_threshold=np.ones(n, np.float32),
        v_reset=np.zeros(n, np.float32),
        w_in=tau_syn / DT,
    )
    li = nir.LI(tau=np.full(n, 2e-3), r=np.full(n, 20.0), v_leak=np.zeros(n))
    threshold = nir.Threshold(threshold=np.full(n, 0.3))
    for node, word in ((cuba, "CubaLIF 'nrn': synaptic current"), (li, "LI 'nrn'"), (threshold, "Threshold 'nrn'")):
        result = import_nir(mlp(node))
        assert any(a.startswith(word) for a in result.approximations), result.approximations
        assert word.split()[0] in result.network["source"]
        with pytest.raises(ValueError, match=r"strict: 1 parameter"):
            import_nir(mlp(node), strict=True)
    assert neuron_of(import_nir(mlp(cuba)), "fc") == {"leak": 0.9, "threshold": 1.0, "reset": "hard"}
    assert neuron_of(import_nir(mlp(li)), "fc")["leak"] == pytest.approx(0.95, abs=1e-6)
    assert neuron_of(import_nir(mlp(threshold)), "fc") == {"leak": 1e-6, "threshold": 0.3, "reset": "hard"}


def test_scale_and_sumpool_factors_are_folded_into_the_next_weights() -> None:
    base = small_conv_graph()
    plain = import_nir(base)
    nodes = dict(base.nodes)
    nodes["pool1"] = nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0]))
    summed = import_nir(chain(nodes))
    assert layers_by_name(summed)["pool1"]["pool"] == "avg"
    np.testing.assert_allclose(summed.weights["fc.weight"], 4 * plain.weights["fc.weight"], rtol=1e-6)
    # a per-channel Scale between the LIF's spikes and the pool: folded into fc's input columns
    scale = np.arange(1, 5, dtype=np.float32).reshape(4, 1, 1)
    nodes = dict(base.nodes)
    order = ["input", "conv1", "lif1", "scale", "pool1", "flat", "fc", "lif2", "output"]
    nodes["scale"] = nir.Scale(scale=np.broadcast_to(scale, (4, 8, 8)).copy())
    scaled = import_nir(chain({k: nodes[k] for k in order}))
    want = plain.weights["fc.weight"] * np.repeat(np.arange(1, 5), 16)[None, :]
    np.testing.assert_allclose(scaled.weights["fc.weight"], want, rtol=1e-6)
    assert scaled.approximations == ()


def test_scalar_and_pair_kernel_stride_padding_forms_are_the_same_layer() -> None:
    graphs = []
    for form in (lambda v: v, lambda v: [v, v], lambda v: np.array([v, v]), lambda v: np.int64(v)):
        g = small_conv_graph()
        g.nodes["conv1"].stride, g.nodes["conv1"].padding = form(1), form(1)
        g.nodes["pool1"].kernel_size, g.nodes["pool1"].stride = form(2), form(2)
        graphs.append(import_nir(g).network["layers"])
    assert all(layers == graphs[0] for layers in graphs)
    g = small_conv_graph()
    g.nodes["conv1"].padding = "same"
    assert import_nir(g).network["layers"] == graphs[0]


# ---------------------------------------------------------------------------------------------- (5) CLI
def test_cli_round_trip_writes_yaml_and_npz_that_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph = small_conv_graph()
    model = tmp_path / "small.nir"
    nir.write(model, graph)
    out, npz = tmp_path / "small.yaml", tmp_path / "small.npz"
    assert main(["import-nir", str(model), "--out", str(out), "--weights", str(npz), "-T", "2"]) == 0
    printed = capsys.readouterr().out
    assert "conv1" in printed and "notes:" in printed and "analog input" in printed and "wrote" in printed
    net = load_network(out)
    assert (net.name, net.timesteps, [layer.name for layer in net.layers]) == ("small", 2, ["conv1", "pool1", "fc"])
    assert net.layer("conv1").spike_density == 1.0  # direct coding: the analog input counts every value
    with np.load(npz, allow_pickle=False) as z:
        assert sorted(z.files) == ["conv1.bias", "conv1.weight", "fc.bias", "fc.weight"]
        np.testing.assert_array_equal(z["conv1.weight"], graph.nodes["conv1"].weight)
        np.testing.assert_array_equal(z["fc.bias"], graph.nodes["fc"].bias)
        assert all(z[k].dtype == np.float32 for k in z.files)
    assert "Imported by spikeloop import-nir from NIR file small.nir" in net.source


def test_cli_errors_are_one_line_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph = chain(
        {
            "input": nir.Input(input_type=np.array([4])),
            "fc": affine(4, 4),
            "wait": nir.Delay(delay=np.ones(4)),
            "output": nir.Output(output_type=np.array([4])),
        }
    )
    model = tmp_path / "delay.nir"
    nir.write(model, graph)
    assert main(["import-nir", str(model), "--out", str(tmp_path / "d.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "node 'wait' (Delay)" in err
    cuba = mlp(nir.LI(tau=np.full(4, 2e-3), r=np.full(4, 20.0), v_leak=np.zeros(4)))
    nir.write(tmp_path / "li.nir", cuba)
    assert main(["import-nir", str(tmp_path / "li.nir"), "--out", str(tmp_path / "li.yaml"), "--strict"]) == 2
    assert "strict" in capsys.readouterr().err
    assert not (tmp_path / "li.yaml").exists()


def test_python_writers_match_the_cli_files(tmp_path: Path) -> None:
    result = import_nir(small_conv_graph(), name="small")
    text = network_yaml(result)
    assert yaml.safe_load(text) == result.network
    write_network(result, tmp_path / "n.yaml")
    write_weights(result, tmp_path / "n.npz")
    assert load_network(tmp_path / "n.yaml").name == "small"
    with np.load(tmp_path / "n.npz", allow_pickle=False) as z:
        assert set(z.files) == set(result.weights)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.notes = ()  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------- snnTorch (optional)
def _snntorch():  # noqa: ANN202
    torch = pytest.importorskip("torch")
    snn = pytest.importorskip("snntorch")
    pytest.importorskip("nirtorch")
    import snntorch.utils  # noqa: F401 - makes snn.utils (reset) available
    from snntorch.export_nir import export_to_nir

    return torch, snn, export_to_nir


def test_snntorch_export_imports_and_reproduces_its_spikes(tmp_path: Path) -> None:
    """An snnTorch MLP (reset to zero, the reset the exporter writes) exported to NIR and imported: a numpy run of
    the imported neurons and weights gives snnTorch's output spikes exactly; a conv model imports to its shapes."""
    torch, snn, export_to_nir = _snntorch()
    torch.manual_seed(0)
    beta1, beta2 = torch.full((12,), 0.9), torch.full((5,), 0.8)
    net = torch.nn.Sequential(
        torch.nn.Linear(6, 12),
        snn.Leaky(beta=beta1, threshold=torch.full((12,), 0.5), init_hidden=True, reset_mechanism="zero"),
        torch.nn.Linear(12, 5),
        snn.Leaky(beta=beta2, threshold=torch.ones(5), init_hidden=True, reset_mechanism="zero", output=True),
    )
    x = torch.rand(16, 6) * 2
    nir.write(tmp_path / "mlp.nir", export_to_nir(net, x[:1], ignore_dims=[0]))
    result = import_nir(tmp_path / "mlp.nir")
    net_data = network_from_data(result.network, "mlp")
    layers = [layer for layer in net_data.layers if layer.has_weights]
    assert len(layers) == 2 and result.approximations == ()

    steps = 12
    with torch.no_grad():
        snn.utils.reset(net)
        want = np.stack([net(x)[0].numpy() for _ in range(steps)])
    h = x.numpy().astype(np.float64)
    u = [np.zeros((16, layer.bounds[2])) for layer in layers]  # K output neurons per sample
    got = []
    for _ in range(steps):
        a = h
        for i, layer in enumerate(layers):
            w, b = result.weights[f"{layer.name}.weight"], result.weights[f"{layer.name}.bias"]
            u[i] = layer.neuron.leak * u[i] + a @ w.T.astype(np.float64) + b
            s = (u[i] >= layer.neuron.threshold).astype(np.float64)
            u[i] = u[i] * (1 - s)  # hard reset
            a = s
        got.append(a)
    assert np.array_equal(np.stack(got), want)
    assert want.sum() > 0 and want.sum() < want.size  # some spikes, not all

    conv_net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        snn.Leaky(beta=torch.full((4, 8, 8), 0.9), threshold=torch.ones(4, 8, 8), init_hidden=True),
        torch.nn.AvgPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(64, 10),
        snn.Leaky(beta=torch.full((10,), 0.9), threshold=torch.ones(10), init_hidden=True, output=True),
    )
    nir.write(tmp_path / "conv.nir", export_to_nir(conv_net, torch.rand(1, 1, 8, 8), ignore_dims=[0]))
    conv_result = import_nir(tmp_path / "conv.nir")
    kinds = [(e["kind"], e.get("out_channels", e.get("out_features"))) for e in conv_result.network["layers"]]
    assert kinds == [("conv", 4), ("pool", None), ("linear", 10)]
    assert network_from_data(conv_result.network, "conv").layers[1].bounds[2:] == (4, 4, 4, 4, 2, 2)
