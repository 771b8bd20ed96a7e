"""A hostile item or header cannot stop a feed: values are bounded to their columns when read, and
any failure while polling is recorded on the feed (backoff, one notice, a /feeds line).

Run on SQLite and PostgreSQL: PostgreSQL is the one that refuses a value longer than its column.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from conftest import make_settings
from sqlalchemy import select
from support.feed_server import FeedServer, Response
from support.feeds import ADMIN, FeedItem, recent, rss
from support.harness import BotHarness

from psgbot.config import Settings
from psgbot.db.models import Delivery, Feed, Item
from psgbot.feeds import poll
from psgbot.feeds.poll import backoff_delay, poll_source
from psgbot.feeds.store import store_items

LONG_LINK = "https://n.example/" + "a" * 2_001
LONG_GUID = "urn:hostile:" + "g" * 2_001
GOOD = [
    FeedItem("good-1", "Court annuls the pardon", "ok", "https://n.example/1", recent(1)),
    FeedItem("good-2", "Mining protest in Cajamarca", "ok", "https://n.example/2", recent(2)),
]
HOSTILE = [
    FeedItem("long-link", "An item with a very long link", "ok", LONG_LINK, recent(3)),
    FeedItem(LONG_GUID, "An item with a very long guid", "ok", "https://n.example/3", recent(4)),
    FeedItem("nul-\x00-guid", "A title with a NUL \x00 in it", "ok", "https://n.example/4"),
]
LONG_TITLE = b"<title>" + b"T" * 600 + b"</title>"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, admins=[ADMIN])


async def items_by_title(bot: BotHarness, source: str) -> dict[str, Item]:
    async with bot.services.sessions() as session:
        rows = await session.scalars(select(Item).join(Feed).where(Feed.source == source))
        return {item.title: item for item in rows}


async def feed_row(bot: BotHarness, source: str) -> Feed:
    async with bot.services.sessions() as session:
        feed = await session.scalar(select(Feed).where(Feed.source == source))
    assert feed is not None
    return feed


async def test_hostile_items_and_headers_are_bounded_and_good_items_stored(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    body = rss(GOOD + HOSTILE).replace(b"<title>Test feed</title>", LONG_TITLE, 1)
    feed_server.routes["/feed"] = Response(
        body,
        headers={
            "Content-Type": "application/rss+xml",
            "ETag": '"' + "e" * 600 + '"',
            "Last-Modified": "Sat, 01 Jan 2000 00:00:00 GMT; " + "x" * 100,
        },
    )
    url = feed_server.url("/feed")

    outcome = await poll_source(bot.services, url)

    assert outcome.error is None
    assert outcome.new == 5
    items = await items_by_title(bot, url)
    assert items["An item with a very long link"].link is None
    long_guid = items["An item with a very long guid"]
    assert long_guid.guid == "sha256:" + hashlib.sha256(LONG_GUID.encode()).hexdigest()
    assert long_guid.link == "https://n.example/3"
    assert items["A title with a NUL  in it"].guid == "nul--guid"
    assert {items[item.title].link for item in GOOD} == {item.link for item in GOOD}
    feed = await feed_row(bot, url)
    assert feed.failures == 0
    assert feed.etag is None
    assert feed.last_modified is None
    assert feed.title is not None
    assert len(feed.title) <= 500

    again = await poll_source(bot.services, url)
    assert again.error is None, "bounded items keep their identity"
    assert again.new == 0, "bounded items keep their identity"
    _path, headers = feed_server.requests[-1]
    assert "If-None-Match" not in headers
    assert "If-Modified-Since" not in headers


async def test_validators_that_fit_are_still_sent(bot: BotHarness, feed_server: FeedServer) -> None:
    feed_server.routes["/feed"] = Response(
        rss(GOOD),
        headers={"Content-Type": "application/rss+xml", "ETag": '"v1"', "Last-Modified": "x"},
    )
    url = feed_server.url("/feed")
    await poll_source(bot.services, url)
    await poll_source(bot.services, url)
    _path, headers = feed_server.requests[-1]
    assert headers["If-None-Match"] == '"v1"'
    assert headers["If-Modified-Since"] == "x"


async def test_any_exception_while_polling_is_a_recorded_feed_failure(
    bot: BotHarness, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed_server.routes["/feed"] = Response(rss(GOOD))
    url = feed_server.url("/feed")
    real_store_items = store_items

    async def crashing_store(*args: object, **kwargs: object) -> object:
        await real_store_items(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(poll, "store_items", crashing_store)
    await bot.deliver()  # the sample feed's own notices, if any, out of the way

    outcome = await poll_source(bot.services, url)

    assert outcome.error is not None
    assert "RuntimeError" in outcome.error
    feed = await feed_row(bot, url)
    assert feed.failures == 1
    assert "the disk is on fire" in (feed.last_error or "")
    assert feed.last_error_at is not None
    assert feed.next_poll_at is not None
    assert feed.next_poll_at - feed.last_error_at == backoff_delay(1, 3600)
    assert await items_by_title(bot, url) == {}, "the failed transaction was rolled back"
    (notice,) = await bot.deliver()
    assert notice.chat_id == ADMIN
    assert "is failing" in (notice.text or "")
    assert "RuntimeError" in (notice.text or "")
    (listing,) = await bot.reply_texts("/feeds", chat_id=ADMIN)
    assert "Failed once; last error" in listing
    assert "the disk is on fire" in listing

    await poll_source(bot.services, url)
    feed = await feed_row(bot, url)
    assert feed.failures == 2
    assert feed.next_poll_at is not None
    assert feed.last_error_at is not None
    assert feed.next_poll_at - feed.last_error_at == timedelta(seconds=2 * 3600)
    assert await bot.deliver() == [], "admins are told once"

    monkeypatch.setattr(poll, "store_items", real_store_items)
    recovered = await poll_source(bot.services, url)
    assert recovered.error is None
    assert recovered.new == len(GOOD)
    (notice,) = await bot.deliver()
    assert "recovered" in (notice.text or "")
    async with bot.services.sessions() as session:
        notices = await session.scalars(select(Delivery).where(Delivery.chat_id == ADMIN))
        assert len(list(notices)) == 2
