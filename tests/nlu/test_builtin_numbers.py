"""`number` and `ordinal`: digits with EN/FR separators, numbers in words, ordinals."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from plaza.nlu.builtin import extract

NOW = datetime(2026, 11, 21, 15, 0, tzinfo=ZoneInfo("Europe/Paris"))


def found(text: str, lang: str, dim: str = "number") -> list[tuple[str, int | float, int]]:
    return [(e.text, e.value, e.start) for e in extract(text, lang, NOW, dims=(dim,))]


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("4", "en", [("4", 4, 0)]),
        ("we want 12", "en", [("12", 12, 8)]),
        ("12,5", "fr", [("12,5", 12.5, 0)]),
        ("12.5", "en", [("12.5", 12.5, 0)]),
        ("12.5", "fr", [("12.5", 12.5, 0)]),
        ("1 000", "fr", [("1 000", 1000, 0)]),
        ("1\u202f000", "fr", [("1\u202f000", 1000, 0)]),  # narrow no-break space
        ("1,000", "en", [("1,000", 1000, 0)]),
        ("1,000", "fr", [("1,000", 1.0, 0)]),  # French decimal comma
        ("1.000", "fr", [("1.000", 1000, 0)]),  # French thousands dot
        ("1,000", "xx", [("1,000", 1000, 0)]),
        ("1,234.56", "en", [("1,234.56", 1234.56, 0)]),
        ("1.234,56", "fr", [("1.234,56", 1234.56, 0)]),
        ("2, 3 or 4", "en", [("2", 2, 0), ("3", 3, 3), ("4", 4, 8)]),
        ("four", "en", [("four", 4, 0)]),
        ("twenty-two", "en", [("twenty-two", 22, 0)]),
        ("twenty two", "en", [("twenty two", 22, 0)]),
        ("a hundred and five", "en", [("a hundred and five", 105, 0)]),
        ("a dozen eggs", "en", [("a dozen", 12, 0)]),
        ("two thousand and twenty six", "en", [("two thousand and twenty six", 2026, 0)]),
        ("fifteen hundred", "en", [("fifteen hundred", 1500, 0)]),
        ("one pizza", "en", [("one", 1, 0)]),
        ("two three", "en", [("two", 2, 0), ("three", 3, 4)]),
        ("quatre", "fr", [("quatre", 4, 0)]),
        ("vingt-deux", "fr", [("vingt-deux", 22, 0)]),
        ("soixante-dix", "fr", [("soixante-dix", 70, 0)]),
        ("soixante et onze", "fr", [("soixante et onze", 71, 0)]),
        ("quatre-vingts", "fr", [("quatre-vingts", 80, 0)]),
        ("quatre-vingt-dix-neuf", "fr", [("quatre-vingt-dix-neuf", 99, 0)]),
        ("dix-sept", "fr", [("dix-sept", 17, 0)]),
        ("vingt et un", "fr", [("vingt et un", 21, 0)]),
        ("cent cinq", "fr", [("cent cinq", 105, 0)]),
        ("deux cents", "fr", [("deux cents", 200, 0)]),
        ("mille deux cent trente", "fr", [("mille deux cent trente", 1230, 0)]),
        ("une douzaine d'huîtres", "fr", [("une douzaine", 12, 0)]),
        ("Quatre-Vingt-Dix", "fr", [("Quatre-Vingt-Dix", 90, 0)]),
        ("vingt et un", "xx", [("vingt et un", 21, 0)]),
        ("two billion", "en", [("two billion", 2_000_000_000, 0)]),
        ("three billion four million", "en", [("three billion four million", 3_004_000_000, 0)]),
        ("trois milliards", "fr", [("trois milliards", 3_000_000_000, 0)]),
        ("deux milliards cinq cents", "fr", [("deux milliards cinq cents", 2_000_000_500, 0)]),
        ("mille milliards", "fr", [("mille milliards", 10**12, 0)]),  # thousands of a larger scale
        ("deux mille milliards", "fr", [("deux mille milliards", 2 * 10**12, 0)]),
        ("a thousand billion", "en", [("a thousand billion", 10**12, 0)]),
        (
            "two thousand million three hundred",
            "en",
            [("two thousand million three hundred", 2_000_000_300, 0)],
        ),
        ("mille deux milliards", "fr", [("mille deux", 1002, 0)]),  # only right after the thousand
        ("one million two thousand million", "en", [("one million two thousand", 1_002_000, 0)]),
        ("5 cents", "fr", [("5", 5, 0)]),  # "cents" alone is currency, never 100
        ("mille cents", "fr", [("mille", 1000, 0)]),
        ("mille", "fr", [("mille", 1000, 0)]),  # the one scale word that is a number alone
        ("cinquante cents", "fr", [("cinquante", 50, 0)]),  # a hundred is not multiplied by tens
        ("2 billion people", "en", [("2 billion", 2_000_000_000, 0)]),  # digits times a scale word
        ("1.5 million", "en", [("1.5 million", 1_500_000, 0)]),  # an int: the product is whole
        ("2,5 millions", "fr", [("2,5 millions", 2_500_000, 0)]),
        ("10 milliards", "fr", [("10 milliards", 10_000_000_000, 0)]),
        ("3 mille", "fr", [("3 mille", 3000, 0)]),
        ("3 mille", "en", [("3", 3, 0)]),  # "mille" is French
        ("1,000 million", "en", [("1,000 million", 1_000_000_000, 0)]),
        ("2.25 thousand", "en", [("2.25 thousand", 2250, 0)]),
        ("2 billionaires", "en", [("2", 2, 0)]),  # a scale word only as a whole word
        ("9 000 000 000 billion", "en", []),  # past 2^53: no number, as for digits alone
        ("99999999999999999999 billion", "en", []),  # past Decimal's 28 digits: quantize() raised
        ("je voudrais 3 mille-feuilles", "fr", [("3", 3, 12)]),  # a pastry, not 3000
        ("deux mille-feuilles", "fr", [("deux", 2, 0)]),
        ("twenty-two-year-old", "en", [("twenty-two", 22, 0)]),
        ("2 thousand-year-old trees", "en", [("2", 2, 0)]),
        ("million", "en", []),
    ],
)
def test_numbers(text: str, lang: str, expected: list[tuple[str, int | float, int]]) -> None:
    assert found(text, lang) == expected


def test_integer_and_float_types() -> None:
    [(_, whole, _)] = found("12", "en")
    [(_, decimal, _)] = found("12.0", "en")
    assert isinstance(whole, int)
    assert isinstance(decimal, float)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("I want italian food", "en"),
        ("une table", "fr"),  # "une" alone is an article
        ("un café", "fr"),
        ("this one", "en"),
        ("the one on the left", "en"),
        ("a table", "en"),
        ("2026-12-03", "en"),  # a date, not three numbers
        ("3/12", "fr"),
        ("20h30", "fr"),  # a time
        ("8pm", "en"),
        ("l'un ou l'autre", "fr"),
    ],
)
def test_not_numbers(text: str, lang: str) -> None:
    assert found(text, lang) == []


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("the first one", "en", [("first", 1, 4)]),
        ("2nd floor", "en", [("2nd", 2, 0)]),
        ("the 23rd", "en", [("23rd", 23, 4)]),
        ("twenty-first", "en", [("twenty-first", 21, 0)]),
        ("le premier", "fr", [("premier", 1, 3)]),
        ("la première", "fr", [("première", 1, 3)]),
        ("le deuxième", "fr", [("deuxième", 2, 3)]),
        ("le 2e", "fr", [("2e", 2, 3)]),
        ("1er étage", "fr", [("1er", 1, 0)]),
        ("vingt-troisième", "fr", [("vingt-troisième", 23, 0)]),
    ],
)
def test_ordinals(text: str, lang: str, expected: list[tuple[str, int, int]]) -> None:
    assert found(text, lang, "ordinal") == expected


def test_a_second_is_not_an_ordinal() -> None:
    assert found("wait a second", "en", "ordinal") == []
    assert found("the second one", "en", "ordinal") == [("second", 2, 4)]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("100000000000000000000", "en"),
        ("a table for 100000000000000000000 people", "en"),
        ("my number is 12345678901234567890123", "en"),
        ("100000000000000000000", "fr"),
        ("18446744073709551616", "xx"),  # 2^64: past orjson's 64 bits
        ("9007199254740992", "en"),  # 2^53: the first integer JSON clients round
        ("1,000,000,000,000,000,000,000", "en"),
        ("1 000 000 000 000 000 000 000", "fr"),
        ("1.000.000.000.000.000.000.000", "fr"),
        ("99999999999999999.99", "en"),  # as a float: 1e17
        ("1" + "0" * 400 + ".5", "en"),  # as a float: infinite
    ],
)
def test_numbers_beyond_the_safe_integer_range_are_not_numbers(text: str, lang: str) -> None:
    assert found(text, lang) == []


def test_the_largest_safe_integer_is_a_number() -> None:
    assert found("9007199254740991", "en") == [("9007199254740991", 9007199254740991, 0)]
    assert found("9 007 199 254 740 991", "fr") == [("9 007 199 254 740 991", 9007199254740991, 0)]


def test_a_huge_number_leaves_the_others_alone() -> None:
    text = "ref 12345678901234567890, a table for 4 at 8"
    assert found(text, "en") == [("4", 4, 38), ("8", 8, 43)]


@pytest.mark.parametrize(
    ("text", "lang"), [("the 99999999999999999999999th", "en"), ("le 12345678901234567890e", "fr")]
)
def test_huge_ordinals_are_not_ordinals(text: str, lang: str) -> None:
    assert found(text, lang, "ordinal") == []
