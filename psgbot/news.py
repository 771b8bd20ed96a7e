"""Reading stored news: the newest items, overall or for one topic."""

from __future__ import annotations

from collections.abc import Collection, Sequence

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

    ``topic`` or ``topics`` narrow the list to items tagged with it or any of them.
    """
    wanted = {topic} if topic is not None else set(topics) if topics is not None else None
    query = select(Item).order_by(Item.sort_at.desc(), Item.id.desc()).limit(limit)
    if wanted is not None:
        tagged = select(ItemTopic.item_id).where(ItemTopic.topic.in_(wanted))
        query = query.where(Item.id.in_(tagged))
    return (await session.scalars(query)).all()
