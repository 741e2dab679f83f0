"""A bot's declaration (`bots/<name>/bot.yml`): intents, slots, forms, responses, rules, menu.

Parsed once at start-up into pydantic models and checked against itself (every rule step names
a known action, form or response; every form slot exists; every mapping names a known entity
or intent), so a typo fails when the app loads, not when a user reaches it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from plaza.errors import ConfigError
from plaza.messages import Button, Reply

Localized = dict[str, str]
"""A text per language code: {"en": "...", "fr": "..."}."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MappingCondition(_Strict):
    active_loop: str | None = None
    requested_slot: str | None = None


class SlotMapping(_Strict):
    type: Literal["from_entity", "from_intent", "from_text", "custom"]
    entity: str | None = None
    role: str | None = None
    group: str | None = None
    intent: list[str] | None = None
    not_intent: list[str] | None = None
    value: Any = None
    conditions: list[MappingCondition] = Field(default_factory=list)

    @field_validator("intent", "not_intent", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _check(self) -> SlotMapping:
        if self.type == "from_entity" and not self.entity:
            raise ValueError("a from_entity mapping needs `entity`")
        if self.type == "from_intent" and not self.intent:
            raise ValueError("a from_intent mapping needs `intent`")
        return self


class Slot(_Strict):
    type: Literal["text", "float", "bool", "categorical", "list", "any"] = "any"
    initial_value: Any = None
    values: list[str] | None = None
    mappings: list[SlotMapping] = Field(default_factory=list)


class Form(_Strict):
    required_slots: list[str]
    ignored_intents: list[str] = Field(default_factory=list)
    leave_on: list[str] = Field(default_factory=list)
    """Intents that end the form (then run their own rule) when they do not answer its question:
    a new search typed at "Shall I book it?" is a new search, not an answer."""
    leave_on_slots: list[str] = Field(default_factory=list)
    """Slots the form does not ask for that mean the user moved on when a message sets them,
    whatever its intent: "an indian for 4 at 9pm" while booking an Italian place is a new search,
    though it also answers "for how many?"."""
    keep_on_leave: list[str] = Field(default_factory=list)
    """Answers that carry over when the user moves on (`leave_on`, `leave_on_slots`): "un italien"
    while the form asks which restaurant is the same request for Saturday at 1 pm, narrowed.
    "cancel" still forgets them."""


class Rule(_Strict):
    """When `intent` is recognised (or `form` completes), run `steps` in order.

    With `after`, the rule applies only right after that action ran (Rasa's rule whose steps
    start with an action): "cancel it" just after "my bookings" cancels a booking, and outside
    a form it wins over the global `cancel` (which has nothing to stop there).
    """

    intent: str | None = None
    form: str | None = None
    after: str | None = None
    steps: list[str]

    @model_validator(mode="after")
    def _one_trigger(self) -> Rule:
        if (self.intent is None) == (self.form is None):
            raise ValueError("a rule has exactly one of `intent` or `form`")
        return self


class LookupSource(_Strict):
    """Catalog values an entity can take, read from a data file of the app.

    `file` is a JSON list of objects (use `key` for the canonical value and `names` for the fields
    holding names) or a JSON object keyed by canonical value (names from `names` fields, and a
    `synonyms` field that may be a list or a per-language mapping).
    """

    file: str
    key: str | None = None
    names: list[str] = Field(default_factory=lambda: ["name"])


class ResponseVariant(_Strict):
    text: str | None = None
    buttons: list[dict[str, str]] = Field(default_factory=list)
    image: str | None = None
    custom: dict[str, Any] | None = None


class MenuItem(_Strict):
    title: Localized
    payload: str


class BotDomain(_Strict):
    name: str
    title: Localized
    description: Localized = Field(default_factory=dict)
    actions: str | None = None
    intents: dict[str, Localized] = Field(default_factory=dict)
    entities: list[str] = Field(default_factory=list)
    lookups: dict[str, LookupSource] = Field(default_factory=dict)
    slots: dict[str, Slot] = Field(default_factory=dict)
    forms: dict[str, Form] = Field(default_factory=dict)
    responses: dict[str, dict[str, list[ResponseVariant]]] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)
    menu: list[MenuItem] = Field(default_factory=list)
    scopes: list[str] = Field(default_factory=list)

    @field_validator("responses", mode="before")
    @classmethod
    def _normalise_responses(cls, raw: Any) -> Any:
        """Accept `en: "text"`, `en: {text, buttons}` or `en: [variants...]` per language."""
        if not isinstance(raw, Mapping):
            return raw
        out: dict[str, dict[str, list[Any]]] = {}
        for name, per_lang in raw.items():
            if not isinstance(per_lang, Mapping):
                raise ValueError(f"response {name!r} must map languages to texts")
            out[name] = {}
            for lang, variants in per_lang.items():
                items = variants if isinstance(variants, list) else [variants]
                out[name][lang] = [{"text": v} if isinstance(v, str) else v for v in items]
        return out

    def rule_for_intent(self, intent: str) -> Rule | None:
        return next((r for r in self.rules if r.intent == intent and r.after is None), None)

    def rule_after(self, intent: str, action: str | None) -> Rule | None:
        """The rule for `intent` right after `action`, if the bot has one."""
        if action is None:
            return None
        return next((r for r in self.rules if r.intent == intent and r.after == action), None)

    def rule_for_form(self, form: str) -> Rule | None:
        return next((r for r in self.rules if r.form == form), None)

    def to_domain_dict(self) -> dict[str, Any]:
        """Rasa's DomainDict, as actions receive it."""
        return {
            "intents": list(self.intents),
            "entities": list(self.entities),
            "slots": {name: slot.model_dump() for name, slot in self.slots.items()},
            "responses": {
                name: [v.model_dump() | {"language": lang} for lang, vs in per.items() for v in vs]
                for name, per in self.responses.items()
            },
            "forms": {name: form.model_dump() for name, form in self.forms.items()},
            "actions": sorted({s for r in self.rules for s in r.steps}),
        }

    def check(self, known_actions: set[str], common_intents: set[str]) -> None:
        """Cross-check names; raise ConfigError listing every problem found."""
        problems: list[str] = []
        intents = set(self.intents) | common_intents
        for name, slot in self.slots.items():
            for m in slot.mappings:
                if m.entity and m.entity not in self.entities:
                    problems.append(f"slot {name!r} maps entity {m.entity!r}, which is not in `entities`")
                problems.extend(
                    f"slot {name!r} maps intent {i!r}, which is not declared"
                    for i in (m.intent or []) + (m.not_intent or [])
                    if i not in intents
                )
                problems.extend(
                    f"slot {name!r} has a condition on unknown form {c.active_loop!r}"
                    for c in m.conditions
                    if c.active_loop and c.active_loop not in self.forms
                )
        for fname, form in self.forms.items():
            problems.extend(
                f"form {fname!r} requires slot {s!r}, which is not declared"
                for s in form.required_slots
                if s not in self.slots
            )
            problems.extend(
                f"form {fname!r}: leave_on_slots names {s!r}, which is not a declared slot"
                if s not in self.slots
                else f"form {fname!r}: leave_on_slots names {s!r}, which the form requires"
                for s in form.leave_on_slots
                if s not in self.slots or s in form.required_slots
            )
            problems.extend(
                f"form {fname!r}: leave_on names unknown intent {i!r}"
                for i in form.leave_on
                if i not in intents
            )
            problems.extend(
                f"form {fname!r}: keep_on_leave names {s!r}, which the form does not require"
                for s in form.keep_on_leave
                if s not in form.required_slots
            )
        steps_known = known_actions | set(self.forms) | set(self.responses)
        for rule in self.rules:
            trigger = rule.intent or f"form {rule.form}"
            if rule.intent and rule.intent not in intents:
                problems.append(f"rule for intent {rule.intent!r}: intent not declared")
            if rule.form and rule.form not in self.forms:
                problems.append(f"rule for {trigger}: form not declared")
            problems.extend(
                f"rule for {trigger}: step {step!r} is not an action, form or response"
                for step in rule.steps
                if step not in steps_known
            )
            if rule.after is not None and rule.after not in steps_known:
                problems.append(f"rule for {trigger}: after {rule.after!r} is no action, form or response")
            if rule.after is not None and rule.form is not None:
                problems.append(f"rule for {trigger}: `after` goes with an intent, not a form")
        for fname, form in self.forms.items():
            for required in form.required_slots:
                asks = {f"action_ask_{fname}_{required}", f"action_ask_{required}"} & known_actions
                asks |= {f"utter_ask_{fname}_{required}", f"utter_ask_{required}"} & set(self.responses)
                if not asks:
                    problems.append(
                        f"form {fname!r} cannot ask for {required!r}: "
                        f"add utter_ask_{required} or action_ask_{required}"
                    )
        if problems:
            raise ConfigError(f"bots/{self.name}/bot.yml:\n  " + "\n  ".join(problems))


def load_bot_domain(path: Path) -> BotDomain:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    try:
        return BotDomain.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path} is not a valid bot definition:\n{exc}") from exc


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def fill(template: str, values: Mapping[str, Any]) -> str:
    """Replace `{name}` placeholders; unknown names stay visible, JSON braces are left alone."""

    def one(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return match.group(0) if value is None else str(value)

    return _PLACEHOLDER.sub(one, template)


def localize(text: Localized, language: str, fallback: str = "en") -> str:
    return text.get(language) or text.get(fallback) or next(iter(text.values()), "")


class ResponseBook:
    """Renders named responses in a language, filling `{placeholders}` from slots and kwargs.

    Variants are picked with a seeded generator so a conversation test sees the same wording
    every run.
    """

    def __init__(
        self, responses: Mapping[str, Mapping[str, list[ResponseVariant]]], default_language: str
    ) -> None:
        self._responses = responses
        self._default = default_language

    def __contains__(self, name: str) -> bool:
        return name in self._responses

    def names(self) -> set[str]:
        return set(self._responses)

    def variants(self, name: str) -> dict[str, list[ResponseVariant]]:
        return dict(self._responses[name])

    def render(self, name: str, language: str, variables: Mapping[str, Any], seed: int = 0) -> Reply | None:
        per_lang = self._responses.get(name)
        if per_lang is None:
            return None
        variants = per_lang.get(language) or per_lang.get(self._default) or next(iter(per_lang.values()), [])
        if not variants:
            return None
        variant = variants[random.Random(seed).randrange(len(variants))] if len(variants) > 1 else variants[0]
        text = fill(variant.text, variables) if variant.text is not None else None
        buttons = tuple(
            Button(fill(b["title"], variables), fill(b["payload"], variables)) for b in variant.buttons
        )
        return Reply(text=text, buttons=buttons, image=variant.image, custom=variant.custom)
