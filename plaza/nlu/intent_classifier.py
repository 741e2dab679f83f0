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
        groups = class_groups(len(labels), n_features) if class_weight is None else [range(len(labels))]
        if len(groups) > 1:
            return _fit_by_groups(clf, x, yi, labels, groups)
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


SPLIT_ABOVE_BYTES = 64 * 2**20
"""A one-vs-rest fit whose float64 weights would exceed this is done a group of classes at a time."""
GROUP_BYTES = 16 * 2**20
"""The float64 weights of one group of classes."""


def class_groups(n_labels: int, n_features: int) -> list[range]:
    """Consecutive groups of class indices, each fitted on its own (see `_fit_by_groups`).

    liblinear holds its float64 weights for every class at once and hands sklearn a copy, so a
    fit of 150 intents over 72,000 features peaks near 180 MB on top of its copy of the data,
    and the calibration fits run two at a time: 650 MB in all for a CLINC150-sized problem.  One
    group when the weights are small (SNIPS: 7 intents, Banking77: 77 intents at 44 MB), so those
    models are exactly what one call gives; otherwise groups of at least two classes.
    """
    row_bytes = 8 * max(1, n_features)
    if n_labels * row_bytes <= SPLIT_ABOVE_BYTES:
        return [range(n_labels)]
    size = max(2, GROUP_BYTES // row_bytes)
    starts = list(range(0, n_labels, size))
    if n_labels - starts[-1] < 2:  # a group of one would be a binary problem: merge it
        starts.pop()
    ends = [*starts[1:], n_labels]
    return [range(a, b) for a, b in zip(starts, ends, strict=True)]


def _fit_by_groups(clf: Any, x: Any, yi: I64Array, labels: Sequence[str], groups: list[range]) -> LinearModel:
    """One-vs-rest, a group of classes per liblinear call.

    In each call the group's classes keep their own labels and every other example is one
    "rest" label; one-vs-rest trains class k against all others either way, so each class gets
    the weights a single call would give it (up to liblinear's random visiting order), and
    only the group's weights are held at a time.  The extra "rest" problem per group is
    thrown away.
    """
    n_features = x.shape[1]
    weights = np.zeros((n_features, len(labels)), dtype=np.float32)
    bias = np.full(len(labels), -1e3, dtype=np.float32)
    for group in groups:
        rest = len(group)
        inside = (yi >= group.start) & (yi < group.stop)
        if not inside.any():  # none of the group's classes in this data (a calibration fold)
            continue
        local = np.where(inside, yi - group.start, rest)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(x, local)
        for row, cls in enumerate(clf.classes_):
            if cls != rest:
                weights[:, group.start + int(cls)] = clf.coef_[row]
                bias[group.start + int(cls)] = clf.intercept_[row]
        clf.coef_ = clf.intercept_ = None  # free the group's float64 weights before the next fit
    return LinearModel(labels, weights, bias)
