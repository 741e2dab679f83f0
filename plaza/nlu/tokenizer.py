"""Tokenisation with character offsets, shared by the intent features and the entity tagger.

Tokens are runs of letters, runs of digits, or single other non-space characters, so that
"5pm", "l'heure" and "9/10" split where an entity boundary may fall ("5" | "pm",
"l" | "'" | "heure").  Every token carries its offsets into the original text (entities are
reported as offsets) and a normalised form (lower-cased, accents removed, curly apostrophes
straightened) used by all features: French users often type without accents, and the same
word must hit the same feature either way.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

__all__ = ["Token", "normalize", "tokenize"]

_TOKEN = re.compile(r"[^\W\d_]+|\d+|[^\w\s]|_")


class Token(NamedTuple):
    """A token and its offsets; a NamedTuple because messages are tokenised on every parse."""

    text: str
    start: int
    end: int
    norm: str


@lru_cache(maxsize=65536)
def normalize(word: str) -> str:
    """Lower-case, strip accents, map typographic apostrophes/quotes to ASCII."""
    low = word.lower()
    if low.isascii():
        return low
    low = low.replace("\u2019", "'").replace("\u2018", "'").replace("\u02bc", "'")
    decomposed = unicodedata.normalize("NFKD", low)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", folded) or low


def tokenize(text: str) -> list[Token]:
    return [Token(m.group(), m.start(), m.end(), normalize(m.group())) for m in _TOKEN.finditer(text)]
