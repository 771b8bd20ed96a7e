"""Reading stored news: the newest items, overall or for one topic."""

from __future__ import annotations

import heapq
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select
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
    newest = (Item.sort_at.desc(), Item.id.desc())
    if wanted is None:
        return (await session.scalars(select(Item).order_by(*newest).limit(limit))).all()
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
    items = {
        item.id: item
        for item in await session.scalars(
            select(Item).where(Item.id.in_([item_id for _sort_at, item_id in chosen]))
        )
    }
    return [items[item_id] for _sort_at, item_id in chosen if item_id in items]
