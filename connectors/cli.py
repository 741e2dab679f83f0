"""The terminal channel (`plaza chat`): buttons are numbered; typing a number presses one.

It talks to the app in-process, or to a running server over REST (`--url`), rendering both the
same way.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

import aiohttp

from plaza.messages import Button, Capability, Inbound, Reply, degrade

if TYPE_CHECKING:
    from plaza.app import Plaza

CAPABILITIES = frozenset({Capability.TEXT, Capability.BUTTONS, Capability.IMAGE})
QUIT = {"/quit", "/exit", "/bye"}

Send = Callable[[Inbound], Awaitable[list[Reply]]]


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    choices: tuple[Button, ...]


def render(replies: Sequence[Reply]) -> Rendered:
    """Plain text for the terminal; buttons numbered across the whole turn."""
    lines: list[str] = []
    choices: list[Button] = []
    for reply in replies:
        for part in degrade(reply, CAPABILITIES):
            if part.text:
                lines.append(part.text)
            if part.image:
                lines.append(f"[image] {part.image}")
            for button in part.buttons:
                choices.append(button)
                lines.append(f"  {len(choices)}. {button.title}")
    return Rendered("\n".join(lines), tuple(choices))


def to_inbound(line: str, *, sender: str, language: str | None, choices: Sequence[Button]) -> Inbound:
    """A typed line becomes a message; a number that names a shown choice presses that button."""
    text = line.strip()
    if text.isdigit() and 1 <= int(text) <= len(choices):
        button = choices[int(text) - 1]
        return Inbound(
            channel="cli",
            channel_user_id=sender,
            chat_id=sender,
            text=button.title,
            payload=button.payload,
            language=language,
        )
    return Inbound(channel="cli", channel_user_id=sender, chat_id=sender, text=text, language=language)


def in_process(plaza: Plaza) -> Send:
    async def send(inbound: Inbound) -> list[Reply]:
        result = await plaza.engine.handle(inbound)
        plaza.delivery.delivered([r.delivery_id for r in result.replies])
        return [r.reply for r in result.replies]

    return send


def over_rest(session: aiohttp.ClientSession, url: str) -> Send:
    async def send(inbound: Inbound) -> list[Reply]:
        body: dict[str, Any] = {"sender": inbound.channel_user_id, "message": inbound.content}
        if inbound.language:
            body["metadata"] = {"language": inbound.language}
        async with session.post(url.rstrip("/") + "/webhooks/rest/webhook", json=body) as response:
            data = await response.json()
            if response.status >= 400:
                return [Reply(text=f"[error {response.status}] {data.get('error')}")]
        return [Reply.from_dict(item) for item in data]

    return send


async def chat_loop(
    send: Send, *, sender: str, language: str | None, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout
) -> None:
    loop = asyncio.get_running_loop()
    choices: tuple[Button, ...] = ()
    prompt = "you> "
    stdout.write("Type a message (or a number to press a button); /quit to leave.\n")
    while True:
        stdout.write(prompt)
        stdout.flush()
        line = await loop.run_in_executor(None, stdin.readline)
        if not line or line.strip() in QUIT:
            stdout.write("\n")
            return
        if not line.strip():
            continue
        inbound = to_inbound(line, sender=sender, language=language, choices=choices)
        try:
            replies = await send(inbound)
        except Exception as exc:  # show the problem, keep the session
            stdout.write(f"[error] {exc}\n")
            continue
        rendered = render(replies)
        choices = rendered.choices
        stdout.write("".join(f"bot> {row}\n" for row in rendered.text.splitlines()) or "bot> (no reply)\n")
