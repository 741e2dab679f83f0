"""A booking reference is no key: only its owner can see, change or cancel the booking.

Found by fuzzing the running server: a reference typed in one turn sat in the slot, the change
and cancel forms started later never validated it, and their actions loaded the booking by
reference alone, so anyone who knew it could cancel someone else's table.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from sqlalchemy import select

from plaza.app import Plaza
from plaza.clock import FixedClock
from plaza.messages import Inbound
from plaza.storage.models import Booking, table_of
from plaza.testing.apps import TestApps

from .conftest import NOW
from .test_engine import confirmed_bookings, tell


@pytest.fixture
async def plaza(apps: TestApps) -> AsyncIterator[Plaza]:
    app = await apps.open(FixedClock(NOW))
    yield app
    await app.close()


async def _book(plaza: Plaza, user: str) -> str:
    answer = await tell(plaza, user, "book Umi no Hana for 4 tomorrow at 8pm") + await tell(
        plaza, user, "yes"
    )
    found = re.search(r"PLZ-[A-Z0-9]{6}", answer)
    assert found is not None, answer
    return found.group(0)


async def _stored(plaza: Plaza, ref: str) -> tuple[str, datetime, int]:
    table = table_of(Booking)
    row = await plaza.db.read(
        lambda c: c.execute(
            select(table.c.status, table.c.starts_at, table.c.party_size).where(table.c.ref == ref)
        ).one()
    )
    return str(row[0]), row[1], int(row[2])


@pytest.mark.parametrize("request_text", ["cancel my booking", "change my booking to 9pm"])
async def test_someone_elses_reference_opens_nothing(plaza: Plaza, request_text: str) -> None:
    ref = await _book(plaza, "ann")
    before = await _stored(plaza, ref)
    await tell(plaza, "ben", ref)
    answer = await tell(plaza, "ben", request_text) + await tell(plaza, "ben", "yes")
    assert "Umi no Hana" not in answer
    assert f"Cancel {ref}" not in answer
    assert f"Change {ref}" not in answer
    assert await _stored(plaza, ref) == before
    assert before[0] == "confirmed"


async def test_a_booking_cancelled_in_another_chat_is_no_longer_offered(plaza: Plaza) -> None:
    """The main chat's cancel form still held the reference: its 'yes' was an HTTP 409, every time."""
    ref = await _book(plaza, "cid")
    assert f"Cancel {ref}" in await tell(plaza, "cid", "cancel my booking")

    async def in_bot_chat(text: str) -> str:
        inbound = Inbound(
            channel="test", channel_user_id="cid", chat_id="cid", text=text, language="en", bot="restaurant"
        )
        return "\n".join(r.reply.text or "" for r in (await plaza.engine.handle(inbound)).replies)

    assert f"Cancel {ref}" in await in_bot_chat("cancel my booking")
    assert "is cancelled" in await in_bot_chat("yes")
    answer = await tell(plaza, "cid", "yes")
    assert f"I can't find an upcoming booking {ref} of yours" in answer
    assert await confirmed_bookings(plaza) == []
