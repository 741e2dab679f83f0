"""The NLU as the engine uses it: detect the language, route to a bot, parse with that bot's model.

Each bot has its own model per language (its intents plus the common ones), so adding or
changing a bot retrains only that bot and the router (or the router's shard the bot is in).
Entities come from three sources, merged here: the bot's trained tagger (and regexes), its
catalog lookups (fuzzy), and the built-in extractors (dates and times, numbers, party sizes,
money, phone, e-mail).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from plaza.nlu import builtin
from plaza.nlu.language import LanguageDetector
from plaza.nlu.lookup import LookupExtractor
from plaza.nlu.model import IntentEntityModel, ModelOutput, PackedOutput
from plaza.nlu.types import CONCIERGE, OUT_OF_SCOPE, RANKING_SIZE, ROUTER, Entity, ParseResult

_SOURCE_RANK = {"lookup": 0, "regex": 1}
"""For two overlapping entities of one type: the lower rank wins, then the longer span."""


class RouterModel(Protocol):
    """What the service asks of a router.

    One model, or several shards answering as one (`router_shards.ShardedRouter`).
    """

    def parse(self, text: str) -> ModelOutput: ...


@dataclass(frozen=True, slots=True)
class BotModels:
    """One bot's NLU: a model per language, its catalog lookups, the built-in dimensions it uses."""

    models: Mapping[str, IntentEntityModel]
    lookup: LookupExtractor | None
    builtin_dims: frozenset[str]
    catalog: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Canonical values of each catalog (lookup) entity type: restaurant ids, cuisine keys..."""


def _overlaps(a: Entity, b: Entity) -> bool:
    return a.start < b.end and b.start < a.end


def merge_entities(found: Sequence[Entity], catalog_types: Collection[str] = ()) -> list[Entity]:
    """Keep the best of overlapping spans of one kind; different kinds may overlap.

    A kind is an entity type, except that all catalog types are one kind: a span is a restaurant
    or a cuisine, not both ("Trattoria Bellini" is a restaurant even though "trattoria" is a word
    for Italian food). Built-in types (a time, a number) may overlap anything.
    """

    def kind(e: Entity) -> str:
        return "catalog" if e.entity in catalog_types else e.entity

    ranked = sorted(
        found, key=lambda e: (_SOURCE_RANK.get(e.extractor, 2), -(e.end - e.start), -e.confidence, e.start)
    )
    kept: list[Entity] = []
    for entity in ranked:
        if any(kind(k) == kind(entity) and _overlaps(k, entity) for k in kept):
            continue
        kept.append(entity)
    kept.sort(key=lambda e: (e.start, e.end, e.entity))
    return kept


class NLUService:
    """Parses messages. Model outputs are cached per (bot, language, text).

    They depend on the text alone, and chat traffic repeats itself ("yes", "hello", "my
    bookings"); built-in entities ("tomorrow") depend on the clock and are computed every time.
    """

    def __init__(
        self,
        *,
        detector: LanguageDetector | None,
        router: Mapping[str, RouterModel],
        bots: Mapping[str, BotModels],
        default_language: str,
        cache_size: int = 20_000,
    ) -> None:
        self._detector = detector
        self._router = router
        self._bots = bots
        self._default_language = default_language
        self._outputs: OrderedDict[tuple[str, str, str], PackedOutput] = OrderedDict()
        self._cache_size = cache_size

    def _output(
        self, name: str, model: RouterModel, language: str, text: str, top: int | None = None
    ) -> ModelOutput:
        key = (name, language, text)
        packed = self._outputs.get(key)
        if packed is not None:
            self._outputs.move_to_end(key)
            return ModelOutput.unpacked(packed, top)
        found = model.parse(text)
        self._outputs[key] = found.packed()
        if len(self._outputs) > self._cache_size:
            self._outputs.popitem(last=False)
        return found

    @property
    def bots(self) -> Collection[str]:
        return self._bots.keys()

    def detect_language(self, text: str) -> tuple[str, float]:
        """The message's language and how sure; an app with one language needs no detector."""
        if self._detector is None:
            return self._default_language, 1.0
        language, confidence = self._detector.detect(text)
        return str(language), float(confidence)

    def route(self, text: str, language: str) -> list[tuple[str, float]]:
        """Bots ranked by how likely the message is meant for them ("concierge" for none of them).

        The router's out-of-scope decision means no bot: the concierge answers it.
        """
        model = self._router.get(language) or self._router.get(self._default_language)
        if model is None:
            return []
        ranking: list[tuple[str, float]] = []
        output = self._output(ROUTER, model, language, text)
        for score in output.scores:
            name = CONCIERGE if score.name == OUT_OF_SCOPE else score.name
            if name in self._bots and all(name != seen for seen, _ in ranking):
                ranking.append((name, score.confidence))
        return ranking

    def _model(self, bot: str, language: str) -> IntentEntityModel:
        models = self._bots[bot].models
        found = models.get(language) or models.get(self._default_language)
        if found is None:
            found = next(iter(models.values()))
        return found

    def parse(self, text: str, bot: str, language: str, now: datetime) -> ParseResult:
        bot_models = self._bots[bot]
        # a parse shows the best RANKING_SIZE intents; one more in case out-of-scope is on top
        output = self._output(bot, self._model(bot, language), language, text, top=RANKING_SIZE + 1)
        found: list[Entity] = list(output.entities)
        if bot_models.lookup is not None:
            found.extend(bot_models.lookup.extract(text))
            found = [self._reconcile(bot_models, e) for e in found]
        if bot_models.builtin_dims:
            found.extend(builtin.extract(text, language, now, bot_models.builtin_dims))
        # The model's threshold says "unsure", which is not "no bot does this": the dialogue
        # has its own threshold and asks a clarifying question with the nearest options.
        ranking = output.scores
        return ParseResult(
            text=text,
            language=language,
            intent=ranking[0],
            intent_ranking=tuple(ranking[:RANKING_SIZE]),
            entities=tuple(merge_entities(found, bot_models.catalog.keys())),
            bot=None if bot == CONCIERGE else bot,
        )

    @classmethod
    def _reconcile(cls, models: BotModels, entity: Entity) -> Entity:
        """A tagger span of a catalog type, checked against the catalog.

        Its value may be another type's canonical value (the tagger said cuisine, the catalog
        says restaurant): the catalog wins. Otherwise the lookup resolves its text when it can; an
        unknown name is kept as said, so the bot can answer "I don't know that place".
        """
        if entity.extractor == "lookup" or entity.entity not in models.catalog:
            return entity
        if entity.value in models.catalog[entity.entity]:
            return entity
        owner = next((t for t, values in models.catalog.items() if entity.value in values), None)
        if owner is not None:
            return replace(entity, entity=owner)
        assert models.lookup is not None
        return cls._resolve(models.lookup, entity)

    @staticmethod
    def _resolve(lookup: LookupExtractor, entity: Entity) -> Entity:
        """A tagger span gets the catalog's canonical value when the lookup knows its text."""
        for match in lookup.extract(entity.text):
            if match.entity == entity.entity and match.start == 0 and match.end == len(entity.text):
                return replace(entity, value=match.value, confidence=min(entity.confidence, match.confidence))
        return entity
