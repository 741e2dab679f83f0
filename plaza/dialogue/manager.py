"""The dialogue policy: given what the NLU understood, decide and run what the bot does next.

Deterministic and explainable, in this order:

1. Slot mappings fill slots from the message; the bot's `action_validate_slot_mappings` runs.
2. Global intents: `cancel` leaves an active form, `help` and `human` answer and resume it.
3. An active form continues: it validates what was answered, or, when the message answered
   nothing, lets a rule answer it (an interruption) and then asks its question again.
4. A rule for the intent runs its steps (actions, responses, or a form to start).
5. Otherwise, or when the NLU is unsure, a fallback asks a clarifying question with the nearest
   intents as buttons.

Actions only return events and collect messages; this module turns them into the turn's events
and replies, which the engine commits in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from plaza.bots import BotRuntime, menu_buttons, runtime_of
from plaza.dialogue.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActiveLoop,
    BotEngaged,
    BotUttered,
    Event,
    FollowupAction,
    SlotSet,
    UserUttered,
    event_from_dict,
)
from plaza.dialogue.payload import make_payload
from plaza.dialogue.slots import mapped_slot_values, slot_events
from plaza.dialogue.state import REOFFER, REQUESTED_SLOT, BotState, ConversationState
from plaza.domain import localize
from plaza.errors import ActionError, ConfigError
from plaza.messages import Button, Card, Reply
from plaza.nlu.types import CONCIERGE, OUT_OF_SCOPE, ParseResult
from plaza.sdk import Action, CollectingDispatcher, DomainDict, Tracker
from plaza.storage.staging import StagedWrite

log = logging.getLogger(__name__)

MAX_ACTIONS_PER_TURN = 12
CANCEL, HELP, HUMAN, AFFIRM = "cancel", "help", "human", "affirm"
ANSWERS = frozenset({"affirm", "deny", "inform"})
"""Intents that answer a question rather than ask for something: never an interruption."""


@dataclass(frozen=True, slots=True)
class BotReply:
    bot: str
    reply: Reply


@dataclass(slots=True)
class TurnOutput:
    events: list[tuple[str | None, Event, dict[str, Any]]] = field(default_factory=list)
    """(bot, event, the event's wire dict), in order; the wire dicts are shared with the snapshot."""
    replies: list[BotReply] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Policy:
    fallback_threshold: float
    """Below this intent confidence the bot asks a clarifying question instead of acting."""


class _Turn:
    """One user message being answered: the state it mutates and what it has produced so far."""

    def __init__(
        self,
        state: ConversationState,
        runtime: BotRuntime,
        parse: ParseResult,
        policy: Policy,
        staged: list[StagedWrite],
    ) -> None:
        self.state = state
        self.rt = runtime
        self.parse = parse
        self.confident = parse.intent.confidence >= policy.fallback_threshold
        """Sure enough of the intent to act on it (else the fallback asks)."""
        self.out = TurnOutput()
        self.domain_dict: DomainDict = runtime.domain_dict
        self.actions_run = 0
        self.staged = staged
        self.named: dict[str, Any] = {}
        """Every slot the message's mappings fill, changed or not (set before any action runs)."""
        self.offered = state.offered
        """The buttons the bot's previous message offered (this turn's own messages replace them)."""
        self.previous_action = state.latest_action
        """The last action of the previous turn (this turn's own actions replace it)."""

    # -- bookkeeping -------------------------------------------------------------------------
    @property
    def bot(self) -> str:
        return self.rt.name

    @property
    def bs(self) -> BotState:
        return self.state.bot_state(self.bot)

    @property
    def intent(self) -> str:
        return self.parse.intent.name

    def record(self, event: Event) -> None:
        wire = event.to_dict()
        self.state.apply(event, self.bot, wire)
        self.out.events.append((self.bot, event, wire))

    def say(self, reply: Reply) -> None:
        self.out.replies.append(BotReply(self.bot, reply))
        self.record(BotUttered(reply.text, reply.to_dict(), self.bot))

    def utter(self, name: str, **variables: Any) -> bool:
        values = {**self.bs.slots, **variables}
        reply = self.rt.responses.render(name, self.state.language, values, seed=self.state.turns)
        if reply is None:
            return False
        self.say(reply)
        return True

    def slots_answered(self) -> set[str]:
        """Slots set (to anything, even rejected) since the user's message."""
        answered: set[str] = set()
        for _bot, event, _wire in reversed(self.out.events):
            if isinstance(event, UserUttered):
                break
            if isinstance(event, SlotSet) and event.key != REQUESTED_SLOT:
                answered.add(event.key)
        return answered

    def tracker(self) -> Tracker:
        bs = self.bs
        return Tracker(
            sender_id=self.state.sender_id,
            slots=bs.slots,
            latest_message=self.state.latest_message,
            events=self.state.recent_events,
            paused=self.state.paused,
            followup_action=self.state.followup_action,
            active_loop={"name": bs.active_loop} if bs.active_loop else {},
            latest_action_name=self.state.latest_action,
            language=self.state.language,
        )

    # -- running things ----------------------------------------------------------------------
    async def run_steps(self, steps: Sequence[str]) -> None:
        for step in steps:
            await self.run_named(step)

    async def run_named(self, name: str) -> None:
        if name in self.rt.actions:
            await self.run_action(self.rt.actions[name])
        elif name in self.rt.domain.forms:
            await self.run_form(name, activated=self.bs.active_loop != name)
        elif self.utter(name):
            self.record(ActionExecuted(name))
        else:
            raise ConfigError(f"bot {self.bot!r} has no action, form or response {name!r}")

    async def run_action(self, action: Action) -> list[Event]:
        self.actions_run += 1
        if self.actions_run > MAX_ACTIONS_PER_TURN:
            log.error("bot %s ran more than %d actions in one turn; stopping", self.bot, MAX_ACTIONS_PER_TURN)
            return []
        dispatcher = CollectingDispatcher()
        staged_before = len(self.staged)
        try:
            raw = await action.run(dispatcher, self.tracker(), self.domain_dict)
            events = [e if isinstance(e, Event) else event_from_dict(e) for e in raw or []]
        except Exception:
            log.exception("action %s of bot %s failed", action.name(), self.bot)
            del self.staged[staged_before:]  # a failed action's writes must not commit
            self.record(ActionExecutionRejected(action.name()))
            self.utter("utter_error")
            return []
        self.record(ActionExecuted(action.name()))
        for message in dispatcher.messages:
            self.say_dispatched(message)
        started_form: str | None = None
        followups: list[str] = []
        for event in events:
            self.record(event)
            if isinstance(event, ActiveLoop) and event.name is not None:
                started_form = event.name
            elif isinstance(event, FollowupAction):
                followups.append(event.name)
        if started_form is not None and started_form in self.rt.domain.forms:
            await self.ask_next(started_form)
        for name in followups:
            await self.run_named(name)
        return events

    def say_dispatched(self, message: Mapping[str, Any]) -> None:
        template = message.get("response") or message.get("template")
        extra = {
            k: v
            for k, v in message.items()
            if k
            not in {"text", "buttons", "elements", "custom", "template", "response", "image", "attachment"}
        }
        base: Reply | None = None
        if template:
            base = self.rt.responses.render(
                str(template), self.state.language, {**self.bs.slots, **extra}, seed=self.state.turns
            )
            if base is None:
                raise ActionError(f"action asked for unknown response {template!r}")
        buttons = tuple(Button.from_action(b) for b in message.get("buttons") or ())
        cards = tuple(
            Card(
                title=str(e.get("title", "")),
                subtitle=e.get("subtitle"),
                image_url=e.get("image_url"),
                buttons=tuple(Button.from_action(b) for b in e.get("buttons") or ()),
            )
            for e in message.get("elements") or ()
        )
        custom = message.get("custom") or None
        reply = Reply(
            text=message.get("text") or (base.text if base else None),
            buttons=buttons or (base.buttons if base else ()),
            cards=cards,
            image=message.get("image") or (base.image if base else None),
            custom=custom if custom else (base.custom if base else None),
        )
        self.say(reply)

    # -- forms -------------------------------------------------------------------------------
    async def required_slots(self, form: str) -> list[str]:
        declared = list(self.rt.domain.forms[form].required_slots)
        validator = self.rt.form_validation(form)
        if validator is None:
            return declared
        return await validator.required_slots(
            declared, CollectingDispatcher(), self.tracker(), self.domain_dict
        )

    async def run_form(self, form: str, *, activated: bool) -> None:
        answered = self.slots_answered()
        if not activated and self.leaves(form, answered):
            await self.leave_form(keep=answered | set(self.rt.domain.forms[form].keep_on_leave))
            rule = self.rt.domain.rule_for_intent(self.intent)
            if rule is not None:
                await self.run_steps(rule.steps)
            return
        if activated:
            self.record(ActiveLoop(form))
        validator = self.rt.form_validation(form)
        if validator is not None and (activated or answered):
            await self.run_action(validator)
            if self.bs.active_loop != form:
                return  # the validator ended the form
        if not activated and not self.slots_answered():
            await self.unanswered(form)
            if self.bs.active_loop != form:
                return
        await self.ask_next(form)

    def leaves(self, form: str, answered: set[str]) -> bool:
        """Whether the user moved on from the form.

        Yes for a confident `leave_on` intent that did not answer the question, or that says
        things the form does not ask about (a new search naming a cuisine); and for any message
        that names one of the form's `leave_on_slots`, even with the value it already has (its
        intent's own rule then runs).
        """
        spec = self.rt.domain.forms[form]
        if self.named.keys() & set(spec.leave_on_slots) and self.rt.domain.rule_for_intent(self.intent):
            return True
        if self.intent not in spec.leave_on or not self.confident:
            return False
        requested = self.bs.requested_slot
        return requested is None or requested not in answered or bool(answered - set(spec.required_slots))

    async def unanswered(self, form: str) -> None:
        """The message answered none of the form's questions: answer it if we can, then resume."""
        rule = self.rt.domain.rule_for_intent(self.intent)
        if (
            rule is not None
            and form not in rule.steps
            and self.intent not in ANSWERS
            and self.intent not in self.rt.domain.forms[form].ignored_intents
            and self.confident
        ):
            await self.run_steps(rule.steps)
        else:
            self.utter("utter_ask_rephrase")

    async def ask_next(self, form: str) -> None:
        missing = [s for s in await self.required_slots(form) if self.bs.slots.get(s) is None]
        if missing:
            slot = missing[0]
            if self.bs.requested_slot != slot:
                self.record(SlotSet(REQUESTED_SLOT, slot))
            await self.ask(form, slot)
            return
        self.record(ActiveLoop(None))
        submit = self.rt.domain.rule_for_form(form)
        if submit is not None:
            await self.run_steps(submit.steps)

    async def ask(self, form: str, slot: str) -> None:
        for name in (f"action_ask_{form}_{slot}", f"action_ask_{slot}"):
            if name in self.rt.actions:
                await self.run_action(self.rt.actions[name])
                return
        for name in (f"utter_ask_{form}_{slot}", f"utter_ask_{slot}"):
            if self.utter(name):
                self.record(ActionExecuted(name))
                return
        raise ConfigError(f"form {form!r} of bot {self.bot!r} has no way to ask for {slot!r}")

    async def leave_form(self, keep: set[str] | frozenset[str] = frozenset()) -> None:
        """End the active form and forget its answers, except those in `keep` (just said)."""
        form = self.bs.active_loop
        if form is None:
            return
        self.record(ActiveLoop(None))
        for slot in self.rt.domain.forms[form].required_slots:
            if slot not in keep and self.bs.slots.get(slot) is not None:
                self.record(SlotSet(slot, None))

    # -- the fallback ------------------------------------------------------------------------
    def fallback(self, menu: Sequence[Button]) -> None:
        self.record(ActionExecuted("action_default_fallback"))
        if self.intent == OUT_OF_SCOPE and self.confident:
            self.say(self._with_buttons("utter_out_of_scope", menu))
            return
        entities = {e.entity: e.value for e in self.parse.entities if e.extractor != "payload"}
        wanted = {k: v for k, v in entities.items() if k in self.rt.domain.entities and _jsonable(v)}
        bot = None if self.bot == CONCIERGE else self.bot
        titled = self.rt.domain.intents
        options: list[Button] = []
        for candidate in self.parse.intent_ranking:
            title = titled.get(candidate.name)
            if candidate.name == OUT_OF_SCOPE or not title:
                continue
            options.append(
                Button(localize(title, self.state.language), make_payload(candidate.name, wanted, bot))
            )
            if len(options) == 3:
                break
        self.say(self._with_buttons("utter_default", options or list(menu)))

    def reoffer(self) -> None:
        """A bare yes to a choice: offer the same buttons again, asking to pick one."""
        self.record(ActionExecuted(REOFFER))
        buttons = [Button.from_action(b) for b in self.offered]
        self.say(self._with_buttons("utter_pick_one", buttons))

    def _with_buttons(self, response: str, buttons: Sequence[Button]) -> Reply:
        reply = self.rt.responses.render(response, self.state.language, self.bs.slots, seed=self.state.turns)
        text = reply.text if reply else None
        return Reply(text=text, buttons=tuple(buttons))


def _jsonable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


class DialogueManager:
    def __init__(self, bots: Mapping[str, BotRuntime], concierge: BotRuntime, policy: Policy) -> None:
        self._bots = dict(bots)
        self._concierge = concierge
        self.policy = policy

    def runtime(self, bot: str | None) -> BotRuntime:
        return runtime_of(self._bots, self._concierge, bot)

    def menu(self, language: str) -> list[Button]:
        return menu_buttons(self._bots, language)

    async def respond(
        self,
        state: ConversationState,
        bot: str | None,
        parse: ParseResult,
        user_event: UserUttered,
        staged: list[StagedWrite],
    ) -> TurnOutput:
        """Answer one user message. Mutates `state` by applying every event it records."""
        runtime = self.runtime(bot)
        turn = _Turn(state, runtime, parse, self.policy, staged)
        engaged = None if runtime.name == CONCIERGE else runtime.name
        if state.bot != engaged:
            turn.record(BotEngaged(engaged))
        turn.record(user_event)
        if state.paused:
            return turn.out
        await self._understand_slots(turn)
        await self._decide(turn)
        return turn.out

    async def _understand_slots(self, turn: _Turn) -> None:
        turn.named = mapped_slot_values(turn.rt.domain, turn.bs, turn.state.latest_message)
        for event in slot_events(turn.bs, turn.named):
            turn.record(event)
        validator = turn.rt.slot_validation()
        if validator is not None:
            await turn.run_action(validator)

    async def _decide(self, turn: _Turn) -> None:
        intent, confident = turn.intent, turn.confident
        form = turn.bs.active_loop
        follow_up = (
            turn.rt.domain.rule_after(intent, turn.previous_action) if form is None and confident else None
        )
        if follow_up is not None:
            await turn.run_steps(follow_up.steps)  # "cancel it" right after the bookings were listed
            return
        if intent == CANCEL and confident:
            if form is not None:
                await turn.leave_form()
                turn.utter("utter_cancelled")
            else:
                turn.utter("utter_nothing_to_cancel")
            turn.record(ActionExecuted("action_cancel"))
            return
        if intent in (HELP, HUMAN) and confident and form is not None:
            turn.utter("utter_help_in_form" if intent == HELP else "utter_human")
            await turn.ask_next(form)
            return
        if form is not None:
            await turn.run_form(form, activated=False)
            return
        if intent == AFFIRM and confident and turn.offered:
            turn.reoffer()  # "yes" to "your booking, or a new search?" answers neither
            return
        rule = turn.rt.domain.rule_for_intent(intent) or self._concierge.domain.rule_for_intent(intent)
        if rule is not None and confident and intent != OUT_OF_SCOPE:
            await turn.run_steps(rule.steps)
            return
        turn.fallback(self.menu(turn.state.language))
