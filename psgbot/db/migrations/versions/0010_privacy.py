"""privacy: chats keep no names or titles, inactive reasons say no one's id; when a chat went
inactive (its data is deleted some time later), /stop and the announcements opt-out

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import psgbot.db.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Reasons stored so far held who blocked or kicked the bot ("bot kicked by 1234"): each becomes
# the fixed word psgbot.chats.short_reason gives today.
REASONS = (
    ("migrated", "%migrated%"),
    ("blocked", "%blocked%"),
    ("kicked", "%kicked%"),
    ("left", "%left%"),
    ("not found", "%not found%"),
    ("deactivated", "%deactivated%"),
)


def upgrade() -> None:
    # SQLite rebuilds the table to drop a column; psgbot.db.migrate turns foreign keys off
    # around migrations, so the rebuild cascades to no subscription.
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.drop_column("title")
        batch_op.add_column(
            sa.Column("inactive_since", psgbot.db.types.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("stopped_at", psgbot.db.types.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("announcements", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    reason = sa.case(
        *[(sa.column("inactive_reason").like(pattern), word) for word, pattern in REASONS],
        else_="unreachable",
    )
    chats = sa.table(
        "chats",
        sa.column("active", sa.Boolean()),
        sa.column("inactive_reason", sa.String()),
        # Raw columns: the value is copied as stored, whatever the database's representation.
        sa.column("inactive_since"),
        sa.column("updated_at"),
    )
    op.execute(
        chats.update()
        .where(chats.c.active.is_(False))
        .values(inactive_reason=reason, inactive_since=chats.c.updated_at)
    )
    # Cancelled rows carried the same reason ("chat inactive: bot kicked by 1234").
    deliveries = sa.table("deliveries", sa.column("error", sa.Text()))
    op.execute(
        deliveries.update()
        .where(deliveries.c.error.like("chat inactive:%"))
        .values(error="chat inactive")
    )


def downgrade() -> None:
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.drop_column("announcements")
        batch_op.drop_column("stopped_at")
        batch_op.drop_column("inactive_since")
        batch_op.add_column(sa.Column("title", sa.String(length=500), nullable=True))
