"""Text preparation and span bookkeeping shared by every built-in extractor.

The extractors match against a *folded* copy of the message: lower-cased, accents stripped,
typographic apostrophes/dashes/spaces replaced by their ASCII forms. Folding is strictly
length-preserving (one character in, one character out), so a match offset in the folded
text is the same offset in the original message and entities can point into the user's own
text without any offset mapping. Keeping patterns accent-free also halves their size
("apres-midi" covers "après-midi", "apres midi", "APRÈS-MIDI").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parser  # type: ignore[attr-defined]
from typing import Any, Final, Protocol, TypeVar

from plaza.nlu.types import Entity, JSONValue

GRAMMAR_LANGUAGES: Final = {"en": ("en",), "fr": ("fr",), "*": ("en", "fr")}
"""The languages a grammar reads for each key: English, French, or both ("*") when unknown."""


def grammar_key(language: str) -> str:
    """The grammar key for a message language: "en", "fr", or "*" (both) for any other."""
    return language if language in ("en", "fr") else "*"

EXTRACTOR: Final = "builtin"
"""The `extractor` name every built-in entity carries."""


def _build_fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0xC0, 0x250):
        char = chr(code)
        base = unicodedata.normalize("NFD", char)[0]
        if base != char and base.isascii():
            table[code] = base.lower()
    for char in "\u2019\u2018\u02bc\u00b4`\u2032":
        table[ord(char)] = "'"
    for char in "\u2010\u2011\u2012\u2013\u2014\u2212":
        table[ord(char)] = "-"
    for char in "\u00a0\u202f\u2009\u2007\u200a\t\n\r":
        table[ord(char)] = " "
    return table


_FOLD_TABLE: Final = _build_fold_table()


def fold(text: str) -> str:
    """Lower-case, strip diacritics and normalise punctuation without changing the length.

    `str.lower` is length-preserving except for a handful of characters (Turkish dotted I...),
    which are then kept as they are.
    """
    low = text.lower()
    if len(low) != len(text):
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return low.translate(_FOLD_TABLE)


_TOKEN_RE: Final = re.compile(r"[a-z]+|\d+")
_WORD_RE: Final = re.compile(r"[a-z]+")
_DIGIT_RE: Final = re.compile(r"\d")


class Matcher(Protocol):
    def match(self, string: str, pos: int = ..., /) -> re.Match[str] | None: ...


class Doc:
    """One message prepared once and shared by all dimensions.

    `words` (the set of alphabetic tokens) and `has_digit` let each dimension skip a message
    with one set test before running any regex: most messages skip most dimensions.
    `tokens` (alphabetic and digit runs with their offsets) is computed on first use.
    """

    __slots__ = ("_tokens", "folded", "has_digit", "text", "words")

    def __init__(self, text: str) -> None:
        self.text = text
        self.folded = fold(text)
        self.words = frozenset(_WORD_RE.findall(self.folded))
        self.has_digit = _DIGIT_RE.search(self.folded) is not None
        self._tokens: list[tuple[int, int, str]] | None = None

    @property
    def tokens(self) -> list[tuple[int, int, str]]:
        if self._tokens is None:
            self._tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN_RE.finditer(self.folded)]
        return self._tokens

    def scan(self, pattern: Matcher, starters: frozenset[str], *, chars: str = "") -> Iterator[re.Match[str]]:
        """Non-overlapping matches of `pattern` anchored at token starts, left to right.

        Like `pattern.finditer`, but only tries the positions where a token from `starters`
        (or a digit run, or one of `chars`) begins. Python's `re` tries every alternative of
        a large alternation at every character; patterns here can only start at such
        tokens, so this is the same result for a fraction of the work.
        """
        folded = self.folded
        positions = [s for s, _, w in self.tokens if w in starters or w[0].isdigit()]
        if chars and any(c in folded for c in chars):
            positions = sorted(positions + [i for i, c in enumerate(folded) if c in chars])
        end = -1
        for pos in positions:
            if pos < end:
                continue
            m = pattern.match(folded, pos)
            if m is not None:
                end = m.end()
                yield m

    def previous_word(self, offset: int) -> str:
        """The alphabetic token just before `offset` ("" if none)."""
        previous = ""
        for start, _, word in self.tokens:
            if start >= offset:
                break
            if not word[0].isdigit():
                previous = word
        return previous


def make_entity(
    doc: Doc,
    name: str,
    value: JSONValue,
    start: int,
    end: int,
    info: Mapping[str, JSONValue] | None = None,
    confidence: float = 1.0,
) -> Entity:
    return Entity(
        entity=name,
        value=value,
        start=start,
        end=end,
        text=doc.text[start:end],
        extractor=EXTRACTOR,
        confidence=confidence,
        additional_info=info,
    )


@dataclass(frozen=True, slots=True)
class Candidate:
    """A span proposed by a pattern, before overlap resolution.

    `priority` breaks ties between equally long spans (higher wins): a more specific
    reading of the same characters.
    """

    start: int
    end: int
    entity: Entity
    priority: int = 0


class Spanned(Protocol):
    """Anything with a [start, end) span in the message: a candidate entity, a time atom."""

    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


S = TypeVar("S", bound=Spanned)


def longest_first(items: Iterable[S], tiebreak: Callable[[S], Any]) -> list[S]:
    """The longest non-overlapping items, in text order.

    Among equally long items the lowest `tiebreak` wins, then the leftmost.
    """
    ordered = sorted(items, key=lambda x: (x.start - x.end, tiebreak(x), x.start))
    chosen: list[S] = []
    for item in ordered:
        if all(item.end <= kept.start or item.start >= kept.end for kept in chosen):
            chosen.append(item)
    chosen.sort(key=lambda x: x.start)
    return chosen


def select_longest(candidates: Iterable[Candidate]) -> list[Entity]:
    """Keep the longest non-overlapping candidates (then the highest priority, then leftmost)."""
    return [c.entity for c in longest_first(candidates, lambda c: -c.priority)]


_Trie = dict[str, "_Trie"]


def trie_regex(words: Iterable[str]) -> str:
    """A regex alternation of `words` factored as a prefix trie.

    Python's `re` tries alternatives one by one; a factored alternation fails on the first
    character instead of after trying every word, which matters when patterns are scanned
    over every position of a message. Longer words are preferred over their prefixes.
    """
    trie: _Trie = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def render(node: _Trie) -> str:
        branches: list[str] = []
        optional = False
        for char in sorted(node, key=lambda c: (c == "", c)):
            if char == "":
                optional = True
                continue
            branches.append(re.escape(char) + render(node[char]))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if optional:
            if len(branches) == 1 and len(body) > 1:
                body = "(?:" + body + ")"
            return body + "?"
        return body

    return "(?:" + render(trie) + ")"


_WHITESPACE: Final = frozenset(" \t\n\r\f\v")
_DIGITS: Final = frozenset("0123456789")


def _first_of_items(items: Sequence[tuple[Any, Any]]) -> tuple[set[str] | None, bool]:
    """(possible first characters or None for "any", whether the sequence can be empty)."""
    out: set[str] = set()
    for op, av in items:
        chars, nullable = _first_of_item(op, av)
        if chars is None:
            return None, False
        out |= chars
        if not nullable:
            return out, False
    return out, True


def _first_of_item(op: Any, av: Any) -> tuple[set[str] | None, bool]:  # noqa: PLR0911
    c = sre_constants
    if op is c.LITERAL:
        return {chr(av)}, False
    if op is c.IN:
        chars: set[str] = set()
        for inner_op, inner_av in av:
            if inner_op is c.LITERAL:
                chars.add(chr(inner_av))
            elif inner_op is c.RANGE and inner_av[1] - inner_av[0] < 128:
                chars.update(chr(x) for x in range(inner_av[0], inner_av[1] + 1))
            elif inner_op is c.CATEGORY and inner_av is c.CATEGORY_DIGIT:
                chars |= _DIGITS
            elif inner_op is c.CATEGORY and inner_av is c.CATEGORY_SPACE:
                chars |= _WHITESPACE
            else:
                return None, False
        return chars, False
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", c.MAX_REPEAT)):
        low, _, sub = av
        chars_, nullable = _first_of_items(list(sub))
        return chars_, nullable or low == 0
    if op is c.SUBPATTERN:
        return _first_of_items(list(av[-1]))
    if op is c.BRANCH:
        union: set[str] = set()
        any_nullable = False
        for branch in av[1]:
            chars_, nullable = _first_of_items(list(branch))
            if chars_ is None:
                return None, False
            union |= chars_
            any_nullable = any_nullable or nullable
        return union, any_nullable
    if op in (c.ASSERT, c.ASSERT_NOT, c.AT):
        return set(), True
    return None, False


def first_chars(pattern: str) -> frozenset[str] | None:
    """The characters a match of `pattern` can start with; None if any (or unknown).

    Uses the `re` module's own parser (private, but stable across 3.11-3.13); any construct
    it does not understand makes the answer "any character", which is always safe.
    """
    try:
        chars, nullable = _first_of_items(list(sre_parser.parse(pattern)))
    except Exception:  # noqa: BLE001 - a parser change must only cost speed, never correctness
        return None
    return None if chars is None or nullable else frozenset(chars)


class FirstCharDispatch:
    """An alternation split by first character.

    `match` only tries the alternatives that can start with the character at `pos`.
    Python's `re` tries every branch of an alternation in turn; with fifty branches that is
    most of the cost of matching at a position where almost none can apply. The relative
    order of the alternatives (their priority) is kept in each sub-pattern.
    """

    def __init__(self, alternatives: Sequence[str]) -> None:
        self._alternatives = list(alternatives)
        self._firsts = [first_chars(alt) for alt in alternatives]
        self._by_char: dict[str, re.Pattern[str] | None] = {}

    def _pattern_for(self, char: str) -> re.Pattern[str] | None:
        """The sub-alternation for `char`, compiled on first use (keeps imports fast)."""
        if char not in self._by_char:
            chosen = [
                alt
                for alt, first in zip(self._alternatives, self._firsts, strict=True)
                if first is None or char in first
            ]
            self._by_char[char] = re.compile("|".join(chosen)) if chosen else None
        return self._by_char[char]

    def compile_all(self) -> None:
        """Compile every sub-alternation now (see `warm_up`)."""
        for first in self._firsts:
            for char in first or ():
                self._pattern_for(char)

    def match(self, string: str, pos: int = 0, /) -> re.Match[str] | None:
        if pos >= len(string):
            return None
        pattern = self._pattern_for(string[pos])
        return pattern.match(string, pos) if pattern is not None else None
