"""The dialogue layer's small parts, each alone: payloads, events, slot mappings, the SDK."""

from __future__ import annotations

from typing import Any

import pytest

from plaza.dialogue.events import (
    ActiveLoop,
    BotUttered,
    SlotSet,
    UserUttered,
    event_from_dict,
)
from plaza.dialogue.payload import exact_entities, make_payload, parse_payload
from plaza.dialogue.slots import extract_slot_events
from plaza.dialogue.state import MAX_OFFERED, BotState, ConversationState
from plaza.domain import BotDomain, ResponseBook, fill
from plaza.errors import ActionError, BadInput, ConfigError
from plaza.messages import Button, Capability, Card, Reply, degrade
from plaza.sdk import CollectingDispatcher, DomainDict, FormValidationAction, Tracker, ValidationAction


def test_payloads_round_trip_and_name_their_bot() -> None:
    payload = make_payload("book_table", {"restaurant": "trattoria-bellini", "party": 4}, bot="restaurant")
    parsed = parse_payload(payload)
    assert parsed is not None
    assert (parsed.bot, parsed.intent, parsed.entities) == (
        "restaurant",
        "book_table",
        {"restaurant": "trattoria-bellini", "party": 4},
    )
    plain = parse_payload("/affirm")
    assert plain is not None
    assert (plain.bot, plain.intent, plain.entities) == (None, "affirm", {})
    assert parse_payload("hello /affirm") is None
    assert parse_payload("/") is None
    assert parse_payload("// a comment") is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("/book{not json}", "invalid JSON"),
        ('/book["a list"]', "malformed"),
        ('/book{"a": 1', "malformed"),
        ("/book[1]", "malformed"),
        ('/book{"people": ' + "9" * 5000 + "}", "invalid JSON"),  # past Python's 4,300 digits: a ValueError
    ],
)
def test_malformed_payloads_are_bad_input(text: str, problem: str) -> None:
    with pytest.raises(BadInput, match=problem):
        parse_payload(text)


def test_payload_numbers_json_cannot_carry_exactly_are_no_entities() -> None:
    """As the same digits typed are none: 1e20 is no party size, NaN would be stored as null."""
    parsed = parse_payload(
        '/book{"people": 1e20, "n": 100000000000000000000, "x": NaN, "y": [1, 1e400], "ok": 4}'
    )
    assert parsed is not None
    assert exact_entities(parsed.entities) == {"ok": 4}
    assert exact_entities({"most": 9007199254740991, "least": -9007199254740991, "f": 0.5}) == {
        "most": 9007199254740991,
        "least": -9007199254740991,
        "f": 0.5,
    }


def test_events_serialise_to_rasa_wire_and_back() -> None:
    for event in [
        SlotSet("party_size", 4),
        ActiveLoop("booking_form"),
        ActiveLoop(None),
        UserUttered("hi", {"intent": {"name": "greet"}}, "rest", "42"),
        BotUttered("hello", {"buttons": []}, "restaurant"),
    ]:
        wire = event.to_dict()
        assert wire["event"] == event.type_name
        assert event_from_dict(wire) == event
    assert SlotSet("a", 1).to_dict() == {"event": "slot", "timestamp": None, "name": "a", "value": 1}


@pytest.mark.parametrize(
    "wire",
    [
        {"event": "nonsense"},
        {"event": "slot"},
        {"event": "slot", "name": 3},
        "not a dict",
        {"event": "followup"},
    ],
)
def test_malformed_events_are_rejected_with_a_reason(wire: Any) -> None:
    with pytest.raises(ActionError):
        event_from_dict(wire)


def test_state_folds_events_per_bot_and_survives_json() -> None:
    state = ConversationState(conversation_id=1, user_id=2, sender_id="2", language="fr")
    state.apply(SlotSet("time", "20:00"), "restaurant")
    state.apply(ActiveLoop("booking_form"), "restaurant")
    state.apply(SlotSet("requested_slot", "party_size"), "restaurant")
    state.apply(SlotSet("time", "09:00"), "taxi")
    assert state.bot_state("restaurant").requested_slot == "party_size"
    assert state.bot_state("taxi").slots == {"time": "09:00"}
    state.apply(ActiveLoop(None), "restaurant")
    assert state.bot_state("restaurant").requested_slot is None
    again = ConversationState.from_json(state.to_json(), version=7)
    assert again.bots["restaurant"].slots == {"time": "20:00"}
    assert again.version == 7
    assert again.language == "fr"


def test_state_keeps_the_buttons_the_bot_offered_since_the_user_spoke() -> None:
    state = ConversationState(conversation_id=1, user_id=2, sender_id="2", language="en")
    choice = Reply(text="Which?", buttons=(Button("Change", "/change"), Button("New search", "/search")))
    state.apply(BotUttered(choice.text, choice.to_dict(), "restaurant"), "restaurant")
    assert [b["title"] for b in state.offered] == ["Change", "New search"]
    again = ConversationState.from_json(state.to_json(), version=1)
    assert again.offered == state.offered
    # Later messages of the same turn add theirs: times, then cards, still offer the times.
    cards = Reply(cards=(Card("Forno", buttons=(Button("Book", "/book"),)),))
    state.apply(BotUttered(None, cards.to_dict(), "restaurant"), "restaurant")
    more = Reply(text="Or:", buttons=(Button("My bookings", "/my_bookings"),))
    state.apply(BotUttered(more.text, more.to_dict(), "restaurant"), "restaurant")
    assert [b["title"] for b in state.offered] == ["Change", "New search", "My bookings"]
    state.apply(UserUttered("hi", {"intent": {"name": "greet"}}), "restaurant")
    assert state.offered == []  # the user spoke: what was offered before is answered
    state.apply(BotUttered("Done.", Reply(text="Done.").to_dict(), "restaurant"), "restaurant")
    assert state.offered == []  # a message without buttons offers nothing
    for k in range(10):
        offer = Reply(text="More?", buttons=(Button(f"a{k}", "/a"), Button(f"b{k}", "/b")))
        state.apply(BotUttered(offer.text, offer.to_dict(), "restaurant"), "restaurant")
    assert len(state.offered) == MAX_OFFERED  # messages sent without a reply do not pile up
    assert state.offered[-1]["title"] == "b9"


DOMAIN = BotDomain.model_validate(
    {
        "name": "demo",
        "title": {"en": "Demo"},
        "intents": {"book": {"en": "Book"}, "inform": {}, "ask": {}},
        "entities": ["cuisine", "number"],
        "slots": {
            "cuisine": {"mappings": [{"type": "from_entity", "entity": "cuisine", "not_intent": "ask"}]},
            "size": {
                "mappings": [
                    {
                        "type": "from_entity",
                        "entity": "number",
                        "conditions": [{"active_loop": "form", "requested_slot": "size"}],
                    }
                ]
            },
            "ok": {"type": "bool", "mappings": [{"type": "from_intent", "intent": "affirm", "value": True}]},
        },
        "forms": {"form": {"required_slots": ["cuisine", "size"]}},
        "responses": {"utter_ask_cuisine": {"en": "Which?"}, "utter_ask_size": {"en": "How many?"}},
        "rules": [{"intent": "book", "steps": ["form"]}],
    }
)


def _parse(intent: str, **entities: Any) -> dict[str, Any]:
    return {"intent": {"name": intent}, "entities": [{"entity": k, "value": v} for k, v in entities.items()]}


def test_slot_mappings_respect_intents_and_conditions() -> None:
    state = BotState()
    assert extract_slot_events(DOMAIN, state, _parse("book", cuisine="thai", number=4)) == [
        SlotSet("cuisine", "thai")
    ]
    assert extract_slot_events(DOMAIN, state, _parse("ask", cuisine="thai")) == []
    asking = BotState(slots={"requested_slot": "size"}, active_loop="form")
    assert extract_slot_events(DOMAIN, asking, _parse("inform", number=4)) == [SlotSet("size", 4)]
    assert extract_slot_events(DOMAIN, state, _parse("affirm")) == [SlotSet("ok", True)]
    same = BotState(slots={"cuisine": "thai"})
    assert extract_slot_events(DOMAIN, same, _parse("book", cuisine="thai")) == []


TYPED = BotDomain.model_validate(
    {
        "name": "typed",
        "title": {"en": "Typed"},
        "intents": {"inform": {}},
        "slots": {
            name: {"type": kind, **extra, "mappings": [{"type": "from_entity", "entity": name}]}
            for name, kind, extra in [
                ("cuisine", "text", {}),
                ("price", "categorical", {"values": ["cheap", "upscale"]}),
                ("size", "float", {}),
                ("ok", "bool", {}),
                ("picks", "list", {}),
                ("anything", "any", {}),
            ]
        },
    }
)


@pytest.mark.parametrize(
    ("entities", "kept"),
    [
        (
            {"cuisine": "thai", "price": "Cheap", "size": 4, "ok": False},
            {"cuisine": "thai", "price": "cheap", "size": 4, "ok": False},
        ),
        ({"cuisine": 21, "price": "free", "size": "four", "ok": "yes"}, {}),
        ({"cuisine": {"x": 1}, "price": ["cheap"], "size": True, "ok": 1}, {}),
        ({"size": float("nan"), "anything": {"x": [1]}}, {"anything": {"x": [1]}}),
        ({"picks": "a", "anything": None}, {"picks": ["a"]}),  # a list slot gathers every value
    ],
)
def test_a_value_not_of_the_slots_type_fills_no_slot(entities: dict[str, Any], kept: dict[str, Any]) -> None:
    """A button payload can carry anything: {"cuisine": 21} broke every later turn in the bot's actions."""
    events = extract_slot_events(TYPED, BotState(), _parse("inform", **entities))
    assert {e.key: e.value for e in events} == kept


def test_domain_check_names_every_problem() -> None:
    broken = DOMAIN.model_copy(
        update={
            "rules": [
                *DOMAIN.rules,
                DOMAIN.rules[0].model_copy(update={"steps": ["action_missing"]}),
                DOMAIN.rules[0].model_copy(update={"after": "action_never_defined"}),
            ],
            "forms": {
                "form": DOMAIN.forms["form"].model_copy(
                    update={
                        "required_slots": ["cuisine", "nope"],
                        "leave_on": ["no_such_intent"],
                        "leave_on_slots": ["cuisine", "ghost"],
                        "keep_on_leave": ["ghost"],
                    }
                )
            },
        }
    )
    with pytest.raises(ConfigError) as info:
        broken.check(known_actions=set(), common_intents={"affirm"})
    text = str(info.value)
    assert "action_missing" in text
    assert "'nope'" in text
    assert "leave_on names unknown intent 'no_such_intent'" in text
    assert "leave_on_slots names 'ghost', which is not a declared slot" in text
    assert "leave_on_slots names 'cuisine', which the form requires" in text
    assert "after 'action_never_defined' is no action, form or response" in text
    assert "keep_on_leave names 'ghost', which the form does not require" in text
    DOMAIN.check(known_actions=set(), common_intents={"affirm"})


def test_a_rule_with_after_applies_only_right_after_that_action() -> None:
    data = DOMAIN.model_dump()
    data["rules"].append({"intent": "book", "after": "utter_ask_size", "steps": ["utter_ask_cuisine"]})
    domain = BotDomain.model_validate(data)
    assert domain.rule_for_intent("book") == DOMAIN.rules[0]  # the plain rule, whatever came before
    after = domain.rule_after("book", "utter_ask_size")
    assert after is not None
    assert after.steps == ["utter_ask_cuisine"]
    assert domain.rule_after("book", "utter_ask_cuisine") is None
    assert domain.rule_after("book", None) is None


def test_responses_render_per_language_with_placeholders() -> None:
    book = ResponseBook(
        BotDomain.model_validate(
            {
                "name": "x",
                "title": {"en": "X"},
                "responses": {
                    "utter_hi": {
                        "en": {
                            "text": "Hi {name}",
                            "buttons": [{"title": "Go", "payload": '/go{"who":"{name}"}'}],
                        },
                        "fr": "Salut {name}",
                    }
                },
            }
        ).responses,
        "en",
    )
    assert book.render("utter_hi", "en", {"name": "Ana"}) == Reply(
        text="Hi Ana", buttons=(Button("Go", '/go{"who":"Ana"}'),)
    )
    assert book.render("utter_hi", "fr", {"name": "Ana"}) == Reply(text="Salut Ana")
    assert book.render("utter_hi", "de", {}) == Reply(
        text="Hi {name}", buttons=(Button("Go", '/go{"who":"{name}"}'),)
    )
    assert book.render("utter_none", "en", {}) is None
    assert fill("{a} {b} {json}", {"a": 1, "b": "x"}) == "1 x {json}"


def test_degrade_turns_cards_and_buttons_into_what_a_channel_shows() -> None:
    reply = Reply(text="Pick one", cards=(Card("Bellini", "Italian", None, (Button("Book", "/book"),)),))
    assert degrade(reply, frozenset({Capability.TEXT, Capability.BUTTONS})) == [
        Reply(text="Pick one"),
        Reply(text="Bellini\nItalian", buttons=(Button("Book", "/book"),)),
    ]
    only_text = degrade(
        Reply(text="Yes?", buttons=(Button("Yes", "/affirm"), Button("No", "/deny"))), frozenset()
    )
    assert only_text == [Reply(text="Yes?\n  1. Yes\n  2. No")]


class _Validate(FormValidationAction):
    def name(self) -> str:
        return "validate_form"

    async def validate_size(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if int(value) > 20:
            dispatcher.utter_message(text="Too many")
            return {"size": None}
        return {"size": int(value)}

    def extract_cuisine(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"cuisine": "thai"} if "thai" in (tracker.latest_message.get("text") or "") else {}


async def test_form_validation_extracts_and_validates_like_rasa_sdk() -> None:
    domain: DomainDict = DOMAIN.to_domain_dict()  # type: ignore[assignment]
    tracker = Tracker(
        sender_id="1",
        slots={"size": 30},
        latest_message={"text": "thai for 30"},
        events=[{"event": "user", "text": "thai for 30"}, {"event": "slot", "name": "size", "value": 30}],
        active_loop={"name": "form"},
    )
    dispatcher = CollectingDispatcher()
    events = await _Validate().run(dispatcher, tracker, domain)
    assert SlotSet("cuisine", "thai") in events
    assert events[-1] == SlotSet("size", None)
    assert dispatcher.messages[0]["text"] == "Too many"
    assert _Validate().declared_slot_methods() == {"validate": ["size"], "extract": ["cuisine"]}


def test_tracker_wire_state_round_trips() -> None:
    tracker = Tracker(
        sender_id="9",
        slots={"a": 1},
        latest_message={
            "intent": {"name": "greet"},
            "entities": [{"entity": "x", "value": "y", "role": "r"}],
        },
        events=[{"event": "user", "input_channel": "rest", "timestamp": 1.0}],
        active_loop={"name": "form"},
        latest_action_name="action_listen",
    )
    again = Tracker.from_dict(tracker.current_state())
    assert again.slots == {"a": 1}
    assert again.get_intent_of_latest_message() == "greet"
    assert list(again.get_latest_entity_values("x", entity_role="r")) == ["y"]
    assert list(again.get_latest_entity_values("x", entity_role="other")) == []
    assert again.get_latest_input_channel() == "rest"
    assert again.active_loop_name == "form"
    assert isinstance(ValidationAction().name(), str)


def test_a_typed_button_title_presses_that_button() -> None:
    from plaza.router import pressed_by_title

    offered = [
        {"title": "L'heure", "payload": '/restaurant.inform{"change_field":"time"}'},
        {"title": "Le nombre de personnes", "payload": '/restaurant.inform{"change_field":"party_size"}'},
        {"title": "Yes, book it", "payload": "/affirm"},
    ]
    assert pressed_by_title("l’heure", offered) == '/restaurant.inform{"change_field":"time"}'
    assert pressed_by_title("  LE NOMBRE de personnes ! ", offered) == offered[1]["payload"]
    assert pressed_by_title("yes book it", offered) == "/affirm"
    assert pressed_by_title("l'heure exacte", offered) is None  # the whole title, not a part of it
    assert pressed_by_title("?!", offered) is None
    twice = [{"title": "Book", "payload": "/a"}, {"title": "book", "payload": "/b"}]
    assert pressed_by_title("book", twice) is None  # two buttons of that title: no guess
    assert pressed_by_title("x" * 100, [{"title": "x" * 100, "payload": "/long"}]) is None


def test_an_ordinal_after_which_one_presses_that_button() -> None:
    from datetime import datetime, timedelta, timezone

    from plaza.router import pressed_by_ordinal

    now = datetime(2026, 11, 20, 15, tzinfo=timezone(timedelta(hours=1)))
    offered = [{"title": "Mon 7:30 pm", "payload": "/a"}, {"title": "Mon 8:00 pm", "payload": "/b"}]
    assert pressed_by_ordinal("la première", offered, "fr", now) == "/a"
    assert pressed_by_ordinal("the second one", offered, "en", now) == "/b"
    assert pressed_by_ordinal("la deuxième s'il vous plaît", offered, "fr", now) == "/b"
    assert pressed_by_ordinal("the third one", offered, "en", now) is None  # only two on offer
    assert pressed_by_ordinal("le premier décembre", offered, "fr", now) is None  # a date
    assert pressed_by_ordinal("the first one but for 6 people on friday", offered, "en", now) is None
    assert pressed_by_ordinal("yes", offered, "en", now) is None
    # the cards' own rule (`picks.picked_index`): "the last one" too
    assert pressed_by_ordinal("la dernière", offered, "fr", now) == "/b"
