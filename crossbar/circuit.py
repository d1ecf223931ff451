"""Exact IR drop of a resistive crossbar through its effective-conductance matrix G_eff.

Circuit and conventions (``docs/crossbar.md``, "Circuit"):

* N rows (inputs, word lines) by M columns (outputs, bit lines). Cell (i, j) is a linear conductance G_ij
  between the row node u_ij and the column node w_ij.
* Row i is **driven at its left end** (before column 0) by an ideal source V_i through one segment r_row;
  consecutive row nodes are joined by r_row; the right end (after column M-1) is open.
* Column j is **sensed at its bottom end** (after row N-1) by a virtual ground (0 V) through one segment
  r_col; consecutive column nodes are joined by r_col; the top end (before row 0) is open.
* **Inactive rows are driven at 0 V** (not floating), so the network is linear and input independent and,
  by superposition, the column currents are I_j = Σ_i V_i·G_eff[i, j] exactly.

Nodal equations (KCL at all 2NM nodes, g_r = 1/r_row, g_c = 1/r_col)::

    u_ij: g_r(u_i,j-1 - u_ij) + g_r(u_i,j+1 - u_ij)[j < M-1] + G_ij(w_ij - u_ij) = 0,   u_i,-1 = V_i
    w_ij: g_c(w_i-1,j - w_ij)[i > 0] + g_c(w_i+1,j - w_ij) + G_ij(u_ij - w_ij) = 0,   w_N,j = 0
    I_j = g_c·w_N-1,j

Two exact solvers of this network are provided:

* :func:`effective_conductance` (default, batched numpy): eliminates each row's u-nodes (a tridiagonal
  block, inverted densely) and then the w-nodes row by row (block Gaussian elimination from the open top
  end to the sensed bottom end). The Schur complements are carried as S_i = g_c·I + E_i so that no
  cancellation of the large wire conductance against the small cell conductances occurs. Cost about
  N·M³ flops per crossbar, batched over crossbars.
* :func:`effective_conductance_sparse`: one sparse LU factorization (scipy ``splu``) of the full 2NM
  nodal matrix per crossbar and M adjoint solves. Slower; kept as the literal textbook method.

A zero wire resistance is handled exactly as the limit (r_row = 0: u_ij = V_i; r_col = 0: w_ij = 0).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp


def _row_laplacian(m: int) -> np.ndarray:
    """Laplacian of one row wire driven at the left end, open at the right: tridiag(-1, 2, -1), last diag 1."""
    lap = 2.0 * np.eye(m) - np.eye(m, k=1) - np.eye(m, k=-1)
    lap[-1, -1] = 1.0
    return lap


def effective_conductance(
    g: np.ndarray, r_row_ohm: float, r_col_ohm: float, *, chunk: int = 8, threads: int = 1
) -> np.ndarray:
    """G_eff [S] of one crossbar ``g`` [N, M] or a batch [B, N, M] (float64), so that I = V @ G_eff.

    Exact for the circuit in the module docstring (rows driven at the left, columns sensed at the bottom,
    inactive rows at 0 V). ``r_row_ohm``/``r_col_ohm`` are the wire resistances per cell segment. Batches are
    solved ``chunk`` crossbars at a time, on ``threads`` threads (numpy's linear algebra releases the GIL).
    """
    g = np.asarray(g, dtype=np.float64)
    single = g.ndim == 2
    if single:
        g = g[None]
    if r_row_ohm < 0 or r_col_ohm < 0:
        raise ValueError(f"wire resistance: expected >= 0 ohm, got r_row={r_row_ohm}, r_col={r_col_ohm}")
    if r_row_ohm == 0 and r_col_ohm == 0:
        out = g.copy()
    else:
        if threads > 1:  # at least one piece per thread
            chunk = max(1, min(chunk, -(-len(g) // threads)))
        parts = [g[k : k + chunk] for k in range(0, len(g), chunk)]
        if threads > 1 and len(parts) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=threads) as pool:
                solved = list(pool.map(lambda part: _geff_block(part, r_row_ohm, r_col_ohm), parts))
        else:
            solved = [_geff_block(part, r_row_ohm, r_col_ohm) for part in parts]
        out = np.concatenate(solved)
    return out[0] if single else out


def _tridiag_inverse(a: np.ndarray) -> np.ndarray:
    """Inverse of symmetric tridiagonal matrices with diagonal ``a`` [..., M] and off-diagonal -1 (Usmani).

    (A^-1)_ij = θ_{i-1}·φ_{j+1}/θ_{M-1} for i <= j, with θ_k = a_k θ_{k-1} - θ_{k-2} (θ_-1 = 1, θ_-2 = 0) and
    φ_k = a_k φ_{k+1} - φ_{k+2} (φ_M = 1, φ_M+1 = 0). The wire Laplacian keeps θ, φ growing only linearly.
    """
    m = a.shape[-1]
    theta = np.empty(a.shape[:-1] + (m + 1,))  # theta[k + 1] = θ_k, theta[0] = θ_-1 = 1
    phi = np.empty(a.shape[:-1] + (m + 1,))  # phi[k] = φ_k, phi[m] = 1
    theta[..., 0] = 1.0
    theta[..., 1] = a[..., 0]
    for k in range(1, m):
        theta[..., k + 1] = a[..., k] * theta[..., k] - theta[..., k - 1]
    phi[..., m] = 1.0
    phi[..., m - 1] = a[..., m - 1]
    for k in range(m - 2, -1, -1):
        phi[..., k] = a[..., k] * phi[..., k + 1] - phi[..., k + 2]
    # outer[i, j] = θ_{i-1}·φ_{j+1}: the upper triangle (i <= j) of the inverse; the lower one is its transpose
    outer = theta[..., :m, None] * phi[..., None, 1:]
    upper = np.triu(np.ones((m, m), dtype=bool))
    inv = np.where(upper, outer, np.swapaxes(outer, -1, -2))
    inv /= theta[..., m][..., None, None]
    return inv


#: Below this column-segment resistance the E-update uses the explicit product M^-1·E (see _geff_block).
IDENTITY_MIN_R_COL_OHM = 0.1


def _geff_block(g: np.ndarray, r_row: float, r_col: float) -> np.ndarray:
    """Block elimination for a batch g [B, N, M]; see :func:`effective_conductance`."""
    b, n, m = g.shape
    eye = np.eye(m)
    if r_row == 0:
        # u_ij = V_i: each cell connects V_i directly to w_ij.
        c_mats = g[..., None] * eye  # C_i = diag(G_i)           [B, N, M, M]
        f = g.copy()  # f_i = G_i (current injected per volt)  [B, N, M]
    else:
        g_r = 1.0 / r_row
        # T_i = g_r·(Lap + diag(G_i)/g_r), so T_i^-1 = tridiag_inverse(2 + G/g_r, last 1 + G/g_r) / g_r
        diag = 2.0 + g / g_r
        diag[..., -1] -= 1.0
        c_mats = _tridiag_inverse(diag)  # g_r·T_i^-1, turned into C_i in place below   [B, N, M, M]
        # f_i = g_r·G_i ⊙ T_i^-1 e_0;  C_i = diag(G_i) - diag(G_i) T_i^-1 diag(G_i)
        f = g * c_mats[..., :, 0]
        c_mats *= g[..., :, None] * (-1.0 / g_r)
        c_mats *= g[..., None, :]
        c_mats[..., np.arange(m), np.arange(m)] += g
    if r_col == 0:
        return f  # w = 0: I_j = Σ_i G_ij u_ij = Σ_i V_i f_ij
    g_c = 1.0 / r_col
    # Block elimination down the columns: S_i = g_c I + E_i; E_0 = C_0; E_i = C_i + M_{i-1}^-1 E_{i-1} with
    # M = I + E/g_c (E and M^-1 commute, both symmetric); the running right-hand side (per unit V_k) is
    # Y_i = [M_{i-1}^-1 Y_{i-1}, f_i], kept transposed (row k = input k) so that updates touch contiguous rows.
    # M^-1 E = g_c (I - M^-1) saves one matrix product per row; I - M^-1 cancels about log10(1/(r_col·G)) digits
    # (relative error about 1e-16/(r_col·G_min) < 1e-9 for r_col >= 0.1 ohm), so tiny r_col uses the product.
    identity = r_col >= IDENTITY_MIN_R_COL_OHM
    e = c_mats[:, 0].copy()
    yt = np.empty((b, n, m))
    yt[:, 0] = f[:, 0]
    for i in range(1, n):
        minv = np.linalg.inv(eye + e / g_c)
        if identity:
            e = eye - minv
            e *= g_c
            e += c_mats[:, i]
        else:
            e = c_mats[:, i] + minv @ e
        yt[:, :i] = yt[:, :i] @ minv
        yt[:, i] = f[:, i]
    # I = g_c·w_{N-1} = g_c·S_{N-1}^-1 Y = M^-1 Y, so G_eff = Y^T M^-1  [B, N, M]
    return yt @ np.linalg.inv(eye + e / g_c)


def nodal_matrix(g: np.ndarray, r_row_ohm: float, r_col_ohm: float) -> sp.csc_matrix:
    """Sparse SPD nodal matrix A (2NM x 2NM) of the circuit; u_ij at index i·M+j, w_ij at NM + i·M+j.

    A·[u; w] = b with b(u_i0) = g_r·V_i and zero elsewhere. Requires r_row, r_col > 0.
    """
    import scipy.sparse as sp

    n, m = g.shape
    g_r, g_c = 1.0 / r_row_ohm, 1.0 / r_col_ohm
    nm = n * m
    idx = np.arange(nm).reshape(n, m)
    u, w = idx, idx + nm
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []

    def link(a: np.ndarray, c: np.ndarray, cond: np.ndarray | float) -> None:
        cond = np.broadcast_to(np.asarray(cond, dtype=np.float64), a.shape).ravel()
        a, c = a.ravel(), c.ravel()
        rows.extend([a, c, a, c])
        cols.extend([a, c, c, a])
        vals.extend([cond, cond, -cond, -cond])

    link(u[:, :-1], u[:, 1:], g_r)  # row wire segments
    link(w[:-1, :], w[1:, :], g_c)  # column wire segments
    link(u, w, g)  # cells
    diag_extra = np.zeros(2 * nm)
    diag_extra[u[:, 0]] += g_r  # source segment of each row
    diag_extra[w[-1, :]] += g_c  # sense segment of each column (virtual ground)
    rows.append(np.arange(2 * nm))
    cols.append(np.arange(2 * nm))
    vals.append(diag_extra)
    a = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(2 * nm, 2 * nm))
    return a.tocsc()


def effective_conductance_sparse(g: np.ndarray, r_row_ohm: float, r_col_ohm: float) -> np.ndarray:
    """G_eff [S] of one crossbar g [N, M] by one sparse LU (``splu``) of the nodal matrix and M adjoint solves.

    G_eff[i, j] = g_c·g_r·(A^-1)[w_N-1,j ; u_i0] (A symmetric). Requires r_row, r_col > 0.
    """
    import scipy.sparse.linalg as spla

    if r_row_ohm <= 0 or r_col_ohm <= 0:
        raise ValueError(f"effective_conductance_sparse: expected r_row, r_col > 0 ohm, got {r_row_ohm}, {r_col_ohm}")
    g = np.asarray(g, dtype=np.float64)
    n, m = g.shape
    lu = spla.splu(nodal_matrix(g, r_row_ohm, r_col_ohm), permc_spec="MMD_AT_PLUS_A")
    rhs = np.zeros((2 * n * m, m))
    rhs[n * m + (n - 1) * m + np.arange(m), np.arange(m)] = 1.0
    x = lu.solve(rhs)
    return (x[np.arange(n) * m, :] / (r_row_ohm * r_col_ohm)).reshape(n, m)


CACHE_ENV = "SPIKELOOP_CACHE_DIR"


def default_cache_dir() -> Path | None:
    """Where reports keep effective conductances between runs: ``$SPIKELOOP_CACHE_DIR`` if set (empty: no disk
    cache), else ``$XDG_CACHE_HOME/spikeloop/geff`` or ``~/.cache/spikeloop/geff``. Entries are named by a content
    hash of (G, r_row, r_col), so they never go stale; deleting the folder only costs time."""
    if CACHE_ENV in os.environ:
        value = os.environ[CACHE_ENV]
        return Path(value) if value else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "spikeloop" / "geff"


class GeffCache:
    """Effective conductances keyed by a content hash of (G, r_row, r_col); optional on-disk ``.npy`` store.

    Passed explicitly to whoever programs chips (no global state). ``get_many`` computes all missing
    entries in one batched call on ``threads`` threads. A directory that cannot be written is given up
    (``disk_error`` says why) and the cache carries on in memory.
    """

    def __init__(self, directory: str | Path | None = None, *, threads: int = 1) -> None:
        self._mem: dict[str, np.ndarray] = {}
        self.directory = Path(directory) if directory is not None else None
        self.threads = threads
        self.computed = 0
        self.loaded = 0
        self.disk_error: str | None = None

    @staticmethod
    def key(g: np.ndarray, r_row_ohm: float, r_col_ohm: float) -> str:
        h = hashlib.blake2b(digest_size=20)
        h.update(np.ascontiguousarray(g, dtype=np.float64).tobytes())
        h.update(np.asarray(g.shape, dtype=np.int64).tobytes())
        h.update(np.asarray([r_row_ohm, r_col_ohm], dtype=np.float64).tobytes())
        return h.hexdigest()

    def _load(self, key: str) -> np.ndarray | None:
        if key in self._mem:
            return self._mem[key]
        if self.directory is not None:
            p = self.directory / f"{key}.npy"
            if p.exists():
                try:
                    arr = np.load(p, allow_pickle=False)
                except (OSError, ValueError):
                    return None  # a damaged entry is recomputed (and rewritten)
                if arr.dtype != np.float64 or arr.ndim != 2:
                    return None
                self._mem[key] = arr
                self.loaded += 1
                return arr
        return None

    def _store(self, key: str, arr: np.ndarray) -> None:
        if self.directory is None:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.directory / f"{key}.{os.getpid()}.tmp.npy"
            np.save(tmp, arr)
            tmp.replace(self.directory / f"{key}.npy")
        except OSError as exc:
            self.disk_error = f"{self.directory}: {exc.strerror or exc}"
            self.directory = None

    def get_many(self, gs: Iterable[np.ndarray], r_row_ohm: float, r_col_ohm: float) -> list[np.ndarray]:
        gs = list(gs)
        keys = [self.key(g, r_row_ohm, r_col_ohm) for g in gs]
        found = {k: self._load(k) for k in set(keys)}
        missing = [k for k, v in found.items() if v is None]
        if missing:
            first = {k: gs[keys.index(k)] for k in missing}
            shapes: dict[tuple[int, ...], list[str]] = {}
            for k in missing:
                shapes.setdefault(first[k].shape, []).append(k)
            for group in shapes.values():
                out = effective_conductance(
                    np.stack([first[k] for k in group]), r_row_ohm, r_col_ohm, threads=self.threads
                )
                for k, arr in zip(group, out, strict=True):
                    found[k] = arr
                    self._mem[k] = arr
                    self._store(k, arr)
            self.computed += len(missing)
        result: list[np.ndarray] = []
        for k in keys:
            arr = found[k]
            assert arr is not None
            result.append(arr)
        return result
