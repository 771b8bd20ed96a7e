"""Reading stored news: the newest items, overall or for one topic."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from psgbot.db.models import Item, ItemTopic

DEFAULT_LATEST = 5
MAX_LATEST = 20


async def latest_items(
    session: AsyncSession, *, limit: int = DEFAULT_LATEST, topic: str | None = None
) -> Sequence[Item]:
    """Newest first, by publication date or, for undated items, by when they were first seen."""
    query = select(Item).order_by(Item.sort_at.desc(), Item.id.desc()).limit(limit)
    if topic is not None:
        query = query.join(ItemTopic).where(ItemTopic.topic == topic)
    return (await session.scalars(query)).all()
