"""Polling: one job per feed, bounded fetches, cache hints and backoff arithmetic."""

from __future__ import annotations

import gzip
from datetime import timedelta
from ipaddress import ip_address

import pytest
from conftest import make_settings
from support.feed_server import FeedServer, Response
from support.transport import RecordingBotApi

from psgbot.app import POLL_JOB_PREFIX, build_application, schedule_polls
from psgbot.feeds.addresses import IPAddress
from psgbot.feeds.fetch import FetchError, FetchResult, fetch_source, http_client
from psgbot.feeds.ingest import FetchedFeed
from psgbot.feeds.parse import ParsedFeed
from psgbot.feeds.poll import MAX_BACKOFF, backoff_delay, next_interval
from psgbot.services import Services


async def test_one_job_per_feed_never_overlapping(sqlite_url: str) -> None:
    settings = make_settings(
        sqlite_url, feeds=["https://a.example/feed", "/tmp/b.xml"], poll_interval=300
    )
    app = build_application(Services.create(settings), request=RecordingBotApi())
    await app.initialize()
    assert app.job_queue is not None
    app.job_queue.set_application(app)
    app.job_queue.scheduler.start(paused=True)
    try:
        schedule_polls(app, app.bot_data["services"])
        jobs = app.job_queue.jobs()
        assert sorted(job.name or "" for job in jobs) == [
            f"{POLL_JOB_PREFIX}/tmp/b.xml",
            f"{POLL_JOB_PREFIX}https://a.example/feed",
        ]
        for job in jobs:
            trigger = job.job.trigger
            assert trigger.interval == timedelta(seconds=300)
            assert trigger.jitter == 30
            assert job.job.max_instances == 1
    finally:
        app.job_queue.scheduler.shutdown(wait=False)
        await app.shutdown()
        await app.bot_data["services"].close()


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


async def test_gzip_bomb_is_cut_off_at_the_cap(feed_server: FeedServer) -> None:
    bomb = gzip.compress(b"<" * (20 * 1024 * 1024))
    assert len(bomb) < 100_000
    feed_server.routes["/bomb"] = Response(
        bomb, 200, {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}
    )
    async with http_client(allow_private=True) as client:
        with pytest.raises(FetchError, match="larger than 5 MB"):
            await fetch_source(feed_server.url("/bomb"), client)


async def test_redirect_loop_is_refused(feed_server: FeedServer) -> None:
    feed_server.routes["/loop"] = Response(b"", 302, {"Location": "/loop"})
    async with http_client(allow_private=True) as client:
        with pytest.raises(FetchError, match="more than 5 redirects"):
            await fetch_source(feed_server.url("/loop"), client)


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
