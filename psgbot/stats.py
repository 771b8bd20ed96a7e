"""Figures for /stats: chats, subscribers, items, deliveries, broadcasts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from psgbot.alerts.outbox import FAILED, SENT, outbox_depth
from psgbot.db.models import Broadcast, Chat, Delivery, Item, Subscription


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


async def gather_stats(session: AsyncSession, now: datetime, zone_month_start: datetime) -> Stats:
    async def count(query: Select[int]) -> int:
        return int(await session.scalar(query) or 0)

    def chats(*where: ColumnElement[bool]) -> Select[int]:
        return select(func.count()).select_from(Chat).where(*where)

    def alerts(status: str, since: datetime) -> Select[int]:
        column = Delivery.sent_at if status == SENT else Delivery.created_at
        return (
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.kind == "alert", Delivery.status == status, column >= since)
        )

    per_topic = await session.execute(
        select(Subscription.topic, func.count())
        .join(Chat, Chat.id == Subscription.chat_id)
        .where(Chat.active.is_(True))
        .group_by(Subscription.topic)
    )
    return Stats(
        active_chats=await count(chats(Chat.active.is_(True))),
        inactive_chats=await count(chats(Chat.active.is_(False))),
        active_groups=await count(
            chats(Chat.active.is_(True), Chat.type.in_(["group", "supergroup", "channel"]))
        ),
        subscribers={str(topic): int(number) for topic, number in per_topic},
        items=await count(select(func.count()).select_from(Item)),
        alerts_sent_day=await count(alerts(SENT, now - timedelta(days=1))),
        alerts_failed_day=await count(alerts(FAILED, now - timedelta(days=1))),
        alerts_sent_week=await count(alerts(SENT, now - timedelta(days=7))),
        alerts_failed_week=await count(alerts(FAILED, now - timedelta(days=7))),
        outbox=await outbox_depth(session),
        broadcasts_this_month=await count(
            select(func.count())
            .select_from(Broadcast)
            .where(Broadcast.created_at >= zone_month_start)
        ),
    )
