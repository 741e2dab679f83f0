from __future__ import annotations

import gc
import json
import math
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from plaza.nlu import training
from plaza.nlu.intent_classifier import FitOptions
from plaza.nlu.model import IntentEntityModel, ModelError, ModelOutput, PipelineConfig, fingerprint
from plaza.nlu.training import held_out_folds
from plaza.nlu.types import OUT_OF_SCOPE, EntitySpan, Example, RegexFeature, TrainingData
from tests.nlu.model_data import restaurant_taxi_data, router_data
from tests.nlu.recording_pool import record_training_tasks

FAST = PipelineConfig(crf_max_iterations=40)


@pytest.fixture(scope="module")
def model() -> IntentEntityModel:
    return IntentEntityModel.train(restaurant_taxi_data(), FAST)


def test_intents_and_entity_types(model: IntentEntityModel) -> None:
    assert set(model.intents) == {"book_table", "order_taxi", "greet", "goodbye", "ask_menu", OUT_OF_SCOPE}
    assert model.entity_types == ("cuisine", "location")


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("book a table at a thai restaurant", "book_table"),
        ("hello there", "greet"),
        ("bye bye", "goodbye"),
        ("can i see the menu please", "ask_menu"),
        ("i need a taxi from opera to bastille", "order_taxi"),
    ],
)
def test_parse_intent(model: IntentEntityModel, text: str, intent: str) -> None:
    out = model.parse(text)
    assert out.intent.name == intent
    assert out.intent_ranking[0] == out.intent


def test_ranking_is_a_sorted_distribution(model: IntentEntityModel) -> None:
    out = model.parse("reserve a french restaurant")
    confidences = [s.confidence for s in out.intent_ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert math.isclose(sum(confidences), 1.0, abs_tol=1e-3)
    assert {s.name for s in out.intent_ranking} == set(model.intents)


def test_packed_output_round_trips_and_is_invisible_to_the_collector(model: IntentEntityModel) -> None:
    out = model.parse("reserve a french restaurant")
    packed = out.packed()
    assert ModelOutput.unpacked(packed) == out
    names, confidences, _entities, _below = packed
    gc.collect()  # the collector untracks tuples of atoms when it first meets them
    assert not gc.is_tracked(names)
    assert not gc.is_tracked(confidences)


def test_entity_offsets_and_value(model: IntentEntityModel) -> None:
    text = "Find me a Japanese place for dinner"
    out = model.parse(text)
    [cuisine] = [e for e in out.entities if e.entity == "cuisine"]
    assert text[cuisine.start : cuisine.end] == "Japanese" == cuisine.text
    assert cuisine.value == "Japanese"
    assert cuisine.extractor == "crf"
    assert 0.0 < cuisine.confidence <= 1.0


def test_synonym_maps_to_canonical_value(model: IntentEntityModel) -> None:
    out = model.parse("book a table at a Veggie restaurant")
    [cuisine] = [e for e in out.entities if e.entity == "cuisine"]
    assert cuisine.text == "Veggie"
    assert cuisine.value == "vegetarian"


def test_roles(model: IntentEntityModel) -> None:
    text = "taxi from gare du nord to montmartre please"
    out = model.parse(text)
    assert out.intent.name == "order_taxi"
    got = {(e.text, e.role) for e in out.entities if e.entity == "location"}
    assert got == {("gare du nord", "origin"), ("montmartre", "destination")}


def test_learned_out_of_scope(model: IntentEntityModel) -> None:
    out = model.parse("what is the capital of peru")
    assert out.intent.name == OUT_OF_SCOPE
    assert out.entities == ()


def test_threshold_rejection_keeps_real_ranking() -> None:
    data = restaurant_taxi_data(with_oos=False)
    model = IntentEntityModel.train(data, replace(FAST, oos_threshold=1.0))  # every confidence is below 1
    out = model.parse("hello there")
    assert out.below_threshold
    assert out.intent.name == OUT_OF_SCOPE
    assert out.intent_ranking[1].name == "greet"
    assert math.isclose(out.intent.confidence, 1 - out.intent_ranking[1].confidence, abs_tol=1e-6)
    assert math.isclose(sum(s.confidence for s in out.intent_ranking[1:]), 1.0, abs_tol=1e-3)


def test_calibrated_threshold_without_oos_examples_is_a_probability() -> None:
    model = IntentEntityModel.train(restaurant_taxi_data(with_oos=False), FAST)
    assert 0.0 <= model.threshold < 1.0
    assert OUT_OF_SCOPE not in model.intents
    assert model.parse("hello there").intent.name == "greet"


def test_save_load_round_trip(model: IntentEntityModel, tmp_path: Path) -> None:
    model.save(tmp_path / "m")
    loaded = IntentEntityModel.load(tmp_path / "m")
    assert loaded.intents == model.intents
    assert loaded.entity_types == model.entity_types
    for text in [
        "book a table at a Veggie restaurant",
        "taxi from opera to the airport",
        "hello",
        "tell me a joke",
        "",
        "REF-1234 ???",
    ]:
        assert loaded.parse(text) == model.parse(text)
    names = {p.name for p in (tmp_path / "m").iterdir()}
    assert "model.json" in names
    assert not any(n.endswith((".pkl", ".pickle")) for n in names)


def test_training_with_one_job_is_reproducible_byte_for_byte(tmp_path: Path) -> None:
    """`n_jobs: 1` is the documented way to a reproducible model (liblinear's random generator
    is shared by the fits that `n_jobs: 2` runs side by side)."""
    config = replace(FAST, n_jobs=1)
    for name in ("first", "second"):
        IntentEntityModel.train(restaurant_taxi_data(), config).save(tmp_path / name)
    names = sorted(p.name for p in (tmp_path / "first").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "second").iterdir())
    assert any(n.startswith("crf-") for n in names)
    for name in names:
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes(), name


def test_load_errors(tmp_path: Path, model: IntentEntityModel) -> None:
    with pytest.raises(ModelError):
        IntentEntityModel.load(tmp_path / "missing")
    model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    meta["format"] = "plaza-nlu-0"
    (tmp_path / "m" / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="retrain"):
        IntentEntityModel.load(tmp_path / "m")


def test_router_without_entities() -> None:
    router = IntentEntityModel.train(router_data(), FAST)
    assert router.entity_types == ()
    assert router.tagger is None
    out = router.parse("i need a cab to the station")
    assert out.intent.name == "taxi"
    assert out.entities == ()
    assert router.parse("two tickets for a movie tonight").intent.name == "cinema"


def test_regex_entity_extractor() -> None:
    data = restaurant_taxi_data()
    for n in range(8):
        text = f"cancel booking REF-{1000 + 37 * n}"
        data.examples.append(Example(text, "cancel", (EntitySpan(15, 23, "booking_ref", text[15:23]),)))
    data.regexes.append(RegexFeature("booking_ref", (r"\bREF-\d{4}\b",)))
    model = IntentEntityModel.train(data, FAST)
    out = model.parse("please cancel REF-9876 now")
    assert out.intent.name == "cancel"
    assert [(e.entity, e.value, e.start, e.end) for e in out.entities] == [
        ("booking_ref", "REF-9876", 14, 22)
    ]


def test_single_intent_and_empty_text() -> None:
    model = IntentEntityModel.train(
        TrainingData(examples=[Example("hello", "greet"), Example("hi", "greet")])
    )
    out = model.parse("")
    assert out.intent.name == "greet"
    assert out.intent.confidence == pytest.approx(1.0)
    assert out.entities == ()


@pytest.mark.parametrize("common", ["greet", OUT_OF_SCOPE])
def test_two_intents_one_with_a_single_example(common: str) -> None:
    """Its example is held out of one calibration fold, whose training part has one intent."""
    texts = ["hello there", "hi", "good morning", "hey you", "hello friend"]
    data = TrainingData(examples=[Example(t, common) for t in texts] + [Example("bye now", "goodbye")])
    model = IntentEntityModel.train(data, FAST)
    assert set(model.intents) == {common, "goodbye"}
    assert model.parse("bye now").intent.name == "goodbye"
    assert model.parse("hello there").intent.name == common


def test_training_warns_of_annotations_the_tagger_alters(caplog: pytest.LogCaptureFixture) -> None:
    data = restaurant_taxi_data()
    text = "a table at bobsmiths place"
    data.examples.append(Example(text, "book_table", (EntitySpan(11, 14, "cuisine", "bob"),)))
    with caplog.at_level("WARNING", logger="plaza.nlu.training"):
        IntentEntityModel.train(data, FAST)
    [warning] = [r.getMessage() for r in caplog.records]
    assert warning == (
        "1 entity annotation(s) start or end inside a word; the tagger learns them as whole words, "
        "e.g. 'bob' (cuisine) in 'a table at bobsmiths place'"
    )


def test_no_examples_is_an_error() -> None:
    with pytest.raises(ModelError, match="no training examples"):
        IntentEntityModel.train(TrainingData())


def test_progress_reports_stages() -> None:
    seen: list[tuple[str, float]] = []
    IntentEntityModel.train(restaurant_taxi_data(), FAST, progress=lambda s, f: seen.append((s, f)))
    stages = [s for s, _ in seen]
    assert {"features", "calibration", "intents", "entities"} <= set(stages)
    assert all(0.0 <= f <= 1.0 for _, f in seen)
    assert seen[-1][1] == 1.0


def test_fingerprint_is_stable_and_sensitive() -> None:
    data = restaurant_taxi_data()
    assert fingerprint(data, FAST) == fingerprint(
        restaurant_taxi_data(), PipelineConfig(crf_max_iterations=40)
    )
    assert fingerprint(data, FAST) != fingerprint(data, PipelineConfig())
    other = restaurant_taxi_data()
    other.examples.append(Example("one more", "greet"))
    assert fingerprint(other, FAST) != fingerprint(data, FAST)


def test_config_round_trip_and_validation() -> None:
    cfg = PipelineConfig(intent_c=2, oos_threshold=0.3)
    assert PipelineConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert hash(cfg) == hash(PipelineConfig.from_dict(cfg.to_dict()))
    assert PipelineConfig.from_dict({"intent_c": 1}).intent_c == 1.0
    with pytest.raises(ModelError, match="unknown"):
        PipelineConfig.from_dict({"no_such_knob": 1})
    with pytest.raises(ModelError, match="crf_per_intent"):
        PipelineConfig.from_dict({"crf_per_intent": "yes"})
    with pytest.raises(ModelError, match="word_ngrams"):
        PipelineConfig.from_dict({"word_ngrams": True})


def test_parsing_does_not_import_sklearn_or_scipy(model: IntentEntityModel, tmp_path: Path) -> None:
    model.save(tmp_path / "m")
    code = (
        "import sys; from pathlib import Path; from plaza.nlu.model import IntentEntityModel;"
        f"m = IntentEntityModel.load(Path({str(tmp_path / 'm')!r})); m.parse('book a thai table');"
        "bad = [k for k in sys.modules if k.split('.')[0] in ('sklearn', 'scipy')]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_rare_intents_do_not_flatten_the_calibration() -> None:
    data = restaurant_taxi_data()
    data.examples += [
        Example("call the manager", "ask_manager"),
        Example("speak to a manager", "ask_manager"),
    ]
    model = IntentEntityModel.train(data, FAST)
    assert model.temperature < 10
    assert model.parse("book a table at a thai restaurant").intent.confidence > 0.5


def test_shared_crf_mode() -> None:
    model = IntentEntityModel.train(restaurant_taxi_data(), replace(FAST, crf_per_intent=False))
    assert model.tagger is not None
    assert set(model.tagger.models) == {"*"}
    out = model.parse("find me a greek place for dinner")
    assert [(e.entity, e.text) for e in out.entities] == [("cuisine", "greek")]


def test_a_failing_fit_stops_training_without_the_queued_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C or an error in one fit must not wait for every queued fit to run first."""
    calls: list[int] = []

    def failing_fit(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) > 1:
            time.sleep(1.0)  # a real fit takes time: training sees the first failure meanwhile
        raise MemoryError("a held-out fit ran out of memory")

    monkeypatch.setattr(training, "held_out_scores", failing_fit)
    with pytest.raises(MemoryError, match="held-out fit"):
        IntentEntityModel.train(restaurant_taxi_data(), replace(FAST, n_jobs=1, calibration_folds=6))
    # The final fit was queued, then six held-out fits.  The one worker, once past the final
    # fit, may take the next held-out fit before training sees the first one fail; the rest
    # are dropped (all six ran before).
    assert 1 <= len(calls) <= 2


@pytest.mark.parametrize("in_groups", [True, False])
def test_the_final_fit_is_queued_first_unless_it_is_in_class_groups(
    monkeypatch: pytest.MonkeyPatch, in_groups: bool
) -> None:
    """The longest task first; a final fit's groups are short tasks, queued after the held-out fits.

    Behind the held-out fit, the groups keep both cores busy to the end; queued first, they would
    all be done while the held-out fit ran on one core alone (a CLINC150-sized set: 3.5 s of 21).
    """
    import plaza.nlu.intent_classifier as ic

    tasks = record_training_tasks(monkeypatch)
    if in_groups:
        monkeypatch.setattr(ic, "SPLIT_ABOVE_BYTES", 0)  # every fit in groups of two or three classes
        monkeypatch.setattr(ic, "GROUP_BYTES", 1)
    model = IntentEntityModel.train(restaurant_taxi_data(), replace(FAST, calibration_folds=3, min_df=1))
    n_groups = len(ic.class_groups(len(model.intents), model.tfidf.n_features))
    if in_groups:
        assert n_groups > 1
        assert tasks == ["_scores_of"] * 3 + ["_fit_groups"] * 2
    else:
        assert tasks == ["train_linear"] + ["_scores_of"] * 3
    assert model.parse("book a table at a thai restaurant").intent.name == "book_table"


def test_words_min_df_is_two_only_for_large_data_with_large_weights() -> None:
    from plaza.nlu.features import BLOCK_WORD, DocumentFrequencies

    n_keys = 60_000  # 150 labels × 60,000 features × 8 bytes: over 64 MB, so class groups
    freqs = DocumentFrequencies(
        keys=np.arange(n_keys, dtype=np.uint64),
        blocks=np.full(n_keys, BLOCK_WORD, dtype=np.uint8),
        df=np.ones(n_keys, dtype=np.int64),
        n_docs=training.LARGE_DATA,
    )
    default = PipelineConfig()
    svm = FitOptions("svm", 1.0, None, 0)
    assert training.words_min_df(default, freqs, 150, svm) == 2
    assert training.words_min_df(default, freqs, 10, svm) == 1  # small weights: nothing to save
    # fits never split in groups, whatever their size: the rule does not apply
    assert training.words_min_df(default, freqs, 150, FitOptions("logreg", 1.0, None, 0)) == 1
    assert training.words_min_df(default, freqs, 150, FitOptions("svm", 1.0, "balanced", 0)) == 1
    assert training.words_min_df(replace(default, min_df=1), freqs, 150, svm) == 1  # asked for
    assert training.words_min_df(replace(default, min_df=3), freqs, 10, svm) == 3
    small = replace(freqs, n_docs=training.LARGE_DATA - 1)
    assert training.words_min_df(default, small, 150, svm) == 1  # small data needs its single occurrences


def test_a_large_model_is_trained_without_the_words_of_one_message(monkeypatch: pytest.MonkeyPatch) -> None:
    import plaza.nlu.intent_classifier as ic

    data = restaurant_taxi_data()
    whole = IntentEntityModel.train(data, FAST)
    monkeypatch.setattr(training, "LARGE_DATA", 10)  # the restaurant data stands in for large data
    monkeypatch.setattr(ic, "SPLIT_ABOVE_BYTES", 0)
    monkeypatch.setattr(ic, "GROUP_BYTES", 1)
    pruned = IntentEntityModel.train(data, FAST)
    asked = IntentEntityModel.train(data, replace(FAST, min_df=2))
    assert np.array_equal(pruned.tfidf.keys, asked.tfidf.keys)
    assert pruned.tfidf.n_features < whole.tfidf.n_features
    kept_at_one = IntentEntityModel.train(data, replace(FAST, min_df=1))
    assert np.array_equal(kept_at_one.tfidf.keys, whole.tfidf.keys)
    assert pruned.parse("book a table at a thai restaurant").intent.name == "book_table"


def test_the_oos_recall_weight_reaches_the_threshold() -> None:
    data = restaurant_taxi_data()  # has out_of_scope examples: the threshold is learned from them
    in_scope_only = IntentEntityModel.train(data, replace(FAST, oos_recall_weight=0.0))
    recall_only = IntentEntityModel.train(data, replace(FAST, oos_recall_weight=1.0))
    assert in_scope_only.threshold == 0.0  # rejecting can only lose in-scope answers
    assert recall_only.threshold > 0.0


def test_templated_data_without_oos_examples_answers_paraphrases() -> None:
    """Every held-out answer of such data is 1.0 sure: the quantile threshold was 1.0 and
    rejected anything said differently from the templates."""
    templates = {
        "book": "book a table for {} people",
        "weather": "what is the weather in city{}",
        "play": "play song number {}",
    }
    data = TrainingData(
        examples=[Example(t.format(i), intent) for i in range(30) for intent, t in templates.items()]
    )
    model = IntentEntityModel.train(data, FAST)
    assert 0 < model.threshold <= 0.9
    assert model.parse("play a song").intent.name == "play"
    assert model.parse("play song x").intent.name == "play"


def test_unset_the_oos_recall_weight_follows_the_number_of_oos_examples(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = restaurant_taxi_data()
    n_oos = sum(e.intent == OUT_OF_SCOPE for e in data.examples)
    many = TrainingData(
        examples=[*data.examples, *(Example(f"oos filler {i}", OUT_OF_SCOPE) for i in range(400))]
    )
    weights: list[float] = []
    choose = training.choose_threshold

    def recording(*args: Any, oos_recall_weight: float, **kwargs: Any) -> float:
        weights.append(oos_recall_weight)
        return choose(*args, oos_recall_weight=oos_recall_weight, **kwargs)

    monkeypatch.setattr(training, "choose_threshold", recording)
    IntentEntityModel.train(data, FAST)
    IntentEntityModel.train(many, FAST)
    IntentEntityModel.train(data, replace(FAST, oos_recall_weight=0.5))
    assert 0 < n_oos <= 100
    assert weights == [0.3, 0.4, 0.5]  # few OOS examples, over 400 of them, and set


def test_held_out_folds_stop_once_enough_scores_are_in_hand() -> None:
    folds = np.arange(9000) % 3
    assert held_out_folds(folds, 3000) == [0]
    assert held_out_folds(folds, 3001) == [0, 1]
    assert held_out_folds(folds[:300], 3000) == [0, 1, 2]


def test_held_out_folds_also_wait_for_enough_out_of_scope_examples() -> None:
    folds = np.arange(9000) % 3
    clinc = np.zeros(9000, dtype=bool)
    clinc[:100] = True  # 100 out-of-scope examples, 34 in fold 0
    assert held_out_folds(folds, 3000, clinc, 30) == [0]
    scarce = np.zeros(9000, dtype=bool)
    scarce[:60] = True  # 20 a fold
    assert held_out_folds(folds, 3000, scarce, 30) == [0, 1]
    assert held_out_folds(folds, 3000, scarce, 1000) == [0, 1, 2]  # never enough: every fold
    few = np.zeros(9000, dtype=bool)
    few[0] = True  # one, in fold 0: all of them are in hand
    assert held_out_folds(folds, 3000, few, 30) == [0]


def test_small_data_with_out_of_scope_examples_scores_every_fold(monkeypatch: pytest.MonkeyPatch) -> None:
    from plaza.nlu import training

    chosen: list[list[int]] = []
    real = training.held_out_folds

    def spy(*args: Any) -> list[int]:
        chosen.append(real(*args))
        return chosen[-1]

    monkeypatch.setattr(training, "held_out_folds", spy)
    data = restaurant_taxi_data()  # 65 examples, a few of them out_of_scope
    IntentEntityModel.train(data, PipelineConfig(crf_max_iterations=5))
    assert chosen == [[0, 1, 2]]
    enough = PipelineConfig(crf_max_iterations=5, calibration_min_scores=10, calibration_min_oos=1)
    IntentEntityModel.train(data, enough)
    assert chosen[-1] == [0]
