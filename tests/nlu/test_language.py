"""`LanguageDetector`: built-in en/fr profile, training, confidence on short messages, JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from plaza.nlu.language import LanguageDetector, tokenize

SWITCH = 0.8
"""The engine's default threshold for switching a conversation's language."""


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector.default()


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("I want italian food", "en"),
        ("a table for 4 tomorrow at 8pm please", "en"),
        ("what time do you close tonight?", "en"),
        ("is it open on sunday", "en"),
        ("can I book for next friday", "en"),
        ("je voudrais réserver une table pour deux", "fr"),
        ("demain soir vers 20h", "fr"),
        ("vous fermez à quelle heure ?", "fr"),
        ("est-ce ouvert dimanche", "fr"),
        ("reserver pour ce soir", "fr"),  # accents omitted
        ("C'EST POSSIBLE VENDREDI ?", "fr"),
        ("je veux manger italien à Bastille", "fr"),
        ("we would like to eat near Saint-Germain", "en"),
    ],
)
def test_sentences_are_confident(detector: LanguageDetector, text: str, lang: str) -> None:
    detected, confidence = detector.detect(text)
    assert detected == lang
    assert confidence >= SWITCH


@pytest.mark.parametrize(
    "text", ["ok", "OK", "4", "20h", "Bastille", "pizza", "menu", "", "!!!", "😀", "Janou"]
)
def test_short_or_ambiguous_messages_are_not_confident(detector: LanguageDetector, text: str) -> None:
    _, confidence = detector.detect(text)
    assert confidence < 0.3


@pytest.mark.parametrize(
    ("text", "lang"),
    [("bonjour", "fr"), ("merci", "fr"), ("hello", "en"), ("thanks", "en"), ("Le Marais", "fr")],
)
def test_single_words_lean_but_do_not_switch(detector: LanguageDetector, text: str, lang: str) -> None:
    detected, confidence = detector.detect(text)
    assert detected == lang
    assert 0.3 <= confidence < SWITCH


def test_two_telling_words_switch(detector: LanguageDetector) -> None:
    lang, confidence = detector.detect("ce soir")
    assert lang == "fr"
    assert confidence == pytest.approx(0.8647, abs=1e-3)
    assert detector.detect("table for two")[0] == "en"


def test_no_evidence_returns_the_first_language_with_zero(detector: LanguageDetector) -> None:
    assert detector.detect("123") == ("en", 0.0)


def test_scores_are_probabilities(detector: LanguageDetector) -> None:
    scores = detector.scores("une table")
    assert set(scores) == {"en", "fr"}
    assert sum(scores.values()) == pytest.approx(1.0)
    assert scores["fr"] > scores["en"]


def test_tokenize_keeps_french_elisions_and_skips_units() -> None:
    assert tokenize("J’ai réservé à 20h pour l'anniversaire") == [
        "j'", "ai", "réservé", "à", "pour", "l'", "anniversaire",
    ]  # fmt: skip


def test_train_from_texts_only() -> None:
    detector = LanguageDetector.train(
        {
            "de": ["ich möchte einen Tisch reservieren", "guten Tag", "für zwei Personen bitte"],
            "fr": ["je voudrais une table", "bonjour", "pour deux personnes"],
        }
    )
    assert detector.languages == ("de", "fr")
    assert detector.detect("einen Tisch für zwei bitte")[0] == "de"
    assert detector.detect("une table pour deux")[0] == "fr"


def test_training_refines_the_builtin_profile() -> None:
    trained = LanguageDetector.train({"en": ["book at the Ritz"] * 300, "fr": ["réserver au Marais"] * 300})
    assert trained.detect("Ritz")[0] == "en"
    assert trained.detect("Marais")[0] == "fr"
    # the built-in vocabulary is still there
    lang, confidence = trained.detect("je voudrais une table pour ce soir")
    assert lang == "fr"
    assert confidence == pytest.approx(1.0, abs=0.01)


def test_training_without_builtin_profile() -> None:
    trained = LanguageDetector.train({"en": ["the cat"], "fr": ["le chat"]}, builtin=False)
    assert trained.detect("bonjour")[1] < 0.3  # never seen: no opinion


def test_needs_two_languages() -> None:
    with pytest.raises(ValueError, match="two languages"):
        LanguageDetector.train({"en": ["hello"]})


def test_save_and_load_round_trip(tmp_path: Path, detector: LanguageDetector) -> None:
    path = tmp_path / "profile.json"
    detector.save(path)
    loaded = LanguageDetector.load(path)
    assert loaded.languages == detector.languages
    for text in ["je voudrais réserver", "a table for two", "Bastille", "ok"]:
        lang, confidence = loaded.detect(text)
        assert lang == detector.detect(text)[0]
        assert confidence == pytest.approx(detector.detect(text)[1], abs=1e-3)


def test_load_rejects_other_files(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"format": "something else"}', encoding="utf-8")
    with pytest.raises(ValueError, match="language-detector"):
        LanguageDetector.load(path)
