"""Re-polling costs little: a body seen before is hashed and not parsed; stored items are
compared without their topics, and only new or changed items are classified."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import make_settings
from sqlalchemy import func, select
from support.feed_server import FeedServer, Response
from support.feeds import FeedItem, recent, rss, titles_classified

from psgbot.app import prepare_storage
from psgbot.db.models import Feed, Item
from psgbot.feeds import ingest, offload
from psgbot.feeds.parse import parse_feed
from psgbot.feeds.poll import poll_source
from psgbot.services import Services

ITEMS = [
    FeedItem(f"g{n}", f"Court ruling {n} on the pardon", "Justice.", None, recent(n + 1))
    for n in range(30)
]


@pytest.fixture
async def polling(database_url: str, feed_server: FeedServer) -> Any:
    feed_server.routes["/feed"] = Response(rss(ITEMS))  # no ETag, no Last-Modified
    services = Services.create(make_settings(database_url, feeds=[feed_server.url("/feed")]))
    await prepare_storage(services)
    yield services, feed_server.url("/feed"), feed_server
    await services.close()


class Counting:
    """Counts calls to a wrapped function."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped, self.calls = wrapped, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.wrapped(*args, **kwargs)


async def test_an_unchanged_body_is_not_parsed(
    polling: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    services, url, server = polling
    parse = Counting(parse_feed)
    monkeypatch.setattr(offload, "parse_feed", parse)  # a small body parses in a thread
    first = await poll_source(services, url)
    assert first.new == 30
    assert parse.calls == 1
    again = await poll_source(services, url)
    assert again.not_modified
    assert again.error is None
    assert parse.calls == 1, "the same body was parsed again"
    body = rss([FeedItem("g-new", "Mining protest", "", None), *ITEMS])
    server.routes["/feed"] = Response(body)
    changed = await poll_source(services, url)
    assert parse.calls == 2
    assert changed.new == 1
    async with services.reads() as session:
        assert await session.scalar(select(func.count()).select_from(Item)) == 31
        feed = await session.scalar(select(Feed))
        assert feed is not None
        assert feed.body_hash == ingest.body_hash(body)


async def test_only_new_or_changed_items_are_classified(
    polling: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    services, url, server = polling
    await poll_source(services, url)
    classified = titles_classified(monkeypatch)
    edited = [FeedItem("g0", "Court ruling 0 on the pardon, updated", "Mining.", None, recent(1))]
    server.routes["/feed"] = Response(
        rss([FeedItem("g-new", "Mining protest", "", None), *edited, *ITEMS[1:]])
    )
    outcome = await poll_source(services, url)
    assert outcome.new == 1
    assert outcome.updated == 1
    assert sorted(classified) == ["Court ruling 0 on the pardon, updated", "Mining protest"]
    async with services.reads() as session:
        item = await session.scalar(select(Item).where(Item.key == "guid:g0"))
        assert item is not None
        assert "extractives" in item.topic_slugs
