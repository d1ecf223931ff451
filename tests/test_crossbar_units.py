"""Hand-computed unit tests for the crossbar model's equations: quantizer, encodings, conductance, ADC, LIF, DIFF."""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

from costmodel.specio import SpecError  # noqa: E402
from costmodel.workload import Reset  # noqa: E402
from crossbar import equations as eq  # noqa: E402
from crossbar.device import DEFAULT_ARCH, load_device  # noqa: E402
from crossbar.experiments import dt_snn  # noqa: E402
from crossbar.mapping import CrossbarSettings, Encoding, bit_slices, encode_weights  # noqa: E402


def test_quantizer_by_hand():
    # 4 bits: Q = 7; column max |w| = 0.7 -> s = 0.1; 0.25 -> round(2.5) = 2 (half to even); -0.66 -> -7
    w = np.array([[0.7, 0.0], [0.25, 0.1], [-0.66, -0.35]])
    s = eq.quantization_scale(np.abs(w).max(axis=0), 4)
    np.testing.assert_allclose(s, [0.1, 0.05])
    q = eq.quantize(w, s, 4)
    np.testing.assert_array_equal(q, [[7, 0], [2, 2], [-7, -7]])
    assert eq.max_weight_level(4) == 7 and eq.max_weight_level(8) == 127
    # all-zero channel: scale 1, weights 0
    assert eq.quantization_scale(np.array([0.0]), 4)[0] == 1.0
    # clipping beyond Q
    assert eq.quantize(np.array([1.0]), np.array([0.1]), 4)[0] == 7


def test_offset_code_and_diff_correction_by_hand():
    q = np.array([-7, -1, 0, 1, 7])
    np.testing.assert_array_equal(eq.offset_code(q, 4), [1, 7, 0, 1, 7])
    # one column, inputs x = [1, 1, 0, 1, 1]: Σ x·code = 1+7+1+7 = 16; DIFF = 8·(x on q<0) = 8·2 = 16 -> Σ x q = 0
    x = np.array([[1.0, 1.0, 0.0, 1.0, 1.0]])
    neg = (q < 0)[:, None]
    corr = eq.diff_correction(x, neg, 4)
    assert corr[0, 0] == 16.0
    assert (x @ eq.offset_code(q, 4)[:, None])[0, 0] - corr[0, 0] == (x @ q[:, None])[0, 0] == 0.0


def test_conductance_mapping_by_hand():
    # G = Gmin + level·(Gmax - Gmin)/L: 5 uS + 3·45/15 uS = 14 uS
    g = eq.level_to_conductance(np.array([0, 3, 15]), 5e-6, 50e-6, 15)
    np.testing.assert_allclose(g, [5e-6, 14e-6, 50e-6])
    # the inverse used digitally: (I - Gmin·V·Σx)/(ΔG·V) with one active row at level 3, V = 0.1
    lv = eq.levels_from_current(np.array([0.1 * 14e-6]), np.array([1.0]), 5e-6, 3e-6, 0.1)
    np.testing.assert_allclose(lv, [3.0])


def test_adc_by_hand():
    # 2 bits, full scale 3 uA: LSB 1 uA; 1.4 -> 1, 1.6 -> 2, -0.3 -> 0, 7 -> 3 (clipped)
    cur = np.array([1.4e-6, 1.6e-6, -0.3e-6, 7e-6])
    np.testing.assert_allclose(eq.adc_quantize(cur, 3e-6, 2), [1e-6, 2e-6, 0.0, 3e-6])


def test_lif_step_by_hand():
    u = np.array([0.5, 0.5, 0.0])
    x = np.array([0.6, 0.2, 1.5])
    u_soft, s = eq.lif_step(u, x, 0.9, 1.0, Reset.SOFT)  # 0.45+0.6 = 1.05 fires -> 0.05; 0.65; 1.5 -> 0.5
    np.testing.assert_allclose(s, [1, 0, 1])
    np.testing.assert_allclose(u_soft, [0.05, 0.65, 0.5])
    u_hard, s2 = eq.lif_step(u, x, 0.9, 1.0, Reset.HARD)
    np.testing.assert_allclose(s2, [1, 0, 1])
    np.testing.assert_allclose(u_hard, [0.0, 0.65, 0.0])


def test_read_noise_std_by_hand():
    # σ·sqrt(Σ (G V)^2): rows with V = 0.1, G = 10 uS and 20 uS -> sqrt(1e-12 + 4e-12)·0.01
    v = np.array([[0.1, 0.1]])
    g = np.array([[10e-6], [20e-6]])
    np.testing.assert_allclose(eq.read_noise_std(v, g, 0.01), [[0.01 * np.sqrt(5e-12)]])


def test_entropy_and_dt_snn_by_hand():
    assert eq.normalized_entropy(np.full(10, 0.1)) == pytest.approx(1.0)
    assert eq.normalized_entropy(np.eye(10)[3]) == pytest.approx(0.0, abs=1e-12)
    # 2 inputs, T = 3, 2 classes: input 0 confident at t=1, input 1 never confident -> exits at T
    out = np.array([[[20.0, 0.0], [0.1, 0.0]], [[20.0, 0.0], [0.0, 0.1]], [[20.0, 0.0], [0.0, 0.3]]])
    d = dt_snn(out, np.array([0, 1]), 0.1)
    assert d.fractions == {1: 0.5, 2: 0.0, 3: 0.5}
    assert d.mean_timesteps == 2.0
    assert d.accuracy == 1.0  # input 1 at t=3: mean (0.1/3, 0.4/3) -> class 1


@pytest.mark.parametrize("encoding", list(Encoding))
@pytest.mark.parametrize("bits_per_cell", [1, 2, 4])
def test_encodings_reconstruct_q(encoding, bits_per_cell):
    rng = np.random.default_rng(3)
    w = rng.normal(size=(20, 6))
    enc = encode_weights(w, encoding, 4, bits_per_cell)
    rec = sum(a * lev for a, lev in zip(enc.alphas, enc.levels, strict=True))
    if enc.negative_mask is not None:
        rec = rec - enc.diff_offset * enc.negative_mask
    np.testing.assert_array_equal(rec, enc.q)
    for lev in enc.levels:
        assert lev.min() >= 0 and lev.max() <= enc.max_level


def test_encoding_levels_by_hand():
    w = np.array([[-7.0], [-1.0], [0.0], [3.0], [7.0]])  # max 7 -> s = 1, q = w
    off = encode_weights(w, Encoding.OFFSET, 4, 4)
    np.testing.assert_array_equal(off.levels[0][:, 0], [1, 7, 0, 3, 7])
    assert off.max_level == 15 and off.diff_offset == 8
    hrs = encode_weights(w, Encoding.HRS, 4, 4)
    np.testing.assert_array_equal(hrs.levels[0][:, 0], [0, 0, 0, 3, 7])
    np.testing.assert_array_equal(hrs.levels[1][:, 0], [7, 1, 0, 0, 0])
    assert hrs.max_level == 7 and hrs.alphas == (1.0, -1.0)
    dif = encode_weights(w, Encoding.DIFFERENTIAL, 4, 4)
    np.testing.assert_array_equal(dif.levels[0][:, 0], [0, 6, 7, 10, 14])
    np.testing.assert_array_equal(dif.levels[1][:, 0], [14, 8, 7, 4, 0])
    assert dif.max_level == 14 and dif.alphas == (0.5, -0.5)
    # HRS keeps more cells at G_min than the offset code (the point of the mitigation)
    assert (np.stack(hrs.levels) == 0).mean() > (off.levels[0] == 0).mean()


def test_bit_slices_by_hand():
    sl = bit_slices(np.array([13]), 4, 2)  # 13 = 3·4 + 1
    assert [(int(d[0]), wt) for d, wt in sl] == [(1, 1), (3, 4)]


def test_device_loader_reads_yaml_and_rejects_unknown_keys(tmp_path):
    dev = load_device()
    assert dev.rows == 64 and dev.columns == 64
    assert dev.g_min_s == pytest.approx(5e-6) and dev.g_max_s == pytest.approx(50e-6)
    s = CrossbarSettings.from_device(dev, encoding=Encoding.HRS)
    assert s.encoding is Encoding.HRS and s.adc_bits == dev.adc_bits
    device = yaml.safe_load(DEFAULT_ARCH.read_text())["device"]
    device["cell"]["colour"] = "red"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"device": device}))
    with pytest.raises(SpecError, match=r"bad\.yaml: device\.cell\.colour: unknown key"):
        load_device(bad)
    del device["cell"]["colour"]
    device["wire"]["r_column_ohm"] = device["wire"].pop("r_col_ohm")
    bad.write_text(yaml.safe_dump({"device": device}))
    with pytest.raises(SpecError, match=r"device\.wire\.r_col_ohm: required key is missing"):
        load_device(bad)
    device["wire"]["r_col_ohm"] = -1.0
    del device["wire"]["r_column_ohm"]
    bad.write_text(yaml.safe_dump({"device": device}))
    with pytest.raises(SpecError, match=r"device\.wire\.r_col_ohm: expected a number >= 0"):
        load_device(bad)


def test_settings_reject_bad_values():
    with pytest.raises(ValueError, match="r_row_ohm"):
        CrossbarSettings(r_row_ohm=-1.0)
    with pytest.raises(TypeError, match="encoding"):
        CrossbarSettings(encoding="offset")  # strings are parsed at the CLI boundary only


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gaussian_sampler_is_standard_normal(dtype):
    from scipy import stats

    from crossbar.mapping import gaussian

    z = gaussian(np.random.default_rng(0), (301, 401), dtype)
    assert z.shape == (301, 401) and z.dtype == dtype
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1.0) < 0.01
    assert stats.kstest(z.ravel()[:50_000], "norm").pvalue > 1e-3
    # the two halves (cos and sin branches) are not correlated
    flat = z.ravel()
    h = (flat.size + 1) // 2
    assert abs(np.corrcoef(flat[: h - 1], flat[h : 2 * h - 1])[0, 1]) < 0.01


def test_batchnorm_by_hand():
    # channel 0: (3 - 1)/sqrt(4) * 2 + 0.5 = 2.5; channel 1: (0 - 0)/1 * 1 - 1 = -1 (eps 0); channels last
    x = np.array([[[3.0, 0.0]]])
    y = eq.batchnorm(x, np.array([1.0, 0.0]), np.array([4.0, 1.0]), np.array([2.0, 1.0]), np.array([0.5, -1.0]), 0.0)
    np.testing.assert_allclose(y, [[[2.5, -1.0]]])


def test_bn_statistics_cumulative_average_by_hand():
    from crossbar.snn import BatchNorm, BNStatistics

    bn = BatchNorm(name="bn", gamma=np.ones(1), beta=np.zeros(1), mean=np.zeros(1), var=np.ones(1), eps=0.0)
    stats = BNStatistics()
    y = stats.normalize(bn, np.array([[1.0], [3.0]]))  # batch mean 2, biased var 1 -> normalized ±1
    np.testing.assert_allclose(y, [[-1.0], [1.0]])
    stats.normalize(bn, np.array([[0.0], [0.0], [6.0]]))  # mean 2, unbiased var 12
    adapted = stats.adapted(bn)
    np.testing.assert_allclose(adapted.mean, [2.0])  # (2 + 2) / 2
    np.testing.assert_allclose(adapted.var, [(2.0 + 12.0) / 2])  # unbiased 2 and 12, averaged per call
