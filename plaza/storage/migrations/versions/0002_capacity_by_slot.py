"""capacity_use indexed by (bot, slot)

A search asks how many seats every place has used at one time. The primary key starts with
(bot, resource_id), so without this index that question scanned every slot ever booked: searches
slowed as bookings accumulated (bench/load.py, 60 s runs).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_capacity_use_slot", "capacity_use", ["bot", "slot"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_capacity_use_slot", table_name="capacity_use")
