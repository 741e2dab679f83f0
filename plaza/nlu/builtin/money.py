"""`money`: amounts with a currency, as integer minor units ("€12,50" -> 1250 EUR).

Amounts are parsed as `Decimal` and scaled by the currency's ISO 4217 exponent (JPY has
none), so no float ever touches a price; an amount finer than the minor unit is rounded
half-up. "$" alone is USD (CA$, C$, A$ for the others). A comma or dot followed by exactly
three digits is a thousands separator in amounts ("1,500 €" = 1500 EUR): prices are
not written with three decimals.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from plaza.nlu.builtin._text import (
    GRAMMAR_LANGUAGES,
    Candidate,
    Doc,
    grammar_key,
    make_entity,
    select_longest,
    trie_regex,
)
from plaza.nlu.builtin.numbers import (
    LEXICONS,
    SCALES,
    parse_decimal,
    parse_number,
    scaled_digits_pattern,
    split_scale,
    word_number_pattern,
)
from plaza.nlu.types import MAX_SAFE_INTEGER, Entity

EXPONENTS: Final[Mapping[str, int]] = {"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "CAD": 2, "AUD": 2, "JPY": 0}

_PREFIX_SYMBOLS: Final[Mapping[str, str]] = {
    "€": "EUR", "eur": "EUR", "$": "USD", "us$": "USD", "usd": "USD", "£": "GBP", "gbp": "GBP",
    "¥": "JPY", "jpy": "JPY", "chf": "CHF", "ca$": "CAD", "c$": "CAD", "cad": "CAD",
    "a$": "AUD", "au$": "AUD", "aud": "AUD",
}  # fmt: skip
_SUFFIX_WORDS: Final[Mapping[str, str]] = {
    **_PREFIX_SYMBOLS,
    "euro": "EUR", "euros": "EUR", "dollar": "USD", "dollars": "USD", "bucks": "USD", "buck": "USD",
    "us dollars": "USD", "pound": "GBP", "pounds": "GBP", "pounds sterling": "GBP", "quid": "GBP",
    "livre sterling": "GBP", "livres sterling": "GBP", "yen": "JPY", "yens": "JPY",
    "swiss francs": "CHF", "swiss franc": "CHF", "franc suisse": "CHF", "francs suisses": "CHF",
    "canadian dollars": "CAD", "dollars canadiens": "CAD", "australian dollars": "AUD",
}  # fmt: skip
_MINOR_WORDS: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {"cents": "USD", "cent": "USD", "pence": "GBP", "p": "GBP", "centimes": "EUR", "centime": "EUR"},
    "fr": {"centimes": "EUR", "centime": "EUR", "cts": "EUR", "cents": "EUR", "pence": "GBP"},
}


def _symbols(words: Mapping[str, str]) -> str:
    """A trie alternation of currency words where a space matches any run of spaces."""
    return trie_regex(w.replace(" ", "\0") for w in words).replace("\0", r"\s+")


_OF_FR: Final = r"(?:(?:(?<=million)|(?<=millions)|(?<=milliard)|(?<=milliards))\s*(?:de\s+|d'))?"
"""French puts "de" between a scale word and the currency: "deux millions d'euros"."""


class _Grammar:
    def __init__(self, langs: tuple[str, ...]) -> None:
        self.lang = langs[0] if len(langs) == 1 else None
        self.minor = {w: c for code in reversed(langs) for w, c in _MINOR_WORDS[code].items()}
        words = word_number_pattern(langs)
        digits = scaled_digits_pattern(langs)
        amount = rf"(?:{digits}|{words})"
        prefix = _symbols(_PREFIX_SYMBOLS)
        suffix = _symbols(_SUFFIX_WORDS)
        minor = _symbols(self.minor)
        minor_tail = (
            rf"(?:\s+(?:et|and)\s+(?P<minorx>\d{{1,2}})\s+(?:centimes?|cents?)"
            rf"|\s*(?P<minor>\d{{2}})(?![\d.,])"
            rf"|\s+(?:et\s+|and\s+)?(?P<minorw>{words})(?:\s+(?:centimes?|cents?))?)"
        )
        self.pattern = re.compile(
            rf"(?<![\w.,])(?:(?P<pre>{prefix})\s*(?P<amt1>{digits})(?![\d])"
            rf"|(?P<amt2>{amount})\s*{_OF_FR}(?P<cur>{suffix})(?![a-z])(?!\s+of\s){minor_tail}?"
            rf"|(?P<amt3>\d{{1,3}}|{words})\s*(?P<sub>{minor}))(?![a-z0-9])"
        )

    def parse_amount(self, text: str) -> Decimal | None:
        text = " ".join(text.split())
        if text in ("a", "an", "un", "une", "one"):
            return Decimal(1)
        if text[0].isdigit():
            return parse_decimal(text, self.lang)
        return parse_number(text, self.lang)


_FRENCH_ONLY: Final = frozenset(LEXICONS["fr"]) - frozenset(LEXICONS["en"])
_FRENCH_HUNDREDS: Final = frozenset(
    {"deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf"}
    | {"onze", "douze", "treize", "quatorze", "quinze", "seize"}
)
"""The words a French "cents" multiplies: "cinq cents" is 500, "douze cents" 1200."""


def _french_hundreds(amount: str, lang: str | None) -> bool:
    """Whether "`amount` cents" is French hundreds rather than cents of money.

    Only after a word that multiplies a hundred, in French data or beside a word only French
    has: "cinquante cents" or "vingt-cinq cents" are cents (Belgian and Canadian French say so),
    and "six cents" in English data is six cents.
    """
    words = amount.split()
    if amount[0].isdigit() or words[-1] not in _FRENCH_HUNDREDS:
        return False
    return lang == "fr" or (lang is None and any(w in _FRENCH_ONLY for w in words))


def _thousands_like(text: str) -> bool:
    """'1,500' / '1.500' with exactly three digits after the separator."""
    return bool(re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", text)) and not text.startswith("0")


def _normalise_thousands(text: str) -> str:
    return text.replace(",", "").replace(".", "")


@functools.cache
def grammar(key: str) -> _Grammar:
    """The money grammar for "en", "fr" or "*" (both), compiled on first use."""
    return _Grammar(GRAMMAR_LANGUAGES[key])


_TRIGGERS: Final = frozenset(_SUFFIX_WORDS) | {w for m in _MINOR_WORDS.values() for w in m} | {
    "sterling", "suisses", "suisse", "swiss", "canadiens", "canadian", "australian", "us", "ca", "au",
}  # fmt: skip
_SYMBOL_CHARS: Final = frozenset("€$£¥")
_SCALE_WORDS: Final = frozenset(w for scales in SCALES.values() for w in scales)
_STARTERS: Final = frozenset(w for lex in LEXICONS.values() for w in lex) | {
    w.rstrip("$") for w in _PREFIX_SYMBOLS if w[0].isalpha()
}


def _amount(grammar: _Grammar, text: str) -> Decimal | None:
    """The amount's value; digits before a scale word are read as alone, then multiplied."""
    text, factor = " ".join(text.split()), 1
    if text[:1].isdigit():  # words ending in a scale word are one number: "two million five hundred"
        text, factor = split_scale(text, grammar.lang)
    if _thousands_like(text):
        value: Decimal | None = Decimal(_normalise_thousands(text))
    else:
        value = grammar.parse_amount(text)
    return None if value is None else value * factor


def _minor_units(value: Decimal, exponent: int) -> Decimal | None:
    """The amount in whole minor units (rounded half-up); None beyond ±MAX_SAFE_INTEGER of them.

    Past 90 trillion euros (in cents) an amount is no price anyone pays, and JSON would not carry
    its integer exactly: it is no `money`, like a number that large is no `number`.
    """
    scaled = value * (10**exponent)
    if abs(scaled) > MAX_SAFE_INTEGER + 1:  # checked first: quantize() fails past 28 digits
        return None
    rounded = scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return rounded if abs(rounded) <= MAX_SAFE_INTEGER else None


def extract_money(doc: Doc, language: str) -> list[Entity]:
    """`money` entities: {"amount": minor units (int), "currency": ISO 4217 code}."""
    if _SYMBOL_CHARS.isdisjoint(doc.text) and doc.words.isdisjoint(_TRIGGERS):
        return []
    if not doc.has_digit and doc.words.isdisjoint(LEXICONS["en"]) and doc.words.isdisjoint(LEXICONS["fr"]):
        return []
    money = grammar(grammar_key(language))
    candidates: list[Candidate] = []
    for m in doc.scan(money.pattern, _STARTERS, chars="€$£¥"):
        if m.group("pre") is not None:
            currency = _PREFIX_SYMBOLS[m.group("pre")]
            value = _amount(money, m.group("amt1"))
        elif m.group("cur") is not None:
            if doc.previous_word(m.start()) in _SCALE_WORDS:
                continue  # "2 million 500 thousand dollars": the amount's end, not $500,000
            currency = _SUFFIX_WORDS[" ".join(m.group("cur").split())]
            value = _amount(money, m.group("amt2"))
            minor_text = m.group("minor") or m.group("minorw") or m.group("minorx")
            if value is not None and minor_text:
                minor = _amount(money, minor_text)
                if minor is None or value != value.to_integral_value() or not 0 <= minor < 100:
                    continue
                value += minor / 100
        else:
            if m.group("sub") == "p" and m.end("amt3") != m.start("sub"):
                continue  # "50p" is pence, "page 2 p" is not
            if m.group("sub") == "cents" and _french_hundreds(m.group("amt3"), money.lang):
                continue  # "cinq cents" is 500 in French, not 5 cents: the `number` extractor says so
            currency = money.minor[m.group("sub")]
            minor_units = _amount(money, m.group("amt3"))
            value = None if minor_units is None else minor_units / 100
        if value is None or value <= 0:
            continue
        exponent = EXPONENTS[currency]
        scaled = _minor_units(value, exponent)
        if scaled is None:
            continue
        decimal_text = str((Decimal(int(scaled)) / (10**exponent)).quantize(Decimal(1).scaleb(-exponent)))
        entity = make_entity(
            doc,
            "money",
            {"amount": int(scaled), "currency": currency},
            m.start(),
            m.end(),
            {"decimal": decimal_text},
        )
        candidates.append(Candidate(m.start(), m.end(), entity))
    return select_longest(candidates)
