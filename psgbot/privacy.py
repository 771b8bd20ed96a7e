"""What the bot keeps about a chat, and how it lets go of it: the record /mydata sends, /forget's
erasure, /stop, and the purges of chats that blocked or dropped the bot and of reminders of
events that are over (see PRIVACY.md).

A chat is its id and type, its settings (language, announcements, stopped, time zone, digests,
quiet hours), its subscriptions, its watches, its reminders and the outbox rows of messages to
it. Nothing else names it: no title, name or username is stored, and the audit log holds
admins' ids only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from psgbot.db.enums import DeliveryStatus
from psgbot.db.models import Chat, Delivery, Event, Reminder, Subscription, Watch
from psgbot.outbox import cancel_pending
from psgbot.retention import SETTLED, roll_up_and_delete

# Rows of the outbox /mydata lists in full (the newest); older ones are counted.
RECENT_DELIVERIES = 100
# An event without an end time is over this long after it starts.
EVENT_WITHOUT_END = timedelta(days=1)
# Chats forgotten per transaction by the purge.
PURGE_BATCH = 200


async def chat_record(session: AsyncSession, chat_id: int) -> dict[str, Any] | None:
    """Everything stored about the chat, as JSON-ready data; None when nothing is."""
    chat = await session.get(Chat, chat_id)
    subscriptions = list(
        await session.execute(
            select(Subscription.topic, Subscription.created_at, Subscription.thread_id)
            .where(Subscription.chat_id == chat_id)
            .order_by(Subscription.topic)
        )
    )
    watches = list(
        await session.execute(
            select(Watch.phrase, Watch.created_at)
            .where(Watch.chat_id == chat_id)
            .order_by(Watch.id)
        )
    )
    reminders = list(
        await session.execute(
            select(Reminder.event_id, Event.title, Event.starts_at, Reminder.created_at)
            .join(Event, Event.id == Reminder.event_id)
            .where(Reminder.chat_id == chat_id)
            .order_by(Event.starts_at)
        )
    )
    total = int(await session.scalar(select(func.count()).where(Delivery.chat_id == chat_id)) or 0)
    deliveries = list(
        await session.scalars(
            select(Delivery)
            .where(Delivery.chat_id == chat_id)
            .order_by(Delivery.id.desc())
            .limit(RECENT_DELIVERIES)
        )
    )
    if chat is None and not (subscriptions or watches or reminders or total):
        return None
    return {
        "chat": None if chat is None else _chat_fields(chat),
        "subscriptions": [
            {"topic": topic, "since": _when(since), "forum_thread": thread}
            for topic, since, thread in subscriptions
        ],
        "watches": [{"phrase": phrase, "since": _when(since)} for phrase, since in watches],
        "reminders": [
            {"event_id": event_id, "event": title, "starts_at": _when(starts), "since": _when(at)}
            for event_id, title, starts, at in reminders
        ],
        "messages_stored": total,
        "recent_messages": [_message_fields(row) for row in deliveries],
    }


def _chat_fields(chat: Chat) -> dict[str, Any]:
    return {
        "id": chat.id,
        "type": chat.type,
        "active": chat.active,
        "inactive_reason": chat.inactive_reason,
        "inactive_since": _when(chat.inactive_since),
        "stopped_at": _when(chat.stopped_at),
        "announcements": chat.announcements,
        "timezone": chat.timezone,
        "digest": chat.digest,
        "digest_time": chat.digest_time.isoformat() if chat.digest_time else None,
        "digest_weekday": chat.digest_weekday,
        "quiet_from": chat.quiet_from.isoformat() if chat.quiet_from else None,
        "quiet_until": chat.quiet_until.isoformat() if chat.quiet_until else None,
        "language": chat.language,
        "telegram_language": chat.telegram_language,
        "created_at": _when(chat.created_at),
        "updated_at": _when(chat.updated_at),
    }


def _message_fields(row: Delivery) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "status": row.status,
        "item_id": row.item_id,
        "broadcast_id": row.broadcast_id,
        "notice": row.notice,
        "event_id": row.event_id,
        "feed_id": row.feed_id,
        "event_start": _when(row.event_start),
        "reminder_hours": row.reminder_hours,
        "changes": {
            field.value: [_when(v) if isinstance(v, datetime) else v for v in pair]
            for field, pair in (row.changes or {}).items()
        }
        or None,
        "key": row.key,
        "text": row.text,
        "created_at": _when(row.created_at),
        "due_at": _when(row.due_at),
        "sent_at": _when(row.sent_at),
        "attempts": row.attempts,
        "error": row.error,
    }


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def forget_chat(session: AsyncSession, chat_id: int) -> None:
    """Deletes every row about the chat, in the caller's transaction: its subscriptions,
    watches, reminders, settings and chat row, and its messages, waiting, in flight or settled.

    Messages are first added to the anonymous daily counts (as the retention purge does), so
    /stats and a broadcast's figures keep what was sent without keeping to whom. A message a
    dispatcher is sending right now loses its row: the dispatcher's record of it finds nothing.
    """
    await session.execute(
        update(Delivery)
        .where(
            Delivery.chat_id == chat_id,
            Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
        )
        .values(
            status=DeliveryStatus.CANCELLED,
            error="chat forgotten",
            claimed_by=None,
            claimed_at=None,
        )
    )
    for settled in SETTLED:
        ids = list(
            await session.scalars(
                select(Delivery.id).where(settled.where, Delivery.chat_id == chat_id)
            )
        )
        if ids:
            await roll_up_and_delete(session, ids, settled.counted_on)
    await session.execute(delete(Subscription).where(Subscription.chat_id == chat_id))
    await session.execute(delete(Watch).where(Watch.chat_id == chat_id))
    await session.execute(delete(Reminder).where(Reminder.chat_id == chat_id))
    await session.execute(delete(Chat).where(Chat.id == chat_id))


async def stop_chat(session: AsyncSession, chat_id: int, now: datetime) -> None:
    """/stop: nothing more is sent to the chat (alerts, reminders, announcements) until it
    subscribes or watches again; what was waiting is cancelled. Its choices (topics, watches)
    are kept for Undo."""
    await session.execute(update(Chat).where(Chat.id == chat_id).values(stopped_at=now))
    await cancel_pending(session, chat_id, "chat stopped")


async def resume_chat(session: AsyncSession, chat_id: int) -> bool:
    """Clears /stop; True when the chat had stopped."""
    result = await session.execute(
        update(Chat).where(Chat.id == chat_id, Chat.stopped_at.is_not(None)).values(stopped_at=None)
    )
    return bool(getattr(result, "rowcount", 0))


async def is_stopped(session: AsyncSession, chat_id: int) -> bool:
    stopped = await session.scalar(select(Chat.stopped_at).where(Chat.id == chat_id))
    return stopped is not None


async def set_announcements(session: AsyncSession, chat_id: int, on: bool) -> None:
    await session.execute(update(Chat).where(Chat.id == chat_id).values(announcements=on))


async def wants_announcements(session: AsyncSession, chat_id: int) -> bool:
    """The chat's announcements setting (on for a chat not stored yet)."""
    on = await session.scalar(select(Chat.announcements).where(Chat.id == chat_id))
    return on is None or bool(on)


@dataclass(frozen=True)
class Purged:
    chats: int = 0
    reminders: int = 0


async def purge_inactive(
    sessions: async_sessionmaker[AsyncSession], now: datetime, retention: timedelta
) -> Purged:
    """Forgets every chat inactive (blocked, kicked, removed, migrated) for longer than
    ``retention``, a batch of chats per transaction, and deletes the reminders of events that
    are over."""
    cutoff = now - retention
    chats = 0
    while True:
        async with sessions.begin() as session:
            ids = list(
                await session.scalars(
                    select(Chat.id)
                    .where(Chat.active.is_(False), Chat.inactive_since < cutoff)
                    .limit(PURGE_BATCH)
                )
            )
            for chat_id in ids:
                await forget_chat(session, chat_id)
        chats += len(ids)
        if len(ids) < PURGE_BATCH:
            break
    async with sessions.begin() as session:
        reminders = await purge_past_reminders(session, now)
    return Purged(chats=chats, reminders=reminders)


async def purge_past_reminders(session: AsyncSession, now: datetime) -> int:
    """Deletes the reminders of events that are over: a reminder says who meant to attend."""
    over = select(Event.id).where(
        or_(
            Event.ends_at < now,
            and_(Event.ends_at.is_(None), Event.starts_at < now - EVENT_WITHOUT_END),
        )
    )
    result = await session.execute(delete(Reminder).where(Reminder.event_id.in_(over)))
    return int(getattr(result, "rowcount", 0) or 0)
