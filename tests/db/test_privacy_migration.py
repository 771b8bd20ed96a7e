"""Migration 0010 erases the names and titles already stored, and who blocked or kicked the bot."""

from __future__ import annotations

from sqlalchemy import inspect, text

from psgbot.db.engine import create_engine
from psgbot.db.migrate import upgrade

WHEN = "'2026-01-01 00:00:00'"


async def test_names_titles_and_who_blocked_are_erased(database_url: str) -> None:
    engine = create_engine(database_url)
    await upgrade(engine, "0009")
    async with engine.begin() as connection:
        for chat_id, kind, title, active, reason in [
            (77, "private", "Ana Pérez", True, None),
            (78, "private", "@ana_p", False, "bot kicked by 78"),
            (-100, "supergroup", "Lima solidarity group", False, "bot left by 4321"),
            (-99, "group", "Old group", False, "migrated to -100"),
        ]:
            await connection.execute(
                text(
                    "INSERT INTO chats (id, type, title, active, inactive_reason, created_at,"
                    f" updated_at) VALUES (:id, :type, :title, :active, :reason, {WHEN}, {WHEN})"
                ),
                {"id": chat_id, "type": kind, "title": title, "active": active, "reason": reason},
            )
        await connection.execute(
            text(
                f"INSERT INTO subscriptions (chat_id, topic, created_at) VALUES (77, 'justice',"
                f" {WHEN}), (78, '*', {WHEN})"
            )
        )
        await connection.execute(
            text(
                "INSERT INTO deliveries (chat_id, kind, status, due_at, attempts, created_at,"
                f" error) VALUES (78, 'notice', 'cancelled', {WHEN}, 0, {WHEN},"
                " 'chat inactive: bot kicked by 78')"
            )
        )
    await upgrade(engine)
    async with engine.connect() as connection:
        columns = await connection.run_sync(
            lambda sync: {column["name"] for column in inspect(sync).get_columns("chats")}
        )
        chats = (
            await connection.execute(
                text(
                    "SELECT id, inactive_reason, inactive_since IS NOT NULL, announcements,"
                    " stopped_at FROM chats ORDER BY id"
                )
            )
        ).all()
        subscriptions = (
            await connection.execute(text("SELECT count(*) FROM subscriptions"))
        ).scalar()
        error = (await connection.execute(text("SELECT error FROM deliveries"))).scalar()
    await engine.dispose()
    assert "title" not in columns
    assert [tuple(chat) for chat in chats] == [
        (-100, "left", True, True, None),
        (-99, "migrated", True, True, None),
        (77, None, False, True, None),
        (78, "kicked", True, True, None),
    ]
    assert subscriptions == 2  # rebuilding the table cascaded to nothing
    assert error == "chat inactive"
