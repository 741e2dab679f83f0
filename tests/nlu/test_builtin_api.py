"""`plaza.nlu.builtin.extract`: the API contract shared by every dimension."""

from __future__ import annotations

import json
import math
import random
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from plaza.nlu import builtin
from plaza.nlu.builtin import DIMENSIONS, extract
from plaza.nlu.types import MAX_SAFE_INTEGER, unsafe_number

NOW = datetime(2026, 11, 21, 15, 0, tzinfo=ZoneInfo("Europe/Paris"))

MESSAGES = [
    ("en", "a table for 4 tomorrow at 8pm please, my number is +33 6 12 34 56 78"),
    ("en", "Can we do 7:30 instead? It's $20 each, mail me at Bob@Example.com"),
    ("fr", "Bonjour, je voudrais réserver pour quatre personnes demain soir vers 20h"),
    ("fr", "C'est quinze euros cinquante, le premier plat, dans 2 heures, pendant 1h30"),
    ("xx", "ce soir à 19h30 pour 2, tonight at 9"),
]


def test_all_dimensions_together() -> None:
    found = [(e.entity, e.text, e.value) for e in extract("demain soir vers 20h pour 4", "fr", NOW)]
    assert found == [
        ("time", "demain soir vers 20h", "2026-11-22T20:00:00+01:00"),
        ("people", "pour 4", 4),
        ("number", "4", 4),
    ]


@pytest.mark.parametrize(("lang", "text"), MESSAGES)
def test_offsets_text_and_order(lang: str, text: str) -> None:
    found = extract(text, lang, NOW)
    assert found, text
    for entity in found:
        assert entity.text == text[entity.start : entity.end]
        assert entity.extractor == "builtin"
        assert entity.entity in DIMENSIONS
        json.dumps(entity.to_rasa())  # values are JSON-ready
    assert [(e.start, -e.end) for e in found] == sorted((e.start, -e.end) for e in found)
    for dim in DIMENSIONS:  # within one dimension, spans never overlap
        spans = sorted((e.start, e.end) for e in found if e.entity == dim)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_dims_restricts_the_dimensions() -> None:
    text = "a table for 4 tomorrow at 8pm"
    assert {e.entity for e in extract(text, "en", NOW, dims=("people",))} == {"people"}
    assert {e.entity for e in extract(text, "en", NOW)} == {"people", "number", "time"}
    assert extract(text, "en", NOW, dims=()) == []


def test_unknown_dimension_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown dimension"):
        extract("4", "en", NOW, dims=("colour",))


def test_naive_now_is_an_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        extract("tomorrow", "en", datetime(2026, 11, 21, 15, 0))  # noqa: DTZ001 - the point of the test


def test_regional_language_codes() -> None:
    [entity] = extract("3/12", "fr-FR", NOW, dims=("time",))
    assert entity.value == "2026-12-03T00:00:00+01:00"
    [entity] = extract("3/12", "en_US", NOW, dims=("time",))
    assert entity.value == "2027-03-12T00:00:00+01:00"


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", ""),
        ("en", "I want italian food"),
        ("en", "hi"),
        ("en", "ok thanks"),
        ("fr", "bonjour"),
        ("fr", "vous avez une terrasse ?"),
        ("fr", "je préfère la cuisine italienne"),
        ("en", "what's on the menu?"),
    ],
)
def test_ordinary_sentences_have_no_entities(lang: str, text: str) -> None:
    assert extract(text, lang, NOW) == []


def test_results_do_not_depend_on_previous_calls() -> None:
    text = "vendredi prochain à 19h pour 2"
    first = extract(text, "fr", NOW)
    extract("tomorrow at 8pm for 4", "en", NOW)
    assert extract(text, "fr", NOW) == first


def test_warm_up() -> None:
    builtin.warm_up()
    assert extract("at 8pm", "en", NOW)[0].value == "2026-11-21T20:00:00+01:00"


HUGE_NUMBERS = [
    ("en", "a table for 100000000000000000000 people"),
    ("en", "my number is 12345678901234567890123"),
    ("en", "something under 99999999999999999999999 euros"),
    ("en", "18446744073709551616"),
    (
        "en",
        "we are 99999999999999999999, party of 99999999999999999999, 99999999999999999999 adults and 2 kids",
    ),
    ("en", "99999999999999999999 days, for 99999999999999999999 minutes, in 99999999999999999999 days"),
    ("en", "$99999999999999999.99, ¥9007199254740992, 99999999999999999999 cents"),
    ("en", "a thousand million million million, the 99999999999999999999999th"),
    ("en", "1" + "0" * 400 + ".5"),  # a float would be infinite
    ("fr", "cent milliards de milliards"),
    ("fr", "une table pour cent milliards de milliards de personnes"),
    ("fr", "nous serons 100000000000000000000, 1 000 000 000 000 000 000 000 €"),
    (
        "fr",
        "dans 99999999999999999999 minutes, pendant 99999999999999999999 heures, le 12345678901234567890e",
    ),
    ("fr", "mille millions de millions d'euros, 1.000.000.000.000.000.000.000,50 €"),
    ("xx", "100000000000000000000 pour 100000000000000000000 tonight"),
    # digits times a scale word: past 28 digits Decimal's quantize() raised
    ("en", "99999999999999999999 billion, $99999999999999999999 billion, 9007199254740992 thousand"),
    ("fr", "99999999999999999999 milliards d'euros, 9 999 999 999 milliards de personnes"),
    ("xx", "mille mille milliards, 1" + "0" * 40 + " mille milliards"),
]


@pytest.mark.parametrize(("lang", "text"), HUGE_NUMBERS)
def test_no_entity_carries_a_number_json_cannot_hold_exactly(lang: str, text: str) -> None:
    """Beyond ±(2^53 - 1) a JavaScript client rounds and orjson cannot store the int: no dimension
    emits such a number (the message with it was an HTTP 500 once), and none raises."""
    for entity in extract(text, lang, NOW):
        assert unsafe_number(entity.value) is None, entity
        assert unsafe_number(entity.additional_info) is None, entity


def test_random_number_phrases_neither_raise_nor_carry_unsafe_numbers() -> None:
    """Digits of every length, scale and number words, currencies and joiners, combined at
    random (seeded): every dimension answers, with JSON-safe values."""
    rng = random.Random(0)
    parts = [
        "2", "1,5", "2.25", "1 000", "99999999999999999999", "9007199254740991", "0", "-3",
        "thousand", "million", "billion", "mille", "millions", "milliard", "milliards",
        "two", "deux", "cent", "cents", "vingt", "et", "and", "a", "de", "d'",
        "euros", "dollars", "€", "$", "people", "personnes", "pour", "for", "-", "feuilles",
    ]  # fmt: skip
    for _ in range(2000):
        text = " ".join(rng.choice(parts) for _ in range(rng.randint(1, 7)))
        for lang in ("en", "fr", "xx"):
            for entity in extract(text, lang, NOW):
                assert unsafe_number(entity.value) is None, (text, entity)


def test_unsafe_number_finds_what_json_cannot_carry() -> None:
    assert (
        unsafe_number({"amount": MAX_SAFE_INTEGER, "from": "2026", "n": [-MAX_SAFE_INTEGER, 1.5, True]})
        is None
    )
    assert unsafe_number([1, {"x": MAX_SAFE_INTEGER + 1}]) == MAX_SAFE_INTEGER + 1
    assert unsafe_number(1e20) == 1e20
    assert unsafe_number(-float("inf")) == -float("inf")
    assert math.isnan(unsafe_number({"v": float("nan")}) or 0.0)
