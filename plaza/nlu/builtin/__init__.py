"""Plaza's built-in, rule-based entity extractors (English and French).

    extract("demain soir vers 20h pour 4", "fr", now) ->
        [time 2026-11-22T20:00:00+01:00 (approximate), number 4, people 4]

Dimensions: time, duration, number, ordinal, people, money, phone, email
(docs/builtin-extractors.md lists every supported expression and the conventions).

Within one dimension the longest non-overlapping spans win; different dimensions may
overlap on purpose (the "4" of "pour 4" is both a number and a party size) and the engine
chooses. The message is folded once (`_text.Doc`) and each dimension first checks cheap
trigger words, so most dimensions cost nothing on most messages.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Final

from plaza.nlu.builtin._text import EXTRACTOR, Doc, grammar_key
from plaza.nlu.builtin.contact import extract_emails, extract_phones
from plaza.nlu.builtin.datetimes import extract_times
from plaza.nlu.builtin.durations import extract_durations
from plaza.nlu.builtin.money import extract_money
from plaza.nlu.builtin.numbers import extract_numbers, extract_ordinals
from plaza.nlu.builtin.people import extract_people
from plaza.nlu.types import Entity

__all__ = ["DIMENSIONS", "EXTRACTOR", "extract", "warm_up"]

_Extractor = Callable[[Doc, str, datetime], list[Entity]]

_EXTRACTORS: Final[dict[str, _Extractor]] = {
    "time": extract_times,
    "duration": lambda doc, lang, _now: extract_durations(doc, lang),
    "number": lambda doc, lang, _now: extract_numbers(doc, lang),
    "ordinal": lambda doc, lang, _now: extract_ordinals(doc, lang),
    "people": lambda doc, lang, _now: extract_people(doc, lang),
    "money": lambda doc, lang, _now: extract_money(doc, lang),
    "phone": lambda doc, lang, _now: extract_phones(doc, lang),
    "email": lambda doc, lang, _now: extract_emails(doc, lang),
}

DIMENSIONS: Final = tuple(_EXTRACTORS)
"""Every dimension (entity name) the built-in extractors produce."""


_WARM_UP_MESSAGES: Final = {
    "en": "a table for four people next friday at 7:30pm, in 20 minutes, 2 hours, $20, first, "
    "+1 415 555 0100, me@example.com, between 7 and 8pm, December 3rd, half past 7, around 8ish",
    "fr": "une table pour quatre personnes vendredi prochain à 19h30, dans 20 minutes, 2 heures, 15 €, "
    "premier, 06 12 34 56 78, moi@example.fr, de 19h à 21h, le 3 décembre, midi et demi, vers 20h",
}


def warm_up() -> None:
    """Compile every pattern now rather than on the first messages (call at server start)."""
    from datetime import UTC  # noqa: PLC0415 - only needed here

    from plaza.nlu.builtin.time_grammar import GRAMMARS  # noqa: PLC0415

    now = datetime(2026, 1, 1, tzinfo=UTC)
    for language in ("en", "fr", "xx"):
        for text in _WARM_UP_MESSAGES.values():
            extract(text, language, now)
    for grammar in GRAMMARS.values():
        grammar.pattern.compile_all()


def _language(language: str) -> str:
    return grammar_key(language[:2].lower())


def extract(text: str, language: str, now: datetime, dims: Collection[str] | None = None) -> list[Entity]:
    """Entities found in `text`, sorted by position.

    `language` is "en" or "fr" (a regional form such as "fr-CA" counts as "fr"); anything
    else applies both grammars. `now` must be timezone-aware: times are resolved in its
    time zone and returned as ISO 8601 strings with their UTC offset. `dims` restricts the
    dimensions (default: all of `DIMENSIONS`).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("extract() needs a timezone-aware `now`")
    if dims is not None:
        unknown = set(dims) - set(_EXTRACTORS)
        if unknown:
            raise ValueError(f"unknown dimension(s) {sorted(unknown)}; known: {', '.join(DIMENSIONS)}")
    if not text:
        return []
    doc = Doc(text)
    lang = _language(language)
    out: list[Entity] = []
    for name, extractor in _EXTRACTORS.items():
        if dims is None or name in dims:
            out.extend(extractor(doc, lang, now))
    out.sort(key=lambda e: (e.start, -e.end, e.entity))
    return out
