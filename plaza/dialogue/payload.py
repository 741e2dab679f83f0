"""Button payloads in Rasa's syntax: `/intent` or `/intent{"entity": "value"}`.

Plaza lets the intent name its bot, `/restaurant.book_table{"restaurant": "bellini"}`, so a button
pressed in the concierge chat reaches the right bot.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from plaza.errors import BadInput
from plaza.nlu.types import unsafe_number
from plaza.storage.json_values import MAX_INPUT_DEPTH, deeper_than

_PAYLOAD = re.compile(r"^/(?P<intent>[A-Za-z0-9_.:-]+)(?:@[0-9.]+)?(?P<entities>\{.*\})?\s*$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Payload:
    bot: str | None
    intent: str
    entities: dict[str, Any]


def parse_payload(text: str) -> Payload | None:
    """The payload in `text`, or None when `text` is ordinary text.

    Text starting with a single slash is a payload attempt: a malformed one is rejected clearly.
    """
    if not text.startswith("/") or len(text) < 2 or text[1] in " /":
        return None
    match = _PAYLOAD.match(text)
    if match is None:
        raise BadInput(f"malformed button payload {text[:80]!r}: expected /intent or /intent{{json object}}")
    entities: dict[str, Any] = {}
    if match.group("entities"):
        too_deep = BadInput(f"button payload {text[:80]!r}: entities nest more than {MAX_INPUT_DEPTH} levels")
        try:
            decoded = json.loads(match.group("entities"))
        except ValueError as exc:  # invalid JSON, or an integer of more than 4,300 digits
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise BadInput(f"button payload {text[:80]!r} has invalid JSON entities: {reason}") from exc
        except RecursionError as exc:  # about 1,000 nested brackets: deeper than the decoder goes
            raise too_deep from exc
        if not isinstance(decoded, dict):
            raise BadInput(f"button payload {text[:80]!r}: entities must be a JSON object")
        if deeper_than(decoded, MAX_INPUT_DEPTH):
            raise too_deep
        entities = decoded
    name = match.group("intent")
    bot, _, intent = name.rpartition(".")
    return Payload(bot=bot or None, intent=intent, entities=entities)


def exact_entities(entities: Mapping[str, Any]) -> dict[str, Any]:
    """The entities whose values hold no number JSON cannot carry exactly (`unsafe_number`).

    `json.loads` accepts 1e20, 100000000000000000000, NaN and Infinity. No party, price or count
    is that large, a JavaScript client would round it, and storage cannot encode the int (NaN it
    would store as null): such a value is no entity, as the same digits typed are none. The bot
    answers as it does to any unusable value ("people": "abc"), asking again; the payload's text,
    stored with the turn, keeps what was sent.
    """
    return {name: value for name, value in entities.items() if unsafe_number(value) is None}


def make_payload(intent: str, entities: dict[str, Any] | None = None, bot: str | None = None) -> str:
    name = f"{bot}.{intent}" if bot else intent
    if not entities:
        return f"/{name}"
    return f"/{name}{orjson.dumps(entities).decode()}"
