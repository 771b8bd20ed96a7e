"""Migrations upgrade a populated database from the first revision to the latest, losing nothing."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

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
