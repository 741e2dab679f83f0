"""`people`: the size of a party ("table for two", "nous serons six", "4 couverts").

A bare "for <n>" / "pour <n>" is a party only when what follows cannot make <n> something
else: end of message, punctuation, a time word ("for 4 at 8pm", "pour 2 demain") or a
people word. So "for 8pm", "pour 20h", "for 2 pizzas", "for 2 nights" are not parties.
French "à <n>" ("dîner à deux") needs a number in words: "à 8" is left alone because
French speakers also use it for a clock time.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from plaza.nlu.builtin._text import (
    GRAMMAR_LANGUAGES,
    Candidate,
    Doc,
    grammar_key,
    make_entity,
    select_longest,
)
from plaza.nlu.builtin.numbers import LEXICONS, parse_number, scale_words_pattern, word_number_pattern
from plaza.nlu.builtin.time_words import WEEKDAYS
from plaza.nlu.types import Entity

_MAX_WEAK: Final = 100
_MAX: Final = 1000

_PEOPLE_EN: Final = (
    r"(?:people|persons?|guests?|pax|adults?|diners?|covers?|seats?|of\s+us|humans?|ppl|persons)"
)
_PEOPLE_FR: Final = r"(?:personnes?|pers\.?|couverts?|convives?|invites?|adultes?|gens|places?|pax)"
_CHILDREN: Final = r"(?:children|kids?|child|enfants?|bebes?|babies|baby)"

_FOLLOW_EN: Final = (
    r"(?:at|on|in|this|next|tonight|tonite|tomorrow|today|please|pls|and|with|for|from|around|about|by"
    r"|who|if|but|so|then|thanks|thank|asap|" + "|".join(WEEKDAYS["en"]) + r")(?![a-z])"
)
_FOLLOW_FR: Final = (
    r"(?:a|ce|cet|cette|demain|apres|aujourd|le|la|les|vers|svp|stp|s'il|merci|et|avec|pour|des|midi|dans"
    r"|en|au|sur|mais|si|ou|ce|" + "|".join(WEEKDAYS["fr"]) + r")(?![a-z])"
)
_NOT_A_COUNT: Final = (
    r"(?![\d.,:/]\d|\s*(?:h(?![a-z])|am\b|pm\b|heures?|hours?|minutes?|min\b|o'?clock|%|€|\$|£))"
)


def _patterns(langs: tuple[str, ...]) -> re.Pattern[str]:
    words = word_number_pattern(langs, with_articles=False)
    num = rf"(?:\d{{1,4}}(?:\s+{scale_words_pattern(langs)})?|{words})"  # "3 mille personnes" is 3000
    alternatives: list[str] = []
    if "en" in langs:
        follow = _FOLLOW_EN
        alternatives += [
            rf"(?P<mix_en>(?P<a1>{num})\s+{_PEOPLE_EN}\s*(?:and|\+|,|&)\s*(?P<c1>{num})\s+{_CHILDREN})",
            rf"(?P<table_en>(?:tables?|reservation|booking|room|seats?|places?|spots?)\s+for\s+(?P<n1>{num})"
            rf"{_NOT_A_COUNT}(?:\s+{_PEOPLE_EN})?)",
            rf"(?P<party_en>(?:a\s+)?(?:party|group)\s+of\s+(?P<n2>{num}){_NOT_A_COUNT}(?:\s+{_PEOPLE_EN})?)",
            rf"(?P<we_en>(?:we\s+are|we're|we\s+will\s+be|we'll\s+be|we\s+would\s+be|we'd\s+be"
            rf"|there\s+(?:are|will\s+be|'ll\s+be|would\s+be)|there'll\s+be)\s+(?:(?:a\s+)?(?:party|group)\s+of\s+)?"
            rf"(?P<n3>{num}){_NOT_A_COUNT}(?!\s*(?:years?|days?|weeks?|months?|nights?|\w*\d))"
            rf"(?:\s+{_PEOPLE_EN})?)",
            rf"(?P<us_en>(?:just\s+)?the\s+(?P<n4>{num})\s+of\s+us)",
            rf"(?P<count_en>(?P<n5>{num})\s+{_PEOPLE_EN})",
            rf"(?P<for_en>for\s+(?P<n6>{num}){_NOT_A_COUNT}(?:\s+{_PEOPLE_EN}|(?=\s*(?:$|[,.!?;)]|\s+{follow}))))",
        ]
    if "fr" in langs:
        follow = _FOLLOW_FR
        alternatives += [
            rf"(?P<mix_fr>(?P<a2>{num})\s+{_PEOPLE_FR}\s*(?:et|\+|,|&)\s*(?P<c2>{num})\s+{_CHILDREN})",
            rf"(?P<table_fr>(?:une\s+)?(?:tables?|reservation|place)s?\s+(?:pour|de)\s+(?P<n7>{num})"
            rf"{_NOT_A_COUNT}(?!\s*(?:ans|jours?|nuits?))(?:\s+{_PEOPLE_FR})?)",
            rf"(?P<group_fr>(?:groupe|tablee)\s+de\s+(?P<n8>{num}){_NOT_A_COUNT}(?:\s+{_PEOPLE_FR})?)",
            rf"(?P<we_fr>(?:nous\s+(?:sommes|serons|serions|allons\s+etre)|on\s+(?:est|sera|serait|va\s+etre))"
            rf"\s+(?:a\s+)?(?P<n9>{num}){_NOT_A_COUNT}(?!\s*(?:ans|jours?|\w*\d))(?:\s+{_PEOPLE_FR})?)",
            rf"(?P<count_fr>(?P<n10>{num})\s+{_PEOPLE_FR}(?![a-z]))",
            rf"(?P<pour_fr>pour\s+(?P<n11>{num}){_NOT_A_COUNT}(?:\s+{_PEOPLE_FR}(?![a-z])|(?=\s*(?:$|[,.!?;)]|\s+{follow}))))",
            rf"(?P<a_fr>(?<![\w'])a\s+(?P<n12>{word_number_pattern(('fr',), with_articles=False)})"
            r"(?!\s*(?:pas|reprises?|fois|heures?|h\b|minutes?|mains|temps|ans|jours?|euros?|kilometres?|km)))",
        ]
    return re.compile(r"(?<![\w'])(?:" + "|".join(alternatives) + r")(?![a-z0-9])")


@functools.cache
def pattern(key: str) -> re.Pattern[str]:
    """The people grammar for "en", "fr" or "*" (both), compiled on first use."""
    return _patterns(GRAMMAR_LANGUAGES[key])


_NUMBER_WORDS: Final = frozenset(w for lex in LEXICONS.values() for w in lex)
_STARTERS: Final = _NUMBER_WORDS | {
    "table", "tables", "reservation", "booking", "room", "seat", "seats", "place", "places", "spot",
    "spots", "a", "party", "group", "we", "there", "just", "the", "for", "une", "groupe", "tablee",
    "nous", "on", "pour",
}  # fmt: skip
_STRONG: Final = frozenset(
    {"table_en", "party_en", "we_en", "us_en", "count_en", "table_fr", "group_fr", "we_fr", "count_fr"}
)


def _count(text: str | None, lang: str | None) -> int | None:
    if text is None:
        return None
    value = parse_number(" ".join(text.split()), lang)
    if value is None or value != value.to_integral_value():
        return None
    return int(value)


def _group(m: re.Match[str], *names: str) -> str | None:
    """The first of `names` that the pattern has and that matched."""
    for name in names:
        if name in m.re.groupindex and m.group(name) is not None:
            return m.group(name)
    return None


def extract_people(doc: Doc, language: str) -> list[Entity]:
    """`people` entities: the party size as an int."""
    if not doc.has_digit and doc.words.isdisjoint(_NUMBER_WORDS):
        return []
    key = grammar_key(language)
    lang = language if language in ("en", "fr") else None
    candidates: list[Candidate] = []
    for m in doc.scan(pattern(key), _STARTERS):
        name = m.lastgroup or ""
        info = None
        if name.startswith("mix"):
            adults = _count(_group(m, "a1", "a2"), lang)
            children = _count(_group(m, "c1", "c2"), lang)
            if adults is None or children is None:
                continue
            value: int | None = adults + children
            info = {"adults": adults, "children": children}
        else:
            number = next(
                g for g in m.groups()[m.re.groupindex[name] :] if g is not None and g != m.group(name)
            )
            value = _count(number, lang)
        limit = _MAX if name in _STRONG or name.startswith("mix") else _MAX_WEAK
        if value is None or not 1 <= value <= limit:
            continue
        entity = make_entity(doc, "people", value, m.start(), m.end(), info)
        candidates.append(Candidate(m.start(), m.end(), entity))
    return select_longest(candidates)
