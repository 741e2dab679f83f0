"""Phrase lists matched on normalised tokens: lookup tables and the entity values seen in training.

A `Gazetteer` maps a phrase (a tuple of normalised tokens) to the names of the lists that
contain it and reports, for a token sequence, every phrase occurrence.  The tagger turns the
matches into features ("this token starts a known `city`").

Training-value lists are built *leave-one-out*: while the tagger is trained, an example's
own annotation must not make its span look known (the feature would then be perfect on
training data and the CRF would trust it blindly); `occurrences` lets the caller discount it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from plaza.nlu.tokenizer import tokenize

__all__ = ["Gazetteer", "phrase_key"]

Phrase = tuple[str, ...]


def phrase_key(text: str) -> Phrase:
    return tuple(t.norm for t in tokenize(text))


class _Node:
    __slots__ = ("children", "names")

    def __init__(self) -> None:
        self.names: dict[str, int] | None = None
        self.children: dict[str, _Node] = {}


class Gazetteer:
    def __init__(self, counts: Mapping[Phrase, Mapping[str, int]], *, max_len: int = 8) -> None:
        self.counts: dict[Phrase, dict[str, int]] = {
            k: v if isinstance(v, dict) else dict(v) for k, v in counts.items() if k and len(k) <= max_len
        }
        self._trie_root: dict[str, _Node] | None = None

    @property
    def _trie(self) -> dict[str, _Node]:
        """A trie of the phrases, built on first use (keeps model loading fast).

        Walking it from a token stops as soon as no listed phrase continues, instead of
        trying every (start, end) slice of the message.
        """
        if self._trie_root is None:
            root: dict[str, _Node] = {}
            for phrase, names in self.counts.items():
                level = root
                node: _Node | None = None
                for token in phrase:
                    node = level.get(token)
                    if node is None:
                        node = level[token] = _Node()
                    level = node.children
                assert node is not None
                node.names = names
            self._trie_root = root
        return self._trie_root

    @classmethod
    def build(cls, entries: Iterable[tuple[str, str]], *, max_len: int = 8) -> Gazetteer:
        """From (list name, phrase text) pairs; a repeated pair counts again."""
        counts: dict[Phrase, dict[str, int]] = {}
        for name, text in entries:
            key = phrase_key(text)
            if key:
                slot = counts.setdefault(key, {})
                slot[name] = slot.get(name, 0) + 1
        return cls(counts, max_len=max_len)

    def __len__(self) -> int:
        return len(self.counts)

    def matches(
        self, norms: Sequence[str], discount: Mapping[tuple[int, int, str], int] | None = None
    ) -> list[tuple[int, int, str]]:
        """(first token, end token exclusive, list name) for every occurrence of a listed phrase.

        `discount` subtracts counts for given (start, end, name) spans — the example's own
        annotations during leave-one-out training; a phrase whose count drops to 0 is skipped.
        """
        out: list[tuple[int, int, str]] = []
        n = len(norms)
        trie = self._trie
        for i in range(n):
            node = trie.get(norms[i])
            j = i + 1
            while node is not None:
                if node.names is not None:
                    for name, count in node.names.items():
                        if discount is None or count - discount.get((i, j, name), 0) > 0:
                            out.append((i, j, name))
                if j >= n:
                    break
                node = node.children.get(norms[j])
                j += 1
        return out

    def to_json(self) -> list[list[object]]:
        return [[list(k), v] for k, v in self.counts.items()]

    @classmethod
    def from_json(cls, raw: Sequence[Sequence[object]], *, max_len: int = 8) -> Gazetteer:
        counts: dict[Phrase, dict[str, int]] = {}
        for phrase, names in raw:
            if not isinstance(phrase, list) or not isinstance(names, dict):
                raise ValueError("malformed gazetteer entry")
            counts[tuple(phrase)] = names
        return cls(counts, max_len=max_len)
