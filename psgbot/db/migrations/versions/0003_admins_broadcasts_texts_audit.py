"""admins, broadcasts, text versions, audit log

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import psgbot.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admins",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("added_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", psgbot.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_admins")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", psgbot.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("audience", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("entities", sa.Text(), nullable=True),
        sa.Column("parse_mode", sa.String(length=20), nullable=True),
        sa.Column("photo_file_id", sa.String(length=500), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("scheduled_at", psgbot.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("started_at", psgbot.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", psgbot.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("progress_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("progress_message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", psgbot.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.create_index("ix_broadcasts_status", ["status", "scheduled_at"], unique=False)

    op.create_table(
        "text_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("reset", sa.Boolean(), nullable=False),
        sa.Column("edited_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", psgbot.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_text_versions")),
    )
    with op.batch_alter_table("text_versions", schema=None) as batch_op:
        batch_op.create_index("ix_text_versions_name", ["name", "id"], unique=False)

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("broadcast_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_deliveries_broadcast_id"), ["broadcast_id"], unique=False
        )
        batch_op.create_unique_constraint(
            "uq_deliveries_chat_broadcast", ["chat_id", "broadcast_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_deliveries_broadcast_id_broadcasts"),
            "broadcasts",
            ["broadcast_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_deliveries_broadcast_id_broadcasts"), type_="foreignkey"
        )
        batch_op.drop_constraint("uq_deliveries_chat_broadcast", type_="unique")
        batch_op.drop_index(batch_op.f("ix_deliveries_broadcast_id"))
        batch_op.drop_column("broadcast_id")

    with op.batch_alter_table("text_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_text_versions_name")

    op.drop_table("text_versions")
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_index("ix_broadcasts_status")

    op.drop_table("broadcasts")
    op.drop_table("audit_log")
    op.drop_table("admins")
