"""The embedding's classifier: Newton's method must reach liblinear's optimum, deterministically."""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt
import pytest
from scipy.sparse import csr_matrix
from sklearn.svm import LinearSVC

from plaza.nlu.dense_svm import fit_dense_ovr
from plaza.nlu.intent_classifier import ABSENT_BIAS, FitOptions, LinearModel, fuse, train_dense, train_linear

F64 = npt.NDArray[np.float64]


def _clusters(n: int, dims: int, classes: int, seed: int) -> tuple[F64, npt.NDArray[np.int64]]:
    """Overlapping Gaussian clusters on the unit sphere, like sentence embeddings."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dims))
    yi = rng.integers(0, classes, size=n)
    x = centres[yi] + 1.5 * rng.normal(size=(n, dims))
    return x / np.linalg.norm(x, axis=1, keepdims=True), yi.astype(np.int64)


def _objectives(w: F64, b: F64, x: F64, yi: npt.NDArray[np.int64], c: float) -> F64:
    """Each class's primal objective, ½‖(w, b)‖² + C Σ max(0, 1 − yᵢ(w·xᵢ + b))²."""
    y = np.where(yi[:, None] == np.arange(w.shape[1])[None, :], 1.0, -1.0)
    viol = np.maximum(0.0, 1.0 - y * (x @ w + b))
    out: F64 = 0.5 * ((w * w).sum(axis=0) + b * b) + c * (viol * viol).sum(axis=0)
    return out


def _liblinear(x: F64, yi: npt.NDArray[np.int64], c: float, **kwargs: object) -> LinearSVC:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LinearSVC(C=c, dual=False, tol=1e-10, max_iter=100_000, **kwargs).fit(x, yi)  # type: ignore[arg-type]


def test_reaches_liblinears_optimum() -> None:
    x, yi = _clusters(900, 24, 6, seed=0)
    ref = _liblinear(x, yi, 2.0)
    w, b = fit_dense_ovr(x, yi, 6, 2.0, tol=1e-8, block=4)  # two blocks of classes
    ours = _objectives(w.astype(np.float64), b.astype(np.float64), x, yi, 2.0)
    theirs = _objectives(ref.coef_.T, ref.intercept_, x, yi, 2.0)
    assert np.allclose(ours, theirs, rtol=1e-5)
    assert np.allclose(w, ref.coef_.T, atol=1e-3)
    assert np.allclose(b, ref.intercept_, atol=1e-3)


def test_default_tolerance_is_near_the_optimum_and_deterministic() -> None:
    x, yi = _clusters(900, 24, 6, seed=1)
    ref = _liblinear(x, yi, 1.0)
    w, b = fit_dense_ovr(x, yi, 6, 1.0)
    ours = _objectives(w.astype(np.float64), b.astype(np.float64), x, yi, 1.0)
    theirs = _objectives(ref.coef_.T, ref.intercept_, x, yi, 1.0)
    assert np.all(ours <= theirs * (1 + 1e-4))
    again = fit_dense_ovr(x, yi, 6, 1.0)
    assert np.array_equal(w, again[0])
    assert np.array_equal(b, again[1])


def test_an_absent_class_is_never_chosen() -> None:
    x, yi = _clusters(300, 8, 3, seed=2)
    w, b = fit_dense_ovr(x, yi, 4, 1.0)  # label 3 has no example
    assert not w[:, 3].any()
    assert b[3] == pytest.approx(ABSENT_BIAS)
    assert int((x @ w + b).argmax(axis=1).max()) < 3


def test_class_weights_reach_liblinears_optimum() -> None:
    x, yi = _clusters(600, 12, 4, seed=3)
    class_weight = np.array([3.0, 1.0, 0.5, 2.0])
    w, b = fit_dense_ovr(x, yi, 4, 1.0, class_weight=class_weight, tol=1e-10)
    ref = _liblinear(x, yi, 1.0, class_weight=dict(enumerate(class_weight)))
    assert np.allclose(w, ref.coef_.T, atol=1e-3)
    assert np.allclose(b, ref.intercept_, atol=1e-3)


def test_balanced_class_weights_match_liblinears() -> None:
    x, yi = _clusters(600, 12, 4, seed=4)
    keep = (yi != 0) | (np.arange(600) % 5 == 0)  # class 0 is rare
    x, yi = x[keep], yi[keep]
    labels = ["a", "b", "c", "d"]
    options = FitOptions("svm", 1.0, "balanced", seed=0, tol=1e-10)
    model = train_dense(x, [labels[i] for i in yi], labels, options)
    ref = _liblinear(x, yi, 1.0, class_weight="balanced")
    assert np.allclose(model.weights, ref.coef_.T, atol=1e-3)
    assert np.allclose(model.bias, ref.intercept_, atol=1e-3)


@pytest.mark.parametrize("class_weight", [None, "balanced"])
def test_two_classes_are_one_problem_as_in_liblinear(class_weight: str | None) -> None:
    # scikit-learn keeps one row for two classes; the model stores it as ±half (`_fit_all`)
    x, yi = _clusters(400, 10, 2, seed=6)
    keep = (yi == 1) | (np.arange(400) % 4 == 0)  # class 0 is rare, so balanced weights matter
    x, yi = x[keep], yi[keep]
    labels = ["a", "b"]
    y = [labels[i] for i in yi]
    options = FitOptions("svm", 1.0, class_weight, seed=0, tol=1e-10)
    dense = train_dense(x, y, labels, options)
    ref = _liblinear(x, yi, 1.0, class_weight=class_weight)
    assert np.allclose(dense.weights[:, 1], ref.coef_[0] / 2, atol=1e-3)
    assert np.allclose(dense.weights[:, 0], -ref.coef_[0] / 2, atol=1e-3)
    assert dense.bias[1] == pytest.approx(ref.intercept_[0] / 2, abs=1e-3)
    sparse = train_linear(csr_matrix(x), y, labels, options)  # liblinear's dual, same objective
    assert np.allclose(dense.weights, sparse.weights, atol=2e-3)


def test_fused_scores_are_sparse_plus_weighted_dense() -> None:
    x, yi = _clusters(300, 10, 3, seed=5)
    labels = ["a", "b", "c"]
    y = [labels[i] for i in yi]
    options = FitOptions("svm", 1.0, None, seed=0)
    sparse_x = csr_matrix(np.maximum(x, 0.0))
    sparse = train_linear(sparse_x, y, labels, options)
    dense = train_dense(x, y, labels, options)
    fused = fuse(sparse, dense, 1.5)
    assert isinstance(fused, LinearModel)
    both = np.hstack([sparse_x.toarray(), x]).astype(np.float32)
    expected = sparse_x.toarray() @ sparse.weights + sparse.bias + 1.5 * (x @ dense.weights + dense.bias)
    assert np.allclose(both @ fused.weights + fused.bias, expected, atol=1e-4)
