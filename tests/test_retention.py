"""Retention: expired settled deliveries become daily counts, in batches, each counted once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from conftest import make_settings
from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from support.harness import BotHarness
from support.transport import RecordingBotApi
from telegram.ext import CallbackContext

from psgbot.app import RETENTION_JOB, build_application, prepare_storage, retention_job, running
from psgbot.db.models import Broadcast, Delivery, DeliveryRollup, Feed, Item, ItemTopic
from psgbot.db.types import utcnow
from psgbot.retention import Purged, purge_settled
from psgbot.services import Services

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RETENTION = timedelta(days=90)  # the cutoff is 2026-09-02 12:00 UTC
TAGGED, UNTAGGED, JUSTICE = 1, 2, 3  # items: justice and mining; none; justice


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
async def services(database_url: str) -> AsyncIterator[Services]:
    services = Services.create(make_settings(database_url))
    await prepare_storage(services)
    async with services.sessions.begin() as session:
        session.add(Feed(id=1, source="f"))
        await session.flush()
        for item_id, topics in (
            (TAGGED, ["justice", "mining"]),
            (UNTAGGED, []),
            (JUSTICE, ["justice"]),
        ):
            session.add(Item(id=item_id, feed_id=1, key=f"k{item_id}", title="t", sort_at=NOW))
            await session.flush()
            session.add_all(
                ItemTopic(item_id=item_id, topic=topic, sort_at=NOW) for topic in topics
            )
        session.add(Broadcast(id=1, audience="all", scheduled_at=NOW))
    yield services
    await services.close()


def delivery(
    chat: int,
    kind: str,
    status: str,
    created: datetime,
    sent: datetime | None = None,
    item: int | None = None,
    broadcast: int | None = None,
) -> dict[str, Any]:
    return {
        "chat_id": chat,
        "kind": kind,
        "status": status,
        "item_id": item,
        "broadcast_id": broadcast,
        "created_at": created,
        "due_at": created,
        "sent_at": sent,
        "attempts": 0,
    }


async def add(services: Services, rows: list[dict[str, Any]]) -> list[int]:
    async with services.sessions.begin() as session:
        ids = await session.scalars(insert(Delivery).returning(Delivery.id), rows)
        return list(ids)


async def stored_ids(services: Services) -> set[int]:
    async with services.sessions() as session:
        return set(await session.scalars(select(Delivery.id)))


async def rollups(services: Services) -> dict[tuple[date, str, str, str], int]:
    async with services.sessions() as session:
        rows = await session.scalars(select(DeliveryRollup))
        return {(row.day, row.kind, row.topic, row.status): row.count for row in rows}


@contextmanager
def deletes_counted(engine: AsyncEngine) -> Iterator[list[str]]:
    """Records each DELETE on deliveries: one per batch."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        statement = str(args[2])
        if statement.lstrip().upper().startswith("DELETE FROM DELIVERIES"):
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


EXPIRED = [
    # Sent: counted on the day they were sent (UTC), once per topic of the item and under "*".
    delivery(1, "alert", "sent", at("2026-06-01T09:00"), at("2026-06-01T10:00"), TAGGED),
    delivery(2, "alert", "sent", at("2026-06-01T09:00"), at("2026-06-01T10:05"), TAGGED),
    delivery(1, "alert", "sent", at("2026-06-01T23:00"), at("2026-06-01T23:59"), UNTAGGED),
    delivery(1, "alert", "sent", at("2026-05-31T23:00"), at("2026-06-02T00:30"), JUSTICE),
    delivery(3, "broadcast", "sent", at("2026-07-02T08:00"), at("2026-07-02T08:01"), broadcast=1),
    # Failed and cancelled: counted on the day they were created.
    delivery(2, "alert", "failed", at("2026-06-01T09:00"), item=JUSTICE),
    delivery(3, "notice", "cancelled", at("2026-07-01T08:00")),
]
KEPT = [
    delivery(3, "alert", "pending", at("2026-05-01T08:00"), item=TAGGED),
    delivery(4, "notice", "sending", at("2026-05-01T08:00")),
    delivery(4, "alert", "sent", at("2026-11-30T08:00"), at("2026-11-30T08:01"), TAGGED),
    # Created long ago, sent within the retention: aged by when it was sent.
    delivery(4, "alert", "sent", at("2026-06-01T08:00"), at("2026-11-01T08:00"), JUSTICE),
    delivery(5, "alert", "failed", at("2026-09-10T08:00"), item=TAGGED),
]
COUNTS = {
    (date(2026, 6, 1), "alert", "justice", "sent"): 2,
    (date(2026, 6, 1), "alert", "mining", "sent"): 2,
    (date(2026, 6, 1), "alert", "", "sent"): 1,
    (date(2026, 6, 1), "alert", "*", "sent"): 3,
    (date(2026, 6, 2), "alert", "justice", "sent"): 1,
    (date(2026, 6, 2), "alert", "*", "sent"): 1,
    (date(2026, 7, 2), "broadcast", "", "sent"): 1,
    (date(2026, 7, 2), "broadcast", "*", "sent"): 1,
    (date(2026, 6, 1), "alert", "justice", "failed"): 1,
    (date(2026, 6, 1), "alert", "*", "failed"): 1,
    (date(2026, 7, 1), "notice", "", "cancelled"): 1,
    (date(2026, 7, 1), "notice", "*", "cancelled"): 1,
}


async def test_expired_settled_rows_become_daily_counts(services: Services) -> None:
    await add(services, EXPIRED)
    kept = await add(services, KEPT)
    purged = await purge_settled(services.sessions, NOW, RETENTION)
    assert purged.rows == len(EXPIRED)
    assert await stored_ids(services) == set(kept)
    assert await rollups(services) == COUNTS


async def test_a_second_purge_counts_nothing_twice(services: Services) -> None:
    await add(services, EXPIRED)
    await purge_settled(services.sessions, NOW, RETENTION)
    assert await purge_settled(services.sessions, NOW, RETENTION) == Purged(rows=0, batches=0)
    # Rows of the same days expiring later are added to the same counts.
    await add(
        services,
        [delivery(9, "alert", "sent", at("2026-06-01T12:00"), at("2026-06-01T12:00"), UNTAGGED)],
    )
    await purge_settled(services.sessions, NOW + timedelta(days=1), RETENTION)
    counts = await rollups(services)
    assert counts[(date(2026, 6, 1), "alert", "", "sent")] == 2
    assert counts[(date(2026, 6, 1), "alert", "*", "sent")] == 4
    assert counts[(date(2026, 6, 1), "alert", "justice", "sent")] == 2


async def test_a_batch_that_fails_counts_and_deletes_nothing(services: Services) -> None:
    await add(services, EXPIRED)
    before = await stored_ids(services)

    def crash(*args: Any) -> None:
        if str(args[2]).lstrip().upper().startswith("DELETE FROM DELIVERIES"):
            raise RuntimeError("the process died here")

    event.listen(services.engine.sync_engine, "before_cursor_execute", crash)
    with pytest.raises(RuntimeError):
        await purge_settled(services.sessions, NOW, RETENTION)
    event.remove(services.engine.sync_engine, "before_cursor_execute", crash)
    assert await stored_ids(services) == before
    assert await rollups(services) == {}
    await purge_settled(services.sessions, NOW, RETENTION)
    assert await rollups(services) == COUNTS


async def test_a_backlog_goes_in_batches(services: Services) -> None:
    old = at("2026-01-01T00:00")
    backlog = [
        delivery(
            chat, "alert", "sent", old + timedelta(days=chat), old + timedelta(days=chat), TAGGED
        )
        for chat in range(11)
    ] + [delivery(chat, "notice", "failed", old) for chat in range(4)]
    await add(services, backlog)
    with deletes_counted(services.engine) as deletes:
        purged = await purge_settled(services.sessions, NOW, RETENTION, batch_size=3)
    assert purged == Purged(rows=15, batches=6)  # 3+3+3+2 sent, 3+1 failed
    assert len(deletes) == 6
    assert await stored_ids(services) == set()
    counts = await rollups(services)
    assert sum(n for (_, _, topic, _), n in counts.items() if topic == "*") == 15
    assert sum(n for (_, _, topic, _), n in counts.items() if topic == "mining") == 11


async def test_the_scheduled_job_purges(services: Services) -> None:
    """Only the active instance schedules it (tests/test_topology.py); it purges when it runs."""
    app = build_application(services, request=RecordingBotApi())
    expired = await add(
        services,
        [
            delivery(
                1, "notice", "sent", utcnow() - timedelta(days=400), utcnow() - timedelta(days=400)
            )
        ],
    )
    assert await stored_ids(services) == set(expired)
    await retention_job(CallbackContext(app))
    assert await stored_ids(services) == set()


@contextmanager
def statements_on_deliveries(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        statement, parameters = str(args[2]), args[3]
        if "deliveries" in statement and not statement.lstrip().upper().startswith(
            "INSERT INTO DELIVERIES ("
        ):
            seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


# Plan lines that read deliveries from end to end (a table or a whole index), or sort what
# they read to take the oldest: the purge and /stats must read ranges of an index.
WHOLE_READS = ("Seq Scan on deliveries", "SCAN deliveries", "TEMP B-TREE FOR ORDER BY")
# Scanning a partial index reads only the rows of its condition (all pending rows, to count
# them), not the table.
PARTIAL_SCANS = ("INDEX ix_deliveries_pending_due", "INDEX ix_deliveries_sending_claimed")


async def whole_reads(engine: AsyncEngine, statements: list[tuple[str, Any]]) -> list[str]:
    """The statements whose plan reads all of deliveries, not a range of an index."""
    postgres = engine.dialect.name == "postgresql"
    found = []
    async with engine.connect() as connection:
        if postgres:
            # Tiny test tables are cheaper to scan: ask whether an index can serve at all.
            await connection.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in statements:
            explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            result = await connection.exec_driver_sql(explain + statement, parameters)
            plan = [str(row[-1]) for row in result]
            whole = [
                line
                for line in plan
                if any(read in line for read in WHOLE_READS)
                and not any(partial in line for partial in PARTIAL_SCANS)
            ]
            if whole:
                found.append(f"{statement}\n{plan}")
    return found


async def test_the_purge_reads_deliveries_through_indexes(services: Services) -> None:
    await add(services, EXPIRED + KEPT)
    with statements_on_deliveries(services.engine) as statements:
        await purge_settled(services.sessions, NOW, RETENTION)
    assert len(statements) >= 8
    assert await whole_reads(services.engine, statements) == []


async def test_the_running_bot_purges_from_its_scheduled_job(database_url: str) -> None:
    services = Services.create(make_settings(database_url))
    app = build_application(services, request=RecordingBotApi())
    async with running(app):
        assert app.job_queue is not None
        (job,) = app.job_queue.get_jobs_by_name(RETENTION_JOB)
        old, recent = utcnow() - timedelta(days=400), utcnow() - timedelta(days=1)
        kept = await add(services, [delivery(1, "notice", "sent", recent, recent)])
        await add(services, [delivery(2, "notice", "sent", old, old)])
        await job.run(app)
        assert await stored_ids(services) == set(kept)


async def add_history(bot: BotHarness) -> tuple[set[int], set[int]]:
    """Deliveries of every kind and status, recent and long past; returns (expired, kept) ids."""
    now = utcnow()

    def hours(n: int) -> datetime:
        return now - timedelta(hours=n)

    def days(n: int) -> datetime:
        return now - timedelta(days=n)

    async with bot.services.sessions() as session:
        items = list(await session.scalars(select(Item.id).order_by(Item.id)))
    expired = [
        delivery(1, "alert", "sent", days(120), days(120), items[0]),
        delivery(2, "alert", "sent", days(120), days(100), items[0]),
        delivery(1, "alert", "sent", days(300), days(300), items[1]),
        delivery(3, "alert", "failed", days(95), item=items[1]),
        delivery(4, "alert", "cancelled", days(200), item=items[1]),
        delivery(1, "notice", "sent", days(400), days(400)),
        delivery(2, "notice", "failed", days(400)),
        delivery(1, "broadcast", "sent", days(91), days(91)),
        delivery(2, "broadcast", "failed", days(91)),
    ]
    kept = [
        delivery(5, "alert", "sent", hours(2), hours(2), items[2]),
        delivery(6, "alert", "failed", hours(3), item=items[2]),
        delivery(7, "alert", "sent", days(3), days(3), items[2]),
        delivery(8, "alert", "failed", days(3), item=items[3]),
        delivery(9, "alert", "sent", days(100), days(80), items[3]),
        delivery(1, "notice", "sent", days(30), days(30)),
        delivery(3, "alert", "pending", days(200), item=items[4]),
    ]
    return set(await add(bot.services, expired)), set(await add(bot.services, kept))


async def test_stats_read_the_same_before_and_after_a_purge(bot: BotHarness) -> None:
    expired, kept = await add_history(bot)
    (before,) = await bot.reply_texts("/stats", chat_id=111)
    purged = await purge_settled(bot.services.sessions, utcnow(), RETENTION)
    assert purged.rows == len(expired)
    assert await stored_ids(bot.services) == kept
    (after,) = await bot.reply_texts("/stats", chat_id=111)
    assert after == before
    assert "Alerts, last 24 hours: 1 sent, 1 failed" in after
    assert "Alerts, last 7 days: 2 sent, 2 failed" in after
    assert "Alerts in all: 6 sent, 3 failed" in after
    assert "Broadcast messages in all: 1 sent, 1 failed" in after
    assert "Notices and reminders in all: 2 sent, 1 failed" in after
    assert "Outbox: 1 waiting" in after


async def test_stats_read_deliveries_through_indexes(bot: BotHarness) -> None:
    await add_history(bot)
    engine = bot.services.engine
    with statements_on_deliveries(engine) as statements:
        await bot.send("/stats", chat_id=111)
    assert len(statements) >= 7
    assert await whole_reads(engine, statements) == []
