"""The NLU's boundary types: what training data, a parse and an entity look like.

Every NLU component (trained tagger, catalog lookup, built-in extractors, language detector)
speaks these types, so the engine can combine them without knowing which produced what.
The Rasa wire shapes (`/model/parse`, tracker `latest_message`) are derived from them in one
place, `ParseResult.to_rasa`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

OUT_OF_SCOPE = "out_of_scope"
"""The intent name that marks a message belonging to no intent (in data and in parses)."""
CONCIERGE = "concierge"
"""The bot that answers what no installed bot does (greetings, help, out-of-scope)."""
ROUTER = "_router"
"""The model that picks a bot; named so that no bot can be called the same."""
DEFAULT_SHARD_BOTS = 32
"""Bots per router shard, about (`config.yml`: `nlu.router_shard_bots`).  With 1,001 bots of 130
examples (`bench/nlu/router_shards.py`, two runs of one version), shards of 32 bots trained in
4.8 s (at most 7.7 s and 361 MB) and routed 86.9 % right; shards of 64 took 12.1 s (at most
17.3 s and 593 MB, the limit) and routed 85.8 %."""
RANKING_SIZE = 10
"""How many intents (or bots) a parse ranks (Rasa's `intent_ranking` shows ten)."""

JSONValue = Any
"""A value that `json.dumps` accepts; entity values are kept JSON-ready."""

MAX_SAFE_INTEGER = 2**53 - 1
"""The largest integer every JSON client holds exactly (JavaScript's `Number.MAX_SAFE_INTEGER`).

Beyond it a JavaScript client silently rounds (100000000000000000001 arrives as
100000000000000000000), orjson (Plaza's storage encoder) refuses integers beyond 64 bits, and no
quantity a user books, pays or counts is that large: entity values stay within ±MAX_SAFE_INTEGER."""


def unsafe_number(value: JSONValue) -> int | float | None:
    """The first number in `value` that JSON cannot carry exactly, or None when there is none.

    Such a number is beyond ±MAX_SAFE_INTEGER, NaN or infinite; nested objects and lists are
    searched too (a money value, a payload's list).
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return None if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else value  # NaN compares False
    items = value.values() if isinstance(value, Mapping) else value if isinstance(value, list | tuple) else ()
    for item in items:
        found = unsafe_number(item)
        if found is not None:
            return found
    return None


@dataclass(frozen=True, slots=True)
class Entity:
    """One entity found in a message.

    `start`/`end` are character offsets into the parsed text, `text` is `text[start:end]`.
    `value` is normalised and JSON-ready: the canonical catalog value for a lookup match,
    an int for a number or a party size, an ISO 8601 string for a time, `{"from", "to"}`
    for a time interval, `{"amount", "currency"}` (integer minor units) for money.
    `additional_info` carries what a normaliser knows beyond the value (a time's grain,
    whether the date or the hour was said explicitly, a duration's unit...).
    """

    entity: str
    value: JSONValue
    start: int
    end: int
    text: str
    extractor: str
    confidence: float = 1.0
    role: str | None = None
    group: str | None = None
    additional_info: Mapping[str, JSONValue] | None = None

    def to_rasa(self) -> dict[str, JSONValue]:
        out: dict[str, JSONValue] = {
            "entity": self.entity,
            "start": self.start,
            "end": self.end,
            "value": self.value,
            "extractor": self.extractor,
            "confidence_entity": round(self.confidence, 4),
        }
        if self.role is not None:
            out["role"] = self.role
        if self.group is not None:
            out["group"] = self.group
        if self.additional_info is not None:
            out["additional_info"] = dict(self.additional_info)
        return out


@dataclass(frozen=True, slots=True)
class IntentScore:
    name: str
    confidence: float

    def to_rasa(self) -> dict[str, JSONValue]:
        return {"name": self.name, "confidence": round(self.confidence, 4)}


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What the NLU understood of one message."""

    text: str
    language: str
    intent: IntentScore
    intent_ranking: tuple[IntentScore, ...]
    entities: tuple[Entity, ...]
    bot: str | None = None

    def to_rasa(self) -> dict[str, JSONValue]:
        """Rasa's `/model/parse` shape, plus Plaza's `language` and `bot` keys."""
        return {
            "text": self.text,
            "intent": self.intent.to_rasa(),
            "entities": [e.to_rasa() for e in self.entities],
            "intent_ranking": [i.to_rasa() for i in self.intent_ranking],
            "language": self.language,
            "bot": self.bot,
        }


@dataclass(frozen=True, slots=True)
class EntitySpan:
    """An annotated entity in a training example (character offsets into `Example.text`)."""

    start: int
    end: int
    entity: str
    value: str
    role: str | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class Example:
    """One training or test utterance."""

    text: str
    intent: str
    entities: tuple[EntitySpan, ...] = ()


@dataclass(frozen=True, slots=True)
class LookupTable:
    """Values an entity can take (Rasa `lookup:`); matched with fuzzy tolerance at parse time."""

    name: str
    elements: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RegexFeature:
    """A named pattern (Rasa `regex:`); used as a feature and, when its name is an entity, an extractor."""

    name: str
    patterns: tuple[str, ...]


@dataclass(slots=True)
class TrainingData:
    """Everything a Rasa `nlu.yml` can hold, for one language."""

    examples: list[Example] = field(default_factory=list)
    synonyms: dict[str, str] = field(default_factory=dict)
    """Surface form (lower-cased) -> canonical value."""
    lookups: list[LookupTable] = field(default_factory=list)
    regexes: list[RegexFeature] = field(default_factory=list)

    @property
    def intents(self) -> list[str]:
        return sorted({e.intent for e in self.examples})

    @property
    def entity_types(self) -> list[str]:
        return sorted({s.entity for e in self.examples for s in e.entities})

    def merge(self, other: TrainingData) -> TrainingData:
        return TrainingData(
            examples=[*self.examples, *other.examples],
            synonyms={**self.synonyms, **other.synonyms},
            lookups=[*self.lookups, *other.lookups],
            regexes=[*self.regexes, *other.regexes],
        )
