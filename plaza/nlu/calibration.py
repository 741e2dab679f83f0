"""Turning classifier scores into probabilities, and choosing the out-of-scope threshold.

Both are fitted on *cross-validated* scores of the training set — scores of examples the
model did not see — because scores on the training examples themselves are over-confident
(a linear SVM separates most of its training set) and would give a useless threshold.

* Temperature: the `T` minimising the negative log-likelihood of `softmax(scores / T)`.
* Threshold: if the data has `out_of_scope` examples, the `t` maximising a weighted mean of
  in-scope accuracy and out-of-scope recall (`oos_recall_weight`; unset, it follows how many
  OOS examples there are, `recall_weight_for`) when every top probability below `t` is
  answered `out_of_scope`.  Without such examples nothing
  tells what an unknown message scores, so `t` is set to reject a small, configured share of the
  in-scope examples the model gets right (it can never reject more in-scope messages than that,
  in expectation), and never above 0.9 (`MAX_QUANTILE_THRESHOLD`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from plaza.nlu.intent_classifier import softmax

__all__ = ["choose_threshold", "fit_temperature", "recall_weight", "recall_weight_for"]

F32Array = npt.NDArray[np.float32]
I64Array = npt.NDArray[np.int64]

FEW_OOS, MANY_OOS = 100, 400
"""OOS example counts at and below which, and at and above which, the recall's weight is flat."""
FEW_OOS_WEIGHT, MANY_OOS_WEIGHT = 0.3, 0.4

MAX_QUANTILE_THRESHOLD = 0.9
"""Without OOS examples the threshold never rejects an answer at least this sure.

Templated training data ("play song number 1", "… 2") score every held-out right answer 1.0
in float32, so the quantile was 1.0 and rejected every paraphrase (0.99998 for "play a song").
The thresholds measured on real data are far below it (SNIPS 0.55, Banking77 0.16–0.29, the
demo routers 0.51), so it only takes effect on such data.
"""


def fit_temperature(scores: F32Array, gold: I64Array) -> float:
    """Golden-section search of log T in [log 0.005, log 50] for the minimum NLL."""
    if scores.shape[0] == 0 or scores.shape[1] < 2:
        return 1.0
    rows = np.arange(scores.shape[0])

    def nll(log_t: float) -> float:
        p = softmax(scores, math.exp(log_t))
        return float(-np.log(np.maximum(p[rows, gold], 1e-12)).mean())

    lo, hi = math.log(0.005), math.log(50.0)
    ratio = (math.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = nll(a), nll(b)
    for _ in range(40):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(b)
    return math.exp((lo + hi) / 2)


def recall_weight_for(n_oos: int) -> float:
    """The OOS recall's weight for `n_oos` OOS training examples when `oos_recall_weight` is unset.

    0.3 up to 100 examples, 0.4 from 400, log-linear between.

    Measured by `bench/nlu/oos_weight.py` at CLINC150's test mix (18 % OOS): the plain mean (0.5)
    lets a few OOS examples each outweigh a hundred in-scope ones, and the sweep's maximum on so
    few points overshoots toward recall, rejecting a fifth of the in-scope messages.  With more
    of them the learned OOS class catches those like them, and recall on unseen topics needs the
    weight back (docs/nlu.md, *Few out-of-scope examples*).
    """
    if n_oos <= FEW_OOS:
        return FEW_OOS_WEIGHT
    if n_oos >= MANY_OOS:
        return MANY_OOS_WEIGHT
    share = math.log(n_oos / FEW_OOS) / math.log(MANY_OOS / FEW_OOS)
    return FEW_OOS_WEIGHT + share * (MANY_OOS_WEIGHT - FEW_OOS_WEIGHT)


def recall_weight(configured: float | None, n_oos: int) -> float:
    """The weight the threshold uses: the configured `oos_recall_weight`, or the count's."""
    return recall_weight_for(n_oos) if configured is None else configured


def choose_threshold(
    probs: F32Array,
    gold: I64Array,
    labels: Sequence[str],
    oos_label: str,
    *,
    max_false_rejection: float,
    oos_recall_weight: float,
) -> float:
    """The out-of-scope threshold on the top probability (see the module docstring).

    `oos_recall_weight` is the OOS recall's weight against in-scope accuracy's `1 - w`.  At 0.5
    one held-out OOS example weighs as much as n_in / n_oos in-scope ones.
    """
    if probs.shape[0] == 0:
        return 0.0
    top = probs.max(axis=1)
    pred = probs.argmax(axis=1)
    correct = pred == gold
    oos = labels.index(oos_label) if oos_label in labels else -1
    is_oos = gold == oos
    if oos >= 0 and is_oos.any() and (~is_oos).any():
        # Sweep: rejecting the k lowest-confidence examples, k = 0..n (ties rejected together).
        order = np.argsort(top, kind="stable")
        ts = top[order]
        good_in = (correct & ~is_oos)[order].astype(np.int64)
        missed_oos = (is_oos & (pred != oos))[order].astype(np.int64)
        lost_in = np.concatenate([[0], np.cumsum(good_in)])
        gained_oos = np.concatenate([[0], np.cumsum(missed_oos)])
        n_in, n_oos = int((~is_oos).sum()), int(is_oos.sum())
        found0 = int((is_oos & (pred == oos)).sum())
        w = oos_recall_weight
        score = (1.0 - w) * (good_in.sum() - lost_in) / n_in + w * (found0 + gained_oos) / n_oos
        # Only cut between distinct values: k valid if k == n or ts[k] > ts[k-1] or k == 0.
        valid = np.ones(ts.shape[0] + 1, dtype=bool)
        valid[1:-1] = ts[1:] > ts[:-1]
        score = np.where(valid, score, -1.0)
        k = int(np.argmax(score))
        if k == 0:
            return 0.0
        if k == ts.shape[0]:
            return float(ts[-1]) + 1e-6
        return float((ts[k - 1] + ts[k]) / 2)
    if not correct.any() or max_false_rejection <= 0:
        return 0.0
    return min(float(np.quantile(top[correct], max_false_rejection)), MAX_QUANTILE_THRESHOLD)
