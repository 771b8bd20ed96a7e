"""The outbox: rows written in the same transaction as what causes them, claimed and settled in
batches by dispatchers.

Writing alert rows in the transaction that stores the item means a crash can never lose an alert:
either the item and its rows are committed together, or neither is (and the item is new again on
the next poll). Claims carry a lease, so rows held by a dispatcher that died are taken over.

Rows hold data, never markup: an item, a broadcast, or a notice naming what it is about
(psgbot.db.enums.Notice and the event or feed). The dispatcher renders each when it sends it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Table,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from psgbot.db.deliveries import status_is
from psgbot.db.engine import dialect_insert, is_postgres
from psgbot.db.enums import DeliveryKind, DeliveryStatus, Notice, Priority
from psgbot.db.models import (
    ALL_NEWS,
    Chat,
    Delivery,
    Item,
    ItemTopic,
    Subscription,
    receiving,
)
from psgbot.db.types import EventChanges
from psgbot.preferences import hold_until

PENDING, SENDING, HELD = DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.HELD


# The columns an alert row's INSERT … SELECT writes: the chat and item, then alert_values().
ALERT_COLUMNS = ["chat_id", "item_id", "kind", "status", "due_at", "attempts", "created_at"]


def alert_values(now: datetime) -> tuple[ColumnElement[Any], ...]:
    """An alert row's other values, for a query that joins its Chat: pending now, or held until
    the chat's digest or the end of its quiet hours (psgbot.preferences)."""
    hold = hold_until(now)
    return (
        literal(DeliveryKind.ALERT.value),
        case((hold.is_(None), literal(PENDING.value)), else_=literal(HELD.value)),
        func.coalesce(hold, literal(now, type_=Delivery.due_at.type)),
        literal(0),
        literal(now, type_=Delivery.created_at.type),
    )


async def enqueue_alerts(
    session: AsyncSession,
    item_ids: Sequence[int],
    now: datetime,
    *,
    topics: Collection[str] | None = None,
) -> int:
    """Writes one alert row per (active subscribed chat, item) with a single INSERT … SELECT.

    A chat matches an item when it follows one of the item's topics or all news: two index
    joins (tag to followers of the topic; item to followers of all news). A chat reached both
    ways, or twice, gets one row (the conflict is skipped, no sort needed), and so does a chat
    enqueued again: the unique (chat, item) constraint is what makes an alert once only, however
    often the item is enqueued. With ``topics`` (an editor added them to the item) only their
    followers are matched, not all news, and only among them those without a row for the item.
    A chat on digests or in its quiet hours gets its row held until then (:func:`claim_held`
    gathers it).
    """
    if not item_ids or (topics is not None and not topics):
        return 0
    constants = alert_values(now)
    active = and_(Chat.id == Subscription.chat_id, receiving())
    by_topic = (
        select(Subscription.chat_id, ItemTopic.item_id, *constants)
        .select_from(ItemTopic)
        .join(Subscription, Subscription.topic == ItemTopic.topic)
        .join(Chat, active)
        .where(ItemTopic.item_id.in_(item_ids))
    )
    if topics is not None:
        by_topic = by_topic.where(ItemTopic.topic.in_(sorted(topics)))
    all_news = (
        select(Subscription.chat_id, Item.id, *constants)
        .select_from(Item)
        .join(Subscription, Subscription.topic == ALL_NEWS)
        .join(Chat, active)
        .where(Item.id.in_(item_ids))
    )
    matched = by_topic if topics is not None else union_all(by_topic, all_news)
    statement = (
        dialect_insert(session)(Delivery)
        # WHERE true: SQLite reads "FROM x ON CONFLICT" as a join without it.
        .from_select(ALERT_COLUMNS, select(matched.subquery()).where(true()))
        .on_conflict_do_nothing(index_elements=["chat_id", "item_id"])
    )
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


async def enqueue_notice(
    session: AsyncSession,
    chat_ids: Sequence[int],
    notice: Notice,
    now: datetime,
    *,
    event_id: int | None = None,
    feed_id: int | None = None,
    changes: EventChanges | None = None,
) -> None:
    """Queues the same notice for several chats (a feed's health to admins, an event's change
    to those who asked for reminders, with what changed, …); it is rendered when it is sent."""
    if chat_ids:
        await session.execute(
            insert(Delivery),
            [
                {
                    "chat_id": chat_id,
                    "kind": DeliveryKind.NOTICE,
                    "notice": notice,
                    "event_id": event_id,
                    "feed_id": feed_id,
                    "changes": changes,
                    "status": PENDING,
                    "due_at": now,
                    "attempts": 0,
                    "created_at": now,
                }
                for chat_id in chat_ids
            ],
        )


@dataclass(frozen=True)
class Claimed:
    """A claimed row, detached from the session: what the dispatcher needs to send it."""

    id: int
    chat_id: int
    kind: DeliveryKind
    item_id: int | None
    text: str | None
    attempts: int
    broadcast_id: int | None
    notice: Notice | None = None
    event_id: int | None = None
    feed_id: int | None = None
    event_start: datetime | None = None
    reminder_hours: int | None = None
    priority: int = Priority.ALERT
    changes: EventChanges | None = None
    # When it was due: a held alert's, the time it was held until.
    due_at: datetime | None = None


OUTBOX_PRIORITIES = [priority for priority in Priority if priority != Priority.REPLY]
# What a claim returns, in Claimed's order, so a row becomes a Claimed by position.
CLAIMED_COLUMNS = [getattr(Delivery, field.name) for field in fields(Claimed)]


async def claim_due(
    session: AsyncSession,
    worker: str,
    limit: int,
    now: datetime,
    lease: timedelta,
    *,
    take_over: bool = True,
) -> list[Claimed]:
    """Marks up to ``limit`` due rows as this worker's, oldest first, and returns them.

    Due rows are, with ``take_over``, rows another dispatcher claimed longer than ``lease`` ago
    (it died mid-send), then pending ones whose time has come, most urgent first. Each read goes
    through a partial index and stops after ``limit`` rows, however many wait. On PostgreSQL the
    candidate rows are locked with SKIP LOCKED, so concurrent dispatchers each take different
    rows without waiting; SQLite serialises writers, which gives the same guarantee.
    """
    pending, sending = status_is(PENDING), status_is(SENDING)
    expired = (
        select(Delivery.id)
        .where(sending, Delivery.claimed_at < now - lease)
        .order_by(Delivery.claimed_at)
        .limit(limit)
    )
    claimed = await _claim(session, expired, worker, now) if take_over else []
    # One index range per priority, most urgent first, until the batch is full. Replies are
    # never outbox rows: their level is not read.
    for priority in OUTBOX_PRIORITIES:
        if len(claimed) >= limit:
            break
        due = (
            select(Delivery.id)
            .where(pending, Delivery.priority == int(priority), Delivery.due_at <= now)
            .order_by(Delivery.due_at, Delivery.id)
            .limit(limit - len(claimed))
        )
        claimed += await _claim(session, due, worker, now)
    return sorted(claimed, key=lambda row: (row.priority, row.id))


async def claim_held(
    session: AsyncSession, worker: str, limit: int, now: datetime
) -> list[Claimed]:
    """Claims every held alert of up to ``limit`` chats whose hold has ended (their digest is
    due, or their quiet hours are over): each chat's are sent as one message."""
    chats = (
        select(Delivery.chat_id)
        .where(status_is(HELD), Delivery.due_at <= now)
        .distinct()
        .limit(limit)
        .scalar_subquery()
    )
    held = select(Delivery.id).where(status_is(HELD), Delivery.chat_id.in_(chats))
    return await _claim(session, held, worker, now)


async def _claim(
    session: AsyncSession, candidates: Select[Any], worker: str, now: datetime
) -> list[Claimed]:
    if is_postgres(session):
        candidates = candidates.with_for_update(skip_locked=True)
    statement = (
        update(Delivery)
        .where(Delivery.id.in_(candidates.scalar_subquery()))
        .values(status=SENDING, claimed_by=worker, claimed_at=now)
        .returning(*CLAIMED_COLUMNS)
    )
    rows = await session.execute(statement, execution_options={"synchronize_session": False})
    return [Claimed(*row) for row in rows]


@dataclass(frozen=True)
class Outcome:
    """How one claimed row ended: sent (with Telegram's message id), retried later, or over.

    ``pinned`` is whether a message to be pinned was (None: no pin was asked for); a refused
    pin leaves the message sent."""

    delivery_id: int
    status: DeliveryStatus
    message_id: int | None = None
    error: str | None = None
    due_at: datetime | None = None
    attempts: int | None = None
    pinned: bool | None = None


async def settle(
    session: AsyncSession, worker: str, outcomes: Sequence[Outcome], now: datetime
) -> None:
    """Records a batch of outcomes in one executemany.

    Only rows still claimed by this worker are touched: if its lease ran out and another
    dispatcher took a row over, that one's record wins.
    """
    if not outcomes:
        return
    params = [
        {
            "b_id": outcome.delivery_id,
            "b_status": outcome.status,
            "b_message_id": outcome.message_id,
            "b_error": outcome.error,
            "b_sent_at": now if outcome.status == DeliveryStatus.SENT else None,
            "b_due_at": outcome.due_at or now,
            "b_attempts": outcome.attempts,
        }
        for outcome in outcomes
    ]
    # Core table, not the ORM entity: this is a plain executemany with a WHERE of its own.
    table = cast(Table, Delivery.__table__)
    statement = (
        update(table)
        .where(
            table.c.id == bindparam("b_id"), table.c.claimed_by == worker, table.c.status == SENDING
        )
        .values(
            status=bindparam("b_status"),
            message_id=bindparam("b_message_id"),
            error=bindparam("b_error"),
            sent_at=bindparam("b_sent_at"),
            due_at=bindparam("b_due_at"),
            attempts=func.coalesce(bindparam("b_attempts", type_=Integer), table.c.attempts),
            claimed_by=None,
            claimed_at=None,
        )
    )
    await session.execute(statement, params)


async def cancel_pending(session: AsyncSession, chat_id: int, reason: str) -> None:
    """Cancels what waits for a chat: pending rows and held alerts."""
    await session.execute(
        update(Delivery)
        .where(Delivery.chat_id == chat_id, Delivery.status.in_([PENDING, HELD]))
        .values(status=DeliveryStatus.CANCELLED, error=reason)
    )


async def outbox_depth(session: AsyncSession) -> int:
    """Rows waiting or being sent: counted through the two partial indexes."""
    depth = 0
    for status in (PENDING, SENDING):
        count = await session.scalar(
            select(func.count()).select_from(Delivery).where(status_is(status))
        )
        depth += int(count or 0)
    return depth


async def release_claims(session: AsyncSession, worker: str) -> None:
    """Gives a stopping dispatcher's unsent rows back, so the next start sends them at once."""
    await session.execute(
        update(Delivery)
        .where(Delivery.claimed_by == worker, Delivery.status == SENDING)
        .values(status=PENDING, claimed_by=None, claimed_at=None)
    )


async def renew_claims(session: AsyncSession, worker: str, now: datetime) -> None:
    """Extends the lease on the rows this dispatcher is still sending.

    Rows locked at that moment are skipped: only this worker's own settling locks them, and it is
    taking them out of SENDING anyway. Waiting for them instead could deadlock with a settle that
    locks the same rows in another order (PostgreSQL; SQLite has a single writer).
    """
    sending = (
        select(Delivery.id)
        .where(Delivery.claimed_by == worker, Delivery.status == SENDING)
        .with_for_update(skip_locked=True)
    )
    await session.execute(
        update(Delivery).where(Delivery.id.in_(sending.scalar_subquery())).values(claimed_at=now)
    )
