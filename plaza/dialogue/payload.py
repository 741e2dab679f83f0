"""Button payloads in Rasa's syntax: `/intent` or `/intent{"entity": "value"}`.

Plaza lets the intent name its bot, `/restaurant.book_table{"restaurant": "bellini"}`, so a button
pressed in the concierge chat reaches the right bot.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson

from plaza.errors import BadInput

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
        try:
            decoded = json.loads(match.group("entities"))
        except json.JSONDecodeError as exc:
            raise BadInput(f"button payload {text[:80]!r} has invalid JSON entities: {exc.msg}") from exc
        if not isinstance(decoded, dict):
            raise BadInput(f"button payload {text[:80]!r}: entities must be a JSON object")
        entities = decoded
    name = match.group("intent")
    bot, _, intent = name.rpartition(".")
    return Payload(bot=bot or None, intent=intent, entities=entities)


def make_payload(intent: str, entities: dict[str, Any] | None = None, bot: str | None = None) -> str:
    name = f"{bot}.{intent}" if bot else intent
    if not entities:
        return f"/{name}"
    return f"/{name}{orjson.dumps(entities).decode()}"
