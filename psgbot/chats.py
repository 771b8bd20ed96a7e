"""Chats and their subscriptions: who hears about what."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Chat as TelegramChat

from psgbot.alerts.outbox import CANCELLED, PENDING, cancel_pending
from psgbot.db.engine import dialect_insert
from psgbot.db.models import Chat, Delivery, Reminder, Subscription
from psgbot.db.types import utcnow


async def ensure_chat(session: AsyncSession, chat: TelegramChat, *, active: bool = True) -> Chat:
    """The stored chat for a Telegram chat, created or refreshed (and reactivated) as needed."""
    stored = await session.get(Chat, chat.id)
    title = chat.title or chat.full_name or chat.username
    if stored is None:
        stored = Chat(id=chat.id, type=chat.type, title=title, active=active)
        session.add(stored)
        await session.flush()
    else:
        stored.type, stored.title = chat.type, title
        if active and not stored.active:
            stored.active, stored.inactive_reason = True, None
        stored.updated_at = utcnow()
    return stored


async def followed_topics(session: AsyncSession, chat_id: int) -> set[str]:
    rows = await session.scalars(select(Subscription.topic).where(Subscription.chat_id == chat_id))
    return set(rows)


async def follow(session: AsyncSession, chat_id: int, topics: Iterable[str]) -> None:
    values = [{"chat_id": chat_id, "topic": topic, "created_at": utcnow()} for topic in topics]
    if not values:
        return
    statement = dialect_insert(session)(Subscription).values(values).on_conflict_do_nothing()
    await session.execute(statement)


async def unfollow(session: AsyncSession, chat_id: int, topics: Iterable[str] | None) -> None:
    """Drops the given topics, or every subscription when ``topics`` is None."""
    statement = delete(Subscription).where(Subscription.chat_id == chat_id)
    if topics is not None:
        statement = statement.where(Subscription.topic.in_(list(topics)))
    await session.execute(statement)


async def stop_alerts(session: AsyncSession, chat_id: int) -> None:
    """/stop: the chat's subscriptions and event reminders end, and the alerts and reminders
    already waiting for it are cancelled (broadcasts still reach every active chat)."""
    await unfollow(session, chat_id, None)
    await session.execute(delete(Reminder).where(Reminder.chat_id == chat_id))
    await session.execute(
        update(Delivery)
        .where(
            Delivery.chat_id == chat_id,
            Delivery.status == PENDING,
            or_(Delivery.kind == "alert", Delivery.key.like("reminder:%")),
        )
        .values(status=CANCELLED, error="the chat stopped its alerts")
    )


async def set_active(session: AsyncSession, chat: TelegramChat, active: bool, reason: str) -> None:
    """Records that the bot was added back (active) or blocked, kicked or removed."""
    await ensure_chat(session, chat, active=active)
    if not active:
        await deactivate(session, chat.id, reason)


async def deactivate(session: AsyncSession, chat_id: int, reason: str) -> None:
    """Stops sending to a chat that blocked or dropped the bot, cancelling what was waiting.

    Its subscriptions are kept, so a supporter who unblocks the bot gets the same alerts again.
    """
    await session.execute(
        update(Chat)
        .where(Chat.id == chat_id)
        .values(active=False, inactive_reason=reason[:500], updated_at=utcnow())
    )
    await cancel_pending(session, chat_id, f"chat inactive: {reason}")


async def migrate(session: AsyncSession, old_id: int, new_id: int) -> None:
    """A group became a supergroup: its subscriptions and pending rows move to the new id."""
    old = await session.get(Chat, old_id)
    if old is None or await session.get(Chat, new_id) is not None:
        return
    session.add(Chat(id=new_id, type="supergroup", title=old.title, active=True))
    await session.flush()
    await session.execute(
        update(Subscription).where(Subscription.chat_id == old_id).values(chat_id=new_id)
    )
    await session.execute(
        update(Delivery)
        .where(Delivery.chat_id == old_id, Delivery.status == PENDING)
        .values(chat_id=new_id)
    )
    old.active = False
    old.inactive_reason = f"migrated to {new_id}"
