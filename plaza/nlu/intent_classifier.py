"""The intent classifier: a linear model over `features.HashedTfidf` vectors.

Inference is a gather-and-sum in numpy (`scores = x · W[cols] + b`), so parsing never imports
scikit-learn; scikit-learn's liblinear solvers are used only inside `train_linear`, imported
lazily.  Scores become probabilities through a softmax with a temperature fitted on
cross-validated scores (see `calibration.py`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["LinearModel", "softmax", "train_linear"]

F32Array = npt.NDArray[np.float32]
I64Array = npt.NDArray[np.int64]


class LinearModel:
    """Weights `(n_features, n_classes)` and bias `(n_classes,)`, for one label set."""

    def __init__(self, labels: Sequence[str], weights: F32Array, bias: F32Array) -> None:
        self.labels = tuple(labels)
        self.weights = weights
        self.bias = bias

    def scores(self, cols: I64Array, vals: F32Array) -> F32Array:
        if cols.shape[0] == 0:
            return self.bias.copy()
        out: F32Array = vals @ self.weights[cols] + self.bias
        return out


def softmax(scores: F32Array, temperature: float) -> F32Array:
    """Softmax over the last axis of `scores / temperature`, in float32 (a parse path hot spot)."""
    z = np.asarray(scores, dtype=np.float32) * np.float32(1.0 / temperature)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    out: F32Array = e / e.sum(axis=-1, keepdims=True)
    return out


def train_linear(
    x: Any,
    y: Sequence[str],
    labels: Sequence[str],
    *,
    loss: str,
    c: float,
    class_weight: str | None,
    seed: int,
) -> LinearModel:
    """Fit a one-vs-rest linear SVM (`loss="svm"`) or a multinomial logistic regression (`"logreg"`).

    `x` is a `scipy.sparse.csr_matrix` with `n_features` columns.  A label set of one class (a
    bot with a single intent) gives a constant model.
    """
    n_features = x.shape[1]
    if len(labels) == 1:
        return LinearModel(labels, np.zeros((n_features, 1), dtype=np.float32), np.zeros(1, dtype=np.float32))
    index = {lab: i for i, lab in enumerate(labels)}
    yi = np.array([index[v] for v in y], dtype=np.int64)
    if loss == "svm":
        from sklearn.svm import LinearSVC  # noqa: PLC0415 - training only (sklearn costs ~0.6 s to import)

        clf: Any = LinearSVC(C=c, class_weight=class_weight, random_state=seed, max_iter=5000)
    elif loss == "logreg":
        from sklearn.linear_model import LogisticRegression  # noqa: PLC0415 - training only

        clf = LogisticRegression(C=c, class_weight=class_weight, max_iter=2000, random_state=seed)
    else:
        raise ValueError(f"unknown intent loss {loss!r} (expected 'svm' or 'logreg')")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(x, yi)
    coef = np.asarray(clf.coef_, dtype=np.float32)
    intercept = np.asarray(clf.intercept_, dtype=np.float32)
    classes = list(clf.classes_)
    weights = np.zeros((n_features, len(labels)), dtype=np.float32)
    bias = np.full(len(labels), -1e3, dtype=np.float32)
    if coef.shape[0] == 1:  # binary problem: sklearn keeps one row, for the positive class
        weights[:, classes[1]] = coef[0] / 2
        weights[:, classes[0]] = -coef[0] / 2
        bias[classes[1]] = intercept[0] / 2
        bias[classes[0]] = -intercept[0] / 2
    else:
        for row, cls in enumerate(classes):
            weights[:, cls] = coef[row]
            bias[cls] = intercept[row]
    return LinearModel(labels, weights, bias)
