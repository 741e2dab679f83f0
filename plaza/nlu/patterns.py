"""Regex features (Rasa `regex:`): compiled once, matched per message.

A matched pattern is a feature for both the intent classifier (its name) and the tagger (the
tokens it covers).  When its name is also an entity type of the training data, the match is
an entity as well (Rasa's RegexEntityExtractor behaviour).  Patterns are matched
case-insensitively.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from plaza.nlu.types import RegexFeature

__all__ = ["PatternSet"]


class PatternSet:
    def __init__(self, features: Sequence[RegexFeature]) -> None:
        self.features = tuple(features)
        self._compiled = [(f.name, re.compile(p, re.IGNORECASE)) for f in self.features for p in f.patterns]

    def __bool__(self) -> bool:
        return bool(self._compiled)

    def matches(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, name) character spans of every non-empty match."""
        out: list[tuple[int, int, str]] = []
        for name, rx in self._compiled:
            out.extend((m.start(), m.end(), name) for m in rx.finditer(text) if m.end() > m.start())
        return out
