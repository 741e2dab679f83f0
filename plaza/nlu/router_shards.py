"""The router of many bots: bots hashed into shards, each shard a classifier of its own bots.

One classifier over every bot's examples grows with all of them: retraining it after one bot
changes took 28 s and 668 MB at 84 bots of Banking77's size (`bench/nlu/router_scale.py`).  So
past `shard_bots` bots the router is split.  Each bot belongs to one shard by a stable hash of its
name, and a shard learns its own bots plus an "elsewhere" class (`ELSEWHERE`) from a sample of
the other shards' examples.  At parse time every shard answers; the bot with the highest
calibrated probability in a shard that claims the message wins, and when no shard claims it
and no bot comes close, the router is unsure, as a single router is (`ShardedRouter._decide`).

Changing a bot retrains its own model and its shard, never the others: a shard's cache key covers
its own bots' data (and `SHARD_FORMAT`), not its sample of the others. Its "elsewhere" sample is
whatever the other shards held when it was trained; a sample that has gone a little stale is still a
sample of messages meant for other bots. The number of shards is a power of two, so when the bots
outgrow it, it doubles and each shard splits in two; that one change retrains every shard.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property, partial
from itertools import islice

import numpy as np
import numpy.typing as npt

from plaza.nlu.features import SharedKeyIndex
from plaza.nlu.intent_classifier import softmax
from plaza.nlu.model import IntentEntityModel, ModelOutput
from plaza.nlu.tokenizer import Token, tokenize
from plaza.nlu.types import (
    DEFAULT_SHARD_BOTS,
    OUT_OF_SCOPE,
    RANKING_SIZE,
    ROUTER,
    Example,
    IntentScore,
    TrainingData,
)

__all__ = [
    "ELSEWHERE",
    "ELSEWHERE_MIN",
    "SHARD_FORMAT",
    "RouterShard",
    "ShardedRouter",
    "elsewhere_sample",
    "hash_order",
    "router_shards",
    "shard_count",
    "shard_name",
    "shard_of",
]

F32Array = npt.NDArray[np.float32]

SHARD_FORMAT = "plaza-shards-1"
"""Part of a shard's cache key (not the single router's): bumped when what a shard learns
besides its own bots (the sample, its label) changes, so cached shards are retrained."""
ELSEWHERE = "_elsewhere"
"""The label of a shard's sample of the other shards' messages.  Not `out_of_scope`: those messages
are meant for a bot, and a threshold calibrated to reject them rejected 4 % of in-scope messages
(2–8 shards of Banking77's intents); as a class of its own, the shard's threshold is calibrated
as a single router's is, on the held-out messages it gets right (its `_elsewhere` ones
included)."""
UNCLAIMED_SHARE = 0.6
"""When no shard claims a message, its best bot still wins at this share of its shard's threshold.
Chosen on a fifth of Banking77's training set held out (77 stand-in bots in 2, 4 and 8 shards),
with SNIPS training messages as out-of-scope: at 0.6 the shards were unsure of 0.6–0.9 % of
in-scope messages, as many as one router (0.6 %), and of 56–58 % of out-of-scope ones (one
router: 55 %); at 1.0, 1.6–2.3 % and 75–80 % (docs/nlu.md)."""

ELSEWHERE_MIN = 500
"""A shard's "elsewhere" sample holds this many examples, or half as many as its own bots have if
that is more (fewer only when the other shards have fewer).  Without the sample, 4 shards of the
77 Banking77 stand-in bots routed 85.5 % of messages right instead of about 90 % (docs/nlu.md)."""


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


@dataclass(frozen=True)
class RouterShard:
    """One shard to train: its name, its own bots' data, and what it trains on (`training`).

    Its cache key is `own` and `format` (`SHARD_FORMAT`; empty for the single router, whose key
    is what it was before shards existed), not the sample of the other shards.
    """

    name: str
    own: TrainingData
    format: str = ""
    elsewhere: Callable[[], list[Example]] | None = field(default=None, repr=False, compare=False)
    """Builds the sample of the other shards' messages; `None` for the single router."""

    @cached_property
    def training(self) -> TrainingData:
        """Its own bots' messages, then the sample of the other shards' (past one shard).

        Built on first use: a start that finds the shard trained never needs the sample, which
        for 4,004 bots in 128 shards costs 2.3 s to build.
        """
        if self.elsewhere is None:
            return self.own
        return TrainingData(examples=[*self.own.examples, *self.elsewhere()])


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

    @cache
    def ordered() -> dict[str, list[str]]:
        # each bot's messages in hash order once, not once per shard (1,001 bots: 8 s before),
        # and only when a shard must be trained
        return {bot: hash_order(texts) for bot, texts in present.items()}

    shards: list[RouterShard] = []
    for index, bots in enumerate(members):
        if not bots:
            continue
        own = TrainingData(examples=[Example(text=t, intent=bot) for bot in bots for t in present[bot]])
        if n == 1:
            shards.append(RouterShard(shard_name(index, n), own))
            continue
        sample = partial(_shard_sample, ordered, frozenset(bots), own)
        shards.append(RouterShard(shard_name(index, n), own, SHARD_FORMAT, sample))
    return shards


def _shard_sample(
    ordered: Callable[[], dict[str, list[str]]], bots: frozenset[str], own: TrainingData
) -> list[Example]:
    """The "elsewhere" sample of a shard of `bots`: at least `ELSEWHERE_MIN`, or half its own size."""
    others = {bot: texts for bot, texts in ordered().items() if bot not in bots}
    size = max(ELSEWHERE_MIN, len(own.examples) // 2)
    return elsewhere_sample(others, {e.text for e in own.examples}, size)


def hash_order(texts: Sequence[str]) -> list[str]:
    """The distinct texts in the order of a stable hash.

    A sample taken from the front is the same from run to run, and a new message moves it by at
    most one.
    """
    return sorted(set(texts), key=lambda t: (_stable_hash(t), t))


def elsewhere_sample(others: Mapping[str, Sequence[str]], own_texts: set[str], size: int) -> list[Example]:
    """`size` messages of the other shards' bots (or all they have), labelled `ELSEWHERE`.

    `others` holds each bot's messages in `hash_order`.  Every other bot gives the same share,
    so a shard hears of every bot elsewhere, not only of the largest; a bot with fewer messages
    than its share gives all it has, and the rest of its share falls to the bots after it
    (smallest first).  A text one of the shard's own bots also has is left out: it cannot be both.
    """
    bots = sorted(others, key=lambda bot: (len(others[bot]), bot))
    sample: list[Example] = []
    left = size
    for i, bot in enumerate(bots):
        if left <= 0:
            break
        share = -(-left // (len(bots) - i))
        taken = list(islice((t for t in others[bot] if t not in own_texts), share))
        sample.extend(Example(text=t, intent=ELSEWHERE) for t in taken)
        left -= len(taken)
    return sample


class ShardedRouter:
    """Several router shards answering as one router (see the module's docstring).

    Shards share one feature space (hashed keys), so a message is scored against all of them
    through one `SharedKeyIndex`.  Shards with regexes or known values (hints; a router trained
    on bare messages has none) are parsed one by one, which gives the same probabilities.
    """

    def __init__(self, shards: Sequence[IntentEntityModel], ranking_size: int = RANKING_SIZE) -> None:
        if not shards:
            raise ValueError("a sharded router needs at least one shard")
        if ranking_size < 1:
            raise ValueError("ranking_size must be at least 1")
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
        if not self._is_bot.any():
            raise ValueError("a sharded router needs a bot among its shards' labels")
        # the shards with a sentence encoder (under `auto` some may have one and others not)
        self._encoded = [k for k, shard in enumerate(self.shards) if shard.projection is not None]
        self._index = (
            SharedKeyIndex(
                self.shards[0].config.key_extractor(),
                [shard.tfidf for shard in self.shards],
                [shard.classifier.weights for shard in self.shards],
            )
            if _can_share_features(self.shards)
            else None
        )

    def parse(self, text: str) -> ModelOutput:
        """The bots ranked for `text`, with the decision first (see `_decide`)."""
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
        if not self._encoded:
            scores = self._bias.copy()
            self._index.add_scores(tokens, scores)
            return softmax(scores / self._temperatures[:, None], 1.0)
        # As each shard parses on its own: a shard whose sparse classifier is sure answers
        # without the embedding (`encoder_skip.py`); the embedding is computed only if one is not.
        sparse = np.zeros(self._bias.shape, dtype=np.float32)
        self._index.add_scores(tokens, sparse)
        sure: dict[int, F32Array] = {}
        for k in self._encoded:
            skip = self.shards[k].encoder_skip
            answer = None if skip is None else skip.probabilities(sparse[k, : len(self.labels[k])])
            if answer is not None:
                sure[k] = answer
        scores = self._bias + sparse
        unsure = [k for k in self._encoded if k not in sure]
        if unsure:
            embedding = self.shards[unsure[0]].embed(text)
            assert embedding is not None
            for k in unsure:
                n = len(self.labels[k])
                scores[k, :n] = self.shards[k].prior_scores(embedding) + sparse[k, :n]
        probs = softmax(scores / self._temperatures[:, None], 1.0)
        for k, answer in sure.items():
            probs[k, : len(answer)] = answer
        return probs

    def _decide(self, probs: F32Array) -> ModelOutput:
        """The bot of the shard that claims the message most surely, or the router is unsure.

        A shard claims a message when its top label is a bot that clears its threshold.  A message
        between two shards' bots is claimed by neither when each shard's "elsewhere" class takes
        a share of it, so when no shard claims a message, the best bot still wins if its
        probability is at least `UNCLAIMED_SHARE` of its shard's threshold.  Otherwise the answer
        is `out_of_scope` below the threshold, as a single router's is: unsure, which is not "no
        bot" (`NLUService.route` still offers the best bot, whose own model then decides).
        """
        rows = np.arange(probs.shape[0])
        top = probs.argmax(axis=1)
        top_p = probs[rows, top]
        claims = self._is_bot[rows, top] & (top_p >= self._thresholds)
        flat = np.where(self._is_bot, probs, -1.0).ravel()
        n = min(self.ranking_size, int(self._is_bot.sum()))
        # the n best, ties in shard and label order: every candidate at least the n-th best, sorted
        nth = np.partition(flat, flat.shape[0] - n)[flat.shape[0] - n]
        candidates = np.flatnonzero(flat >= nth)
        best = candidates[np.argsort(-flat[candidates], kind="stable")][:n]
        width = probs.shape[1]
        ranking = [IntentScore(self.labels[i // width][i % width], float(flat[i])) for i in best]
        if claims.any():
            k = int(np.flatnonzero(claims)[np.argmax(top_p[claims])])
            winner = IntentScore(self.labels[k][int(top[k])], float(top_p[k]))
            rest = [s for s in ranking if s.name != winner.name]
            return ModelOutput((winner, *rest[: n - 1]))
        first = best[0]
        if flat[first] >= UNCLAIMED_SHARE * self._thresholds[first // width]:
            return ModelOutput(tuple(ranking))
        unsure = IntentScore(OUT_OF_SCOPE, 1.0 - float(flat[first]))
        return ModelOutput((unsure, *ranking), below_threshold=True)


def _can_share_features(shards: Sequence[IntentEntityModel]) -> bool:
    """Whether the shards describe a message by the same keys and the same embedding, if any.

    One feature setup, no hints, and one sentence encoder among the shards that have one.
    """
    first = shards[0].config
    same_keys = all(s.config.key_settings() == first.key_settings() for s in shards)
    encoders = {s.config.sentence_encoder for s in shards} - {None}
    return same_keys and len(encoders) <= 1 and not any(s.reads_hints for s in shards)
