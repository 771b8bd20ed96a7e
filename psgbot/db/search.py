"""The archive's search tables: each item's words as search reads them, and recent searches.

``item_search`` holds an item's title and summary folded (no case, no accents) and cut into
words by psgbot.search, one row per item, written in the item's own transaction. Each database
indexes it its own way, created by migration 0018 and kept out of these models because neither
can be declared portably:

- SQLite: ``item_search_fts``, an FTS5 table over ``item_search`` (external content, keyed by
  the item's id) that triggers keep in step with every insert, update and delete;
- PostgreSQL: ``ix_item_search_document``, a GIN index on the words as a ``tsvector``
  (``to_tsvector('simple', ...)``: the words are already folded, so no stemming, no stop words
  and no ``unaccent`` extension are needed).

``search_queries`` lets a "More" button name a search without carrying its words (callback
data holds 64 bytes): a random token per distinct search, and when it was last used. It says
nothing about who searched, and is deleted a day after its last use (psgbot.search).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from psgbot.db.base import Base
from psgbot.db.types import UtcDateTime, utcnow

SEARCH_WORDS_MAX = 200
SEARCH_TOKEN_LENGTH = 16


class ItemSearch(Base):
    """An item's words as search matches them: folded, letters and digits only, one space
    between words."""

    __tablename__ = "item_search"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)


class SearchQuery(Base):
    """A search a "More" button may continue: its words (normalised) under a random token."""

    __tablename__ = "search_queries"
    __table_args__ = (Index("ix_search_queries_used", "used_at"),)

    token: Mapped[str] = mapped_column(String(SEARCH_TOKEN_LENGTH), primary_key=True)
    words: Mapped[str] = mapped_column(String(SEARCH_WORDS_MAX), unique=True)
    used_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
