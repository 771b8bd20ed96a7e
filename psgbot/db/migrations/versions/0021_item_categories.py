"""item categories: the feed's categories of an item (items.categories: at most 20 of at most 100
characters each, joined by newlines), which tagging counts, so that /why can count them too

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-16
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: the categories of items stored before are not known (their feed's body is not
    # kept). Ingest records them, without retagging, the next time the feed lists the item.
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("categories", sa.String(length=2020), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("categories")
