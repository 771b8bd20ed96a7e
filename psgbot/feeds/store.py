"""Stores parsed items once per feed; a changed title, summary or list of categories updates
the stored copy and its topics. A story stored already under another key
(psgbot.feeds.duplicates) is kept as a linked copy.

Each item's search words (psgbot.search) are written in the same transaction as the item, and
rewritten when its text changes, so search never finds an item that is not stored, nor misses
one that is (a linked copy is not searched: its first is)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anyio
from sqlalchemy import String, insert, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncSession

from psgbot.db.models import Feed, Item, ItemTopic
from psgbot.db.types import StringLines, utcnow
from psgbot.feeds.duplicates import DUPLICATE_WINDOW, earlier_copies, lock_title_keys, title_key
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
    duplicates: int = 0  # new items that repeat a stored story: stored linked, not alerted


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
    Stored items are compared by key, title, summary and categories alone (no topics loaded),
    and only new or changed items are classified, off the event loop. New items are written in
    chunks, so a first poll of a large feed never stalls the bot for long.
    """
    now = now or utcnow()
    result = StoreResult(feed=feed, seen=len(items))
    stored = await _stored_versions(session, feed.id, [item.key for item in items])
    # Feeds list newest first; storing oldest first makes ids grow with recency, which orders
    # items published at the same moment the way the feed does.
    fresh = [parsed for parsed in reversed(items) if parsed.key not in stored]
    changed: list[ParsedItem] = []
    unknown: dict[int, tuple[str, ...]] = {}  # stored before categories were: id -> categories
    for parsed in reversed(items):
        if (version := stored.get(parsed.key)) is None:
            continue
        item_id, title, summary, categories = version
        if (title, summary) != (parsed.title, parsed.summary) or (
            categories is not None and categories != StringLines.joined(parsed.categories)
        ):
            changed.append(parsed)
        elif categories is None:
            unknown[item_id] = parsed.categories
    for start in range(0, len(fresh), _STORE_CHUNK):
        chunk = fresh[start : start + _STORE_CHUNK]
        topics = await _classify(taxonomy, chunk)
        inserted, copies = await _insert(session, feed, chunk, topics, now)
        result.new_items += inserted
        result.duplicates += copies
    if changed:
        await _refresh(session, changed, {p.key: stored[p.key][0] for p in changed}, taxonomy, now)
        result.updated = len(changed)
    if unknown:
        await _record_categories(session, unknown)
    return result


async def _insert(
    session: AsyncSession,
    feed: Feed,
    items: Sequence[ParsedItem],
    topics: Sequence[list[str]],
    now: datetime,
) -> tuple[list[StoredItem], int]:
    """Writes new items and their tags in multi-row INSERTs (not an object each), each in the
    language its feed declares; returns the stored stories and how many copies of earlier ones
    (near-duplicates: stored linked to the first, without tags, not returned, so never alerted
    nor searched) there were."""
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
            "categories": parsed.categories,
            "published_at": parsed.published,
            "first_seen_at": now,
            "sort_at": parsed.published or now,
            "updated_at": now,
            "image_url": parsed.image,
            "title_key": title_key(parsed.title),
            "duplicate_of": None,
        }
        for parsed in items
    ]
    later = await _link_copies(session, rows)
    first = [row for index, row in enumerate(rows) if index not in later]
    ids = await _write(session, feed_id, first)
    for index, original in later.items():
        rows[index]["duplicate_of"] = ids[str(rows[original]["key"])]
    if later:
        ids |= await _write(session, feed_id, [rows[index] for index in later])
    tags = [
        {"item_id": ids[parsed.key], "topic": slug, "sort_at": row["sort_at"]}
        for parsed, slugs, row in zip(items, topics, rows, strict=True)
        if row["duplicate_of"] is None
        for slug in slugs
    ]
    if tags:
        await session.execute(insert(ItemTopic), tags)
    stories = [
        (parsed, row) for parsed, row in zip(items, rows, strict=True) if not row["duplicate_of"]
    ]
    await index_items(session, [(ids[p.key], p.title, p.summary) for p, _row in stories])
    stored = [StoredItem(ids[p.key], p.key, p.published) for p, _row in stories]
    return stored, len(items) - len(stored)


async def _link_copies(session: AsyncSession, rows: list[dict[str, Any]]) -> dict[int, int]:
    """Marks the rows that repeat a stored story (``duplicate_of``); returns those that repeat
    an earlier row of this chunk instead, by index, each with the index of that row."""
    keyed = [(index, row) for index, row in enumerate(rows) if row["title_key"]]
    await lock_title_keys(session, [row["title_key"] for _index, row in keyed])
    originals = await earlier_copies(
        session, [(row["title_key"], row["sort_at"]) for _i, row in keyed]
    )
    later: dict[int, int] = {}
    firsts: dict[str, list[int]] = {}  # this chunk's stories, by title key
    for (index, row), original in zip(keyed, originals, strict=True):
        if original is not None:
            row["duplicate_of"] = original
            continue
        earlier = next(
            (
                first
                for first in firsts.get(row["title_key"], [])
                if abs(rows[first]["sort_at"] - row["sort_at"]) < DUPLICATE_WINDOW
            ),
            None,
        )
        if earlier is None:
            firsts.setdefault(row["title_key"], []).append(index)
        else:
            later[index] = earlier
    return later


async def _write(session: AsyncSession, feed_id: int, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Inserts rows; returns their ids by key."""
    if not rows:
        return {}
    await session.execute(insert(Item), rows)
    found = await session.execute(
        select(Item.key, Item.id).where(
            Item.feed_id == feed_id, Item.key.in_([row["key"] for row in rows])
        )
    )
    ids: dict[str, int] = dict(found.all())
    return ids


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
    """Updates the stored copies of items whose title, summary or categories changed, and their
    topics."""
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
            item.title_key = title_key(parsed.title)
            item.summary = parsed.summary
            item.categories = parsed.categories
            item.link = parsed.link or item.link
            if parsed.image and parsed.image != item.image_url:
                item.image_url, item.image_refused_at = parsed.image, None
            item.updated_at = now
            # An editor's topics (/tag) outlast the publisher's edits of the text; a copy of
            # another item's story has none (it is listed once, as that item).
            if item.duplicate_of is not None:
                continue
            if item.topics_edited_at is None and sorted(item.topic_slugs) != sorted(slugs):
                item.topics = [ItemTopic(topic=slug) for slug in slugs]
        await session.flush()
        # The search index follows the new text, in the same transaction; a copy of another
        # item's story is not searched (it is found as that item).
        await index_items(
            session,
            [
                (existing[parsed.key].id, parsed.title, parsed.summary)
                for parsed, _s in chunk
                if existing[parsed.key].duplicate_of is None
            ],
            replace=True,
        )


async def _record_categories(session: AsyncSession, categories: dict[int, tuple[str, ...]]) -> None:
    """Records the categories of items stored before they were kept (migration 0021), in one
    bulk UPDATE by id, without retagging: they were tagged with their categories at ingest."""
    await session.execute(
        update(Item),
        [{"id": item_id, "categories": kept} for item_id, kept in categories.items()],
    )


# An item's categories as stored (StringLines.joined), not read back as a tuple: comparing
# costs no decoding of each unchanged item.
_Version = tuple[int, str, str, str | None]


async def _stored_versions(
    session: AsyncSession, feed_id: int, keys: list[str]
) -> dict[str, _Version]:
    """Stored items of the feed among ``keys``: key -> (id, title, summary, categories), nothing
    else."""
    found: dict[str, _Version] = {}
    for start in range(0, len(keys), _LOOKUP_CHUNK):
        chunk = keys[start : start + _LOOKUP_CHUNK]
        rows = await session.execute(
            select(
                Item.key, Item.id, Item.title, Item.summary, type_coerce(Item.categories, String)
            ).where(Item.feed_id == feed_id, Item.key.in_(chunk))
        )
        found.update(
            (key, (item_id, title, summary, kept)) for key, item_id, title, summary, kept in rows
        )
    return found
