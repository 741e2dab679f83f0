"""Committing one turn, in one transaction and a fixed handful of statements.

Domain changes, the inbound message, replies, outbox rows, events and the tracker snapshot.

The tracker snapshot is updated only if its version is still the one the turn started from;
otherwise another worker advanced the conversation and `ConflictError` makes the engine run the
turn again on the fresh state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from plaza.errors import ConflictError, UnstorableValue
from plaza.messages import Reply
from plaza.storage.json_values import storable
from plaza.storage.models import Conversation, Delivery, EventRecord, Message, table_of
from plaza.storage.prepared import Prepared, insert_all
from plaza.storage.staging import StagedWrite

messages = table_of(Message)
deliveries = table_of(Delivery)
events = table_of(EventRecord)
conversations = table_of(Conversation)


@dataclass(frozen=True, slots=True)
class StoredReply:
    message_id: int
    delivery_id: int
    bot: str
    reply: Reply


@dataclass(slots=True)
class TurnRecord:
    conversation_id: int
    expected_version: int
    state: dict[str, Any]
    now: datetime
    inbound_id: int
    channel: str
    channel_user_id: str
    """Who sent the inbound message on the channel: with `external_id`, what deduplicates it."""
    address: str
    external_id: str | None
    inbound_kind: str
    inbound_body: dict[str, Any]
    language: str
    user_sender: str
    replies: list[StoredReply] = field(default_factory=list)
    events: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)
    staged: list[StagedWrite] = field(default_factory=list)


_advance_state = Prepared(
    update(conversations)
    .where(conversations.c.id == bindparam("b_id"), conversations.c.version == bindparam("b_version"))
    .values(state=bindparam("b_state"), version=bindparam("b_next"), updated_at=bindparam("b_now"))
)
_insert_message = insert_all(messages)
_insert_delivery = insert_all(deliveries)
_insert_event = insert_all(events)


def _message_rows(turn: TurnRecord) -> list[dict[str, Any]]:
    rows = [
        {
            "id": turn.inbound_id,
            "conversation_id": turn.conversation_id,
            "direction": "in",
            "channel": turn.channel,
            "channel_user_id": turn.channel_user_id,
            "external_id": turn.external_id,
            "sender": turn.user_sender,
            "kind": turn.inbound_kind,
            "body": turn.inbound_body,
            "language": turn.language,
            "reply_to": None,
            "created_at": turn.now,
        }
    ]
    rows.extend(
        {
            "id": r.message_id,
            "conversation_id": turn.conversation_id,
            "direction": "out",
            "channel": turn.channel,
            "channel_user_id": None,
            "external_id": None,
            "sender": r.bot,
            "kind": r.reply.kind,
            "body": r.reply.to_dict(),
            "language": turn.language,
            "reply_to": turn.inbound_id,
            "created_at": turn.now,
        }
        for r in turn.replies
    )
    return rows


def _delivery_rows(turn: TurnRecord) -> list[dict[str, Any]]:
    return [
        {
            "id": r.delivery_id,
            "message_id": r.message_id,
            "channel": turn.channel,
            "address": turn.address,
            "state": "pending",
            "attempts": 0,
            "platform_message_id": None,
            "error": None,
            "created_at": turn.now,
            "sent_at": None,
        }
        for r in turn.replies
    ]


def _event_rows(turn: TurnRecord) -> list[dict[str, Any]]:
    return [
        {
            "conversation_id": turn.conversation_id,
            "bot": bot,
            "type": data.get("event", ""),
            "data": data,
            "created_at": turn.now,
        }
        for bot, data in turn.events
    ]


def _advance(conn: Connection, turn: TurnRecord) -> None:
    moved = _advance_state.execute(
        conn,
        {
            "b_id": turn.conversation_id,
            "b_version": turn.expected_version,
            "b_state": turn.state,
            "b_next": turn.expected_version + 1,
            "b_now": turn.now,
        },
    )
    if moved.rowcount != 1:
        raise ConflictError(f"conversation {turn.conversation_id} moved past version {turn.expected_version}")


def _append(conn: Connection, turns: Sequence[TurnRecord]) -> None:
    message_rows = [row for t in turns for row in _message_rows(t)]
    delivery_rows = [row for t in turns for row in _delivery_rows(t)]
    event_rows = [row for t in turns for row in _event_rows(t)]
    if message_rows:
        _insert_message.executemany(conn, message_rows)
    if delivery_rows:
        _insert_delivery.executemany(conn, delivery_rows)
    if event_rows:
        _insert_event.executemany(conn, event_rows)


def commit_turn(conn: Connection, *, turn: TurnRecord) -> None:
    """Write one turn. Raises ConflictError (retry the turn) or IntegrityError (a duplicate inbound)."""
    _advance(conn, turn)
    for write in turn.staged:
        write(conn)
    _append(conn, [turn])


class BatchFallback(Exception):
    """The batch cannot commit as one: commit its turns one by one to find which fails."""


def commit_turns(conn: Connection, *, turns: Sequence[TurnRecord]) -> list[BaseException | None]:
    """Group commit: several turns in one transaction, each still all-or-nothing.

    A turn whose domain writes conflict is rolled back to its savepoint and reported (the engine
    re-runs it); the others commit. Anything else that fails (a tracker moved by another worker,
    a re-delivered message, a value orjson cannot encode) raises BatchFallback, and the caller
    commits the turns one by one: one turn's failure never fails the others.
    """
    results: list[BaseException | None] = [None] * len(turns)
    for index, turn in enumerate(turns):
        if not turn.staged:
            continue
        try:
            with conn.begin_nested():
                for write in turn.staged:
                    write(conn)
        except (ConflictError, IntegrityError) as exc:
            conflict = exc if isinstance(exc, ConflictError) else ConflictError(f"domain write failed: {exc}")
            results[index] = conflict
        except UnstorableValue as exc:
            raise BatchFallback(str(exc)) from exc
    live = [t for t, r in zip(turns, results, strict=True) if r is None]
    try:
        for turn in live:
            _advance(conn, turn)
        _append(conn, live)
    except (ConflictError, IntegrityError, UnstorableValue) as exc:
        raise BatchFallback(str(exc)) from exc
    return results


def storable_turn(turn: TurnRecord) -> TurnRecord:
    """The turn with every value orjson cannot encode written as its text (`storable`).

    The engine's last resort when committing `turn` raised UnstorableValue: the user's message,
    the replies, the events and the state are all kept, only that value's type changes. The
    domain writes are the actions' own statements and are kept as they are.
    """
    return replace(
        turn,
        state=storable(turn.state),
        inbound_body=storable(turn.inbound_body),
        replies=[replace(r, reply=Reply.from_dict(storable(r.reply.to_dict()))) for r in turn.replies],
        events=[(bot, storable(data)) for bot, data in turn.events],
    )


def replies_to(
    conn: Connection, *, channel: str, channel_user_id: str, external_id: str
) -> list[StoredReply] | None:
    """The replies already stored for this sender's inbound message, or None if we never received it.

    Only the sender's own messages are looked at: another sender's message with the same
    external id is another message, and its replies are never theirs to see.
    """
    inbound = conn.execute(
        select(messages.c.id).where(
            messages.c.channel == channel,
            messages.c.channel_user_id == channel_user_id,
            messages.c.external_id == external_id,
            messages.c.direction == "in",
        )
    ).first()
    if inbound is None:
        return None
    rows = conn.execute(
        select(messages.c.id, messages.c.sender, messages.c.body, deliveries.c.id)
        .join(deliveries, deliveries.c.message_id == messages.c.id)
        .where(messages.c.reply_to == inbound[0])
        .order_by(messages.c.id)
    ).all()
    return [StoredReply(int(r[0]), int(r[3]), str(r[1]), Reply.from_dict(r[2])) for r in rows]


def mark_delivered(conn: Connection, delivery_ids: list[int], when: datetime) -> None:
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id.in_(delivery_ids), deliveries.c.state == "pending")
        .values(state="sent", sent_at=when, attempts=deliveries.c.attempts + 1)
    )
