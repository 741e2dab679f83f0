"""inbound messages deduplicated per sender: unique (channel, channel_user_id, external_id)

A re-delivered message was recognised by (channel, external_id) alone. External ids are chosen
by the platform or, on the REST channel, by the client (`metadata.message_id`, often a counter
per user), so two users sending message "1" collided: the second user's message was dropped and
they were answered with the first user's stored replies (a booking reference, its buttons).

An external id is unique only within what the platform numbers: a channel user's messages at
most. Inbound messages now keep their sender's id on the channel (`channel_user_id`, as in
`channel_identities`), and the unique index is (channel, channel_user_id, external_id): the same
id from two senders is two messages; from the same sender it is still a re-delivery.

Existing inbound messages get their sender's channel id from their conversation's user's
identity on that channel, so a message received before the upgrade is still recognised when it
is re-delivered after it. The new index is looser than the old one: creating it cannot fail.

Downgrade: the old index cannot hold two senders' messages with the same external id, so the
later ones (by id) lose their external id (they are no longer deduplicated) before it is built.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INBOUND = sa.text("direction = 'in'")


def upgrade() -> None:
    op.add_column("messages", sa.Column("channel_user_id", sa.String(length=200), nullable=True))
    op.execute(
        """
        UPDATE messages SET channel_user_id = (
            SELECT MIN(channel_identities.channel_user_id)
            FROM conversations
            JOIN channel_identities ON channel_identities.user_id = conversations.user_id
            WHERE conversations.id = messages.conversation_id
              AND channel_identities.channel = messages.channel
        )
        WHERE direction = 'in'
        """
    )
    op.create_index(
        "uq_messages_inbound_sender_external",
        "messages",
        ["channel", "channel_user_id", "external_id"],
        unique=True,
        sqlite_where=INBOUND,
        postgresql_where=INBOUND,
    )
    op.drop_index(
        "uq_messages_inbound_external", table_name="messages", sqlite_where=INBOUND, postgresql_where=INBOUND
    )


def downgrade() -> None:
    op.drop_index(
        "uq_messages_inbound_sender_external",
        table_name="messages",
        sqlite_where=INBOUND,
        postgresql_where=INBOUND,
    )
    op.execute(
        """
        UPDATE messages SET external_id = NULL
        WHERE direction = 'in' AND external_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM messages AS earlier
            WHERE earlier.direction = 'in'
              AND earlier.channel = messages.channel
              AND earlier.external_id = messages.external_id
              AND earlier.id < messages.id
        )
        """
    )
    op.create_index(
        "uq_messages_inbound_external",
        "messages",
        ["channel", "external_id"],
        unique=True,
        sqlite_where=INBOUND,
        postgresql_where=INBOUND,
    )
    op.drop_column("messages", "channel_user_id")
