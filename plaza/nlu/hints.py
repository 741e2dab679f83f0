"""Hints for both trained components: where regexes, lookup tables and known entity values match.

One pass over a message gives per-token attributes for the CRF (`gB:city` = "a known city
starts here", `rx:zip` = "inside a zip-code match") and sentence-level indicator names for
the intent classifier (`rx:zip`, `lk:cities`), so the two components see the same evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from plaza.nlu.gazetteer import Gazetteer
from plaza.nlu.patterns import PatternSet
from plaza.nlu.tokenizer import Token

__all__ = ["Hints", "MessageHints"]

LOOKUP_PREFIX = "lookup:"
"""Gazetteer list names of lookup tables; entity-value lists are named by the entity type."""


@dataclass(frozen=True, slots=True)
class MessageHints:
    token_marks: list[list[str]]
    extras: list[str]
    regex_spans: list[tuple[int, int, str]]
    """Character spans of regex matches, for the regex entity extractor."""


class Hints:
    def __init__(
        self, patterns: PatternSet, gazetteer: Gazetteer | None, *, value_extras: bool = True
    ) -> None:
        self.patterns = patterns
        self.gazetteer = gazetteer
        self.value_extras = value_extras

    def compute(
        self,
        tokens: Sequence[Token],
        text: str,
        *,
        discount: Mapping[tuple[int, int, str], int] | None = None,
    ) -> MessageHints:
        marks: list[list[str]] = [[] for _ in tokens]
        extras: list[str] = []
        regex_spans: list[tuple[int, int, str]] = []
        if self.patterns:
            regex_spans = self.patterns.matches(text)
            for start, end, name in regex_spans:
                extras.append("rx:" + name)
                for i, tok in enumerate(tokens):
                    if tok.start < end and tok.end > start:
                        marks[i].append("rx:" + name)
        if self.gazetteer is not None and len(self.gazetteer):
            for first, end, name in self.gazetteer.matches([t.norm for t in tokens], discount):
                if name.startswith(LOOKUP_PREFIX):
                    extras.append("lk:" + name[len(LOOKUP_PREFIX) :])
                elif self.value_extras:
                    extras.append("gz:" + name)
                marks[first].append("gB:" + name)
                for i in range(first + 1, end):
                    marks[i].append("gI:" + name)
        return MessageHints(marks, extras, regex_spans)
