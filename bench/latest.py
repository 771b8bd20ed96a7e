"""/latest by topic at archive scale: the time to read one topic's newest items.

    python bench/latest.py [--items 100000] [--database-url URL]

Stores --items items (a common topic on 40% of them, a rare one on 0.5%, and one found only
in the oldest 1%), then reads the 5 newest of each topic, and of all news, 1,000 times each
through the same query /latest uses (after 20 unmeasured reads), and prints the 99th
percentile. The database must be fresh: a temporary SQLite file by default; for PostgreSQL the
URL of an empty database.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

from psgbot.app import prepare_storage
from psgbot.config import load_settings
from psgbot.db.models import Feed, Item, ItemTopic
from psgbot.news import latest_items
from psgbot.services import Services

CHUNK = 10_000
READS = 1000
WARM_UP = 20


def topics_of(number: int, items: int, rng: random.Random) -> list[str]:
    tags = []
    if rng.random() < 0.4:
        tags.append("politics")
    if rng.random() < 0.005:
        tags.append("indigenous")
    if number < items // 100:
        tags.append("health")  # only among the oldest items
    if rng.random() < 0.2:
        tags.append("justice")
    return tags


async def store(services: Services, items: int) -> None:
    rng = random.Random(20261130)
    start = datetime(2004, 1, 1, tzinfo=UTC)
    async with services.sessions.begin() as session:
        session.add(Feed(id=1, source="bench"))
    for first in range(0, items, CHUNK):
        numbers = range(first, min(items, first + CHUNK))
        moments = {n: start + timedelta(hours=n) for n in numbers}
        async with services.sessions.begin() as session:
            await session.execute(
                insert(Item),
                [
                    {"id": n + 1, "feed_id": 1, "key": f"k{n}", "title": f"Item {n}"}
                    | {"summary": "", "first_seen_at": moments[n], "sort_at": moments[n]}
                    | {"updated_at": moments[n]}
                    for n in numbers
                ],
            )
            await session.execute(
                insert(ItemTopic),
                [
                    {"item_id": n + 1, "topic": topic, "sort_at": moments[n]}
                    for n in numbers
                    for topic in topics_of(n, items, rng)
                ],
            )


async def p99_ms(services: Services, topic: str | None) -> float:
    for _warm_up in range(WARM_UP):  # statement caches filled, as in a bot that has run a while
        async with services.reads() as session:
            await latest_items(session, limit=5, topic=topic)
    timings = []
    for _read in range(READS):
        async with services.reads() as session:
            started = time.perf_counter()
            found = await latest_items(session, limit=5, topic=topic)
            timings.append(time.perf_counter() - started)
        assert found, topic
    return statistics.quantiles(timings, n=100)[98] * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        services = Services.create(load_settings(database_url=url, _env_file=None))
        await prepare_storage(services)
        await store(services, args.items)
        async with services.sessions.begin() as session:
            await session.execute(text("ANALYZE"))  # as autovacuum would after a bulk load
        gc.freeze()  # as the bot does once started (psgbot.app.on_start)
        figures = {
            name: await p99_ms(services, topic)
            for name, topic in (
                ("common", "politics"),
                ("rare", "indigenous"),
                ("old", "health"),
                ("all news", None),
            )
        }
        await services.close()
    for name, figure in figures.items():
        print(f"{name}: p99 {figure:.2f} ms")
    worst = max(figures.values())
    backend = url.split(":", 1)[0]
    print(
        f"latest: p99 {worst:.2f} ms by topic at {args.items} items "
        f"({backend}; the worst of common, rare, old and all news)"
    )


if __name__ == "__main__":
    asyncio.run(main())
