"""The intent classifier: a linear model over `features.HashedTfidf` vectors.

Inference is a gather-and-sum in numpy (`scores = x · W[cols] + b`), so parsing never imports
scikit-learn; scikit-learn's liblinear solvers are used only inside `train_linear`, imported
lazily.  Scores become probabilities through a softmax with a temperature fitted on
cross-validated scores (see `calibration.py`).
"""

from __future__ import annotations

import itertools
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "ABSENT_BIAS",
    "FitOptions",
    "GroupWeights",
    "LinearModel",
    "PendingModel",
    "assemble",
    "class_groups",
    "dense_held_out_scores",
    "fit_class_group",
    "fit_groups",
    "fitted_blocks",
    "fuse",
    "held_out_scores",
    "label_indices",
    "softmax",
    "train_dense",
    "train_linear",
]

F32Array = npt.NDArray[np.float32]
I64Array = npt.NDArray[np.int64]

ABSENT_BIAS = -1e3
"""Bias of a class with no weights (absent from a fit's rows, or outside a one-intent fit): never chosen."""


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


def label_indices(y: Sequence[str], labels: Sequence[str]) -> I64Array:
    """Each example's label as its index in `labels`."""
    index = {lab: i for i, lab in enumerate(labels)}
    return np.array([index[v] for v in y], dtype=np.int64)


@dataclass(frozen=True, slots=True)
class FitOptions:
    """How `train_linear` fits (`PipelineConfig`'s intent options)."""

    loss: str
    c: float
    class_weight: str | None
    seed: int
    tol: float = 1e-4


def train_linear(x: Any, y: Sequence[str], labels: Sequence[str], options: FitOptions) -> LinearModel:
    """Fit a one-vs-rest linear SVM (`loss="svm"`) or a multinomial logistic regression (`"logreg"`).

    `x` is a `scipy.sparse.csr_matrix` with `n_features` columns.  A label set of one class (a
    bot with a single intent) gives a constant model.
    """
    blocks = fitted_blocks(x, y, labels, options)
    first = next(blocks)
    if first is not None and first.classes == range(len(labels)):  # one call: its arrays are the model
        return LinearModel(labels, first.weights, first.bias)
    return assemble(labels, x.shape[1], itertools.chain([first], blocks))


def train_dense(x: Any, y: Sequence[str], labels: Sequence[str], options: FitOptions) -> LinearModel:
    """`train_linear` for dense features of a few hundred dimensions (the sentence embedding).

    The SVM is fitted by Newton's method (`dense_svm.py`): the same optimum as liblinear's, about
    four times faster on such data, without random visiting order.
    """
    if options.loss != "svm" or len(labels) == 1:
        return train_linear(x, y, labels, options)
    from plaza.nlu.dense_svm import fit_dense_ovr  # noqa: PLC0415 - training only

    yi = label_indices(y, labels)
    class_weight = None
    if options.class_weight == "balanced":  # scikit-learn's rule: n / (classes present × count)
        counts = np.bincount(yi, minlength=len(labels)).astype(np.float64)
        class_weight = yi.shape[0] / (np.count_nonzero(counts) * np.maximum(counts, 1.0))
    weights, bias = fit_dense_ovr(
        np.asarray(x), yi, len(labels), options.c, class_weight=class_weight, tol=options.tol
    )
    return LinearModel(labels, weights, bias)


def dense_held_out_scores(
    x: Any, y: Sequence[str], test_rows: Callable[[], Any], labels: Sequence[str], options: FitOptions
) -> F32Array:
    """`held_out_scores` of `train_dense` (its model is small: scored whole)."""
    model = train_dense(x, y, labels, options)
    rows = np.asarray(test_rows(), dtype=np.float32)
    out: F32Array = rows @ model.weights + model.bias
    return out


def fuse(sparse: LinearModel, dense: LinearModel, weight: float) -> LinearModel:
    """One model over [sparse features, dense features] whose scores are sparse + weight × dense.

    So a parse still computes one product, and the saved format is that of one linear model.
    """
    n_sparse = sparse.weights.shape[0]
    weights = np.empty((n_sparse + dense.weights.shape[0], len(sparse.labels)), dtype=np.float32)
    weights[:n_sparse] = sparse.weights
    weights[n_sparse:] = dense.weights * np.float32(weight)
    return LinearModel(sparse.labels, weights, sparse.bias + np.float32(weight) * dense.bias)


def held_out_scores(
    x: Any, y: Sequence[str], test_rows: Callable[[], Any], labels: Sequence[str], options: FitOptions
) -> F32Array:
    """The scores `train_linear(x, y, …)` would give the rows `test_rows()`, without its model.

    Calibration needs only these scores, so each block of classes is scored as it is fitted and
    dropped: a fold's whole weight matrix is never held (a CLINC150-sized one is 88 MB, beside
    the final fit's).  The test rows are asked for once the first block is fitted, so they do
    not sit under its peak, and made float32: scipy would otherwise upcast the weights to
    float64 for the product, a copy twice their size.
    """
    rows: Any = None
    out: F32Array | None = None
    for block in fitted_blocks(x, y, labels, options):
        if rows is None:
            rows = test_rows().astype(np.float32)
            out = np.full((rows.shape[0], len(labels)), ABSENT_BIAS, dtype=np.float32)
        assert out is not None
        if block is not None:
            out[:, block.classes.start : block.classes.stop] = rows @ block.weights + block.bias
    assert out is not None  # fitted_blocks yields at least one block
    return out


def fitted_blocks(
    x: Any, y: Sequence[str], labels: Sequence[str], options: FitOptions
) -> Iterator[GroupWeights | None]:
    """The model's weights as blocks of classes, each fitted when the caller asks for it.

    One block of every class, except a one-vs-rest SVM whose weights are large: then a group of
    classes at a time (`class_groups`), so only one group's weights are held.
    """
    n_features = x.shape[1]
    yi = label_indices(y, labels)
    present = np.unique(yi)
    if present.shape[0] == 1:
        # One intent to learn from: a bot with a single intent, or a calibration fold whose
        # training part holds only one of two (the other's lone example is held out).  The
        # solvers refuse one class; the model is that class, whatever the message.
        bias = np.full(len(labels), ABSENT_BIAS, dtype=np.float32)
        bias[present[0]] = 0.0
        yield GroupWeights(range(len(labels)), np.zeros((n_features, len(labels)), dtype=np.float32), bias)
        return
    groups = fit_groups(len(labels), n_features, options)
    if groups is not None:
        for g in groups:
            yield fit_class_group(x, yi, g, options)
        return
    yield _fit_all(x, yi, len(labels), options)


def fit_groups(n_labels: int, n_features: int, options: FitOptions) -> list[range] | None:
    """The class groups a fit of two classes or more is done in, or `None` when it is one call.

    Only a one-vs-rest SVM is split, and only when its weights are large (`class_groups`).
    """
    if options.loss != "svm" or options.class_weight is not None:
        return None
    groups = class_groups(n_labels, n_features)
    return groups if len(groups) > 1 else None


GROUP_TASKS = 2
"""Group tasks of one `PendingModel` in the pool at once: each holds liblinear's copy of every
row and its group's float64 weights (about 75 MB for a CLINC150-sized set), so with `n_jobs: 8`
all groups at once peaked at 910 MB instead of 510."""


class PendingModel:
    """`train_linear`'s model, fitted by a pool's workers once `submit`ted; `result()` waits for it.

    A model fitted in class groups (large weights: `class_groups`) is `GROUP_TASKS` tasks that
    take the groups in turn, each writing its classes' columns of one weight matrix, so two
    groups of one fit can run side by side, or one fill a core while another fit runs.
    Otherwise the fit is one task.
    """

    def __init__(self, x: Any, y: Sequence[str], labels: Sequence[str], options: FitOptions) -> None:
        self._x, self._y, self._labels, self._options = x, y, tuple(labels), options
        self._yi = label_indices(y, labels)
        one_class = np.unique(self._yi).shape[0] < 2  # train_linear's constant model
        self._groups = None if one_class else fit_groups(len(labels), x.shape[1], options)
        self._tasks: list[Future[Any]] = []

    @property
    def in_groups(self) -> bool:
        return self._groups is not None

    def submit(self, pool: Executor) -> None:
        if self._groups is None:
            self._tasks = [pool.submit(train_linear, self._x, self._y, self._labels, self._options)]
            return
        self._weights = np.zeros((self._x.shape[1], len(self._labels)), dtype=np.float32)
        self._bias = np.full(len(self._labels), ABSENT_BIAS, dtype=np.float32)
        self._next = iter(self._groups)
        self._next_lock = threading.Lock()
        self._failed = False
        self._tasks = [pool.submit(self._fit_groups) for _ in range(min(GROUP_TASKS, len(self._groups)))]

    def _fit_groups(self) -> None:
        """Fit groups until none is left (or another task's group failed)."""
        while True:
            with self._next_lock:
                classes = None if self._failed else next(self._next, None)
            if classes is None:
                return
            try:
                group = fit_class_group(self._x, self._yi, classes, self._options)
            except BaseException:
                self._failed = True
                raise
            if group is not None:  # the columns are the group's own: no other task writes them
                self._weights[:, classes.start : classes.stop] = group.weights
                self._bias[classes.start : classes.stop] = group.bias

    def result(self) -> LinearModel:
        if not self._tasks:
            raise RuntimeError("PendingModel.result() before submit()")
        if self._groups is None:
            model: LinearModel = self._tasks[0].result()
            return model
        for task in self._tasks:
            task.result()
        return LinearModel(self._labels, self._weights, self._bias)


def _fit_all(x: Any, yi: I64Array, n_labels: int, options: FitOptions) -> GroupWeights:
    """Every class in one scikit-learn call."""
    if options.loss == "svm":
        from sklearn.svm import LinearSVC  # noqa: PLC0415 - training only (sklearn costs ~0.6 s to import)

        clf: Any = LinearSVC(
            C=options.c,
            class_weight=options.class_weight,
            random_state=options.seed,
            max_iter=5000,
            tol=options.tol,
        )
    elif options.loss == "logreg":
        from sklearn.linear_model import LogisticRegression  # noqa: PLC0415 - training only

        clf = LogisticRegression(
            C=options.c, class_weight=options.class_weight, max_iter=2000, random_state=options.seed
        )
    else:
        raise ValueError(f"unknown intent loss {options.loss!r} (expected 'svm' or 'logreg')")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(x, yi)
    coef = np.asarray(clf.coef_, dtype=np.float32)
    intercept = np.asarray(clf.intercept_, dtype=np.float32)
    classes = list(clf.classes_)
    weights = np.zeros((x.shape[1], n_labels), dtype=np.float32)
    bias = np.full(n_labels, ABSENT_BIAS, dtype=np.float32)
    if coef.shape[0] == 1:  # binary problem: sklearn keeps one row, for the positive class
        weights[:, classes[1]] = coef[0] / 2
        weights[:, classes[0]] = -coef[0] / 2
        bias[classes[1]] = intercept[0] / 2
        bias[classes[0]] = -intercept[0] / 2
    else:
        for row, cls in enumerate(classes):
            weights[:, cls] = coef[row]
            bias[cls] = intercept[row]
    return GroupWeights(range(n_labels), weights, bias)


SPLIT_ABOVE_BYTES = 64 * 2**20
"""A one-vs-rest fit whose float64 weights would exceed this is done a group of classes at a time."""
GROUP_BYTES = 16 * 2**20
"""The float64 weights of one group of classes."""


def class_groups(n_labels: int, n_features: int) -> list[range]:
    """Consecutive groups of class indices, each fitted on its own (see `fit_class_group`).

    liblinear holds its float64 weights for every class at once and hands sklearn a copy, so a
    fit of 150 intents over 72,000 features peaks near 180 MB on top of its copy of the data,
    and the calibration fits run two at a time.  Fitting a group of classes at a time holds one
    group's weights.  It costs time: each call also solves a "rest" problem (see
    `fit_class_group`), 2.6 s for Banking77 with the sentence encoder, where the whole fit
    takes 16 s; which is also why fits are not split to share the cores (measured: 29.5 s of
    training became 31.8 s), though a fit in groups anyway runs them as separate tasks
    (`PendingModel`).  So one call whenever the weights are small: SNIPS (7 intents) and
    Banking77 (77 intents, 44 MB) are fitted as before.  Groups are even, of two classes or more.
    """
    row_bytes = 8 * max(1, n_features)
    if n_labels * row_bytes <= SPLIT_ABOVE_BYTES:
        return [range(n_labels)]
    count = min(-(-n_labels // max(2, GROUP_BYTES // row_bytes)), n_labels // 2)
    bounds = [round(k * n_labels / count) for k in range(count + 1)]
    return [range(a, b) for a, b in zip(bounds, bounds[1:], strict=False)]


@dataclass(frozen=True, slots=True)
class GroupWeights:
    """The one-vs-rest weights of some classes: `weights` is (n_features, len(classes))."""

    classes: range
    weights: F32Array
    bias: F32Array


def fit_class_group(x: Any, yi: I64Array, classes: range, options: FitOptions) -> GroupWeights | None:
    """One-vs-rest linear SVMs for `classes` only, in one liblinear call.

    The group's classes keep their labels and every other example is one "rest" label;
    one-vs-rest trains class k against all others either way, so each class gets the weights a
    single call for all classes would give it (up to liblinear's random visiting order).  The
    extra "rest" problem is thrown away.  `None` when the data holds none of the classes (a
    calibration fold without them): they keep no weights and the floor bias.
    """
    from sklearn.svm import LinearSVC  # noqa: PLC0415 - training only

    inside = (yi >= classes.start) & (yi < classes.stop)
    if not inside.any():
        return None
    rest = len(classes)
    local = np.where(inside, yi - classes.start, rest)
    clf = LinearSVC(C=options.c, random_state=options.seed, max_iter=5000, tol=options.tol)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(x, local)
    present = [int(k) for k in clf.classes_]
    coef, intercept = clf.coef_, clf.intercept_
    if len(present) == 2:  # one class of the group and the rest: sklearn keeps the rest's row
        coef, intercept = -coef, -intercept
    weights = np.zeros((x.shape[1], len(classes)), dtype=np.float32)
    bias = np.full(len(classes), ABSENT_BIAS, dtype=np.float32)
    for row, k in enumerate(present):
        if k != rest:
            weights[:, k] = coef[row]
            bias[k] = intercept[row]
    return GroupWeights(classes, weights, bias)


def assemble(labels: Sequence[str], n_features: int, groups: Iterable[GroupWeights | None]) -> LinearModel:
    """One model from the weights of its class groups, taken one at a time.

    Given a generator, each group is fitted, copied in and dropped before the next: a list of
    every group's weights would double the model's memory at the end of the fit (a CLINC150-sized
    model: 65 MB more, for each of the two fits running side by side).
    """
    weights = np.zeros((n_features, len(labels)), dtype=np.float32)
    bias = np.full(len(labels), ABSENT_BIAS, dtype=np.float32)
    for group in groups:
        if group is not None:
            weights[:, group.classes.start : group.classes.stop] = group.weights
            bias[group.classes.start : group.classes.stop] = group.bias
    return LinearModel(labels, weights, bias)
