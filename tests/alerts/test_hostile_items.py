"""One hostile item cannot stop its feed, nor the bot: a megabyte of words, a date in year 1 or
9999, a date no time zone can show. Its feed's other items are stored, alerted and searchable.

On SQLite and PostgreSQL: PostgreSQL is the one whose search index refuses a huge text.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from support.feed_server import FeedServer, Response
from support.feeds import FeedItem, recent, rss
from support.harness import BotHarness

from psgbot.alerts import alert_sends
from psgbot.db.models import Delivery, Feed, Item
from psgbot.feeds.duplicates import earlier_copies, title_key
from psgbot.feeds.parse import SUMMARY_MAX
from psgbot.feeds.poll import poll_source
from psgbot.outbox import enqueue_alerts
from psgbot.render.news import alert_message
from psgbot.search import index_items

NORMAL = FeedItem(
    "normal-1",
    "Court annuls the pardon",
    "The Supreme Court ruled on Tuesday.",
    "https://n.example/normal-1",
    recent(1),
)
# About 1.3 MB of distinct words: more than PostgreSQL's 1 MB tsvector holds.
HUGE_SUMMARY = " ".join(f"w{number:08d}" for number in range(130_000))
HUGE = FeedItem(
    "huge-1", "A report with a huge summary", HUGE_SUMMARY, "https://n.example/huge-1", recent(2)
)
FAR_FUTURE = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)


async def stored(bot: BotHarness, guid: str) -> Item:
    async with bot.services.sessions() as session:
        item = await session.scalar(select(Item).where(Item.guid == guid))
    assert item is not None
    return item


async def test_a_huge_summary_is_bounded_and_the_feed_goes_on(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await bot.send("/subscribe all", chat_id=1)
    feed_server.routes["/feed"] = Response(rss([NORMAL, HUGE]))

    outcome = await poll_source(bot.services, feed_server.url("/feed"))

    assert outcome.error is None
    assert outcome.new == 2
    huge = await stored(bot, "huge-1")
    assert len(huge.summary) <= SUMMARY_MAX
    assert huge.summary.startswith("w00000000 w00000001")
    assert huge.summary.endswith("…")
    assert " " not in huge.summary[-2:], "cut at a word's end"
    alerts = [call.text or "" for call in await bot.deliver() if call.chat_id == 1]
    assert any("Court annuls the pardon" in text for text in alerts)
    (found,) = await bot.reply_texts("/search supreme court", chat_id=1)
    assert "Court annuls the pardon" in found
    (found,) = await bot.reply_texts("/search w00000002", chat_id=1)
    assert "A report with a huge summary" in found


def atom(entries: list[tuple[str, str, str | None]]) -> bytes:
    """An Atom feed of (id, title, updated) entries."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">',
        "<title>Test feed</title><id>urn:test</id><updated>2024-01-01T00:00:00Z</updated>",
    ]
    for guid, title, updated in entries:
        parts.append(f"<entry><id>{guid}</id><title>{title}</title>")
        parts.append(f'<link href="https://n.example/{guid}"/>')
        if updated:
            parts.append(f"<updated>{updated}</updated>")
        parts.append("<summary>Text.</summary></entry>")
    parts.append("</feed>")
    return "".join(parts).encode()


def rss_dated(entries: list[tuple[str, str, str | None]]) -> bytes:
    """An RSS feed of (guid, title, pubDate) items, dates written as given."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>']
    parts.append("<title>Test feed</title><link>https://feed.example/</link>")
    for guid, title, published in entries:
        parts.append(f"<item><guid>{guid}</guid><title>{title}</title>")
        parts.append(f"<link>https://n.example/{guid}</link>")
        if published:
            parts.append(f"<pubDate>{published}</pubDate>")
        parts.append("<description>Text.</description></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


@pytest.mark.parametrize("kind", ["atom", "rss"])
async def test_dates_in_year_1_and_9999_are_unknown_and_the_feed_stays_healthy(
    bot: BotHarness, feed_server: FeedServer, kind: str
) -> None:
    now = datetime.now(UTC)
    if kind == "atom":
        write, dates = atom, ["0001-01-03T00:00:00Z", "9999-12-31T23:59:59Z", now.isoformat()]
    else:
        write = rss_dated
        dates = [
            "Mon, 03 Jan 0001 00:00:00 GMT",
            "Fri, 31 Dec 9999 23:59:59 GMT",
            now.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        ]
    entries: list[tuple[str, str, str | None]] = [
        ("ancient", "A report from year one", dates[0]),
        ("future", "A report from the far future", dates[1]),
        ("normal", "Court annuls the pardon", dates[2]),
    ]
    await bot.send("/subscribe all", chat_id=1)
    url = feed_server.url("/dated")
    feed_server.routes["/dated"] = Response(write([]))
    await poll_source(bot.services, url)  # the feed's first poll alerts nothing
    feed_server.routes["/dated"] = Response(write(entries))

    outcome = await poll_source(bot.services, url)

    assert outcome.error is None
    assert outcome.new == 3
    async with bot.services.sessions() as session:
        feed = await session.scalar(select(Feed).where(Feed.source == url))
        items = {item.guid: item for item in await session.scalars(select(Item))}
    assert feed is not None
    assert feed.failures == 0
    for guid in ("ancient", "future"):
        assert items[guid].published_at is None, "an unbelievable date is unknown"
        assert items[guid].sort_at == items[guid].first_seen_at, "it sorts by first sight"
    assert items["normal"].published_at is not None
    alerted = " ".join(call.text or "" for call in await bot.deliver())
    assert "Court annuls the pardon" in alerted
    assert "9999" not in alerted

    # The next new item leads /latest: the future one is not first for ever.
    feed_server.routes["/dated"] = Response(write([("next", "Mining protest in Cajamarca", None)]))
    assert (await poll_source(bot.services, url)).new == 1
    (latest,) = await bot.reply_texts("/latest", chat_id=1)
    assert latest.index("Mining protest in Cajamarca") < latest.index("far future")


async def store_directly(
    bot: BotHarness, guid: str, title: str, published: datetime, summary: str = "Text."
) -> int:
    """An item as an older version, or another program, may have stored it: unchecked."""
    async with bot.services.sessions.begin() as session:
        feed = await session.scalar(select(Feed).limit(1))
        assert feed is not None
        item = Item(
            feed_id=feed.id,
            key=f"guid:{guid}",
            guid=guid,
            title=title,
            summary=summary,
            published_at=published,
            sort_at=published,
            title_key=title_key(title),
        )
        session.add(item)
        await session.flush()
        await index_items(session, [(item.id, item.title, item.summary)])
        return item.id


async def test_a_huge_stored_text_is_indexed_from_its_start(bot: BotHarness) -> None:
    """Search indexes the first words of whatever is stored (items stored before the parse
    bound, say), within PostgreSQL's 1 MB tsvector."""
    await store_directly(bot, "stored-huge", "An older huge report", recent(1), HUGE_SUMMARY)

    (found,) = await bot.reply_texts("/search w00000002", chat_id=1)
    (beyond,) = await bot.reply_texts("/search w00129999", chat_id=1)

    assert "An older huge report" in found
    assert "Nothing in the archive matches" in beyond


async def test_the_duplicate_window_holds_dates_near_year_1_and_9999(bot: BotHarness) -> None:
    ancient = datetime(1, 1, 3, tzinfo=UTC)
    await store_directly(bot, "ancient", "A report from year one", ancient)
    async with bot.services.sessions() as session:
        originals = await earlier_copies(
            session, [("a report from year one", ancient), ("a report from the future", FAR_FUTURE)]
        )
    assert originals[1] is None
    assert originals[0] is not None


async def test_a_date_no_zone_can_show_is_shown_in_utc(bot: BotHarness) -> None:
    await bot.send("/timezone Asia/Tokyo", chat_id=1)
    await store_directly(bot, "far", "Tribunal rules on Conga", FAR_FUTURE)

    (latest,) = await bot.reply_texts("/latest", chat_id=1)
    (found,) = await bot.reply_texts("/search conga", chat_id=1)
    (elsewhere,) = await bot.reply_texts("/latest", chat_id=2)

    for text in (latest, found, elsewhere):
        assert "Tribunal rules on Conga" in text
        assert "31 December 9999" in text
        assert "Sorry" not in text


async def test_a_chat_whose_alert_cannot_be_rendered_does_not_hold_up_the_others(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The failure is injected where rendering happens: since long_date's fallback, no stored
    value makes an alert unrenderable, but the next bug in render/ must not stop the batch."""
    for chat_id in (1, 2, 3):
        await bot.send("/subscribe all", chat_id=chat_id)
    await bot.send("/timezone Asia/Tokyo", chat_id=2)

    def failing_in_tokyo(*args: object, **kwargs: object) -> str:
        item, taxonomy, zone, topic = args
        if zone.key == "Asia/Tokyo":  # type: ignore[attr-defined]
            raise OverflowError("date value out of range: Tribunal rules on Conga")
        return alert_message(item, taxonomy, zone, topic)  # type: ignore[arg-type]

    monkeypatch.setattr(alert_sends, "alert_message", failing_in_tokyo)
    item_id = await store_directly(bot, "far", "Tribunal rules on Conga", FAR_FUTURE)
    async with bot.services.sessions.begin() as session:
        assert await enqueue_alerts(session, [item_id], datetime.now(UTC)) == 3
    bot.api.clear()

    with caplog.at_level(logging.ERROR, logger="psgbot.alerts.alert_sends"):
        calls = await bot.deliver()

    assert sorted(int(call.chat_id or 0) for call in calls) == [1, 3]
    async with bot.services.sessions() as session:
        rows = {
            row.chat_id: row
            for row in await session.scalars(select(Delivery).where(Delivery.item_id == item_id))
        }
    assert {chat_id: row.status for chat_id, row in rows.items()} == {
        1: "sent",
        2: "failed",
        3: "sent",
    }
    assert rows[2].error == "not rendered: OverflowError"
    assert rows[2].claimed_by is None
    assert "could not be rendered (OverflowError)" in caplog.text
    assert "Conga" not in caplog.text, "the log names no item text"
    assert await bot.deliver() == [], "the failed chat's row is settled, not claimed again"
