"""topic tags repeat their item's sort time: one topic's newest items are one index range

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from psgbot.db.types import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("item_topics", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sort_at", UtcDateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE item_topics SET sort_at ="
        " (SELECT items.sort_at FROM items WHERE items.id = item_topics.item_id)"
    )
    with op.batch_alter_table("item_topics", schema=None) as batch_op:
        batch_op.alter_column("sort_at", existing_type=UtcDateTime(timezone=True), nullable=False)
        batch_op.create_index("ix_item_topics_newest", ["topic", "sort_at", "item_id"])


def downgrade() -> None:
    with op.batch_alter_table("item_topics", schema=None) as batch_op:
        batch_op.drop_index("ix_item_topics_newest")
        batch_op.drop_column("sort_at")
