"""Reading stored news: the newest items, overall or for one topic."""

from __future__ import annotations

import heapq
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from psgbot.db.models import Item, ItemTopic

DEFAULT_LATEST = 5
MAX_LATEST = 20


async def latest_items(
    session: AsyncSession,
    *,
    limit: int = DEFAULT_LATEST,
    topic: str | None = None,
    topics: Collection[str] | None = None,
) -> Sequence[Item]:
    """Newest first, by publication date or, for undated items, by when they were first seen.

    ``topic`` or ``topics`` narrow the list to items tagged with it or any of them. Each topic's
    newest are one range of the (topic, sort_at, item_id) index, whatever the archive's size.
    """
    wanted = {topic} if topic is not None else set(topics) if topics is not None else None
    # Item.topics loads "selectin": a second query on the few items found. (Joined in, a
    # planner with stale statistics may read every tag to join them.)
    if wanted is None:
        # A copy of another item's story (psgbot.feeds.duplicates) is listed once, as that item;
        # copies have no topics, so the topic lists below never meet one.
        query = (
            select(Item)
            .where(Item.duplicate_of.is_(None))
            .order_by(Item.sort_at.desc(), Item.id.desc())
            .limit(limit)
        )
        return (await session.scalars(query)).all()
    if len(wanted) == 1:
        (slug,) = wanted
        query = (
            select(Item)
            .join(ItemTopic, ItemTopic.item_id == Item.id)
            .where(ItemTopic.topic == slug)
            .order_by(ItemTopic.sort_at.desc(), ItemTopic.item_id.desc())
            .limit(limit)
        )
        return (await session.scalars(query)).all()
    candidates: dict[int, tuple[datetime, int]] = {}
    for slug in sorted(wanted):
        rows = await session.execute(
            select(ItemTopic.item_id, ItemTopic.sort_at)
            .where(ItemTopic.topic == slug)
            .order_by(ItemTopic.sort_at.desc(), ItemTopic.item_id.desc())
            .limit(limit)
        )
        candidates.update((item_id, (sort_at, item_id)) for item_id, sort_at in rows)
    chosen = heapq.nlargest(limit, candidates.values())
    if not chosen:
        return []
    query = select(Item).where(Item.id.in_([item_id for _sort_at, item_id in chosen]))
    items = {item.id: item for item in (await session.scalars(query))}
    return [items[item_id] for _sort_at, item_id in chosen if item_id in items]


async def nth_latest(session: AsyncSession, position: int) -> tuple[Item | None, int]:
    """Item ``position`` of /latest (1 is the newest), and how many of the newest items there
    are up to it (fewer than ``position`` when the archive is shorter; then the item is None)."""
    items = await latest_items(session, limit=position)
    return (items[position - 1] if len(items) >= position else None), len(items)


async def record_refused_images(
    session: AsyncSession, item_ids: Collection[int], now: datetime
) -> None:
    """Telegram refused these items' pictures: their alerts go as text from now on."""
    if item_ids:
        await session.execute(
            update(Item)
            .where(Item.id.in_(sorted(item_ids)), Item.image_refused_at.is_(None))
            .values(image_refused_at=now)
        )
