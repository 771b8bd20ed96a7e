"""Retention: settled outbox rows older than PSGBOT_DELIVERY_RETENTION become daily counts.

Every alert, notice and broadcast message is a row in ``deliveries``; at 10,000 subscribers and
five items a day that is some 18 million rows a year. Once a row is sent, failed or cancelled
(settled) and older than the retention, it is added to the daily counts in ``delivery_rollups``
and deleted. Pending and sending rows are never touched, however old, and items stay: they are
the archive.

A broadcast keeps the figures /broadcasts shows: its rows' outcomes are added to it as they go.

The purge works in batches, each one transaction that adds the batch to the counts and deletes
it: a crash rolls back both, so no row is ever counted twice or lost, and a year of backlog
never holds a lock for long. Rows are aged by the time /stats counts them on (sent rows by
``sent_at``, the others by ``created_at``), through the partial indexes on settled rows.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    cast,
    delete,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from psgbot import broadcasts
from psgbot.db.deliveries import CANCELLED_ROWS, FAILED_ROWS, SENT_ROWS
from psgbot.db.engine import dialect_insert, is_postgres
from psgbot.db.models import ALL_NEWS, Delivery, DeliveryRollup, ItemTopic

# Rows per transaction: large enough that a year of backlog is a few thousand batches, small
# enough that each holds the write lock for well under a second.
BATCH_SIZE = 5000


@dataclass(frozen=True)
class Settled:
    """Settled rows of one status, and the column they are aged and counted by."""

    where: ColumnElement[bool]
    counted_on: Any


# One status at a time: each is one range of its index, read oldest first.
SETTLED = (
    Settled(SENT_ROWS, Delivery.sent_at),
    Settled(FAILED_ROWS, Delivery.created_at),
    Settled(CANCELLED_ROWS, Delivery.created_at),
)


@dataclass(frozen=True)
class Purged:
    rows: int = 0
    batches: int = 0


async def purge_settled(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
    retention: timedelta,
    *,
    batch_size: int = BATCH_SIZE,
    rest: float = 0.0,
) -> Purged:
    """Rolls up and deletes every settled row older than ``retention``, a batch per transaction.

    After each full batch the purge rests ``rest`` times as long as the batch took: SQLite has
    one writer at a time, and the dispatcher and the poller must get their turns between
    batches (a waiting writer gives up after the busy timeout).
    """
    cutoff = now - retention
    rows = batches = 0
    for settled in SETTLED:
        while True:
            started = time.monotonic()
            async with sessions.begin() as session:
                purged = await purge_batch(session, settled, cutoff, batch_size)
            if purged:
                rows, batches = rows + purged, batches + 1
            if purged < batch_size:
                break
            if rest:
                await asyncio.sleep((time.monotonic() - started) * rest)
    return Purged(rows=rows, batches=batches)


async def purge_batch(session: AsyncSession, settled: Settled, cutoff: datetime, limit: int) -> int:
    """Adds up to ``limit`` of the oldest expired rows to the daily counts and deletes them,
    in the caller's transaction; returns how many went.

    On PostgreSQL the batch is locked (SKIP LOCKED), so a second purge running at the same time
    takes other rows, and never counts these.
    """
    candidates = (
        select(Delivery.id)
        .where(settled.where, settled.counted_on < cutoff)
        .order_by(settled.counted_on)
        .limit(limit)
    )
    if is_postgres(session):
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list(await session.scalars(candidates))
    if ids:
        await roll_up_and_delete(session, ids, settled.counted_on)
    return len(ids)


async def roll_up_and_delete(session: AsyncSession, ids: list[int], counted_on: Any) -> None:
    """Adds these settled rows (all of one status) to the daily counts and to their broadcasts'
    figures, and deletes them, in the caller's transaction. /forget erases a chat's rows the same
    way, so the PSG's totals keep what was sent without keeping to whom."""
    batch = Delivery.id.in_(ids)
    day = _utc_day(session, counted_on)
    topic = func.coalesce(ItemTopic.topic, "")
    per_topic = (
        select(day, Delivery.kind, topic, Delivery.status, func.count())
        .select_from(Delivery)
        .outerjoin(ItemTopic, ItemTopic.item_id == Delivery.item_id)
        .where(batch)
        .group_by(day, Delivery.kind, ItemTopic.topic, Delivery.status)
    )
    every_topic = (
        select(day, Delivery.kind, literal(ALL_NEWS), Delivery.status, func.count())
        .where(batch)
        .group_by(day, Delivery.kind, Delivery.status)
    )
    for counts in (per_topic, every_topic):
        await _add_counts(session, counts)
    await broadcasts.roll_up(session, ids)
    await session.execute(delete(Delivery).where(batch))


async def _add_counts(session: AsyncSession, counts: Any) -> None:
    insert = dialect_insert(session)(DeliveryRollup).from_select(
        ["day", "kind", "topic", "status", "count"], counts
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["day", "kind", "topic", "status"],
            set_={"count": DeliveryRollup.count + insert.excluded.count},
        )
    )


def _utc_day(session: AsyncSession, column: Any) -> ColumnElement[Any]:
    # A literal zone, not a parameter: PostgreSQL must see the same expression in the SELECT
    # list and the GROUP BY.
    if is_postgres(session):
        return cast(func.timezone(literal_column("'UTC'"), column), Date)
    return func.date(column)  # SQLite holds naive UTC: "2026-12-01 18:30:00.000000"
