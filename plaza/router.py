"""Which bot answers, and what the message means to it (design step 3 and 4).

A button payload names its bot; a bot chat belongs to its bot; the bot the conversation is
engaged with keeps it while it is in a form or understands the message surely; otherwise the
NLU's router picks the bot from the message, and the chosen bot's model parses it.
Language is detected per message; a message only switches the
conversation's language when the detector is sure (short answers like "4" or "ok" are not).
Typing the title of a button the bot just offered ("the time", "l'heure") presses it, as people
do on channels where buttons are easy to miss.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plaza.bots import BotRuntime, runtime_of
from plaza.dialogue.payload import exact_entities, parse_payload
from plaza.dialogue.state import REOFFER, ConversationState
from plaza.errors import UnknownPayload
from plaza.messages import Inbound
from plaza.nlu import builtin
from plaza.nlu.lookup import normalise
from plaza.nlu.picks import picked_index
from plaza.nlu.service import NLUService
from plaza.nlu.types import CONCIERGE, OUT_OF_SCOPE, Entity, IntentScore, ParseResult

SWITCH_CONFIDENCE = 0.8
"""How sure the router must be to take a conversation away from the bot it is engaged with."""
FIRST_MESSAGE_LANGUAGE_CONFIDENCE = 0.3
"""A conversation's first message sets its language on weaker evidence ("bonjour" alone)."""
MAX_TITLE_CHARS = 64
"""Longer messages are never a button's title: they are not compared at all."""


@dataclass(frozen=True, slots=True)
class Understanding:
    bot: str | None
    language: str
    parse: ParseResult


class Router:
    def __init__(
        self,
        nlu: NLUService,
        bots: Mapping[str, BotRuntime],
        concierge: BotRuntime,
        *,
        language_confidence: float,
    ) -> None:
        self._nlu = nlu
        self._bots = bots
        self._concierge = concierge
        self._language_confidence = language_confidence

    def runtime(self, bot: str | None) -> BotRuntime:
        return runtime_of(self._bots, self._concierge, bot)

    def understand(self, inbound: Inbound, state: ConversationState, now: datetime) -> Understanding:
        content = inbound.content
        if state.offered and not content.startswith("/"):
            pressed = pressed_by_title(content, state.offered)
            if pressed is None and state.latest_action == REOFFER:
                pressed = pressed_by_ordinal(content, state.offered, state.language, now)
            content = pressed or content
        payload = parse_payload(content) if content.startswith("/") else None
        if payload is not None:
            return self._from_payload(inbound, state, payload.bot, payload.intent, payload.entities)
        language = self.language_of(content, state.language, first=state.turns == 0)
        if inbound.bot is not None:
            return Understanding(inbound.bot, language, self._nlu.parse(content, inbound.bot, language, now))
        engaged = state.bot if state.bot in self._bots else None
        engaged_parse: ParseResult | None = None
        if engaged is not None:
            engaged_parse = self._nlu.parse(content, engaged, language, now)
            if state.bot_state(engaged).active_loop is not None or self._understood(engaged_parse):
                return Understanding(engaged, language, engaged_parse)
        bot = self.choose_bot(engaged, content, language)
        if bot == engaged and engaged_parse is not None:
            return Understanding(bot, language, engaged_parse)
        return Understanding(bot, language, self._nlu.parse(content, bot or CONCIERGE, language, now))

    def language_of(self, text: str, current: str, *, first: bool) -> str:
        """The message's language when detected surely enough, else `current`.

        A conversation's first message (and a parse with no conversation) decides on weaker
        evidence than a message in a conversation whose language is known.
        """
        if not text:
            return current
        detected, confidence = self._nlu.detect_language(text)
        needed = FIRST_MESSAGE_LANGUAGE_CONFIDENCE if first else self._language_confidence
        return detected if confidence >= needed else current

    @staticmethod
    def _understood(parse: ParseResult) -> bool:
        return parse.intent.name != OUT_OF_SCOPE and parse.intent.confidence >= SWITCH_CONFIDENCE

    def choose_bot(self, engaged: str | None, text: str, language: str) -> str | None:
        """The router model's pick, when the engaged bot did not understand the message."""
        ranking = self._nlu.route(text, language)
        if not ranking:
            return engaged
        top, confidence = ranking[0]
        if top == CONCIERGE:
            return engaged
        if engaged is not None and top != engaged and confidence < SWITCH_CONFIDENCE:
            return engaged
        return top

    def _owner_of(self, intent: str, preferred: str | None) -> str | None:
        """The bot whose intent this is: the preferred (engaged) bot first, then any single owner."""
        if (
            preferred is not None
            and preferred in self._bots
            and intent in self._bots[preferred].domain.intents
        ):
            return preferred
        if intent in self._concierge.domain.intents:
            return preferred
        owners = [name for name, rt in self._bots.items() if intent in rt.domain.intents]
        return owners[0] if len(owners) == 1 else None

    def _from_payload(
        self,
        inbound: Inbound,
        state: ConversationState,
        named_bot: str | None,
        intent: str,
        entities: Mapping[str, object],
    ) -> Understanding:
        if named_bot is not None and named_bot not in self._bots and named_bot != CONCIERGE:
            raise UnknownPayload(f"button payload names unknown bot {named_bot!r}")
        bot = named_bot if named_bot is not None else self._owner_of(intent, inbound.bot or state.bot)
        runtime = self.runtime(bot)
        if intent not in runtime.domain.intents and intent not in self._concierge.domain.intents:
            where = f"bot {runtime.name!r}" if bot else "any bot"
            raise UnknownPayload(f"button payload intent {intent!r} is not an intent of {where}")
        unknown_entities = [k for k in entities if k not in runtime.domain.entities]
        if unknown_entities:
            raise UnknownPayload(
                f"button payload entities {unknown_entities} are not entities of {runtime.name!r}"
            )
        language = state.language
        score = IntentScore(intent, 1.0)
        parse = ParseResult(
            text=inbound.content,
            language=language,
            intent=score,
            intent_ranking=(score,),
            entities=tuple(
                Entity(entity=k, value=v, start=0, end=0, text=str(v), extractor="payload")
                for k, v in exact_entities(entities).items()
            ),
            bot=None if bot == CONCIERGE else bot,
        )
        return Understanding(bot=parse.bot, language=language, parse=parse)


def title_key(text: str) -> str:
    """A button title as people type it: case, accents, punctuation and spacing do not matter."""
    return " ".join("".join(c if c.isalnum() else " " for c in normalise(text)).split())


def pressed_by_ordinal(
    text: str, offered: Sequence[Mapping[str, Any]], language: str, now: datetime
) -> str | None:
    """The payload of the offered button that "the first one" / "la deuxième" points at.

    Used right after "Which one?" (`REOFFER`), when the only things on offer are buttons; after
    cards, an ordinal picks a card, and that is the bot's business (its search results).  The
    rule is the cards' own (`picks.picked_index`).
    """
    found = builtin.extract(text, language, now, ("ordinal", "time"))
    index = picked_index(
        text,
        [(e.start, e.end, e.value) for e in found if e.entity == "ordinal"],
        [(e.start, e.end) for e in found if e.entity == "time"],
        len(offered),
        long_picks=False,
    )
    return None if index is None else str(offered[index]["payload"])


def pressed_by_title(text: str, offered: Sequence[Mapping[str, Any]]) -> str | None:
    """The payload of the one offered button whose title `text` is, if there is one."""
    if len(text) > MAX_TITLE_CHARS:
        return None
    key = title_key(text)
    payloads = {str(b["payload"]) for b in offered if key and title_key(str(b.get("title", ""))) == key}
    return payloads.pop() if len(payloads) == 1 else None
