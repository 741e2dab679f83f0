"""The restaurant bot's world: the catalog, opening hours, booking slots and availability.

The catalog is data/restaurants.json (with cuisines.json and districts.json); availability is
read from the booking ledger.

Kept apart from the actions so they read as dialogue, and so the rules (when is a table
bookable, what is the nearest free time) are tested on their own.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from plaza.storage.bookings import capacity_used
from plaza.storage.staging import DomainStore

BOT = "restaurant"
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PRICE_LEVELS = {"cheap": 1, "moderate": 2, "upscale": 3, "fine_dining": 4}
MIN_PARTY, MAX_PARTY = 1, 20
BOOKING_LEAD = timedelta(minutes=15)
"""A table can be booked up to this close to its time."""


def fold(text: str) -> str:
    """Case- and accent-insensitive key."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("’", "'").strip()


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours) % 24, int(minutes))


@dataclass(frozen=True, slots=True)
class Restaurant:
    id: str
    name: str
    aliases: tuple[str, ...]
    cuisine: str
    district: str
    address: str
    lat: float
    lon: float
    price_level: int
    phone: str
    hours: Mapping[str, tuple[tuple[time, time], ...]]
    """Per weekday key: ranges in which a table may *start* (last seating = range end)."""
    slot_minutes: int
    capacity_per_slot: int
    max_party_size: int
    diets: frozenset[str]
    dishes: Mapping[str, tuple[str, ...]]
    vegetarian_dishes: Mapping[str, tuple[str, ...]]
    description: Mapping[str, str]

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Restaurant:
        hours = {
            day: tuple(
                (_clock(r.split("-")[0]), _clock(r.split("-")[1])) for r in raw["opening_hours"].get(day, [])
            )
            for day in WEEKDAY_KEYS
        }
        return cls(
            id=raw["id"],
            name=raw["name"],
            aliases=tuple(raw.get("aliases") or ()),
            cuisine=raw["cuisine"],
            district=raw["district"],
            address=raw["address"],
            lat=float(raw["lat"]),
            lon=float(raw["lon"]),
            price_level=int(raw["price_level"]),
            phone=raw["phone"],
            hours=hours,
            slot_minutes=int(raw.get("slot_minutes", 30)),
            capacity_per_slot=int(raw["capacity_per_slot"]),
            max_party_size=min(int(raw.get("max_party_size", MAX_PARTY)), MAX_PARTY),
            diets=frozenset(raw.get("diets") or ()),
            dishes={k: tuple(v) for k, v in (raw.get("dishes") or {}).items()},
            vegetarian_dishes={k: tuple(v) for k, v in (raw.get("vegetarian_dishes") or {}).items()},
            description=dict(raw.get("description") or {}),
        )

    def ranges(self, day: date) -> tuple[tuple[time, time], ...]:
        return self.hours[WEEKDAY_KEYS[day.weekday()]]

    def open_on(self, day: date) -> bool:
        return bool(self.ranges(day))

    def takes_booking_at(self, at: time, day: date) -> bool:
        return any(start <= at <= end for start, end in self.ranges(day))

    def slots_on(self, day: date, tz: ZoneInfo) -> list[datetime]:
        """Every bookable start time of a day, as aware datetimes."""
        found: list[datetime] = []
        step = timedelta(minutes=self.slot_minutes)
        for start, end in self.ranges(day):
            at = datetime.combine(day, start, tz)
            last = datetime.combine(day, end, tz)
            while at <= last:
                found.append(at)
                at += step
        return found

    def align(self, at: time) -> time:
        """Round down to this restaurant's slot boundary (bookings start on the half hour, say)."""
        minutes = at.hour * 60 + at.minute
        minutes -= minutes % self.slot_minutes
        return time(minutes // 60, minutes % 60)


@dataclass(frozen=True, slots=True)
class Label:
    en: str
    fr: str

    def say(self, language: str) -> str:
        return self.fr if language == "fr" else self.en


class Catalog:
    def __init__(
        self, restaurants: Sequence[Restaurant], cuisines: Mapping[str, Label], districts: Mapping[str, Label]
    ) -> None:
        self.restaurants = {r.id: r for r in restaurants}
        self.cuisines = dict(cuisines)
        self.districts = dict(districts)
        self._names: dict[str, str] = {}
        for r in restaurants:
            for name in (r.id, r.name, *r.aliases):
                self._names.setdefault(fold(name), r.id)

    @classmethod
    def load(cls, data_dir: Path) -> Catalog:
        restaurants = [
            Restaurant.from_json(r) for r in json.loads((data_dir / "restaurants.json").read_text("utf-8"))
        ]
        cuisines_raw = json.loads((data_dir / "cuisines.json").read_text("utf-8"))
        districts_raw = json.loads((data_dir / "districts.json").read_text("utf-8"))
        cuisines = {k: Label(v["en"], v["fr"]) for k, v in cuisines_raw.items()}
        districts = {k: Label(v["name"], v["fr"]) for k, v in districts_raw.items()}
        return cls(restaurants, cuisines, districts)

    def get(self, key: str | None) -> Restaurant | None:
        if not key:
            return None
        found = self.restaurants.get(key)
        if found is not None:
            return found
        rid = self._names.get(fold(key))
        return self.restaurants.get(rid) if rid else None

    def find(
        self,
        *,
        cuisine: str | None = None,
        district: str | None = None,
        price: str | None = None,
        diet: str | None = None,
    ) -> list[Restaurant]:
        level = PRICE_LEVELS.get(price or "")
        return [
            r
            for r in self.restaurants.values()
            if (cuisine is None or r.cuisine == cuisine)
            and (district is None or r.district == district)
            and (level is None or r.price_level == level)
            and (diet is None or diet in r.diets)
        ]

    def cuisine_name(self, key: str, language: str) -> str:
        label = self.cuisines.get(key)
        return label.say(language) if label else key

    def district_name(self, key: str, language: str) -> str:
        label = self.districts.get(key)
        return label.say(language) if label else key


class Availability:
    """How many seats are left, read from the booking ledger."""

    def __init__(self, store: DomainStore, tz: ZoneInfo) -> None:
        self._store = store
        self._tz = tz

    async def seats_left(
        self, slots: Iterable[tuple[Restaurant, datetime]]
    ) -> dict[tuple[str, datetime], int]:
        wanted = list(slots)
        keys = [(r.id, at) for r, at in wanted]
        used = await self._store.read(lambda conn: capacity_used(conn, BOT, keys))
        return {(r.id, at): r.capacity_per_slot - used.get((r.id, at), 0) for r, at in wanted}

    async def seats_at(self, r: Restaurant, at: datetime) -> int:
        """Seats left at one restaurant at one time."""
        return (await self.seats_left([(r, at)]))[(r.id, at)]

    async def free(self, restaurants: Sequence[Restaurant], at: datetime, party: int) -> list[Restaurant]:
        """Those with room for `party` in their slot that holds `at` (8:10 is the 8:00 slot).

        The booking form snaps a time to the place's slot the same way: a search at 8:10 must
        not say "nothing free" where the form would book 8:00.
        """
        slots = {r.id: datetime.combine(at.date(), r.align(at.time()), at.tzinfo) for r in restaurants}
        candidates = [
            r
            for r in restaurants
            if r.takes_booking_at(slots[r.id].time(), at.date()) and party <= r.max_party_size
        ]
        left = await self.seats_left((r, slots[r.id]) for r in candidates)
        return [r for r in candidates if left[(r.id, slots[r.id])] >= party]

    async def nearest_times(
        self, restaurant: Restaurant, wanted: datetime, party: int, not_before: datetime, count: int = 4
    ) -> list[datetime]:
        """The free start times closest to `wanted`, that day first, then the next open days."""
        found: list[datetime] = []
        day = wanted.date()
        for _ in range(8):
            target = datetime.combine(day, wanted.time(), self._tz)  # the same hour on later days
            slots = [s for s in restaurant.slots_on(day, self._tz) if s >= not_before]
            if slots and party <= restaurant.max_party_size:
                left = await self.seats_left((restaurant, s) for s in slots)
                free = [s for s in slots if left[(restaurant.id, s)] >= party]
                free.sort(key=lambda s: (abs((s - target).total_seconds()), s))
                found.extend(free[: count - len(found)])
            if len(found) >= count:
                break
            day += timedelta(days=1)
        return sorted(found[:count])
