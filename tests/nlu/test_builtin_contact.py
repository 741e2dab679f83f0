"""`phone` (E.164) and `email` (lower-cased)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from plaza.nlu.builtin import extract

NOW = datetime(2026, 11, 21, 15, 0, tzinfo=ZoneInfo("Europe/Paris"))


def phones(text: str, lang: str) -> list[tuple[str, str, int, str]]:
    return [
        (e.text, e.value, e.start, (e.additional_info or {})["country_code"])
        for e in extract(text, lang, NOW, dims=("phone",))
    ]


@pytest.mark.parametrize(
    ("text", "lang", "span", "value", "country"),
    [
        ("06 12 34 56 78", "fr", "06 12 34 56 78", "+33612345678", "33"),
        ("0612345678", "fr", "0612345678", "+33612345678", "33"),
        ("01.23.45.67.89", "fr", "01.23.45.67.89", "+33123456789", "33"),
        ("mon numéro : 06-12-34-56-78.", "fr", "06-12-34-56-78", "+33612345678", "33"),
        ("+33 6 12 34 56 78", "fr", "+33 6 12 34 56 78", "+33612345678", "33"),
        ("+33 (0)6 12 34 56 78", "fr", "+33 (0)6 12 34 56 78", "+33612345678", "33"),
        ("+33 06 12 34 56 78", "fr", "+33 06 12 34 56 78", "+33612345678", "33"),
        ("0033 6 12 34 56 78", "fr", "0033 6 12 34 56 78", "+33612345678", "33"),
        ("+1 (415) 555-0100", "en", "+1 (415) 555-0100", "+14155550100", "1"),
        ("+44 20 7946 0958", "en", "+44 20 7946 0958", "+442079460958", "44"),
        ("call me at (415) 555-0100", "en", "(415) 555-0100", "+14155550100", "1"),
        ("415-555-0100", "en", "415-555-0100", "+14155550100", "1"),
        ("06 12 34 56 78", "en", "06 12 34 56 78", "+33612345678", "33"),
    ],
)
def test_phones(text: str, lang: str, span: str, value: str, country: str) -> None:
    assert phones(text, lang) == [(span, value, text.index(span), country)]


@pytest.mark.parametrize(
    ("text", "lang", "span", "value", "country"),
    [
        ("ref 12345678901234567890, call 06 12 34 56 78", "fr", "06 12 34 56 78", "+33612345678", "33"),
        (
            "my number is +44 20 7946 0958, order 99999999999999999999",
            "en",
            "+44 20 7946 0958",
            "+442079460958",
            "44",
        ),
        ("0033612345678 (dossier 18446744073709551616)", "fr", "0033612345678", "+33612345678", "33"),
    ],
)
def test_phones_beside_huge_numbers_are_unchanged(
    text: str, lang: str, span: str, value: str, country: str
) -> None:
    """Phone numbers are strings: the range that numbers keep to (20 digits are no number) is not theirs."""
    assert phones(text, lang) == [(span, value, text.index(span), country)]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("2026-12-03", "en"),
        ("pour 4 personnes", "fr"),
        ("1 000 000", "fr"),
        ("415-555-0100", "fr"),  # North American format only in English
        ("+33 6", "fr"),
        ("I want italian food", "en"),
    ],
)
def test_not_phones(text: str, lang: str) -> None:
    assert phones(text, lang) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail: Jean.Dupont@Example.FR.", [("Jean.Dupont@Example.FR", "jean.dupont@example.fr", 6)]),
        ("a@b.co", [("a@b.co", "a@b.co", 0)]),
        ("jean@gmail.com, marie+resa@free.fr", [
            ("jean@gmail.com", "jean@gmail.com", 0),
            ("marie+resa@free.fr", "marie+resa@free.fr", 16),
        ]),
        ("x@y", []),
        ("@home", []),
        ("écrire à élodie@café.fr", [("élodie@café.fr", "élodie@café.fr", 9)]),
    ],
)  # fmt: skip
def test_emails(text: str, expected: list[tuple[str, str, int]]) -> None:
    assert [(e.text, e.value, e.start) for e in extract(text, "en", NOW, dims=("email",))] == expected
