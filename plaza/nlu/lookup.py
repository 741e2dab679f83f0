"""Catalog lookup: find known names (restaurants, districts, cuisines...) in a message.

Matching is on normalised tokens (lower case, accents and ligatures removed, apostrophes and
hyphens as separators), so "Saint-Germain" = "saint germain" and "l'Ambroisie" =
"L’AMBROISIE". A leading article of a catalog entry ("Le Marais", "L'Ambroisie", "The
Ritz") is optional in the message ("Marais"); when the message has it, it is part of the span.

Typos are tolerated per token with the Damerau-Levenshtein (optimal string alignment)
distance: 1 edit for tokens of 5-8 characters, 2 for 9 or more, none below 5 (the shorter of
the two tokens decides). Candidates come from a symmetric-delete index (every catalog token's
deletions up to its budget), so a lookup costs a few dict probes per message token whatever
the catalog size, instead of a scan. Common English/French words ("table", "voudrais")
never match fuzzily, so a restaurant called "Tables" does not fire on "une table"; they still
match exactly. Fuzzy matches get a lower confidence.

The longest match wins (in tokens, then characters, then fewer edits) and matches do not
overlap, across entity types too; the same span may carry several entity types when it is
the same text in both ("Italien" a cuisine and a restaurant).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

from plaza.nlu.language import common_words
from plaza.nlu.types import Entity, JSONValue, LookupTable

EXTRACTOR: Final = "lookup"
ARTICLES: Final = frozenset({"le", "la", "les", "l", "the", "un", "une", "des", "du", "a", "an"})
"""Leading tokens an entry can omit ("Le Marais" matches "Marais")."""

_TOKEN_RE: Final = re.compile(r"[^\W_]+")
_LIGATURES: Final = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "ø": "o", "Ø": "o"})
_CACHE_LIMIT: Final = 50_000


def normalise(token: str) -> str:
    """Lower-case, strip accents, expand ligatures."""
    if token.isascii():
        return token.lower()
    decomposed = unicodedata.normalize("NFKD", token.translate(_LIGATURES))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def max_edits(length: int) -> int:
    """The typo budget of a token of `length` characters."""
    if length >= 9:
        return 2
    if length >= 5:
        return 1
    return 0


def osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment (restricted Damerau-Levenshtein) distance, or limit + 1 if larger."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        best = i
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
            best = min(best, value)
        if best > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


_MASK64: Final = (1 << 64) - 1
_BASE: Final = 1_099_511_628_211
_LENGTH_SALT: Final = 0x9E3779B97F4A7C15
_MAX_LENGTH: Final = 64
_POWER_LIST: Final = [pow(_BASE, k, 1 << 64) for k in range(_MAX_LENGTH + 1)]
_POWERS: Final = np.array(_POWER_LIST, dtype=np.uint64)


def _codes(words: Sequence[str], length: int) -> npt.NDArray[np.uint64]:
    """Code points of same-length words as an (m, length) matrix."""
    raw = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32)
    return raw.reshape(len(words), length).astype(np.uint64)


def query_hashes(word: str, depth: int) -> list[int]:
    """`deletion_hashes([word], depth)[0]` in plain Python: cheaper than numpy for one word."""
    n = len(word)
    powers = _POWER_LIST
    codes = [ord(c) for c in word]
    mask = _MASK64

    def prefix(shift: int) -> list[int]:
        out, acc = [0], 0
        for t, code in enumerate(codes):
            exp = n - 1 - shift - t
            acc = (acc + code * powers[exp]) & mask if exp >= 0 else acc
            out.append(acc)
        return out

    suffix = [0] * (n + 1)
    acc = 0
    for t in range(n - 1, -1, -1):
        acc = (acc + codes[t] * powers[n - 1 - t]) & mask
        suffix[t] = acc
    hashes = [(suffix[0] + n * _LENGTH_SALT) & mask]
    if depth >= 1:
        before = prefix(1)
        salt = (n - 1) * _LENGTH_SALT
        hashes += [(before[i] + suffix[i + 1] + salt) & mask for i in range(n)]
        if depth >= 2:
            first = prefix(2)
            salt = (n - 2) * _LENGTH_SALT
            hashes += [
                (first[i] + before[j] - before[i + 1] + suffix[j + 1] + salt) & mask
                for i in range(n)
                for j in range(i + 1, n)
            ]
    return hashes


def deletion_hashes(words: Sequence[str], depth: int) -> npt.NDArray[np.uint64]:
    """Hashes of each word and of its deletions of up to `depth` (<= 2) characters.

    Returns an (m, k) matrix for m words of one common length. The hash is polynomial (sum
    of code point x BASE^position modulo 2^64, salted with the length), which lets numpy
    compute all deletions at once from prefix/suffix sums instead of building millions of
    Python strings: the symmetric-delete index of a 100k-entry catalog then builds in about
    a second instead of tens.
    """
    n = len(words[0])
    codes = _codes(words, n)
    exponents = np.arange(n)

    def weighted(shift: int) -> npt.NDArray[np.uint64]:
        """codes[t] * BASE^(n - 1 - shift - t), zero where the exponent would be negative."""
        exp = n - 1 - shift - exponents
        weights = np.where(exp >= 0, _POWERS[np.clip(exp, 0, None)], np.uint64(0)).astype(np.uint64)
        return codes * weights

    zero = np.zeros((len(words), 1), dtype=np.uint64)
    full = weighted(0)
    suffix = np.concatenate([np.cumsum(full[:, ::-1], axis=1, dtype=np.uint64)[:, ::-1], zero], axis=1)
    columns = [suffix[:, :1] + np.uint64((n * _LENGTH_SALT) & _MASK64)]
    if depth >= 1 and n >= 1:
        before = np.concatenate([zero, np.cumsum(weighted(1), axis=1, dtype=np.uint64)], axis=1)
        positions = np.arange(n)
        columns.append(
            before[:, positions] + suffix[:, positions + 1] + np.uint64(((n - 1) * _LENGTH_SALT) & _MASK64)
        )
        if depth >= 2 and n >= 2:
            first = np.concatenate([zero, np.cumsum(weighted(2), axis=1, dtype=np.uint64)], axis=1)
            i, j = np.triu_indices(n, k=1)
            middle = before[:, j] - before[:, i + 1]
            columns.append(
                first[:, i] + middle + suffix[:, j + 1] + np.uint64(((n - 2) * _LENGTH_SALT) & _MASK64)
            )
    return np.concatenate(columns, axis=1)


_Key = tuple[tuple[int, ...], str]


class _Entry(NamedTuple):
    tokens: tuple[int, ...]
    entity: str
    value: str
    surface: str
    article: bool
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Match:
    start_token: int
    end_token: int
    start: int
    end: int
    edits: int
    entry: _Entry

    def rank(self) -> tuple[int, int, int]:
        return (self.end_token - self.start_token, self.end - self.start, -self.edits)


class LookupExtractor:
    """Finds catalog entries in messages; see the module docstring for the matching rules."""

    def __init__(
        self,
        entries: Mapping[str, Iterable[tuple[str, Iterable[str]]]],
        *,
        fuzzy: bool = True,
    ) -> None:
        """`entries`: {entity type: [(canonical value, [surface forms...]), ...]}.

        The canonical value is itself a surface form. Common English and French words never
        match with typos.
        """
        self.fuzzy = fuzzy
        self._vocab: dict[str, int] = {}
        self._words: list[str] = []
        self._by_first: dict[int, list[_Entry]] = {}
        self._delete_keys: npt.NDArray[np.uint64] = np.empty(0, dtype=np.uint64)
        self._delete_ids: npt.NDArray[np.int32] = np.empty(0, dtype=np.int32)
        self._exact_only = common_words()
        self._cache: dict[str, tuple[tuple[int, int], ...]] = {}
        seen: dict[_Key, _Entry] = {}
        self._entity_types = frozenset(entries)
        for entity, items in entries.items():
            for canonical, surfaces in items:
                for surface in dict.fromkeys((canonical, *surfaces)):
                    self._add(entity, canonical, surface, seen)
        self._words = list(self._vocab)
        for entry in seen.values():
            self._by_first.setdefault(entry.tokens[0], []).append(entry)
        for bucket in self._by_first.values():
            bucket.sort(key=lambda e: -len(e.tokens))
        if fuzzy:
            self._build_deletes()

    @classmethod
    def from_lookup_tables(
        cls, tables: Iterable[LookupTable], synonyms: Mapping[str, str] | None = None, *, fuzzy: bool = True
    ) -> LookupExtractor:
        """From Rasa `lookup:` tables; `synonyms` (surface -> canonical) picks the values."""
        synonyms = {normalise(k): v for k, v in (synonyms or {}).items()}
        entries: dict[str, list[tuple[str, list[str]]]] = {}
        for table in tables:
            rows = entries.setdefault(table.name, [])
            rows.extend((synonyms.get(normalise(e), e), [e]) for e in table.elements)
        return cls(entries, fuzzy=fuzzy)

    # ---- building ----------------------------------------------------------------------------
    def _add(
        self, entity: str, canonical: str, surface: str, seen: dict[tuple[tuple[int, ...], str], _Entry]
    ) -> None:
        tokens = _TOKEN_RE.findall(normalise(surface))
        article = len(tokens) > 1 and tokens[0] in ARTICLES
        if article:
            tokens = tokens[1:]
        if not tokens:
            return
        vocab = self._vocab
        ids = tuple([vocab.setdefault(t, len(vocab)) for t in tokens])
        key = (ids, entity)
        previous = seen.get(key)
        if previous is None:
            seen[key] = _Entry(ids, entity, canonical, surface, article)
        elif previous.value != canonical and canonical not in previous.alternatives:
            seen[key] = _Entry(
                ids, entity, previous.value, previous.surface, previous.article or article,
                (*previous.alternatives, canonical),
            )  # fmt: skip
        elif article and not previous.article:
            seen[key] = _Entry(ids, entity, previous.value, surface, True, previous.alternatives)

    def _build_deletes(self) -> None:
        """The symmetric-delete index as two sorted arrays: hash(deletion) -> token id.

        Hashes instead of strings keep 100k-entry catalogs at tens of MB (a dict of millions
        of short strings costs ten times more); a hash collision only adds a candidate that
        the distance check then rejects.
        """
        words = self._words
        lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        key_parts: list[npt.NDArray[np.uint64]] = [np.empty(0, dtype=np.uint64)]
        id_parts: list[npt.NDArray[np.int32]] = [np.empty(0, dtype=np.int32)]
        for length in np.unique(lengths).tolist():
            budget = max_edits(length)
            if budget == 0 or length > _MAX_LENGTH:
                continue
            token_ids = np.flatnonzero(lengths == length).astype(np.int32)
            hashes = deletion_hashes([words[t] for t in token_ids.tolist()], budget)
            key_parts.append(hashes.ravel())
            id_parts.append(np.repeat(token_ids, hashes.shape[1]))
        key_array = np.concatenate(key_parts)
        id_array = np.concatenate(id_parts)
        order = np.argsort(key_array)
        self._delete_keys = key_array[order]
        self._delete_ids = id_array[order]

    # ---- matching ----------------------------------------------------------------------------
    def _candidates(self, token: str) -> tuple[tuple[int, int], ...]:
        """(token id, edits) of catalog tokens matching a message token."""
        cached = self._cache.get(token)
        if cached is not None:
            return cached
        exact = self._vocab.get(token)
        found: tuple[tuple[int, int], ...]
        if exact is not None:
            found = ((exact, 0),)
        elif not self.fuzzy or token in self._exact_only or max_edits(len(token)) == 0:
            found = ()
        else:
            budget = max_edits(len(token))
            if len(token) > _MAX_LENGTH:
                return ()
            probes = np.array(query_hashes(token, budget), dtype=np.uint64)
            lows = np.searchsorted(self._delete_keys, probes, side="left")
            highs = np.searchsorted(self._delete_keys, probes, side="right")
            ids: set[int] = set()
            for low, high in zip(lows.tolist(), highs.tolist(), strict=True):
                if high > low:
                    ids.update(self._delete_ids[low:high].tolist())
            results = []
            for token_id in ids:
                word = self._words[token_id]
                limit = max_edits(min(len(word), len(token)))
                if limit == 0:
                    continue
                distance = osa_distance(token, word, limit)
                if distance <= limit:
                    results.append((token_id, distance))
            found = tuple(sorted(results, key=lambda r: r[1]))
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[token] = found
        return found

    def _matches(self, spans: Sequence[tuple[int, int]], tokens: Sequence[str]) -> list[_Match]:
        candidates = [dict(self._candidates(t)) for t in tokens]
        out: list[_Match] = []
        for i, first in enumerate(candidates):
            for token_id, edits in first.items():
                for entry in self._by_first.get(token_id, ()):
                    size = len(entry.tokens)
                    if i + size > len(tokens):
                        continue
                    total = edits
                    for offset in range(1, size):
                        step = candidates[i + offset].get(entry.tokens[offset])
                        if step is None:
                            break
                        total += step
                    else:
                        start_token = i
                        if entry.article and i > 0 and tokens[i - 1] in ARTICLES:
                            start_token = i - 1
                        out.append(
                            _Match(
                                start_token,
                                i + size,
                                spans[start_token][0],
                                spans[i + size - 1][1],
                                total,
                                entry,
                            )
                        )
        return out

    def extract(self, text: str) -> list[Entity]:
        """Catalog entities in `text` (extractor "lookup"), sorted by position."""
        raw = [(m.start(), m.end(), m.group()) for m in _TOKEN_RE.finditer(text)]
        if not raw:
            return []
        spans = [(s, e) for s, e, _ in raw]
        tokens = [normalise(t) for _, _, t in raw]
        matches = sorted(self._matches(spans, tokens), key=lambda m: m.rank(), reverse=True)
        chosen: list[_Match] = []
        for match in matches:
            clash = False
            for kept in chosen:
                if match.start < kept.end and kept.start < match.end:
                    same = (match.start, match.end, match.edits) == (kept.start, kept.end, kept.edits)
                    if not same or match.entry.entity == kept.entry.entity:
                        clash = True
                        break
            if not clash:
                chosen.append(match)
        chosen.sort(key=lambda m: (m.start, m.entry.entity))
        return [self._entity(text, m) for m in chosen]

    def _entity(self, text: str, match: _Match) -> Entity:
        entry = match.entry
        chars = sum(len(self._words[t]) for t in entry.tokens)
        confidence = 1.0 if match.edits == 0 else max(0.5, 1.0 - 1.5 * match.edits / chars)
        info: dict[str, JSONValue] = {
            "surface": entry.surface,
            "fuzzy": match.edits > 0,
            "edits": match.edits,
        }
        if entry.alternatives:
            info["alternatives"] = list(entry.alternatives)
        return Entity(
            entity=entry.entity,
            value=entry.value,
            start=match.start,
            end=match.end,
            text=text[match.start : match.end],
            extractor=EXTRACTOR,
            confidence=round(confidence, 4),
            additional_info=info,
        )

    @property
    def entity_types(self) -> frozenset[str]:
        """The entity types this catalog knows."""
        return self._entity_types
