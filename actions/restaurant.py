"""The restaurant bot's actions: search, book, answer questions, list, change and cancel bookings.

Rasa-SDK-style classes (a booking is a form with a confirmation); `create_actions` lists them.

Actions read availability from the booking ledger and *stage* their writes (seats, bookings)
into the turn's transaction. If another user takes the last table first, the staged reservation
fails at commit, the engine re-runs the turn, and the action then sees the table is gone and
offers the nearest free times instead.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar

from actions.restaurant_catalog import (
    BOOKING_LEAD,
    BOT,
    MAX_PARTY,
    MIN_PARTY,
    PRICE_LEVELS,
    WEEKDAY_KEYS,
    Availability,
    Catalog,
    Restaurant,
)
from plaza.bots import BotContext
from plaza.dialogue.payload import make_payload
from plaza.domain import localize
from plaza.i18n import format_date, format_time, format_when, people, weekday_name
from plaza.nlu.builtin.time_words import WEEKDAYS as WEEKDAY_NAMES
from plaza.nlu.lookup import normalise
from plaza.nlu.picks import picked_index
from plaza.sdk import (
    Action,
    ActiveLoop,
    CollectingDispatcher,
    DomainDict,
    Event,
    FollowupAction,
    FormValidationAction,
    SlotSet,
    Tracker,
    ValidationAction,
)
from plaza.storage.bookings import (
    CANCELLED,
    CONFIRMED,
    BookingRow,
    booking_by_ref,
    create_booking,
    release,
    reserve,
    update_booking,
    user_bookings,
)

SEARCH_INTENTS = frozenset({"search_restaurant", "book_table", "inform"})
INFO_INTENTS = frozenset({"ask_address", "ask_diet", "ask_opening_hours", "ask_price", "my_bookings"})
MAX_RESULTS = 5
REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
DIET_NAMES = {
    "en": {
        "vegetarian": "vegetarian",
        "vegan": "vegan",
        "gluten_free": "gluten-free",
        "halal": "halal",
        "kosher": "kosher",
    },
    "fr": {
        "vegetarian": "végétariens",
        "vegan": "vegan",
        "gluten_free": "sans gluten",
        "halal": "halal",
        "kosher": "casher",
    },
}
PRICE_SIGNS = {1: "€", 2: "€€", 3: "€€€", 4: "€€€€"}
_HHMM = re.compile(r"^\d{1,2}:\d{2}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def new_booking_ref() -> str:
    return "PLZ-" + "".join(secrets.choice(REF_ALPHABET) for _ in range(6))


def parse_clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def latest_entities(tracker: Tracker, entity: str) -> list[Mapping[str, Any]]:
    return [e for e in tracker.latest_message.get("entities") or [] if e.get("entity") == entity]


@dataclass(frozen=True, slots=True)
class WhenSaid:
    """What a message said about when: an explicit date, the date a bare time implies, a time."""

    day: date | None = None
    implied_day: date | None = None
    at: time | None = None
    either_half_day: bool = False
    """An hour said without am/pm ("tomorrow at 8"): the other 12-hour reading is possible."""


def when_said(tracker: Tracker, tz: Any) -> WhenSaid:
    """Read the message's `time` entities (built-in extractor or button payload).

    A day and a clock said apart ("demain pour quatre vers 20h") are two entities: the first
    that names a day gives the day, the first that names a clock gives the time.
    """
    said = [w for w in (_when_of(e, tz) for e in latest_entities(tracker, "time")) if w is not None]
    if not said:
        return WhenSaid()
    day = next((w.day for w in said if w.day is not None), None)
    timed = next((w for w in said if w.at is not None), None)
    if timed is None:
        return said[0] if day is None else replace(said[0], day=day)
    return WhenSaid(
        day=day,
        implied_day=day or timed.implied_day,
        at=timed.at,
        either_half_day=timed.either_half_day,
    )


def _when_of(entity: Mapping[str, Any], tz: Any) -> WhenSaid | None:
    """What one `time` entity says about when, or None when it is not one we can read.

    A button payload can carry anything ("25:00", "2026-02-30", {"from": "garbage"}): what is
    no real time is no entity, as for a typed one, and the form asks again.
    """
    try:
        return _read_when(entity, tz)
    except (ValueError, TypeError, OverflowError):
        return None


def _read_when(entity: Mapping[str, Any], tz: Any) -> WhenSaid | None:
    value = entity.get("value")
    info = entity.get("additional_info") or {}
    if isinstance(value, Mapping) and value.get("from"):  # an interval: "tonight", "this weekend"
        start = datetime.fromisoformat(str(value["from"])).astimezone(tz)
        return WhenSaid(day=start.date())
    if not isinstance(value, str):
        return None
    if _HHMM.match(value):
        return WhenSaid(at=parse_clock(value))
    if _ISO_DATE.match(value):
        return WhenSaid(day=date.fromisoformat(value))
    moment = datetime.fromisoformat(value).astimezone(tz)
    grain = info.get("grain")
    from_button = entity.get("extractor") == "payload"
    has_date = from_button or bool(info.get("has_date", True))
    has_time = from_button or bool(info.get("has_time", grain in {"hour", "minute", "second"}))
    return WhenSaid(
        day=moment.date() if has_date else None,
        implied_day=moment.date(),
        at=moment.time().replace(second=0, microsecond=0) if has_time else None,
        either_half_day=bool(info.get("either_half_day")),
    )


SHOWS_RESULTS = frozenset({"action_search_restaurants", "action_ask_restaurant"})
"""The actions whose cards an ordinal in the next message points at (their order: `last_results`)."""


def ordinal_pick(tracker: Tracker) -> str | None:
    """The place among `last_results` that "the first one" / "la deuxième" points at, if any."""
    last = tracker.get_slot("last_results") or []
    if not last or latest_entities(tracker, "restaurant"):
        return None
    text = str(tracker.latest_message.get("text") or "")
    index = picked_index(
        text,
        [
            (int(e.get("start") or 0), int(e.get("end") or 0), e.get("value"))
            for e in latest_entities(tracker, "ordinal")
        ],
        [(int(e.get("start") or 0), int(e.get("end") or 0)) for e in latest_entities(tracker, "time")],
        len(last),
    )
    return None if index is None else str(last[index])


WEEKDAYS: dict[str, int] = {name: day for names in WEEKDAY_NAMES.values() for name, day in names.items()}
"""Weekday names as the time extractor knows them, English and French together: Monday is 0."""
_BARE_WEEKDAY_RE = re.compile(r"(?:on |le |a |au |pour |to |for )?(?P<day>[a-z]+)")


def bare_weekday(tracker: Tracker) -> int | None:
    """The weekday when the message's only date is a weekday's bare name ("à dimanche", "to Friday")."""
    times = latest_entities(tracker, "time")
    text = str(tracker.latest_message.get("text") or "")
    if len(times) != 1:
        return None
    said = normalise(text[int(times[0].get("start") or 0) : int(times[0].get("end") or 0)]).strip()
    match = _BARE_WEEKDAY_RE.fullmatch(said)
    return WEEKDAYS.get(match.group("day")) if match else None


def weekday_near(booked: date, weekday: int, today: date) -> date:
    """That weekday in the booking's own week (within three days of it), never before today.

    "Move it to Sunday" for a booking on Saturday the 28th means the 29th, not tomorrow.
    """
    day = booked + timedelta(days=(weekday - booked.weekday() + 3) % 7 - 3)
    while day < today:
        day += timedelta(days=7)
    return day


def party_said(tracker: Tracker, requested: bool) -> int | None:
    """A party size from a `people` entity, or a bare number when we just asked how many."""
    for entity in latest_entities(tracker, "people"):
        value = entity.get("value")
        if isinstance(value, int | float):
            return int(value) if math.isfinite(value) else -1
    if requested:
        for entity in latest_entities(tracker, "number"):
            value = entity.get("value")
            if isinstance(value, int | float):
                return int(value) if math.isfinite(value) and float(value).is_integer() else -1
    return None


class World:
    """What the actions share: the catalog, availability, the clock and the user's bookings."""

    def __init__(self, ctx: BotContext, catalog: Catalog) -> None:
        self.ctx = ctx
        self.catalog = catalog
        self.tz = ctx.timezone
        self.availability = Availability(ctx.store, ctx.timezone)

    def now(self) -> datetime:
        return self.ctx.clock.now().astimezone(self.tz)

    def earliest(self) -> datetime:
        return self.now() + BOOKING_LEAD

    def at(self, day: str | None, clock: str | None) -> datetime | None:
        if not day or not clock:
            return None
        return datetime.combine(date.fromisoformat(day), parse_clock(clock), self.tz)

    def when(self, at: datetime, language: str) -> str:
        """'tomorrow at 8:00 pm' / 'demain à 20h00', in the restaurants' time zone."""
        return format_when(at.astimezone(self.tz), language, self.now().date())

    def day(self, day: date, language: str) -> str:
        """'today', 'tomorrow' or 'Saturday 21 November', as the user sees it from today."""
        return format_date(day, language, self.now().date())

    @staticmethod
    def ranges_text(ranges: Iterable[tuple[time, time]], language: str) -> str:
        return ", ".join(f"{format_time(a, language)}–{format_time(b, language)}" for a, b in ranges)

    def say_closed_day(
        self, dispatcher: CollectingDispatcher, r: Restaurant, day: date, language: str
    ) -> None:
        dispatcher.utter_message(
            response="utter_closed_day",
            name=r.name,
            day=self.day(day, language),
            open_days=self.open_days(r, language),
        )

    def say_closed_time(
        self, dispatcher: CollectingDispatcher, r: Restaurant, at: time, day: date, language: str
    ) -> None:
        dispatcher.utter_message(
            response="utter_closed_time",
            name=r.name,
            time=format_time(at, language),
            day=self.day(day, language),
            hours=self.ranges_text(r.ranges(day), language) or "—",
        )

    def say_closed(
        self, dispatcher: CollectingDispatcher, r: Restaurant, at: time, day: date, language: str
    ) -> None:
        """Why `r` takes no booking then: closed that whole day, or not at that time."""
        if r.open_on(day):
            self.say_closed_time(dispatcher, r, at, day, language)
        else:
            self.say_closed_day(dispatcher, r, day, language)

    async def has_room(self, r: Restaurant, at: datetime, size: int, *, own: int = 0) -> bool:
        """Whether `size` people fit at `at`, counting `own` seats the user already holds then."""
        return await self.availability.seats_at(r, at) + own >= size

    def is_upcoming(self, booking: BookingRow) -> bool:
        """Confirmed and not yet past: a booking the user can still change or cancel."""
        return booking.status == CONFIRMED and booking.starts_at >= self.now()

    def subtitle(self, r: Restaurant, language: str) -> str:
        parts = [
            self.catalog.cuisine_name(r.cuisine, language).capitalize(),
            self.catalog.district_name(r.district, language),
            PRICE_SIGNS.get(r.price_level, ""),
            r.address,
        ]
        return " · ".join(p for p in parts if p)

    def card(self, r: Restaurant, language: str, *, intent: str = "book_table") -> dict[str, Any]:
        title = (
            {"en": "Book", "fr": "Réserver"} if intent == "book_table" else {"en": "Choose", "fr": "Choisir"}
        )
        return {
            "title": r.name,
            "subtitle": self.subtitle(r, language),
            "buttons": [
                {
                    "title": localize(title, language),
                    "payload": make_payload(intent, {"restaurant": r.id}, BOT),
                }
            ],
        }

    def time_buttons(
        self,
        r: Restaurant,
        times: Iterable[datetime],
        language: str,
        intent: str,
        *,
        said_day: date | None = None,
    ) -> list[dict[str, str]]:
        """Buttons for free times; a time on a day other than `said_day` (default: today) names its day."""
        today = self.now().date()
        buttons = []
        for at in times:
            label = format_time(at.time(), language)
            if at.date() != (said_day or today):
                label = f"{format_date(at.date(), language, today)} {label}"
            entities: dict[str, Any] = {"restaurant": r.id, "time": at.strftime("%H:%M")}
            if intent == "book_table" or at.date() != today:
                entities["time"] = at.isoformat()
            buttons.append(
                {
                    "title": f"{label} · {r.name}" if intent == "book_table" else label,
                    "payload": make_payload(intent, entities, BOT),
                }
            )
        return buttons

    def hours_summary(self, r: Restaurant, language: str) -> str:
        closed = localize({"en": "closed", "fr": "fermé"}, language)
        groups: list[tuple[list[int], str]] = []
        for index, key in enumerate(WEEKDAY_KEYS):
            ranges = r.hours[key]
            text = self.ranges_text(ranges, language) or closed
            if groups and groups[-1][1] == text and groups[-1][0][-1] == index - 1:
                groups[-1][0].append(index)
            else:
                groups.append(([index], text))
        monday = date(2026, 1, 5)  # a Monday, to name weekdays
        parts = []
        for days, text in groups:
            first = weekday_name(monday.replace(day=5 + days[0]), language)
            last = weekday_name(monday.replace(day=5 + days[-1]), language)
            label = first if len(days) == 1 else f"{first}–{last}"
            parts.append(f"{label} {text}")
        return "; ".join(parts)

    def open_days(self, r: Restaurant, language: str) -> str:
        monday = date(2026, 1, 5)
        names = [
            weekday_name(monday.replace(day=5 + i), language)
            for i, k in enumerate(WEEKDAY_KEYS)
            if r.hours[k]
        ]
        return ", ".join(names)

    def evening_reading(self, at: time, day: date, restaurant: Restaurant | None) -> time:
        """Read "tomorrow at 8" to a restaurant as 8 pm when tables are booked then and not at 8 am."""
        if at.hour >= 12:
            return at
        pm = at.replace(hour=at.hour + 12)
        places = [restaurant] if restaurant is not None else self.catalog.find()

        def bookable(t: time) -> bool:
            return any(r.takes_booking_at(r.align(t), day) for r in places)

        return pm if not bookable(at) and bookable(pm) else at

    async def my_bookings(self, user_id: int) -> list[BookingRow]:
        after = self.now()
        return await self.ctx.store.read(lambda conn: user_bookings(conn, BOT, user_id, starting_after=after))

    async def booking(self, ref: str) -> BookingRow | None:
        return await self.ctx.store.read(lambda conn: booking_by_ref(conn, ref))

    async def own_booking(self, ref: Any, tracker: Tracker) -> BookingRow | None:
        """The user's own upcoming booking `ref`, else None (another user's, past, cancelled, unknown).

        Every action that reads a booking by its reference goes through here, not only the
        form's validation: the slot can hold a reference typed in an earlier turn, which a form
        started later never validates (anyone who knew a reference could cancel it).
        """
        if not isinstance(ref, str) or not ref.strip():
            return None
        booking = await self.booking(typed_ref(ref))
        if booking is None or booking.user_id != user_of(tracker) or not self.is_upcoming(booking):
            return None
        return booking

    async def own_booking_and_place(self, ref: Any, tracker: Tracker) -> tuple[BookingRow, Restaurant] | None:
        """`own_booking` with its restaurant, or None when either is unknown."""
        booking = await self.own_booking(ref, tracker)
        r = self.catalog.get(booking.resource_id) if booking is not None else None
        return (booking, r) if booking is not None and r is not None else None


def typed_ref(value: Any) -> str:
    """A booking reference as stored, whatever case or spaces the user typed it with."""
    return str(value).upper().strip()


def user_of(tracker: Tracker) -> int:
    return int(tracker.sender_id)


class RestaurantAction(Action):
    """An action of this bot: it shares the bot's World and is named by a class attribute."""

    action_name: ClassVar[str]

    def __init__(self, world: World) -> None:
        self.w = world

    def name(self) -> str:
        return self.action_name


# -- understanding ------------------------------------------------------------------------------


class ValidateSlotMappings(ValidationAction):
    """Turns time, party-size and number entities into the booking slots, each message.

    Search and booking slots are filled when the user is searching or booking; while a change
    of booking is under way, the same words fill the `new_*` slots instead.
    """

    def __init__(self, world: World) -> None:
        self.w = world

    @staticmethod
    def _purpose(tracker: Tracker) -> str | None:
        intent = tracker.get_intent_of_latest_message() or ""
        form = tracker.active_loop_name
        if form == "change_booking_form" or (form is None and intent == "change_booking"):
            return None if intent in INFO_INTENTS else "change"
        if form == "booking_form":
            return None if intent in INFO_INTENTS | {"change_booking", "cancel_booking"} else "book"
        if form is None and intent in SEARCH_INTENTS:
            return "book"
        return None

    @staticmethod
    def _day(tracker: Tracker, said: WhenSaid, date_slot: str, *, implied: bool) -> str | None:
        """The day said.

        With `implied`, a bare time ("at 9") also gives the day it implies, unless a day is known.
        Not when changing a booking: "move it to 9pm" keeps the booking's day.
        """
        if said.day is not None:
            return said.day.isoformat()
        if (
            implied
            and said.at is not None
            and said.implied_day is not None
            and tracker.get_slot(date_slot) is None
        ):
            return said.implied_day.isoformat()
        return None

    def _clock(self, tracker: Tracker, said: WhenSaid, time_slot: str, day_slot: str | None) -> str | None:
        """The time said, read as the restaurant would ("at 8" is 8 pm when 8 am is closed)."""
        if said.at is not None:
            at = said.at
            if said.either_half_day:
                day = date.fromisoformat(day_slot) if day_slot else said.implied_day or self.w.now().date()
                at = self.w.evening_reading(at, day, self.w.catalog.get(tracker.get_slot("restaurant")))
            return at.strftime("%H:%M")
        if tracker.get_slot("requested_slot") == time_slot and not latest_entities(tracker, "people"):
            for entity in latest_entities(tracker, "number"):  # "8" when asked "at what time?"
                value = entity.get("value")
                if isinstance(value, int) and 1 <= value <= 23:
                    return f"{value + 12 if value < 11 else value:02d}:00"
        return None

    def _when_slot(self, tracker: Tracker, slot: str, purpose: str) -> dict[str, Any]:
        """One of the day/time slots of the booking ("book") or of the change ("change")."""
        if self._purpose(tracker) != purpose:
            return {}
        prefix = "new_" if purpose == "change" else ""
        date_slot, time_slot = f"{prefix}date", f"{prefix}time"
        said = when_said(tracker, self.w.tz)
        day = self._day(tracker, said, date_slot, implied=purpose == "book")
        if slot == date_slot:
            return {} if day is None else {slot: day}
        clock = self._clock(tracker, said, time_slot, day or tracker.get_slot(date_slot))
        return {} if clock is None else {slot: clock}

    def extract_restaurant(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Just after cards were shown, "the second one" is that place."""
        if tracker.latest_action_name not in SHOWS_RESULTS:
            return {}
        picked = ordinal_pick(tracker)
        return {} if picked is None else {"restaurant": picked}

    def extract_date(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._when_slot(tracker, "date", "book")

    def extract_time(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._when_slot(tracker, "time", "book")

    def extract_party_size(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if self._purpose(tracker) != "book":
            return {}
        size = party_said(tracker, tracker.get_slot("requested_slot") == "party_size")
        return {} if size is None else {"party_size": size}

    async def extract_new_date(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        found = self._when_slot(tracker, "new_date", "change")
        weekday = bare_weekday(tracker) if found else None  # runs on every message: only when a day is said
        ref = tracker.get_slot("booking_ref")
        booking = await self.w.own_booking(ref, tracker) if weekday is not None else None
        if booking is None or weekday is None:
            return found
        day = weekday_near(booking.starts_at.astimezone(self.w.tz).date(), weekday, self.w.now().date())
        return {"new_date": day.isoformat()}

    def extract_new_time(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._when_slot(tracker, "new_time", "change")

    def extract_new_party_size(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if self._purpose(tracker) != "change":
            return {}
        # "can we be 6 instead of 4?": in a change request, the first number (not a time) is the party
        bare_number = tracker.get_intent_of_latest_message() == "change_booking" and not latest_entities(
            tracker, "time"
        )
        size = party_said(tracker, bare_number or tracker.get_slot("requested_slot") == "new_party_size")
        return {} if size is None else {"new_party_size": size}

    # The entity tagger can read a word that is no cuisine or district of the catalog ("a table
    # in the Marais": cuisine "table"); the search would then find nothing and say so.
    def validate_cuisine(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"cuisine": value if value in self.w.catalog.cuisines else None}

    def validate_district(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"district": value if value in self.w.catalog.districts else None}


# -- searching ----------------------------------------------------------------------------------


RELAX_ORDER = ("price", "diet", "district", "cuisine")
"""A search's criteria, in the order a search that matches nothing drops them (least telling first)."""


class ActionSearchRestaurants(RestaurantAction):
    action_name = "action_search_restaurants"

    def criteria(self, tracker: Tracker, language: str, *, without: Sequence[str] = ()) -> str:
        parts: list[str] = []
        cuisine, district = tracker.get_slot("cuisine"), tracker.get_slot("district")
        if cuisine and "cuisine" not in without:
            parts.append(self.w.catalog.cuisine_name(cuisine, language))
        if district and "district" not in without:
            parts.append(self.w.catalog.district_name(district, language))
        price = tracker.get_slot("price")
        if price and "price" not in without:
            parts.append(PRICE_SIGNS.get(PRICE_LEVELS.get(price, 0), price))
        diet = tracker.get_slot("diet")
        if diet and "diet" not in without:
            parts.append(DIET_NAMES.get(language, DIET_NAMES["en"]).get(diet, diet))
        at = self.w.at(tracker.get_slot("date"), tracker.get_slot("time"))
        if at is not None:
            parts.append(self.w.when(at, language))
        elif tracker.get_slot("date"):
            parts.append(self.w.day(date.fromisoformat(tracker.get_slot("date")), language))
        party = tracker.get_slot("party_size")
        if isinstance(party, int | float) and party > 0:
            parts.append(people(int(party), language))
        return "(" + ", ".join(parts) + ")" if parts else ""

    async def asked_which(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
        """Ask, for "on sera 4 finalement" just after booking: that booking, or a new search?

        Only for a bare `inform` (a party size or a time, no criteria) while the conversation's
        last booking is still upcoming; the buttons carry what was said to either path.
        """
        said = [e for e in tracker.latest_message.get("entities") or [] if e.get("entity") != "number"]
        ref = tracker.get_slot("booking_ref")
        if (
            tracker.get_intent_of_latest_message() != "inform"
            or not said
            or any(e.get("entity") not in {"people", "time"} for e in said)
            or not isinstance(ref, str)
        ):
            return False
        found = await self.w.own_booking_and_place(ref, tracker)
        if found is None:
            return False
        booking, r = found
        lang = tracker.language
        values = {str(e["entity"]): e.get("value") for e in said}
        dispatcher.utter_message(
            response="utter_booking_or_search",
            ref=ref,
            name=r.name,
            when=self.w.when(booking.starts_at, lang),
            people=people(booking.party_size, lang),
            buttons=[
                {
                    "title": localize({"en": "Change {ref}", "fr": "Modifier {ref}"}, lang).format(ref=ref),
                    "payload": make_payload("change_booking", {"booking_ref": ref, **values}, BOT),
                },
                {
                    "title": localize({"en": "New search", "fr": "Nouvelle recherche"}, lang),
                    "payload": make_payload("search_restaurant", values, BOT),
                },
            ],
        )
        return True

    def matches(self, tracker: Tracker) -> tuple[list[Restaurant], list[str]]:
        """Restaurants matching the criteria, relaxing them one by one when nothing matches.

        Criteria carried over from an earlier search go before those this message names: after
        Italian places, "a vegan place in Oberkampf" that nothing matches drops "Italian" first.
        """
        wanted = {k: tracker.get_slot(k) for k in RELAX_ORDER}
        named = {k for k in RELAX_ORDER if latest_entities(tracker, k)}
        dropped: list[str] = []
        for relax in sorted(RELAX_ORDER, key=lambda k: k in named):  # stable: carried ones first
            found = self.w.catalog.find(**{k: v for k, v in wanted.items() if k not in dropped})
            if found:
                return found, dropped
            if wanted.get(relax):
                dropped.append(relax)
        return self.w.catalog.find(), dropped

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[Event]:
        named = latest_entities(tracker, "restaurant") or ordinal_pick(tracker) is not None
        if named and tracker.get_slot("restaurant"):
            # "a table at Chez Anand tonight", "the first one": that place, not a search
            return [FollowupAction("booking_form")]
        if await self.asked_which(dispatcher, tracker):
            return []
        lang = tracker.language
        found, dropped = self.matches(tracker)
        found.sort(key=lambda r: (r.price_level, r.name))
        no_criteria = not any(tracker.get_slot(k) for k in RELAX_ORDER)
        at = self.w.at(tracker.get_slot("date"), tracker.get_slot("time"))
        party = int(tracker.get_slot("party_size") or 2)
        if at is not None and at < self.w.earliest():
            dispatcher.utter_message(response="utter_past_time")
            return [SlotSet("time", None)]
        largest = max((r.max_party_size for r in found), default=party)
        if party > largest:
            dispatcher.utter_message(response="utter_party_size_too_large", max=largest)
            return [SlotSet("party_size", None)]
        if at is not None:
            aligned = [r for r in found if r.takes_booking_at(r.align(at.time()), at.date())]
            free = await self.w.availability.free(aligned, at, party)  # it keeps those open at `at` itself
            if not free:
                return await self.full(dispatcher, tracker, found, at, party, closed=not aligned)
            found = free
        elif tracker.get_slot("date"):
            day = date.fromisoformat(tracker.get_slot("date"))
            found = [r for r in found if r.open_on(day)] or found
        shown = found[:MAX_RESULTS]
        if no_criteria:
            dispatcher.utter_message(response="utter_search_ask_more")
        elif dropped:
            kept = self.criteria(tracker, lang, without=dropped)
            dispatcher.utter_message(
                response="utter_search_relaxed" if kept else "utter_search_relaxed_all",
                strict=self.criteria(tracker, lang),
                criteria=kept,
            )
        else:
            dispatcher.utter_message(response="utter_search_intro", criteria=self.criteria(tracker, lang))
        dispatcher.utter_message(elements=[self.w.card(r, lang) for r in shown])
        return [SlotSet("last_results", [r.id for r in shown])]

    async def full(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        found: list[Restaurant],
        at: datetime,
        party: int,
        *,
        closed: bool = False,
    ) -> list[Event]:
        """Nothing free then: the nearest free times here, and places free then a little further away.

        `closed` when none of them takes bookings then at all (Bellini on a Sunday): saying
        "nothing free" would suggest they are full. "Further away" is the same cuisine in
        another district, else the same district.
        """
        lang = tracker.language
        buttons: list[dict[str, str]] = []
        for r in found[:3]:
            times = await self.w.availability.nearest_times(r, at, party, self.w.earliest(), count=2)
            buttons.extend(self.w.time_buttons(r, times, lang, "book_table"))
        if not buttons:  # nothing free nearby either: no list to announce
            response = "utter_closed" if closed else "utter_full"
        else:
            response = "utter_closed_alternatives" if closed else "utter_full_alternatives"
        dispatcher.utter_message(
            response=response,
            when=self.w.when(at, lang),
            people=people(party, lang),
            names=", ".join(r.name for r in found[:3]),
            buttons=buttons,
        )
        cuisine, district = tracker.get_slot("cuisine"), tracker.get_slot("district")
        nearby: list[Restaurant] = []
        for criteria in ({"cuisine": cuisine}, {"district": district}):
            if not any(criteria.values()):
                continue
            nearby = [
                r
                for r in await self.w.availability.free(self.w.catalog.find(**criteria), at, party)
                if r not in found
            ]
            if nearby:
                break
        shown = sorted(nearby, key=lambda r: (r.price_level, r.name))[:3]
        if shown:
            dispatcher.utter_message(response="utter_free_elsewhere", when=self.w.when(at, lang))
            dispatcher.utter_message(elements=[self.w.card(r, lang) for r in shown])
        return [SlotSet("last_results", [r.id for r in [*shown, *found[:3]]])]


# -- booking ------------------------------------------------------------------------------------


class ValidateBookingForm(FormValidationAction):
    def __init__(self, world: World) -> None:
        self.w = world

    def name(self) -> str:
        return "validate_booking_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        base = ["restaurant", "date", "time", "party_size"]
        return base + (["change_field"] if tracker.get_slot("confirmed") is False else ["confirmed"])

    @staticmethod
    def reconfirm(tracker: Tracker) -> dict[str, Any]:
        """A booking detail changed after the summary was shown: show it again before booking."""
        return {"confirmed": None} if tracker.get_slot("confirmed") is not None else {}

    def restaurant(self, tracker: Tracker) -> Restaurant | None:
        return self.w.catalog.get(tracker.get_slot("restaurant"))

    async def validate_restaurant(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        r = self.w.catalog.get(str(value))
        if r is None:
            dispatcher.utter_message(response="utter_unknown_restaurant", said=str(value))
            return {"restaurant": None}
        result: dict[str, Any] = {"restaurant": r.id, **self.reconfirm(tracker)}
        day = tracker.get_slot("date")
        said_time = tracker.get_slot("time")
        if day and not r.open_on(date.fromisoformat(day)):
            self.w.say_closed_day(dispatcher, r, date.fromisoformat(day), tracker.language)
            result["date"] = None
            result["time"] = None
        elif said_time:
            # A time said in a search ("at 8:10") is snapped to this place's grid, as a time said
            # in the form is: a booking off the grid would sit outside the capacity buckets.
            aligned = r.align(parse_clock(said_time))
            bookable = not day or r.takes_booking_at(aligned, date.fromisoformat(day))
            result["time"] = aligned.strftime("%H:%M") if bookable else None
        party = tracker.get_slot("party_size")
        if party is not None and bookable_party_size(dispatcher, party, r) is None:
            result["party_size"] = None  # said in a search, before this place's limit was known
        return result

    async def validate_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        day = date.fromisoformat(str(value))
        if day < self.w.now().date():
            dispatcher.utter_message(response="utter_past_time")
            return {"date": None}
        r = self.restaurant(tracker)
        if r is not None and not r.open_on(day):
            self.w.say_closed_day(dispatcher, r, day, tracker.language)
            return {"date": None}
        return {"date": day.isoformat(), **self.reconfirm(tracker)}

    async def validate_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        said = wanted = parse_clock(str(value))
        day = (
            date.fromisoformat(tracker.get_slot("date")) if tracker.get_slot("date") else self.w.now().date()
        )
        r = self.restaurant(tracker)
        lang = tracker.language
        if r is not None:
            wanted = r.align(said)
            if not r.takes_booking_at(wanted, day):
                self.w.say_closed(dispatcher, r, said, day, lang)  # the time said, not its slot
                return {"time": None}
        at = datetime.combine(day, wanted, self.w.tz)
        if at < self.w.earliest():
            dispatcher.utter_message(response="utter_past_time")
            return {"time": None}
        party = tracker.get_slot("party_size")
        if (
            r is not None
            and isinstance(party, int | float)
            and party > 0
            and not await self.w.has_room(r, at, int(party))
        ):
            await offer_other_times(self.w, dispatcher, r, at, int(party), lang)
            return {"time": None}
        return {"time": wanted.strftime("%H:%M"), **self.reconfirm(tracker)}

    async def validate_party_size(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        r = self.restaurant(tracker)
        size = bookable_party_size(dispatcher, value, r)
        if size is None:
            return {"party_size": None}
        result: dict[str, Any] = {"party_size": size, **self.reconfirm(tracker)}
        at = self.w.at(tracker.get_slot("date"), tracker.get_slot("time"))
        if r is not None and at is not None and not await self.w.has_room(r, at, size):
            await offer_other_times(self.w, dispatcher, r, at, size, tracker.language)
            result["time"] = None
        return result

    async def validate_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"confirmed": bool(value)}

    async def validate_change_field(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value in {"restaurant", "date", "time", "party_size"}:
            return {"change_field": None, str(value): None, "confirmed": None}
        return {"change_field": None}


def bookable_party_size(dispatcher: CollectingDispatcher, value: Any, r: Restaurant | None) -> int | None:
    """The party size said, or None after telling the user why it cannot be booked (at `r`)."""
    if not isinstance(value, int | float) or not float(value).is_integer() or value < MIN_PARTY:
        dispatcher.utter_message(response="utter_party_size_not_number")
        return None
    size = int(value)
    if r is None:
        if size > MAX_PARTY:  # no restaurant yet: no name or phone to give
            dispatcher.utter_message(response="utter_party_size_too_large", max=MAX_PARTY)
            return None
    elif size > r.max_party_size:
        dispatcher.utter_message(
            response="utter_party_size_invalid", max=r.max_party_size, name=r.name, phone=r.phone
        )
        return None
    return size


async def offer_other_times(
    world: World, dispatcher: CollectingDispatcher, r: Restaurant, at: datetime, party: int, language: str
) -> None:
    """The time is full: the nearest free times here, then other places free at that time."""
    times = await world.availability.nearest_times(r, at, party, world.earliest(), count=4)
    buttons = world.time_buttons(r, times, language, "inform")
    others = [o for o in world.catalog.find(cuisine=r.cuisine) if o.id != r.id] or [
        o for o in world.catalog.find(district=r.district) if o.id != r.id
    ]
    free_elsewhere = (await world.availability.free(others, at, party))[:2]
    buttons.extend(
        {"title": o.name, "payload": make_payload("inform", {"restaurant": o.id}, BOT)}
        for o in free_elsewhere
    )
    dispatcher.utter_message(
        response="utter_full_alternatives",
        when=f"{world.when(at, language)} ({r.name})",
        people=people(party, language),
        buttons=buttons,
    )


class ActionAskRestaurant(RestaurantAction):
    action_name = "action_ask_restaurant"

    def __init__(self, world: World, search: ActionSearchRestaurants) -> None:
        super().__init__(world)
        self.search = search

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[Event]:
        lang = tracker.language
        found, _dropped = self.search.matches(tracker)
        at = self.w.at(tracker.get_slot("date"), tracker.get_slot("time"))
        party = int(tracker.get_slot("party_size") or 2)
        if at is not None:
            found = await self.w.availability.free(found, at, party) or found
        last = [self.w.catalog.get(rid) for rid in tracker.get_slot("last_results") or []]
        ordered = [r for r in last if r is not None and r in found] + sorted(
            (r for r in found if r.id not in (tracker.get_slot("last_results") or [])),
            key=lambda r: (r.price_level, r.name),
        )
        shown = ordered[:MAX_RESULTS]
        dispatcher.utter_message(response="utter_ask_restaurant")
        dispatcher.utter_message(elements=[self.w.card(r, lang, intent="inform") for r in shown])
        return [SlotSet("last_results", [r.id for r in shown])]  # what "the second one" points at


class ActionAskTime(RestaurantAction):
    action_name = "action_ask_time"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[Event]:
        r = self.w.catalog.get(tracker.get_slot("restaurant"))
        day = tracker.get_slot("date")
        if r is None or not day:
            dispatcher.utter_message(response="utter_ask_time")
            return []
        party = int(tracker.get_slot("party_size") or 2)
        evening = datetime.combine(date.fromisoformat(day), time(20, 0), self.w.tz)
        times = [
            t
            for t in await self.w.availability.nearest_times(r, evening, party, self.w.earliest(), count=6)
            if t.date() == evening.date()
        ]
        lang = tracker.language
        if not times:
            dispatcher.utter_message(response="utter_ask_time")
            return []
        dispatcher.utter_message(
            response="utter_ask_time_options",
            name=r.name,
            day=self.w.day(evening.date(), lang),
            buttons=self.w.time_buttons(r, times, lang, "inform", said_day=evening.date()),
        )
        return []


class ActionAskConfirmed(RestaurantAction):
    action_name = "action_ask_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[Event]:
        r = self.w.catalog.get(tracker.get_slot("restaurant"))
        at = self.w.at(tracker.get_slot("date"), tracker.get_slot("time"))
        if r is None or at is None:
            return []
        lang = tracker.language
        dispatcher.utter_message(
            response="utter_ask_confirmed",
            name=r.name,
            when=self.w.when(at, lang),
            people=people(int(tracker.get_slot("party_size")), lang),
        )
        return []


class ActionBookTable(RestaurantAction):
    action_name = "action_book_table"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[Event]:
        r = self.w.catalog.get(tracker.get_slot("restaurant"))
        at = self.w.at(tracker.get_slot("date"), tracker.get_slot("time"))
        party = tracker.get_slot("party_size")
        if (
            r is None
            or at is None
            or not isinstance(party, int | float)
            or tracker.get_slot("confirmed") is not True
        ):
            return [SlotSet("confirmed", None), ActiveLoop("booking_form")]
        size = int(party)
        lang = tracker.language
        local = at.astimezone(self.w.tz).time()
        too_many = size > r.max_party_size
        if too_many or r.align(local) != local:
            # The form validates both on the way; a slot that got here another way is asked again.
            wrong = SlotSet("party_size" if too_many else "time", None)
            return [wrong, SlotSet("confirmed", None), ActiveLoop("booking_form")]
        if at < self.w.earliest() or not await self.w.has_room(r, at, size):
            dispatcher.utter_message(response="utter_slot_taken", name=r.name, when=self.w.when(at, lang))
            await offer_other_times(self.w, dispatcher, r, at, size, lang)
            return [SlotSet("time", None), SlotSet("confirmed", None), ActiveLoop("booking_form")]
        ref = new_booking_ref()
        user_id = user_of(tracker)
        now = self.w.now()

        def write(conn: Any) -> None:
            reserve(conn, BOT, r.id, at, size, r.capacity_per_slot)
            create_booking(
                conn,
                ref=ref,
                bot=BOT,
                resource_id=r.id,
                user_id=user_id,
                starts_at=at,
                party_size=size,
                details={"restaurant": r.name},
                now=now,
            )

        self.w.ctx.store.stage(write)
        dispatcher.utter_message(
            response="utter_booked",
            name=r.name,
            when=self.w.when(at, lang),
            people=people(size, lang),
            ref=ref,
            restaurant_id=r.id,
        )
        return [SlotSet("confirmed", None), SlotSet("change_field", None), SlotSet("booking_ref", ref)]


# -- questions about a place --------------------------------------------------------------------


class RestaurantQuestion(RestaurantAction):
    """Answers about the restaurant the user means: named in the message, being booked, or last shown."""

    def target(self, tracker: Tracker) -> Restaurant | None:
        for entity in latest_entities(tracker, "restaurant"):
            found = self.w.catalog.get(str(entity.get("value")))
            if found is not None:
                return found
        found = self.w.catalog.get(tracker.get_slot("restaurant"))
        if found is not None:
            return found
        last = tracker.get_slot("last_results") or []
        return self.w.catalog.get(last[0]) if last else None

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[Event]:
        r = self.target(tracker)
        if r is None:
            lang = tracker.language
            last = [self.w.catalog.get(i) for i in tracker.get_slot("last_results") or []]
            dispatcher.utter_message(
                response="utter_which_restaurant",
                buttons=[
                    {
                        "title": x.name,
                        "payload": make_payload(
                            tracker.get_intent_of_latest_message() or "ask_address", {"restaurant": x.id}, BOT
                        ),
                    }
                    for x in last
                    if x is not None
                ],
            )
            if not last:
                dispatcher.utter_message(
                    elements=[
                        self.w.card(x, lang) for x in sorted(self.w.catalog.find(), key=lambda x: x.name)[:3]
                    ]
                )
            return []
        events = await self.answer(r, dispatcher, tracker)
        said = latest_entities(tracker, "restaurant")
        named = any(self.w.catalog.get(str(e.get("value"))) is r for e in said)
        if named and not tracker.active_loop_name and tracker.get_slot("restaurant") != r.id:
            events = [*events, SlotSet("restaurant", r.id)]  # "réserve pour 2" next means this place
        return events

    async def answer(self, r: Restaurant, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        raise NotImplementedError


class ActionRestaurantAddress(RestaurantQuestion):
    action_name = "action_restaurant_address"

    async def answer(self, r: Restaurant, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        dispatcher.utter_message(
            response="utter_address", name=r.name, address=r.address, phone=r.phone, restaurant_id=r.id
        )
        return []


class ActionRestaurantDiet(RestaurantQuestion):
    action_name = "action_restaurant_diet"

    async def answer(self, r: Restaurant, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        lang = tracker.language
        diets = [str(e.get("value")) for e in latest_entities(tracker, "diet")] or ["vegetarian"]
        diet = diets[0]
        label = DIET_NAMES.get(lang, DIET_NAMES["en"]).get(diet, diet)
        if diet in r.diets:
            dishes = r.vegetarian_dishes.get(lang) or r.vegetarian_dishes.get("en") or ()
            if dishes and diet in {"vegetarian", "vegan"}:
                dispatcher.utter_message(
                    response="utter_diet_yes", name=r.name, diet=label, dishes=", ".join(dishes)
                )
            else:
                dispatcher.utter_message(response="utter_diet_yes_no_list", name=r.name, diet=label)
            return []
        dispatcher.utter_message(response="utter_diet_no", name=r.name, diet=label)
        others = [o for o in self.w.catalog.find(district=r.district, diet=diet) if o.id != r.id] or [
            o for o in self.w.catalog.find(cuisine=r.cuisine, diet=diet) if o.id != r.id
        ]
        if others:
            dispatcher.utter_message(response="utter_diet_others", diet=label)
            dispatcher.utter_message(elements=[self.w.card(o, lang) for o in others[:3]])
        return []


class ActionRestaurantHours(RestaurantQuestion):
    action_name = "action_restaurant_hours"

    async def answer(self, r: Restaurant, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        dispatcher.utter_message(
            response="utter_hours", name=r.name, hours=self.w.hours_summary(r, tracker.language)
        )
        return []


PRICE_NAMES = {
    1: {"en": "inexpensive", "fr": "bon marché"},
    2: {"en": "moderately priced", "fr": "à prix moyens"},
    3: {"en": "upscale", "fr": "haut de gamme"},
    4: {"en": "fine dining", "fr": "gastronomique"},
}


class ActionRestaurantPrice(RestaurantQuestion):
    action_name = "action_restaurant_price"

    async def answer(self, r: Restaurant, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        dispatcher.utter_message(
            response="utter_price",
            name=r.name,
            level=localize(PRICE_NAMES[r.price_level], tracker.language),
            symbols=PRICE_SIGNS[r.price_level],
        )
        return []


# -- the user's bookings ------------------------------------------------------------------------


class ActionListBookings(RestaurantAction):
    action_name = "action_list_bookings"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[Event]:
        bookings = await self.w.my_bookings(user_of(tracker))
        if not bookings:
            dispatcher.utter_message(response="utter_no_bookings")
            return []
        lang = tracker.language
        elements = []
        for b in bookings:
            r = self.w.catalog.get(b.resource_id)
            when = self.w.when(b.starts_at, lang)
            elements.append(
                {
                    "title": f"{r.name if r else b.resource_id} — {when}",
                    "subtitle": f"{people(b.party_size, lang)} · {b.ref}",
                    "buttons": [
                        {
                            "title": localize({"en": "Change", "fr": "Modifier"}, lang),
                            "payload": make_payload("change_booking", {"booking_ref": b.ref}, BOT),
                        },
                        {
                            "title": localize({"en": "Cancel", "fr": "Annuler"}, lang),
                            "payload": make_payload("cancel_booking", {"booking_ref": b.ref}, BOT),
                        },
                    ],
                }
            )
        dispatcher.utter_message(response="utter_your_bookings")
        dispatcher.utter_message(elements=elements)
        # "cancel it" next means the one booking listed; with several, the form asks which
        return [SlotSet("booking_ref", bookings[0].ref if len(bookings) == 1 else None)]


class BookingRefValidation(FormValidationAction):
    """Shared by the change and cancel forms: which of the user's upcoming bookings."""

    def __init__(self, world: World) -> None:
        self.w = world

    async def extract_booking_ref(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("booking_ref"):
            return {}
        upcoming = await self.w.my_bookings(user_of(tracker))
        return {"booking_ref": upcoming[0].ref} if len(upcoming) == 1 else {}

    async def validate_booking_ref(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        booking = await self.w.own_booking(str(value), tracker)
        if booking is None:
            dispatcher.utter_message(response="utter_unknown_booking", ref=typed_ref(value))
            return {"booking_ref": None}
        return {"booking_ref": booking.ref}


class ActionAskBookingRef(RestaurantAction):
    action_name = "action_ask_booking_ref"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[Event]:
        bookings = await self.w.my_bookings(user_of(tracker))
        if not bookings:
            dispatcher.utter_message(response="utter_no_bookings")
            return [ActiveLoop(None)]
        lang = tracker.language
        buttons = []
        for b in bookings:
            r = self.w.catalog.get(b.resource_id)
            title = f"{r.name if r else b.resource_id}, {self.w.when(b.starts_at, lang)}"
            buttons.append({"title": title, "payload": make_payload("inform", {"booking_ref": b.ref}, BOT)})
        dispatcher.utter_message(response="utter_ask_booking_ref", buttons=buttons)
        return []


class ValidateChangeBookingForm(BookingRefValidation):
    def name(self) -> str:
        return "validate_change_booking_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        if any(tracker.get_slot(s) is not None for s in ("new_date", "new_time", "new_party_size")):
            return ["booking_ref", "change_confirmed"]
        field = tracker.get_slot("change_field")
        wanted = {"time": "new_time", "date": "new_date", "party_size": "new_party_size"}.get(
            field or "", "change_field"
        )
        return ["booking_ref", wanted, "change_confirmed"]

    async def current(self, tracker: Tracker) -> tuple[BookingRow, Restaurant] | None:
        return await self.w.own_booking_and_place(tracker.get_slot("booking_ref"), tracker)

    async def validate_change_field(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"change_field": value if value in {"time", "date", "party_size"} else None}

    async def check(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        found: tuple[BookingRow, Restaurant] | None,
        *,
        day: date | None = None,
        clock: time | None = None,
        size: int | None = None,
    ) -> bool:
        if found is None:
            return True  # the booking is asked (and checked) first
        booking, r = found
        lang = tracker.language
        at, new_size = proposed_change(self.w, tracker, booking, day=day, clock=clock, size=size)
        at = datetime.combine(at.date(), r.align(at.time()), self.w.tz)
        if not r.takes_booking_at(at.time(), at.date()):
            self.w.say_closed(dispatcher, r, at.time(), at.date(), lang)
            return False
        if at < self.w.earliest():
            dispatcher.utter_message(response="utter_past_time")
            return False
        if not await self.w.has_room(r, at, new_size, own=held_seats(booking, at)):
            await offer_other_times(self.w, dispatcher, r, at, new_size, lang)
            return False
        return True

    async def validate_new_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        day = date.fromisoformat(str(value))
        ok = await self.check(dispatcher, tracker, await self.current(tracker), day=day)
        return {"new_date": day.isoformat() if ok else None, "change_confirmed": None}

    async def validate_new_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        clock = parse_clock(str(value))
        found = await self.current(tracker)
        ok = await self.check(dispatcher, tracker, found, clock=clock)
        aligned = found[1].align(clock) if found else clock
        return {"new_time": aligned.strftime("%H:%M") if ok else None, "change_confirmed": None}

    async def validate_new_party_size(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        found = await self.current(tracker)
        size = bookable_party_size(dispatcher, value, found[1] if found else None)
        ok = size is not None and await self.check(dispatcher, tracker, found, size=size)
        return {"new_party_size": size if ok else None, "change_confirmed": None}


def proposed_change(
    world: World,
    tracker: Tracker,
    booking: BookingRow,
    *,
    day: date | None = None,
    clock: time | None = None,
    size: int | None = None,
) -> tuple[datetime, int]:
    """The booking's time and size once changed.

    Each part is what was just said, else the form's new_* slot, else as booked.
    """
    start = booking.starts_at.astimezone(world.tz)
    new_date, new_time = tracker.get_slot("new_date"), tracker.get_slot("new_time")
    day = day or (date.fromisoformat(new_date) if new_date else start.date())
    clock = clock or (parse_clock(new_time) if new_time else start.time())
    size = size or int(tracker.get_slot("new_party_size") or booking.party_size)
    return datetime.combine(day, clock, world.tz), size


def held_seats(booking: BookingRow, at: datetime) -> int:
    """Seats the booking already holds at `at`: its own, when the change keeps its time.

    Both are aware datetimes, which compare by instant whatever their zones.
    """
    return booking.party_size if at == booking.starts_at else 0


CHANGE_SLOTS = ("new_date", "new_time", "new_party_size", "change_field", "change_confirmed")
CANCEL_SLOTS = ("cancel_confirmed", "booking_ref")


def not_own_booking(dispatcher: CollectingDispatcher, tracker: Tracker, slots: Sequence[str]) -> list[Event]:
    """Say the slot's reference is not the user's upcoming booking, and end the form.

    It was typed in an earlier turn, is someone else's, or was cancelled meanwhile in another chat.
    """
    ref = tracker.get_slot("booking_ref")
    dispatcher.utter_message(response="utter_unknown_booking", ref=typed_ref(ref or ""))
    return [ActiveLoop(None), SlotSet("booking_ref", None), *(SlotSet(s, None) for s in slots)]


class ActionAskChangeConfirmed(RestaurantAction):
    action_name = "action_ask_change_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[Event]:
        booking = await self.w.own_booking(tracker.get_slot("booking_ref"), tracker)
        if booking is None:
            return not_own_booking(dispatcher, tracker, CHANGE_SLOTS)
        r = self.w.catalog.get(booking.resource_id)
        at, size = proposed_change(self.w, tracker, booking)
        lang = tracker.language
        dispatcher.utter_message(
            response="utter_ask_change_confirmed",
            ref=booking.ref,
            name=r.name if r else booking.resource_id,
            when=self.w.when(at, lang),
            people=people(size, lang),
        )
        return []


class ActionChangeBooking(RestaurantAction):
    action_name = "action_change_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[Event]:
        reset: list[Event] = [SlotSet(s, None) for s in CHANGE_SLOTS]
        found = await self.w.own_booking_and_place(tracker.get_slot("booking_ref"), tracker)
        if found is None:
            return not_own_booking(dispatcher, tracker, CHANGE_SLOTS)
        booking, r = found
        if tracker.get_slot("change_confirmed") is not True:
            dispatcher.utter_message(response="utter_change_dropped", ref=booking.ref)
            return reset
        at, size = proposed_change(self.w, tracker, booking)
        start = booking.starts_at.astimezone(self.w.tz)
        lang = tracker.language
        if at == start and size == booking.party_size:
            dispatcher.utter_message(response="utter_nothing_changed")
            return reset
        if not await self.w.has_room(r, at, size, own=held_seats(booking, at)):
            dispatcher.utter_message(response="utter_slot_taken", name=r.name, when=self.w.when(at, lang))
            await offer_other_times(self.w, dispatcher, r, at, size, lang)
            return reset
        now = self.w.now()

        def write(conn: Any) -> None:
            if at == start:
                if size > booking.party_size:
                    reserve(conn, BOT, r.id, at, size - booking.party_size, r.capacity_per_slot)
                else:
                    release(conn, BOT, r.id, at, booking.party_size - size)
            else:
                reserve(conn, BOT, r.id, at, size, r.capacity_per_slot)
                release(conn, BOT, r.id, start, booking.party_size)
            update_booking(
                conn, booking.id, expected_status=CONFIRMED, now=now, starts_at=at, party_size=size
            )

        self.w.ctx.store.stage(write)
        dispatcher.utter_message(
            response="utter_changed",
            ref=booking.ref,
            name=r.name,
            when=self.w.when(at, lang),
            people=people(size, lang),
        )
        return reset


class ValidateCancelBookingForm(BookingRefValidation):
    def name(self) -> str:
        return "validate_cancel_booking_form"


class ActionAskCancelConfirmed(RestaurantAction):
    action_name = "action_ask_cancel_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[Event]:
        booking = await self.w.own_booking(tracker.get_slot("booking_ref"), tracker)
        if booking is None:
            return not_own_booking(dispatcher, tracker, CANCEL_SLOTS)
        r = self.w.catalog.get(booking.resource_id)
        lang = tracker.language
        dispatcher.utter_message(
            response="utter_ask_cancel_confirmed",
            ref=booking.ref,
            name=r.name if r else booking.resource_id,
            when=self.w.when(booking.starts_at, lang),
            people=people(booking.party_size, lang),
        )
        return []


class ActionCancelBooking(RestaurantAction):
    action_name = "action_cancel_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[Event]:
        reset: list[Event] = [SlotSet(s, None) for s in CANCEL_SLOTS]
        booking = await self.w.own_booking(tracker.get_slot("booking_ref"), tracker)
        if booking is None:
            return not_own_booking(dispatcher, tracker, CANCEL_SLOTS)
        r = self.w.catalog.get(booking.resource_id)
        name = r.name if r else booking.resource_id
        if tracker.get_slot("cancel_confirmed") is not True:
            dispatcher.utter_message(response="utter_kept_booking", ref=booking.ref)
            return reset
        now = self.w.now()

        def write(conn: Any) -> None:
            update_booking(conn, booking.id, expected_status=CONFIRMED, now=now, status=CANCELLED)
            release(conn, BOT, booking.resource_id, booking.starts_at, booking.party_size)

        self.w.ctx.store.stage(write)
        dispatcher.utter_message(response="utter_cancelled_booking", ref=booking.ref, name=name)
        return reset


def create_actions(ctx: BotContext) -> list[Action]:
    """Every action of the restaurant bot, built with what it needs."""
    world = World(ctx, Catalog.load(ctx.data_dir))
    search = ActionSearchRestaurants(world)
    return [
        ValidateSlotMappings(world),
        search,
        ValidateBookingForm(world),
        ActionAskRestaurant(world, search),
        ActionAskTime(world),
        ActionAskConfirmed(world),
        ActionBookTable(world),
        ActionRestaurantAddress(world),
        ActionRestaurantDiet(world),
        ActionRestaurantHours(world),
        ActionRestaurantPrice(world),
        ActionListBookings(world),
        ActionAskBookingRef(world),
        ValidateChangeBookingForm(world),
        ActionAskChangeConfirmed(world),
        ActionChangeBooking(world),
        ValidateCancelBookingForm(world),
        ActionAskCancelConfirmed(world),
        ActionCancelBooking(world),
    ]
