"""`people`: the party size, value an int."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from plaza.nlu.builtin import extract

NOW = datetime(2026, 11, 21, 15, 0, tzinfo=ZoneInfo("Europe/Paris"))


def people(text: str, lang: str) -> list[tuple[str, int, int]]:
    return [(e.text, e.value, e.start) for e in extract(text, lang, NOW, dims=("people",))]


@pytest.mark.parametrize(
    ("text", "lang", "span", "value"),
    [
        ("for 4", "en", "for 4", 4),
        ("for four", "en", "for four", 4),
        ("a table for 4 at 8pm", "en", "table for 4", 4),
        ("book for 4 tomorrow", "en", "for 4", 4),
        ("for 4 people", "en", "for 4 people", 4),
        ("4 persons", "en", "4 persons", 4),
        ("6 guests", "en", "6 guests", 6),
        ("table for two", "en", "table for two", 2),
        ("a table for one please", "en", "table for one", 1),
        ("party of 6", "en", "party of 6", 6),
        ("we are 3", "en", "we are 3", 3),
        ("We're three", "en", "We're three", 3),
        ("we'll be 12 people", "en", "we'll be 12 people", 12),
        ("4 pax", "en", "4 pax", 4),
        ("just the two of us", "en", "just the two of us", 2),
        ("2 adults and 2 kids", "en", "2 adults and 2 kids", 4),
        ("pour quatre personnes", "fr", "pour quatre personnes", 4),
        ("pour 2", "fr", "pour 2", 2),
        ("pour deux", "fr", "pour deux", 2),
        ("pour 4 à 20h", "fr", "pour 4", 4),
        ("pour 2 demain soir", "fr", "pour 2", 2),
        ("nous sommes 5", "fr", "nous sommes 5", 5),
        ("nous serons six", "fr", "nous serons six", 6),
        ("on sera 7", "fr", "on sera 7", 7),
        ("un dîner à deux", "fr", "à deux", 2),
        ("4 couverts", "fr", "4 couverts", 4),
        ("une table pour 8", "fr", "une table pour 8", 8),
        ("une table pour deux", "fr", "une table pour deux", 2),
        ("pour une personne", "fr", "pour une personne", 1),
        ("2 adultes et 1 enfant", "fr", "2 adultes et 1 enfant", 3),
        ("pour 4", "xx", "pour 4", 4),
    ],
)
def test_people(text: str, lang: str, span: str, value: int) -> None:
    assert people(text, lang) == [(span, value, text.index(span))]


def test_children_are_reported() -> None:
    [entity] = extract("2 adults and 2 kids", "en", NOW, dims=("people",))
    info: Any = entity.additional_info
    assert dict(info) == {"adults": 2, "children": 2}


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("for tomorrow", "en"),  # "for" + a time is not a party
        ("for 8pm", "en"),
        ("for 20:30", "en"),
        ("pour 20h", "fr"),
        ("pour demain", "fr"),
        ("nous serons à 20h30", "fr"),
        ("2 pizzas", "en"),  # a number, not a party
        ("for 2 pizzas", "en"),
        ("for 2 nights", "en"),
        ("we are 5 minutes late", "en"),
        ("I want italian food", "en"),
        ("c'est à deux pas", "fr"),
        ("à 8", "fr"),  # a digit after "à" is too ambiguous
        ("for 2026", "en"),
        ("3 mille personnes", "fr"),  # 3000, past any party; "mille personnes" alone was 1000
    ],
)
def test_not_people(text: str, lang: str) -> None:
    assert people(text, lang) == []


def test_people_and_number_overlap_on_purpose() -> None:
    found = [(e.entity, e.text, e.value) for e in extract("for 4", "en", NOW, dims=("people", "number"))]
    assert found == [("people", "for 4", 4), ("number", "4", 4)]
