"""Bookings of capacity-limited resources: restaurant tables now, a doctor's slots or cinema seats next.

Capacity is enforced by the database, not by a read-then-write in Python: `reserve` is one
conditional UPDATE (`used + n <= capacity`), which two concurrent transactions cannot both pass
for the last seats, on SQLite (one writer) as on PostgreSQL (row lock). A reservation that does
not fit raises `CapacityExceeded`, which rolls the whole turn back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from plaza.errors import CapacityExceeded, ConflictError
from plaza.storage.models import Booking, CapacityUse, table_of
from plaza.storage.prepared import Prepared, datetime_from_driver, insert_all, json_from_driver

bookings = table_of(Booking)
capacity = table_of(CapacityUse)

CONFIRMED, CANCELLED = "confirmed", "cancelled"


@dataclass(frozen=True, slots=True)
class BookingRow:
    id: int
    ref: str
    bot: str
    resource_id: str
    user_id: int
    starts_at: datetime
    party_size: int
    status: str
    details: dict[str, Any]


_ROW_COLUMNS = ("id", "ref", "bot", "resource_id", "user_id", "starts_at", "party_size", "status", "details")
"""What a BookingRow is read from, in this order (statements return plain tuples)."""


def _row(r: Sequence[Any]) -> BookingRow:
    id_, ref, bot, resource_id, user_id, starts_at, party_size, status, details = r
    return BookingRow(
        id=int(id_),
        ref=str(ref),
        bot=str(bot),
        resource_id=str(resource_id),
        user_id=int(user_id),
        starts_at=datetime_from_driver(starts_at),
        party_size=int(party_size),
        status=str(status),
        details=dict(json_from_driver(details) or {}),
    )


_used_at_slot = Prepared(
    select(capacity.c.resource_id, capacity.c.used).where(
        capacity.c.bot == bindparam("b_bot"), capacity.c.slot == bindparam("b_slot")
    )
)
_used_between = Prepared(
    select(capacity.c.slot, capacity.c.used).where(
        capacity.c.bot == bindparam("b_bot"),
        capacity.c.resource_id == bindparam("b_resource"),
        capacity.c.slot >= bindparam("b_from"),
        capacity.c.slot <= bindparam("b_to"),
    )
)


def capacity_used(
    conn: Connection, bot: str, keys: Iterable[tuple[str, datetime]]
) -> dict[tuple[str, datetime], int]:
    """Seats used per (resource, slot), in UTC; a missing key means nothing booked yet.

    Asks per slot (many places at one time, as a search does) or per place over a time range
    (one place at many times, as "nearest free times" does), whichever takes fewer queries.
    """
    wanted = {(resource, slot.astimezone(UTC)) for resource, slot in keys}
    if not wanted:
        return {}
    slots = {slot for _, slot in wanted}
    resources = {resource for resource, _ in wanted}
    found: dict[tuple[str, datetime], int] = {}
    if len(slots) <= len(resources):
        for slot in slots:
            for resource_id, used in _used_at_slot.execute(conn, {"b_bot": bot, "b_slot": slot}):
                if (str(resource_id), slot) in wanted:
                    found[(str(resource_id), slot)] = int(used)
    else:
        for resource in resources:
            times = [slot for r, slot in wanted if r == resource]
            rows = _used_between.execute(
                conn, {"b_bot": bot, "b_resource": resource, "b_from": min(times), "b_to": max(times)}
            )
            for at, used in rows:
                key = (resource, datetime_from_driver(at))
                if key in wanted:
                    found[key] = int(used)
    return found


_take_seats = Prepared(
    update(capacity)
    .where(
        capacity.c.bot == bindparam("b_bot"),
        capacity.c.resource_id == bindparam("b_resource"),
        capacity.c.slot == bindparam("b_slot"),
        capacity.c.used + bindparam("b_seats") <= bindparam("b_limit"),
    )
    .values(used=capacity.c.used + bindparam("b_seats"))
)
_SEAT_COLUMNS: dict[str, Any] = {name: bindparam(name) for name in ("bot", "resource_id", "slot", "used")}
_first_seats = {
    "sqlite": Prepared(sqlite_insert(capacity).values(_SEAT_COLUMNS).on_conflict_do_nothing()),
    "postgresql": Prepared(pg_insert(capacity).values(_SEAT_COLUMNS).on_conflict_do_nothing()),
}


def reserve(conn: Connection, bot: str, resource_id: str, slot: datetime, seats: int, limit: int) -> None:
    """Take `seats` of `limit` at `slot`, or raise CapacityExceeded. Never over-books."""
    if seats <= 0:
        raise ValueError("seats must be positive")
    if seats > limit:
        raise CapacityExceeded(f"{resource_id} takes at most {limit} at {slot.isoformat()}")
    where = {"b_bot": bot, "b_resource": resource_id, "b_slot": slot, "b_seats": seats, "b_limit": limit}
    if _take_seats.execute(conn, where).rowcount == 1:
        return
    values = {"bot": bot, "resource_id": resource_id, "slot": slot, "used": seats}
    if _first_seats[conn.dialect.name].execute(conn, values).rowcount == 1:
        return
    # the row appeared meanwhile (another transaction inserted it): one more conditional try
    if _take_seats.execute(conn, where).rowcount == 1:
        return
    raise CapacityExceeded(f"{resource_id} has fewer than {seats} left at {slot.isoformat()}")


_give_back_seats = Prepared(
    update(capacity)
    .where(
        capacity.c.bot == bindparam("b_bot"),
        capacity.c.resource_id == bindparam("b_resource"),
        capacity.c.slot == bindparam("b_slot"),
        capacity.c.used >= bindparam("b_seats"),
    )
    .values(used=capacity.c.used - bindparam("b_seats"))
)


def release(conn: Connection, bot: str, resource_id: str, slot: datetime, seats: int) -> None:
    _give_back_seats.execute(
        conn, {"b_bot": bot, "b_resource": resource_id, "b_slot": slot, "b_seats": seats}
    )


_insert_booking = insert_all(bookings)


def create_booking(
    conn: Connection,
    *,
    ref: str,
    bot: str,
    resource_id: str,
    user_id: int,
    starts_at: datetime,
    party_size: int,
    details: dict[str, Any],
    now: datetime,
) -> None:
    _insert_booking.execute(
        conn,
        {
            "ref": ref,
            "bot": bot,
            "resource_id": resource_id,
            "user_id": user_id,
            "starts_at": starts_at,
            "party_size": party_size,
            "status": CONFIRMED,
            "details": details,
            "created_at": now,
            "updated_at": now,
        },
    )


_bookings_of_user = Prepared(
    select(*(bookings.c[name] for name in _ROW_COLUMNS))
    .where(
        bookings.c.bot == bindparam("b_bot"),
        bookings.c.user_id == bindparam("b_user"),
        bookings.c.status == bindparam("b_status"),
        bookings.c.starts_at >= bindparam("b_after"),
    )
    .order_by(bookings.c.starts_at, bookings.c.id)
    .limit(bindparam("b_limit"))
)
_booking_by_ref = Prepared(
    select(*(bookings.c[name] for name in _ROW_COLUMNS)).where(bookings.c.ref == bindparam("b_ref"))
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def user_bookings(
    conn: Connection,
    bot: str,
    user_id: int,
    *,
    starting_after: datetime | None = None,
    statuses: Sequence[str] = (CONFIRMED,),
    limit: int = 10,
) -> list[BookingRow]:
    """The user's bookings in these statuses, soonest first, at most `limit` of them."""
    found: list[BookingRow] = []
    for status in statuses:
        params = {
            "b_bot": bot,
            "b_user": user_id,
            "b_status": status,
            "b_after": starting_after or _EPOCH,
            "b_limit": limit,
        }
        found.extend(_row(r) for r in _bookings_of_user.execute(conn, params))
    return sorted(found, key=lambda b: (b.starts_at, b.id))[:limit]


def booking_by_ref(conn: Connection, ref: str) -> BookingRow | None:
    row = _booking_by_ref.execute(conn, {"b_ref": ref}).first()
    return _row(row) if row is not None else None


def update_booking(
    conn: Connection,
    booking_id: int,
    *,
    expected_status: str,
    now: datetime,
    starts_at: datetime | None = None,
    party_size: int | None = None,
    status: str | None = None,
) -> None:
    """Change a booking if it is still in `expected_status`; else ConflictError (retry the turn)."""
    values: dict[str, Any] = {"updated_at": now}
    if starts_at is not None:
        values["starts_at"] = starts_at
    if party_size is not None:
        values["party_size"] = party_size
    if status is not None:
        values["status"] = status
    moved = conn.execute(
        update(bookings)
        .where(bookings.c.id == booking_id, bookings.c.status == expected_status)
        .values(**values)
    )
    if moved.rowcount != 1:
        raise ConflictError(f"booking {booking_id} is no longer {expected_status}")
