"""search: the archive's words for /search and inline mode (item_search), indexed by FTS5 on
SQLite and a GIN index on PostgreSQL; recent searches for "More" buttons (search_queries).
Every item already stored is indexed.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-20
"""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

import psgbot.db.types

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# Items read and indexed per statement while the archive is indexed.
CHUNK = 500

# SQLite: an FTS5 table over item_search (external content: the words are stored once, in
# item_search), kept in step by triggers, so any write of item_search, including the cascade
# when an item is deleted, updates the index. The words are already folded by psgbot.search;
# remove_diacritics 2 folds whatever a later writer might leave.
SQLITE_INDEX = [
    """CREATE VIRTUAL TABLE item_search_fts USING fts5(
        title, body, content='item_search', content_rowid='item_id',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER item_search_ai AFTER INSERT ON item_search BEGIN
        INSERT INTO item_search_fts(rowid, title, body)
        VALUES (new.item_id, new.title, new.body);
    END""",
    """CREATE TRIGGER item_search_ad AFTER DELETE ON item_search BEGIN
        INSERT INTO item_search_fts(item_search_fts, rowid, title, body)
        VALUES ('delete', old.item_id, old.title, old.body);
    END""",
    """CREATE TRIGGER item_search_au AFTER UPDATE ON item_search BEGIN
        INSERT INTO item_search_fts(item_search_fts, rowid, title, body)
        VALUES ('delete', old.item_id, old.title, old.body);
        INSERT INTO item_search_fts(rowid, title, body)
        VALUES (new.item_id, new.title, new.body);
    END""",
]
# PostgreSQL: the words as a tsvector with the 'simple' configuration (no stemming, no stop
# words: the words are folded already), the same expression psgbot.search queries with.
POSTGRES_INDEX = (
    "CREATE INDEX ix_item_search_document ON item_search USING gin "
    "(to_tsvector('simple'::regconfig, title || ' ' || body))"
)


def upgrade() -> None:
    op.create_table(
        "item_search",
        sa.Column("item_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_item_search_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_item_search")),
    )
    op.create_table(
        "search_queries",
        sa.Column("token", sa.String(length=16), nullable=False),
        sa.Column("words", sa.String(length=200), nullable=False),
        sa.Column("used_at", psgbot.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_search_queries")),
        sa.UniqueConstraint("words", name=op.f("uq_search_queries_words")),
    )
    with op.batch_alter_table("search_queries", schema=None) as batch_op:
        batch_op.create_index("ix_search_queries_used", ["used_at"], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_INDEX:
            op.execute(statement)
    else:
        op.execute(POSTGRES_INDEX)
    _index_the_archive(bind)


# The words as psgbot.search.search_document writes them when this revision was made, frozen
# here: a migration does the same thing whatever the code becomes (and the db layer imports no
# domain module).
_WORD = re.compile(r"[^\W_]+")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return stripped.casefold().replace("’", "'")


def _without_feed_footer(folded: str) -> str:
    end = folded.rfind(" appeared first on ")
    start = folded.rfind("the post ", 0, end) if end != -1 else -1
    return folded[:start].rstrip() if start != -1 else folded


def search_document(title: str, summary: str) -> tuple[str, str]:
    body = _without_feed_footer(_fold(summary))
    return " ".join(_WORD.findall(_fold(title))), " ".join(_WORD.findall(body))


def _index_the_archive(bind: sa.engine.Connection) -> None:
    """Indexes every stored item, in chunks (the triggers or the GIN index follow)."""
    items = sa.table("items", sa.column("id", sa.Integer), sa.column("title"), sa.column("summary"))
    item_search = sa.table(
        "item_search", sa.column("item_id"), sa.column("title"), sa.column("body")
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(items.c.id, items.c.title, items.c.summary)
            .where(items.c.id > last)
            .order_by(items.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        values = []
        for item_id, title, summary in rows:
            words, body = search_document(title or "", summary or "")
            values.append({"item_id": item_id, "title": words, "body": body})
        bind.execute(sa.insert(item_search), values)
        last = rows[-1][0]


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("item_search_ai", "item_search_ad", "item_search_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS item_search_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_item_search_document")
    with op.batch_alter_table("search_queries", schema=None) as batch_op:
        batch_op.drop_index("ix_search_queries_used")
    op.drop_table("search_queries")
    op.drop_table("item_search")
