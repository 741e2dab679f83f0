from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

import pytest

from plaza.nlu.entity_tagger import (
    CrfSettings,
    CrfTagger,
    altered_spans,
    bio_labels,
    decode_bio,
    decode_label,
    encode_label,
    sequence_features,
    training_cost,
    training_plan,
)
from plaza.nlu.tokenizer import tokenize
from plaza.nlu.types import EntitySpan


def test_tokenizer_offsets_and_normalisation() -> None:
    text = "Réserve à 20h30, l’Atelier!"
    toks = tokenize(text)
    assert [t.text for t in toks] == ["Réserve", "à", "20", "h", "30", ",", "l", "’", "Atelier", "!"]
    assert all(text[t.start : t.end] == t.text for t in toks)
    assert [t.norm for t in toks][:2] == ["reserve", "a"]
    assert toks[7].norm == "'"


def test_bio_labels_snap_to_tokens_and_keep_roles() -> None:
    text = "from gare du nord to 5pm"
    toks = tokenize(text)
    spans = [EntitySpan(5, 17, "location", "gare du nord", role="origin"), EntitySpan(21, 22, "time", "5")]
    labels = bio_labels(toks, spans)
    assert labels == [
        "O",
        "B-location|r=origin",
        "I-location|r=origin",
        "I-location|r=origin",
        "O",
        "B-time",
        "O",
    ]


def test_overlapping_spans_keep_the_first() -> None:
    toks = tokenize("new york city")
    labels = bio_labels(toks, [EntitySpan(0, 13, "city", "x"), EntitySpan(4, 8, "state", "york")])
    assert labels == ["B-city", "I-city", "I-city"]


def test_altered_spans_are_those_the_tagger_cannot_learn_as_written() -> None:
    toks = tokenize("call bobsmith in new york city")
    cut = EntitySpan(5, 8, "name", "bob")  # inside "bobsmith"
    city = EntitySpan(17, 30, "city", "new york city")
    state = EntitySpan(21, 25, "state", "york")  # inside the city
    assert altered_spans(toks, [cut, city, state]) == ([cut], [state])
    assert altered_spans(toks, [city, EntitySpan(5, 13, "name", "bobsmith")]) == ([], [])
    assert bio_labels(toks, [cut, city, state]) == ["O", "B-name", "O", "B-city", "I-city", "I-city"]


def test_decode_bio_conlleval_convention() -> None:
    assert decode_bio(["B-a", "I-a", "O", "I-b", "I-b", "B-b", "I-a"]) == [
        (0, 2, "a"),
        (3, 5, "b"),
        (5, 6, "b"),
        (6, 7, "a"),
    ]
    assert decode_bio([]) == []


def test_label_encoding_round_trip() -> None:
    for parts in [("city", None, None), ("city", "to", None), ("city", None, "g1"), ("city", "to", "g1")]:
        assert decode_label(encode_label(*parts)) == parts


def test_intent_conjoined_features() -> None:
    toks = tokenize("hi there")
    plain = sequence_features(toks, [[], []], window=1)
    conj = sequence_features(toks, [[], ["gB:x"]], window=1, intent="greet")
    assert "w:hi" in plain[0]
    assert "w+1:there" in plain[0]
    assert "Igreet|w:hi" in conj[0]
    assert "gB:x" in conj[1]
    assert "Igreet|gB:x" in conj[1]


def test_train_and_tag_shared_and_per_intent() -> None:
    rows = []
    for city in ["paris", "lyon", "nice", "lille", "nantes", "rennes"]:
        text = f"weather in {city} today"
        toks = tokenize(text)
        rows.append((toks, bio_labels(toks, [EntitySpan(11, 11 + len(city), "city", city)]), "weather"))
        text = f"hello {city}"
        toks = tokenize(text)
        rows.append((toks, ["O", "O"], "greet"))
    for per_intent in (True, False):
        settings = CrfSettings(max_iterations=50, window=1, per_intent=per_intent)
        seqs = [
            (sequence_features(t, [[] for _ in t], window=1, intent=None if per_intent else i), lab, i)
            for t, lab, i in rows
        ]
        tagger = CrfTagger.train(seqs, settings)
        assert bool(tagger)
        toks = tokenize("weather in paris today")
        [span] = tagger.tag(toks, [[] for _ in toks], "weather")
        assert (span.first, span.end, span.entity) == (2, 3, "city")
        assert 0.5 < span.confidence <= 1.0
        if per_intent:
            assert set(tagger.models) == {"weather"}  # no model for an intent without entities
            assert tagger.tag(toks, [[] for _ in toks], "greet") == []


def test_gazetteer_matches_and_leave_one_out() -> None:
    from plaza.nlu.gazetteer import Gazetteer

    gaz = Gazetteer.build(
        [("city", "New York"), ("city", "York"), ("city", "new york"), ("dish", "york ham")]
    )
    norms = ["to", "new", "york", "ham"]
    assert sorted(gaz.matches(norms)) == [(1, 3, "city"), (2, 3, "city"), (2, 4, "dish")]
    # "new york" was seen twice: discounting one occurrence keeps it, the single "york ham" goes.
    assert sorted(gaz.matches(norms, {(1, 3, "city"): 1, (2, 4, "dish"): 1})) == [
        (1, 3, "city"),
        (2, 3, "city"),
    ]
    again = Gazetteer.from_json(gaz.to_json())
    assert sorted(again.matches(norms)) == sorted(gaz.matches(norms))


def test_hints_marks_and_extras() -> None:
    from plaza.nlu.gazetteer import Gazetteer
    from plaza.nlu.hints import LOOKUP_PREFIX, Hints
    from plaza.nlu.patterns import PatternSet
    from plaza.nlu.types import RegexFeature

    gaz = Gazetteer.build([("city", "paris"), (LOOKUP_PREFIX + "towns", "lyon")])
    hints = Hints(PatternSet([RegexFeature("zip", (r"\d{5}",))]), gaz)
    text = "paris 75001 or lyon"
    h = hints.compute(tokenize(text), text)
    assert h.token_marks == [["gB:city"], ["rx:zip"], [], ["gB:lookup:towns"]]
    assert sorted(h.extras) == ["gz:city", "lk:towns", "rx:zip"]
    assert h.regex_spans == [(6, 11, "zip")]


def _city_rows() -> list[tuple[list[list[str]], list[str], str]]:
    """Two intents, each with a city to tag."""
    rows = []
    for city in ["paris", "lyon", "nice", "lille"]:
        for intent, template in (("weather", "weather in {} today"), ("taxi", "a cab to {} now")):
            text = template.format(city)
            toks = tokenize(text)
            start = text.index(city)
            labels = bio_labels(toks, [EntitySpan(start, start + len(city), "city", city)])
            rows.append((sequence_features(toks, [[] for _ in toks], window=1), labels, intent))
    return rows


def test_parallel_training_in_worker_processes(monkeypatch: object) -> None:
    import plaza.nlu.entity_tagger as et

    monkeypatch.setattr(et, "PARALLEL_MIN_SEQUENCES", 1)  # type: ignore[attr-defined]
    rows = _city_rows()
    settings = CrfSettings(max_iterations=30, window=1)
    parallel = CrfTagger.train(rows, settings, n_jobs=2)
    serial = CrfTagger.train(rows, settings, n_jobs=1)
    assert set(parallel.models) == {"weather", "taxi"}
    toks = tokenize("a cab to nice now")
    marks: list[list[str]] = [[] for _ in toks]
    assert parallel.tag(toks, marks, "taxi") == serial.tag(toks, marks, "taxi")


def test_a_failed_worker_stops_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    """Their models would never be read: they are killed, not left running after training fails."""
    import plaza.nlu.entity_tagger as et

    monkeypatch.setattr(et, "PARALLEL_MIN_SEQUENCES", 1)
    started: list[subprocess.Popen[bytes]] = []
    real_popen = subprocess.Popen

    def worker(cmd: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        script = "import time; time.sleep(60)" if started else "import sys; sys.exit('bad training data')"
        proc = real_popen([sys.executable, "-c", script], **kwargs)
        started.append(proc)
        return proc

    monkeypatch.setattr(subprocess, "Popen", worker)
    with pytest.raises(RuntimeError, match="bad training data"):
        CrfTagger.train(_city_rows(), CrfSettings(max_iterations=30, window=1), n_jobs=2)
    assert len(started) == 2
    assert started[1].returncode == -signal.SIGKILL


def test_training_plan_leaves_lbfgs_when_labels_make_it_slow() -> None:
    items = [([["w:a"], ["w:b"]], ["B-x", "O"]), ([["w:c"]], ["B-y"])]
    assert training_cost(items) == 3 * 3 * (1 + 3)  # tokens × labels × (features per token + labels)
    assert training_cost([]) == 0.0
    lbfgs = CrfSettings(c1=0.1, c2=0.2, max_iterations=60, lbfgs_max_cost=36.0)
    assert training_plan(items, lbfgs) == ("lbfgs", {"max_iterations": 60, "c1": 0.1, "c2": 0.2})
    fast = CrfSettings(lbfgs_max_cost=35.0, fast_iterations=7)
    assert training_plan(items, fast) == ("pa", {"max_iterations": 7})
    chosen = CrfSettings(algorithm="ap", max_iterations=5, lbfgs_max_cost=0.0)
    assert training_plan(items, chosen) == ("ap", {"max_iterations": 5})


def test_expensive_crfs_train_the_fast_way_in_process_and_in_workers(monkeypatch: object) -> None:
    import plaza.nlu.entity_tagger as et

    rows = _city_rows()
    fast = CrfSettings(max_iterations=30, window=1, lbfgs_max_cost=0.0)
    serial = CrfTagger.train(rows, fast, n_jobs=1)
    monkeypatch.setattr(et, "PARALLEL_MIN_SEQUENCES", 1)  # type: ignore[attr-defined]
    parallel = CrfTagger.train(rows, fast, n_jobs=2)
    lbfgs = CrfTagger.train(rows, CrfSettings(max_iterations=30, window=1), n_jobs=1)
    # The workers got the same plan as the serial path: crfsuite's training is deterministic.
    assert parallel.models == serial.models
    assert serial.models["taxi"] != lbfgs.models["taxi"]
    toks = tokenize("a cab to nice now")
    [span] = serial.tag(toks, [[] for _ in toks], "taxi")
    assert (span.first, span.end, span.entity) == (3, 4, "city")
