"""The offline data set: scikit-learn's handwritten digits (1797 images, 8x8, 17 gray levels, 10 classes).

``load_digits`` reads a CSV shipped inside the scikit-learn wheel, so nothing is downloaded. The split is a
fixed stratified 80/20 split (seed 0): 1437 training and 360 test images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPLIT_SEED = 0
TEST_FRACTION = 0.2


@dataclass(frozen=True, eq=False, kw_only=True)
class Split:
    """Images as NCHW float32 in [0, 1] (gray level / 16) and integer labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def digits_split(test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED) -> Split:
    """The fixed stratified split of scikit-learn's digits used by every crossbar experiment."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)[:, None, :, :]
    y = data.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, stratify=y, random_state=seed)
    return Split(x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te)
