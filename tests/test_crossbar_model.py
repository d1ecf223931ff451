"""End-to-end crossbar accuracy model on the shipped digits SNN: ideal equivalence, accuracy, the paper's findings."""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import json  # noqa: E402
from dataclasses import replace  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from crossbar.circuit import GeffCache  # noqa: E402
from crossbar.data import Split  # noqa: E402
from crossbar.experiments import (  # noqa: E402
    Experiment,
    accuracy_sweep,
    adapt_batchnorm,
    default_settings,
    exit_timestep_distribution,
    sweep_markdown,
)
from crossbar.mapping import CrossbarBackend, CrossbarSettings, Encoding, program_chip  # noqa: E402
from crossbar.model_io import REFERENCE_MODEL, load_model, model_from_state_dict  # noqa: E402
from crossbar.snn import SoftwareBackend, forward, im2col, predict, weight_matrix  # noqa: E402


@pytest.fixture(scope="module")
def experiment() -> Experiment:
    return Experiment(threads=1)


@pytest.fixture(scope="module")
def losses(experiment) -> dict:
    """Accuracy loss vs software at device defaults (seed 0) for the configurations the paper's findings need."""
    sw = float((predict(experiment.software_outputs(4)) == experiment.split.y_test).mean())
    out = {}
    for enc, r, bn in [
        ("offset", 5.0, False),
        ("hrs", 5.0, False),
        ("offset", 2.5, False),
        ("hrs", 2.5, False),
        ("offset", 5.0, True),
    ]:
        s = default_settings(encoding=Encoding(enc), r_row_ohm=r, r_col_ohm=r)
        o, _ = experiment.crossbar_outputs(s, bn_adapt=bn)
        out[(enc, r, bn)] = sw - float((predict(o) == experiment.split.y_test).mean())
    print(out)
    return out


@pytest.fixture(scope="module")
def sweep(experiment) -> dict:
    """A small sweep (120 test images, 128 adaptation images) to check the structure of the result."""
    sp = experiment.split
    small = Split(x_train=sp.x_train, y_train=sp.y_train, x_test=sp.x_test[:120], y_test=sp.y_test[:120])
    exp = Experiment(experiment.model, small, experiment.cache, adapt_images=128)
    return accuracy_sweep(
        default_settings(),
        wire_ohms=(0.0, 5.0),
        encodings=(Encoding.OFFSET,),
        dt_thresholds=(0.05, 0.2),
        dt_encoding=Encoding.OFFSET,
        dt_wire_ohm=5.0,
        experiment=exp,
    )


def test_shipped_model_software_accuracy(experiment):
    out = experiment.software_outputs(4)
    acc = float((predict(out) == experiment.split.y_test).mean())
    assert acc >= 0.95, acc
    assert len(experiment.split.y_test) == 360 and len(experiment.split.y_train) == 1437


@pytest.mark.parametrize(
    ("encoding", "bits_per_cell"),
    [(Encoding.OFFSET, 4), (Encoding.DIFFERENTIAL, 4), (Encoding.HRS, 4), (Encoding.OFFSET, 1)],
)
def test_ideal_crossbar_equals_software_quantized(experiment, encoding, bits_per_cell):
    model, x = experiment.model, experiment.split.x_test[:120]
    settings = CrossbarSettings(encoding=encoding, bits_per_cell=bits_per_cell, float64=True)
    chip = program_chip(model, settings, GeffCache())
    sw = forward(model, x, SoftwareBackend(model, bits=4, dtype=np.float64), dtype=np.float64)
    xb = forward(model, x, CrossbarBackend(chip), dtype=np.float64)
    np.testing.assert_array_equal(predict(xb), predict(sw))
    np.testing.assert_allclose(xb, sw, rtol=1e-9, atol=1e-9 * np.abs(sw).max())
    # raw column currents of every crossbar = V_r · x @ G (ideal), layer by layer, to 1e-9 relative
    backend = CrossbarBackend(chip)
    cols, _ = im2col(np.asarray(x, np.float64).transpose(0, 2, 3, 1), 3, 3, 1, 1)
    lay = chip.layers[0]
    cur = backend.tile_currents(0, cols)
    expected = 0.1 * cols @ lay.g_programmed.reshape(-1, lay.g_programmed.shape[-1])[: lay.n_in]
    np.testing.assert_allclose(cur.sum(axis=0), expected, rtol=1e-9)
    # the decoded layer output equals the quantized software matmul
    w_q = SoftwareBackend(model, bits=4, dtype=np.float64).mats[0]
    np.testing.assert_allclose(backend.matmul(0, cols, 0), cols @ w_q, rtol=1e-9, atol=1e-12)
    assert np.array_equal(weight_matrix(model.weight_layers()[0]).shape, w_q.shape)


def test_nonideal_chip_is_seeded(experiment):
    model, x = experiment.model, experiment.split.x_test[:40]
    s = default_settings(encoding=Encoding.OFFSET, r_row_ohm=2.5, r_col_ohm=2.5)
    cal = experiment.calibration(s)
    runs = [
        forward(model, x, CrossbarBackend(program_chip(model, replace(s, seed=k), experiment.cache, cal)))
        for k in (0, 0, 1)
    ]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])
    sw = forward(model, x, SoftwareBackend(model, bits=4))
    assert not np.allclose(runs[0], sw, rtol=1e-3)  # the non-idealities do act


def test_ir_drop_costs_offset_more_than_hrs(losses):
    assert losses[("offset", 5.0, False)] - losses[("hrs", 5.0, False)] >= 0.03  # clearly more (measured ~8 points)
    assert losses[("offset", 2.5, False)] >= losses[("hrs", 2.5, False)]
    assert losses[("hrs", 5.0, False)] <= 0.02


def test_bn_adaptation_recovers_most_of_the_loss(losses):
    assert losses[("offset", 5.0, False)] > 0.03
    assert losses[("offset", 5.0, True)] <= 0.5 * losses[("offset", 5.0, False)]


def test_sweep_structure_and_dt_snn(sweep):
    assert set(sweep) >= {"software_accuracy", "settings", "rows", "dt_rows"}
    assert len(sweep["rows"]) == 2 and sweep["rows"][1]["wire_ohm"] == 5.0
    dt = [r for r in sweep["dt_rows"] if r["threshold"] is not None]
    means = [r["crossbar"]["mean_timesteps"] for r in dt]
    assert means[0] >= means[1]  # a looser threshold exits earlier
    for r in dt:
        assert sum(r["crossbar"]["distribution"].values()) == pytest.approx(1.0)
        assert 1.0 <= r["crossbar"]["mean_timesteps"] <= 4.0
    json.dumps(sweep)  # JSON-ready
    table = sweep_markdown(sweep)
    assert "| 5 |" in table and "DT-SNN" in table
    assert sweep["rows"][1]["accuracy"] < sweep["rows"][0]["accuracy"]  # 5 ohm hurts the offset encoding


def test_exit_distribution_for_the_cost_model(experiment):
    d = exit_timestep_distribution(0.1, experiment=experiment)
    assert set(d.fractions) == {1, 2, 3, 4}
    assert sum(d.fractions.values()) == pytest.approx(1.0)
    assert d.mean_timesteps == pytest.approx(sum(t * f for t, f in d.fractions.items()))
    assert d.mean_timesteps < 4.0 and d.accuracy >= 0.95
    never = exit_timestep_distribution(0.0, experiment=experiment)
    assert never.fractions[4] == 1.0 and never.mean_timesteps == 4.0


def test_bn_adaptation_changes_only_bn_statistics(experiment):
    model = experiment.model
    adapted = adapt_batchnorm(model, SoftwareBackend(model, bits=4), experiment.split.x_train[:256])
    for a, b in zip(model.layers, adapted.layers, strict=True):
        if hasattr(a, "weight"):
            assert a is b
    bn0, bn1 = model.batchnorms()[1], adapted.batchnorms()[1]
    assert not np.allclose(bn0.mean, bn1.mean)
    np.testing.assert_array_equal(bn0.gamma, bn1.gamma)
    # on the ideal (software) path the re-estimated statistics keep the accuracy
    out = forward(adapted, experiment.split.x_test, SoftwareBackend(adapted, bits=4))
    assert float((predict(out) == experiment.split.y_test).mean()) >= 0.95


def test_state_dict_loader_round_trip():
    with np.load(REFERENCE_MODEL) as z:
        meta = json.loads(str(z["__meta__"]))
        state = {k: z[k] for k in z.files if k != "__meta__"}
    model = model_from_state_dict(state, meta["layers"], timesteps=4, neuron=meta["neuron"])
    ref = load_model()
    x = np.random.default_rng(0).random((5, 1, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(
        forward(model, x, SoftwareBackend(model, bits=4)), forward(ref, x, SoftwareBackend(ref, bits=4))
    )
    state.pop("bn2.running_var")
    with pytest.raises(KeyError, match="bn2.running_var"):
        model_from_state_dict(state, meta["layers"], timesteps=4, neuron=meta["neuron"])


def test_torch_state_dict_loader():
    torch = pytest.importorskip("torch")
    with np.load(REFERENCE_MODEL) as z:
        meta = json.loads(str(z["__meta__"]))
        state = {k: torch.from_numpy(z[k].copy()) for k in z.files if k != "__meta__"}
    model = model_from_state_dict(state, meta["layers"], timesteps=4, neuron=meta["neuron"])
    ref = load_model()
    np.testing.assert_array_equal(model.weight_layers()[1].weight, ref.weight_layers()[1].weight)


def test_cli_accuracy_json(tmp_path, capsys):
    from spikeloop.cli import main

    out = tmp_path / "acc.json"
    assert (
        main(
            [
                "accuracy",
                "--ir-drop",
                "2.5",
                "--encoding",
                "hrs",
                "--adc-bits",
                "0",
                "--dt-threshold",
                "0.1",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    doc = json.loads(out.read_text())
    assert set(doc) >= {"software_accuracy", "crossbar_accuracy", "settings", "sweep"}
    assert 0.0 <= doc["crossbar_accuracy"] <= 1.0 and doc["sweep"] == []
    assert doc["settings"]["encoding"] == "hrs" and doc["settings"]["r_row_ohm"] == 2.5
    assert doc["settings"]["adc_bits"] is None
    assert sum(doc["dt_snn"]["distribution"].values()) == pytest.approx(1.0)
    assert "| hrs | 2.5 |" in capsys.readouterr().out
    assert main(["accuracy", "--encoding", "magnitude"]) == 2
    assert "--encoding: expected offset, differential or hrs, got 'magnitude'" in capsys.readouterr().err


def test_tile_by_tile_path_matches_folded_path(experiment):
    """A fine ADC (30 bits, full scale above every current) must reproduce the folded no-ADC path."""
    model = experiment.model
    x = experiment.split.x_test[:30]
    s = CrossbarSettings(encoding=Encoding.OFFSET, r_row_ohm=2.5, r_col_ohm=2.5, variation_sigma=0.05, float64=True)
    chip = program_chip(model, s, experiment.cache)
    fine = program_chip(model, replace(s, adc_bits=30), experiment.cache, adc_full_scales=(1e-2,) * 3)
    a = forward(model, x, CrossbarBackend(chip), dtype=np.float64)
    b = forward(model, x, CrossbarBackend(fine), dtype=np.float64)
    np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6 * np.abs(a).max())
    coarse = program_chip(model, replace(s, adc_bits=3), experiment.cache, adc_full_scales=(1e-4,) * 3)
    c = forward(model, x, CrossbarBackend(coarse), dtype=np.float64)
    assert np.abs(c - a).max() > 1e-2 * np.abs(a).max()  # a coarse ADC does change the result


@pytest.mark.parametrize("adc_bits", [None, 30])
def test_read_noise_has_the_per_cell_std(experiment, adc_bits):
    """Output std under read noise = σ·sqrt(Σ_p α_p² Σ_i (x_i G_p,i)²)/ΔG·s (independent per cell and plane)."""
    model = experiment.model
    s = CrossbarSettings(encoding=Encoding.HRS, read_noise_sigma=0.05, adc_bits=adc_bits, float64=True)
    chip = program_chip(model, s, experiment.cache, None if adc_bits is None else (1e-2,) * 3)
    lay = chip.layers[1]
    rng = np.random.default_rng(0)
    x = (rng.random(lay.n_in) < 0.3).astype(np.float64)
    cols = np.tile(x, (4000, 1))
    out = CrossbarBackend(chip).matmul(1, cols, 0)
    g = lay.g_programmed.reshape(-1, lay.g_programmed.shape[-1])[: lay.n_in]
    k = lay.n_out
    var = sum(
        a**2 * ((x[:, None] * g[:, p * k : (p + 1) * k]) ** 2).sum(axis=0) for p, a in enumerate(lay.encoded.alphas)
    )
    expected = 0.05 * np.sqrt(var) / lay.delta_g_s * lay.encoded.scale
    np.testing.assert_allclose(out.std(axis=0), expected, rtol=0.08)


def test_cli_train_reference_one_epoch(tmp_path, capsys):
    pytest.importorskip("torch")
    from spikeloop.cli import main

    out = tmp_path / "m.npz"
    assert main(["train-reference", "--epochs", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "1 epochs" in text and "(numpy, 4-bit)" in text
    model = load_model(out)
    assert model.timesteps == 4 and model.meta["train"]["epochs"] == 1
    torch_acc, numpy_acc = (float(p.split(" %")[0].split()[-1]) for p in text.split("), ")[:2])
    assert torch_acc == numpy_acc  # numpy inference reproduces the torch fake-quantized model
