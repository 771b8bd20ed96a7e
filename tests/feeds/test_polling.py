"""Polling: one job per feed, bounded fetches, cache hints and backoff arithmetic."""

from __future__ import annotations

import asyncio
import gzip
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address

import pytest
from apscheduler.events import EVENT_JOB_MAX_INSTANCES
from conftest import make_settings
from sqlalchemy import func, select
from support.feed_server import FeedServer, Response
from support.transport import RecordingBotApi

from psgbot import app as app_module
from psgbot.app import POLL_JOB_PREFIX, build_application, schedule_polls
from psgbot.db.models import Feed, Item
from psgbot.feeds.addresses import IPAddress
from psgbot.feeds.fetch import FetchError, FetchResult, fetch_source, http_client
from psgbot.feeds.ingest import FetchedFeed
from psgbot.feeds.parse import ParsedFeed
from psgbot.feeds.poll import MAX_BACKOFF, backoff_delay, next_interval, poll_source
from psgbot.services import Services, services_of


async def test_each_feed_is_polled_by_its_own_job_and_a_slow_poll_is_never_overlapped(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scheduler runs each feed's job; while a poll is still running, the feed's next run
    is skipped (not run beside it), and once it ends the feed is polled again."""
    sources = ["https://a.example/feed", "/tmp/b.xml"]
    settings = make_settings(database_url, feeds=sources, poll_interval=300)
    app = build_application(Services.create(settings), request=RecordingBotApi())
    running: Counter[str] = Counter()
    most: Counter[str] = Counter()
    started: list[str] = []
    release = asyncio.Event()

    async def slow_poll(services: Services, source: str, *, force: bool = True) -> None:
        running[source] += 1
        most[source] = max(most[source], running[source])
        started.append(source)
        try:
            await release.wait()
        finally:
            running[source] -= 1

    monkeypatch.setattr(app_module, "poll_source", slow_poll)
    skipped: list[str] = []
    await app.initialize()
    assert app.job_queue is not None
    scheduler = app.job_queue.scheduler
    app.job_queue.set_application(app)
    scheduler.add_listener(lambda event: skipped.append(event.job_id), EVENT_JOB_MAX_INSTANCES)
    scheduler.start()
    try:
        schedule_polls(app, services_of(app))
        jobs = app.job_queue.jobs()
        assert sorted(job.name or "" for job in jobs) == sorted(
            f"{POLL_JOB_PREFIX}{source}" for source in sources
        )

        def run_now() -> None:
            for job in jobs:
                job.job.modify(next_run_time=datetime.now(UTC))

        run_now()
        await until(lambda: sorted(started) == sorted(sources), "both first polls")
        run_now()  # both still running: these runs must be skipped, not overlap
        await until(lambda: len(skipped) == 2, "the second runs to be skipped")
        assert len(started) == 2
        release.set()
        await until(lambda: sum(running.values()) == 0, "the polls to end")
        run_now()
        await until(lambda: len(started) == 4, "the next polls once the first ended")
        assert most == Counter(dict.fromkeys(sources, 1)), "never two polls of a feed at once"
    finally:
        release.set()
        scheduler.shutdown(wait=False)
        await app.shutdown()
        await services_of(app).close()


async def until(condition: Callable[[], bool], what: str) -> None:
    """Waits for ``condition`` (a hang guard of 30 s, not a measure)."""
    for _tick in range(3000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def test_backoff_doubles_up_to_six_hours() -> None:
    assert [backoff_delay(n, 300).total_seconds() for n in (1, 2, 3, 4)] == [300, 600, 1200, 2400]
    assert backoff_delay(30, 300) == MAX_BACKOFF == timedelta(hours=6)


@pytest.mark.parametrize(
    ("interval", "max_age", "ttl", "expected"),
    [
        (300, None, None, 300),
        (300, 600, None, 600),
        (300, None, 20, 1200),
        (300, 7200, None, 3600),
        (600, 60, 1, 600),
        (7200, None, None, 7200),
    ],
)
def test_cache_hints_lengthen_up_to_an_hour(
    interval: int, max_age: int | None, ttl: int | None, expected: int
) -> None:
    fetched = FetchedFeed(
        "s",
        FetchResult(b"", max_age=max_age),
        ParsedFeed(title=None, ttl_seconds=ttl * 60 if ttl else None),
    )
    assert next_interval(interval, fetched) == timedelta(seconds=expected)


async def polled_error(services: Services, source: str) -> tuple[str | None, str | None, int]:
    """Polls ``source`` as the bot does: the poll's error, the feed's recorded error, the
    feed's stored items."""
    outcome = await poll_source(services, source, force=True)
    async with services.sessions() as session:
        feed = await session.scalar(select(Feed).where(Feed.source == source))
        assert feed is not None
        stored = await session.scalar(
            select(func.count()).select_from(Item).where(Item.feed_id == feed.id)
        )
    return outcome.error, feed.last_error, int(stored or 0)


async def test_gzip_bomb_is_cut_off_at_the_cap(services: Services, feed_server: FeedServer) -> None:
    bomb = gzip.compress(b"<" * (20 * 1024 * 1024))
    assert len(bomb) < 100_000
    feed_server.routes["/bomb"] = Response(
        bomb, 200, {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}
    )
    error, recorded, stored = await polled_error(services, feed_server.url("/bomb"))
    assert "larger than 5 MB" in (error or "")
    assert recorded == error
    assert stored == 0


async def test_redirect_loop_is_refused(services: Services, feed_server: FeedServer) -> None:
    feed_server.routes["/loop"] = Response(b"", 302, {"Location": "/loop"})
    error, recorded, stored = await polled_error(services, feed_server.url("/loop"))
    assert "more than 5 redirects" in (error or "")
    assert recorded == error
    assert stored == 0


async def test_slow_server_times_out(feed_server: FeedServer) -> None:
    import time

    def slow(handler: object) -> Response:
        time.sleep(1.0)
        return Response(b"late")

    feed_server.routes["/slow"] = slow
    async with http_client(timeout=0.2, allow_private=True) as client:
        with pytest.raises(FetchError, match="timed out"):
            await fetch_source(feed_server.url("/slow"), client)


async def test_feeds_go_through_the_configured_proxy(feed_server: FeedServer) -> None:
    # A proxy receives the absolute URL as the request path.
    feed_server.routes["http://feed.example.invalid/feed"] = Response(b"<rss version='2.0'/>")

    async def resolve(host: str, port: int) -> list[IPAddress]:
        # The bot still checks where a name leads, with its own resolver (no DNS in tests).
        assert host == "feed.example.invalid"
        return [ip_address("93.184.216.34")]

    async with http_client(proxy=feed_server.base_url, resolve=resolve) as client:
        result = await fetch_source("http://feed.example.invalid/feed", client)
    assert result.body == b"<rss version='2.0'/>"
