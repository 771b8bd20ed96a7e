"""outbox priority; indexes that let a claim read one batch: pending rows by priority and due
time, expired leases

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority", sa.SmallInteger(), nullable=False, server_default="2")
        )
        # Made partial below: every alert row wrote an entry with a NULL in each.
        batch_op.drop_constraint("uq_deliveries_chat_broadcast", type_="unique")
        batch_op.drop_constraint("uq_deliveries_chat_key", type_="unique")
    for name, column in (
        ("uq_deliveries_chat_broadcast", "broadcast_id"),
        ("uq_deliveries_chat_key", "key"),
    ):
        op.create_index(
            name,
            "deliveries",
            ["chat_id", column],
            unique=True,
            sqlite_where=sa.text(f"{column} IS NOT NULL"),
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
        )
    # Partial indexes (SQLite and PostgreSQL both have them): the claim walks the pending rows
    # in due order and stops after one batch, however many rows wait.
    op.create_index(
        "ix_deliveries_pending_due",
        "deliveries",
        ["priority", "due_at", "id"],
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    # Replaced by the partial indexes; (chat_id, status) by the unique constraints that begin
    # with chat_id. Fewer indexes to update on every claim and every settled row.
    op.drop_index("ix_deliveries_due", table_name="deliveries")
    op.drop_index("ix_deliveries_chat_status", table_name="deliveries")
    op.create_index(
        "ix_deliveries_sending_claimed",
        "deliveries",
        ["claimed_at"],
        sqlite_where=sa.text("status = 'sending'"),
        postgresql_where=sa.text("status = 'sending'"),
    )


def downgrade() -> None:
    op.create_index("ix_deliveries_chat_status", "deliveries", ["chat_id", "status"])
    op.create_index("ix_deliveries_due", "deliveries", ["status", "due_at"])
    op.drop_index("ix_deliveries_sending_claimed", table_name="deliveries")
    op.drop_index("ix_deliveries_pending_due", table_name="deliveries")
    op.drop_index("uq_deliveries_chat_key", table_name="deliveries")
    op.drop_index("uq_deliveries_chat_broadcast", table_name="deliveries")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("priority")
        batch_op.create_unique_constraint(
            "uq_deliveries_chat_broadcast", ["chat_id", "broadcast_id"]
        )
        batch_op.create_unique_constraint("uq_deliveries_chat_key", ["chat_id", "key"])
