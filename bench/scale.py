"""Scale benchmark: one item to N subscribers, and an unchanged large feed re-polled.

    python bench/scale.py --subscribers N [--database-url URL] [--feed-items 10000]

Measures, through the real outbox and dispatcher on the in-process transport with no rate limit:
E, the seconds the fan-out INSERT … SELECT of N alert rows takes; C, the milliseconds one claim
of a dispatcher batch takes at the start, with every row pending; A, alerts sent per second
over the whole run; M, the process's peak memory; and U, the CPU milliseconds of re-polling a
feed of K items whose body has not changed, served over HTTP by a separate process.

The database must be fresh: a temporary SQLite file by default; for PostgreSQL pass the URL of
an empty database. The last line is the summary the issue asks for.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from common import CountingBotApi, add_subscribers, fan_out
from telegram.ext import ExtBot

from psgbot.alerts.dispatcher import Dispatcher
from psgbot.alerts.limits import FloodLimiter
from psgbot.app import OFFLINE_TOKEN, prepare_storage
from psgbot.config import load_settings
from psgbot.db.types import utcnow
from psgbot.feeds.poll import poll_source
from psgbot.outbox import claim_due, release_claims
from psgbot.services import Services

CLAIMS = 5


async def claim_time(services: Services, batch: int) -> float:
    """Milliseconds per claim of one batch with every row pending (claims given back after)."""
    lease = timedelta(seconds=60)
    timings = []
    for attempt in range(CLAIMS):
        async with services.sessions.begin() as session:
            started = time.perf_counter()
            # A batch as the dispatcher claims it; expired leases are taken over by a query
            # of their own, once per third of a lease.
            claimed = await claim_due(
                session, f"bench-{attempt}", batch, utcnow(), lease, take_over=False
            )
            timings.append(time.perf_counter() - started)
            assert len(claimed) == batch
    async with services.sessions.begin() as session:
        for attempt in range(CLAIMS):
            await release_claims(session, f"bench-{attempt}")
    return sum(timings) / len(timings) * 1000


async def dispatch(services: Services, subscribers: int) -> float:
    api = CountingBotApi()
    bot: ExtBot[Any] = ExtBot(
        OFFLINE_TOKEN, request=api, rate_limiter=FloodLimiter(overall_per_second=0)
    )
    await bot.initialize()
    dispatcher = Dispatcher(services, bot)
    started = time.perf_counter()
    await dispatcher.drain()
    elapsed = time.perf_counter() - started
    await bot.shutdown()
    assert api.sent == subscribers, (api.sent, subscribers)
    return subscribers / elapsed


def big_feed(items: int) -> bytes:
    """An RSS feed of ``items`` PSG-like items, newest first."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    parts = ['<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>']
    parts.append("<title>PSG news</title><link>https://perusupportgroup.org.uk/</link>")
    for number in range(items):
        published = format_datetime(start - timedelta(hours=number))
        parts.append(
            f"<item><title>Congress debates mining concession {number}</title>"
            f"<guid>psg-{number}</guid><link>https://perusupportgroup.org.uk/n/{number}</link>"
            f"<pubDate>{published}</pubDate><description>Communities in Cusco protest the "
            f"concession; the ombudsman calls for dialogue ({number}).</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


STALLS = [0.0]


async def loop_stalls(step: float = 0.01) -> None:
    """Notes in STALLS the longest the event loop kept a 10 ms sleep waiting past its time."""
    while True:
        started = time.perf_counter()
        await asyncio.sleep(step)
        STALLS[0] = max(STALLS[0], time.perf_counter() - started - step)


async def repoll(url: str, folder: Path, items: int) -> float:
    """CPU milliseconds of polling an unchanged feed of ``items`` items a second time."""
    (folder / "feed.xml").write_bytes(big_feed(items))
    server = subprocess.Popen(  # noqa: ASYNC220 (started once, before any measuring)
        [sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1"],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = server.stdout.readline().split("port ")[1].split()[0]
        feed_url = f"http://127.0.0.1:{port}/feed.xml"
        settings = load_settings(
            database_url=url, feeds=[feed_url], feeds_allow_private=True, _env_file=None
        )
        services = Services.create(settings)
        gc.freeze()  # as the bot does once started (psgbot.app.on_start)
        probe = asyncio.create_task(loop_stalls())
        first = await poll_source(services, feed_url)
        probe.cancel()
        await asyncio.gather(probe, return_exceptions=True)
        assert first.new == items, first
        print(
            f"first poll of {items} items: the event loop stalled {STALLS[0] * 1000:.0f} ms at most"
        )
        started = time.process_time()
        again = await poll_source(services, feed_url)
        cpu = time.process_time() - started
        assert again.error is None, again
        assert again.new == 0, again
        await services.close()
    finally:
        server.terminate()
        server.wait()
    return cpu * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--database-url")
    parser.add_argument("--feed-items", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        url = args.database_url or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        settings = load_settings(database_url=url, feeds=["bench"], rate_limit=0, _env_file=None)
        services = Services.create(settings)
        await prepare_storage(services)
        started = time.perf_counter()
        await add_subscribers(services, args.subscribers)
        print(f"{args.subscribers} subscribers written in {time.perf_counter() - started:.1f} s")
        enqueue_s = await fan_out(services, "scale")
        batch = Dispatcher(services, ExtBot(OFFLINE_TOKEN, request=CountingBotApi())).batch_size
        claim_ms = await claim_time(services, batch)
        print(f"enqueue {enqueue_s:.2f} s; claim of {batch}: {claim_ms:.1f} ms")
        rate = await dispatch(services, args.subscribers)
        await services.close()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{rate:.0f} alerts/s; {peak_mb:.0f} MB peak so far")
        repoll_ms = await repoll(url, folder, args.feed_items)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"scale: {args.subscribers} subscribers; enqueue {enqueue_s:.2f} s; {rate:.0f} alerts/s; "
        f"claim {claim_ms:.1f} ms per batch; {peak_mb:.0f} MB peak; "
        f"unchanged {args.feed_items}-item feed re-polled in {repoll_ms:.0f} ms CPU"
    )


if __name__ == "__main__":
    asyncio.run(main())
