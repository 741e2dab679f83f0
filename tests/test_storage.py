from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from plaza.dialogue.state import ConversationState
from plaza.errors import CapacityExceeded, ConflictError, UnstorableValue
from plaza.messages import Button, Reply
from plaza.storage import bookings as ledger
from plaza.storage.committer import TurnCommitter
from plaza.storage.conversations import find_or_create_conversation, load_state
from plaza.storage.database import Database
from plaza.storage.ids import IdGenerator, ids
from plaza.storage.json_values import MAX_INPUT_DEPTH, deeper_than, storable
from plaza.storage.models import CapacityUse, Delivery, EventRecord, Message, table_of
from plaza.storage.prepared import dumps, json_from_driver
from plaza.storage.turns import (
    StoredReply,
    TurnRecord,
    commit_turn,
    mark_delivered,
    replies_to,
    storable_turn,
)
from plaza.testing.databases import FreshDatabases

NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


def _initial(user_id: int, conversation_id: int) -> dict:
    return ConversationState(conversation_id, user_id, str(user_id), "en").to_json()


async def _conversation(db: Database, user: str = "alice") -> tuple[int, int]:
    ref = await db.write(
        lambda c: find_or_create_conversation(
            c,
            channel="rest",
            channel_user_id=user,
            bot="",
            display_name=None,
            language="en",
            initial_state=_initial,
        )
    )
    return ref.user_id, ref.conversation_id


def _turn(
    conversation_id: int,
    version: int,
    *,
    external_id: str | None = None,
    text: str = "hi",
    sender: str = "alice",
) -> TurnRecord:
    return TurnRecord(
        conversation_id=conversation_id,
        expected_version=version,
        state={"turn": version + 1},
        now=NOW,
        inbound_id=ids.next(),
        channel="rest",
        channel_user_id=sender,
        address=sender,
        external_id=external_id,
        inbound_kind="text",
        inbound_body={"text": text},
        language="en",
        user_sender="user:1",
        replies=[
            StoredReply(
                ids.next(), ids.next(), "restaurant", Reply(text="hello", buttons=(Button("a", "/b"),))
            )
        ],
        events=[(None, {"event": "user", "text": text}), ("restaurant", {"event": "bot", "text": "hello"})],
    )


async def _count(db: Database, model: type) -> int:
    table = table_of(model)
    return await db.read(lambda c: int(c.execute(select(func.count()).select_from(table)).scalar_one()))



@asynccontextmanager
async def _opened(url: str) -> AsyncIterator[Database]:
    """A started Database on `url`, closed afterwards (between the migration steps)."""
    db = Database(url)
    await db.start()
    try:
        yield db
    finally:
        await db.close()

async def test_identity_and_conversation_are_created_once(db: Database) -> None:
    first = await _conversation(db)
    again = await _conversation(db)
    other = await _conversation(db, "bob")
    assert first == again
    assert other[0] != first[0]
    state, version = await db.read(lambda c: load_state(c, first[1]))
    assert version == 0
    assert state["user_id"] == first[0]


async def test_a_read_holds_no_snapshot_and_sees_later_commits(db: Database) -> None:
    """Reads skip SQLAlchemy's BEGIN/COMMIT on SQLite: one must not leave a stale transaction open."""
    _, conv = await _conversation(db)
    assert await _count(db, Message) == 0  # a Core statement: it autobegins, and read() ends it
    await db.write(lambda c: commit_turn(c, turn=_turn(conv, 0)))
    assert await _count(db, Message) == 2
    state, version = await db.read(lambda c: load_state(c, conv))  # a prepared statement
    assert (state, version) == ({"turn": 1}, 1)


async def test_a_turn_commits_everything_or_nothing(db: Database) -> None:
    _, conv = await _conversation(db)
    await db.write(lambda c: commit_turn(c, turn=_turn(conv, 0)))
    assert await _count(db, Message) == 2
    assert await _count(db, Delivery) == 1
    assert await _count(db, EventRecord) == 2
    state, version = await db.read(lambda c: load_state(c, conv))
    assert (state, version) == ({"turn": 1}, 1)

    stale = _turn(conv, 0)  # another worker already advanced the conversation
    with pytest.raises(ConflictError):
        await db.write(lambda c: commit_turn(c, turn=stale))
    assert await _count(db, Message) == 2  # nothing of the losing turn was written

    def failing_domain_write(conn: object) -> None:
        raise CapacityExceeded("the last table went")

    doomed = _turn(conv, 1)
    doomed.staged.append(failing_domain_write)
    with pytest.raises(CapacityExceeded):
        await db.write(lambda c: commit_turn(c, turn=doomed))
    assert await _count(db, Message) == 2
    assert (await db.read(lambda c: load_state(c, conv)))[1] == 1


BIG = 2**70
"""An int orjson cannot encode (beyond 64 bits): how a 20-digit number once turned a turn into a 500."""


def test_dumps_names_where_an_unencodable_value_is_and_storable_keeps_its_digits() -> None:
    value = {"slots": {"party_size": BIG, "ok": [1, 2.5]}, "events": [{"value": -BIG}]}
    with pytest.raises(UnstorableValue, match=r"\$\.slots\.party_size = 1180591620717411303424"):
        dumps(value)
    stored = storable(value)
    assert json_from_driver(dumps(stored)) == {
        "slots": {"party_size": "1180591620717411303424", "ok": [1, 2.5]},
        "events": [{"value": "-1180591620717411303424"}],
    }
    assert value["slots"]["party_size"] == BIG  # a copy: the caller's value is left as it was
    assert storable({BIG: {1, 2}}) == {"1180591620717411303424": "{1, 2}"}
    assert storable(10**5000)[:5] == "10000"  # past the 4,300 digits str(int) allows


def test_values_nested_past_orjsons_limit_are_named_and_stored_as_text() -> None:
    deep: list[object] = [1]
    for _ in range(300):  # orjson stops at 254 levels
        deep = [deep]
    with pytest.raises(UnstorableValue, match=r"nested more than 200 levels"):
        dumps({"metadata": deep})
    stored = json_from_driver(dumps(storable({"metadata": deep})))
    kept, original = stored["metadata"], deep  # depth 1
    for _ in range(198):
        kept, original = kept[0], original[0]
    assert isinstance(kept, list)  # depth 199: still a list
    assert isinstance(kept[0], str)  # depth 200: the rest as its JSON text, nothing lost
    assert json.loads(kept[0]) == original[0]


def test_deeper_than_walks_without_recursion() -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    assert deeper_than(deep, MAX_INPUT_DEPTH)
    four_levels = {"a": [1, {"b": [2]}]}
    assert not deeper_than(four_levels, 4)
    assert deeper_than(four_levels, 3)
    assert not deeper_than("text", 0)


async def test_a_turn_holding_an_unencodable_value_writes_nothing(db: Database) -> None:
    _, conv = await _conversation(db)
    turn = _turn(conv, 0)
    turn.events.append((None, {"event": "slot", "name": "party_size", "value": BIG}))
    with pytest.raises(UnstorableValue, match=r"\$\.value = "):
        await db.write(lambda c: commit_turn(c, turn=turn))
    assert (await _count(db, Message), (await db.read(lambda c: load_state(c, conv)))[1]) == (0, 0)
    await db.write(lambda c: commit_turn(c, turn=storable_turn(turn)))  # the engine's last resort
    assert await _count(db, Message) == 2
    assert (await db.read(lambda c: load_state(c, conv)))[1] == 1


async def test_one_unencodable_turn_does_not_fail_the_others_of_its_group_commit(db: Database) -> None:
    """The turns queued together share one transaction; the one that cannot be encoded fails alone."""
    (_, good_conv), (_, bad_conv) = await _conversation(db, "gus"), await _conversation(db, "hal")
    bad = _turn(bad_conv, 0)
    bad.state = {"slots": {"party_size": BIG}}
    committer = TurnCommitter(db)
    committer.start()
    try:
        good_result, bad_result = await asyncio.gather(
            committer.commit(_turn(good_conv, 0)), committer.commit(bad), return_exceptions=True
        )
    finally:
        await committer.stop()
    assert good_result is None
    assert isinstance(bad_result, UnstorableValue)
    assert (await db.read(lambda c: load_state(c, good_conv)))[1] == 1
    assert (await db.read(lambda c: load_state(c, bad_conv)))[1] == 0


async def test_duplicate_inbound_is_refused_and_its_replies_found(db: Database) -> None:
    _, conv = await _conversation(db)
    first = _turn(conv, 0, external_id="update-7")
    await db.write(lambda c: commit_turn(c, turn=first))
    with pytest.raises(IntegrityError):
        await db.write(lambda c: commit_turn(c, turn=_turn(conv, 1, external_id="update-7")))

    def stored(external_id: str) -> Callable[[Connection], list[StoredReply] | None]:
        return lambda c: replies_to(c, channel="rest", channel_user_id="alice", external_id=external_id)

    found = await db.read(stored("update-7"))
    assert found is not None
    assert [r.reply for r in found] == [r.reply for r in first.replies]
    assert await db.read(stored("never-seen")) is None


async def test_an_external_id_is_unique_per_sender_not_per_channel(db: Database) -> None:
    """Clients number their own messages: bob's "1" is not a re-delivery of alice's "1"."""
    _, alices = await _conversation(db, "alice")
    _, bobs = await _conversation(db, "bob")
    alice_turn = _turn(alices, 0, external_id="1", text="my bookings")
    alice_turn.replies = [StoredReply(ids.next(), ids.next(), "restaurant", Reply(text="PLZ-ABC234"))]
    await db.write(lambda c: commit_turn(c, turn=alice_turn))
    bob_turn = _turn(bobs, 0, external_id="1", text="bonjour", sender="bob")
    await db.write(lambda c: commit_turn(c, turn=bob_turn))  # no IntegrityError: another message
    with pytest.raises(IntegrityError):
        await db.write(lambda c: commit_turn(c, turn=_turn(bobs, 1, external_id="1", sender="bob")))

    def stored(channel: str, sender: str) -> Callable[[Connection], list[StoredReply] | None]:
        return lambda c: replies_to(c, channel=channel, channel_user_id=sender, external_id="1")

    for sender, turn in (("alice", alice_turn), ("bob", bob_turn)):
        found = await db.read(stored("rest", sender))
        assert found is not None
        assert [r.message_id for r in found] == [r.message_id for r in turn.replies]
    assert await db.read(stored("rest", "cat")) is None
    assert await db.read(stored("cli", "alice")) is None


async def test_deliveries_are_marked_sent_once(db: Database) -> None:
    _, conv = await _conversation(db)
    turn = _turn(conv, 0)
    await db.write(lambda c: commit_turn(c, turn=turn))
    delivery_id = turn.replies[0].delivery_id
    await db.write(lambda c: mark_delivered(c, [delivery_id], NOW))
    await db.write(lambda c: mark_delivered(c, [delivery_id], NOW + timedelta(seconds=5)))
    deliveries = table_of(Delivery)
    row = await db.read(lambda c: c.execute(select(deliveries).where(deliveries.c.id == delivery_id)).one())
    assert row.state == "sent"
    assert row.attempts == 1
    assert row.sent_at == NOW


async def test_capacity_is_never_exceeded_by_concurrent_reservations(db: Database) -> None:
    slot = datetime(2026, 11, 21, 19, 0, tzinfo=UTC)
    results: list[str] = []

    async def take(seats: int) -> None:
        try:
            await db.write(lambda c: ledger.reserve(c, "restaurant", "r1", slot, seats, 10))
            results.append("ok")
        except CapacityExceeded:
            results.append("full")

    await asyncio.gather(*(take(4) for _ in range(5)))
    assert results.count("ok") == 2
    used = await db.read(lambda c: ledger.capacity_used(c, "restaurant", [("r1", slot)]))
    assert used == {("r1", slot): 8}
    await db.write(lambda c: ledger.reserve(c, "restaurant", "r1", slot, 2, 10))
    with pytest.raises(CapacityExceeded):
        await db.write(lambda c: ledger.reserve(c, "restaurant", "r1", slot, 1, 10))
    await db.write(lambda c: ledger.release(c, "restaurant", "r1", slot, 4))
    used = await db.read(lambda c: ledger.capacity_used(c, "restaurant", [("r1", slot)]))
    assert used == {("r1", slot): 6}
    assert await _count(db, CapacityUse) == 1


async def test_booking_lifecycle(db: Database) -> None:
    user_id, _ = await _conversation(db)
    starts = datetime(2026, 11, 21, 19, 0, tzinfo=UTC)
    await db.write(
        lambda c: ledger.create_booking(
            c,
            ref="PLZ-ABC234",
            bot="restaurant",
            resource_id="r1",
            user_id=user_id,
            starts_at=starts,
            party_size=4,
            details={},
            now=NOW,
        )
    )
    found = await db.read(lambda c: ledger.booking_by_ref(c, "PLZ-ABC234"))
    assert found is not None
    assert found.starts_at == starts
    assert found.party_size == 4
    upcoming = await db.read(lambda c: ledger.user_bookings(c, "restaurant", user_id, starting_after=NOW))
    assert [b.ref for b in upcoming] == ["PLZ-ABC234"]
    await db.write(
        lambda c: ledger.update_booking(c, found.id, expected_status="confirmed", now=NOW, status="cancelled")
    )
    with pytest.raises(ConflictError):
        await db.write(
            lambda c: ledger.update_booking(c, found.id, expected_status="confirmed", now=NOW, party_size=2)
        )
    assert await db.read(lambda c: ledger.user_bookings(c, "restaurant", user_id)) == []


def test_ids_are_unique_and_ordered() -> None:
    gen = IdGenerator(node=3)
    made = [gen.next() for _ in range(10_000)]
    assert len(set(made)) == len(made)
    assert made == sorted(made)
    assert all(0 < i < 2**63 for i in made)


def test_schema_revision_constant_is_the_migrations_head() -> None:
    from plaza.storage.migrate import SCHEMA_REVISION, head_revision

    assert head_revision() == SCHEMA_REVISION


def test_migrations_build_the_schema_the_models_describe(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    from plaza.storage.migrate import upgrade
    from plaza.storage.models import Base

    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    upgrade(url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        engine.dispose()


def test_capacity_at_one_time_is_found_through_an_index(tmp_path: Path) -> None:
    """A search's question (every place's seats at one time) must not scan every slot ever booked."""
    import sqlite3

    from plaza.storage.migrate import upgrade

    path = tmp_path / "plan.db"
    upgrade(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT resource_id, used FROM capacity_use WHERE bot = ? AND slot = ?",
            ("restaurant", "2026-11-21 19:00:00.000000"),
        ).fetchall()
    assert "ix_capacity_use_slot" in " ".join(str(row) for row in plan)


def test_a_users_next_bookings_are_read_in_order_through_an_index(tmp_path: Path) -> None:
    """"My bookings" must read the next few, not sort a user's whole history on every listing."""
    import sqlite3

    from sqlalchemy.dialects import sqlite

    from plaza.storage.bookings import _bookings_of_user
    from plaza.storage.migrate import upgrade

    path = tmp_path / "plan.db"
    upgrade(f"sqlite:///{path}")
    sql = str(_bookings_of_user._statement.compile(dialect=sqlite.dialect()))
    with sqlite3.connect(path) as conn:
        plan = " ".join(str(row) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", [1] * sql.count("?")))
    assert "ix_bookings_user_time" in plan
    assert "TEMP B-TREE" not in plan  # the index gives the order: no sort of every booking


_AT = "'2026-11-20 14:00:00'"
_BEFORE_0004 = [
    "INSERT INTO users (id, display_name, language, created_at) VALUES"
    f" (1, NULL, 'en', {_AT}), (2, NULL, 'fr', {_AT})",
    "INSERT INTO channel_identities (id, channel, channel_user_id, user_id, created_at) VALUES"
    f" (1, 'rest', 'alice', 1, {_AT}), (2, 'rest', 'bob', 2, {_AT}), (3, 'cli', 'alice-at-home', 1, {_AT})",
    "INSERT INTO conversations (id, user_id, bot, state, version, created_at, updated_at) VALUES"
    f" (1, 1, '', '{{}}', 0, {_AT}, {_AT}), (2, 2, '', '{{}}', 0, {_AT}, {_AT})",
    "INSERT INTO messages (id, conversation_id, direction, channel, external_id, sender, kind, body,"
    " language, reply_to, created_at) VALUES"
    f" (10, 1, 'in', 'rest', '1', 'user:1', 'text', '{{}}', 'en', NULL, {_AT}),"
    f" (11, 1, 'out', 'rest', NULL, 'restaurant', 'text', '{{\"text\": \"PLZ-ABC234\"}}', 'en', 10, {_AT}),"
    f" (12, 2, 'in', 'rest', '7', 'user:2', 'text', '{{}}', 'fr', NULL, {_AT}),"
    f" (13, 1, 'in', 'cli', '1', 'user:1', 'text', '{{}}', 'en', NULL, {_AT}),"
    f" (14, 2, 'in', 'rest', NULL, 'user:2', 'text', '{{}}', 'fr', NULL, {_AT})",
    "INSERT INTO deliveries (id, message_id, channel, address, state, attempts, platform_message_id, error,"
    f" created_at, sent_at) VALUES (20, 11, 'rest', 'alice', 'sent', 1, NULL, NULL, {_AT}, {_AT})",
]


async def test_migration_0004_dedups_per_sender_and_keeps_messages_received_before_it(
    databases: FreshDatabases,
) -> None:
    """Upgrade a database holding messages from 0003: each inbound message gets its sender's id on
    the channel, so a message received before the upgrade is still recognised when re-delivered
    after it, and another sender may use the same id. Downgrade keeps the first sender's id.
    Runs on the suite's database: SQLite, or PostgreSQL in CI's second run."""
    from alembic import command
    from sqlalchemy import inspect, text

    from plaza.storage.migrate import alembic_config

    url = await databases.fresh_url()
    config = alembic_config(url)
    await asyncio.to_thread(command.downgrade, config, "0003")
    try:
        async with _opened(url) as db:
            await db.write(lambda c: [c.exec_driver_sql(sql) for sql in _BEFORE_0004])

        await asyncio.to_thread(command.upgrade, config, "head")
        async with _opened(url) as db:
            messages = table_of(Message)
            senders = await db.read(
                lambda c: dict(c.execute(select(messages.c.id, messages.c.channel_user_id)).all())
            )
            assert senders == {10: "alice", 11: None, 12: "bob", 13: "alice-at-home", 14: "bob"}

            def stored(sender: str) -> Callable[[Connection], list[StoredReply] | None]:
                return lambda c: replies_to(c, channel="rest", channel_user_id=sender, external_id="1")

            alices = [StoredReply(11, 20, "restaurant", Reply(text="PLZ-ABC234"))]
            assert await db.read(stored("alice")) == alices
            assert await db.read(stored("bob")) is None
            bobs = _turn(2, 0, external_id="1", sender="bob")
            await db.write(lambda c: commit_turn(c, turn=bobs))  # bob's "1" is his own message
            with pytest.raises(IntegrityError):  # alice's "1", re-delivered after the upgrade
                await db.write(lambda c: commit_turn(c, turn=_turn(1, 0, external_id="1")))

        await asyncio.to_thread(command.downgrade, config, "0003")
        async with _opened(url) as db:
            columns = await db.read(lambda c: {col["name"] for col in inspect(c).get_columns("messages")})
            assert "channel_user_id" not in columns
            ids_of_1 = await db.read(
                lambda c: sorted(
                    r[0]
                    for r in c.execute(
                        text("SELECT id FROM messages WHERE direction = 'in' AND external_id = '1'")
                    )
                )
            )
            assert ids_of_1 == [10, 13]  # bob's later "1" lost its id: the old index holds one per channel
            bobs_body = await db.read(
                lambda c: c.execute(
                    text(f"SELECT external_id FROM messages WHERE id = {bobs.inbound_id}")
                ).scalar_one()
            )
            assert bobs_body is None
    finally:
        await asyncio.to_thread(command.upgrade, config, "head")
        # Leave the suite's database as fresh_url leaves it (emptied, identities restarted): on
        # PostgreSQL the CLI tests of the next run use it as it is, and these rows' explicit ids
        # would collide with its sequences ("duplicate key ... users_pkey").
        await databases.fresh_url()
