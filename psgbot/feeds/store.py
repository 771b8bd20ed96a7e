"""Stores parsed items once per feed; a changed title or summary updates the stored copy.

Each item's search words (psgbot.search) are written in the same transaction as the item, and
rewritten when its text changes, so search never finds an item that is not stored, nor misses
one that is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import anyio
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from psgbot.db.models import Feed, Item, ItemTopic
from psgbot.db.types import utcnow
from psgbot.feeds.parse import ParsedItem
from psgbot.feeds.sources import display_source
from psgbot.search import index_items
from psgbot.topics import Taxonomy

# Keeps each IN (...) lookup well under SQLite's bound-parameter limit.
_LOOKUP_CHUNK = 500
# New items are classified and written this many at a time; a few are classified in place.
_STORE_CHUNK = 200
_INLINE_CLASSIFY = 20


@dataclass(frozen=True)
class StoredItem:
    """A newly stored item: what alerting it needs."""

    id: int
    key: str
    published_at: datetime | None


@dataclass
class StoreResult:
    feed: Feed
    seen: int
    new_items: list[StoredItem] = field(default_factory=list)
    updated: int = 0


async def get_or_create_feed(session: AsyncSession, source: str) -> Feed:
    feed = await session.scalar(select(Feed).where(Feed.source == source))
    if feed is None:
        feed = Feed(source=source)
        session.add(feed)
        await session.flush()
    return feed


async def find_feed(session: AsyncSession, source: str) -> Feed | None:
    """The feed with this source, or the one feed shown as it (admins see sources without their
    secrets, so that is what they type back)."""
    feed = await session.scalar(select(Feed).where(Feed.source == source))
    if feed is not None:
        return feed
    shown = [
        feed
        for feed in await session.scalars(select(Feed))
        if display_source(feed.source) == source
    ]
    return shown[0] if len(shown) == 1 else None


async def store_items(
    session: AsyncSession,
    feed: Feed,
    items: Sequence[ParsedItem],
    taxonomy: Taxonomy,
    *,
    now: datetime | None = None,
) -> StoreResult:
    """Adds unseen items and refreshes changed ones; the caller commits.

    An item's identity is its key within its feed, so a repeated ingest stores nothing new.
    Stored items are compared by key, title and summary alone (no topics loaded), and only new
    or changed items are classified, off the event loop. New items are written in chunks, so
    a first poll of a large feed never stalls the bot for long.
    """
    now = now or utcnow()
    result = StoreResult(feed=feed, seen=len(items))
    stored = await _stored_versions(session, feed.id, [item.key for item in items])
    # Feeds list newest first; storing oldest first makes ids grow with recency, which orders
    # items published at the same moment the way the feed does.
    fresh = [parsed for parsed in reversed(items) if parsed.key not in stored]
    changed = [
        parsed
        for parsed in reversed(items)
        if parsed.key in stored and stored[parsed.key][1:] != (parsed.title, parsed.summary)
    ]
    for start in range(0, len(fresh), _STORE_CHUNK):
        chunk = fresh[start : start + _STORE_CHUNK]
        topics = await _classify(taxonomy, chunk)
        result.new_items += await _insert(session, feed, chunk, topics, now)
    if changed:
        await _refresh(session, changed, {p.key: stored[p.key][0] for p in changed}, taxonomy, now)
        result.updated = len(changed)
    return result


async def _insert(
    session: AsyncSession,
    feed: Feed,
    items: Sequence[ParsedItem],
    topics: Sequence[list[str]],
    now: datetime,
) -> list[StoredItem]:
    """Writes new items and their tags in two multi-row INSERTs (not an object each); each
    item is in the language its feed declares."""
    feed_id = feed.id
    rows = [
        {
            "feed_id": feed_id,
            "language": feed.language,
            "key": parsed.key,
            "guid": parsed.guid,
            "title": parsed.title,
            "link": parsed.link,
            "summary": parsed.summary,
            "published_at": parsed.published,
            "first_seen_at": now,
            "sort_at": parsed.published or now,
            "updated_at": now,
        }
        for parsed in items
    ]
    await session.execute(insert(Item), rows)
    found = await session.execute(
        select(Item.key, Item.id).where(
            Item.feed_id == feed_id, Item.key.in_([parsed.key for parsed in items])
        )
    )
    ids: dict[str, int] = dict(found.all())
    tags = [
        {"item_id": ids[parsed.key], "topic": slug, "sort_at": row["sort_at"]}
        for parsed, slugs, row in zip(items, topics, rows, strict=True)
        for slug in slugs
    ]
    if tags:
        await session.execute(insert(ItemTopic), tags)
    await index_items(session, [(ids[p.key], p.title, p.summary) for p in items])
    return [StoredItem(ids[parsed.key], parsed.key, parsed.published) for parsed in items]


async def _classify(taxonomy: Taxonomy, items: Sequence[ParsedItem]) -> list[list[str]]:
    """Each item's topics, worked out in a thread: a large batch never stalls the event loop."""

    def classify_all() -> list[list[str]]:
        return [taxonomy.classify(item.title, item.summary, item.categories) for item in items]

    if len(items) <= _INLINE_CLASSIFY:
        return classify_all()
    return await anyio.to_thread.run_sync(classify_all)


async def _refresh(
    session: AsyncSession,
    changed: Sequence[ParsedItem],
    ids: dict[str, int],
    taxonomy: Taxonomy,
    now: datetime,
) -> None:
    """Updates the stored copies of items whose title or summary changed, and their topics."""
    topics = await _classify(taxonomy, changed)
    for start in range(0, len(changed), _LOOKUP_CHUNK):
        chunk = list(zip(changed, topics, strict=True))[start : start + _LOOKUP_CHUNK]
        wanted = [ids[parsed.key] for parsed, _slugs in chunk]
        existing = {
            item.key: item
            for item in await session.scalars(select(Item).where(Item.id.in_(wanted)))
        }
        for parsed, slugs in chunk:
            item = existing[parsed.key]
            item.title = parsed.title
            item.summary = parsed.summary
            item.link = parsed.link or item.link
            item.updated_at = now
            # An editor's topics (/tag) outlast the publisher's edits of the text.
            if item.topics_edited_at is None and sorted(item.topic_slugs) != sorted(slugs):
                item.topics = [ItemTopic(topic=slug) for slug in slugs]
        await session.flush()
        # The search index follows the new text, in the same transaction.
        await index_items(
            session,
            [(existing[parsed.key].id, parsed.title, parsed.summary) for parsed, _s in chunk],
            replace=True,
        )


async def _stored_versions(
    session: AsyncSession, feed_id: int, keys: list[str]
) -> dict[str, tuple[int, str, str]]:
    """Stored items of the feed among ``keys``: key -> (id, title, summary), nothing else."""
    found: dict[str, tuple[int, str, str]] = {}
    for start in range(0, len(keys), _LOOKUP_CHUNK):
        chunk = keys[start : start + _LOOKUP_CHUNK]
        rows = await session.execute(
            select(Item.key, Item.id, Item.title, Item.summary).where(
                Item.feed_id == feed_id, Item.key.in_(chunk)
            )
        )
        found.update((key, (item_id, title, summary)) for key, item_id, title, summary in rows)
    return found
