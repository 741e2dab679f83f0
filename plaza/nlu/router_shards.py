"""The router of many bots: bots hashed into shards, each shard a classifier of its own bots.

One classifier over every bot's examples grows with all of them: retraining it after one bot
changes took 28 s and 668 MB at 84 bots of Banking77's size (`bench/nlu/router_scale.py`).  So
past `shard_bots` bots the router is split.  Each bot belongs to one shard by a stable hash of its
name, and a shard learns its own bots plus an "elsewhere" class (`ELSEWHERE`) from a sample of
the other shards' examples.  At parse time every shard answers; the bot with the highest
calibrated probability in a shard that claims the message wins, and when no shard claims it
and no bot comes close, the concierge answers (`ShardedRouter._decide`).

Changing a bot retrains its own model and its shard, never the others: a shard's cache key
covers its own bots' data only.  Its "elsewhere" sample is whatever the other shards held when
it was trained; a sample that has gone a little stale is still a sample of messages meant for
other bots.  The number of shards is a power of two, so when the bots outgrow it, it doubles and
each shard splits in two; that one change retrains every shard.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from plaza.nlu.features import N_BLOCKS
from plaza.nlu.intent_classifier import softmax
from plaza.nlu.model import IntentEntityModel, ModelOutput
from plaza.nlu.tokenizer import Token, tokenize
from plaza.nlu.types import OUT_OF_SCOPE, ROUTER, Example, IntentScore, TrainingData

__all__ = [
    "DEFAULT_SHARD_BOTS",
    "ELSEWHERE",
    "ELSEWHERE_MIN",
    "RouterModel",
    "RouterShard",
    "ShardedRouter",
    "elsewhere_sample",
    "router_shards",
    "shard_count",
    "shard_name",
    "shard_of",
]

DEFAULT_SHARD_BOTS = 32
"""Bots per shard, about.  With 1,001 bots of 130 examples, shards of 32 bots trained in 4.4 s
(at most 6.4 s and 337 MB) and routed better than shards of 64 (86.6 against 85.8 %), which
took 12–17 s and up to 600 MB each (`bench/nlu/router_shards.py`)."""

F32Array = npt.NDArray[np.float32]

RANKING_SIZE = 10
"""How many bots a sharded router's answer ranks (the engine reads the first)."""
ELSEWHERE = "_elsewhere"
"""The label of a shard's sample of the other shards' messages.  Not `out_of_scope`: those messages
are meant for a bot, and a threshold calibrated to reject them rejected 4 % of in-scope messages
(2–8 shards of Banking77's intents); as a class of its own, the shard's threshold is calibrated
as a single router's is, on its own bots' messages."""
UNCLAIMED_SHARE = 0.6
"""When no shard claims a message, its best bot still wins at this share of its shard's threshold.
Chosen on a fifth of Banking77's training set held out (77 stand-in bots in 2, 4 and 8 shards),
with SNIPS training messages as out-of-scope: at 0.6 the shards rejected 0.6–0.9 % of in-scope
messages, as many as one router (0.6 %), and sent 56–58 % of out-of-scope ones to the concierge
(one router: 55 %); at 1.0, 1.6–2.3 % and 75–80 % (docs/nlu.md)."""

ELSEWHERE_MIN = 500
"""A shard's "elsewhere" sample holds at least this many examples, or half as many as its own
bots have if that is more.  Without the sample, 4 shards of the 77 Banking77 stand-in bots routed
85.5 % of messages right instead of about 90 % (docs/nlu.md)."""


class RouterModel(Protocol):
    """What the NLU service asks of a router: one model, or several shards answering as one."""

    def parse(self, text: str) -> ModelOutput: ...


def shard_count(n_bots: int, shard_bots: int) -> int:
    """The smallest power of two that keeps the shards at about `shard_bots` bots each, or fewer."""
    if shard_bots < 1:
        raise ValueError("shard_bots must be at least 1")
    n = 1
    while n * shard_bots < n_bots:
        n *= 2
    return n


def _stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def shard_of(bot: str, n_shards: int) -> int:
    """The shard a bot belongs to, stable across runs.

    When `n_shards` doubles, shard k splits into k and k + n (the hash's low bits).
    """
    return _stable_hash(bot) % n_shards


def shard_name(index: int, n_shards: int) -> str:
    """The model's name: the router itself when there is one shard, so small apps see no shards."""
    return ROUTER if n_shards == 1 else f"{ROUTER}-{index + 1}-of-{n_shards}"


@dataclass(frozen=True, slots=True)
class RouterShard:
    """One shard to train: its name, its own bots' data (its cache key) and what it trains on."""

    name: str
    own: TrainingData
    training: TrainingData


def router_shards(
    messages: Mapping[str, Sequence[str]], shard_bots: int = DEFAULT_SHARD_BOTS
) -> list[RouterShard]:
    """The router's shards for these bots' messages (`{bot: texts}`, the concierge's among them).

    Up to `shard_bots` bots there is one shard, the router itself, trained on every bot's messages
    exactly as before shards existed.  A shard no bot hashes into is left out.
    """
    present = {bot: texts for bot, texts in messages.items() if texts}
    n = shard_count(len(present), shard_bots)
    members: list[list[str]] = [[] for _ in range(n)]
    for bot in present:
        members[shard_of(bot, n)].append(bot)
    shards: list[RouterShard] = []
    for index, bots in enumerate(members):
        if not bots:
            continue
        own = TrainingData(examples=[Example(text=t, intent=bot) for bot in bots for t in present[bot]])
        if n == 1:
            shards.append(RouterShard(shard_name(index, n), own, own))
            continue
        others = {bot: texts for bot, texts in present.items() if bot not in bots}
        size = max(ELSEWHERE_MIN, len(own.examples) // 2)
        sample = elsewhere_sample(others, {e.text for e in own.examples}, size)
        shards.append(RouterShard(shard_name(index, n), own, TrainingData(examples=[*own.examples, *sample])))
    return shards


def elsewhere_sample(others: Mapping[str, Sequence[str]], own_texts: set[str], size: int) -> list[Example]:
    """About `size` messages of the other shards' bots, labelled `ELSEWHERE`.

    Every other bot gives the same share (at least one message), so a shard hears of every bot
    elsewhere, not only of the largest; within a bot, messages are taken in the order of a stable
    hash, so the sample does not change from run to run.  A text one of the shard's own bots also
    has is left out: it cannot be both.
    """
    if not others or size <= 0:
        return []
    quota = max(1, -(-size // len(others)))
    sample: list[Example] = []
    for bot in sorted(others):
        texts = sorted({t for t in others[bot] if t not in own_texts}, key=lambda t: (_stable_hash(t), t))
        sample.extend(Example(text=t, intent=ELSEWHERE) for t in texts[:quota])
    return sample


class ShardedRouter:
    """Several router shards answering as one router (see the module's docstring).

    Shards share one feature space (hashed keys, `features.py`), so a message's keys are computed
    once and looked up in an index of every shard's keys; the TF-IDF weighting of every shard is
    one vectorised step, and each shard adds only a gather of its weight rows.  Parsing 16 shards
    costs about what parsing two did one by one (`bench/nlu/router_scale.py`).  Shards with regexes
    or known values (hints) are parsed one by one, which gives the same probabilities.
    """

    def __init__(self, shards: Sequence[IntentEntityModel], ranking_size: int = RANKING_SIZE) -> None:
        if not shards:
            raise ValueError("a sharded router needs at least one shard")
        self.shards = tuple(shards)
        self.ranking_size = ranking_size
        self.labels = [shard.intents for shard in self.shards]
        width = max(len(labels) for labels in self.labels)
        self._thresholds = np.array([shard.threshold for shard in self.shards], dtype=np.float32)
        self._temperatures = np.array([shard.temperature for shard in self.shards], dtype=np.float32)
        # Out-of-scope, elsewhere and padding columns are never a bot: masked out of the ranking.
        self._is_bot = np.zeros((len(self.shards), width), dtype=bool)
        self._bias = np.full((len(self.shards), width), -np.inf, dtype=np.float32)
        for k, (shard, labels) in enumerate(zip(self.shards, self.labels, strict=True)):
            self._is_bot[k, : len(labels)] = [label not in (OUT_OF_SCOPE, ELSEWHERE) for label in labels]
            self._bias[k, : len(labels)] = shard.classifier.bias
        self._index = _KeyIndex(self.shards) if _can_share_features(self.shards) else None

    def parse(self, text: str) -> ModelOutput:
        tokens = tokenize(text)
        probs = self._probabilities(text, tokens)
        return self._decide(probs)

    def _probabilities(self, text: str, tokens: Sequence[Token]) -> F32Array:
        """(shards, labels) calibrated probabilities, padded with zeros."""
        if self._index is None:
            probs = np.zeros(self._bias.shape, dtype=np.float32)
            for k, shard in enumerate(self.shards):
                probs[k, : len(self.labels[k])] = shard.intent_probabilities(text, tokens)
            return probs
        scores = self._bias.copy()
        embedding = self.shards[0].embed(text)
        if embedding is not None:
            for k, shard in enumerate(self.shards):
                scores[k, : len(self.labels[k])] = shard.prior_scores(embedding)
        self._index.add_scores(tokens, scores)
        return softmax(scores / self._temperatures[:, None], 1.0)

    def _decide(self, probs: F32Array) -> ModelOutput:
        """The bot of the shard that claims the message most surely; the concierge if none does.

        A shard claims a message when its top label is a bot that clears its threshold.  A message
        between two shards' bots is claimed by neither when each shard's "elsewhere" class takes
        a share of it, so when no shard claims a message, the best bot still wins if its
        probability is at least `UNCLAIMED_SHARE` of its shard's threshold.
        """
        top = probs.argmax(axis=1)
        top_p = probs[np.arange(probs.shape[0]), top]
        claims = self._is_bot[np.arange(probs.shape[0]), top] & (top_p >= self._thresholds)
        bots = np.where(self._is_bot, probs, -1.0)
        flat = bots.ravel()
        n = min(self.ranking_size, int(self._is_bot.sum()))
        best = np.argpartition(-flat, n - 1)[:n]
        best = best[np.argsort(-flat[best], kind="stable")]
        width = probs.shape[1]
        ranking = [IntentScore(self.labels[i // width][i % width], float(flat[i])) for i in best]
        if claims.any():
            k = int(np.flatnonzero(claims)[np.argmax(top_p[claims])])
            winner = IntentScore(self.labels[k][int(top[k])], float(top_p[k]))
            return ModelOutput((winner, *[s for s in ranking if s.name != winner.name]))
        first = best[0]
        if flat[first] >= UNCLAIMED_SHARE * self._thresholds[first // width]:
            return ModelOutput(tuple(ranking))
        return ModelOutput((IntentScore(OUT_OF_SCOPE, 1.0 - float(flat[first])), *ranking))


def _can_share_features(shards: Sequence[IntentEntityModel]) -> bool:
    """Whether the shards describe a message by the same keys: one feature setup and no hints."""
    first = shards[0].config
    same = all(
        (s.config.word_ngrams, s.config.char_ngram_min, s.config.char_ngram_max, s.config.pair_window)
        == (first.word_ngrams, first.char_ngram_min, first.char_ngram_max, first.pair_window)
        and s.config.sentence_encoder == first.sentence_encoder
        for s in shards
    )
    return same and not any(s.reads_hints for s in shards)


class _KeyIndex:
    """Every shard's known keys in one sorted index: a message's keys are looked up once for all."""

    def __init__(self, shards: Sequence[IntentEntityModel]) -> None:
        self._extractor = shards[0].config.key_extractor()
        keys = np.concatenate([s.tfidf.keys for s in shards])
        order = np.argsort(keys, kind="stable")
        # each distinct key once, with the range of its entries (one per shard that knows it)
        self._keys, first = np.unique(keys[order], return_index=True)
        self._starts = first.astype(np.int64)
        self._ends = np.r_[first[1:], keys.shape[0]].astype(np.int64)
        sizes = [s.tfidf.n_features for s in shards]
        self._shard = np.repeat(np.arange(len(shards), dtype=np.int32), sizes)[order]
        self._column = np.concatenate([np.arange(n, dtype=np.int32) for n in sizes])[order]
        self._idf = np.concatenate([s.tfidf.idf for s in shards])[order]
        self._block = np.concatenate([s.tfidf.blocks for s in shards]).astype(np.int32)[order]
        self._block_weights = np.stack([s.tfidf.block_weights for s in shards]).ravel()
        # plain views of the memory-mapped weights: indexing a np.memmap costs 30 µs more a call
        self._weights = [np.asarray(s.classifier.weights) for s in shards]
        self._widths = [len(s.intents) for s in shards]

    def add_scores(self, tokens: Sequence[Token], scores: F32Array) -> None:
        """Add each shard's sparse-feature scores to its row of `scores`.

        The same arithmetic as `HashedTfidf.weigh` (sublinear TF times IDF, each block L2-normalised
        and weighted), done for every shard at once.
        """
        doc = self._extractor.extract(tokens)
        if doc.keys.shape[0] == 0 or self._keys.shape[0] == 0:
            return
        uniq, counts = np.unique(doc.keys, return_counts=True)
        pos = np.searchsorted(self._keys, uniq)
        pos[pos >= self._keys.shape[0]] = 0
        known = self._keys[pos] == uniq
        pos, counts = pos[known], counts[known]
        lo = self._starts[pos]
        hits = self._ends[pos] - lo
        total = int(hits.sum())
        if total == 0:
            return
        starts = np.repeat(lo - (np.cumsum(hits) - hits), hits)
        entry = np.arange(total) + starts
        shard = self._shard[entry]
        vals = self._idf[entry] * np.repeat(1.0 + np.log(counts, dtype=np.float32), hits)
        segment = shard * N_BLOCKS + self._block[entry]
        norms = np.bincount(segment, weights=vals * vals, minlength=self._block_weights.shape[0])
        scale = self._block_weights / np.sqrt(np.maximum(norms, 1e-12)).astype(np.float32)
        vals = (vals * scale[segment]).astype(np.float32)
        order = np.argsort(shard, kind="stable")
        shard, vals = shard[order], vals[order]
        columns = self._column[entry[order]]
        bounds = (np.flatnonzero(np.diff(shard)) + 1).tolist()
        for lo_i, hi_i in zip([0, *bounds], [*bounds, total], strict=True):
            k = int(shard[lo_i])
            rows = self._weights[k].take(columns[lo_i:hi_i], axis=0)
            scores[k, : self._widths[k]] += vals[lo_i:hi_i] @ rows
