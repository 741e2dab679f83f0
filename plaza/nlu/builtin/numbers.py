"""Numbers and ordinals, in digits and in English/French words.

Word numbers are parsed from the message's tokens with a small state machine (not a regex)
because French composes numbers in ways a pattern list cannot enumerate sensibly
("quatre-vingt-dix-neuf" = 4 x 20 + 10 + 9, "soixante et onze" = 60 + 11). A run of number
words is split into the longest valid numbers ("two three" is two numbers).

Conventions (see docs/builtin-extractors.md):
- a standalone French "un"/"une" is an article, not the number 1 ("une table"); it still
  counts inside compounds ("vingt et un", "une douzaine") and in other dimensions
  ("pour une personne");
- English "a"/"an" is a number only before hundred/thousand/million/dozen;
- a standalone "one" after a determiner ("this one", "the one") is a pronoun, not a number;
- a comma followed by exactly three digits is a thousands separator in English and when
  the language is unknown ("1,000" = 1000), a decimal comma in French ("1,000" = 1.0);
  a dot followed by three digits is a decimal point in English, a thousands separator in
  French; spaces (including narrow no-break spaces) group thousands in both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Final, NamedTuple

from plaza.nlu.builtin._text import (
    GRAMMAR_LANGUAGES,
    Candidate,
    Doc,
    grammar_key,
    make_entity,
    select_longest,
    trie_regex,
)
from plaza.nlu.types import MAX_SAFE_INTEGER, Entity

Lexicon = Mapping[str, tuple[int, str]]
"""word -> (value, kind); kinds: unit, teen, tens, hundred, scale, dozen, article."""


def _lexicon(groups: Mapping[str, Mapping[str, int]]) -> dict[str, tuple[int, str]]:
    return {word: (value, kind) for kind, words in groups.items() for word, value in words.items()}


EN_LEXICON: Final[Lexicon] = _lexicon(
    {
        "unit": {
            "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4,
            "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
        },
        "teen": {
            "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
            "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
        },
        "tens": {
            "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50,
            "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
        },
        "hundred": {"hundred": 100},
        "scale": {"thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000},
        "dozen": {"dozen": 12},
        "article": {"a": 1, "an": 1},
    }
)  # fmt: skip

FR_LEXICON: Final[Lexicon] = _lexicon(
    {
        "unit": {
            "zero": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4,
            "cinq": 5, "six": 6, "sept": 7, "huit": 8, "neuf": 9,
        },
        "teen": {
            "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16,
        },
        "tens": {
            "vingt": 20, "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50,
            "soixante": 60, "septante": 70, "huitante": 80, "octante": 80, "nonante": 90,
        },
        "hundred": {"cent": 100, "cents": 100},
        "scale": {
            "mille": 1000, "million": 1_000_000, "millions": 1_000_000,
            "milliard": 1_000_000_000, "milliards": 1_000_000_000,
        },
        "dozen": {"douzaine": 12, "douzaines": 12},
    }
)  # fmt: skip

LEXICONS: Final[Mapping[str, Lexicon]] = {"en": EN_LEXICON, "fr": FR_LEXICON}
_CONNECTOR: Final = {"en": "and", "fr": "et"}
_DETERMINERS: Final = frozenset(
    {"the", "this", "that", "which", "each", "every", "any", "no", "some", "another", "other"}
)


class _State(NamedTuple):
    total: int = 0
    current: int = 0
    last: str = ""
    last_word: str = ""
    scale: int = 0

    @property
    def value(self) -> int:
        return self.total + self.current

    @property
    def complete(self) -> bool:
        return self.last not in ("", "article")


def _step(st: _State, word: str, lex: Lexicon) -> _State | None:
    """Feed one number word; None if it cannot continue the number built so far."""
    entry = lex.get(word)
    if entry is None or st.last in ("dozen", "zero"):
        return None
    v, kind = entry
    cur, last = st.current, st.last
    if kind == "article":
        return _State(0, 0, "article", word) if last == "" else None
    if kind == "unit":
        if v == 0:
            return _State(0, 0, "zero", word) if last == "" else None
        if last == "" or (last == "scale" and cur == 0):
            new = v
        elif (last == "tens" and cur % 10 == 0) or (last == "hundred" and cur % 100 == 0):
            new = cur + v
        elif last == "teen" and st.last_word == "dix" and v >= 7:
            new = cur + v  # dix-sept, soixante-dix-huit, quatre-vingt-dix-neuf
        else:
            return None
        return st._replace(current=new, last="unit", last_word=word)
    if kind == "teen":
        if last == "" or (last == "scale" and cur == 0) or (last == "hundred" and cur % 100 == 0):
            new = cur + v
        elif last == "tens" and cur % 100 in (60, 80) and word in FR_LEXICON:
            new = cur + v  # soixante-douze, quatre-vingt-onze
        else:
            return None
        return st._replace(current=new, last="teen", last_word=word)
    if kind == "tens":
        if last == "unit" and cur % 100 == 4 and word.startswith("vingt"):
            return st._replace(current=cur + 76, last="tens", last_word=word)  # quatre-vingt(s)
        if last == "" or (last == "scale" and cur == 0) or (last == "hundred" and cur % 100 == 0):
            return st._replace(current=cur + v, last="tens", last_word=word)
        return None
    if kind == "hundred":
        if last in ("", "article") or (last == "scale" and cur == 0):
            if word == "cents":
                return None  # the plural follows a multiplier ("deux cents"); alone it is currency
            new = 100
        elif last == "tens" and word in ("cent", "cents"):
            return None  # French multiplies a hundred by 2-9 or 11-16 only: "cinquante cents" is money
        elif last in ("unit", "teen", "tens") and 0 < cur < 100 and (last == "unit" or st.total == 0):
            new = cur * 100
        else:
            return None
        return st._replace(current=new, last="hundred", last_word=word)
    if kind == "scale":
        if st.scale == 1000 and last == "scale" and v > 1000 and st.total < 1_000_000:
            # "mille milliards", "deux mille milliards": thousands of a larger scale, said with
            # nothing after the thousand and no larger scale before it ("one million two
            # thousand million" stops before its last word)
            return _State(st.total * v, 0, "scale", word, v)
        if st.scale and v >= st.scale:
            return None
        if last == "" and word != "mille":
            return None  # "2 billion", "million people": a bare scale word is no number; "mille" is 1000
        if last in ("", "article"):
            add = v
        elif cur == 0 or st.last == "scale":
            return None
        else:
            add = cur * v
        return _State(st.total + add, 0, "scale", word, v)
    if kind == "dozen":
        if last == "article" or (last in ("unit", "teen", "tens") and cur > 0):
            return st._replace(current=max(cur, 1) * 12, last="dozen", last_word=word)
        return None
    return None


def _connector_ok(st: _State, connector: str, nxt: str) -> bool:
    if connector == "and":
        return st.last in ("hundred", "scale") and st.current % 100 == 0
    return st.last == "tens" and st.current % 10 == 0 and nxt in ("un", "une", "onze")


def parse_word_sequence(words: Sequence[str], lang: str) -> list[tuple[int, int, int]]:
    """Split a run of words into numbers: `(first_index, end_index, value)`, longest first."""
    lex = LEXICONS[lang]
    connector = _CONNECTOR[lang]
    out: list[tuple[int, int, int]] = []
    i, n = 0, len(words)
    while i < n:
        st = _State()
        best_end, best_value = i, 0
        k = i
        while k < n:
            word = words[k]
            if word == connector and st.last:
                if k + 1 < n and _connector_ok(st, connector, words[k + 1]):
                    nxt = _step(st, words[k + 1], lex)
                    if nxt is not None:
                        st, k = nxt, k + 2
                        if st.complete:
                            best_end, best_value = k, st.value
                        continue
                break
            nxt = _step(st, word, lex)
            if nxt is None:
                break
            st, k = nxt, k + 1
            if st.complete:
                best_end, best_value = k, st.value
        if best_end > i:
            out.append((i, best_end, best_value))
            i = best_end
        else:
            i += 1
    return out


_SPLIT_RE: Final = re.compile(r"[a-z]+")


def parse_number_words(text: str, lang: str) -> int | None:
    """The value of `text` if it is exactly one number in words (folded text), else None."""
    words = _SPLIT_RE.findall(text)
    for code in GRAMMAR_LANGUAGES[grammar_key(lang)]:
        segments = parse_word_sequence(words, code)
        if len(segments) == 1 and segments[0][:2] == (0, len(words)):
            return segments[0][2]
    return None


def word_number_pattern(langs: Sequence[str], *, with_articles: bool = True) -> str:
    """A regex fragment matching a run of number words (validated later by `parse_number`)."""
    words: set[str] = set()
    for code in langs:
        words.update(w for w, (_, kind) in LEXICONS[code].items() if with_articles or kind != "article")
    word = trie_regex(words)
    connectors = "|".join(_CONNECTOR[c] for c in langs)
    return rf"(?:{word}(?:(?:\s+|\s*-\s*)(?:(?:{connectors})(?:\s+|-))?{word})*)(?![a-z])"


# ---------------------------------------------------------------------------------------------
# digits

DIGITS_PATTERN: Final = r"(?:\d{1,3}(?:[,. ]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?)"
"""A number written with digits, with optional thousands separators and decimals."""

SCALES: Final[Mapping[str, Mapping[str, int]]] = {
    code: {w: v for w, (v, kind) in lexicon.items() if kind == "scale"} for code, lexicon in LEXICONS.items()
}
"""Each language's scale words ("million", "milliards"), which multiply digits before them."""


def scale_words_pattern(langs: Sequence[str]) -> str:
    """The languages' scale words, each a whole word: "3 mille-feuilles" holds none."""
    return rf"(?:{trie_regex({w for code in langs for w in SCALES[code]})})(?![a-z-])"


def scaled_digits_pattern(langs: Sequence[str]) -> str:
    """Digits, optionally followed by one of the languages' scale words ("2 billion", "2,5 millions")."""
    return rf"{DIGITS_PATTERN}(?:\s+{scale_words_pattern(langs)})?"


def split_scale(text: str, lang: str | None) -> tuple[str, int]:
    """Digits and the factor of the scale word after them: "2,5 millions" -> ("2,5", 1000000).

    The factor is 1 without a scale word; `lang` None accepts either language's.
    """
    head, _, last = text.rpartition(" ")
    for code in (lang,) if lang is not None and lang in SCALES else tuple(SCALES):
        factor = SCALES[code].get(last)
        if head and factor is not None:
            return head.rstrip(), factor
    return text, 1


def _times(value: Decimal, factor: int) -> Decimal:
    """`value` × `factor`, integral when the product is ("1.5 million" is 1500000, not 1500000.0)."""
    if factor == 1:
        return value
    product = value * factor
    if abs(product) > MAX_SAFE_INTEGER:  # no number, and quantize() fails past 28 digits
        return product
    return product.quantize(Decimal(1)) if product == product.to_integral_value() else product


_DIGITS_RES: Final = {
    key: re.compile(rf"(?<![\w.,/:+@'-]){scaled_digits_pattern(langs)}(?![\w/:@%]|[.,]\d|-\d)")
    for key, langs in GRAMMAR_LANGUAGES.items()
}
"""Digits and their scale word, per grammar: the scale word's own number is part of the span."""


def parse_decimal(text: str, lang: str | None) -> Decimal | None:
    """Parse digits with locale-dependent separators into an exact Decimal.

    See the module docstring for how "1,000" and "1.000" are read per language.
    """
    s = text.replace(" ", "")
    commas, dots = s.count(","), s.count(".")
    if commas and dots:
        decimal_sep = "," if s.rfind(",") > s.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        if s.count(decimal_sep) > 1:
            return None
        s = s.replace(thousands, "").replace(decimal_sep, ".")
    elif commas > 1 or dots > 1:
        s = s.replace(",", "").replace(".", "")
    elif commas or dots:
        sep = "," if commas else "."
        head, tail = s.split(sep)
        thousands_like = len(tail) == 3 and 1 <= len(head) <= 3 and not head.startswith("0")
        if thousands_like and ((sep == "," and lang != "fr") or (sep == "." and lang == "fr")):
            s = head + tail
        else:
            s = head + "." + tail
    try:
        return Decimal(s)
    except InvalidOperation:
        return None


def decimal_to_json(value: Decimal) -> int | float | None:
    """An int when integral and written without decimals, else a float; None beyond ±MAX_SAFE_INTEGER.

    No one counts or books 10^20 of anything: such digits are a reference or a joke, and as a
    number JSON would not carry them exactly (orjson refuses the int; a float or a JavaScript
    client rounds it). They stay in the message text, and are no `number`.
    """
    if not value.is_finite() or abs(value) > MAX_SAFE_INTEGER:
        return None
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= 0:
        return int(value)
    return float(value)


def parse_number(text: str, lang: str | None) -> Decimal | None:
    """Digits or words (folded text) to a Decimal; None when `text` is not one number."""
    text = text.strip()
    if not text:
        return None
    if text[0].isdigit():
        digits, factor = split_scale(" ".join(text.split()), lang)
        parsed = parse_decimal(digits, lang)
        return None if parsed is None else _times(parsed, factor)
    value = parse_number_words(text, lang or "")
    return None if value is None else Decimal(value)


# ---------------------------------------------------------------------------------------------
# ordinals

_EN_ORDINAL_UNITS: Final = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
_FR_ORDINAL_BASE: Final = {
    "premier": 1, "premiere": 1, "unieme": 1, "deuxieme": 2, "second": 2, "seconde": 2,
    "troisieme": 3, "quatrieme": 4, "cinquieme": 5, "sixieme": 6, "septieme": 7, "huitieme": 8,
    "neuvieme": 9, "dixieme": 10, "onzieme": 11, "douzieme": 12, "treizieme": 13,
    "quatorzieme": 14, "quinzieme": 15, "seizieme": 16, "vingtieme": 20, "trentieme": 30,
}  # fmt: skip


def _build_ordinals() -> dict[str, dict[str, int]]:
    en = dict(_EN_ORDINAL_UNITS)
    for tens_word, tens in (("twenty", 20), ("thirty", 30)):
        for unit_word, unit in list(_EN_ORDINAL_UNITS.items())[:9]:
            en[f"{tens_word}-{unit_word}"] = tens + unit
            en[f"{tens_word} {unit_word}"] = tens + unit
    fr = dict(_FR_ORDINAL_BASE)
    for word, unit in (("unieme", 1),):
        for tens_word, tens in (("vingt", 20), ("trente", 30)):
            fr[f"{tens_word} et {word}"] = tens + unit
            fr[f"{tens_word}-et-{word}"] = tens + unit
    for tens_word, tens in (("vingt", 20), ("trente", 30)):
        for word, unit in _FR_ORDINAL_BASE.items():
            if 2 <= unit <= 9 and word not in ("second", "seconde"):
                fr[f"{tens_word}-{word}"] = tens + unit
                fr[f"{tens_word} {word}"] = tens + unit
    fr["dix-septieme"], fr["dix-huitieme"], fr["dix-neuvieme"] = 17, 18, 19
    return {"en": en, "fr": fr}


ORDINAL_WORDS: Final = _build_ordinals()
_ORDINAL_SUFFIX: Final = {"en": r"st|nd|rd|th", "fr": r"ere|er|re|eme|e|nde|nd|d"}


def _ordinal_regex(langs: Sequence[str]) -> re.Pattern[str]:
    words = trie_regex({w for code in langs for w in ORDINAL_WORDS[code]})
    suffixes = "|".join(_ORDINAL_SUFFIX[c] for c in langs)
    return re.compile(rf"(?<![\w'-])(?:(?P<digits>\d{{1,4}})(?:{suffixes})|(?P<word>{words}))(?![\w-])")


# ---------------------------------------------------------------------------------------------
# extraction


_ORDINAL_RES: Final = {key: _ordinal_regex(langs) for key, langs in GRAMMAR_LANGUAGES.items()}
_NUMBER_WORDS: Final = frozenset(w for lex in LEXICONS.values() for w in lex) - {"a", "an"}
_ORDINAL_TRIGGERS: Final = frozenset(
    w.split("-")[-1].split(" ")[-1] for lexicon in ORDINAL_WORDS.values() for w in lexicon
)
_ORDINAL_STARTERS: Final = frozenset(
    w.split("-")[0].split(" ")[0] for lexicon in ORDINAL_WORDS.values() for w in lexicon
)


def _word_number_candidates(doc: Doc, lang: str) -> list[Candidate]:
    lex = LEXICONS[lang]
    connector = _CONNECTOR[lang]
    folded, tokens = doc.folded, doc.tokens
    out: list[Candidate] = []
    run: list[tuple[int, int, str]] = []

    def flush() -> None:
        if not run:
            return
        words = [w for _, _, w in run]
        for first, end, value in parse_word_sequence(words, lang):
            if end - first == 1:
                word = words[first]
                if word in ("un", "une"):
                    continue
                if word == "one" and doc.previous_word(run[first][0]) in _DETERMINERS:
                    continue
            start_off, end_off = run[first][0], run[end - 1][1]
            entity = make_entity(doc, "number", value, start_off, end_off)
            out.append(Candidate(start_off, end_off, entity))
        run.clear()

    for start, end, word in tokens:
        if word not in lex and word != connector:
            if run and lex.get(run[-1][2], (0, ""))[1] == "scale" and folded[run[-1][1] : start] == "-":
                run.pop()  # "mille-feuilles", "deux mille-pattes": a noun, not a thousand
            flush()
            continue
        if run:
            gap = folded[run[-1][1] : start]
            if gap.strip(" ") not in ("", "-"):
                flush()
        if not run and (start > 0 and folded[start - 1] in "'-"):
            continue
        run.append((start, end, word))
    flush()
    return out


def extract_numbers(doc: Doc, language: str) -> list[Entity]:
    """`number` entities: digits and words, longest non-overlapping spans."""
    langs = GRAMMAR_LANGUAGES[grammar_key(language)]
    candidates: list[Candidate] = []
    if doc.has_digit:
        lang = language if language in LEXICONS else None
        for m in _DIGITS_RES[grammar_key(language)].finditer(doc.folded):
            parsed = parse_number(m.group(), lang)
            value = None if parsed is None else decimal_to_json(parsed)
            if value is not None:
                entity = make_entity(doc, "number", value, m.start(), m.end())
                candidates.append(Candidate(m.start(), m.end(), entity, priority=1))
    if not doc.words.isdisjoint(_NUMBER_WORDS):
        for code in langs:
            candidates.extend(_word_number_candidates(doc, code))
    return select_longest(candidates)


def extract_ordinals(doc: Doc, language: str) -> list[Entity]:
    """`ordinal` entities: "first", "2nd", "premier", "2e", "deuxième" -> int."""
    if not doc.has_digit and doc.words.isdisjoint(_ORDINAL_TRIGGERS):
        return []
    pattern = _ORDINAL_RES[grammar_key(language)]
    out: list[Candidate] = []
    tables = [ORDINAL_WORDS[c] for c in GRAMMAR_LANGUAGES[grammar_key(language)]]
    for m in doc.scan(pattern, _ORDINAL_STARTERS):
        digits, word = m.group("digits"), m.group("word")
        if digits is not None:
            value = int(digits)
        else:
            value = next(t[word] for t in tables if word in t)
            if word == "second" and doc.previous_word(m.start()) in ("a", "one", "per", "une", "la"):
                continue  # "a second" is a duration, "la seconde" a unit
        if value == 0:
            continue
        entity = make_entity(doc, "ordinal", value, m.start(), m.end())
        out.append(Candidate(m.start(), m.end(), entity))
    return select_longest(out)
