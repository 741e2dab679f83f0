"""A bare aiohttp endpoint that does nothing: the machine's ceiling for bench/load.py."""

from __future__ import annotations

import sys

from aiohttp import web


async def webhook(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response([])


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    app = web.Application()
    app.add_routes([web.post("/webhooks/rest/webhook", webhook), web.get("/health", health)])
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
