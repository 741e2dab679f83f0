"""Sentence features for intent classification: hashed word n-grams, word pairs, character n-grams.

Why hashing: every feature is named by a stable 64-bit key ("w" + word, "c" + character
n-gram, "x" + an extra indicator such as a matched regex, hashed; word n-grams and pairs
combine their words' keys), not by a column number that depends on one model's vocabulary.
Two bots' models therefore describe a message in the same space — the same key means the same
feature — which an incremental router can exploit, and a model stores only the sorted keys it
saw in training (a numpy array, loaded in microseconds) instead of a vocabulary dict.  The hash
is CRC-32 based (two seeds), stable across processes (unlike Python's `hash`), and collisions
in 64 bits are negligible.

Blocks, each TF-IDF weighted (sublinear TF, smoothed IDF), L2-normalised on its own and scaled
by a per-block weight:

* words: unigrams and bigrams of normalised tokens;
* characters: n-grams inside each word padded with spaces (scikit-learn's `char_wb`), robust
  to typos and inflection.  They decompose per word, so a word's keys are cached;
* pairs: every unordered pair of words at most `pair_window` tokens apart.  A linear model
  cannot express "card AND arrive" from unigrams; pairs can, and they measured +0.3 to +0.5
  points on Banking77 cross-validation.  Pairs seen once are dropped (`pair_min_df`);
* extras: indicator names from regexes, lookup tables and known entity values.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from plaza.nlu.tokenizer import Token

__all__ = [
    "BLOCK_CHAR",
    "BLOCK_EXTRA",
    "BLOCK_PAIR",
    "BLOCK_WORD",
    "DocKeys",
    "DocumentFrequencies",
    "HashedTfidf",
    "KeyExtractor",
    "MessageVectorizer",
    "SharedKeyIndex",
    "find_sorted",
    "hash_key",
    "scale_blocks",
]

BLOCK_WORD = 0
BLOCK_CHAR = 1
BLOCK_PAIR = 2
BLOCK_EXTRA = 3
N_BLOCKS = 4

_SEED2 = 0x5BD1E995
_BIGRAM_SALT = np.uint64(0x9E3779B97F4A7C15)
_PAIR_SALT = np.uint64(0x2545F4914F6CDD1D)
_ONE = np.uint64(1)
_TWO = np.uint64(2)
_CONTEXT_BLOCKS = np.array([BLOCK_WORD, BLOCK_PAIR, BLOCK_EXTRA], dtype=np.uint8)

U64Array = npt.NDArray[np.uint64]
F32Array = npt.NDArray[np.float32]
I64Array = npt.NDArray[np.int64]


def hash_key(feature: str) -> int:
    """Stable 64-bit key of a feature string."""
    data = feature.encode("utf-8")
    return zlib.crc32(data) | (zlib.crc32(data, _SEED2) << 32)


@dataclass(frozen=True, slots=True)
class DocKeys:
    """A message's feature keys with repetition, and the block of each key."""

    keys: U64Array
    blocks: npt.NDArray[np.uint8]


_EMPTY_KEYS = np.zeros(0, dtype=np.uint64)
_CHUNK = 2000
"""Documents vectorised at once in training (bounds the temporary arrays to a few MB)."""


class KeyExtractor:
    """Turns tokens (+ extra indicator names) into feature keys; caches per-word keys."""

    def __init__(
        self,
        *,
        word_ngrams: int,
        char_min: int,
        char_max: int,
        pair_window: int = 0,
        cache_size: int = 100_000,
    ) -> None:
        self.word_ngrams = word_ngrams
        self.char_min = char_min
        self.char_max = char_max
        self.pair_window = pair_window
        self._cache: dict[str, tuple[int, U64Array, bool]] = {}
        self._cache_size = cache_size
        self._pair_index: dict[int, tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]] = {}

    def _word(self, norm: str) -> tuple[int, U64Array, bool]:
        hit = self._cache.get(norm)
        if hit is not None:
            return hit
        padded = f" {norm} "
        grams: list[int] = []
        if self.char_max > 0:
            size = len(padded)
            for n in range(self.char_min, self.char_max + 1):
                if n > size:
                    break
                grams.extend(hash_key("c" + padded[i : i + n]) for i in range(size - n + 1))
        out = (hash_key("w" + norm), np.array(grams, dtype=np.uint64), norm[:1].isalnum())
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[norm] = out
        return out

    def extract(self, tokens: Sequence[Token], extras: Sequence[str] = ()) -> DocKeys:
        """All keys of a message: per-word (characters, unigram) then context (n-grams, pairs, extras)."""
        parts: list[U64Array] = []
        word_keys: list[int] = []
        flags: list[bool] = []
        for tok in tokens:
            wkey, grams, is_word = self._word(tok.norm)
            word_keys.append(wkey)
            parts.append(grams)
            flags.append(is_word)
        chars = np.concatenate(parts) if parts else _EMPTY_KEYS
        words = np.array(word_keys, dtype=np.uint64)
        context = self.context_keys(words, np.array(flags, dtype=bool), extras)
        keys = np.concatenate([chars, words, context.keys])
        blocks = np.concatenate(
            [
                np.full(chars.shape[0], BLOCK_CHAR, dtype=np.uint8),
                np.full(words.shape[0], BLOCK_WORD, dtype=np.uint8),
                context.blocks,
            ]
        )
        return DocKeys(keys, blocks)

    def word_keys(self, norm: str) -> tuple[int, U64Array, bool]:
        """(unigram key, character n-gram keys, is a word rather than punctuation), cached."""
        return self._word(norm)

    def context_keys(self, words: U64Array, is_word: npt.NDArray[np.bool_], extras: Sequence[str]) -> DocKeys:
        """Keys that depend on more than one word: word n-grams, word pairs, extra indicators.

        Combined with shift-xor in numpy (a few vector operations per message); results stay
        below 2**64 because the shifts go right.  A pair orders its two keys first, so
        (a, b) and (b, a) give the same key.
        """
        groups: list[U64Array] = []
        n_word = n_pair = 0
        if self.word_ngrams >= 2 and words.shape[0] > 1:
            bigrams = (words[:-1] >> _ONE) ^ words[1:] ^ _BIGRAM_SALT
            groups.append(bigrams)
            n_word += bigrams.shape[0]
            if self.word_ngrams >= 3 and words.shape[0] > 2:
                trigrams = (bigrams[:-1] >> _ONE) ^ words[2:] ^ _BIGRAM_SALT
                groups.append(trigrams)
                n_word += trigrams.shape[0]
        if self.pair_window > 0:
            content = words[is_word]
            if content.shape[0] > 1:
                i, j = self._pairs(content.shape[0])
                a, b = content[i], content[j]
                pairs = (np.minimum(a, b) >> _TWO) ^ np.maximum(a, b) ^ _PAIR_SALT
                groups.append(pairs)
                n_pair = pairs.shape[0]
        n_extra = 0
        if extras:
            extra_keys = np.array([hash_key("x" + name) for name in extras], dtype=np.uint64)
            groups.append(extra_keys)
            n_extra = extra_keys.shape[0]
        if not groups:
            return DocKeys(_EMPTY_KEYS, np.zeros(0, dtype=np.uint8))
        blocks = np.repeat(_CONTEXT_BLOCKS, [n_word, n_pair, n_extra])
        return DocKeys(np.concatenate(groups), blocks)

    def _pairs(self, n: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """Index pairs (i < j <= i + window) for n words, ordered by i then j, cached per n.

        Built from the window, not filtered out of every pair: a message of 20,000 words asked
        `np.triu_indices` for 1.5 GiB.
        """
        hit = self._pair_index.get(n)
        if hit is None:
            w = min(self.pair_window, max(n - 1, 0))  # a window past the message: every pair
            i = np.repeat(np.arange(n), w)
            j = i + np.tile(np.arange(1, w + 1), n)
            near = j < n
            hit = (i[near], j[near])
            if n <= 512:
                self._pair_index[n] = hit
        return hit


class MessageVectorizer:
    """The parse-time path: tokens -> (columns, values), with each word's known columns cached.

    Most keys of a message are its words' character n-grams; resolving them to columns once per
    distinct word (instead of a binary search per key per message) halves the vector cost.
    """

    def __init__(self, extractor: KeyExtractor, tfidf: HashedTfidf, cache_size: int = 100_000) -> None:
        self.extractor = extractor
        self.tfidf = tfidf
        self._cols: dict[str, I64Array] = {}
        self._cache_size = cache_size

    def _word_cols(self, norm: str) -> tuple[int, I64Array, bool]:
        wkey, grams, is_word = self.extractor.word_keys(norm)
        cols = self._cols.get(norm)
        if cols is None:
            cols = self.tfidf.columns(np.concatenate([grams, np.array([wkey], dtype=np.uint64)]))
            if len(self._cols) >= self._cache_size:
                self._cols.clear()
            self._cols[norm] = cols
        return wkey, cols, is_word

    def vector(self, tokens: Sequence[Token], extras: Sequence[str] = ()) -> tuple[I64Array, F32Array]:
        parts: list[I64Array] = []
        word_keys: list[int] = []
        flags: list[bool] = []
        for tok in tokens:
            wkey, cols, is_word = self._word_cols(tok.norm)
            parts.append(cols)
            word_keys.append(wkey)
            flags.append(is_word)
        context = self.extractor.context_keys(
            np.array(word_keys, dtype=np.uint64), np.array(flags, dtype=bool), extras
        )
        parts.append(self.tfidf.columns(context.keys))
        return self.tfidf.weigh(np.concatenate(parts))


@dataclass(frozen=True, slots=True)
class DocumentFrequencies:
    """Every key of some training messages, sorted, with its block and how many messages hold it."""

    keys: U64Array
    blocks: npt.NDArray[np.uint8]
    df: I64Array
    n_docs: int

    @classmethod
    def count(cls, docs: Sequence[DocKeys]) -> DocumentFrequencies:
        # Chunk by chunk to bound memory: keys unique within each document, then counted across
        # documents.
        uniq_keys: list[U64Array] = []
        uniq_blocks: list[npt.NDArray[np.uint8]] = []
        for lo in range(0, len(docs), _CHUNK):
            keys, blocks, doc_ids = _flatten(docs[lo : lo + _CHUNK])
            if keys.shape[0] == 0:
                continue
            order = np.lexsort((doc_ids, keys))
            k_sorted, d_sorted = keys[order], doc_ids[order]
            first = np.ones(k_sorted.shape[0], dtype=bool)
            first[1:] = (k_sorted[1:] != k_sorted[:-1]) | (d_sorted[1:] != d_sorted[:-1])
            uniq_keys.append(k_sorted[first])
            uniq_blocks.append(blocks[order][first])
        if not uniq_keys:
            return cls(np.zeros(0, np.uint64), np.zeros(0, np.uint8), np.zeros(0, np.int64), len(docs))
        uniq, start, df = np.unique(np.concatenate(uniq_keys), return_index=True, return_counts=True)
        ublock = np.concatenate(uniq_blocks)[start].astype(np.uint8)
        return cls(uniq, ublock, df.astype(np.int64), len(docs))

    def kept(self, min_df: Sequence[int]) -> npt.NDArray[np.bool_]:
        """Which keys reach their block's `min_df[b]` (blocks past the sequence's end need 1)."""
        need = np.asarray(list(min_df) + [1] * (N_BLOCKS - len(min_df)), dtype=np.int64)[self.blocks]
        out: npt.NDArray[np.bool_] = self.df >= need
        return out


class HashedTfidf:
    """The fitted part: sorted known keys, their block and IDF; maps `DocKeys` to sparse vectors."""

    def __init__(
        self, keys: U64Array, blocks: npt.NDArray[np.uint8], idf: F32Array, block_weights: Sequence[float]
    ) -> None:
        self.keys = keys
        self.blocks = blocks
        self.idf = idf
        self.block_weights = np.zeros(N_BLOCKS, dtype=np.float32)
        self.block_weights[: len(block_weights)] = block_weights

    @property
    def n_features(self) -> int:
        return int(self.keys.shape[0])

    @classmethod
    def fit(
        cls, docs: Sequence[DocKeys], *, min_df: Sequence[int], block_weights: Sequence[float]
    ) -> HashedTfidf:
        """Learn the kept keys and their IDF; `min_df[b]` is the document frequency block `b` needs."""
        return cls.from_frequencies(
            DocumentFrequencies.count(docs), min_df=min_df, block_weights=block_weights
        )

    @classmethod
    def from_frequencies(
        cls, freqs: DocumentFrequencies, *, min_df: Sequence[int], block_weights: Sequence[float]
    ) -> HashedTfidf:
        """`fit`, from frequencies already counted (training chooses `min_df` from them)."""
        keep = freqs.kept(min_df)
        idf = (np.log((1.0 + freqs.n_docs) / (1.0 + freqs.df[keep])) + 1.0).astype(np.float32)
        return cls(freqs.keys[keep], freqs.blocks[keep], idf, block_weights)

    def columns(self, keys: U64Array) -> I64Array:
        """Columns of the known keys among `keys` (unknown keys dropped, repetitions kept)."""
        if keys.shape[0] == 0 or self.keys.shape[0] == 0:
            return np.zeros(0, dtype=np.int64)
        pos, hit = find_sorted(self.keys, keys)
        found: I64Array = pos[hit].astype(np.int64)
        return found

    def transform_one(self, doc: DocKeys) -> tuple[I64Array, F32Array]:
        """Column indices (sorted, unique) and values of one message."""
        return self.weigh(self.columns(doc.keys))

    def weigh(self, found: I64Array) -> tuple[I64Array, F32Array]:
        """TF-IDF values from the columns of a message's keys (with repetitions)."""
        if found.shape[0] == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        cols, counts = np.unique(found, return_counts=True)
        vals = self.idf[cols] * (1.0 + np.log(counts, dtype=np.float32))
        return cols, scale_blocks(vals, self.blocks[cols].astype(np.intp), self.block_weights)

    def transform_many(self, docs: Sequence[DocKeys]) -> tuple[I64Array, npt.NDArray[np.int32], F32Array]:
        """CSR parts (indptr, indices, data) for many messages (vectorised per chunk, for training)."""
        indptr = [np.zeros(1, dtype=np.int64)]
        indices: list[npt.NDArray[np.int32]] = []
        data: list[F32Array] = []
        offset = 0
        for lo in range(0, len(docs), _CHUNK):
            p, i, d = self._transform_chunk(docs[lo : lo + _CHUNK])
            indptr.append(p[1:] + offset)
            offset += int(p[-1])
            indices.append(i)
            data.append(d)
        if not indices:
            return np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32)
        return np.concatenate(indptr), np.concatenate(indices), np.concatenate(data)

    def _transform_chunk(self, docs: Sequence[DocKeys]) -> tuple[I64Array, npt.NDArray[np.int32], F32Array]:
        keys, _, doc_ids = _flatten(docs)
        n_docs = len(docs)
        if keys.shape[0] == 0 or self.keys.shape[0] == 0:
            return np.zeros(n_docs + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32)
        pos, hit = find_sorted(self.keys, keys)
        cells = doc_ids[hit] * self.n_features + pos[hit]
        uniq, counts = np.unique(cells, return_counts=True)
        rows, cols = uniq // self.n_features, uniq % self.n_features
        vals = (1.0 + np.log(counts.astype(np.float32))) * self.idf[cols]
        blk = self.blocks[cols].astype(np.int64)
        sq = np.bincount(rows * N_BLOCKS + blk, weights=vals * vals, minlength=n_docs * N_BLOCKS)
        scale = np.tile(self.block_weights, n_docs) / np.sqrt(np.maximum(sq, 1e-12))
        out = (vals * scale[rows * N_BLOCKS + blk]).astype(np.float32)
        indptr = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_docs), out=indptr[1:])
        return indptr, cols.astype(np.int32), out


def find_sorted(sorted_keys: U64Array, keys: U64Array) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """Where each of `keys` is in `sorted_keys` (non-empty), and whether it is there at all."""
    pos = np.searchsorted(sorted_keys, keys)
    pos[pos >= sorted_keys.shape[0]] = 0
    return pos, sorted_keys[pos] == keys


def scale_blocks(
    vals: npt.NDArray[np.floating[Any]], segment: npt.NDArray[np.intp], block_weights: F32Array
) -> F32Array:
    """Each segment's values L2-normalised and scaled by that segment's block weight.

    One message's segments are its blocks (`HashedTfidf.weigh`); several models' segments are
    model × block (`SharedKeyIndex`), which must compute exactly what each model would alone.
    (Training's `_transform_chunk` normalises many messages at once in float64.)
    """
    norms = np.bincount(segment, weights=vals * vals, minlength=block_weights.shape[0]).astype(np.float32)
    scale = block_weights / np.sqrt(np.maximum(norms, 1e-12, dtype=np.float32))
    out: F32Array = (vals * scale[segment]).astype(np.float32, copy=False)
    return out


class SharedKeyIndex:
    """Several models' known keys in one sorted index, to score a message against all of them.

    Models of one feature setup describe a message by the same keys, so the message's keys are
    extracted and looked up once, every model's TF-IDF values are weighted in one vectorised
    step, and each model adds only the gather of its weight rows.  The router's shards use it:
    at 1,001 bots in 32 shards a parse costs p50 0.5–1.8 ms, by machine (`bench/nlu/router_shards.py`).
    """

    def __init__(
        self,
        extractor: KeyExtractor,
        tfidfs: Sequence[HashedTfidf],
        weights: Sequence[npt.NDArray[np.float32]],
    ) -> None:
        self._extractor = extractor
        keys = np.concatenate([t.keys for t in tfidfs])
        order = np.argsort(keys, kind="stable")
        # each distinct key once, with the range of its entries (one per model that knows it)
        self._keys, first = np.unique(keys[order], return_index=True)
        self._starts = first.astype(np.int64)
        self._ends = np.r_[first[1:], keys.shape[0]].astype(np.int64)
        sizes = [t.n_features for t in tfidfs]
        model = np.repeat(np.arange(len(tfidfs), dtype=np.intp), sizes)[order]
        # numpy sorts 16-bit integers by radix: grouping a message's entries by model is then
        # linear, and a parse 15 % faster at 32 shards
        self._model = model.astype(np.int16) if len(tfidfs) <= np.iinfo(np.int16).max else model
        self._column = np.concatenate([np.arange(n, dtype=np.int32) for n in sizes])[order]
        self._idf = np.concatenate([t.idf for t in tfidfs])[order]
        # the (model, block) pair each entry's value is normalised within
        self._segment = model * N_BLOCKS + np.concatenate([t.blocks for t in tfidfs]).astype(np.intp)[order]
        self._block_weights = np.concatenate([t.block_weights for t in tfidfs])
        # plain views of memory-mapped weights: indexing a np.memmap costs 30 µs more a call
        self._weights = [np.asarray(w) for w in weights]

    def add_scores(self, tokens: Sequence[Token], scores: F32Array) -> None:
        """Add each model's sparse-feature scores (values · weight rows) to the start of its row."""
        doc = self._extractor.extract(tokens)
        if doc.keys.shape[0] == 0 or self._keys.shape[0] == 0:
            return
        uniq, counts = np.unique(doc.keys, return_counts=True)
        pos, known = find_sorted(self._keys, uniq)
        pos, counts = pos[known], counts[known]
        lo = self._starts[pos]
        hits = self._ends[pos] - lo
        total = int(hits.sum())
        if total == 0:
            return
        entry = np.arange(total) + np.repeat(lo - (np.cumsum(hits) - hits), hits)
        model = self._model[entry]
        vals = self._idf[entry] * np.repeat(1.0 + np.log(counts, dtype=np.float32), hits)
        vals = scale_blocks(vals, self._segment[entry], self._block_weights)
        order = np.argsort(model, kind="stable")
        model, vals = model[order], vals[order]
        columns = self._column[entry[order]]
        bounds = (np.flatnonzero(np.diff(model)) + 1).tolist()
        for lo_i, hi_i in zip([0, *bounds], [*bounds, total], strict=True):
            k = int(model[lo_i])
            weights = self._weights[k]
            scores[k, : weights.shape[1]] += vals[lo_i:hi_i] @ weights.take(columns[lo_i:hi_i], axis=0)


def _flatten(docs: Sequence[DocKeys]) -> tuple[U64Array, npt.NDArray[np.uint8], I64Array]:
    if not docs:
        return _EMPTY_KEYS, np.zeros(0, np.uint8), np.zeros(0, np.int64)
    keys = np.concatenate([d.keys for d in docs])
    blocks = np.concatenate([d.blocks for d in docs])
    lengths = np.fromiter((d.keys.shape[0] for d in docs), dtype=np.int64, count=len(docs))
    doc_ids = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
    return keys, blocks, doc_ids
