"""The effective-conductance matrix against a direct nodal solve of the crossbar's wire network (scipy)."""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import scipy.sparse.linalg as spla  # noqa: E402

from crossbar.circuit import GeffCache, effective_conductance, effective_conductance_sparse  # noqa: E402


def nodal_currents(g: np.ndarray, v: np.ndarray, r_row: float, r_col: float) -> np.ndarray:
    """Column currents by KCL written node by node (independent of crossbar.circuit).

    Rows driven at the left end through r_row; columns into a virtual ground at the bottom through r_col.
    r_row = 0 fixes the row nodes at V_i; r_col = 0 fixes the column nodes at 0 V.
    """
    n, m = g.shape
    unknown: dict[tuple[str, int, int], int] = {}
    if r_row > 0:
        for i in range(n):
            for j in range(m):
                unknown[("u", i, j)] = len(unknown)
    if r_col > 0:
        for i in range(n):
            for j in range(m):
                unknown[("w", i, j)] = len(unknown)
    a = sp.lil_matrix((len(unknown), len(unknown)))
    b = np.zeros(len(unknown))

    def potential(node):  # -> (index or None, fixed value)
        kind, i, j = node
        if node in unknown:
            return unknown[node], 0.0
        return None, (v[i] if kind == "u" else 0.0)

    def conductor(n1, n2, cond):
        i1, f1 = potential(n1)
        i2, f2 = potential(n2)
        for ia, ib, fb in ((i1, i2, f2), (i2, i1, f1)):
            if ia is None:
                continue
            a[ia, ia] += cond
            if ib is None:
                b[ia] += cond * fb
            else:
                a[ia, ib] -= cond

    for i in range(n):
        for j in range(m):
            conductor(("u", i, j), ("w", i, j), g[i, j])
            if r_row > 0:
                if j == 0:
                    ia = unknown[("u", i, 0)]
                    a[ia, ia] += 1 / r_row
                    b[ia] += v[i] / r_row
                else:
                    conductor(("u", i, j - 1), ("u", i, j), 1 / r_row)
            if r_col > 0:
                if i == n - 1:
                    ia = unknown[("w", i, j)]
                    a[ia, ia] += 1 / r_col  # to the virtual ground
                else:
                    conductor(("w", i, j), ("w", i + 1, j), 1 / r_col)
    x = spla.spsolve(a.tocsc(), b) if unknown else np.zeros(0)
    if r_col > 0:
        return np.array([x[unknown[("w", n - 1, j)]] / r_col for j in range(m)])
    u = np.array([[x[unknown[("u", i, j)]] if r_row > 0 else v[i] for j in range(m)] for i in range(n)])
    return (g * u).sum(axis=0)


@pytest.mark.parametrize(
    ("n", "m", "r_row", "r_col"),
    [
        (8, 8, 1.0, 2.5),
        (8, 8, 5.0, 0.5),
        (64, 64, 2.5, 2.5),
        (6, 9, 0.0, 2.0),
        (7, 5, 3.0, 0.0),
        (8, 8, 2.0, 0.05),  # below IDENTITY_MIN_R_COL_OHM: the explicit-product update
        (8, 8, 0.5, 0.1),  # at the threshold: the identity update
        (64, 64, 10.0, 10.0),
    ],
)
def test_geff_equals_direct_nodal_solve(n, m, r_row, r_col):
    rng = np.random.default_rng(n * 100 + m)
    g = rng.uniform(5e-6, 50e-6, size=(n, m))
    v = rng.uniform(0.0, 0.1, size=n) * (rng.random(n) < 0.6)  # inactive rows at 0 V
    expected = nodal_currents(g, v, r_row, r_col)
    got = v @ effective_conductance(g, r_row, r_col)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=0)
    # and IR drop really changes the currents (the test would pass trivially with G_eff = G otherwise)
    assert np.abs(v @ g - expected).max() > 1e-4 * np.abs(expected).max()


def test_sparse_factorization_agrees_with_block_solver():
    rng = np.random.default_rng(7)
    g = rng.uniform(5e-6, 50e-6, size=(64, 64))
    np.testing.assert_allclose(
        effective_conductance_sparse(g, 1.0, 2.5), effective_conductance(g, 1.0, 2.5), rtol=1e-9, atol=1e-18
    )


def test_geff_batched_equals_single_and_ir_drop_grows_with_r():
    rng = np.random.default_rng(11)
    gs = rng.uniform(5e-6, 50e-6, size=(3, 16, 16))
    batch = effective_conductance(gs, 2.0, 2.0)
    for k in range(3):
        np.testing.assert_allclose(batch[k], effective_conductance(gs[k], 2.0, 2.0), rtol=1e-12)
    np.testing.assert_array_equal(effective_conductance(gs[0], 0.0, 0.0), gs[0])
    totals = [effective_conductance(gs[0], r, r).sum() for r in (0.0, 1.0, 2.5, 5.0)]
    assert all(a > b for a, b in zip(totals, totals[1:], strict=False))


def test_cache_by_content_hash(tmp_path):
    rng = np.random.default_rng(5)
    g1, g2 = rng.uniform(5e-6, 50e-6, size=(2, 8, 8))
    cache = GeffCache(tmp_path)
    a = cache.get_many([g1, g2, g1.copy()], 1.0, 1.0)
    assert cache.computed == 2
    assert a[0] is a[2]
    cache.get_many([g1], 1.0, 1.0)
    assert cache.computed == 2
    cache.get_many([g1], 2.0, 1.0)
    assert cache.computed == 3
    fresh = GeffCache(tmp_path)  # the on-disk store is read back
    np.testing.assert_array_equal(fresh.get_many([g2], 1.0, 1.0)[0], a[1])
    assert fresh.computed == 0


def test_threads_and_both_update_forms_give_the_same_geff(monkeypatch):
    import crossbar.circuit as circuit

    rng = np.random.default_rng(13)
    gs = rng.uniform(5e-6, 50e-6, size=(5, 64, 64))
    one = effective_conductance(gs, 1.0, 1.0)
    np.testing.assert_array_equal(effective_conductance(gs, 1.0, 1.0, threads=2, chunk=2), one)
    monkeypatch.setattr(circuit, "IDENTITY_MIN_R_COL_OHM", 1e9)  # force the explicit product M^-1 E
    np.testing.assert_allclose(effective_conductance(gs, 1.0, 1.0), one, rtol=1e-10, atol=0)


def test_disk_cache_survives_damaged_entries_and_unwritable_folders(tmp_path):
    rng = np.random.default_rng(17)
    g = rng.uniform(5e-6, 50e-6, size=(8, 8))
    cache = GeffCache(tmp_path / "geff")
    (ref,) = cache.get_many([g], 1.0, 1.0)
    entry = tmp_path / "geff" / f"{GeffCache.key(g, 1.0, 1.0)}.npy"
    assert entry.exists() and not list((tmp_path / "geff").glob("*.tmp.npy"))
    entry.write_bytes(b"garbage")
    again = GeffCache(tmp_path / "geff")
    np.testing.assert_array_equal(again.get_many([g], 1.0, 1.0)[0], ref)
    assert again.computed == 1 and again.loaded == 0
    np.testing.assert_array_equal(np.load(entry), ref)  # rewritten
    blocker = tmp_path / "file"
    blocker.write_text("x")
    stuck = GeffCache(blocker / "geff")  # a folder under a regular file cannot be created
    np.testing.assert_array_equal(stuck.get_many([g], 1.0, 1.0)[0], ref)
    assert stuck.disk_error is not None and stuck.directory is None


def test_default_cache_dir(monkeypatch, tmp_path):
    from crossbar.circuit import CACHE_ENV, default_cache_dir

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.setenv(CACHE_ENV, "")
    assert default_cache_dir() is None
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "spikeloop" / "geff"
