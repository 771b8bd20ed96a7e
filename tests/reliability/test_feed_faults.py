"""Every way a feed can be broken, polled together: no crash, bounded memory, a clear status per
feed, the good feeds unaffected and valid items kept."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gzip
import resource
import socket
import threading
import types
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import anyio
import pytest
from conftest import make_settings
from sqlalchemy import func, select
from support.feed_server import FeedServer, Response
from support.feeds import FeedItem, recent, rss

from psgbot.app import prepare_storage
from psgbot.db.models import Feed, Item
from psgbot.feeds import fetch, ingest
from psgbot.feeds.fetch import FetchResult
from psgbot.feeds.poll import poll_all
from psgbot.services import Services

pytestmark = pytest.mark.reliability

GOOD = rss([FeedItem("good-1", "Court ruling", "ok", "https://n.example/g1", recent())])


HANGING = {"/drip": threading.Event(), "/slow": threading.Event()}  # set once requested
HUNG_UP = threading.Event()  # set when the test is over: the hanging answers stop


def drip(handler: BaseHTTPRequestHandler) -> Response:
    """Headers at once, then a byte now and then: only the whole fetch's deadline cuts it."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    HANGING["/drip"].set()
    while not HUNG_UP.wait(0.5):
        handler.wfile.write(b"<")
        handler.wfile.flush()
    raise ConnectionAbortedError


def slow(handler: BaseHTTPRequestHandler) -> Response:
    """No answer at all until the test is over."""
    HANGING["/slow"].set()
    HUNG_UP.wait(60)
    return Response(GOOD)


def with_fail_after(fail_after: Callable[[float], Any]) -> Any:
    """The anyio module as psgbot.feeds.fetch sees it, with ``fail_after`` replaced."""
    proxy = types.SimpleNamespace(**{name: getattr(anyio, name) for name in dir(anyio)})
    proxy.fail_after = fail_after
    return proxy


class VirtualDeadlines:
    """Stands in for ``anyio.fail_after`` in psgbot.feeds.fetch: each fetch's deadline is a
    cancel scope the test expires by source (the clock moved past it), not a real wait."""

    def __init__(self) -> None:
        self.source: contextvars.ContextVar[str] = contextvars.ContextVar("source")
        self.scopes: dict[str, anyio.CancelScope] = {}
        self.asked: set[float] = set()

    @contextlib.contextmanager
    def fail_after(self, seconds: float) -> Iterator[anyio.CancelScope]:
        self.asked.add(seconds)
        with anyio.CancelScope() as scope:
            self.scopes[self.source.get()] = scope
            yield scope
        if scope.cancelled_caught:
            raise TimeoutError

    def tracking(self, fetch: Callable[..., Awaitable[FetchResult]]) -> Any:
        async def fetch_source(source: str, *args: Any, **kwargs: Any) -> FetchResult:
            self.source.set(source)
            return await fetch(source, *args, **kwargs)

        return fetch_source

    def expire(self, source: str) -> None:
        self.scopes[source].cancel()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def big_feed(count: int) -> bytes:
    return rss(
        [
            FeedItem(
                f"big-{n}",
                f"Item number {n} about mining",
                "summary " * 20,
                f"https://n.example/big/{n}",
                recent(hours=n % 48),
            )
            for n in range(count)
        ]
    )


# Declared UTF-8, actually Latin-1.
WRONG_CHARSET = (
    "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><item>"
    "<title>Corrupción en el Poder Judicial</title><guid>cs-1</guid></item></channel></rss>"
).encode("latin-1")

SCENARIOS: dict[str, Response] = {
    "/good": Response(GOOD),
    "/404": Response(b"no", 404, {"Content-Type": "text/plain"}),
    "/410": Response(b"gone", 410, {"Content-Type": "text/plain"}),
    "/500": Response(b"oops", 500, {"Content-Type": "text/plain"}),
    "/too-big": Response(b"x" * (6 * 1024 * 1024)),
    "/gzip-bomb": Response(
        gzip.compress(b"<" * (50 * 1024 * 1024)),
        200,
        {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"},
    ),
    "/loop": Response(b"", 302, {"Location": "/loop"}),
    "/html": Response(
        b"<!doctype html><html><body><h1>Welcome</h1></body></html>",
        200,
        {"Content-Type": "text/html"},
    ),
    "/garbage": Response(bytes(range(256)) * 50, 200, {"Content-Type": "application/octet-stream"}),
    "/invalid-xml": Response(
        b"<rss version='2.0'><channel><item><title>Broken <b>tag</title><guid>inv-1</guid></item>",
        200,
    ),
    "/wrong-charset": Response(
        WRONG_CHARSET, 200, {"Content-Type": "application/rss+xml; charset=utf-8"}
    ),
    "/no-charset": Response(
        "<rss version='2.0'><channel><item><title>Minería ilegal</title><guid>nc-1</guid>"
        "</item></channel></rss>".encode(),
        200,
        {"Content-Type": "application/xml"},
    ),
    "/sparse": Response(
        rss(
            [
                FeedItem("", "", "Only a summary about the Congress"),
                FeedItem("sp-2", "No link or date"),
                FeedItem("", "No guid", link="https://n.example/sp3"),
            ]
        )
    ),
    "/duplicates": Response(rss([FeedItem("dup", "Same item")] * 5)),
    "/huge": Response(big_feed(10_000)),
    "/drip": drip,  # type: ignore[dict-item]
    "/slow": slow,  # type: ignore[dict-item]
}


async def test_broken_feeds_fail_alone_and_valid_items_are_kept(
    feed_server: FeedServer, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed_server.routes.update(SCENARIOS)
    sources = [feed_server.url(path) for path in SCENARIOS]
    refused = f"http://127.0.0.1:{closed_port()}/feed"
    sources.append(refused)
    settings = make_settings(database_url, feeds=sources, admins=[999])
    services = Services.create(settings)
    deadlines = VirtualDeadlines()
    monkeypatch.setattr(fetch, "anyio", with_fail_after(deadlines.fail_after))
    monkeypatch.setattr(ingest, "fetch_source", deadlines.tracking(fetch.fetch_source))
    for requested in HANGING.values():
        requested.clear()
    HUNG_UP.clear()
    await prepare_storage(services)
    memory_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    polling = asyncio.create_task(poll_all(services))
    try:
        for path, requested in HANGING.items():
            assert await asyncio.to_thread(requested.wait, 60), f"{path} was never fetched"
            deadlines.expire(feed_server.url(path))  # its deadline has passed
        polled = await polling
    finally:
        HUNG_UP.set()
    assert deadlines.asked == {services.fetch_deadline}
    outcomes = {outcome.source.removeprefix(feed_server.base_url): outcome for outcome in polled}
    memory_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - memory_before) / 1024
    failing = {path: outcome.error for path, outcome in outcomes.items() if outcome.error}
    expected_failures = {
        "/404": "HTTP 404",
        "/410": "HTTP 410",
        "/500": "HTTP 500",
        "/too-big": "larger than 5 MB",
        "/gzip-bomb": "larger than 5 MB",
        "/loop": "redirects",
        "/html": "not an RSS or Atom feed",
        "/garbage": "not an RSS or Atom feed",
        "/drip": "timed out",
        "/slow": "timed out",
        refused: "cannot read",
    }
    for path, fragment in expected_failures.items():
        assert fragment in (failing.get(path) or ""), (path, failing.get(path))
    assert set(failing) == set(expected_failures)
    stored = {
        path: outcomes[path].new
        for path in (
            "/good",
            "/invalid-xml",
            "/wrong-charset",
            "/no-charset",
            "/sparse",
            "/duplicates",
            "/huge",
        )
    }
    assert stored == {
        "/good": 1,
        "/invalid-xml": 1,
        "/wrong-charset": 1,
        "/no-charset": 1,
        "/sparse": 3,
        "/duplicates": 1,
        "/huge": 10_000,
    }
    async with services.sessions() as session:
        feeds = {feed.source: feed for feed in await session.scalars(select(Feed))}
        total = await session.scalar(select(func.count()).select_from(Item))
    assert total == sum(stored.values())
    assert feeds[feed_server.url("/410")].disabled
    assert feeds[feed_server.url("/500")].failures == 1
    assert feeds[feed_server.url("/good")].failures == 0
    again = {o.source: o for o in await poll_all(services, force=True)}
    assert again[feed_server.url("/410")].skipped
    assert again[feed_server.url("/good")].new == 0
    print(
        f"feed faults: {len(sources)} feeds tried, {len(failing)} failed cleanly, "
        f"{total} valid items stored, peak memory growth {memory_growth_mb:.0f} MB"
    )
    assert memory_growth_mb < 300
    await services.close()
