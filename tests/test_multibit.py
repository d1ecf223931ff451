"""Multi-bit tensors and non-spiking layers: hand-computed prices, the refusals, and the loader's errors."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

import archspecs
from costmodel.arch import arch_from_dict, load_arch
from costmodel.cost import Cost, Key
from costmodel.evaluate import evaluate
from costmodel.mapping import Invalid, InvalidKind
from costmodel.network import network_from_data
from costmodel.specio import SpecError, load_yaml
from costmodel.types import Action, Activation, Tensor
from costmodel.workload import Layer, conv_layer
from mappers.dataflows import CROSSBAR_FLOWS, dataflow
from mappers.heuristic import crossbar_mapping, heuristic_mapping
from spikeloop.cli import main


def _generic3(**compute: object) -> dict:
    """generic3 with accumulate-only PEs (no mac_pj) unless ``compute`` gives one."""
    data = copy.deepcopy(load_yaml(archspecs.arch_path("generic3")))
    data["compute"].pop("mac_pj", None)
    data["compute"].update(compute)
    return data


def _cost(arch_data: dict, layer: Layer) -> Cost:
    arch = arch_from_dict(arch_data, "test.yaml")
    m = heuristic_mapping(arch, layer, dataflow("os"))
    assert not isinstance(m, Invalid), m
    c = evaluate(arch, layer, m)
    assert not isinstance(c, Invalid), c
    return c


def _layer(**kw: object) -> Layer:
    base: dict = {"K": 8, "C": 4, "P": 4, "R": 3, "padding": 1, "spike_density": 0.5}
    base.update(kw)
    return conv_layer("conv", **base)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ compute prices
def test_multibit_inputs_are_priced_as_macs() -> None:
    layer = _layer(input_bits=8)
    c = _cost(_generic3(mac_pj=0.25), layer)
    # 8 x 4 x 4 x 4 x 3 x 3 = 4608 MACs, half the inputs non-zero: 2304 x 0.25 pJ
    assert c.macs == 4608
    assert c.energy_pj[Key("compute", None, Action.MAC)] == pytest.approx(2304 * 0.25)
    assert Key("compute", None, Action.AC) not in c.energy_pj


def test_bit_serial_pes_take_one_accumulate_and_one_step_per_input_bit() -> None:
    one_bit = _cost(_generic3(mac_pj="bit-serial"), _layer())
    eight = _cost(_generic3(mac_pj="bit-serial"), _layer(input_bits=8))
    ac = Key("compute", None, Action.AC)
    assert eight.energy_pj[ac] == pytest.approx(8 * one_bit.energy_pj[ac])  # 2304 x 8 x 0.03 pJ
    assert eight.energy_pj[ac] == pytest.approx(2304 * 8 * 0.03)
    assert eight.cycles == pytest.approx(8 * one_bit.cycles)


def test_accumulate_only_pes_refuse_multibit_inputs() -> None:
    arch = arch_from_dict(_generic3(), "ac-only.yaml")
    m = heuristic_mapping(arch, _layer(), dataflow("os"))
    assert not isinstance(evaluate(arch, _layer(), m), Invalid)  # the 1-bit layer runs
    bad = evaluate(arch, _layer(input_bits=8), m)  # the same mapping, 8-bit inputs
    assert isinstance(bad, Invalid) and bad.kind is InvalidKind.UNSUPPORTED and bad.key == "compute.mac_pj"


def test_non_spiking_layer_has_no_membrane_and_no_lif() -> None:
    spiking = _cost(_generic3(mac_pj=0.25), _layer())
    relu = _cost(
        _generic3(mac_pj=0.25, activation_pj=0.01), _layer(activation=Activation.RELU, output_bits=8, input_bits=8)
    )
    assert any(k.tensor is Tensor.U for k in spiking.energy_pj)
    assert Key("compute", None, Action.LIF) in spiking.energy_pj
    assert not any(k.tensor is Tensor.U for k in relu.energy_pj)
    assert Key("compute", None, Action.LIF) not in relu.energy_pj
    assert relu.energy_pj[Key("compute", None, Action.ACTIVATION)] == pytest.approx(8 * 4 * 4 * 0.01)
    assert relu.macs == spiking.macs


def test_at_t1_and_density_1_snn_and_ann_compute_differ_only_by_the_operation_price() -> None:
    arch = _generic3(mac_pj=0.25)
    snn = _cost(arch, _layer(spike_density=1.0))
    ann = _cost(arch, _layer(spike_density=1.0, input_bits=8, output_bits=8, activation=Activation.RELU))
    assert snn.energy_pj[Key("compute", None, Action.AC)] / 0.03 == pytest.approx(
        ann.energy_pj[Key("compute", None, Action.MAC)] / 0.25
    )


def test_output_activations_and_inputs_take_their_width_in_storage() -> None:
    """An 8-bit output activation costs 8x a spike's packed words at every level that moves it."""
    arch = _generic3(mac_pj=0.25)
    snn = _cost(arch, _layer(spike_density=1.0, input_bits=8))
    ann = _cost(arch, _layer(spike_density=1.0, input_bits=8, output_bits=8, activation=Activation.RELU))
    s_key = Key("DRAM", Tensor.S, Action.WRITE)
    assert ann.energy_pj[s_key] == pytest.approx(8 * snn.energy_pj[s_key])


def test_a_level_element_width_overrides_the_layers() -> None:
    base = _generic3()
    narrow = copy.deepcopy(base)
    narrow["levels"][2]["element_bits"] = {"O": 8}
    wide, cut = _cost(base, _layer()), _cost(narrow, _layer())
    key = Key("RF", Tensor.O, Action.UPDATE)
    assert cut.energy_pj[key] == pytest.approx(wide.energy_pj[key] / 2)  # 8 of 16 bits per packed word
    assert cut.energy_pj[Key("GLB", Tensor.I, Action.READ)] == wide.energy_pj[Key("GLB", Tensor.I, Action.READ)]


def test_crossbar_rows_take_multibit_inputs_bit_serially() -> None:
    arch = load_arch("spikeflow")
    layers = (_layer(K=16, C=8), _layer(K=16, C=8, input_bits=4))
    costs = []
    for layer in layers:
        m = crossbar_mapping(arch, layer, CROSSBAR_FLOWS["packed"].mapping)
        assert not isinstance(m, Invalid)
        c = evaluate(arch, layer, m)
        assert not isinstance(c, Invalid)
        costs.append(c)
    for key in (Key("ADC", Tensor.O, Action.READ), Key("crossbar", Tensor.W, Action.READ)):
        assert costs[1].energy_pj[key] == pytest.approx(4 * costs[0].energy_pj[key])
    assert costs[1].cycles == pytest.approx(4 * costs[0].cycles)


# ------------------------------------------------------------------------------------ loader errors
NET = {
    "name": "tiny",
    "timesteps": 2,
    "input": {"channels": 2, "height": 4, "width": 4},
    "defaults": {
        "weight_bits": 8,
        "psum_bits": 16,
        "membrane_bits": 16,
        "spike_density": 0.2,
        "weight_density": 1.0,
        "neuron": {"leak": 1.0, "threshold": 1.0, "reset": "soft"},
    },
    "layers": [
        {"name": "c1", "kind": "conv", "out_channels": 4, "kernel": 3, "padding": 1, "input_bits": 8},
        {"name": "fc", "kind": "linear", "out_features": 3},
    ],
}


def test_network_widths_and_activations_load() -> None:
    net = network_from_data(copy.deepcopy(NET), "tiny.yaml")
    assert net.layers[0].input_bits == 8 and net.layers[1].input_bits == 1
    relu = copy.deepcopy(NET)
    relu["defaults"].update(neuron="relu", output_bits=8)
    ann = network_from_data(relu, "ann.yaml")
    assert all(la.activation is Activation.RELU and la.output_bits == 8 for la in ann.layers)
    mixed = copy.deepcopy(NET)  # a non-spiking readout after spiking layers
    mixed["layers"][1].update(neuron="none", output_bits=16)
    last = network_from_data(mixed, "mixed.yaml").layers[1]
    assert (last.activation, last.output_bits, last.spiking) == (Activation.NONE, 16, False)


@pytest.mark.parametrize(
    ("edit", "where", "words"),
    [
        (lambda d: d["layers"][0].update(input_bits=0), "layers[0].input_bits", "positive integer"),
        (lambda d: d["layers"][0].update(input_bits=-8), "layers[0].input_bits", "positive integer"),
        (lambda d: d["layers"][0].update(input_bits=1.5), "layers[0].input_bits", "integer"),
        (lambda d: d["layers"][0].update(input_bits="8"), "layers[0].input_bits", "integer"),
        (lambda d: d["layers"][0].update(input_bits=65), "layers[0].input_bits", "64"),
        (lambda d: d["layers"][1].update(output_bits=8), "layers[1].output_bits", "spiking layer outputs 1-bit"),
        (lambda d: d["layers"][1].update(neuron="relu"), "layers[1].output_bits", "required for a non-spiking"),
        (lambda d: d["layers"][1].update(neuron="lif"), "layers[1].neuron", "a mapping"),
        (lambda d: d["layers"][1].update(neuron="sigmoid"), "layers[1].neuron", "relu"),
        (lambda d: d["defaults"].update(output_bits=0), "defaults.output_bits", "positive integer"),
    ],
)
def test_bad_widths_and_activations_name_the_key(edit, where: str, words: str) -> None:  # noqa: ANN001
    data = copy.deepcopy(NET)
    edit(data)
    with pytest.raises(SpecError) as info:
        network_from_data(data, "tiny.yaml")
    assert f"tiny.yaml: {where}" in str(info.value) and words in str(info.value), str(info.value)


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda d: d["levels"][2].update(element_bits={"Z": 8}), "levels[2].element_bits.Z"),
        (lambda d: d["levels"][2].update(element_bits={"S": 8}), "levels[2].element_bits.S"),  # RF does not keep S
        (lambda d: d["levels"][2].update(element_bits={"O": 0}), "levels[2].element_bits.O"),
        (lambda d: d["compute"].update(mac_pj=-1.0), "compute.mac_pj"),
        (lambda d: d["compute"].update(mac_pj="serial"), "compute.mac_pj"),
        (lambda d: d["compute"].update(activation_pj=float("nan")), "compute.activation_pj"),
    ],
)
def test_bad_arch_widths_and_mac_prices_name_the_key(edit, where: str) -> None:  # noqa: ANN001
    data = _generic3()
    edit(data)
    with pytest.raises(SpecError) as info:
        arch_from_dict(data, "x.yaml")
    assert str(info.value).startswith(f"x.yaml: {where}"), str(info.value)


def test_cli_refuses_multibit_inputs_on_accumulate_only_pes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f, a = tmp_path / "direct.yaml", tmp_path / "ac-only.yaml"
    f.write_text(yaml.safe_dump(NET))
    a.write_text(yaml.safe_dump(_generic3()))
    code = main(["evaluate", "--arch", str(a), "--network", str(f)])
    err = capsys.readouterr().err
    assert code == 2
    assert "compute.mac_pj" in err and "8-bit inputs" in err and err.count("\n") == 1, err


def test_layer_refuses_multibit_spikes_directly() -> None:
    with pytest.raises(ValueError, match="output_bits must be 1 for a spiking layer"):
        replace(_layer(), output_bits=8)
