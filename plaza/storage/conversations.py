"""Users, their channel identities and their conversations: found or created in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from plaza.storage.models import ChannelIdentity, Conversation, User, table_of, utcnow

users = table_of(User)
identities = table_of(ChannelIdentity)
conversations = table_of(Conversation)


@dataclass(frozen=True, slots=True)
class ConversationRef:
    user_id: int
    conversation_id: int
    created: bool


def _find_identity(conn: Connection, channel: str, channel_user_id: str) -> int | None:
    row = conn.execute(
        select(identities.c.user_id).where(
            identities.c.channel == channel, identities.c.channel_user_id == channel_user_id
        )
    ).first()
    return int(row[0]) if row else None


def _user_for(
    conn: Connection, channel: str, channel_user_id: str, display_name: str | None, language: str | None
) -> int:
    found = _find_identity(conn, channel, channel_user_id)
    if found is not None:
        return found
    now = utcnow()
    user_id = conn.execute(
        insert(users)
        .values(display_name=display_name, language=language, created_at=now)
        .returning(users.c.id)
    ).scalar_one()
    try:
        with conn.begin_nested():
            conn.execute(
                insert(identities).values(
                    channel=channel, channel_user_id=channel_user_id, user_id=user_id, created_at=now
                )
            )
    except IntegrityError:
        # another worker created the same identity a moment ago: use theirs
        conn.execute(users.delete().where(users.c.id == user_id))
        other = _find_identity(conn, channel, channel_user_id)
        if other is None:
            raise
        return other
    return int(user_id)


def find_or_create_conversation(
    conn: Connection,
    *,
    channel: str,
    channel_user_id: str,
    bot: str,
    display_name: str | None,
    language: str | None,
    initial_state: Any,
) -> ConversationRef:
    """The conversation of this channel user with `bot` ("" for the concierge), made if new.

    `initial_state(user_id, conversation_id)` builds the tracker snapshot of a new conversation.
    """
    user_id = _user_for(conn, channel, channel_user_id, display_name, language)
    found = _find_conversation(conn, user_id, bot)
    if found is not None:
        return ConversationRef(user_id, found, created=False)
    now = utcnow()
    try:
        with conn.begin_nested():
            conv_id = conn.execute(
                insert(conversations)
                .values(user_id=user_id, bot=bot, state={}, version=0, created_at=now, updated_at=now)
                .returning(conversations.c.id)
            ).scalar_one()
            conn.execute(
                conversations.update()
                .where(conversations.c.id == conv_id)
                .values(state=initial_state(user_id, int(conv_id)))
            )
    except IntegrityError:
        found = _find_conversation(conn, user_id, bot)
        if found is None:
            raise
        return ConversationRef(user_id, found, created=False)
    return ConversationRef(user_id, int(conv_id), created=True)


def _find_conversation(conn: Connection, user_id: int, bot: str) -> int | None:
    row = conn.execute(
        select(conversations.c.id).where(conversations.c.user_id == user_id, conversations.c.bot == bot)
    ).first()
    return None if row is None else int(row[0])


def load_state(conn: Connection, conversation_id: int) -> tuple[dict[str, Any], int]:
    row = conn.execute(
        select(conversations.c.state, conversations.c.version).where(conversations.c.id == conversation_id)
    ).one()
    return dict(row[0]), int(row[1])
