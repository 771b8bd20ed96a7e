"""Searching the archive: /search, plain words in a private chat, and inline mode.

Matching is on whole words, in any case and with or without accents ("Tía María" finds "TIA
MARIA" and "tia maria" finds "Tía María"), in an item's title and summary (without WordPress's
"The post … appeared first on …" line). Every word typed must be there; in inline mode, which
searches while the user types, the last word may also be the start of a longer one.

The folding is done here, in Python, with the classifier's own fold (psgbot.topics), and the
folded words are stored (``item_search``, written in the item's transaction by
psgbot.feeds.store). The databases only match words already folded, so both find the same
items: SQLite through an FTS5 table, PostgreSQL through a GIN index on ``to_tsvector('simple',
...)``, which needs no extension (``unaccent`` is often not installed, and is not immutable, so
it cannot be indexed directly).

What the user typed is never query syntax: it is cut into words of letters and digits, each
quoted, so ``"``, ``*``, ``NEAR(``, ``OR`` or SQL quotes are just characters, and at most
``MAX_TERMS`` words of at most ``TERM_MAX`` characters are read, however long the text.

Ranking is by relevance, then newest first: items whose title has every word, then those whose
title has some of them, then those that have them in the summary only. The tiers are the same
on both databases, so the same search lists the same items in the same order on either.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from psgbot.db.engine import dialect_insert, is_postgres
from psgbot.db.models import Item, ItemSearch, SearchQuery
from psgbot.db.search import SEARCH_TOKEN_LENGTH, SEARCH_WORDS_MAX
from psgbot.news import latest_items
from psgbot.numbers import parse_number
from psgbot.topics.matching import fold, without_feed_footer

PAGE_SIZE = 5
INLINE_RESULTS = 10
MAX_TERMS = 8
TERM_MAX = 24
# Characters of what was typed that are read at all: enough for MAX_TERMS words, so that 10 KB
# of text costs no more than a line.
TYPED_MAX = 400
QUERY_KEPT = timedelta(days=1)
"""How long after its last use a search's words are kept for its "More" button."""
SHARE_MARK = "#"
"""An inline query of "#" and an item's id shares that item (the Share button's query)."""

# A word as search sees it: letters and digits (no underscore, which SQLite's tokenizer and
# PostgreSQL's parser both treat as a separator).
_WORD = re.compile(r"[^\W_]+")
_TOKEN_ALPHABET_HEX = re.compile(rf"[0-9a-f]{{{SEARCH_TOKEN_LENGTH}}}")
_INDEX_CHUNK = 500
INDEXED_WORDS_MAX = 10_000
INDEXED_CHARS_MAX = 100_000
"""What of an item is indexed at most: its first words, title first, up to these many words and
characters. PostgreSQL refuses a tsvector over 1 MB ("string is too long for tsvector"), which
would roll back the item's whole ingest: 100,000 characters are at most 400 KB of UTF-8, and
each of 10,000 words adds at most 10 bytes of entry and position. That is every word of the
longest summary a feed keeps (psgbot.feeds.parse), whatever was stored before that bound."""


def _words(folded: str) -> list[str]:
    return _WORD.findall(folded)


def search_document(title: str, summary: str) -> tuple[str, str]:
    """An item's title and summary as they are stored for search: folded words, one space
    between them (the summary without the feed's footer), within INDEXED_WORDS_MAX words and
    INDEXED_CHARS_MAX characters in all, title first."""
    words, chars = INDEXED_WORDS_MAX, INDEXED_CHARS_MAX
    indexed: list[str] = []
    # Only the start of a text can be indexed, so only the start is folded.
    for folded in (fold(title[:chars]), without_feed_footer(fold(summary[:chars]))):
        kept = []
        for word in _WORD.finditer(folded):
            size = len(word.group()) + 1
            if words == 0 or size > chars:
                break
            kept.append(word.group())
            words, chars = words - 1, chars - size
        indexed.append(" ".join(kept))
    return indexed[0], indexed[1]


def search_terms(typed: str) -> list[str]:
    """The words to look for in what the user typed: folded, each once, in order, bounded."""
    terms: list[str] = []
    for word in _words(fold(typed[:TYPED_MAX])):
        term = word[:TERM_MAX]
        if term not in terms:
            terms.append(term)
        if len(terms) == MAX_TERMS:
            break
    return terms


async def index_items(
    session: AsyncSession, entries: Iterable[tuple[int, str, str]], *, replace: bool = False
) -> None:
    """Writes the search rows of items given as (id, title, summary); ``replace`` for items
    already indexed whose text changed. The caller's transaction is the item's own."""
    rows = [
        {"item_id": item_id, "title": words[0], "body": words[1]}
        for item_id, title, summary in entries
        for words in [search_document(title, summary)]
    ]
    for start in range(0, len(rows), _INDEX_CHUNK):
        chunk = rows[start : start + _INDEX_CHUNK]
        if replace:
            ids = [row["item_id"] for row in chunk]
            await session.execute(delete(ItemSearch).where(ItemSearch.item_id.in_(ids)))
        await session.execute(insert(ItemSearch), chunk)


@dataclass(frozen=True)
class SearchPage:
    """One page of a search's results, best first, and how many items match in all."""

    items: Sequence[Item]
    total: int
    page: int  # 1 is the first

    @property
    def first_number(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1

    @property
    def has_more(self) -> bool:
        return self.page * PAGE_SIZE < self.total


async def search_page(session: AsyncSession, terms: Sequence[str], page: int = 1) -> SearchPage:
    """Page ``page`` (PAGE_SIZE items) of the items matching every term."""
    if not terms or page < 1:
        return SearchPage([], 0, page)
    total = await _count(session, terms)
    items = await search_items(session, terms, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return SearchPage(items, total, page)


async def search_items(
    session: AsyncSession,
    terms: Sequence[str],
    *,
    limit: int,
    offset: int = 0,
    prefix_last: bool = False,
) -> Sequence[Item]:
    """The items matching every term, most relevant first, then newest first."""
    if not terms:
        return []
    if is_postgres(session):
        query, params = _postgres_query(terms, prefix_last)
    else:
        query, params = _sqlite_query(terms, prefix_last)
    rows = await session.execute(text(query), params | {"limit": limit, "offset": offset})
    ids = [item_id for (item_id,) in rows]
    if not ids:
        return []
    found = {item.id: item for item in await session.scalars(select(Item).where(Item.id.in_(ids)))}
    return [found[item_id] for item_id in ids if item_id in found]


async def inline_items(session: AsyncSession, typed: str) -> Sequence[Item]:
    """What inline mode offers for a query: the latest items for an empty one, the item a
    Share button named ("#123"), else the best matches (the last word may be unfinished)."""
    if not typed.strip():
        return await latest_items(session, limit=INLINE_RESULTS)
    shared = shared_item_id(typed)
    if shared is not None:
        item = await session.get(Item, shared)
        return [item] if item is not None else []
    terms = search_terms(typed)
    return await search_items(session, terms, limit=INLINE_RESULTS, prefix_last=True)


def share_query(item_id: int) -> str:
    """The inline query a Share button puts in the chat the user picks."""
    return f"{SHARE_MARK}{item_id}"


def shared_item_id(typed: str) -> int | None:
    """The item a Share button's query names, or None for any other query."""
    typed = typed.strip()
    if not typed.startswith(SHARE_MARK):
        return None
    return parse_number(typed.removeprefix(SHARE_MARK))


async def remember_search(session: AsyncSession, terms: Sequence[str], now: datetime) -> str:
    """The token a "More" button carries for these words (the same for the same words)."""
    words = " ".join(terms)[:SEARCH_WORDS_MAX]
    token = await session.scalar(select(SearchQuery.token).where(SearchQuery.words == words))
    if token is not None:
        await session.execute(
            update(SearchQuery).where(SearchQuery.token == token).values(used_at=now)
        )
        return token
    fresh = secrets.token_hex(SEARCH_TOKEN_LENGTH // 2)
    # Two chats searching the same words at once: one token wins, and both use it.
    await session.execute(
        dialect_insert(session)(SearchQuery)
        .values(token=fresh, words=words, used_at=now)
        .on_conflict_do_nothing()
    )
    stored = await session.scalar(select(SearchQuery.token).where(SearchQuery.words == words))
    return stored or fresh


async def recall_search(session: AsyncSession, token: str, now: datetime) -> list[str] | None:
    """The words of the search a "More" button names, or None once forgotten."""
    if not _TOKEN_ALPHABET_HEX.fullmatch(token):
        return None
    words = await session.scalar(select(SearchQuery.words).where(SearchQuery.token == token))
    if words is None:
        return None
    await session.execute(update(SearchQuery).where(SearchQuery.token == token).values(used_at=now))
    return words.split()


async def purge_searches(session: AsyncSession, now: datetime) -> int:
    """Forgets searches unused for QUERY_KEPT (their "More" buttons then say so)."""
    result = await session.execute(
        delete(SearchQuery).where(SearchQuery.used_at < now - QUERY_KEPT)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def _count(session: AsyncSession, terms: Sequence[str]) -> int:
    if is_postgres(session):
        query = f"SELECT count(*) FROM item_search WHERE {postgres_document()} @@ {_TSQUERY}"
        params = {"q": _tsquery(terms, "&", prefix_last=False)}
    else:
        query = "SELECT count(*) FROM item_search_fts WHERE item_search_fts MATCH :q"
        params = {"q": _fts_all(terms, prefix_last=False)}
    return int(await session.scalar(text(query), params) or 0)


def postgres_document(table: str = "item_search") -> str:
    """The expression PostgreSQL's GIN index is built on (migration 0018): a query must use
    the same one for the index to serve it."""
    return f"to_tsvector('simple'::regconfig, {table}.title || ' ' || {table}.body)"


_TSQUERY = "to_tsquery('simple'::regconfig, :q)"


def _tsquery(terms: Sequence[str], operator: str, *, prefix_last: bool) -> str:
    quoted = [f"'{term}'" for term in terms]
    if prefix_last:
        quoted[-1] += ":*"
    return f" {operator} ".join(quoted)


def _postgres_query(terms: Sequence[str], prefix_last: bool) -> tuple[str, dict[str, str]]:
    title = "to_tsvector('simple'::regconfig, s.title)"
    query = f"""
        SELECT i.id FROM item_search s JOIN items i ON i.id = s.item_id
        WHERE {postgres_document("s")} @@ {_TSQUERY}
        ORDER BY CASE
                WHEN {title} @@ to_tsquery('simple'::regconfig, :all_in_title) THEN 2
                WHEN {title} @@ to_tsquery('simple'::regconfig, :any_in_title) THEN 1
                ELSE 0
            END DESC, i.sort_at DESC, i.id DESC
        LIMIT :limit OFFSET :offset
    """
    return query, {
        "q": _tsquery(terms, "&", prefix_last=prefix_last),
        "all_in_title": _tsquery(terms, "&", prefix_last=prefix_last),
        "any_in_title": _tsquery(terms, "|", prefix_last=prefix_last),
    }


def _fts_all(terms: Sequence[str], *, prefix_last: bool) -> str:
    quoted = [f'"{term}"' for term in terms]
    if prefix_last:
        quoted[-1] += " *"
    return " ".join(quoted)


def _sqlite_query(terms: Sequence[str], prefix_last: bool) -> tuple[str, dict[str, str]]:
    everything = _fts_all(terms, prefix_last=prefix_last)
    some = " OR ".join(_fts_all([term], prefix_last=False) for term in terms[:-1])
    last = _fts_all(terms[-1:], prefix_last=prefix_last)
    query = """
        SELECT i.id FROM item_search_fts JOIN items i ON i.id = item_search_fts.rowid
        WHERE item_search_fts MATCH :q
        ORDER BY CASE
                WHEN item_search_fts.rowid IN (SELECT rowid FROM item_search_fts
                    WHERE item_search_fts MATCH :all_in_title) THEN 2
                WHEN item_search_fts.rowid IN (SELECT rowid FROM item_search_fts
                    WHERE item_search_fts MATCH :any_in_title) THEN 1
                ELSE 0
            END DESC, i.sort_at DESC, i.id DESC
        LIMIT :limit OFFSET :offset
    """
    return query, {
        "q": everything,
        "all_in_title": f"title : ({everything})",
        "any_in_title": f"title : ({' OR '.join(filter(None, [some, last]))})",
    }
