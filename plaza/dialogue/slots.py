"""Slot mappings: which slot values a user message sets, before any action runs.

This is Rasa's `action_extract_slots`. Custom mappings are left to the bot's validation actions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from plaza.dialogue.events import SlotSet
from plaza.dialogue.state import BotState
from plaza.domain import BotDomain, Slot, SlotMapping


def _conditions_hold(mapping: SlotMapping, state: BotState) -> bool:
    if not mapping.conditions:
        return True
    for cond in mapping.conditions:
        if cond.active_loop is not None and cond.active_loop != state.active_loop:
            continue
        if cond.requested_slot is not None and cond.requested_slot != state.requested_slot:
            continue
        return True
    return False


def _intent_allowed(mapping: SlotMapping, intent: str) -> bool:
    if mapping.intent and intent not in mapping.intent:
        return False
    return not (mapping.not_intent and intent in mapping.not_intent)


def _value(mapping: SlotMapping, slot_type: str, parse: Mapping[str, Any]) -> Any:
    match mapping.type:
        case "from_entity":
            values = [
                e.get("value")
                for e in parse.get("entities") or ()
                if e.get("entity") == mapping.entity
                and (mapping.role is None or e.get("role") == mapping.role)
                and (mapping.group is None or e.get("group") == mapping.group)
            ]
            if not values:
                return None
            return values if slot_type == "list" else values[0]
        case "from_intent":
            return mapping.value
        case "from_text":
            return parse.get("text")
        case _:
            return None


def _typed(slot: Slot, value: Any) -> Any:
    """`value` as the slot's declared type holds it, or None when it is no value of that type.

    An entity's value comes from the NLU or from a button payload, and a payload can carry
    anything: `{"cuisine": 21}` in a text slot broke every later turn of the conversation in
    the bot's actions. A text slot takes strings; a categorical one its declared values (matched
    without regard to case, as Rasa does); a float slot finite numbers; a bool slot booleans;
    `any` anything.
    """
    match slot.type:
        case "text":
            return value if isinstance(value, str) else None
        case "categorical":
            if not isinstance(value, str):
                return None
            return next((v for v in slot.values or () if v.lower() == value.lower()), None)
        case "float":
            number = isinstance(value, int | float) and not isinstance(value, bool)
            return value if number and math.isfinite(value) else None
        case "bool":
            return value if isinstance(value, bool) else None
        case "list":
            return value if isinstance(value, list) else None
        case _:
            return value


def mapped_slot_values(domain: BotDomain, state: BotState, parse: Mapping[str, Any]) -> dict[str, Any]:
    """Every slot this message's mappings fill, with its value, changed or not (first mapping wins)."""
    intent = str((parse.get("intent") or {}).get("name") or "")
    values: dict[str, Any] = {}
    for name, slot in domain.slots.items():
        for mapping in slot.mappings:
            if mapping.type == "custom" or not _intent_allowed(mapping, intent):
                continue
            if not _conditions_hold(mapping, state):
                continue
            value = _typed(slot, _value(mapping, slot.type, parse))
            if value is None:
                continue
            values[name] = value
            break
    return values


def slot_events(state: BotState, values: Mapping[str, Any]) -> list[SlotSet]:
    """SlotSet events for the values that change a slot."""
    return [SlotSet(name, value) for name, value in values.items() if state.slots.get(name) != value]


def extract_slot_events(domain: BotDomain, state: BotState, parse: Mapping[str, Any]) -> list[SlotSet]:
    """SlotSet events for every mapped slot this message changes."""
    return slot_events(state, mapped_slot_values(domain, state, parse))
