"""bookings indexed by (user_id, bot, status, starts_at)

"My bookings" asks for a user's next ten confirmed bookings with one bot. The old index
(user_id, status) found all of that user's confirmed bookings, past ones included, and sorted
them on every listing, so the listing slowed as a user's history grew (bench/load.py: 9.6 % of
the server's time at concurrency 32). With the time in the index it is a range read of ten rows
in order. No other query filtered on (user_id, status), the old index's columns: "my bookings"
was its only reader.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 12:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_bookings_user_time", "bookings", ["user_id", "bot", "status", "starts_at"], unique=False
    )
    op.drop_index("ix_bookings_user", table_name="bookings")


def downgrade() -> None:
    op.create_index("ix_bookings_user", "bookings", ["user_id", "status"], unique=False)
    op.drop_index("ix_bookings_user_time", table_name="bookings")
