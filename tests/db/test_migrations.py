"""Migrations upgrade a populated database from the first revision to the latest, losing nothing."""

from __future__ import annotations

import importlib
import re
from datetime import UTC, datetime
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.engine import Connection

from psgbot.db.engine import create_engine, create_session_factory
from psgbot.db.enums import DeliveryKind, DeliveryStatus, EventField, Notice
from psgbot.db.migrate import alembic_config, current_revision, upgrade
from psgbot.db.models import Base, Delivery, Item
from psgbot.feeds.duplicates import title_key
from psgbot.search import search_document, search_page, search_terms


async def test_populated_database_upgrades_from_the_first_revision(database_url: str) -> None:
    engine = create_engine(database_url)
    await upgrade(engine, "0001")
    assert await current_revision(engine) == "0001"
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO feeds (id, source, created_at) VALUES (1, 'f', '2024-01-01 00:00:00')"
            )
        )
        for n in range(1, 51):
            await connection.execute(
                text(
                    "INSERT INTO items (id, feed_id, key, title, summary, first_seen_at, sort_at,"
                    " updated_at) VALUES (:id, 1, :key, :title, '', '2024-01-01 00:00:00',"
                    " '2024-01-01 00:00:00', '2024-01-01 00:00:00')"
                ),
                {"id": n, "key": f"k{n}", "title": f"Item {n}"},
            )
            await connection.execute(
                text("INSERT INTO item_topics (item_id, topic) VALUES (:id, 'justice')"), {"id": n}
            )
        await connection.execute(
            text(
                "INSERT INTO events (id, uid, title, starts_at, all_day, timezone, cancelled,"
                " created_at, updated_at) VALUES (1, 'e', 'AGM', '2024-06-01 10:00:00', false,"
                " 'Europe/London', false, '2024-01-01 00:00:00', '2024-01-01 00:00:00')"
            )
        )
    await upgrade(engine)
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    assert head is not None
    assert head > "0005"
    assert await current_revision(engine) == head
    async with engine.connect() as connection:
        items = (await connection.execute(text("SELECT count(*) FROM items"))).scalar()
        tags = (await connection.execute(text("SELECT count(*) FROM item_topics"))).scalar()
        feed = (
            await connection.execute(text("SELECT failures, initialized, disabled FROM feeds"))
        ).one()
        event = (await connection.execute(text("SELECT title, cancelled FROM events"))).one()
    assert (items, tags) == (50, 50)
    assert tuple(feed) == (0, False, False)
    assert tuple(event) == ("AGM", False)
    await engine.dispose()


async def test_outbox_rows_and_broadcasts_survive_the_retention_migration(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    await upgrade(engine, "0008")
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO broadcasts (id, audience, text, urgent, status, scheduled_at,"
                " recipients, created_at) VALUES (1, 'all', 'AGM', false, 'done',"
                " '2024-01-01 00:00:00', 2, '2024-01-01 00:00:00')"
            )
        )
        for n, status in enumerate(["sent", "failed", "pending"], start=1):
            await connection.execute(
                text(
                    "INSERT INTO deliveries (id, chat_id, kind, broadcast_id, status, due_at,"
                    " attempts, created_at) VALUES (:id, :id, 'broadcast', 1, :status,"
                    " '2024-01-01 00:00:00', 0, '2024-01-01 00:00:00')"
                ),
                {"id": n, "status": status},
            )
    await upgrade(engine)
    async with engine.connect() as connection:
        statuses = (
            await connection.execute(text("SELECT status FROM deliveries ORDER BY id"))
        ).scalars()
        figures = (
            await connection.execute(
                text(
                    "SELECT rolled_up_sent, rolled_up_failed, rolled_up_blocked,"
                    " rolled_up_cancelled FROM broadcasts"
                )
            )
        ).one()
        rollups = (await connection.execute(text("SELECT count(*) FROM delivery_rollups"))).scalar()
        indexes = await connection.run_sync(
            lambda sync: {index["name"] for index in inspect(sync).get_indexes("deliveries")}
        )
    assert list(statuses) == ["sent", "failed", "pending"]
    assert tuple(figures) == (0, 0, 0, 0)
    assert rollups == 0
    assert {"ix_deliveries_settled_sent", "ix_deliveries_settled_unsent"} <= indexes
    await engine.dispose()


async def test_queued_notices_keep_their_event_through_the_typed_notices_migration(
    database_url: str,
) -> None:
    """0011: reminders and announcements queued before it name their event in columns; other
    notices keep the HTML they were queued with."""
    engine = create_engine(database_url)
    await upgrade(engine, "0010")
    rows = [
        (1, "notice", "reminder:1:2030-06-01T10:00:00+00:00:24h", "<b>Reminder</b>", "pending"),
        (2, "notice", "event:1:new", "<b>New</b>", "sent"),
        (3, "notice", None, "⚠️ Feed <code>f</code> is failing", "pending"),
        (4, "alert", None, None, "pending"),
    ]
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO events (id, uid, title, starts_at, all_day, timezone, cancelled,"
                " created_at, updated_at) VALUES (1, 'e', 'AGM', '2030-06-01 10:00:00', false,"
                " 'Europe/London', false, '2024-01-01 00:00:00', '2024-01-01 00:00:00')"
            )
        )
        for row_id, kind, key, html, status in rows:
            await connection.execute(
                text(
                    "INSERT INTO deliveries (id, chat_id, kind, key, text, status, due_at,"
                    " attempts, created_at) VALUES (:id, 7, :kind, :key, :html, :status,"
                    " '2024-01-01 00:00:00', 0, '2024-01-01 00:00:00')"
                ),
                {"id": row_id, "kind": kind, "key": key, "html": html, "status": status},
            )
    await upgrade(engine)
    async with engine.connect() as connection:
        typed = list(
            await connection.execute(
                text(
                    "SELECT id, notice, event_id, reminder_hours, text, status FROM deliveries"
                    " ORDER BY id"
                )
            )
        )
        start = (
            await connection.execute(select(Delivery.event_start).where(Delivery.id == 1))
        ).scalar()
    assert [tuple(row) for row in typed] == [
        (1, "event_reminder", 1, 24, "<b>Reminder</b>", "pending"),
        (2, "event_new", 1, None, "<b>New</b>", "sent"),
        (3, "legacy", None, None, "⚠️ Feed <code>f</code> is failing", "pending"),
        (4, None, None, None, None, "pending"),
    ]
    assert start == datetime(2030, 6, 1, 10, 0, tzinfo=UTC)
    await engine.dispose()


async def test_change_notices_name_their_fields_after_the_event_changes_migration(
    database_url: str,
) -> None:
    """0012: a change notice queued before it keeps going (no fields named); one queued after
    holds what changed, old and new, read back typed (times as aware datetimes)."""
    engine = create_engine(database_url)
    await upgrade(engine, "0011")
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO events (id, uid, title, starts_at, all_day, timezone, cancelled,"
                " created_at, updated_at) VALUES (1, 'e', 'AGM', '2030-06-01 10:00:00', false,"
                " 'Europe/London', false, '2024-01-01 00:00:00', '2024-01-01 00:00:00')"
            )
        )
        await connection.execute(
            text(
                "INSERT INTO deliveries (id, chat_id, kind, notice, event_id, status, due_at,"
                " attempts, created_at) VALUES (1, 7, 'notice', 'event_changed', 1, 'pending',"
                " '2024-01-01 00:00:00', 0, '2024-01-01 00:00:00')"
            )
        )
    await upgrade(engine)
    before = datetime(2030, 6, 1, 10, 0, tzinfo=UTC)
    after = datetime(2030, 6, 2, 18, 30, tzinfo=UTC)
    changes = {EventField.STARTS_AT: (before, after), EventField.VENUE: ("Hall A", None)}
    async with engine.begin() as connection:
        await connection.execute(
            insert(Delivery).values(
                id=2,
                chat_id=8,
                kind=DeliveryKind.NOTICE,
                notice=Notice.EVENT_CHANGED,
                event_id=1,
                changes=changes,
                status=DeliveryStatus.PENDING,
                due_at=before,
                attempts=0,
                created_at=before,
            )
        )
    async with engine.connect() as connection:
        stored = list(
            await connection.execute(select(Delivery.id, Delivery.changes).order_by(Delivery.id))
        )
    assert [tuple(row) for row in stored] == [(1, None), (2, changes)]
    await engine.dispose()


# The search index is the one part of the schema each database builds its own way (migration
# 0018): an FTS5 table with its shadow tables on SQLite, an expression GIN index on PostgreSQL.
# Neither can be a model, so the comparison leaves them out by name, and the test checks that
# they are there and serve a search instead.
SEARCH_INDEX_TABLES = re.compile(r"item_search_fts(_\w+)?")
SEARCH_INDEX = "ix_item_search_document"


async def test_models_match_the_migrations(database_url: str) -> None:
    engine = create_engine(database_url)
    await upgrade(engine)

    def include(name: str | None, kind: str, *_: object) -> bool:
        if kind == "table" and name and SEARCH_INDEX_TABLES.fullmatch(name):
            return False
        return not (kind == "index" and name == SEARCH_INDEX)

    def compare(sync: Connection) -> list[Any]:
        context = MigrationContext.configure(
            sync, opts={"compare_type": True, "include_name": include}
        )
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as connection:
        differences = await connection.run_sync(compare)
        if engine.dialect.name == "sqlite":
            index = await connection.scalar(
                text("SELECT count(*) FROM sqlite_master WHERE name = 'item_search_fts'")
            )
        else:
            index = await connection.scalar(
                text("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_item_search_document'")
            )
    await engine.dispose()
    assert differences == []
    assert index == 1


async def test_the_search_migration_indexes_the_items_already_stored(database_url: str) -> None:
    engine = create_engine(database_url)
    await upgrade(engine, "0016")
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO feeds (id, source, created_at) VALUES (1, 'f', '2024-01-01 00:00:00')"
            )
        )
        for n, (title, summary) in enumerate(
            [("Tía María: protests", ""), ("Valley news", "About TIA MARIA."), ("Other", "")],
            start=1,
        ):
            await connection.execute(
                text(
                    "INSERT INTO items (id, feed_id, key, title, summary, first_seen_at, sort_at,"
                    " updated_at) VALUES (:id, 1, :key, :title, :summary, '2024-01-01 00:00:00',"
                    f" '2024-01-0{n} 00:00:00', '2024-01-01 00:00:00')"
                ),
                {"id": n, "key": f"k{n}", "title": title, "summary": summary},
            )
    await upgrade(engine)
    sessions = create_session_factory(engine)
    async with sessions() as session:
        page = await search_page(session, search_terms("tia maria"))
    await engine.dispose()
    assert [item.id for item in page.items] == [1, 2]
    assert page.total == 2


def test_the_search_migration_folds_as_search_does() -> None:
    """0018 keeps its own copy of the folding (a migration is frozen): the same words today."""
    migration = importlib.import_module("psgbot.db.migrations.versions.0018_search")
    for title, summary in [
        ("Tía María: ¡protestas!", "ÑANDÚ straße ﬁnal. The post X appeared first on PSG."),
        ("Las Bambas’ road_block 2024", "covid-19 e-mail x@y.org 3.5%"),
    ]:
        assert migration.search_document(title, summary) == search_document(title, summary)


async def test_the_media_migration_keys_stored_titles_as_ingest_does(database_url: str) -> None:
    """0020: items stored before it get their title key (a copy posted later is recognised),
    the same key ingest gives; no picture, no copy."""
    engine = create_engine(database_url)
    await upgrade(engine, "0016")
    titles = [
        "Court annuls Fujimori’s pardon!",
        "Tía María: PROTESTAS en Arequipa",
        "Newsletter",
        "word " * 100,
        "",
    ]
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO feeds (id, source, created_at) VALUES (1, 'f', '2024-01-01 00:00:00')"
            )
        )
        for n, title in enumerate(titles, start=1):
            await connection.execute(
                text(
                    "INSERT INTO items (id, feed_id, key, title, summary, first_seen_at, sort_at,"
                    " updated_at) VALUES (:id, 1, :key, :title, '', '2024-01-01 00:00:00',"
                    " '2024-01-01 00:00:00', '2024-01-01 00:00:00')"
                ),
                {"id": n, "key": f"k{n}", "title": title},
            )
    await upgrade(engine)
    async with engine.connect() as connection:
        rows = list(
            await connection.execute(
                text(
                    "SELECT title, title_key, image_url, image_refused_at, duplicate_of"
                    " FROM items ORDER BY id"
                )
            )
        )
    assert [row[1] for row in rows] == [title_key(title) for title in titles]
    assert [row[1] for row in rows][:3] == [
        "court annuls fujimori s pardon",
        "tia maria protestas en arequipa",
        None,
    ]
    assert {tuple(row[2:]) for row in rows} == {(None, None, None)}
    await engine.dispose()


async def test_items_stored_before_the_categories_migration_have_none_known(
    database_url: str,
) -> None:
    """0021: an item stored before keeps its text and topics, with its categories unknown (NULL:
    ingest records them the next time its feed lists it); one stored after reads them back."""
    engine = create_engine(database_url)
    await upgrade(engine, "0020")
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO feeds (id, source, created_at) VALUES (1, 'f', '2024-01-01 00:00:00')"
            )
        )
        await connection.execute(
            text(
                "INSERT INTO items (id, feed_id, key, title, summary, first_seen_at, sort_at,"
                " updated_at) VALUES (1, 1, 'k1', 'Court rules', 'It did.', '2024-01-01 00:00:00',"
                " '2024-01-01 00:00:00', '2024-01-01 00:00:00')"
            )
        )
        await connection.execute(
            text(
                "INSERT INTO item_topics (item_id, topic, sort_at)"
                " VALUES (1, 'justice', '2024-01-01 00:00:00')"
            )
        )
    await upgrade(engine)
    async with engine.begin() as connection:
        await connection.execute(
            insert(Item).values(
                id=2,
                feed_id=1,
                key="k2",
                title="Round-up",
                summary="",
                categories=("Derechos Humanos", "Minería"),
                sort_at=datetime(2024, 1, 2, tzinfo=UTC),
            )
        )
    async with engine.connect() as connection:
        rows = list(
            await connection.execute(
                select(Item.id, Item.title, Item.summary, Item.categories).order_by(Item.id)
            )
        )
        tags = (await connection.execute(text("SELECT count(*) FROM item_topics"))).scalar()
    await engine.dispose()
    assert [tuple(row) for row in rows] == [
        (1, "Court rules", "It did.", None),
        (2, "Round-up", "", ("Derechos Humanos", "Minería")),
    ]
    assert tags == 1
