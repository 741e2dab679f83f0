"""Late fusion in `train_model`, with a stand-in encoder, so it runs without the [embeddings] extra.

What is checked is the wiring: calibration and the `auto` comparison see the sparse held-out
scores plus the weighted embedding's, and the model saved is the one calibrated.  The real
encoder's end-to-end tests are in `test_sentence_encoder.py`.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from scipy.sparse import csr_matrix

from plaza.nlu import encoder_choice, sentence_encoder, training
from plaza.nlu.intent_classifier import FitOptions, held_out_scores
from plaza.nlu.model import IntentEntityModel, PipelineConfig
from plaza.nlu.types import Example, TrainingData
from tests.nlu.recording_pool import record_training_tasks

F32 = npt.NDArray[np.float32]
DIM = 8


class StandInEncoder:
    """Knows what the words cannot tell: a message's intent is its number modulo 3."""

    name = "minilm:stand-in"

    def encode(self, texts: Sequence[str], progress: Callable[[float], None] | None = None) -> F32:
        return np.stack([self.encode_one(t) for t in texts])

    def encode_one(self, text: str) -> F32:
        number = int(next((w for w in text.split() if w.isdigit()), "0"))
        noise = np.random.default_rng(zlib.crc32(text.encode())).normal(scale=0.3, size=DIM)
        v = (np.eye(DIM)[number % 3] + noise).astype(np.float32)
        out: F32 = v / np.linalg.norm(v)
        return out


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sentence_encoder, "open_sentence_encoder", lambda name: StandInEncoder())
    monkeypatch.setattr(sentence_encoder, "load_sentence_encoder", lambda name: StandInEncoder())
    monkeypatch.setattr(sentence_encoder, "is_installed", lambda: True)


def _data() -> TrainingData:
    """600 messages whose words say little: the sparse model and the embedding disagree often."""
    rng = np.random.default_rng(0)
    intents = ["book", "taxi", "menu"]
    nouns = ["table", "car", "dishes", "tonight", "now", "please"]
    examples = []
    for _ in range(600):
        number = int(rng.integers(1000))
        examples.append(Example(f"{nouns[int(rng.integers(6))]} {number}", intents[number % 3]))
    return TrainingData(examples=examples)


class Spy:
    """Records the held-out score sets, and what calibration and the comparison were given."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sets: list[F32] = []
        self.seen: npt.NDArray[np.bool_] | None = None
        self.calibrated: F32 | None = None
        self.compared: tuple[F32, F32] | None = None
        real_cv, real_t, real_cmp = (
            training.HeldOutFits.collect,
            training.fit_temperature,
            training.compare_held_out,
        )

        def cv(*args: Any, **kwargs: Any) -> Any:
            sets, seen = real_cv(*args, **kwargs)
            self.sets, self.seen = [s.copy() for s in sets], seen.copy()
            return sets, seen

        def temperature(scores: F32, gold: Any) -> float:
            self.calibrated = scores.copy()
            return real_t(scores, gold)

        def compare(with_encoder: F32, without: F32, gold: Any) -> Any:
            self.compared = (with_encoder.copy(), without.copy())
            return real_cmp(with_encoder, without, gold)

        monkeypatch.setattr(training.HeldOutFits, "collect", cv)
        monkeypatch.setattr(training, "fit_temperature", temperature)
        monkeypatch.setattr(training, "compare_held_out", compare)


def test_calibration_sees_the_fused_scores(stand_in: None, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch)
    model = IntentEntityModel.train(_data(), PipelineConfig(sentence_encoder="minilm"))
    assert len(spy.sets) == 2
    assert spy.seen is not None
    assert spy.calibrated is not None
    fused = spy.sets[0] + np.float32(1.5) * spy.sets[1]
    assert np.allclose(spy.calibrated, fused[spy.seen])
    assert spy.compared is None  # `minilm` keeps the encoder without asking
    assert model.projection is not None
    assert model.classifier.weights.shape[0] == model.tfidf.n_features + DIM
    assert model.config.sentence_encoder == "minilm"


@pytest.mark.parametrize("keep", [True, False])
def test_auto_compares_fused_with_sparse_and_ships_what_it_calibrated(
    stand_in: None, monkeypatch: pytest.MonkeyPatch, keep: bool
) -> None:
    monkeypatch.setattr(encoder_choice, "Z", -1e9 if keep else 1e9)
    spy = Spy(monkeypatch)
    model = IntentEntityModel.train(_data(), PipelineConfig(sentence_encoder="auto"))
    assert spy.seen is not None
    assert spy.compared is not None
    assert spy.calibrated is not None
    sparse = spy.sets[0][spy.seen]
    fused = (spy.sets[0] + np.float32(1.5) * spy.sets[1])[spy.seen]
    assert np.allclose(spy.compared[0], fused)
    assert np.allclose(spy.compared[1], sparse)
    assert np.allclose(spy.calibrated, fused if keep else sparse)
    n_sparse = model.tfidf.n_features
    assert model.classifier.weights.shape[0] == n_sparse + (DIM if keep else 0)
    assert model.config.sentence_encoder == ("minilm" if keep else None)
    assert (model.projection is not None) == keep


def test_the_embeddings_final_fit_is_queued_right_after_the_sparse_one(
    stand_in: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Early, while memory is low: queued after the held-out fits, its float64 copy of the
    embeddings ran beside the sparse final fit's peak (Banking77 + minilm: 444 MB, not 400-427)."""
    tasks = record_training_tasks(monkeypatch)
    IntentEntityModel.train(_data(), PipelineConfig(sentence_encoder="minilm"))
    assert tasks[:2] == ["train_linear", "fit_dense"]
    assert tasks[2:] == ["_scores_of"] * 6  # three folds, each with both feature sets


def test_held_out_scores_of_several_feature_sets_come_from_the_same_folds() -> None:
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(3)
    gold = np.repeat(np.arange(3), 20)
    y = [str(g) for g in gold]
    sparse = csr_matrix(np.eye(3)[gold] + 0.3 * rng.random((60, 3)))
    dense = (np.eye(3)[gold] + 0.3 * rng.normal(size=(60, 3))).astype(np.float32)
    folds = training.stratified_folds(gold, 3, seed=0)
    assert folds is not None
    options = FitOptions("svm", 1.0, None, seed=0)

    def scores(x: Any, ys: Sequence[str], rows: Callable[[], Any]) -> F32:
        return held_out_scores(x, ys, rows, ["0", "1", "2"], options)

    with ThreadPoolExecutor(2) as pool:
        both, seen = training.HeldOutFits(
            [(sparse, scores), (dense, scores)], y, folds, [0, 1], pool
        ).collect(lambda f: None)
        alone, _ = training.HeldOutFits([(dense, scores)], y, folds, [0, 1], pool).collect(lambda f: None)
    assert len(both) == 2
    assert seen.sum() == int((folds != 2).sum())  # folds 0 and 1 scored, every label seen
    assert not both[0][folds == 2].any()
    assert not both[1][folds == 2].any()
    assert np.allclose(both[1], alone[0])
    assert (both[0][seen].argmax(axis=1) == gold[seen]).mean() > 0.9
