"""`phone` and `email`.

Phone numbers are normalised to E.164. Conventions:
- a French national number ("06 12 34 56 78", "01.23.45.67.89") is assumed to be French
  (+33, trunk 0 dropped): Plaza's home market;
- an international number starts with "+" or "00"; a "(0)" trunk marker is dropped
  ("+33 (0)6 ..."), as is a national trunk 0 written after a country code that uses one
  ("+33 06 ...");
- a North American "(415) 555-0100" / "415-555-0100" is +1, in English (or unknown) only.
"""

from __future__ import annotations

import re
from typing import Final

from plaza.nlu.builtin._text import Candidate, Doc, make_entity, select_longest
from plaza.nlu.types import Entity

_SEP: Final = r"[\s.\-]?"
_FR_NATIONAL_RE: Final = re.compile(rf"(?<![\w+])0[1-9](?:{_SEP}\d\d){{4}}(?![\w])")
_INTERNATIONAL_RE: Final = re.compile(
    r"(?<![\w+])(?:\+|00)[1-9](?:[\s.\-]?(?:\(0\)|\(\d{1,4}\)|\d)){6,17}(?![\w])"
)
_NANP_RE: Final = re.compile(r"(?<![\w+])(?:\(\d{3}\)\s?|\d{3}[\s.\-])\d{3}[\s.\-]\d{4}(?![\w])")
_EMAIL_RE: Final = re.compile(
    r"(?<![\w.+%-])[^\W_](?:[\w.+%-]*[^\W_.])?@[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)*\.[^\W\d_]{2,}"
    r"(?![\w-]|\.[^\W_])"
)

_ONE_DIGIT_CODES: Final = frozenset({"1", "7"})
_TWO_DIGIT_CODES: Final = frozenset(
    [
        "20",
        "27",
        "30",
        "31",
        "32",
        "33",
        "34",
        "36",
        "39",
        "40",
        "41",
        "43",
        "44",
        "45",
        "46",
        "47",
        "48",
        "49",
        "51",
        "52",
        "53",
        "54",
        "55",
        "56",
        "57",
        "58",
        "60",
        "61",
        "62",
        "63",
        "64",
        "65",
        "66",
        "81",
        "82",
        "84",
        "86",
        "90",
        "91",
        "92",
        "93",
        "94",
        "95",
        "98",
    ]
)
_TRUNK_ZERO: Final = frozenset({"33", "44", "49", "32", "41", "31", "43", "46", "353", "90", "7"})


def _country_code(digits: str) -> str:
    if digits[:1] in _ONE_DIGIT_CODES:
        return digits[:1]
    if digits[:2] in _TWO_DIGIT_CODES:
        return digits[:2]
    return digits[:3]


def _international(text: str) -> tuple[str, str] | None:
    body = text[1:] if text.startswith("+") else text[2:]
    body = body.replace("(0)", "", 1)
    digits = "".join(c for c in body if c.isdigit())
    code = _country_code(digits)
    national = digits[len(code) :]
    if national.startswith("0") and code in _TRUNK_ZERO:
        national = national[1:]
    if not 7 <= len(code) + len(national) <= 15 or len(national) < 6:
        return None
    return "+" + code + national, code


def extract_phones(doc: Doc, language: str) -> list[Entity]:
    """`phone` entities, value in E.164 ("+33612345678"), additional_info {"country_code"}."""
    if not doc.has_digit:
        return []
    text = doc.text
    candidates: list[Candidate] = []
    for m in _INTERNATIONAL_RE.finditer(text):
        parsed = _international(m.group())
        if parsed is not None:
            entity = make_entity(doc, "phone", parsed[0], m.start(), m.end(), {"country_code": parsed[1]})
            candidates.append(Candidate(m.start(), m.end(), entity))
    for m in _FR_NATIONAL_RE.finditer(text):
        digits = "".join(c for c in m.group() if c.isdigit())
        entity = make_entity(doc, "phone", "+33" + digits[1:], m.start(), m.end(), {"country_code": "33"})
        candidates.append(Candidate(m.start(), m.end(), entity))
    if language != "fr":
        for m in _NANP_RE.finditer(text):
            digits = "".join(c for c in m.group() if c.isdigit())
            if digits[0] in "01":
                continue
            entity = make_entity(doc, "phone", "+1" + digits, m.start(), m.end(), {"country_code": "1"})
            candidates.append(Candidate(m.start(), m.end(), entity))
    return select_longest(candidates)


def extract_emails(doc: Doc, language: str) -> list[Entity]:
    """`email` entities, value lower-cased."""
    del language
    if "@" not in doc.text:
        return []
    return [
        make_entity(doc, "email", m.group().lower(), m.start(), m.end()) for m in _EMAIL_RE.finditer(doc.text)
    ]
