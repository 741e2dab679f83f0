"""A conversation's dialogue state: what the tracker knows between two messages.

One concierge conversation can talk to several bots over time, so slots and the active form are
kept per bot (`BotState`); the taxi's `time` is not the restaurant's `time`. The state is a
snapshot folded from events (`apply`), stored as JSON beside the append-only event log, with a
version number the store checks so two workers can never both advance the same conversation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plaza.dialogue.events import (
    ActionExecuted,
    ActiveLoop,
    AllSlotsReset,
    BotEngaged,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    FollowupAction,
    Restarted,
    SlotSet,
    UserUttered,
)

REQUESTED_SLOT = "requested_slot"
RECENT_EVENTS = 12
"""How many recent wire events the snapshot keeps for actions that look back (Rasa's `tracker.events`).

The full log is in the events table; in the snapshot a user event keeps its text and intent
but not the whole parse, and `latest_message` is not persisted (each turn sets it anew), so the
JSON written every turn stays small.
"""
REOFFER = "action_reoffer"
"""The dialogue's "Which one?": the buttons offered again after a bare "yes" to a choice."""
MAX_OFFERED = 12
"""At most this many offered buttons are kept (messages sent without a user message in between add up)."""


def _slim(wire: dict[str, Any]) -> dict[str, Any]:
    if wire.get("event") == "user":
        intent = (wire.get("parse_data") or {}).get("intent") or {}
        return {**wire, "parse_data": {"intent": intent}}
    if wire.get("event") == "bot":
        return {**wire, "data": {}}
    return wire


@dataclass(slots=True)
class BotState:
    slots: dict[str, Any] = field(default_factory=dict)
    active_loop: str | None = None

    @property
    def requested_slot(self) -> str | None:
        value = self.slots.get(REQUESTED_SLOT)
        return value if isinstance(value, str) else None

    def to_json(self) -> dict[str, Any]:
        return {"slots": self.slots, "active_loop": self.active_loop}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BotState:
        return cls(slots=dict(data.get("slots") or {}), active_loop=data.get("active_loop"))


@dataclass(slots=True)
class ConversationState:
    conversation_id: int
    user_id: int
    sender_id: str
    language: str
    bot: str | None = None
    bots: dict[str, BotState] = field(default_factory=dict)
    latest_message: dict[str, Any] = field(default_factory=dict)
    latest_action: str | None = None
    followup_action: str | None = None
    paused: bool = False
    recent_events: list[dict[str, Any]] = field(default_factory=list)
    offered: list[dict[str, Any]] = field(default_factory=list)
    """The buttons of the bot's messages since the user's last message (cards' own buttons aside):
    a bare "yes" to a choice re-offers them, and typing one's title presses it."""
    turns: int = 0
    version: int = 0

    def bot_state(self, bot: str) -> BotState:
        state = self.bots.get(bot)
        if state is None:
            state = self.bots[bot] = BotState()
        return state

    def apply(self, event: Event, bot: str | None, wire: dict[str, Any] | None = None) -> None:
        """Fold one event into the snapshot; `bot` is whose slots and form it concerns.

        `wire` is the event's `to_dict()` when the caller already has it (not modified here).
        """
        match event:
            case SlotSet(key=key, value=value) if bot is not None:
                self.bot_state(bot).slots[key] = value
            case ActiveLoop(name=name) if bot is not None:
                bs = self.bot_state(bot)
                bs.active_loop = name
                if name is None:
                    bs.slots.pop(REQUESTED_SLOT, None)
            case AllSlotsReset() if bot is not None:
                self.bot_state(bot).slots.clear()
            case Restarted():
                self.bots.clear()
                self.bot = None
                self.followup_action = None
            case UserUttered(parse_data=parse_data):
                self.latest_message = dict(parse_data)
                self.turns += 1
                self.offered = []
            case ActionExecuted(action_name=name):
                self.latest_action = name
                if self.followup_action == name:
                    self.followup_action = None
            case FollowupAction(name=name):
                self.followup_action = name
            case ConversationPaused():
                self.paused = True
            case ConversationResumed():
                self.paused = False
            case BotEngaged(bot=engaged):
                self.bot = engaged
            case BotUttered(data=data):
                # All the buttons of the bot's messages since the user's last one: "no opening then,
                # nearest free tables: [7:30] [8:00]" followed by cards still offers 7:30 and 8:00.
                self.offered = [*self.offered, *(data.get("buttons") or ())][-MAX_OFFERED:]
        self.recent_events.append(_slim(event.to_dict() if wire is None else wire))
        if len(self.recent_events) > RECENT_EVENTS:
            del self.recent_events[: len(self.recent_events) - RECENT_EVENTS]

    def to_json(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "user_id": self.user_id,
            "sender_id": self.sender_id,
            "language": self.language,
            "bot": self.bot,
            "bots": {name: bs.to_json() for name, bs in self.bots.items()},
            "latest_action": self.latest_action,
            "followup_action": self.followup_action,
            "paused": self.paused,
            "recent_events": self.recent_events,
            "offered": self.offered,
            "turns": self.turns,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], version: int) -> ConversationState:
        return cls(
            conversation_id=int(data["conversation_id"]),
            user_id=int(data["user_id"]),
            sender_id=str(data["sender_id"]),
            language=str(data["language"]),
            bot=data.get("bot"),
            bots={name: BotState.from_json(bs) for name, bs in (data.get("bots") or {}).items()},
            latest_message=dict(data.get("latest_message") or {}),
            latest_action=data.get("latest_action"),
            followup_action=data.get("followup_action"),
            paused=bool(data.get("paused", False)),
            recent_events=list(data.get("recent_events") or []),
            offered=list(data.get("offered") or []),
            turns=int(data.get("turns", 0)),
            version=version,
        )
