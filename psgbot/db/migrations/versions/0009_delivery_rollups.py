"""daily roll-ups of purged delivery rows; indexes on settled rows by the time they are counted
on; broadcasts keep the figures of their purged rows

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# As in psgbot.db.models; the purge and /stats name the same conditions.
SENT_ROWS_SQL = "status = 'sent'"
UNSENT_ROWS_SQL = "status = 'failed' OR status = 'cancelled'"
ROLLED_UP = ("rolled_up_sent", "rolled_up_failed", "rolled_up_blocked", "rolled_up_cancelled")


def upgrade() -> None:
    op.create_table(
        "delivery_rollups",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "kind", "topic", "status", name=op.f("pk_delivery_rollups")),
    )
    # Partial: pending rows (a fan-out writes a million at once) are in neither index, and
    # neither table is rebuilt on SQLite.
    op.create_index(
        "ix_deliveries_settled_sent",
        "deliveries",
        ["status", "sent_at", "kind"],
        sqlite_where=sa.text(SENT_ROWS_SQL),
        postgresql_where=sa.text(SENT_ROWS_SQL),
    )
    op.create_index(
        "ix_deliveries_settled_unsent",
        "deliveries",
        ["status", "created_at", "kind"],
        sqlite_where=sa.text(UNSENT_ROWS_SQL),
        postgresql_where=sa.text(UNSENT_ROWS_SQL),
    )
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        for name in ROLLED_UP:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        for name in ROLLED_UP:
            batch_op.drop_column(name)
    op.drop_index("ix_deliveries_settled_unsent", table_name="deliveries")
    op.drop_index("ix_deliveries_settled_sent", table_name="deliveries")
    op.drop_table("delivery_rollups")
