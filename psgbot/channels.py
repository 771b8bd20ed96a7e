"""Channels the bot posts the news to: connected by an owner, each a chat of type "channel"
with its subscriptions, so its alerts go through the outbox like any chat's.

A channel's name is never stored: Telegram is asked for it when a channel is shown (see
PRIVACY.md). Disconnecting forgets the channel as /forget forgets a chat.

A channel's posts are in the language of the owner who connected it (the language of their
private chat with the bot), until an owner chooses another from /channel's list: nobody can
send /language in a channel.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from psgbot.chats import follow, followed_topics, unfollow
from psgbot.db.models import Chat, Subscription
from psgbot.db.types import utcnow
from psgbot.i18n import Language
from psgbot.privacy import forget_chat

CHANNEL = "channel"


@dataclass(frozen=True)
class ConnectedChannel:
    """A channel the bot posts to: its id, the topics it gets, whether it gets the PSG's
    announcements to everyone, and the language of its posts."""

    id: int
    topics: frozenset[str]
    announcements: bool
    language: Language


async def connected_channels(session: AsyncSession) -> list[ConnectedChannel]:
    """The channels the bot posts to (active ones), in the order they were connected."""
    chats = list(
        await session.scalars(
            select(Chat)
            .where(Chat.type == CHANNEL, Chat.active.is_(True))
            .order_by(Chat.created_at, Chat.id)
        )
    )
    topics: dict[int, set[str]] = {chat.id: set() for chat in chats}
    if chats:
        rows = await session.execute(
            select(Subscription.chat_id, Subscription.topic).where(
                Subscription.chat_id.in_(list(topics))
            )
        )
        for chat_id, topic in rows:
            topics[chat_id].add(topic)
    return [
        ConnectedChannel(chat.id, frozenset(topics[chat.id]), chat.announcements, chat.speaks)
        for chat in chats
    ]


async def current_choice(session: AsyncSession, chat_id: int) -> tuple[set[str], bool]:
    """What a channel gets (its topics and announcements), to start its keyboard from: those
    it had when the bot lost its place there, too. A channel never connected gets nothing yet,
    and announcements as every chat does."""
    chat = await session.get(Chat, chat_id)
    if chat is None or chat.type != CHANNEL:
        return set(), True
    return await followed_topics(session, chat_id), chat.announcements


async def connect_channel(
    session: AsyncSession,
    chat_id: int,
    topics: Collection[str],
    announcements: bool,
    language: Language,
) -> Language:
    """Stores the channel (or brings it back) with exactly these topics. Its posts are in
    ``language`` (the connecting owner's) unless an owner chose its language before; returns
    the language they are in."""
    now = utcnow()
    chat = await session.get(Chat, chat_id)
    if chat is None:
        chat = Chat(id=chat_id, type=CHANNEL, created_at=now)
        session.add(chat)
    chat.type, chat.active, chat.inactive_reason, chat.inactive_since = CHANNEL, True, None, None
    chat.stopped_at, chat.announcements, chat.updated_at = None, announcements, now
    # Not whoever added the bot to the channel (its telegram_language): the owner connecting it.
    chat.language = chat.language or language
    await session.flush()
    await unfollow(session, chat_id, None)
    await follow(session, chat_id, topics)
    return chat.language


async def set_channel_language(session: AsyncSession, chat_id: int, language: Language) -> bool:
    """The language of a channel's posts from now on; False when it is not a connected (stored
    and active) channel."""
    chat = await session.get(Chat, chat_id)
    if chat is None or chat.type != CHANNEL or not chat.active:
        return False
    chat.language, chat.updated_at = language, utcnow()
    return True


async def disconnect_channel(session: AsyncSession, chat_id: int) -> bool:
    """Forgets a connected channel (every row about it); False when it is not one."""
    chat = await session.get(Chat, chat_id)
    if chat is None or chat.type != CHANNEL:
        return False
    await forget_chat(session, chat_id)
    return True
