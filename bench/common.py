"""What the benchmarks share: subscribers written in bulk, an item they all follow, a transport
that counts what it sends."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import insert

from psgbot.db.models import Chat, Feed, Item, ItemTopic, Subscription
from psgbot.db.types import utcnow
from psgbot.offline import ApiCall, OfflineBotApi
from psgbot.outbox import enqueue_alerts
from psgbot.services import Services

FIRST_CHAT = 10_000_000
CHUNK = 20_000  # rows per INSERT: memory stays flat at a million subscribers
TOPIC = "justice"


class CountingBotApi(OfflineBotApi):
    """Accepts every message and counts it."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    async def answer(self, call: ApiCall) -> Any:
        if call.method == "sendMessage":
            self.sent += 1
        return await super().answer(call)


async def add_subscribers(services: Services, count: int) -> range:
    """``count`` active private chats following TOPIC, from FIRST_CHAT on."""
    now = utcnow()
    chats = range(FIRST_CHAT, FIRST_CHAT + count)
    for start in range(0, count, CHUNK):
        chunk = chats[start : start + CHUNK]
        async with services.sessions.begin() as session:
            await session.execute(
                insert(Chat),
                [
                    {"id": chat, "type": "private", "active": True}
                    | {"created_at": now, "updated_at": now}
                    for chat in chunk
                ],
            )
            await session.execute(
                insert(Subscription),
                [{"chat_id": chat, "topic": TOPIC, "created_at": now} for chat in chunk],
            )
    return chats


async def fan_out(services: Services, key: str) -> float:
    """Stores one item every subscriber follows, in a feed of its own, with its alert rows;
    returns the seconds the alerts' INSERT … SELECT and its commit took."""
    now = utcnow()
    async with services.sessions.begin() as session:
        feed = Feed(source=f"bench-{key}", initialized=True)
        session.add(feed)
        await session.flush()
        item = Item(
            feed_id=feed.id,
            key=key,
            title=f"Court ruling {key}",
            summary="The Supreme Court ruled on the pardon. " * 8,
            link=f"https://perusupportgroup.org.uk/{key}",
            published_at=now,
            sort_at=now,
            topics=[ItemTopic(topic=TOPIC)],
        )
        session.add(item)
        await session.flush()
        started = time.perf_counter()
        await enqueue_alerts(session, [item.id], now)
    return time.perf_counter() - started
