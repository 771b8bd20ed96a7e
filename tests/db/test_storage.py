"""Storage on SQLite and on a real PostgreSQL server: migrations, storing once, reading back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from conftest import SAMPLE_FEED
from sqlalchemy import inspect, select, update
from sqlalchemy.dialects import sqlite

from psgbot.config import DEFAULT_DATA_DIR
from psgbot.db.engine import create_engine, create_read_session_factory, create_session_factory
from psgbot.db.migrate import current_revision, upgrade
from psgbot.db.models import Event, Item
from psgbot.db.types import StringLines
from psgbot.events import list_events
from psgbot.events_file import add_new_events, read_events_file
from psgbot.feeds.parse import ParsedItem, parse_feed
from psgbot.feeds.store import get_or_create_feed, store_items
from psgbot.news import latest_items
from psgbot.topics import Taxonomy

TAXONOMY = Taxonomy.load(DEFAULT_DATA_DIR / "topics.yaml")


async def test_migrations_create_the_schema(database_url: str) -> None:
    engine = create_engine(database_url)
    await upgrade(engine)
    await upgrade(engine)  # a second start finds nothing to do
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert {"feeds", "items", "item_topics", "events", "alembic_version"} <= tables
    assert await current_revision(engine) is not None
    await engine.dispose()


async def test_items_are_stored_once_and_updated_when_changed(database_url: str) -> None:
    engine = create_engine(database_url)
    await upgrade(engine)
    sessions = create_session_factory(engine)
    items = parse_feed(SAMPLE_FEED.read_bytes()).items
    async with sessions.begin() as session:
        feed = await get_or_create_feed(session, "sample")
        first = await store_items(session, feed, items, TAXONOMY)
    assert (first.seen, len(first.new_items), first.updated) == (10, 10, 0)
    async with sessions.begin() as session:
        feed = await get_or_create_feed(session, "sample")
        again = await store_items(session, feed, items, TAXONOMY)
    assert (len(again.new_items), again.updated) == (0, 0)

    changed = [
        ParsedItem(
            key=items[0].key,
            guid=items[0].guid,
            title="Corrected title",
            link=items[0].link,
            published=items[0].published,
            summary=items[0].summary,
        )
    ]
    async with sessions.begin() as session:
        feed = await get_or_create_feed(session, "sample")
        result = await store_items(session, feed, changed, TAXONOMY)
    assert (len(result.new_items), result.updated) == (0, 1)
    async with sessions() as session:
        titles = list(await session.scalars(select(Item.title)))
        newest = await latest_items(session, limit=20)
        mining = await latest_items(session, limit=20, topic="extractives")
    assert len(titles) == 10
    assert "Corrected title" in titles
    assert newest[0].title == "Corrected title"
    assert all(a.sort_at >= b.sort_at for a, b in pairwise(newest))
    assert mining
    assert all("extractives" in item.topic_slugs for item in mining)
    assert newest[0].published_at == datetime(2018, 9, 29, 12, tzinfo=UTC)
    await engine.dispose()


async def test_same_key_in_two_feeds_is_two_items(database_url: str) -> None:
    engine = create_engine(database_url)
    await upgrade(engine)
    sessions = create_session_factory(engine)
    items = parse_feed(SAMPLE_FEED.read_bytes()).items[:2]
    async with sessions.begin() as session:
        for source in ("one", "two"):
            feed = await get_or_create_feed(session, source)
            await store_items(session, feed, items, TAXONOMY)
    async with sessions() as session:
        assert len(list(await session.scalars(select(Item)))) == 4
    await engine.dispose()


async def test_events_load_once_and_split_past_from_upcoming(database_url: str) -> None:
    engine = create_engine(database_url)
    await upgrade(engine)
    sessions = create_session_factory(engine)
    entries = read_events_file(DEFAULT_DATA_DIR / "events.yaml")
    async with sessions.begin() as session:
        assert await add_new_events(session, entries) == 1
    async with sessions.begin() as session:
        assert await add_new_events(session, entries) == 0
    async with sessions() as session:
        (event,) = list(await session.scalars(select(Event)))
        assert event.all_day
        assert event.timezone == "Europe/London"
        # Midnight in London on 15 December 2018 (GMT, so also 00:00 UTC).
        assert event.starts_at == datetime(2018, 12, 15, tzinfo=UTC)
        before = await list_events(session, now=event.starts_at - timedelta(days=1))
        during = await list_events(session, now=event.starts_at + timedelta(hours=12))
        after = await list_events(session, now=event.starts_at + timedelta(days=1, seconds=1))
    assert not before.past
    assert before.events[0].uid == "psg-annual-conference-2018"
    assert not during.past
    assert after.past
    assert after.events[0].uid == "psg-annual-conference-2018"
    await engine.dispose()


async def test_reading_sessions_never_wait_for_a_writer(database_url: str) -> None:
    """While a write transaction holds the database (a large fan-out), /latest still reads:
    on SQLite a reader that waited for the write lock would fail after the busy timeout."""
    engine = create_engine(database_url)
    await upgrade(engine)
    sessions, reads = create_session_factory(engine), create_read_session_factory(engine)
    async with sessions.begin() as session:
        feed = await get_or_create_feed(session, "f")
        await store_items(session, feed, parse_feed(SAMPLE_FEED.read_bytes()).items, TAXONOMY)
    async with sessions.begin() as writer:
        await writer.execute(update(Item).values(title="being rewritten"))
        async with reads() as reader:
            shown = await latest_items(reader, limit=3, topic="justice")
        assert shown
        assert all(item.title != "being rewritten" for item in shown), "read the committed copy"
    await engine.dispose()


def test_a_column_of_lines_holds_its_bounds_and_refuses_more() -> None:
    """Item.categories' type: "" is none, NULL unknown; too many, too long, empty or multi-line
    strings are refused rather than stored as something else."""
    column, dialect = StringLines(2, 5), sqlite.dialect()
    for value, stored in [(("Salud",), "Salud"), (("a", "b c"), "a\nb c"), ((), "")]:
        assert column.process_bind_param(value, dialect) == stored
        assert column.process_result_value(stored, dialect) == value
    assert column.process_result_value(None, dialect) is None
    for refused in [("a", "b", "c"), ("longer",), ("",), ("a\nb",)]:
        with pytest.raises(ValueError, match="lines of 1 to 5 characters"):
            column.process_bind_param(refused, dialect)
