"""`money`: {"amount": integer minor units, "currency": ISO 4217}."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from plaza.nlu.builtin import extract

NOW = datetime(2026, 11, 21, 15, 0, tzinfo=ZoneInfo("Europe/Paris"))


def money(text: str, lang: str) -> list[tuple[str, dict[str, object], int]]:
    return [(e.text, e.value, e.start) for e in extract(text, lang, NOW, dims=("money",))]


@pytest.mark.parametrize(
    ("text", "lang", "span", "amount", "currency"),
    [
        ("quinze euros", "fr", "quinze euros", 1500, "EUR"),
        ("€12,50", "fr", "€12,50", 1250, "EUR"),
        ("€ 12.50", "en", "€ 12.50", 1250, "EUR"),
        ("12.50€", "en", "12.50€", 1250, "EUR"),
        ("12,50 €", "fr", "12,50 €", 1250, "EUR"),
        ("12,5 €", "fr", "12,5 €", 1250, "EUR"),
        ("12 € 50", "fr", "12 € 50", 1250, "EUR"),
        ("12€50", "fr", "12€50", 1250, "EUR"),
        ("12 euros 50", "fr", "12 euros 50", 1250, "EUR"),
        ("12 euros et 50 centimes", "fr", "12 euros et 50 centimes", 1250, "EUR"),
        ("quinze euros cinquante", "fr", "quinze euros cinquante", 1550, "EUR"),
        ("cent euros", "fr", "cent euros", 10000, "EUR"),
        ("un euro", "fr", "un euro", 100, "EUR"),
        ("10 EUR", "en", "10 EUR", 1000, "EUR"),
        ("50 centimes", "fr", "50 centimes", 50, "EUR"),
        ("1 500 €", "fr", "1 500 €", 150000, "EUR"),
        ("1,500 €", "fr", "1,500 €", 150000, "EUR"),
        ("1.234,56 €", "fr", "1.234,56 €", 123456, "EUR"),
        ("$20", "en", "$20", 2000, "USD"),
        ("20 dollars", "en", "20 dollars", 2000, "USD"),
        ("twenty dollars", "en", "twenty dollars", 2000, "USD"),
        ("a hundred dollars", "en", "a hundred dollars", 10000, "USD"),
        ("20 bucks", "en", "20 bucks", 2000, "USD"),
        ("$1,234.56", "en", "$1,234.56", 123456, "USD"),
        ("50 cents", "en", "50 cents", 50, "USD"),
        ("five cents", "en", "five cents", 5, "USD"),
        ("six cents", "en", "six cents", 6, "USD"),  # "six" is also French: English data decides
        ("5 cents", "fr", "5 cents", 5, "EUR"),
        ("cinquante cents", "fr", "cinquante cents", 50, "EUR"),  # no French hundreds: cents
        ("vingt-cinq cents", "fr", "vingt-cinq cents", 25, "EUR"),
        ("dix cents", "fr", "dix cents", 10, "EUR"),
        ("£5", "en", "£5", 500, "GBP"),
        ("5 pounds", "en", "5 pounds", 500, "GBP"),
        ("50p", "en", "50p", 50, "GBP"),
        ("¥1500", "en", "¥1500", 1500, "JPY"),  # no minor unit
        ("1500 yen", "en", "1500 yen", 1500, "JPY"),
        ("CHF 15.50", "en", "CHF 15.50", 1550, "CHF"),
        ("C$20", "en", "C$20", 2000, "CAD"),
        ("it's 12.50€ per person", "en", "12.50€", 1250, "EUR"),
        ("$3 million", "en", "$3 million", 300_000_000, "USD"),  # digits times a scale word
        ("2 million euros", "en", "2 million euros", 200_000_000, "EUR"),
        ("1.5 billion dollars", "en", "1.5 billion dollars", 150_000_000_000, "USD"),
        ("deux millions d'euros", "fr", "deux millions d'euros", 200_000_000, "EUR"),
        ("2,5 millions d'euros", "fr", "2,5 millions d'euros", 250_000_000, "EUR"),
        ("1,5 million de dollars", "fr", "1,5 million de dollars", 150_000_000, "USD"),
        ("3 mille euros", "fr", "3 mille euros", 300_000, "EUR"),
        ("1,500 million €", "en", "1,500 million €", 150_000_000_000, "EUR"),  # 1,500 is 1500
        # words ending in a scale word are one number, not a number times its last word
        (
            "two million five hundred thousand dollars",
            "en",
            "two million five hundred thousand dollars",
            250_000_000,
            "USD",
        ),
        ("un million deux cent mille euros", "fr", "un million deux cent mille euros", 120_000_000, "EUR"),
    ],
)
def test_money(text: str, lang: str, span: str, amount: int, currency: str) -> None:
    assert money(text, lang) == [(span, {"amount": amount, "currency": currency}, text.index(span))]


def test_amounts_are_integers_and_decimal_text_is_given() -> None:
    [entity] = extract("€12,50", "fr", NOW, dims=("money",))
    assert isinstance(entity.value["amount"], int)
    assert dict(entity.additional_info or {}) == {"decimal": "12.50"}
    [yen] = extract("¥1500", "en", NOW, dims=("money",))
    assert dict(yen.additional_info or {}) == {"decimal": "1500"}


def test_sub_minor_amounts_round_half_up() -> None:
    [entity] = extract("12.345€", "en", NOW, dims=("money",))  # three digits: thousands in amounts
    assert entity.value == {"amount": 1234500, "currency": "EUR"}
    [yen] = extract("¥12.5", "en", NOW, dims=("money",))
    assert yen.value == {"amount": 13, "currency": "JPY"}


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("I want italian food", "en"),
        ("une table pour deux", "fr"),
        ("2 pizzas", "en"),
        ("page 2 p", "en"),
        ("12.50", "en"),  # no currency
        ("pour cent personnes", "fr"),
        ("5 pounds of flour", "en"),
        ("cinq cents", "fr"),  # 500 in French, not 5 cents
        ("deux mille cinq cents", "fr"),
        ("douze cents", "fr"),  # 1200
        ("cinq cents", "xx"),  # "cinq" is French only
        ("deux d'euros", "fr"),  # "de" only after a scale word
        ("2 million 500 thousand dollars", "en"),  # one scale word per amount: not $500,000
        ("1 million 200 mille euros", "fr"),
    ],
)
def test_not_money(text: str, lang: str) -> None:
    assert money(text, lang) == []


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("something under 99999999999999999999999 euros", "en"),
        ("100000000000000000000 €", "fr"),
        ("$90071992547409.92", "en"),  # 2^53 cents
        ("¥9007199254740992", "en"),  # 2^53 yen (no minor unit)
        ("1" + "0" * 30 + " euros", "fr"),  # past Decimal's 28 digits: quantize() raised
        ("$90072 billion", "en"),  # past 2^53 cents with its scale word
        ("99999999999999999999 milliards d'euros", "fr"),  # past Decimal's 28 digits: raised
    ],
)
def test_amounts_beyond_the_safe_integer_range_of_minor_units_are_not_money(text: str, lang: str) -> None:
    assert money(text, lang) == []


def test_the_largest_amount_in_minor_units_is_money() -> None:
    assert money("$90071992547409.91", "en") == [
        ("$90071992547409.91", {"amount": 9007199254740991, "currency": "USD"}, 0)
    ]
    assert money("¥9007199254740991", "en") == [
        ("¥9007199254740991", {"amount": 9007199254740991, "currency": "JPY"}, 0)
    ]
