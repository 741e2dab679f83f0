"""Reading JSON request bodies with clear 4xx errors for every way they can be wrong."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from plaza.errors import BadInput, PayloadTooLarge
from plaza.storage.json_values import MAX_INPUT_DEPTH, deeper_than

MAX_BODY_BYTES = 1024 * 1024
"""The server's request body limit (aiohttp's `client_max_size`)."""


async def json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object, or BadInput/PayloadTooLarge saying what is wrong."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise PayloadTooLarge(f"request body too large; the limit is {MAX_BODY_BYTES} bytes") from exc
    if not raw:
        raise BadInput("empty request body: send a JSON object")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadInput(
            f"request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    if not isinstance(body, dict):
        raise BadInput(f"request body must be a JSON object, got {type(body).__name__}")
    return body


def text_field(
    body: Mapping[str, Any], key: str, *, max_chars: int, required: bool = True, allow_empty: bool = False
) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise BadInput(f"missing field {key!r}")
        return None
    if not isinstance(value, str):
        raise BadInput(f"field {key!r} must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise BadInput(f"field {key!r} must not be empty")
    if len(value) > max_chars:
        raise PayloadTooLarge(f"field {key!r} is {len(value)} characters; the limit is {max_chars}")
    if "\x00" in value:
        raise BadInput(f"field {key!r} contains a NUL character")
    return value


def object_field(body: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadInput(f"field {key!r} must be a JSON object, got {type(value).__name__}")
    if deeper_than(value, MAX_INPUT_DEPTH):
        raise BadInput(f"field {key!r} nests more than {MAX_INPUT_DEPTH} levels of lists and objects")
    return value


def json_response(data: Any, status: int = 200) -> web.Response:
    """A JSON response encoded with orjson (every REST turn ends in one)."""
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")
