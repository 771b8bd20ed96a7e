"""media: an item's picture (items.image_url, and image_refused_at once Telegram refused it),
and near-duplicates (items.title_key, indexed with sort_at; items.duplicate_of)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-14
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

import psgbot.db.types

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

BATCH = 1000
_NOT_WORD = re.compile(r"[\W_]+")


def title_key(title: str) -> str | None:
    """psgbot.feeds.duplicates.title_key as this revision knows it (a migration imports nothing
    above the db layer, and must mean tomorrow what it means today); tests/db/test_migrations.py
    holds the two to the same keys."""
    decomposed = unicodedata.normalize("NFKD", title)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    words = _NOT_WORD.sub(" ", stripped.casefold().replace("’", "'")).split()
    if len(words) < 3:
        return None
    key = " ".join(words)
    return "#" + hashlib.sha256(key.encode()).hexdigest() if len(key) > 200 else key


def upgrade() -> None:
    # Items stored before have no picture (their alerts were sent) and are no one's copy.
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("image_url", sa.String(length=2000), nullable=True))
        batch_op.add_column(
            sa.Column("image_refused_at", psgbot.db.types.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("title_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("duplicate_of", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_items_duplicate_of_items"),
            "items",
            ["duplicate_of"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_items_title_key", ["title_key", "sort_at"], unique=False)
    _key_stored_titles()


def _key_stored_titles() -> None:
    """Every stored item gets its title key, so that a story stored before this migration is
    recognised when it is posted again. The key is worked out in Python (the same function as
    at ingest: SQL cannot fold accents alike on both databases), a batch of items at a time."""
    connection = op.get_bind()
    items = sa.table(
        "items",
        sa.column("id", sa.Integer()),
        sa.column("title", sa.Text()),
        sa.column("title_key"),
    )
    last = 0
    while True:
        rows = connection.execute(
            sa.select(items.c.id, items.c.title)
            .where(items.c.id > last)
            .order_by(items.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        keyed = [
            {"b_id": item_id, "b_key": key}
            for item_id, title in rows
            if (key := title_key(title or ""))
        ]
        if keyed:
            connection.execute(
                items.update()
                .where(items.c.id == sa.bindparam("b_id"))
                .values(title_key=sa.bindparam("b_key")),
                keyed,
            )
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_title_key")
        batch_op.drop_constraint("fk_items_duplicate_of_items", type_="foreignkey")
        batch_op.drop_column("duplicate_of")
        batch_op.drop_column("title_key")
        batch_op.drop_column("image_refused_at")
        batch_op.drop_column("image_url")
