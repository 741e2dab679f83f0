"""Each restaurant action, alone, with no server: a Tracker, a CollectingDispatcher, the events.

As rasa-sdk's own tests do: build the tracker the action would receive, await `run`, compare
what it says and returns. Actions that write stage their writes; the tests apply them to a real
(test) database to check what they would commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time
from typing import Any

import pytest

from actions import restaurant as r
from actions.restaurant_catalog import Catalog
from plaza.bots import BotContext
from plaza.clock import FixedClock
from plaza.domain import load_bot_domain
from plaza.sdk import Action, ActiveLoop, CollectingDispatcher, DomainDict, SlotSet, Tracker
from plaza.storage import bookings as ledger
from plaza.storage.database import Database
from plaza.storage.staging import DomainStore, collect_staged_writes

from .conftest import APP_DIR, NOW, PARIS

DOMAIN: DomainDict = load_bot_domain(APP_DIR / "bots" / "restaurant" / "bot.yml").to_domain_dict()  # type: ignore[assignment]
SLOT = datetime(2026, 11, 21, 20, 0, tzinfo=PARIS)
ADDRESS_OF_BEIT_LAYAL = "25 Boulevard de Belleville, 75011 Paris"


@pytest.fixture
async def actions(db: Database) -> AsyncIterator[dict[str, Action]]:
    ctx = BotContext(
        name="restaurant",
        app_dir=APP_DIR,
        data_dir=APP_DIR / "data",
        clock=FixedClock(NOW),
        timezone=PARIS,
        languages=("en", "fr"),
        store=DomainStore(db),
    )
    return {a.name(): a for a in r.create_actions(ctx)}


def tracker(
    slots: dict[str, Any] | None = None,
    *,
    intent: str = "inform",
    entities: list[dict[str, Any]] | None = None,
    text: str = "",
    form: str | None = None,
    language: str = "en",
    user_id: int = 1,
    new_slots: dict[str, Any] | None = None,
) -> Tracker:
    """A tracker as the engine builds it: `new_slots` were set by the latest message."""
    all_slots = {**(slots or {}), **(new_slots or {})}
    events = [{"event": "user", "text": text}] + [
        {"event": "slot", "name": k, "value": v} for k, v in (new_slots or {}).items()
    ]
    return Tracker(
        sender_id=str(user_id),
        slots=all_slots,
        latest_message={"text": text, "intent": {"name": intent}, "entities": entities or []},
        events=events,
        active_loop={"name": form} if form else {},
        language=language,
    )


async def run(action: Action, t: Tracker) -> tuple[list[Any], list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    with collect_staged_writes() as staged:
        events = await action.run(dispatcher, t, DOMAIN)
    return events, dispatcher.messages, list(staged)


def texts(messages: list[dict[str, Any]]) -> list[str | None]:
    return [m.get("response") or m.get("text") for m in messages]


async def make_user(db: Database) -> int:
    from plaza.storage.conversations import find_or_create_conversation

    ref = await db.write(
        lambda c: find_or_create_conversation(
            c,
            channel="test",
            channel_user_id="u",
            bot="",
            display_name=None,
            language="en",
            initial_state=lambda u, cid: {},
        )
    )
    return ref.user_id


async def test_slot_mappings_turn_a_time_and_a_party_into_slots(actions: dict[str, Action]) -> None:
    entities = [
        {
            "entity": "time",
            "value": "2026-11-21T20:00:00+01:00",
            "extractor": "builtin",
            "additional_info": {"grain": "hour", "has_date": True, "has_time": True},
        },
        {"entity": "people", "value": 4},
    ]
    events, _, _ = await run(
        actions["action_validate_slot_mappings"], tracker(intent="search_restaurant", entities=entities)
    )
    assert set(events) == {SlotSet("date", "2026-11-21"), SlotSet("time", "20:00"), SlotSet("party_size", 4)}
    # a bare time keeps a day already chosen
    bare = [
        {
            "entity": "time",
            "value": "2026-11-20T21:00:00+01:00",
            "additional_info": {"has_date": False, "has_time": True},
        }
    ]
    events, _, _ = await run(
        actions["action_validate_slot_mappings"],
        tracker({"date": "2026-11-25"}, intent="inform", entities=bare),
    )
    assert events == [SlotSet("time", "21:00")]
    # a question about opening hours does not change the booking's day
    events, _, _ = await run(
        actions["action_validate_slot_mappings"], tracker(intent="ask_opening_hours", entities=entities)
    )
    assert events == []
    # while changing a booking, the same words fill the new_* slots
    events, _, _ = await run(
        actions["action_validate_slot_mappings"], tracker(intent="change_booking", entities=bare)
    )
    assert events == [SlotSet("new_time", "21:00")]


async def test_search_shows_free_places_as_cards(actions: dict[str, Action]) -> None:
    slots = {
        "cuisine": "italian",
        "district": "bastille",
        "date": "2026-11-21",
        "time": "20:00",
        "party_size": 4,
    }
    events, messages, _ = await run(
        actions["action_search_restaurants"], tracker(slots, intent="search_restaurant")
    )
    assert texts(messages)[0] == "utter_search_intro"
    cards = messages[1]["elements"]
    assert [c["title"] for c in cards] == ["Trattoria Bellini"]
    assert cards[0]["buttons"][0]["payload"] == '/restaurant.book_table{"restaurant":"trattoria-bellini"}'
    assert events == [SlotSet("last_results", ["trattoria-bellini"])]


async def test_search_relaxes_criteria_that_match_nothing(actions: dict[str, Action]) -> None:
    _, messages, _ = await run(
        actions["action_search_restaurants"],
        tracker({"cuisine": "korean", "district": "bastille"}, intent="search_restaurant"),
    )
    assert texts(messages)[0] == "utter_search_relaxed"
    assert {c["title"] for c in messages[1]["elements"]} == {"Maru Bap", "Haneul"}



async def test_a_search_that_keeps_no_criterion_says_other_places(actions: dict[str, Action]) -> None:
    """"Nothing (…), but here are places :" had an empty list of criteria before its colon."""
    _, messages, _ = await run(
        actions["action_search_restaurants"], tracker({"cuisine": "martian"}, intent="search_restaurant")
    )
    assert texts(messages)[0] == "utter_search_relaxed_all"
    assert messages[1]["elements"]


@pytest.mark.parametrize(("slot", "said"), [("cuisine", "table"), ("district", "11e")])
async def test_a_word_that_is_no_cuisine_or_district_of_the_catalog_fills_no_slot(
    actions: dict[str, Action], slot: str, said: str
) -> None:
    events, _, _ = await run(
        actions["action_validate_slot_mappings"],
        tracker(intent="search_restaurant", new_slots={slot: said}),
    )
    assert SlotSet(slot, None) in events
    kept, _, _ = await run(
        actions["action_validate_slot_mappings"],
        tracker(intent="search_restaurant", new_slots={"cuisine": "italian", "district": "bastille"}),
    )
    assert SlotSet("cuisine", "italian") in kept
    assert SlotSet("district", "bastille") in kept


async def test_search_relaxes_what_an_earlier_search_said_before_what_this_message_says(
    actions: dict[str, Action],
) -> None:
    # Italian from the last search; this message names vegan and Oberkampf (no Italian there)
    named = [{"entity": "diet", "value": "vegan"}, {"entity": "district", "value": "oberkampf"}]
    slots = {"cuisine": "italian", "district": "oberkampf", "diet": "vegan"}
    _, messages, _ = await run(
        actions["action_search_restaurants"], tracker(slots, intent="search_restaurant", entities=named)
    )
    assert texts(messages)[0] == "utter_search_relaxed"
    found = [c["subtitle"] for c in messages[1]["elements"]]
    assert found
    assert all("Oberkampf" in subtitle and "Italian" not in subtitle for subtitle in found)


async def test_search_when_full_offers_times_and_other_places(
    actions: dict[str, Action], db: Database
) -> None:
    await db.write(lambda c: ledger.reserve(c, "restaurant", "umi-no-hana", SLOT, 8, 8))
    slots = {
        "cuisine": "japanese",
        "district": "saint-germain",
        "date": "2026-11-21",
        "time": "20:00",
        "party_size": 2,
    }
    _, messages, _ = await run(
        actions["action_search_restaurants"], tracker(slots, intent="search_restaurant")
    )
    assert texts(messages)[0] == "utter_full_alternatives"
    assert all("Umi no Hana" in b["title"] for b in messages[0]["buttons"])
    assert "20:00" not in " ".join(b["payload"] for b in messages[0]["buttons"])
    assert texts(messages)[1] == "utter_free_elsewhere"
    assert {c["title"] for c in messages[2]["elements"]} == {"Shiro Kitsune", "Menya Kaede"}


async def test_booking_form_validates_party_size_time_and_day(actions: dict[str, Action]) -> None:
    validate = actions["validate_booking_form"]
    base = {"restaurant": "chez-anand", "date": "2026-11-21"}
    events, messages, _ = await run(
        validate, tracker(base, new_slots={"party_size": 30}, form="booking_form")
    )
    assert events[-1] == SlotSet("party_size", None)
    assert texts(messages) == ["utter_party_size_invalid"]
    events, messages, _ = await run(validate, tracker(base, new_slots={"time": "16:00"}, form="booking_form"))
    assert events[-1] == SlotSet("time", None)
    assert texts(messages) == ["utter_closed_time"]
    events, _, _ = await run(validate, tracker(base, new_slots={"time": "20:10"}, form="booking_form"))
    assert events[-1] == SlotSet("time", "20:00")  # aligned to the half-hour slot
    events, messages, _ = await run(
        validate,
        tracker({"restaurant": "trattoria-bellini"}, new_slots={"date": "2026-11-22"}, form="booking_form"),
    )
    assert events[-1] == SlotSet("date", None)  # a Sunday: closed
    assert texts(messages) == ["utter_closed_day"]
    events, messages, _ = await run(
        validate, tracker(base, new_slots={"date": "2026-11-19"}, form="booking_form")
    )
    assert texts(messages) == ["utter_past_time"]
    assert await validate.required_slots(
        [], CollectingDispatcher(), tracker({"confirmed": False}), DOMAIN
    ) == [
        "restaurant",
        "date",
        "time",
        "party_size",
        "change_field",
    ]


async def test_a_change_after_the_summary_asks_for_confirmation_again(actions: dict[str, Action]) -> None:
    slots = {
        "restaurant": "chez-anand",
        "date": "2026-11-21",
        "time": "20:00",
        "party_size": 2,
        "confirmed": False,
    }
    events, _, _ = await run(
        actions["validate_booking_form"], tracker(slots, new_slots={"time": "21:00"}, form="booking_form")
    )
    assert SlotSet("confirmed", None) in events
    events, _, _ = await run(
        actions["validate_booking_form"],
        tracker(slots, new_slots={"change_field": "party_size"}, form="booking_form"),
    )
    assert set(events) >= {
        SlotSet("party_size", None),
        SlotSet("confirmed", None),
        SlotSet("change_field", None),
    }


async def test_ask_actions_offer_choices(actions: dict[str, Action]) -> None:
    _, messages, _ = await run(
        actions["action_ask_restaurant"], tracker({"cuisine": "indian"}, form="booking_form")
    )
    assert {c["title"] for c in messages[1]["elements"]} == {"Chez Anand", "Rani Kesar"}
    assert messages[1]["elements"][0]["buttons"][0]["payload"].startswith("/restaurant.inform{")
    _, messages, _ = await run(
        actions["action_ask_time"],
        tracker({"restaurant": "chez-anand", "date": "2026-11-21"}, form="booking_form"),
    )
    assert [b["title"] for b in messages[0]["buttons"]] == [
        "7:00 pm",
        "7:30 pm",
        "8:00 pm",
        "8:30 pm",
        "9:00 pm",
        "9:30 pm",
    ]  # the six free times nearest to 8 pm, in order; the day is in the question
    _, messages, _ = await run(
        actions["action_ask_confirmed"],
        tracker(
            {"restaurant": "chez-anand", "date": "2026-11-21", "time": "20:00", "party_size": 3},
            language="fr",
        ),
    )
    assert messages[0]["response"] == "utter_ask_confirmed"
    assert messages[0]["when"] == "demain à 20h00"
    assert messages[0]["people"] == "3 personnes"


async def test_book_table_stages_the_seats_and_the_booking(actions: dict[str, Action], db: Database) -> None:
    user_id = await make_user(db)
    slots = {
        "restaurant": "umi-no-hana",
        "date": "2026-11-21",
        "time": "20:00",
        "party_size": 4,
        "confirmed": True,
    }
    events, messages, staged = await run(actions["action_book_table"], tracker(slots, user_id=user_id))
    assert messages[0]["response"] == "utter_booked"
    ref = messages[0]["ref"]
    assert SlotSet("booking_ref", ref) in events
    await db.write(lambda c: [w(c) for w in staged])
    booking = await db.read(lambda c: ledger.booking_by_ref(c, ref))
    assert booking is not None
    assert (booking.resource_id, booking.party_size, booking.starts_at) == ("umi-no-hana", 4, SLOT)
    # the slot is now half full; a second party of 4 fits, a third does not
    await db.write(lambda c: ledger.reserve(c, "restaurant", "umi-no-hana", SLOT, 4, 8))
    events, messages, staged = await run(actions["action_book_table"], tracker(slots, user_id=user_id))
    assert texts(messages)[0] == "utter_slot_taken"
    assert staged == []
    assert ActiveLoop("booking_form") in events
    assert SlotSet("time", None) in events


async def test_questions_about_a_place(actions: dict[str, Action]) -> None:
    _, messages, _ = await run(
        actions["action_restaurant_address"],
        tracker(intent="ask_address", entities=[{"entity": "restaurant", "value": "beit-layal"}]),
    )
    assert (messages[0]["name"], messages[0]["address"]) == ("Beit Layal", ADDRESS_OF_BEIT_LAYAL)
    _, messages, _ = await run(
        actions["action_restaurant_diet"],
        tracker(
            {"restaurant": "umi-no-hana"}, intent="ask_diet", entities=[{"entity": "diet", "value": "vegan"}]
        ),
    )
    assert texts(messages)[:2] == ["utter_diet_no", "utter_diet_others"]
    _, messages, _ = await run(
        actions["action_restaurant_hours"], tracker({"restaurant": "umi-no-hana"}, language="fr")
    )
    assert "mardi–vendredi 19h00–21h30" in messages[0]["hours"]
    _, messages, _ = await run(actions["action_restaurant_address"], tracker(intent="ask_address"))
    assert texts(messages)[0] == "utter_which_restaurant"


async def _booked(db: Database, user_id: int, ref: str = "PLZ-TEST22", size: int = 2) -> None:
    await db.write(
        lambda c: (
            ledger.reserve(c, "restaurant", "bistrot-valmy", SLOT, size, 22),
            ledger.create_booking(
                c,
                ref=ref,
                bot="restaurant",
                resource_id="bistrot-valmy",
                user_id=user_id,
                starts_at=SLOT,
                party_size=size,
                details={},
                now=NOW,
            ),
        )
    )


async def test_list_and_pick_bookings(actions: dict[str, Action], db: Database) -> None:
    user_id = await make_user(db)
    _, messages, _ = await run(actions["action_list_bookings"], tracker(user_id=user_id))
    assert texts(messages) == ["utter_no_bookings"]
    await _booked(db, user_id)
    _, messages, _ = await run(actions["action_list_bookings"], tracker(user_id=user_id))
    card = messages[1]["elements"][0]
    assert card["title"] == "Bistrot Valmy — tomorrow at 8:00 pm"
    assert [b["payload"] for b in card["buttons"]] == [
        '/restaurant.change_booking{"booking_ref":"PLZ-TEST22"}',
        '/restaurant.cancel_booking{"booking_ref":"PLZ-TEST22"}',
    ]
    _, messages, _ = await run(actions["action_ask_booking_ref"], tracker(user_id=user_id))
    assert messages[0]["buttons"][0]["payload"] == '/restaurant.inform{"booking_ref":"PLZ-TEST22"}'
    # only one upcoming booking: the forms pick it without asking
    events = await actions["validate_cancel_booking_form"].run(
        CollectingDispatcher(), tracker(user_id=user_id, form="cancel_booking_form"), DOMAIN
    )
    assert SlotSet("booking_ref", "PLZ-TEST22") in events
    # someone else's reference is refused
    events, messages, _ = await run(
        actions["validate_cancel_booking_form"],
        tracker(user_id=user_id + 1, new_slots={"booking_ref": "PLZ-TEST22"}),
    )
    assert events[-1] == SlotSet("booking_ref", None)
    assert texts(messages) == ["utter_unknown_booking"]


async def test_change_booking_moves_the_seats(actions: dict[str, Action], db: Database) -> None:
    user_id = await make_user(db)
    await _booked(db, user_id)
    slots = {"booking_ref": "PLZ-TEST22", "new_time": "21:00", "change_confirmed": True}
    _, messages, _ = await run(actions["action_ask_change_confirmed"], tracker(slots, user_id=user_id))
    assert messages[0]["when"] == "tomorrow at 9:00 pm"
    events, messages, staged = await run(actions["action_change_booking"], tracker(slots, user_id=user_id))
    assert texts(messages) == ["utter_changed"]
    await db.write(lambda c: [w(c) for w in staged])
    later = SLOT.replace(hour=21)
    used = await db.read(
        lambda c: ledger.capacity_used(c, "restaurant", [("bistrot-valmy", SLOT), ("bistrot-valmy", later)])
    )
    assert used == {("bistrot-valmy", SLOT): 0, ("bistrot-valmy", later): 2}
    assert SlotSet("new_time", None) in events
    # validation refuses a party too large for the place
    events, messages, _ = await run(
        actions["validate_change_booking_form"],
        tracker({"booking_ref": "PLZ-TEST22"}, new_slots={"new_party_size": 40}, user_id=user_id),
    )
    assert SlotSet("new_party_size", None) in events
    assert texts(messages) == ["utter_party_size_invalid"]


async def test_change_validation_refuses_closed_past_and_full_times(
    actions: dict[str, Action], db: Database
) -> None:
    user_id = await make_user(db)
    await _booked(db, user_id)  # 2 people at Bistrot Valmy tomorrow at 8 pm (22 seats a slot)
    await db.write(lambda c: ledger.reserve(c, "restaurant", "bistrot-valmy", SLOT, 18, 22))
    await db.write(lambda c: ledger.reserve(c, "restaurant", "bistrot-valmy", SLOT.replace(hour=21), 22, 22))
    validate = actions["validate_change_booking_form"]

    async def said(slot: str, value: Any) -> tuple[Any, list[str | None]]:
        events, messages, _ = await run(
            validate, tracker({"booking_ref": "PLZ-TEST22"}, new_slots={slot: value}, user_id=user_id)
        )
        kept = next(e.value for e in events if isinstance(e, SlotSet) and e.key == slot)
        return kept, texts(messages)

    assert await said("new_time", "16:00") == (None, ["utter_closed_time"])  # between services
    assert await said("new_date", "2026-11-01") == (None, ["utter_past_time"])
    assert (await said("new_time", "21:00"))[0] is None  # full: other times are offered instead
    # the booking's own two seats count at its own time: 4 fit (18 others + 4 = 22), 5 do not
    assert await said("new_party_size", 4) == (4, [])
    assert (await said("new_party_size", 5))[0] is None
    assert await said("new_party_size", "many") == (None, ["utter_party_size_not_number"])


async def test_cancel_booking_releases_the_seats(actions: dict[str, Action], db: Database) -> None:
    user_id = await make_user(db)
    await _booked(db, user_id, size=3)
    _, messages, _ = await run(
        actions["action_ask_cancel_confirmed"], tracker({"booking_ref": "PLZ-TEST22"}, user_id=user_id)
    )
    assert messages[0]["people"] == "3 people"
    _, messages, staged = await run(
        actions["action_cancel_booking"],
        tracker({"booking_ref": "PLZ-TEST22", "cancel_confirmed": False}, user_id=user_id),
    )
    assert (texts(messages), staged) == (["utter_kept_booking"], [])
    _, messages, staged = await run(
        actions["action_cancel_booking"],
        tracker({"booking_ref": "PLZ-TEST22", "cancel_confirmed": True}, user_id=user_id),
    )
    assert texts(messages) == ["utter_cancelled_booking"]
    await db.write(lambda c: [w(c) for w in staged])
    booking = await db.read(lambda c: ledger.booking_by_ref(c, "PLZ-TEST22"))
    assert booking is not None
    assert booking.status == "cancelled"
    used = await db.read(lambda c: ledger.capacity_used(c, "restaurant", [("bistrot-valmy", SLOT)]))
    assert used == {("bistrot-valmy", SLOT): 0}


def test_catalog_knows_hours_slots_and_names() -> None:
    catalog = Catalog.load(APP_DIR / "data")
    assert len(catalog.restaurants) >= 25
    pho = catalog.restaurants["pho-lumiere"]
    assert pho.align(time(19, 52)) == time(19, 45)  # 15-minute slots
    friday = NOW.date()
    slots = pho.slots_on(friday, PARIS)
    assert slots[0].time() == time(12, 0)
    assert slots[-1].time() == time(22, 0)
    assert catalog.get("Pho Lumiere") is pho  # accents optional
    assert catalog.get("pho-lumiere") is pho
    assert catalog.get("nowhere") is None
    assert {x.id for x in catalog.find(cuisine="italian", district="bastille")} == {"trattoria-bellini"}
    assert all(x.price_level == 1 for x in catalog.find(price="cheap"))


@pytest.mark.parametrize(
    ("text", "entities", "picked"),
    [
        ("the first one", [("ordinal", 4, 9, 1)], "a"),
        ("book the second one", [("ordinal", 9, 15, 2)], "b"),
        ("je prends la 2e", [("ordinal", 13, 15, 2)], "b"),
        ("la dernière svp", [], "c"),
        ("the last one", [], "c"),
        ("ok the 3rd", [("time", 3, 10, "2026-12-03"), ("ordinal", 7, 10, 3)], "c"),  # the third card
        ("le premier décembre", [("time", 0, 19, "2026-12-01"), ("ordinal", 3, 10, 1)], None),  # a date
        ("the fifth", [("ordinal", 4, 9, 5)], None),  # only three were shown
        ("first time here, what would you recommend tonight", [("ordinal", 0, 5, 1)], None),  # too long
        ("ok the second one for 4 on saturday at 8pm", [("ordinal", 7, 13, 2)], "b"),  # long, but "one"
    ],
)
def test_an_ordinal_points_at_the_cards_just_shown(
    text: str, entities: list[tuple[str, int, int, Any]], picked: str | None
) -> None:
    found = [{"entity": kind, "start": a, "end": b, "value": v} for kind, a, b, v in entities]
    t = tracker({"last_results": ["a", "b", "c"]}, text=text, entities=found)
    assert r.ordinal_pick(t) == picked


def test_a_weekday_in_a_change_is_read_in_the_bookings_week() -> None:
    saturday = date(2026, 11, 28)
    today = date(2026, 11, 21)
    assert r.weekday_near(saturday, 6, today) == date(2026, 11, 29)  # Sunday: the next day
    assert r.weekday_near(saturday, 4, today) == date(2026, 11, 27)  # Friday: the day before
    assert r.weekday_near(date(2026, 11, 22), 4, today) == date(2026, 11, 27)  # never in the past
    said = [("to Sunday", "to Sunday"), ("à dimanche", "à dimanche"), ("next sunday", "next sunday")]
    found = [
        r.bare_weekday(tracker(text=text, entities=[{"entity": "time", "start": 0, "end": len(span)}]))
        for text, span in said
    ]
    assert found == [6, 6, None]  # "next Sunday" says which Sunday: it stays as said
