"""Tracker events: frozen values that serialise to Rasa's wire format.

Actions return them, the tracker applies them, the store appends them. The `event` key of the
wire dict is the class's `type_name`; `event_from_dict` is the one place that parses wire dicts
(from a brand's action server, or from storage) back into values, rejecting unknown shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from plaza.errors import ActionError


@dataclass(frozen=True, slots=True)
class Event:
    type_name: ClassVar[str] = ""
    timestamp: float | None = field(default=None, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.type_name, "timestamp": self.timestamp}
        out.update(self._payload())
        return out

    def _payload(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True, slots=True)
class UserUttered(Event):
    type_name: ClassVar[str] = "user"
    text: str | None
    parse_data: Mapping[str, Any] = field(default_factory=dict)
    input_channel: str | None = None
    message_id: str | None = None

    def _payload(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "parse_data": dict(self.parse_data),
            "input_channel": self.input_channel,
            "message_id": self.message_id,
        }


@dataclass(frozen=True, slots=True)
class BotUttered(Event):
    type_name: ClassVar[str] = "bot"
    text: str | None
    data: Mapping[str, Any] = field(default_factory=dict)
    bot: str | None = None

    def _payload(self) -> dict[str, Any]:
        return {"text": self.text, "data": dict(self.data), "metadata": {"bot": self.bot}}


@dataclass(frozen=True, slots=True)
class SlotSet(Event):
    type_name: ClassVar[str] = "slot"
    key: str
    value: Any = None

    def _payload(self) -> dict[str, Any]:
        return {"name": self.key, "value": self.value}


@dataclass(frozen=True, slots=True)
class ActionExecuted(Event):
    type_name: ClassVar[str] = "action"
    action_name: str
    policy: str | None = None

    def _payload(self) -> dict[str, Any]:
        return {"name": self.action_name, "policy": self.policy, "confidence": 1.0}


@dataclass(frozen=True, slots=True)
class ActiveLoop(Event):
    """A form starts (`name` set) or ends (`name` None)."""

    type_name: ClassVar[str] = "active_loop"
    name: str | None

    def _payload(self) -> dict[str, Any]:
        return {"name": self.name}


@dataclass(frozen=True, slots=True)
class FollowupAction(Event):
    type_name: ClassVar[str] = "followup"
    name: str

    def _payload(self) -> dict[str, Any]:
        return {"name": self.name}


@dataclass(frozen=True, slots=True)
class AllSlotsReset(Event):
    type_name: ClassVar[str] = "reset_slots"


@dataclass(frozen=True, slots=True)
class Restarted(Event):
    type_name: ClassVar[str] = "restart"


@dataclass(frozen=True, slots=True)
class SessionStarted(Event):
    type_name: ClassVar[str] = "session_started"


@dataclass(frozen=True, slots=True)
class ActionExecutionRejected(Event):
    type_name: ClassVar[str] = "action_execution_rejected"
    action_name: str

    def _payload(self) -> dict[str, Any]:
        return {"name": self.action_name}


@dataclass(frozen=True, slots=True)
class ConversationPaused(Event):
    """Handed to a human: the bots stay silent until `ConversationResumed`."""

    type_name: ClassVar[str] = "pause"


@dataclass(frozen=True, slots=True)
class ConversationResumed(Event):
    type_name: ClassVar[str] = "resume"


@dataclass(frozen=True, slots=True)
class BotEngaged(Event):
    """The concierge conversation is now talking to `bot` (Plaza extension to Rasa's events)."""

    type_name: ClassVar[str] = "plaza_bot_engaged"
    bot: str | None

    def _payload(self) -> dict[str, Any]:
        return {"bot": self.bot}


_SIMPLE: dict[str, type[Event]] = {
    cls.type_name: cls
    for cls in (AllSlotsReset, Restarted, SessionStarted, ConversationPaused, ConversationResumed)
}


def _required(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = data.get(key)
    if not isinstance(value, kind):
        raise ActionError(f"event {data.get('event')!r} needs {key!r} of type {kind}, got {value!r}")
    return value


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """Parse one wire event; anything malformed is an `ActionError` naming the problem."""
    if not isinstance(data, Mapping):
        raise ActionError(f"an event must be an object, got {data!r}")
    kind = data.get("event")
    ts = data.get("timestamp")
    timestamp = float(ts) if isinstance(ts, int | float) else None
    match kind:
        case "slot":
            return SlotSet(_required(data, "name", str), data.get("value"), timestamp=timestamp)
        case "user":
            return UserUttered(
                data.get("text"),
                data.get("parse_data") or {},
                data.get("input_channel"),
                data.get("message_id"),
                timestamp=timestamp,
            )
        case "bot":
            meta = data.get("metadata") or {}
            return BotUttered(data.get("text"), data.get("data") or {}, meta.get("bot"), timestamp=timestamp)
        case "action":
            return ActionExecuted(_required(data, "name", str), data.get("policy"), timestamp=timestamp)
        case "active_loop" | "form":
            name = data.get("name")
            if name is not None and not isinstance(name, str):
                raise ActionError(f"active_loop name must be a string or null, got {name!r}")
            return ActiveLoop(name, timestamp=timestamp)
        case "followup":
            return FollowupAction(_required(data, "name", str), timestamp=timestamp)
        case "action_execution_rejected":
            return ActionExecutionRejected(_required(data, "name", str), timestamp=timestamp)
        case "plaza_bot_engaged":
            return BotEngaged(data.get("bot"), timestamp=timestamp)
        case str() if kind in _SIMPLE:
            return _SIMPLE[kind](timestamp=timestamp)
        case _:
            raise ActionError(f"unknown event type {kind!r}")
