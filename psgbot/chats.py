"""Chats and their subscriptions: who hears about what."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Chat as TelegramChat

from psgbot.db.engine import dialect_insert
from psgbot.db.enums import DeliveryStatus
from psgbot.db.models import Chat, Delivery, Reminder, Subscription, Watch
from psgbot.db.types import utcnow
from psgbot.i18n import Language, current_language
from psgbot.outbox import cancel_pending


async def ensure_chat(session: AsyncSession, chat: TelegramChat, *, active: bool = True) -> Chat:
    """The stored chat for a Telegram chat, created or refreshed (and reactivated) as needed.

    Only the id and type are kept: never the chat's title, name or username. A new chat speaks
    the language of the update that brought it (psgbot.bot.language) until one is chosen. A
    channel gets nothing until an owner connects it (/channel, psgbot.channels): anyone may add
    the bot to their own channel, and that must not make it a recipient of announcements.
    """
    stored = await session.get(Chat, chat.id)
    if stored is None:
        stored = Chat(
            id=chat.id,
            type=chat.type,
            active=active,
            telegram_language=current_language(),
            announcements=chat.type != TelegramChat.CHANNEL,
        )
        session.add(stored)
        await session.flush()
    else:
        stored.type = chat.type
        if active and not stored.active:
            stored.active, stored.inactive_reason, stored.inactive_since = True, None, None
        stored.updated_at = utcnow()
    return stored


async def is_known(session: AsyncSession, chat_id: int) -> bool:
    """Whether the chat has been here before (a row is kept until the chat is forgotten)."""
    return await session.get(Chat, chat_id) is not None


class Reader(NamedTuple):
    """How a stored chat reads: its chosen language, its Telegram language, its chosen zone."""

    language: Language | None
    telegram_language: Language | None
    timezone: str | None


async def stored_reader(session: AsyncSession, chat_id: int) -> Reader | None:
    """How the chat reads, in one read; None for a chat not stored."""
    row = (
        await session.execute(
            select(Chat.language, Chat.telegram_language, Chat.timezone).where(Chat.id == chat_id)
        )
    ).one_or_none()
    return None if row is None else Reader(row[0], row[1], row[2])


async def note_telegram_language(session: AsyncSession, chat_id: int, language: Language) -> None:
    """A private chat's user now runs Telegram in ``language``: what is sent unasked follows."""
    await session.execute(update(Chat).where(Chat.id == chat_id).values(telegram_language=language))


async def choose_language(session: AsyncSession, chat: TelegramChat, language: Language) -> None:
    """/language: the chat's language from now on, whatever Telegram's."""
    stored = await ensure_chat(session, chat)
    stored.language = language


async def followed_topics(session: AsyncSession, chat_id: int) -> set[str]:
    rows = await session.scalars(select(Subscription.topic).where(Subscription.chat_id == chat_id))
    return set(rows)


async def followed_threads(session: AsyncSession, chat_id: int) -> dict[str, int | None]:
    """The topics a chat follows, each with the forum thread its alerts go to."""
    subscriptions = await session.scalars(
        select(Subscription).where(Subscription.chat_id == chat_id)
    )
    return {subscription.topic: subscription.thread_id for subscription in subscriptions}


async def follow(session: AsyncSession, chat_id: int, topics: Iterable[str]) -> None:
    values = [{"chat_id": chat_id, "topic": topic, "created_at": utcnow()} for topic in topics]
    if not values:
        return
    statement = dialect_insert(session)(Subscription).values(values).on_conflict_do_nothing()
    await session.execute(statement)


async def follow_in_thread(
    session: AsyncSession, chat_id: int, topic: str, thread_id: int | None
) -> None:
    """Follows a topic in a forum, its alerts going to ``thread_id`` (None: the General topic);
    a topic already followed moves to that thread."""
    values = {"chat_id": chat_id, "topic": topic, "created_at": utcnow(), "thread_id": thread_id}
    statement = (
        dialect_insert(session)(Subscription)
        .values(values)
        .on_conflict_do_update(index_elements=["chat_id", "topic"], set_={"thread_id": thread_id})
    )
    await session.execute(statement)


async def clear_thread(session: AsyncSession, chat_id: int, thread_id: int) -> None:
    """A forum thread Telegram no longer knows (deleted): its topics go to the General topic."""
    await session.execute(
        update(Subscription)
        .where(Subscription.chat_id == chat_id, Subscription.thread_id == thread_id)
        .values(thread_id=None)
    )


async def unfollow(session: AsyncSession, chat_id: int, topics: Iterable[str] | None) -> None:
    """Drops the given topics, or every subscription when ``topics`` is None."""
    statement = delete(Subscription).where(Subscription.chat_id == chat_id)
    if topics is not None:
        statement = statement.where(Subscription.topic.in_(list(topics)))
    await session.execute(statement)


async def set_active(session: AsyncSession, chat: TelegramChat, active: bool, reason: str) -> None:
    """Records that the bot was added back (active) or blocked, kicked or removed."""
    await ensure_chat(session, chat, active=active)
    if not active:
        await deactivate(session, chat.id, reason)


# What Telegram's answers and membership statuses say, reduced to a fixed word: the stored
# reason never holds who blocked or removed the bot, nor anything else Telegram wrote.
REASON_WORDS = ("migrated", "blocked", "kicked", "left", "not found", "deactivated")


def short_reason(reason: str) -> str:
    lowered = reason.lower()
    return next((word for word in REASON_WORDS if word in lowered), "unreachable")


async def deactivate(session: AsyncSession, chat_id: int, reason: str) -> None:
    """Stops sending to a chat that blocked or dropped the bot, cancelling what was waiting.

    Its subscriptions are kept, so a supporter who unblocks the bot gets the same alerts again;
    the chat's data is deleted once it has been inactive for PSGBOT_INACTIVE_RETENTION
    (psgbot.privacy.purge_inactive).
    """
    word = short_reason(reason)
    now = utcnow()
    await session.execute(
        update(Chat)
        .where(Chat.id == chat_id)
        .values(
            active=False,
            inactive_reason=word,
            inactive_since=func.coalesce(Chat.inactive_since, now),
            updated_at=now,
        )
    )
    await cancel_pending(session, chat_id, f"chat inactive: {word}")


async def migrate(session: AsyncSession, old_id: int, new_id: int) -> None:
    """A group became a supergroup: its subscriptions, watches, reminders and pending rows move
    to the new id."""
    old = await session.get(Chat, old_id)
    if old is None or await session.get(Chat, new_id) is not None:
        return
    session.add(
        Chat(
            id=new_id,
            type="supergroup",
            active=True,
            stopped_at=old.stopped_at,
            announcements=old.announcements,
            language=old.language,
            telegram_language=old.telegram_language,
        )
    )
    await session.flush()
    await session.execute(
        update(Subscription).where(Subscription.chat_id == old_id).values(chat_id=new_id)
    )
    await session.execute(update(Watch).where(Watch.chat_id == old_id).values(chat_id=new_id))
    await session.execute(update(Reminder).where(Reminder.chat_id == old_id).values(chat_id=new_id))
    await session.execute(
        update(Delivery)
        .where(Delivery.chat_id == old_id, Delivery.status == DeliveryStatus.PENDING)
        .values(chat_id=new_id)
    )
    old.active = False
    old.inactive_reason = "migrated"
    old.inactive_since = utcnow()
