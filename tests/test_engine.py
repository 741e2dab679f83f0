"""The engine's guarantees: capacity under concurrency, retries on conflict, several workers."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from sqlalchemy import select

from actions.restaurant_catalog import Availability
from plaza.app import Plaza
from plaza.clock import FixedClock
from plaza.messages import Inbound
from plaza.storage import bookings as ledger
from plaza.storage.models import Booking, Message, table_of
from plaza.testing.apps import TestApps
from plaza.testing.databases import FreshDatabases

from .conftest import APP_DIR, NOW, PARIS

SLOT = datetime(2026, 11, 21, 20, 0, tzinfo=PARIS)  # Umi no Hana: 8 covers per slot, parties up to 4


def said(text: str, sender: str) -> Inbound:
    return Inbound(channel="test", channel_user_id=sender, chat_id=sender, text=text, language="en")


async def tell(plaza: Plaza, sender: str, text: str) -> str:
    result = await plaza.engine.handle(said(text, sender))
    return "\n".join(r.reply.text or "" for r in result.replies)


@pytest.fixture
async def plaza(apps: TestApps) -> AsyncIterator[Plaza]:
    app = await apps.open(FixedClock(NOW))
    yield app
    await app.close()


async def confirmed_bookings(plaza: Plaza) -> list[tuple[str, int]]:
    table = table_of(Booking)
    rows = await plaza.db.read(
        lambda c: c.execute(
            select(table.c.resource_id, table.c.party_size).where(table.c.status == "confirmed")
        ).all()
    )
    return [(r[0], int(r[1])) for r in rows]


async def test_two_users_cannot_take_the_last_table(plaza: Plaza) -> None:
    assert "Booked!" in await tell(plaza, "ann", "book Umi no Hana for 4 tomorrow at 8pm") + await tell(
        plaza, "ann", "yes"
    )
    for user in ("ben", "cid"):
        assert "Shall I book Umi no Hana" in await tell(plaza, user, "book Umi no Hana for 4 tomorrow at 8pm")
    answers = await asyncio.gather(tell(plaza, "ben", "yes"), tell(plaza, "cid", "yes"))
    assert sum("Booked!" in a for a in answers) == 1
    loser = next(a for a in answers if "Booked!" not in a)
    assert "the last table at Umi no Hana tomorrow at 8:00 pm has just gone" in loser
    assert "Nearest free tables" in loser
    assert sorted(await confirmed_bookings(plaza)) == [("umi-no-hana", 4), ("umi-no-hana", 4)]
    used = await plaza.db.read(lambda c: ledger.capacity_used(c, "restaurant", [("umi-no-hana", SLOT)]))
    assert used == {("umi-no-hana", SLOT): 8}


async def test_a_reservation_that_loses_at_commit_reruns_the_turn(
    plaza: Plaza, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The action saw a free table, but another worker took it before the commit: the turn is
    rolled back and run again, and the user is told the truth."""
    assert "Shall I book" in await tell(plaza, "dee", "book Umi no Hana for 4 tomorrow at 8pm")
    await plaza.db.write(
        lambda c: ledger.reserve(c, "restaurant", "umi-no-hana", SLOT, 8, 8)
    )  # another worker
    real = Availability.seats_left
    calls = {"n": 0}

    async def stale_then_true(self: Availability, slots):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        left = await real(self, slots)
        return dict.fromkeys(left, 8) if calls["n"] == 1 else left

    monkeypatch.setattr(Availability, "seats_left", stale_then_true)
    answer = await tell(plaza, "dee", "yes")
    assert calls["n"] >= 2  # the turn ran twice
    assert "has just gone" in answer
    assert "Booked!" not in answer
    assert await confirmed_bookings(plaza) == []
    state = await plaza.engine.state((await plaza.engine.handle(said("hello", "dee"))).conversation_id)
    assert state.bot_state("restaurant").active_loop == "booking_form"  # asking for another time


async def test_two_workers_share_a_conversation_without_losing_updates(databases: FreshDatabases) -> None:
    """Two engines on one database (two worker processes): a stale cached tracker never wins."""
    url = await databases.fresh_url()
    first = await Plaza.open(APP_DIR, os.environ, clock=FixedClock(NOW), database_url=url, migrate=False)
    second = await Plaza.open(
        APP_DIR, os.environ, clock=FixedClock(NOW), database_url=url, migrate=False, nlu=first.nlu
    )
    try:
        assert "For which day?" in await tell(first, "eve", "book a table at Chez Anand")
        assert "At what time?" in await tell(second, "eve", "tomorrow")  # second worker loads the tracker
        answer = await tell(first, "eve", "8pm")  # first worker's cache is stale: it must reload
        assert "For how many people?" in answer
        assert "Shall I book Chez Anand, tomorrow at 8:00 pm" in await tell(second, "eve", "2")
    finally:
        await first.close()
        await second.close()


async def test_a_turn_holding_a_value_storage_cannot_encode_is_kept_and_answered(
    plaza: Plaza, caplog: pytest.LogCaptureFixture
) -> None:
    """Defence in depth: a connector (or an action) passing an int beyond 64 bits must not make the
    turn a 500 that loses it. The entry points refuse such values; this one comes from a connector's
    metadata, which no entry point checks. The turn is stored with the value as its exact digits."""
    big = 2**70
    inbound = Inbound(
        channel="test",
        channel_user_id="ida",
        chat_id="ida",
        text="hello",
        language="en",
        metadata={"order": big},
    )
    with caplog.at_level(logging.ERROR, logger="plaza.engine"):
        result = await plaza.engine.handle(inbound)
    assert result.replies[0].reply.text.startswith("Hello")
    assert "$.metadata.order = 1180591620717411303424" in caplog.text
    table = table_of(Message)
    bodies = await plaza.db.read(
        lambda c: [r[0] for r in c.execute(select(table.c.body).where(table.c.direction == "in"))]
    )
    assert bodies == [{"text": "hello", "metadata": {"order": str(big)}}]
    assert "For which day?" in await tell(plaza, "ida", "book a table at Chez Anand")  # the state reads back
