"""Figures for /stats: chats, subscribers, items, deliveries, broadcasts.

Deliveries are counted from the outbox rows through the indexes on settled rows, and, for the
totals, from the daily counts of the rows the retention purge deleted (psgbot.retention): a
purge moves a row from one to the other and changes no figure. The purge never reaches the
last 7 days (PSGBOT_DELIVERY_RETENTION is at least that), which are counted from rows alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from psgbot.db.deliveries import FAILED_ROWS, SENT_ROWS
from psgbot.db.enums import DeliveryKind, DeliveryStatus
from psgbot.db.models import (
    ALL_NEWS,
    Broadcast,
    Chat,
    Delivery,
    DeliveryRollup,
    Item,
    Subscription,
)
from psgbot.outbox import outbox_depth


@dataclass(frozen=True)
class Stats:
    active_chats: int
    inactive_chats: int
    active_groups: int
    subscribers: dict[str, int]
    items: int
    alerts_sent_day: int
    alerts_failed_day: int
    alerts_sent_week: int
    alerts_failed_week: int
    outbox: int
    broadcasts_this_month: int
    # Messages since the bot began, per kind (alert, broadcast, notice).
    sent_in_all: dict[str, int]
    failed_in_all: dict[str, int]


async def gather_stats(session: AsyncSession, now: datetime, zone_month_start: datetime) -> Stats:
    async def count(query: Select[int]) -> int:
        return int(await session.scalar(query) or 0)

    def chats(*where: ColumnElement[bool]) -> Select[int]:
        return select(func.count()).select_from(Chat).where(*where)

    def alerts(rows: ColumnElement[bool], counted_on: Any, since: datetime) -> Select[int]:
        return (
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.kind == DeliveryKind.ALERT, rows, counted_on >= since)
        )

    per_topic = await session.execute(
        select(Subscription.topic, func.count())
        .join(Chat, Chat.id == Subscription.chat_id)
        .where(Chat.active.is_(True))
        .group_by(Subscription.topic)
    )
    day, week = now - timedelta(days=1), now - timedelta(days=7)
    return Stats(
        active_chats=await count(chats(Chat.active.is_(True))),
        inactive_chats=await count(chats(Chat.active.is_(False))),
        active_groups=await count(
            chats(Chat.active.is_(True), Chat.type.in_(["group", "supergroup", "channel"]))
        ),
        subscribers={str(topic): int(number) for topic, number in per_topic},
        items=await count(select(func.count()).select_from(Item)),
        alerts_sent_day=await count(alerts(SENT_ROWS, Delivery.sent_at, day)),
        alerts_failed_day=await count(alerts(FAILED_ROWS, Delivery.created_at, day)),
        alerts_sent_week=await count(alerts(SENT_ROWS, Delivery.sent_at, week)),
        alerts_failed_week=await count(alerts(FAILED_ROWS, Delivery.created_at, week)),
        outbox=await outbox_depth(session),
        broadcasts_this_month=await count(
            select(func.count())
            .select_from(Broadcast)
            .where(Broadcast.created_at >= zone_month_start)
        ),
        sent_in_all=await _in_all(session, SENT_ROWS, DeliveryStatus.SENT),
        failed_in_all=await _in_all(session, FAILED_ROWS, DeliveryStatus.FAILED),
    )


async def _in_all(
    session: AsyncSession, rows: ColumnElement[bool], status: DeliveryStatus
) -> dict[str, int]:
    """Messages of one status since the bot began, per kind: stored rows plus rolled-up ones."""
    # One statement, so one snapshot on PostgreSQL too: a purge committing in between
    # would otherwise count its batch twice or not at all.
    stored = select(Delivery.kind, func.count().label("number")).where(rows)
    rolled_up = select(DeliveryRollup.kind, func.sum(DeliveryRollup.count).label("number")).where(
        DeliveryRollup.topic == ALL_NEWS, DeliveryRollup.status == status
    )
    both = union_all(
        stored.group_by(Delivery.kind), rolled_up.group_by(DeliveryRollup.kind)
    ).subquery()
    totals = await session.execute(
        select(both.c.kind, func.sum(both.c.number)).group_by(both.c.kind)
    )
    return {str(kind): int(number) for kind, number in totals}
