"""Durations: "20 minutes", "2 hours", "une demi-heure", "1h30", "an hour and a half".

A duration said after "in"/"dans"/"d'ici"/"within" is a point in time ("in 20 minutes"), so
it is reported by the time dimension, not here; the time dimension reuses `match_at` for it.
The value is a number of seconds (months count 30 days, years 365 days); `additional_info`
gives the largest unit, no larger than the one said, that expresses the duration in whole
units ("1h30" -> 90 minutes, "2 hours" -> 2 hours).

The compact "<n>h" spelling is shared with clock times ("19h"): it is a duration only for
n <= 5 ("2h", "1h30") or after "pendant"/"durant"/"during"/"for"/"en"; "19h" is a time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
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
from plaza.nlu.builtin.numbers import LEXICONS, parse_number, word_number_pattern
from plaza.nlu.types import MAX_SAFE_INTEGER, Entity

UNIT_SECONDS: Final[Mapping[str, int]] = {
    "year": 365 * 86400,
    "month": 30 * 86400,
    "week": 7 * 86400,
    "day": 86400,
    "hour": 3600,
    "minute": 60,
    "second": 1,
}

_UNIT_WORDS: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {
        "seconds": "second", "second": "second", "secs": "second", "sec": "second",
        "minutes": "minute", "minute": "minute", "mins": "minute", "min": "minute",
        "hours": "hour", "hour": "hour", "hrs": "hour", "hr": "hour", "h": "hour",
        "days": "day", "day": "day", "weeks": "week", "week": "week", "wks": "week",
        "months": "month", "month": "month", "years": "year", "year": "year", "yrs": "year",
    },
    "fr": {
        "secondes": "second", "seconde": "second", "sec": "second",
        "minutes": "minute", "minute": "minute", "min": "minute", "mn": "minute",
        "heures": "hour", "heure": "hour", "h": "hour",
        "jours": "day", "jour": "day", "semaines": "week", "semaine": "week",
        "mois": "month", "ans": "year", "an": "year", "annees": "year", "annee": "year",
    },
}  # fmt: skip

_ONE: Final = frozenset({"a", "an", "one", "un", "une"})
_FRACTIONS: Final[Mapping[str, Mapping[str, int]]] = {
    "en": {
        r"half\s+an\s+hour": 1800, r"a\s+half[- ]hour": 1800, r"half\s+hour": 1800,
        r"(?:a\s+)?quarter\s+(?:of\s+an\s+)?hour": 900,
        r"three[- ]quarters\s+of\s+an\s+hour": 2700,
    },
    "fr": {
        r"une\s+demi[- ]?heure": 1800, r"(?:une\s+)?demi[- ]heure": 1800,
        r"un\s+quart\s+d'heure": 900, r"trois\s+quarts\s+d'heure": 2700,
    },
}  # fmt: skip
_HALF: Final = {"en": r"and\s+a\s+half", "fr": r"et\s+demie?"}
_AND: Final = {"en": r"(?:,?\s*and)?", "fr": r"(?:\s*et)?"}
_DURATION_CUES: Final = frozenset({"pendant", "durant", "during", "for", "en", "lasts", "dure", "takes"})
_TIME_PREFIXES: Final = frozenset(
    {"a", "at", "vers", "around", "des", "jusqu", "in", "dans", "ici", "within", "from", "de", "entre"}
)


@dataclass(frozen=True, slots=True)
class DurationMatch:
    """A duration found at `start:end` of the folded text."""

    start: int
    end: int
    seconds: int
    unit: str
    """The largest unit (no larger than `said_unit`) dividing `seconds`."""
    amount: int
    said_unit: str
    """The unit the user said ("2 weeks" -> week); the time dimension does calendar arithmetic with it."""
    said_amount: Decimal
    compact: bool
    """Spelled with a bare "h" ("2h", "1h30"), which clock times share."""


class _Grammar:
    def __init__(self, langs: tuple[str, ...]) -> None:
        self.units: dict[str, str] = {}
        for code in langs:
            self.units.update(_UNIT_WORDS[code])
        amount = rf"(?P<amt>\d+(?:[.,]\d+)?|a\s+couple\s+of|{word_number_pattern(langs)})"
        unit = rf"(?P<unit>{trie_regex(self.units)})(?![a-z])"
        fractions = {k: v for code in langs for k, v in _FRACTIONS[code].items()}
        self.fraction_res = [(re.compile(rf"(?<![\w'-]){k}(?![a-z])"), v) for k, v in fractions.items()]
        self.fraction_triggers = frozenset({"half", "quarter", "quarters", "demi", "quart", "quarts"})
        self.main = re.compile(
            rf"(?<![\w.,'/:-])(?:(?P<ch>\d{{1,2}})\s*h\s*(?P<cm>[0-5]\d)(?:\s*(?:min|mn)(?![a-z]))?(?![\d:])"
            rf"|{amount}\s*{unit})"
        )
        half = "|".join(_HALF[c] for c in langs)
        conj = "|".join(_AND[c] for c in langs)
        self.half = re.compile(rf"\s+(?:{half})(?![a-z])")
        self.second_part = re.compile(rf"(?:{conj})\s+{amount}\s*{unit}")
        self.bare_minutes = re.compile(r"\s*(?P<mm>[0-5]\d)(?![\w:.,])")
        self.triggers = frozenset(self.units) | self.fraction_triggers
        self.starters = frozenset(w for code in langs for w in LEXICONS[code]) | _ONE | {"a"}
        self.lang = langs[0] if len(langs) == 1 else None

    def parse_amount(self, text: str) -> Decimal | None:
        text = " ".join(text.split())
        if text in _ONE:
            return Decimal(1)
        if text.startswith("a couple"):
            return Decimal(2)
        return parse_number(text, self.lang)

    def find(self, doc: Doc) -> list[DurationMatch]:
        folded = doc.folded
        out: list[DurationMatch] = []
        for m in doc.scan(self.main, self.starters):
            match = self._from_match(folded, m)
            if match is not None:
                out.append(match)
        if not doc.words.isdisjoint(self.fraction_triggers):
            for pattern, seconds in self.fraction_res:
                out.extend(
                    _make(f.start(), f.end(), seconds, "hour", Decimal(seconds) / 3600, compact=False)
                    for f in pattern.finditer(folded)
                )
        return out

    def match_at(self, folded: str, pos: int) -> DurationMatch | None:
        m = self.main.match(folded, pos)
        found = self._from_match(folded, m) if m else None
        for pattern, seconds in self.fraction_res:
            f = pattern.match(folded, pos)
            if f and (found is None or f.end() > found.end):
                found = _make(f.start(), f.end(), seconds, "hour", Decimal(seconds) / 3600, compact=False)
        return found

    def _from_match(self, folded: str, m: re.Match[str]) -> DurationMatch | None:
        if m.group("ch") is not None:
            hours, minutes = int(m.group("ch")), int(m.group("cm"))
            return _make(
                m.start(), m.end(), hours * 3600 + minutes * 60, "hour", Decimal(hours), compact=True
            )
        amount = self.parse_amount(m.group("amt"))
        if amount is None or amount <= 0:
            return None
        unit_word = m.group("unit")
        unit = self.units[unit_word]
        compact = unit_word == "h"
        seconds = amount * UNIT_SECONDS[unit]
        end = m.end()
        half = self.half.match(folded, end)
        if half:
            seconds += Decimal(UNIT_SECONDS[unit]) / 2
            end = half.end()
        elif unit == "hour":
            extra = self.second_part.match(folded, end)
            if extra and self.units[extra.group("unit")] in ("minute", "second"):
                extra_amount = self.parse_amount(extra.group("amt"))
                if extra_amount is not None:
                    seconds += extra_amount * UNIT_SECONDS[self.units[extra.group("unit")]]
                    end = extra.end()
            elif (mm := self.bare_minutes.match(folded, end)) is not None:
                seconds += int(mm.group("mm")) * 60
                end = mm.end()
        if seconds != seconds.to_integral_value() or seconds > MAX_SAFE_INTEGER:
            return None  # a fraction of a second, or beyond 285 million years: nothing anyone means
        return _make(m.start(), end, int(seconds), unit, amount, compact=compact)


def _make(
    start: int, end: int, seconds: int, said_unit: str, said_amount: Decimal, *, compact: bool
) -> DurationMatch:
    unit = said_unit
    order = list(UNIT_SECONDS)
    for candidate in order[order.index(said_unit) :]:
        if seconds % UNIT_SECONDS[candidate] == 0:
            unit = candidate
            break
    return DurationMatch(
        start, end, seconds, unit, seconds // UNIT_SECONDS[unit], said_unit, said_amount, compact
    )


_GRAMMARS: Final = {key: _Grammar(langs) for key, langs in GRAMMAR_LANGUAGES.items()}


def match_at(folded: str, pos: int, language: str) -> DurationMatch | None:
    """The longest duration starting exactly at `pos` (used for "in <duration>")."""
    return _GRAMMARS[grammar_key(language)].match_at(folded, pos)


def find_durations(doc: Doc, language: str) -> list[DurationMatch]:
    """Every duration in the message, overlapping ones included."""
    grammar = _GRAMMARS[grammar_key(language)]
    if doc.words.isdisjoint(grammar.triggers):
        return []
    return grammar.find(doc)


def extract_durations(doc: Doc, language: str) -> list[Entity]:
    """`duration` entities (value in seconds); skips those that are times ("in 20 minutes")."""
    candidates: list[Candidate] = []
    for d in find_durations(doc, language):
        before = doc.previous_word(d.start)
        if before in _TIME_PREFIXES:
            continue
        if d.compact and d.said_amount > 5 and before not in _DURATION_CUES:
            continue
        info = {"unit": d.unit, "amount": d.amount}
        entity = make_entity(doc, "duration", d.seconds, d.start, d.end, info)
        candidates.append(Candidate(d.start, d.end, entity))
    return select_longest(candidates)
