"""preferences: a chat's time zone, digests and quiet hours (as set, and as the next instants
the outbox compares with), and the held alerts waiting for them

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import psgbot.db.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

HELD = sa.text("status = 'held'")


def upgrade() -> None:
    # Every chat stored so far keeps today's behaviour: instant alerts, no quiet hours.
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("digest", sa.String(length=20), nullable=False, server_default="instant")
        )
        batch_op.add_column(sa.Column("digest_time", sa.Time(), nullable=True))
        batch_op.add_column(sa.Column("digest_weekday", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("quiet_from", sa.Time(), nullable=True))
        batch_op.add_column(sa.Column("quiet_until", sa.Time(), nullable=True))
        for name in ("digest_at", "quiet_starts_at", "quiet_ends_at"):
            batch_op.add_column(
                sa.Column(name, psgbot.db.types.UtcDateTime(timezone=True), nullable=True)
            )
        batch_op.create_index("ix_chats_digest_at", ["digest_at"], unique=False)
        batch_op.create_index("ix_chats_quiet_ends_at", ["quiet_ends_at"], unique=False)
    for name, column in (
        ("ix_deliveries_held_due", "due_at"),
        ("ix_deliveries_held_chat", "chat_id"),
    ):
        op.create_index(
            name,
            "deliveries",
            [column],
            unique=False,
            sqlite_where=HELD,
            postgresql_where=HELD,
        )


def downgrade() -> None:
    op.drop_index("ix_deliveries_held_chat", table_name="deliveries")
    op.drop_index("ix_deliveries_held_due", table_name="deliveries")
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.drop_index("ix_chats_quiet_ends_at")
        batch_op.drop_index("ix_chats_digest_at")
        for name in (
            "quiet_ends_at",
            "quiet_starts_at",
            "digest_at",
            "quiet_until",
            "quiet_from",
            "digest_weekday",
            "digest_time",
            "digest",
            "timezone",
        ):
            batch_op.drop_column(name)
