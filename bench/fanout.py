"""Fan-out benchmark: one new item to N subscribers through the real outbox and dispatcher.

    python bench/fanout.py [--subscribers 20000] [--database-url URL] [--rate 30] [--seconds 10]

Reports (1) alerts per second with no rate limit, (2) with the flood limiter at --rate for
--seconds against a transport that answers 429 whenever more than --rate messages arrive in any
one-second window: the achieved fraction of the limit and the number of 429s, (3) peak RSS,
(4) the raw rate of bot.send_message through the same transport with no database, and (1) as a
fraction of it. The database must be fresh: a temporary SQLite file by default; for PostgreSQL
pass the URL of an empty database.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import ExtBot

from psgbot.alerts.dispatcher import Dispatcher
from psgbot.alerts.limits import FloodLimiter
from psgbot.app import OFFLINE_TOKEN
from psgbot.config import load_settings
from psgbot.db.migrate import upgrade
from psgbot.db.models import Chat, Feed, Item, ItemTopic, Subscription
from psgbot.db.types import utcnow
from psgbot.offline import ApiCall, ApiError, OfflineBotApi
from psgbot.outbox import enqueue_alerts
from psgbot.render.news import alert_message
from psgbot.services import Services

FIRST_CHAT = 10_000_000


class CountingBotApi(OfflineBotApi):
    """Accepts every message and counts it."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    async def answer(self, call: ApiCall) -> Any:
        if call.method == "sendMessage":
            self.sent += 1
        return await super().answer(call)


class FloodingBotApi(CountingBotApi):
    """Answers 429 (retry after 1 s) whenever more than ``limit`` sends fall in any second."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.window: deque[float] = deque()
        self.flood_errors = 0

    async def answer(self, call: ApiCall) -> Any:
        if call.method == "sendMessage":
            now = time.monotonic()
            while self.window and now - self.window[0] >= 1.0:
                self.window.popleft()
            if len(self.window) >= self.limit:
                self.flood_errors += 1
                raise ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
            self.window.append(now)
        return await super().answer(call)


def make_bot(api: OfflineBotApi, limiter: FloodLimiter) -> ExtBot[Any]:
    return ExtBot(OFFLINE_TOKEN, request=api, rate_limiter=limiter)


async def prepare(services: Services, subscribers: int) -> None:
    await upgrade(services.engine)
    now = utcnow()
    chats = range(FIRST_CHAT, FIRST_CHAT + subscribers)
    async with services.sessions.begin() as session:
        await session.execute(
            insert(Chat),
            [
                {
                    "id": chat,
                    "type": "private",
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for chat in chats
            ],
        )
        await session.execute(
            insert(Subscription),
            [{"chat_id": chat, "topic": "justice", "created_at": now} for chat in chats],
        )
        session.add(Feed(source="bench", initialized=True))


async def new_item(services: Services, key: str) -> float:
    """Stores one item every subscriber follows; returns the seconds the fan-out insert took."""
    now = utcnow()
    async with services.sessions.begin() as session:
        feed_id = 1
        item = Item(
            feed_id=feed_id,
            key=key,
            title=f"Court ruling {key}",
            summary="The Supreme Court ruled on the pardon. " * 8,
            link=f"https://perusupportgroup.org.uk/{key}",
            published_at=now,
            sort_at=now,
            topics=[ItemTopic(topic="justice")],
        )
        session.add(item)
        await session.flush()
        started = time.perf_counter()
        await enqueue_alerts(session, [item.id], now)
        return time.perf_counter() - started


async def unlimited(services: Services, subscribers: int) -> tuple[float, float]:
    fan_out = await new_item(services, "unlimited")
    api = CountingBotApi()
    bot = make_bot(api, FloodLimiter(overall_per_second=0))
    await bot.initialize()
    dispatcher = Dispatcher(services, bot, batch_size=500, concurrency=32)
    started = time.perf_counter()
    await dispatcher.drain()
    elapsed = time.perf_counter() - started
    assert api.sent == subscribers, (api.sent, subscribers)
    await bot.shutdown()
    return subscribers / elapsed, fan_out


async def limited(services: Services, rate: int, seconds: float) -> tuple[float, int]:
    await new_item(services, "limited")
    api = FloodingBotApi(rate)
    bot = make_bot(api, FloodLimiter(overall_per_second=rate))
    await bot.initialize()
    dispatcher = Dispatcher(services, bot, batch_size=max(rate, 50), concurrency=32, idle_wait=0.05)
    dispatcher.start()
    await asyncio.sleep(seconds)
    sent = api.sent
    await dispatcher.stop(grace=5)
    await bot.shutdown()
    return sent / seconds / rate, api.flood_errors


async def raw_send_rate(services: Services, count: int) -> float:
    """bot.send_message of the very same alert (text and buttons), with no database work."""
    async with services.sessions() as session:
        item = await session.scalar(select(Item).where(Item.key == "unlimited"))
    assert item is not None
    topic = services.taxonomy.get("justice")
    text = alert_message(item, services.taxonomy, services.settings.zone, topic)
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Read more", url=item.link or ""),
                InlineKeyboardButton("Unsubscribe from Justice", callback_data="unsub:justice"),
            ]
        ]
    )
    api = CountingBotApi()
    bot = make_bot(api, FloodLimiter(overall_per_second=0))
    await bot.initialize()
    semaphore = asyncio.Semaphore(32)

    async def one(chat: int) -> None:
        async with semaphore:
            await bot.send_message(chat, text, parse_mode="HTML", reply_markup=markup)

    started = time.perf_counter()
    for start in range(0, count, 1000):
        await asyncio.gather(*(one(FIRST_CHAT + n) for n in range(start, min(count, start + 1000))))
    elapsed = time.perf_counter() - started
    await bot.shutdown()
    return count / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=20_000)
    parser.add_argument("--database-url")
    parser.add_argument("--rate", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        settings = load_settings(database_url=url, feeds=["bench"], rate_limit=0, _env_file=None)
        services = Services.create(settings)
        await prepare(services, args.subscribers)
        rate, fan_out = await unlimited(services, args.subscribers)
        fraction, flood_errors = await limited(services, args.rate, args.seconds)
        raw = await raw_send_rate(services, args.subscribers)
        await services.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    backend = url.split(":", 1)[0]
    print(f"database: {backend}; subscribers: {args.subscribers}")
    print(f"fan-out INSERT … SELECT of {args.subscribers} alert rows: {fan_out * 1000:.0f} ms")
    print(f"(1) unlimited: {rate:.0f} alerts/s")
    print(
        f"(2) limited to {args.rate}/s for {args.seconds:g} s: {fraction:.3f} of the limit, "
        f"{flood_errors} flood errors (429)"
    )
    print(f"(3) peak RSS: {peak_mb:.0f} MB")
    print(f"(4) raw bot.send_message: {raw:.0f} messages/s; dispatcher at {rate / raw:.2f} of it")
    print(
        f"fanout: {rate:.0f} alerts/s unlimited; {fraction:.3f} of limit at {args.rate}/s; "
        f"{flood_errors} flood errors; {peak_mb:.0f} MB peak; {rate / raw:.2f} of raw send rate"
    )


if __name__ == "__main__":
    asyncio.run(main())
