"""The one place where errors become HTTP statuses. Clients get JSON `{"error": ...}`, never a traceback."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from plaza.errors import BadInput, ConflictError, NotFound

log = logging.getLogger(__name__)


def error_response(status: int, message: str) -> web.Response:
    return web.json_response({"error": message, "status": status}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except (BadInput, NotFound) as exc:
        return error_response(exc.status, str(exc))
    except ConflictError as exc:
        log.warning("conflict not resolved by retries on %s: %s", request.path, exc)
        return error_response(409, "the conversation is busy; retry the message")
    except web.HTTPRequestEntityTooLarge as exc:
        return error_response(413, f"request body too large: {exc.text or 'limit exceeded'}")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(exc.status, exc.reason)
    except ConnectionResetError:
        raise  # the client left; aiohttp logs it at debug level
    except Exception:
        log.exception("unexpected error on %s", request.path)
        return error_response(500, "internal error; it has been logged")
