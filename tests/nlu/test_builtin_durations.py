"""`duration`: value in seconds, additional_info {"unit", "amount"}."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from plaza.nlu.builtin import extract

NOW = datetime(2026, 11, 21, 15, 0, tzinfo=ZoneInfo("Europe/Paris"))


def durations(text: str, lang: str) -> list[tuple[str, int, int, dict[str, Any]]]:
    return [
        (e.text, e.value, e.start, dict(e.additional_info or {}))
        for e in extract(text, lang, NOW, dims=("duration",))
    ]


@pytest.mark.parametrize(
    ("text", "lang", "span", "seconds", "unit", "amount"),
    [
        ("20 minutes", "en", "20 minutes", 1200, "minute", 20),
        ("2 hours", "en", "2 hours", 7200, "hour", 2),
        ("for 2 hrs", "en", "2 hrs", 7200, "hour", 2),
        ("an hour and a half", "en", "an hour and a half", 5400, "minute", 90),
        ("half an hour", "en", "half an hour", 1800, "minute", 30),
        ("a quarter of an hour", "en", "a quarter of an hour", 900, "minute", 15),
        ("1.5 hours", "en", "1.5 hours", 5400, "minute", 90),
        ("2 hours and 30 minutes", "en", "2 hours and 30 minutes", 9000, "minute", 150),
        ("a couple of days", "en", "a couple of days", 172800, "day", 2),
        ("three weeks", "en", "three weeks", 1814400, "week", 3),
        ("une demi-heure", "fr", "une demi-heure", 1800, "minute", 30),
        ("une heure et demie", "fr", "une heure et demie", 5400, "minute", 90),
        ("un quart d'heure", "fr", "un quart d'heure", 900, "minute", 15),
        ("trois quarts d'heure", "fr", "trois quarts d'heure", 2700, "minute", 45),
        ("1h30", "fr", "1h30", 5400, "minute", 90),
        ("2h", "fr", "2h", 7200, "hour", 2),
        ("2 heures 30", "fr", "2 heures 30", 9000, "minute", 150),
        ("pendant 8h", "fr", "8h", 28800, "hour", 8),
        ("vingt minutes", "fr", "vingt minutes", 1200, "minute", 20),
        ("quinze jours", "fr", "quinze jours", 1296000, "day", 15),
        ("3 mois", "fr", "3 mois", 7776000, "month", 3),
        ("1 an", "fr", "1 an", 31536000, "year", 1),
    ],
)
def test_durations(text: str, lang: str, span: str, seconds: int, unit: str, amount: int) -> None:
    assert durations(text, lang) == [(span, seconds, text.index(span), {"unit": unit, "amount": amount})]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("in 20 minutes", "en"),  # a time
        ("dans 2 heures", "fr"),
        ("d'ici 10 minutes", "fr"),
        ("à 8 heures", "fr"),  # a clock time
        ("at 2 hours", "en"),
        ("19h", "fr"),  # "<n>h" with n > 5 is a clock time
        ("20h30", "fr"),
        ("2 pizzas", "en"),
        ("I want italian food", "en"),
    ],
)
def test_not_durations(text: str, lang: str) -> None:
    assert durations(text, lang) == []


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("99999999999999999999 days", "en"),
        ("for 99999999999999999999 minutes", "en"),
        ("99999999999999999999 years", "en"),
        ("pendant 99999999999999999999 heures", "fr"),
        ("300000000 ans", "fr"),  # past 2^53 seconds (285 million years)
    ],
)
def test_durations_beyond_the_safe_integer_range_of_seconds_are_not_durations(text: str, lang: str) -> None:
    assert durations(text, lang) == []


def test_duration_values_are_ints() -> None:
    [(_, seconds, _, info)] = durations("1.5 hours", "en")
    assert isinstance(seconds, int)
    assert isinstance(info["amount"], int)
