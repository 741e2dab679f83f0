"""Conversation tests: YAML files of user turns and the bot behaviour expected after each.

Each conversation runs through the whole engine (router, NLU, dialogue, actions, the database),
on a fresh database and a fixed clock, as a user on the in-memory `test` channel. Used by
`plaza test` and by pytest (`tests/test_conversations.py`). The format is documented in
docs/conversation-tests.md.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from plaza.app import Plaza
from plaza.clock import FixedClock
from plaza.dialogue.events import ActionExecutionRejected
from plaza.domain import fill
from plaza.errors import BadInput, ConfigError
from plaza.messages import Button, Inbound, Reply

DEFAULT_NOW = "2026-11-20T15:00:00+01:00"
"""A Friday afternoon in Paris, unless a file says otherwise."""


@dataclass(slots=True)
class Outcome:
    file: str
    name: str
    failures: list[str] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def explain(self) -> str:
        lines = [f"{self.file} :: {self.name}", *("  FAIL " + f for f in self.failures), "  transcript:"]
        lines.extend("    " + t for t in self.transcript)
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class ConversationSpec:
    file: str
    name: str
    language: str | None
    now: datetime
    steps: list[Mapping[str, Any]]


def _now(raw: Any, where: str) -> datetime:
    try:
        value = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    except ValueError as exc:
        raise ConfigError(f"{where}: `now`/`clock` must be an ISO datetime with offset: {raw!r}") from exc
    if value.tzinfo is None:
        raise ConfigError(f"{where}: `now`/`clock` needs a UTC offset: {raw!r}")
    return value


class _Loader(yaml.SafeLoader):
    """YAML where `yes`, `no`, `on`, `off` stay words: users say them (only true/false are booleans)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_specs(path: Path) -> list[ConversationSpec]:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - a SafeLoader
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read conversation tests {path}: {exc}") from exc
    if not isinstance(raw, Mapping) or not isinstance(raw.get("conversations"), list):
        raise ConfigError(f"{path}: expected a mapping with a `conversations:` list")
    now = _now(raw.get("now", DEFAULT_NOW), str(path))
    specs: list[ConversationSpec] = []
    for i, conv in enumerate(raw["conversations"]):
        if not isinstance(conv, Mapping) or not isinstance(conv.get("steps"), list):
            raise ConfigError(f"{path}: conversation {i} needs a `steps:` list")
        specs.append(
            ConversationSpec(
                file=str(path),
                name=str(conv.get("name") or f"conversation {i + 1}"),
                language=conv.get("language", raw.get("language")),
                now=_now(conv["now"], str(path)) if "now" in conv else now,
                steps=list(conv["steps"]),
            )
        )
    return specs


def _reply_text(reply: Reply) -> str:
    parts = [reply.text or ""]
    parts.extend(f"{c.title} {c.subtitle or ''}" for c in reply.cards)
    return " ".join(parts)


def _all_buttons(reply: Reply) -> list[Button]:
    return [*reply.buttons, *(b for c in reply.cards for b in c.buttons)]


def _describe(reply: Reply) -> str:
    text = (reply.text or "").replace("\n", " / ")
    cards = "".join(
        f" [card: {c.title}" + "".join(f" ({b.title})" for b in c.buttons) + "]" for c in reply.cards
    )
    buttons = "".join(f" [{b.title}]" for b in reply.buttons)
    return f"bot: {text}{cards}{buttons}"


def check_reply(expect: Mapping[str, Any], reply: Reply, memory: Mapping[str, str]) -> str | None:
    """None if `reply` meets `expect`, else why not."""
    text = _reply_text(reply)
    titles = [b.title for b in _all_buttons(reply)]
    for key, want in expect.items():
        match key:
            case "text":
                if (reply.text or "") != fill(str(want), memory):
                    return f"text is {reply.text!r}, expected {want!r}"
            case "contains":
                for piece in want if isinstance(want, list) else [want]:
                    if fill(str(piece), memory).lower() not in text.lower():
                        return f"{text!r} does not contain {piece!r}"
            case "not_contains":
                for piece in want if isinstance(want, list) else [want]:
                    if fill(str(piece), memory).lower() in text.lower():
                        return f"{text!r} contains {piece!r}"
            case "matches":
                if re.search(fill(str(want), memory), text, re.IGNORECASE | re.DOTALL) is None:
                    return f"{text!r} does not match /{want}/"
            case "buttons":
                if titles != [fill(str(w), memory) for w in want]:
                    return f"buttons are {titles}, expected {want}"
            case "buttons_contain":
                for piece in want if isinstance(want, list) else [want]:
                    if not any(fill(str(piece), memory).lower() in t.lower() for t in titles):
                        return f"no button contains {piece!r} (buttons: {titles})"
            case "cards":
                if len(reply.cards) < int(want):
                    return f"{len(reply.cards)} cards, expected at least {want}"
            case _:
                return f"unknown reply expectation {key!r}"
    return None


class ConversationRunner:
    """Runs specs; `open_app(now)` must return a Plaza on a fresh database with a FixedClock."""

    def __init__(self, open_app: Any) -> None:
        self._open_app = open_app

    async def run(self, spec: ConversationSpec) -> Outcome:
        outcome = Outcome(spec.file, spec.name)
        clock = FixedClock(spec.now)
        plaza: Plaza = await self._open_app(clock)
        try:
            await self._run_steps(plaza, clock, spec, outcome)
        finally:
            await plaza.close()
        return outcome

    async def _run_steps(
        self, plaza: Plaza, clock: FixedClock, spec: ConversationSpec, outcome: Outcome
    ) -> None:
        senders: dict[str, str] = {}
        memory: dict[str, str] = {}
        last_buttons: dict[str, list[Button]] = {}
        for index, step in enumerate(spec.steps, 1):
            where = f"step {index}"
            if "clock" in step:
                clock.set(_now(step["clock"], where))
                outcome.transcript.append(f"(clock -> {step['clock']})")
                continue
            who = str(step.get("as", "user"))
            sender = senders.setdefault(who, f"{who}-{secrets.token_hex(4)}")
            inbound = self._inbound(step, sender, spec.language, last_buttons.get(who, []), memory, where)
            if isinstance(inbound, str):
                outcome.failures.append(inbound)
                return
            label = f"{who}: {inbound.text}" + (f"  <{inbound.payload}>" if inbound.payload else "")
            outcome.transcript.append(label)
            try:
                result = await plaza.engine.handle(inbound)
            except BadInput as exc:
                outcome.transcript.append(f"(rejected: {exc})")
                if not step.get("rejected"):
                    outcome.failures.append(f"{where}: input rejected: {exc}")
                    return
                continue
            if step.get("rejected"):
                outcome.failures.append(f"{where}: expected the input to be rejected")
                return
            replies = [r.reply for r in result.replies]
            outcome.transcript.extend(_describe(r) for r in replies)
            last_buttons[who] = [b for r in replies for b in _all_buttons(r)]
            state = await plaza.engine.state(result.conversation_id)
            outcome.failures.extend(
                f"{where} ({inbound.text!r}): {problem}"
                for problem in self._check(step, result.parse, replies, state, memory)
            )
            rejected = [e for e in state.recent_events if e.get("event") == ActionExecutionRejected.type_name]
            if rejected and step.get("action_error") is not True:
                outcome.failures.append(f"{where}: an action failed: {rejected[-1].get('name')}")
            if outcome.failures:
                return

    def _inbound(
        self,
        step: Mapping[str, Any],
        sender: str,
        language: str | None,
        buttons: Sequence[Button],
        memory: Mapping[str, str],
        where: str,
    ) -> Inbound | str:
        def message(text: str, payload: str | None = None) -> Inbound:
            return Inbound(
                channel="test",
                channel_user_id=sender,
                chat_id=sender,
                text=text,
                payload=payload,
                language=language,
            )

        if "user" in step:
            return message(fill(str(step["user"]), memory))
        if "payload" in step:
            payload = fill(str(step["payload"]), memory)
            return message(payload, payload)
        if "press" in step:
            wanted = step["press"]
            if isinstance(wanted, int):
                if not 1 <= wanted <= len(buttons):
                    return f"{where}: no button {wanted} to press (buttons: {[b.title for b in buttons]})"
                button = buttons[wanted - 1]
            else:
                piece = fill(str(wanted), memory).lower()
                found = [b for b in buttons if piece in b.title.lower()]
                if not found:
                    return (
                        f"{where}: no button titled like {wanted!r} (buttons: {[b.title for b in buttons]})"
                    )
                button = found[0]
            return message(button.title, button.payload)
        return f"{where}: a step needs one of user, press, payload or clock"

    @staticmethod
    def _check(
        step: Mapping[str, Any], parse: Any, replies: Sequence[Reply], state: Any, memory: dict[str, str]
    ) -> list[str]:
        problems: list[str] = []
        if "intent" in step and parse is not None and parse.intent.name != step["intent"]:
            said = f"{parse.intent.name!r} ({parse.intent.confidence:.2f})"
            problems.append(f"intent is {said}, expected {step['intent']!r}")
        if "entities" in step and parse is not None:
            got = {e.entity: e.value for e in parse.entities}
            for name, value in dict(step["entities"]).items():
                if got.get(name) != value:
                    problems.append(f"entity {name} is {got.get(name)!r}, expected {value!r}")
        bot = state.bot
        slots = state.bot_state(bot).slots if bot else {}
        for name, value in dict(step.get("slots") or {}).items():
            if slots.get(name) != value:
                problems.append(f"slot {name} is {slots.get(name)!r}, expected {value!r}")
        if "form" in step:
            active = state.bot_state(bot).active_loop if bot else None
            if active != step["form"]:
                problems.append(f"active form is {active!r}, expected {step['form']!r}")
        if "language" in step and state.language != step["language"]:
            problems.append(f"conversation language is {state.language!r}, expected {step['language']!r}")
        expectations = list(step.get("bot") or [])
        position = 0
        for expect in expectations:
            why = "no reply left"
            while position < len(replies):
                why = check_reply(expect, replies[position], memory) or ""
                position += 1
                if not why:
                    break
            else:
                problems.append(f"expected a reply with {dict(expect)}: {why}")
        if "replies" in step and len(replies) != int(step["replies"]):
            problems.append(f"{len(replies)} replies, expected {step['replies']}")
        for name, pattern in dict(step.get("remember") or {}).items():
            found = None
            for reply in replies:
                found = re.search(
                    str(pattern), _reply_text(reply) + " " + " ".join(b.payload for b in _all_buttons(reply))
                )
                if found:
                    break
            if found is None:
                problems.append(f"nothing to remember as {name}: /{pattern}/ not in the replies")
            else:
                memory[name] = found.group(1) if found.groups() else found.group(0)
        return problems
