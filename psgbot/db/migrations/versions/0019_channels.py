"""channels and forum topics: the forum thread a subscription's alerts go to
(subscriptions.thread_id; None is the General topic, as every subscription before)

Channels need no column: a connected channel is a chat of type "channel" with its
subscriptions, and its name is asked of Telegram when it is shown, never stored.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("thread_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_column("thread_id")
