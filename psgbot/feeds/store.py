"""Stores parsed items once per feed; a changed title or summary updates the stored copy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from psgbot.db.models import Feed, Item, ItemTopic
from psgbot.db.types import utcnow
from psgbot.feeds.parse import ParsedItem
from psgbot.feeds.sources import display_source
from psgbot.topics import Taxonomy

# Keeps each IN (...) lookup well under SQLite's bound-parameter limit.
_LOOKUP_CHUNK = 500


@dataclass
class StoreResult:
    feed: Feed
    seen: int
    new_items: list[Item] = field(default_factory=list)
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
    """
    now = now or utcnow()
    result = StoreResult(feed=feed, seen=len(items))
    stored = await _stored_by_key(session, feed.id, [item.key for item in items])
    # Feeds list newest first; storing oldest first makes ids grow with recency, which orders
    # items published at the same moment the way the feed does.
    for parsed in reversed(items):
        topics = taxonomy.classify(parsed.title, parsed.summary, parsed.categories)
        existing = stored.get(parsed.key)
        if existing is None:
            item = Item(
                feed_id=feed.id,
                key=parsed.key,
                guid=parsed.guid,
                title=parsed.title,
                link=parsed.link,
                summary=parsed.summary,
                published_at=parsed.published,
                first_seen_at=now,
                sort_at=parsed.published or now,
                updated_at=now,
                topics=[ItemTopic(topic=slug) for slug in topics],
            )
            session.add(item)
            stored[parsed.key] = item
            result.new_items.append(item)
        elif (existing.title, existing.summary) != (parsed.title, parsed.summary):
            existing.title = parsed.title
            existing.summary = parsed.summary
            existing.link = parsed.link or existing.link
            existing.updated_at = now
            if sorted(existing.topic_slugs) != sorted(topics):
                existing.topics = [ItemTopic(topic=slug) for slug in topics]
            result.updated += 1
    await session.flush()
    return result


async def _stored_by_key(session: AsyncSession, feed_id: int, keys: list[str]) -> dict[str, Item]:
    found: dict[str, Item] = {}
    for start in range(0, len(keys), _LOOKUP_CHUNK):
        chunk = keys[start : start + _LOOKUP_CHUNK]
        rows = await session.scalars(
            select(Item).where(Item.feed_id == feed_id, Item.key.in_(chunk))
        )
        found.update((item.key, item) for item in rows)
    return found
