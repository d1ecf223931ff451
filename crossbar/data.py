"""Data for the crossbar experiments: scikit-learn's digits, or the user's inputs in a ``.npz``.

Digits (1797 images, 8x8, 17 gray levels, 10 classes): ``load_digits`` reads a CSV shipped inside the
scikit-learn wheel, so nothing is downloaded. The split is a fixed stratified 80/20 split (seed 0): 1437
training and 360 test images.

A user's inputs (``spikeloop accuracy --data INPUTS.npz``): ``x`` [N, C, H, W] float (what the network's first
layer receives at every timestep) and ``y`` [N] integer labels in [0, classes); optionally ``x_train``
[M, C, H, W], the unlabelled images that set the ADC ranges and drive BN adaptation. Without ``x_train`` the
first images of ``x`` do both (label-free, but the same images are then evaluated: the result says so).
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from crossbar.snn import SNNModel

SPLIT_SEED = 0
TEST_FRACTION = 0.2
SPLIT_FILE = Path(__file__).resolve().parent / "data" / "digits_split.json"


@dataclass(frozen=True, eq=False, kw_only=True)
class Split:
    """Images as NCHW float32 and integer labels (digits: gray level / 16 in [0, 1]).

    ``name`` says where the data came from; ``train_is_test`` is true when a user's file had no ``x_train`` and the
    calibration/adaptation images are test images. ``y_train`` may be empty (only labels of the test part are used).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str = "digits"
    train_is_test: bool = False


def _digits_csv() -> Path | None:
    """``digits.csv.gz`` inside the installed scikit-learn (found without importing scikit-learn, which takes
    seconds), or None."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"
    return path if path.is_file() else None


def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """All 1797 digits: images [1797, 8, 8] (gray levels 0..16, float64) and labels [1797] (int64), in the order of
    scikit-learn's ``load_digits`` (one CSV row per image: 64 pixels, then the label)."""
    path = _digits_csv()
    if path is None:
        from sklearn.datasets import load_digits

        data = load_digits()
        return np.asarray(data.images, dtype=np.float64), np.asarray(data.target, dtype=np.int64)
    rows = np.loadtxt(path, delimiter=",")
    return rows[:, :-1].reshape(-1, 8, 8), rows[:, -1].astype(np.int64)


def split_indices(test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) image indices of scikit-learn's ``train_test_split(stratify=labels, random_state=seed)``, in its
    order. The default split is read from ``crossbar/data/digits_split.json`` (written once from scikit-learn, and
    checked against it by a test), so the experiments need not import scikit-learn."""
    if (test_fraction, seed) == (TEST_FRACTION, SPLIT_SEED) and SPLIT_FILE.is_file():
        doc = json.loads(SPLIT_FILE.read_text())
        return np.asarray(doc["train"], dtype=np.int64), np.asarray(doc["test"], dtype=np.int64)
    from sklearn.model_selection import train_test_split

    _, labels = digits_arrays()
    train, test = train_test_split(np.arange(labels.size), test_size=test_fraction, stratify=labels, random_state=seed)
    return np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64)


def digits_split(test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED) -> Split:
    """The fixed stratified split of scikit-learn's digits used by every crossbar experiment."""
    images, labels = digits_arrays()
    x = (images / 16.0).astype(np.float32)[:, None, :, :]
    train, test = split_indices(test_fraction, seed)
    return Split(x_train=x[train], y_train=labels[train], x_test=x[test], y_test=labels[test])


def load_inputs(path: str | Path, *, labels: bool = True) -> Split:
    """A user's evaluation set from a ``.npz`` (keys in the module docstring); one-line errors name file and key.

    ``labels=False`` (activity profiling) also takes a file without ``y``: the split's labels are then empty."""
    from crossbar.model_io import read_npz

    p = str(path)
    arrays = read_npz(path, "inputs file")
    for key in ("x", "y") if labels else ("x",):
        if key not in arrays:
            raise ValueError(f"{p}: {key}: missing (expected x [N, C, H, W] float and y [N] int)")
    extra = sorted(set(arrays) - {"x", "y", "x_train", "y_train"})
    if extra:
        raise ValueError(f"{p}: {extra[0]}: unknown key (expected x, y and optionally x_train)")
    x = _images(arrays["x"], p, "x")
    y = np.asarray(arrays["y"]) if "y" in arrays else np.zeros(0, np.int64)
    if "y" in arrays and (y.dtype.kind not in "iu" or y.shape != (x.shape[0],)):
        raise ValueError(
            f"{p}: y: expected {x.shape[0]} integer labels (shape [{x.shape[0]}]), got dtype {y.dtype} "
            f"and shape {list(y.shape)}"
        )
    if y.size and y.min() < 0:
        raise ValueError(f"{p}: y: expected labels >= 0, got {int(y.min())}")
    if "x_train" in arrays:
        x_train = _images(arrays["x_train"], p, "x_train")
        if x_train.shape[1:] != x.shape[1:]:
            raise ValueError(
                f"{p}: x_train: expected images of shape {list(x.shape[1:])} like x, got {list(x_train.shape[1:])}"
            )
        return Split(x_train=x_train, y_train=np.zeros(0, np.int64), x_test=x, y_test=y.astype(np.int64), name=p)
    return Split(x_train=x, y_train=y.astype(np.int64), x_test=x, y_test=y.astype(np.int64), name=p, train_is_test=True)


def _images(a: np.ndarray, file: str, key: str) -> np.ndarray:
    if a.ndim != 4 or a.shape[0] < 1 or a.dtype.kind not in "fiu":
        raise ValueError(
            f"{file}: {key}: expected a numeric array [N, C, H, W] with N >= 1, got dtype {a.dtype} "
            f"and shape {list(a.shape)}"
        )
    out = a.astype(np.float32)
    if not np.isfinite(out).all():
        raise ValueError(f"{file}: {key}: holds NaN or infinite values")
    return out


def check_inputs(split: Split, model: SNNModel, classes: int) -> None:
    """One-line error when the data does not fit the model: image shape (or what the first layer reads) and labels."""
    from crossbar.snn import Conv

    got = tuple(int(d) for d in split.x_test.shape[1:])
    shape = "x".join(str(d) for d in got)
    if model.input_shape is not None and got != model.input_shape:
        want = "x".join(str(d) for d in model.input_shape)
        raise ValueError(f"{split.name}: inputs are {shape} (C x H x W) but {model.name} expects {want}")
    first = model.weight_layers()[0]
    if isinstance(first, Conv) and got[0] != first.weight.shape[1]:
        raise ValueError(
            f"{split.name}: inputs are {shape} (C x H x W) but the first layer of {model.name} "
            f"({first.name}, weight {list(first.weight.shape)}) reads {first.weight.shape[1]} channel(s)"
        )
    if not isinstance(first, Conv) and got[0] * got[1] * got[2] != first.weight.shape[1]:
        raise ValueError(
            f"{split.name}: inputs are {shape} (C x H x W) = {got[0] * got[1] * got[2]} features but the "
            f"first layer of {model.name} ({first.name}, weight {list(first.weight.shape)}) reads "
            f"{first.weight.shape[1]}"
        )
    if split.y_test.size and int(split.y_test.max()) >= classes:
        raise ValueError(
            f"{split.name}: y: label {int(split.y_test.max())} is out of range for the {classes} outputs "
            f"of {model.name}"
        )
