"""Migrations upgrade a populated database from the first revision to the latest, losing nothing."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import text

from psgbot.db.engine import create_engine
from psgbot.db.migrate import alembic_config, current_revision, upgrade


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
