"""Near-duplicates: a story posted again under another guid and link, in another feed, within 7
days, is stored once and alerted once; the same title 8 days on is news again."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from support.feed_server import FeedServer, Response
from support.feeds import HISTORY, FeedItem, recent, rss
from support.harness import BotHarness
from support.postgres import PostgresServer

from psgbot.config import DEFAULT_DATA_DIR
from psgbot.db.engine import create_engine, create_session_factory
from psgbot.db.migrate import upgrade
from psgbot.db.models import Feed, Item
from psgbot.feeds.duplicates import title_key
from psgbot.feeds.parse import ParsedItem, parse_feed
from psgbot.feeds.poll import poll_source
from psgbot.feeds.store import StoreResult, get_or_create_feed, store_items
from psgbot.topics import Taxonomy

STORY = FeedItem(
    "psg-101",
    "Court annuls Fujimori's pardon",
    "The Supreme Court ruled.",
    "https://psg.example/news/101",
    recent(2),
)


def copy_of(story: FeedItem, *, hours_later: float = 1) -> FeedItem:
    """The story as a partner reposts it: its own guid and link, the title typed differently."""
    assert story.published is not None
    return FeedItem(
        "partner-77",
        "  COURT annuls Fujimori’s pardon!  ",
        "Reposted from the PSG.",
        "https://partner.example/2024/court-annuls",
        story.published + timedelta(hours=hours_later),
    )


async def publish(bot: BotHarness, server: FeedServer, path: str, items: list[FeedItem]) -> None:
    server.routes[path] = Response(rss(items + HISTORY))
    await poll_source(bot.services, server.url(path))


async def partner_feed(bot: BotHarness, server: FeedServer) -> None:
    """A second feed, polled once (a feed's first poll alerts nothing)."""
    await publish(bot, server, "/partner", [])


async def stored(bot: BotHarness, guid: str) -> Item:
    async with bot.services.sessions() as session:
        item = await session.scalar(select(Item).where(Item.guid == guid))
    assert item is not None
    return item


async def latest_titles(bot: BotHarness) -> list[str]:
    (reply,) = await bot.reply_texts("/latest 20", chat_id=1)
    return [line for line in reply.splitlines() if "annuls" in line.lower()]


async def test_a_story_posted_again_in_another_feed_is_stored_once_and_alerted_once(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await bot.send("/subscribe all", chat_id=1)
    await partner_feed(bot, feed_server)
    await publish(bot, feed_server, "/feed", [STORY])
    (alert,) = await bot.deliver()
    assert "Court annuls Fujimori's pardon" in (alert.text or "")

    await publish(bot, feed_server, "/partner", [copy_of(STORY)])
    assert await bot.deliver() == [], "the copy is not alerted"
    original, copy = await stored(bot, "psg-101"), await stored(bot, "partner-77")
    assert copy.duplicate_of == original.id
    assert copy.topic_slugs == []
    assert len(await latest_titles(bot)) == 1, "listed once"

    # Polled again (the copy still in its feed), it stays a known copy.
    await publish(bot, feed_server, "/partner", [copy_of(STORY), STORY])
    assert await bot.deliver() == []
    assert len(await latest_titles(bot)) == 1


async def test_an_edited_copy_is_still_found_once_by_search(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await partner_feed(bot, feed_server)
    await publish(bot, feed_server, "/feed", [STORY])
    await publish(bot, feed_server, "/partner", [copy_of(STORY)])
    edited = dataclasses.replace(copy_of(STORY), summary="Reposted, with a comment.")
    await publish(bot, feed_server, "/partner", [edited])
    copy = await stored(bot, "partner-77")
    assert copy.summary == "Reposted, with a comment.", "the edit is stored"
    (results,) = await bot.reply_texts("/search annuls pardon", chat_id=1)
    assert results.count("annuls Fujimori") == 1, results
    assert len((await bot.inline("annuls pardon")).params["results"]) == 1


async def test_two_copies_in_one_poll_alert_once(bot: BotHarness, feed_server: FeedServer) -> None:
    await bot.send("/subscribe all", chat_id=1)
    await publish(bot, feed_server, "/feed", [copy_of(STORY), STORY])
    calls = await bot.deliver()
    assert len(calls) == 1
    assert "annuls" in (calls[0].text or "").lower()


async def test_the_same_title_eight_days_on_is_alerted_again(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await bot.send("/subscribe all", chat_id=1)
    await partner_feed(bot, feed_server)
    eight_days_ago = FeedItem(
        STORY.guid, STORY.title, STORY.summary, STORY.link, recent(hours=8 * 24)
    )
    await publish(bot, feed_server, "/feed", [eight_days_ago])
    assert await bot.deliver() == [], "too old to alert (PSGBOT_ALERT_MAX_AGE)"

    again = copy_of(eight_days_ago, hours_later=8 * 24 - 1)
    await publish(bot, feed_server, "/partner", [again])
    (alert,) = await bot.deliver()
    assert "COURT annuls Fujimori’s pardon!" in (alert.text or "")
    assert (await stored(bot, "partner-77")).duplicate_of is None


async def test_six_days_on_it_is_still_the_same_story(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await bot.send("/subscribe all", chat_id=1)
    await partner_feed(bot, feed_server)
    six_days_ago = FeedItem(STORY.guid, STORY.title, STORY.summary, STORY.link, recent(6 * 24))
    await publish(bot, feed_server, "/feed", [six_days_ago])
    await publish(bot, feed_server, "/partner", [copy_of(six_days_ago, hours_later=6 * 24 - 1)])
    assert await bot.deliver() == []
    assert (await stored(bot, "partner-77")).duplicate_of == (await stored(bot, "psg-101")).id


def test_titles_are_compared_folded() -> None:
    key = title_key("Court annuls Fujimori's pardon")
    assert key == "court annuls fujimori s pardon"
    assert title_key("COURT  annuls Fujimori’s pardon!") == key
    assert title_key("Tía María: protestas en Arequipa") == title_key(
        "TIA MARIA protestas en arequipa"
    )
    assert title_key("Court annuls Fujimori's parole") != key
    assert title_key("Newsletter") is None, "too short to name a story"
    assert title_key("Press release") is None
    long_key = title_key("word " * 100)
    assert long_key is not None
    assert long_key.startswith("#")
    assert len(long_key) <= 200


def parsed(item: FeedItem) -> ParsedItem:
    (only,) = parse_feed(rss([item])).items
    return only


async def test_two_feeds_storing_one_story_at_once_store_it_once(
    postgres_server: PostgresServer,
) -> None:
    """PostgreSQL (SQLite has one writer at a time): while one ingest holding the story is not
    yet committed, another feed's ingest of its copy waits for the title's lock, then finds the
    story and keeps its copy linked. Without the lock both would store it as news."""
    url = await postgres_server.create_database(f"dup_{uuid.uuid4().hex[:12]}")
    engine = create_engine(url)
    await upgrade(engine)
    sessions = create_session_factory(engine)
    taxonomy = Taxonomy.load(DEFAULT_DATA_DIR / "topics.yaml")
    async with sessions.begin() as session:
        psg_id = (await get_or_create_feed(session, "psg")).id
        partner_id = (await get_or_create_feed(session, "partner")).id
    first = sessions()
    try:
        await first.begin()
        feed = await first.get_one(Feed, psg_id)
        await store_items(first, feed, [parsed(STORY)], taxonomy)

        async def store_copy() -> StoreResult:
            async with sessions.begin() as session:
                other = await session.get_one(Feed, partner_id)
                return await store_items(session, other, [parsed(copy_of(STORY))], taxonomy)

        second = asyncio.create_task(store_copy())
        await waiting_for_an_advisory_lock(sessions)
        await first.commit()
    finally:
        await first.close()
    result = await asyncio.wait_for(second, timeout=30)
    assert (len(result.new_items), result.duplicates) == (0, 1)
    await engine.dispose()


async def waiting_for_an_advisory_lock(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Until a transaction waits for an advisory lock (a hang guard, not a measure)."""
    for _attempt in range(3000):
        async with sessions() as session:
            waiting = await session.scalar(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            )
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the copy's ingest never waited for the story's lock")
