"""The sparse classifier answers alone when it is sure: the learned rule and the model's parse path.

The rule is tested on constructed held-out scores; the model and the router with the real
encoder (skipped, saying so, without the `[embeddings]` extra and the model's files).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from plaza.nlu import encoder_skip
from plaza.nlu.encoder_skip import EncoderSkip, choose_encoder_skip
from plaza.nlu.intent_classifier import softmax
from plaza.nlu.model import IntentEntityModel, ModelError
from tests.nlu.model_data import restaurant_taxi_data
from tests.nlu.test_sentence_encoder import ENCODER, needs_encoder

F32Array = npt.NDArray[np.float32]

SURE_TEXTS = ("i need a cab from the opera to bastille", "hello", "book a thai restaurant for tonight")
OTHER_TEXTS = ("", "zzz qqq", "what", "the opera tonight maybe")


def _held_out(
    n_right: int, n_wrong: int, tie: bool = False
) -> tuple[F32Array, F32Array, npt.NDArray[np.int64]]:
    """Scores of 3 intents, gold always 0.  The sparse classifier is right on `n_right` rows with
    margins of 9 down to 4 and wrong (intent 1) on `n_wrong` rows with margins of 3.9 down to 3
    (at temperature 1, every row's top probability is over 0.95); the fused model is right on
    every row, so each wrong row is one the encoder gains.  With `tie`, the wrong rows all score
    the same."""
    right = np.stack([np.linspace(9.0, 4.0, n_right), np.zeros(n_right), np.full(n_right, -50.0)], axis=1)
    margins = np.full(n_wrong, 3.5) if tie else np.linspace(3.9, 3.0, n_wrong)
    wrong = np.stack([np.zeros(n_wrong), margins, np.full(n_wrong, -50.0)], axis=1)
    sparse = np.concatenate([right, wrong]).astype(np.float32)
    fused = np.tile(np.array([[5.0, 0.0, 0.0]], dtype=np.float32), (sparse.shape[0], 1))
    return sparse, fused, np.zeros(sparse.shape[0], dtype=np.int64)


@pytest.fixture
def temperature_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule's own tests read probabilities at temperature 1 (calibration is tested on its own)."""
    monkeypatch.setattr(encoder_skip, "fit_temperature", lambda scores, gold: 1.0)


BIAS = np.zeros(3, dtype=np.float32)
SKIPPING = replace(ENCODER, n_jobs=1)
"""One fit at a time: liblinear's fits side by side share a random generator (docs/nlu.md)."""


@pytest.mark.usefixtures("temperature_one")
def test_the_skip_stops_where_the_loss_would_pass_its_share_of_the_gain() -> None:
    sparse, fused, gold = _held_out(800, 200)
    skip = choose_encoder_skip(sparse, fused, gold, BIAS, allowance=0.05, floor=0.0)
    assert skip is not None
    # the budget is 5 % of the encoder's net gain of 200, so 10; the first 800 rows lose nothing
    # (bound 3 sqrt(1) = 3) and each wrong row adds one: 3 + 3 sqrt(4) = 9 fits, 4 + 3 sqrt(5) does not
    assert skip.share == pytest.approx(803 / 1000)
    assert skip.gain_kept == 197
    probs = softmax(sparse, skip.temperature)
    assert skip.confidence == pytest.approx(float(probs[802].max()))
    assert probs[803].max() < skip.confidence <= probs[802].max()


@pytest.mark.usefixtures("temperature_one")
def test_no_skip_without_evidence_enough_for_its_margin() -> None:
    """A gain of 40 allows a loss of 2, less than the margin of a stretch with no disagreement."""
    sparse, fused, gold = _held_out(800, 40)
    assert choose_encoder_skip(sparse, fused, gold, BIAS, allowance=0.05, floor=0.0) is None


@pytest.mark.usefixtures("temperature_one")
def test_the_skip_never_goes_below_the_floor_or_the_minimum() -> None:
    sparse, fused, gold = _held_out(800, 200)
    skip = choose_encoder_skip(sparse, fused, gold, BIAS, allowance=1.0, floor=0.999)
    assert skip is not None
    assert skip.confidence >= 0.999
    assert skip.share < 0.8
    everything = choose_encoder_skip(sparse, fused, gold, BIAS, allowance=1.0, floor=0.0)
    assert everything is not None
    assert everything.confidence >= encoder_skip.MIN_CONFIDENCE
    # rows the sparse classifier is less sure of never skip, however well the held-out data say
    # it does there: unknown requests are not in them (encoder_skip.MIN_CONFIDENCE)
    unsure = sparse.copy()
    unsure[:400, 0] = 2.0  # top probability 0.88
    lower = choose_encoder_skip(unsure, fused, gold, BIAS, allowance=1.0, floor=0.0)
    assert lower is not None
    assert lower.confidence >= encoder_skip.MIN_CONFIDENCE
    assert lower.share <= 0.6  # of the 1,000 rows, the 400 made less sure never skip


@pytest.mark.usefixtures("temperature_one")
def test_messages_of_one_confidence_skip_together_or_not_at_all() -> None:
    """200 wrong rows of the same score: taking 3 of them would fit the budget, all 200 do not."""
    sparse, fused, gold = _held_out(800, 200, tie=True)
    skip = choose_encoder_skip(sparse, fused, gold, BIAS, allowance=0.05, floor=0.0)
    assert skip is not None
    assert skip.share == pytest.approx(0.8)
    assert skip.gain_kept == 200


@pytest.mark.usefixtures("temperature_one")
def test_where_the_encoder_hurts_the_skip_needs_the_sparse_classifier_clearly_better() -> None:
    """Fused wrong where the sparse classifier is sure and right: skipping there gains."""
    sparse, fused, gold = _held_out(800, 0)
    fused[:100] = [0.0, 5.0, 0.0]
    skip = choose_encoder_skip(sparse, fused, gold, BIAS, allowance=0.05, floor=0.0)
    assert skip is not None
    assert skip.share == pytest.approx(1.0)
    assert skip.gain_kept == 0  # the encoder reads no held-out message: it keeps no gain (nor loss)
    assert choose_encoder_skip(sparse[:0], fused[:0], gold[:0], BIAS, allowance=0.05, floor=0.0) is None


def test_the_rule_answers_from_the_sparse_scores_plus_its_own_bias() -> None:
    skip = EncoderSkip(0.9, 0.5, np.array([0.0, 1.0, -1.0], dtype=np.float32), 0.5, 0)
    sure = skip.probabilities(np.array([0.0, 2.0, 0.0], dtype=np.float32))
    assert sure is not None
    np.testing.assert_allclose(sure, softmax(np.array([0.0, 3.0, -1.0], dtype=np.float32), 0.5))
    assert skip.probabilities(np.array([1.0, 0.0, 0.0], dtype=np.float32)) is None
    assert EncoderSkip.from_json(skip.to_json(), skip.bias).to_json() == skip.to_json()


# ------------------------------------------------------------------------- with the encoder


class _CountingEncoder:
    """The model's encoder, counting the messages it is asked to encode."""

    def __init__(self, encoder: Any) -> None:
        self.encoder = encoder
        self.texts: list[str] = []

    def encode_one(self, text: str) -> Any:
        self.texts.append(text)
        return self.encoder.encode_one(text)


@pytest.fixture(scope="module")
def encoder_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The int8 graph built once for this module, in a folder of its own (not the user's cache)."""
    from plaza.nlu import sentence_encoder

    folder = tmp_path_factory.mktemp("encoder-cache")
    mp = pytest.MonkeyPatch()
    mp.setenv(sentence_encoder.CACHE_DIR_ENV, str(folder))
    yield folder
    mp.undo()


@pytest.fixture(scope="module")
def skipping_model(encoder_cache: Path) -> IntentEntityModel:
    """The restaurant/taxi model with a skip rule: its held-out data are few, so without a margin."""
    del encoder_cache
    mp = pytest.MonkeyPatch()
    mp.setattr(encoder_skip, "MARGIN_SD", 0.0)
    model = IntentEntityModel.train(restaurant_taxi_data(), SKIPPING)
    mp.undo()
    return model


@pytest.fixture
def without_margin(encoder_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Training learns a skip rule from the small test data (see `skipping_model`)."""
    del encoder_cache
    monkeypatch.setattr(encoder_skip, "MARGIN_SD", 0.0)


@needs_encoder
def test_a_sure_message_is_answered_without_the_encoder(skipping_model: IntentEntityModel) -> None:
    model = skipping_model
    skip = model.encoder_skip
    assert skip is not None
    counting = _CountingEncoder(model._encoder)
    model._encoder = counting  # type: ignore[assignment]
    try:
        sure = [t for t in SURE_TEXTS + OTHER_TEXTS if model.skips_encoder(t)]
        unsure = [t for t in SURE_TEXTS + OTHER_TEXTS if not model.skips_encoder(t)]
        assert sure, "the test needs messages of both kinds"
        assert unsure, "the test needs messages of both kinds"
        for text in sure + unsure:
            model.parse(text)
        assert counting.texts == unsure
        # A sure message gets the answer of the model trained without the encoder (the same
        # sparse classifier, calibrated on the same held-out scores): its probabilities exactly.
        plain = IntentEntityModel.train(restaurant_taxi_data(), replace(SKIPPING, sentence_encoder=None))
        for text in sure:
            out = model.parse(text)
            assert out.intent.confidence >= skip.confidence
            alone = plain.parse(text).scores
            assert [s.name for s in out.scores] == [s.name for s in alone]
            np.testing.assert_allclose(
                [s.confidence for s in out.scores], [s.confidence for s in alone], atol=1e-5
            )
        # the others, that of the model with the encoder and no skip rule
        fused = object.__new__(IntentEntityModel)
        fused.__dict__.update(model.__dict__)
        fused.encoder_skip = None
        for text in unsure:
            assert model.parse(text).intent_ranking == fused.parse(text).intent_ranking
    finally:
        model._encoder = counting.encoder


@needs_encoder
def test_the_skip_rule_is_saved_and_loaded(skipping_model: IntentEntityModel, tmp_path: Path) -> None:
    skipping_model.save(tmp_path / "m")
    assert (tmp_path / "m" / "sparse_bias.npy").is_file()
    loaded = IntentEntityModel.load(tmp_path / "m")
    assert loaded.encoder_skip is not None
    assert skipping_model.encoder_skip is not None
    assert loaded.encoder_skip.to_json() == skipping_model.encoder_skip.to_json()
    for text in SURE_TEXTS + OTHER_TEXTS:
        assert loaded.skips_encoder(text) == skipping_model.skips_encoder(text)
        assert loaded.parse(text).intent_ranking == skipping_model.parse(text).intent_ranking
    np.save(tmp_path / "m" / "sparse_bias.npy", np.zeros(3, dtype=np.float32))  # not one per intent
    with pytest.raises(ModelError, match=r"sparse_bias\.npy does not match the model's intents \(retrain\)"):
        IntentEntityModel.load(tmp_path / "m")


@needs_encoder
@pytest.mark.usefixtures("without_margin")
def test_without_a_skip_loss_every_message_is_encoded() -> None:
    model = IntentEntityModel.train(restaurant_taxi_data(), replace(ENCODER, sentence_encoder_skip_loss=None))
    assert model.encoder_skip is None
    assert not any(model.skips_encoder(t) for t in SURE_TEXTS)
    plain = IntentEntityModel.train(restaurant_taxi_data(), replace(ENCODER, sentence_encoder=None))
    assert plain.encoder_skip is None  # nothing to skip


@needs_encoder
@pytest.mark.usefixtures("without_margin")
def test_router_shards_skip_the_encoder_as_each_shard_does() -> None:
    """Some shards sure and some not, for one message: each still gets its own probabilities."""
    from tests.nlu.test_sentence_encoder import (
        _assert_each_shard_keeps_its_probabilities,
        _restaurant_taxi_shards,
    )

    models = [IntentEntityModel.train(s.training, ENCODER) for s in _restaurant_taxi_shards()]
    assert any(m.encoder_skip is not None for m in models)
    sure = [[m.skips_encoder(t) for m in models] for t in SURE_TEXTS + OTHER_TEXTS]
    assert any(any(row) and not all(row) for row in sure), "the test needs a message of both kinds"
    _assert_each_shard_keeps_its_probabilities(models, SURE_TEXTS + OTHER_TEXTS)


@needs_encoder
@pytest.mark.usefixtures("without_margin")
def test_eval_reports_the_rule_and_the_share_of_test_messages_it_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from plaza.nlu.evaluate import evaluate
    from plaza.nlu.types import Example, TrainingData

    test = TrainingData(examples=tuple(Example(text=t, intent="greet") for t in SURE_TEXTS + OTHER_TEXTS))
    result = evaluate(restaurant_taxi_data(), test, SKIPPING)
    figures = result.summary["encoder_skip"]
    assert figures is not None
    assert 0.5 <= figures["confidence"] <= 1.0
    assert 0.0 < figures["held_out_share"] <= 1.0
    assert 0.0 < figures["test_share"] < 1.0  # the texts are of both kinds (see above)
    monkeypatch.setattr(encoder_skip, "MARGIN_SD", 1e9)  # no rule: nothing to report
    assert evaluate(restaurant_taxi_data(), test, SKIPPING).summary["encoder_skip"] is None
