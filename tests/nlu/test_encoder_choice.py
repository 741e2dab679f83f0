"""`sentence_encoder: auto` without the encoder itself: the rule, the guards, the config.

The end-to-end decisions (a model identical to one without the encoder, or to one with it) are
in `test_sentence_encoder.py`, which needs the [embeddings] extra.
"""

from __future__ import annotations

import numpy as np
import pytest

from plaza.nlu import sentence_encoder
from plaza.nlu.encoder_choice import EncoderCheck, candidate_encoder, compare_held_out
from plaza.nlu.evaluate import evaluate
from plaza.nlu.model import IntentEntityModel, ModelError, PipelineConfig
from tests.nlu.model_data import restaurant_taxi_data

AUTO = PipelineConfig(sentence_encoder="auto")


def test_held_out_comparison_counts_each_example_once() -> None:
    gold = np.array([0, 1, 2, 0, 1], dtype=np.int64)
    with_encoder = np.eye(3, dtype=np.float32)[[0, 1, 2, 1, 0]]  # right on 0, 1, 2
    without = np.eye(3, dtype=np.float32)[[0, 2, 1, 0, 0]]  # right on 0, 3
    check = compare_held_out(with_encoder, without, gold)
    assert check == EncoderCheck(scored=5, right_with=3, right_without=2, gained=2, lost=1)
    assert check.to_dict()["kept"] is False  # 2 - 1 is no evidence


def test_the_decision_reads_as_one_line_for_plaza_train() -> None:
    kept = EncoderCheck(scored=3335, right_with=3100, right_without=3014, gained=130, lost=44)
    assert kept.summary() == (
        "sentence encoder kept: of 3,335 held-out messages, 130 right only with it, 44 only without"
    )
    assert EncoderCheck(4362, 4316, 4317, 14, 15).summary().startswith("sentence encoder left out:")


@pytest.mark.parametrize(
    ("gained", "lost", "kept"),
    [(130, 44, True), (14, 15, False), (30, 10, True), (20, 12, False), (0, 0, False), (5, 0, True)],
)
def test_the_encoder_stays_only_when_it_is_clearly_right_more_often(
    gained: int, lost: int, kept: bool
) -> None:
    # (130, 44) and (14, 15) are Banking77's and SNIPS's own held-out folds (docs/nlu.md)
    right_with, right_without = 900 + gained, 900 + lost
    check = EncoderCheck(1000, right_with, right_without, gained, lost)
    assert check.helps is kept


def test_auto_offers_the_encoder_only_to_data_it_can_be_judged_and_afforded_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sentence_encoder, "is_installed", lambda: True)
    assert candidate_encoder(AUTO, 10_003, 77, 2) == "minilm"  # Banking77
    assert candidate_encoder(AUTO, 559, 9, 4) == "minilm"  # the demo's concierge
    assert candidate_encoder(AUTO, 499, 9, 4) is None  # too small to be worth loading the encoder
    assert candidate_encoder(AUTO, 10_003, 1, 1) is None  # nothing to compare
    assert candidate_encoder(AUTO, 15_100, 151, 4) is None  # CLINC150-sized: too slow with it
    assert candidate_encoder(PipelineConfig(sentence_encoder="minilm"), 10, 1, 1) == "minilm"
    assert candidate_encoder(PipelineConfig(), 10_003, 77, 2) is None
    monkeypatch.setattr(sentence_encoder, "is_installed", lambda: False)
    assert candidate_encoder(AUTO, 10_003, 77, 2) is None  # the default install: no extra


def test_auto_is_a_config_value_and_stays_english() -> None:
    assert PipelineConfig.from_dict({"sentence_encoder": "auto"}) == AUTO
    assert AUTO.for_language("en") == AUTO
    assert AUTO.for_language("fr").sentence_encoder is None
    with pytest.raises(ModelError, match=r"expected one of: minilm, auto"):
        PipelineConfig.from_dict({"sentence_encoder": "automatic"})


def test_small_data_under_auto_train_without_looking_for_the_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_be_asked() -> bool:
        raise AssertionError("auto looked for the encoder for a small bot")

    monkeypatch.setattr(sentence_encoder, "is_installed", must_not_be_asked)
    data = restaurant_taxi_data()
    model = IntentEntityModel.train(data, AUTO)
    plain = IntentEntityModel.train(data, PipelineConfig())
    assert model.config.sentence_encoder is None  # what is saved: the decision, not "auto"
    assert model.encoder_check is None
    assert model.projection is None
    # to liblinear's rounding: fits side by side share its random generator (docs/nlu.md)
    np.testing.assert_allclose(model.classifier.weights, plain.classifier.weights, atol=0.01)
    result = evaluate(data, data, AUTO)
    assert result.summary["pipeline"] == {"sentence_encoder": "auto"}
    assert result.summary["sentence_encoder_used"] is None
    assert result.summary["encoder_check"] is None
