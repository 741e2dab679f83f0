"""BERT's uncased WordPiece tokenizer, for the optional sentence encoder (`sentence_encoder.py`).

Written out rather than taken from the `tokenizers` or `transformers` packages: it is forty
lines, it must match the encoder's `vocab.txt` exactly (BERT's basic tokenizer: lower case,
accents stripped, every punctuation character a word of its own; then greedy longest-match
word pieces), and a per-chunk cache makes a parse's tokenisation a few microseconds.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

__all__ = ["WordPiece"]

CLS, SEP, UNK = "[CLS]", "[SEP]", "[UNK]"
MAX_WORD_CHARS = 100  # BERT's max_input_chars_per_word: a longer word is [UNK]


def _is_punctuation(char: str) -> bool:
    """BERT's rule: every non-alphanumeric printable ASCII character, and Unicode's P* classes."""
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


class WordPiece:
    """Text -> vocabulary ids, `[CLS] … [SEP]`, truncated to `max_length` ids."""

    def __init__(self, vocab_file: Path, *, max_length: int = 128, cache_size: int = 50_000) -> None:
        words = vocab_file.read_text(encoding="utf-8").split("\n")
        self.vocab = {w: i for i, w in enumerate(words) if w}
        for special in (CLS, SEP, UNK):
            if special not in self.vocab:
                raise ValueError(f"{vocab_file}: no {special} in the vocabulary")
        self.cls, self.sep, self.unk = self.vocab[CLS], self.vocab[SEP], self.vocab[UNK]
        self.max_length = max_length
        self._cache: dict[str, list[int]] = {}
        self._cache_size = cache_size

    def __call__(self, text: str) -> list[int]:
        ids = [self.cls]
        for chunk in text.split():
            pieces = self._cache.get(chunk)
            if pieces is None:
                pieces = self._chunk(chunk)
                if len(self._cache) < self._cache_size:
                    self._cache[chunk] = pieces
            ids.extend(pieces)
        del ids[self.max_length - 1 :]
        ids.append(self.sep)
        return ids

    def _chunk(self, chunk: str) -> list[int]:
        """One whitespace-separated chunk: basic tokenisation, then word pieces of each word."""
        folded = unicodedata.normalize("NFD", chunk.lower())
        words: list[str] = []
        current: list[str] = []
        for char in folded:
            code = ord(char)
            if code in {0, 0xFFFD} or unicodedata.category(char) in ("Mn", "Cc", "Cf"):
                continue
            if _is_punctuation(char) or _is_cjk(code):
                if current:
                    words.append("".join(current))
                    current = []
                words.append(char)
            else:
                current.append(char)
        if current:
            words.append("".join(current))
        ids: list[int] = []
        for word in words:
            ids.extend(self._pieces(word))
        return ids

    def _pieces(self, word: str) -> list[int]:
        if len(word) > MAX_WORD_CHARS:
            return [self.unk]
        ids: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = self.vocab.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return [self.unk]
            ids.append(found)
            start = end
        return ids
