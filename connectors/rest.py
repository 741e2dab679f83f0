"""Rasa's REST channel, so existing Rasa clients work unchanged.

    POST /webhooks/rest/webhook  {"sender": "...", "message": "...", "metadata": {...}}
    -> [{"recipient_id", "text", "buttons": [{"title", "payload"}], "image", "custom"}, ...]

A button's payload sent back as the message presses it. Plaza reads three optional metadata
keys: `message_id` (a message the same sender re-sends with the same id is answered once, with
the same replies; ids are the sender's own, so another sender's "1" is another message),
`language` (the user's language, used for a new conversation) and `bot` (talk in that bot's
chat rather than the concierge's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import web

from plaza.errors import BadInput, ConfigError
from plaza.messages import Capability, Inbound, Reply, degrade
from plaza.server.requests import json_object, json_response, object_field, text_field

if TYPE_CHECKING:
    from plaza.app import Plaza

CAPABILITIES = frozenset({Capability.TEXT, Capability.BUTTONS, Capability.IMAGE, Capability.CUSTOM})
MAX_ID_CHARS = 200


def to_inbound(
    body: Mapping[str, Any], *, max_chars: int, bots: Sequence[str], languages: Sequence[str]
) -> Inbound:
    """Validate a REST webhook body and turn it into an Inbound (pure: no I/O)."""
    raw_sender = body.get("sender")
    if isinstance(raw_sender, int) and not isinstance(raw_sender, bool):
        body = {**body, "sender": str(raw_sender)}  # as Rasa's UserMessage does: clients send user ids
    sender = text_field(body, "sender", max_chars=MAX_ID_CHARS)
    message = text_field(body, "message", max_chars=max_chars)
    metadata = object_field(body, "metadata")
    message_id = text_field(metadata, "message_id", max_chars=MAX_ID_CHARS, required=False)
    language = text_field(metadata, "language", max_chars=8, required=False)
    bot = text_field(metadata, "bot", max_chars=64, required=False)
    if language is not None and language not in languages:
        raise BadInput(f"metadata.language {language!r} is not one of {list(languages)}")
    if bot is not None and bot not in bots:
        raise BadInput(f"metadata.bot {bot!r} is not an installed bot: {list(bots)}")
    return Inbound(
        channel="rest",
        channel_user_id=str(sender),
        chat_id=str(sender),
        text=str(message),
        external_id=message_id,
        bot=bot,
        language=language,
        metadata=metadata,
    )


def render(recipient_id: str, replies: Sequence[Reply]) -> list[dict[str, Any]]:
    """Rasa's REST output: one object per message, keys only when present."""
    return [
        {"recipient_id": recipient_id, **part.to_dict()}
        for reply in replies
        for part in degrade(reply, CAPABILITIES)
    ]


class RestConnector:
    name = "rest"
    capabilities = CAPABILITIES

    def __init__(self, plaza: Plaza) -> None:
        self._plaza = plaza

    def routes(self) -> Sequence[web.AbstractRouteDef]:
        return [web.post("/webhooks/rest/webhook", self.webhook), web.get("/webhooks/rest/", self.status)]

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def status(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def webhook(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        config = self._plaza.config
        inbound = to_inbound(
            body,
            max_chars=config.server.max_message_chars,
            bots=list(self._plaza.bots),
            languages=config.languages,
        )
        result = await self._plaza.engine.handle(inbound)
        response = json_response(render(inbound.channel_user_id, [r.reply for r in result.replies]))
        try:
            await response.prepare(request)
            await response.write_eof()
        except ConnectionResetError:
            # The client left before its replies were written: they stay pending, and the same
            # message re-sent with its message_id gets them. aiohttp logged this as an error.
            return response
        self._plaza.delivery.delivered([r.delivery_id for r in result.replies])
        return response


def create_connector(plaza: Plaza, settings: Mapping[str, Any]) -> RestConnector:
    if settings:
        raise ConfigError(f"the rest connector takes no settings, got {sorted(settings)}")
    return RestConnector(plaza)
