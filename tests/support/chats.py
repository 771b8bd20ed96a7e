"""Many chats at once, for fan-out tests (bulk inserts, not one /start per chat)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from psgbot.db.models import Chat, Subscription
from psgbot.db.types import utcnow


async def add_chats(session: AsyncSession, ids: Iterable[int], *, topic: str | None = None) -> None:
    """Active chats (private for positive ids, groups otherwise), following ``topic`` if given."""
    now = utcnow()
    chats = list(ids)
    await session.execute(
        insert(Chat),
        [
            {
                "id": chat,
                "type": "private" if chat > 0 else "group",
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
            for chat in chats
        ],
    )
    if topic is not None:
        await session.execute(
            insert(Subscription),
            [{"chat_id": chat, "topic": topic, "created_at": now} for chat in chats],
        )
