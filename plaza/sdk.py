"""The action SDK: Rasa-SDK-compatible `Action`, `Tracker`, `CollectingDispatcher`, `FormValidationAction`.

An action written for rasa-sdk ports by changing its imports: `name()`, `async run(dispatcher,
tracker, domain)` returning events, `dispatcher.utter_message(...)`, `tracker.get_slot(...)`,
`validate_<slot>`/`extract_<slot>` methods. Actions never send: the dispatcher collects, and the
engine commits the events and the replies in one transaction.

Differences from rasa-sdk, on purpose: events are frozen dataclasses (see `plaza.dialogue.events`),
the tracker is built with keyword arguments, and `tracker.language` says which language to answer in.
"""

from __future__ import annotations

import abc
import functools
import inspect
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypedDict

from plaza.dialogue.events import (
    ActionExecuted,
    ActiveLoop,
    AllSlotsReset,
    BotUttered,
    Event,
    FollowupAction,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from plaza.dialogue.state import REQUESTED_SLOT

__all__ = [
    "Action",
    "ActionExecuted",
    "ActiveLoop",
    "AllSlotsReset",
    "BotUttered",
    "CollectingDispatcher",
    "DomainDict",
    "Event",
    "FollowupAction",
    "FormValidationAction",
    "ValidationAction",
    "Restarted",
    "SessionStarted",
    "SlotSet",
    "Tracker",
    "UserUttered",
]

log = logging.getLogger(__name__)


class DomainDict(TypedDict, total=False):
    """The domain as actions see it (Rasa's `DomainDict`)."""

    intents: list[str]
    entities: list[str]
    slots: dict[str, Any]
    responses: dict[str, Any]
    actions: list[str]
    forms: dict[str, Any]


class Tracker:
    """A read-only view of one conversation, as one bot sees it."""

    def __init__(
        self,
        *,
        sender_id: str,
        slots: Mapping[str, Any],
        latest_message: Mapping[str, Any] | None = None,
        events: Sequence[dict[str, Any]] = (),
        paused: bool = False,
        followup_action: str | None = None,
        active_loop: Mapping[str, Any] | None = None,
        latest_action_name: str | None = None,
        language: str = "en",
    ) -> None:
        self.sender_id = sender_id
        self.slots: dict[str, Any] = dict(slots)
        self.latest_message: dict[str, Any] = dict(latest_message or {})
        self.events: list[dict[str, Any]] = list(events)  # read-only by contract: not copied
        self._paused = paused
        self.followup_action = followup_action
        self.active_loop: dict[str, Any] = dict(active_loop or {})
        self.latest_action_name = latest_action_name
        self.language = language

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> Tracker:
        """Build from Rasa's wire `TrackerState` (what an action server receives)."""
        return cls(
            sender_id=str(state.get("sender_id", "")),
            slots=state.get("slots") or {},
            latest_message=state.get("latest_message") or {},
            events=state.get("events") or [],
            paused=bool(state.get("paused", False)),
            followup_action=state.get("followup_action"),
            active_loop=state.get("active_loop") or {},
            latest_action_name=state.get("latest_action_name"),
            language=str((state.get("latest_message") or {}).get("language") or "en"),
        )

    def current_state(self) -> dict[str, Any]:
        """Rasa's wire `TrackerState`, as sent to a brand's action server."""
        return {
            "sender_id": self.sender_id,
            "slots": self.slots,
            "latest_message": self.latest_message,
            "latest_event_time": self.events[-1].get("timestamp") if self.events else None,
            "followup_action": self.followup_action,
            "paused": self._paused,
            "events": self.events,
            "latest_input_channel": self.get_latest_input_channel(),
            "active_loop": self.active_loop,
            "latest_action": {"action_name": self.latest_action_name},
            "latest_action_name": self.latest_action_name,
        }

    def is_paused(self) -> bool:
        return self._paused

    @property
    def active_loop_name(self) -> str | None:
        name = self.active_loop.get("name")
        return name if isinstance(name, str) else None

    def get_slot(self, key: str) -> Any:
        return self.slots.get(key)

    def get_intent_of_latest_message(self, skip_fallback_intent: bool = True) -> str | None:
        intent = self.latest_message.get("intent") or {}
        name = intent.get("name")
        return name if isinstance(name, str) else None

    def get_latest_entity_values(
        self, entity_type: str, entity_role: str | None = None, entity_group: str | None = None
    ) -> Iterator[Any]:
        for entity in self.latest_message.get("entities") or []:
            if entity.get("entity") != entity_type:
                continue
            if entity_role is not None and entity.get("role") != entity_role:
                continue
            if entity_group is not None and entity.get("group") != entity_group:
                continue
            yield entity.get("value")

    def get_latest_input_channel(self) -> str | None:
        for event in reversed(self.events):
            if event.get("event") == "user":
                channel = event.get("input_channel")
                return channel if isinstance(channel, str) else None
        return None

    def slots_to_validate(self) -> dict[str, Any]:
        """Slots set since the latest user message: what a form validation must check."""
        found: dict[str, Any] = {}
        for event in reversed(self.events):
            if event.get("event") == "user":
                break
            if event.get("event") == "slot" and event.get("name") != REQUESTED_SLOT:
                found.setdefault(event["name"], event.get("value"))
        return dict(reversed(list(found.items())))

    def add_slots(self, events: Sequence[Event]) -> None:
        for event in events:
            if isinstance(event, SlotSet):
                self.slots[event.key] = event.value
                self.events.append(event.to_dict())

    def copy(self) -> Tracker:
        return Tracker(
            sender_id=self.sender_id,
            slots=self.slots,
            latest_message=self.latest_message,
            events=self.events,
            paused=self._paused,
            followup_action=self.followup_action,
            active_loop=self.active_loop,
            latest_action_name=self.latest_action_name,
            language=self.language,
        )


class CollectingDispatcher:
    """Collects what an action wants to say; the engine renders and commits it."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def utter_message(
        self,
        text: str | None = None,
        image: str | None = None,
        json_message: Mapping[str, Any] | None = None,
        response: str | None = None,
        attachment: str | None = None,
        buttons: Sequence[Mapping[str, str]] | None = None,
        elements: Sequence[Mapping[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        message: dict[str, Any] = {
            "text": text,
            "buttons": [dict(b) for b in buttons or ()],
            "elements": [dict(e) for e in elements or ()],
            "custom": dict(json_message) if json_message is not None else {},
            "template": response,
            "response": response,
            "image": image,
            "attachment": attachment,
        }
        message.update(kwargs)
        self.messages.append(message)


class Action(abc.ABC):
    """One thing a bot can do. Subclasses name themselves and return events."""

    @abc.abstractmethod
    def name(self) -> str: ...

    @abc.abstractmethod
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[Event]: ...

    def __repr__(self) -> str:
        return f"Action('{self.name()}')"


class ValidationAction(Action):
    """Extracts and validates slots on every user message (Rasa's `action_validate_slot_mappings`).

    `extract_<slot>(dispatcher, tracker, domain)` returns `{slot: value}` for slots with custom
    mappings; `validate_<slot>(value, dispatcher, tracker, domain)` returns `{slot: value}` with
    the value cleaned, or `{slot: None}` to reject it. The engine's loader checks that every such
    method names a declared slot, so a misspelt method fails at start-up instead of being silently
    skipped (rasa-sdk only logs it).
    """

    def name(self) -> str:
        return "action_validate_slot_mappings"

    def declared_slot_methods(self) -> dict[str, list[str]]:
        """Slot names this class has `validate_` and `extract_` methods for."""
        return {prefix: sorted(slots) for prefix, slots in _slot_methods(type(self)).items()}

    async def slots_to_extract(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        return list((domain.get("slots") or {}).keys())

    async def _call(self, method: Any, *args: Any) -> Any:
        result = method(*args)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[Event]:
        # It runs on every message: look up only the slots this class has methods for.
        methods = _slot_methods(type(self))
        extracted: list[Event] = []
        for slot in await self.slots_to_extract(dispatcher, tracker, domain):
            if slot not in methods["extract"]:
                continue
            method = getattr(self, f"extract_{slot}")
            values = await self._call(method, dispatcher, tracker, domain)
            extracted.extend(SlotSet(k, v) for k, v in (values or {}).items())
        tracker = tracker.copy()
        tracker.add_slots(extracted)
        validated: list[Event] = list(extracted)
        for slot, value in tracker.slots_to_validate().items():
            if value is None or slot not in methods["validate"]:
                continue
            if tracker.get_slot(slot) != value:
                # An earlier validation of this message reset it ("closed that day" clears the
                # date): validating the old value would say the same thing twice, or undo that.
                continue
            method = getattr(self, f"validate_{slot}")
            result = await self._call(method, value, dispatcher, tracker, domain)
            if not isinstance(result, Mapping):
                log.warning(
                    "%s.validate_%s returned %r, not a dict; slot rejected", self.name(), slot, result
                )
                result = {slot: None}
            events = [SlotSet(k, v) for k, v in result.items()]
            validated.extend(events)
            tracker.add_slots(events)
        return validated


@functools.cache
def _slot_methods(cls: type[ValidationAction]) -> dict[str, frozenset[str]]:
    """The slots a validation class has `extract_<slot>` and `validate_<slot>` methods for."""
    found: dict[str, set[str]] = {"validate": set(), "extract": set()}
    for attr in dir(cls):
        for prefix in ("validate", "extract"):
            if attr.startswith(prefix + "_") and callable(getattr(cls, attr)):
                found[prefix].add(attr.removeprefix(prefix + "_"))
    return {prefix: frozenset(slots) for prefix, slots in found.items()}


class FormValidationAction(ValidationAction, abc.ABC):
    """Validates one form's slots; its name must be `validate_<form name>`."""

    @abc.abstractmethod
    def name(self) -> str: ...

    def form_name(self) -> str:
        return self.name().removeprefix("validate_")

    def domain_slots(self, domain: DomainDict) -> list[str]:
        form = (domain.get("forms") or {}).get(self.form_name()) or {}
        return list(form.get("required_slots") or [])

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """The form's slots, in asking order; override to make questions depend on answers."""
        return list(domain_slots)

    async def slots_to_extract(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        return await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
