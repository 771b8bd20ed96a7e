"""typed notices: an outbox row says what a notice is about (the event or feed, a reminder's
start and offset) instead of carrying its HTML, so it is rendered when it is sent

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

import psgbot.db.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

EVENT_ROWS = sa.text("event_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notice", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("event_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("feed_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("event_start", psgbot.db.types.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("reminder_hours", sa.SmallInteger(), nullable=True))
        batch_op.create_foreign_key(
            "fk_deliveries_event_id_events", "events", ["event_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_foreign_key(
            "fk_deliveries_feed_id_feeds", "feeds", ["feed_id"], ["id"], ondelete="CASCADE"
        )
    op.create_index(
        "ix_deliveries_event",
        "deliveries",
        ["event_id", "notice"],
        sqlite_where=EVENT_ROWS,
        postgresql_where=EVENT_ROWS,
    )
    _type_the_notices()


def _type_the_notices() -> None:
    """Reminders and event announcements queued so far named their event only in their key
    ("reminder:<id>:<start>:<n>h", "event:<id>:new"): read once here, into columns, so that
    nothing parses a key again. Other notices (changes, cancellations, feed health: due at once
    when written) keep the HTML they were queued with and go out as it (Notice.LEGACY)."""
    deliveries = sa.table(
        "deliveries",
        sa.column("id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("key", sa.String()),
        sa.column("notice", sa.String()),
        sa.column("event_id", sa.Integer()),
        sa.column("event_start", psgbot.db.types.UtcDateTime(timezone=True)),
        sa.column("reminder_hours", sa.SmallInteger()),
    )
    connection = op.get_bind()
    keyed = connection.execute(
        sa.select(deliveries.c.id, deliveries.c.key).where(
            deliveries.c.kind == "notice", deliveries.c.key.is_not(None)
        )
    )
    typed = [values for row_id, key in keyed if (values := _from_key(row_id, key))]
    if typed:
        connection.execute(
            deliveries.update()
            .where(deliveries.c.id == sa.bindparam("row_id"))
            .values(
                notice=sa.bindparam("b_notice"),
                event_id=sa.bindparam("b_event_id"),
                event_start=sa.bindparam("b_event_start"),
                reminder_hours=sa.bindparam("b_hours"),
            ),
            typed,
        )
    op.execute(
        deliveries.update()
        .where(deliveries.c.kind == "notice", deliveries.c.notice.is_(None))
        .values(notice="legacy")
    )


def _from_key(row_id: int, key: str) -> dict[str, object] | None:
    kind, _, rest = key.partition(":")
    try:
        if kind == "event" and rest.endswith(":new"):
            return {
                "row_id": row_id,
                "b_notice": "event_new",
                "b_event_id": int(rest.removesuffix(":new")),
                "b_event_start": None,
                "b_hours": None,
            }
        if kind == "reminder":
            event_id, _, start_and_hours = rest.partition(":")
            start, _, hours = start_and_hours.rpartition(":")
            return {
                "row_id": row_id,
                "b_notice": "event_reminder",
                "b_event_id": int(event_id),
                "b_event_start": datetime.fromisoformat(start),
                "b_hours": int(hours.removesuffix("h")),
            }
    except ValueError:
        return None
    return None


def downgrade() -> None:
    op.drop_index("ix_deliveries_event", table_name="deliveries")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint("fk_deliveries_feed_id_feeds", type_="foreignkey")
        batch_op.drop_constraint("fk_deliveries_event_id_events", type_="foreignkey")
        batch_op.drop_column("reminder_hours")
        batch_op.drop_column("event_start")
        batch_op.drop_column("feed_id")
        batch_op.drop_column("event_id")
        batch_op.drop_column("notice")
