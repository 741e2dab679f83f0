"""`PipelineConfig`'s range checks: a value training cannot use is refused, naming the option."""

from __future__ import annotations

import math
import os
import re
from dataclasses import fields, replace
from typing import Any

import pytest

from plaza.nlu.pipeline_config import _RANGES, ModelError, PipelineConfig

NAN, INF = math.nan, math.inf

BAD: list[tuple[str, Any]] = [
    ("word_ngrams", 0),
    ("word_ngrams", -1),
    ("word_ngrams", 4),  # features.py stops at trigrams
    ("char_ngram_min", 0),
    ("char_ngram_max", -1),
    ("pair_window", -3),
    ("min_df", 0),
    ("pair_min_df", 0),
    ("word_weight", -1.0),
    ("char_weight", -0.1),
    ("pair_weight", NAN),
    ("extra_weight", INF),
    ("sentence_encoder_weight", -0.5),
    ("sentence_encoder_c", 0.0),
    ("sentence_encoder_dims", -1),
    ("sentence_encoder_skip_loss", -0.1),
    ("sentence_encoder_skip_loss", 1.5),
    ("sentence_encoder_skip_loss", NAN),
    ("sentence_encoder_auto_min_examples", -1),
    ("sentence_encoder_auto_max_work", -1),
    ("intent_loss", "hinge"),
    ("intent_c", 0.0),
    ("intent_c", -1.0),
    ("intent_c", NAN),
    ("intent_c", INF),
    ("intent_tol", 0.0),
    ("class_weight", "bogus"),
    ("calibration_folds", -2),
    ("calibration_folds", 1),  # nothing held out: training would silently skip calibration
    ("calibration_folds", 11),
    ("calibration_folds", 100),
    ("calibration_min_scores", -1),
    ("calibration_min_oos", -1),
    ("oos_threshold", 2.0),
    ("oos_threshold", -0.1),
    ("oos_threshold", NAN),
    ("oos_false_rejection", 1.5),
    ("oos_false_rejection", -0.5),
    ("oos_recall_weight", 1.5),
    ("oos_recall_weight", NAN),
    ("crf_algorithm", "bogus"),
    ("crf_algorithm", "LBFGS"),  # crfsuite's alias, which entity_tagger would not read as lbfgs
    ("crf_c1", -0.05),
    ("crf_c2", NAN),
    ("crf_max_iterations", 0),
    ("crf_max_iterations", -5),
    ("crf_window", -1),
    ("crf_lbfgs_max_cost", -1.0),
    ("crf_lbfgs_max_cost", NAN),
    ("crf_fast_iterations", 0),
    ("n_jobs", 0),
    ("n_jobs", -2),
    ("seed", -1),
    ("seed", 2**32),  # scikit-learn's random_state stops at 2**32 - 1
]


@pytest.mark.parametrize(("name", "value"), BAD)
def test_a_value_out_of_range_is_refused_naming_the_option(name: str, value: Any) -> None:
    message = f"NLU pipeline option '{name}' must be "
    with pytest.raises(ModelError, match=re.escape(message)) as raised:
        PipelineConfig.from_dict({name: value})
    assert str(raised.value).endswith(f", got {value!r}")


@pytest.mark.parametrize(
    "options",
    [
        {"word_ngrams": 1},
        {"word_ngrams": 3},
        {"char_ngram_min": 1, "char_ngram_max": 1},
        {"char_ngram_min": 4, "char_ngram_max": 4},
        {"char_ngram_min": 6, "char_ngram_max": 0},  # 0: no character n-grams, the minimum unused
        {"pair_window": 0},
        {"min_df": 1, "pair_min_df": 1},
        {"min_df": None},  # chosen by the data's size
        {"word_weight": 0, "char_weight": 0, "pair_weight": 0},
        {"sentence_encoder_weight": 0, "sentence_encoder_dims": 0},
        {"sentence_encoder_auto_min_examples": 0, "sentence_encoder_auto_max_work": 0},
        {"sentence_encoder_skip_loss": None},  # the encoder reads every message
        {"sentence_encoder_skip_loss": 0},
        {"sentence_encoder_skip_loss": 1},
        {"intent_loss": "logreg", "class_weight": "balanced"},
        {"class_weight": None, "oos_threshold": None},
        {"intent_c": 1e-6, "intent_tol": 1e-9, "sentence_encoder_c": 1e-6},
        {"calibration_folds": 0},  # calibration off (the tests' fast setting)
        {"calibration_folds": 2},
        {"calibration_folds": 10},
        {"calibration_min_scores": 0, "calibration_min_oos": 0},
        {"oos_threshold": 0},
        {"oos_threshold": 1},
        {"oos_false_rejection": 0},
        {"oos_recall_weight": 0, "min_df": 2},
        {"oos_recall_weight": 1},
        {"oos_recall_weight": None},  # chosen by the number of OOS examples
        {"oos_false_rejection": 1},
        {"crf_algorithm": "l2sgd"},
        {"crf_algorithm": "ap"},
        {"crf_algorithm": "pa"},
        {"crf_algorithm": "arow"},
        {"crf_c1": 0, "crf_c2": 0, "crf_max_iterations": 1, "crf_window": 0},
        {"crf_lbfgs_max_cost": 0, "crf_fast_iterations": 1},
        {"crf_lbfgs_max_cost": INF},  # always L-BFGS (bench/nlu/many_labels.py)
        {"n_jobs": 1},
        {"n_jobs": -1},  # every core, as in scikit-learn
        {"seed": 0},
        {"seed": 2**32 - 1},
    ],
)
def test_the_boundaries_stay_valid(options: dict[str, Any]) -> None:
    config = PipelineConfig.from_dict(options)
    assert PipelineConfig.from_dict(config.to_dict()) == config


def test_character_ngrams_need_their_minimum_at_most_their_maximum() -> None:
    with pytest.raises(ModelError, match=r"'char_ngram_min' \(6\) must not exceed 'char_ngram_max' \(3\)"):
        PipelineConfig.from_dict({"char_ngram_min": 6, "char_ngram_max": 3})


def test_the_features_cannot_all_weigh_nothing() -> None:
    zero = {"word_weight": 0, "char_weight": 0, "pair_weight": 0, "extra_weight": 0}
    with pytest.raises(ModelError, match="are all 0: at least one must be above 0"):
        PipelineConfig.from_dict(zero)


def test_minus_one_job_is_every_core() -> None:
    assert PipelineConfig(n_jobs=-1).jobs() == (os.cpu_count() or 1)
    assert PipelineConfig(n_jobs=3).jobs() == 3


def test_direct_construction_and_replace_are_checked_too() -> None:
    with pytest.raises(ModelError, match="'n_jobs'"):
        PipelineConfig(n_jobs=0)
    with pytest.raises(ModelError, match="'oos_threshold'"):
        replace(PipelineConfig(), oos_threshold=2.0)


def test_every_option_has_a_range_or_a_type_that_is_one() -> None:
    """A new option must say what it allows: booleans and `sentence_encoder` are checked elsewhere."""
    checked_elsewhere = {"sentence_encoder", "calibration_folds"}
    unchecked = [
        f.name
        for f in fields(PipelineConfig)
        if f.name not in _RANGES and f.name not in checked_elsewhere and f.type != "bool"
    ]
    assert unchecked == []
