"""A claimed batch on its way out: what it names, read once (items, broadcasts, events, feeds
and its chats as they are now), and the messages it becomes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, LinkPreviewOptions, MessageEntity

from psgbot.db.enums import DigestMode, Priority
from psgbot.db.models import Broadcast, Chat, Event, Feed, Item, speaks
from psgbot.i18n import Language
from psgbot.outbox import Claimed, Outcome

# Where a broadcast may be pinned: groups. Channels are not pinned (the bot would need the
# right to edit the channel's messages), nor private chats.
PINNED_CHAT_TYPES = ("group", "supergroup")
CHANNEL_TYPE = "channel"


@dataclass
class Send:
    """One message to send, standing for one or more outbox rows (a digest covers several).

    Text is HTML unless ``entities`` are given (a broadcast keeps its author's formatting as
    Telegram entities); with ``photo`` the text is the caption. A ``silent`` message arrives
    without a sound (an ordinary broadcast); a ``pin`` one is pinned once sent (an urgent
    broadcast its author chose to pin, in a group). ``thread_id`` is the forum thread it
    goes to (None: the chat itself, a forum's General topic).

    Link previews are off unless ``preview`` says what to show (an alert: its article). An
    alert's ``photo`` is its item's picture (``image_of``), a URL Telegram fetches: if Telegram
    cannot, the same message goes as text with the preview.
    """

    chat_id: int
    rows: list[Claimed]
    text: str
    markup: InlineKeyboardMarkup | None = None
    entities: list[MessageEntity] | None = None
    photo: str | None = None
    preview: LinkPreviewOptions | None = None
    image_of: int | None = None
    priority: Priority = Priority.ALERT
    silent: bool = False
    pin: bool = False
    thread_id: int | None = None
    # The keyboard as Telegram's JSON, built once for all the sends of a fan-out.
    markup_json: dict[str, Any] | None = field(default=None, repr=False)


@dataclass
class Batch:
    """A claimed batch made ready: the sends, rows already settled, and items' storage times."""

    sends: list[Send]
    outcomes: list[Outcome]
    stored_at: dict[int, datetime]

    def add(self, prepared: Send | Outcome) -> None:
        if isinstance(prepared, Send):
            self.sends.append(prepared)
        else:
            self.outcomes.append(prepared)


@dataclass(frozen=True)
class ChatNow:
    language: Language
    digest: DigestMode
    timezone: str | None
    kind: str
    quiet: tuple[time | None, time | None] = (None, None)

    @property
    def group(self) -> bool:
        return self.kind in PINNED_CHAT_TYPES

    @property
    def channel(self) -> bool:
        return self.kind == CHANNEL_TYPE


@dataclass
class Stored:
    """What a batch's rows name, read in one query per table."""

    items: dict[int, Item]
    broadcasts: dict[int, Broadcast]
    events: dict[int, Event]
    feeds: dict[int, Feed]
    # What the batch's chats are now: the language each speaks (psgbot.db.models.Chat.speaks),
    # how it takes alerts, its time zone, whether it is a group, its quiet hours.
    chats: dict[int, ChatNow]

    def language_of(self, chat_id: int) -> Language:
        chat = self.chats.get(chat_id)
        return chat.language if chat else Language.EN

    @classmethod
    async def load(cls, session: AsyncSession, claimed: Sequence[Claimed]) -> Stored:
        rows = await session.execute(
            select(
                Chat.id,
                Chat.language,
                Chat.telegram_language,
                Chat.digest,
                Chat.timezone,
                Chat.type,
                Chat.quiet_from,
                Chat.quiet_until,
            ).where(Chat.id.in_({row.chat_id for row in claimed}))
        )
        chats = {
            chat_id: ChatNow(speaks(chosen, telegram), digest, zone, kind, (starts, ends))
            for chat_id, chosen, telegram, digest, zone, kind, starts, ends in rows
        }
        return cls(
            chats=chats,
            items=await _by_id(session, Item, {row.item_id for row in claimed if row.item_id}),
            broadcasts=await _by_id(
                session, Broadcast, {row.broadcast_id for row in claimed if row.broadcast_id}
            ),
            events=await _by_id(session, Event, {row.event_id for row in claimed if row.event_id}),
            feeds=await _by_id(session, Feed, {row.feed_id for row in claimed if row.feed_id}),
        )


Model = TypeVar("Model", Item, Broadcast, Event, Feed)


async def _by_id(session: AsyncSession, model: type[Model], ids: set[int]) -> dict[int, Model]:
    if not ids:
        return {}
    return {row.id: row for row in await session.scalars(select(model).where(model.id.in_(ids)))}
