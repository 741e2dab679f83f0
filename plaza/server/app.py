"""The HTTP server: Rasa-compatible endpoints plus each configured connector's routes.

Shared resources live in typed `web.AppKey`s, not module globals.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence

from aiohttp import web

from plaza import __version__
from plaza.app import Plaza
from plaza.connector import Connector
from plaza.errors import BadInput
from plaza.nlu.types import CONCIERGE
from plaza.server.errors import error_middleware
from plaza.server.requests import MAX_BODY_BYTES, json_object, text_field

log = logging.getLogger(__name__)

PLAZA = web.AppKey("plaza", Plaza)
CONNECTORS = web.AppKey("connectors", tuple[Connector, ...])


async def root(request: web.Request) -> web.Response:
    return web.Response(text=f"Hello from Plaza {__version__}")


async def health(request: web.Request) -> web.Response:
    plaza = request.app[PLAZA]
    return web.json_response(
        {
            "status": "ok",
            "bots": list(plaza.bots),
            "languages": plaza.config.languages,
            "version": __version__,
        }
    )


async def version(request: web.Request) -> web.Response:
    return web.json_response({"version": __version__, "minimum_compatible_version": __version__})


async def model_parse(request: web.Request) -> web.Response:
    """Rasa's `/model/parse`: `{"text"}` -> intent, entities, intent_ranking (+ Plaza's language, bot).

    Optional `bot` parses with that bot's model; optional `lang` skips language detection.
    """
    plaza = request.app[PLAZA]
    body = await json_object(request)
    text = text_field(body, "text", max_chars=plaza.config.server.max_message_chars, allow_empty=True) or ""
    bot = text_field(body, "bot", max_chars=64, required=False)
    language = text_field(body, "lang", max_chars=8, required=False)
    if bot is not None and bot not in plaza.bots and bot != CONCIERGE:
        raise BadInput(f"unknown bot {bot!r}; installed: {sorted(plaza.bots)}")
    if language is not None and language not in plaza.config.languages:
        raise BadInput(f"unknown language {language!r}; configured: {plaza.config.languages}")
    if language is None:
        # a parse has no conversation behind it: decide as for a conversation's first message
        language = plaza.router.language_of(text, plaza.config.default_language, first=True)
    if bot is None:
        bot = plaza.router.choose_bot(None, text, language) or CONCIERGE
    parse = plaza.nlu.parse(text, bot, language, plaza.clock.now())
    return web.json_response(parse.to_rasa())


def build_app(plaza: Plaza, connectors: Sequence[Connector]) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_BODY_BYTES)
    app[PLAZA] = plaza
    app[CONNECTORS] = tuple(connectors)
    app.add_routes(
        [
            web.get("/", root),
            web.get("/health", health),
            web.get("/version", version),
            web.post("/model/parse", model_parse),
        ]
    )
    for connector in connectors:
        app.add_routes(connector.routes())

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        for connector in app[CONNECTORS]:
            await connector.start()
        yield
        for connector in app[CONNECTORS][::-1]:
            await connector.stop()

    app.cleanup_ctx.append(lifecycle)
    return app
