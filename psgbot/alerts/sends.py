"""What to send for a batch of claimed outbox rows: alerts (a digest past a threshold), notices
and broadcasts, each with its priority in the flood limiter.

Rows hold data; the messages are rendered here, when they are sent, so they say what is true
then (an event retitled after its reminder was queued is reminded under its new title)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, LinkPreviewOptions, MessageEntity

from psgbot.db.enums import (
    BroadcastStatus,
    DeliveryKind,
    DeliveryStatus,
    DigestMode,
    Notice,
    Priority,
)
from psgbot.db.models import ALL_NEWS, Broadcast, Chat, Event, Feed, Item, Subscription
from psgbot.outbox import Claimed, Outcome
from psgbot.preferences import zone_named
from psgbot.render.digests import gathered_messages
from psgbot.render.events import reminder_keyboard
from psgbot.render.news import (
    alert_caption,
    alert_keyboard,
    alert_message,
    article_preview,
    digest_message,
)
from psgbot.render.notices import notice_message
from psgbot.render.watches import watching_line
from psgbot.services import Services
from psgbot.watches import WatchedPhrases

CANCELLED, FAILED = DeliveryStatus.CANCELLED, DeliveryStatus.FAILED

DIGEST_THRESHOLD = 3  # more alerts than this for one chat at once go as one message
# Where a broadcast may be pinned: groups. Channels are not pinned (the bot would need the
# right to edit the channel's messages), nor private chats.
PINNED_CHAT_TYPES = ("group", "supergroup")


@dataclass
class Send:
    """One message to send, standing for one or more outbox rows (a digest covers several).

    Text is HTML unless ``entities`` are given (a broadcast keeps its author's formatting as
    Telegram entities); with ``photo`` the text is the caption. A ``silent`` message arrives
    without a sound (an ordinary broadcast); a ``pin`` one is pinned once sent (an urgent
    broadcast its author chose to pin, in a group).

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


async def prepare(
    session: AsyncSession,
    services: Services,
    claimed: Sequence[Claimed],
    now: datetime,
    gathered: Collection[int] = (),
) -> Batch:
    """Renders the batch as of now: alerts per chat (a digest past the threshold, and always
    for the ``gathered`` chats, whose held alerts these are), notices from the event or feed
    they are about, broadcasts as their authors wrote them."""
    stored = await _Stored.load(session, claimed)
    batch = Batch(sends=[], outcomes=[], stored_at={})
    alerts_by_chat: dict[int, list[Claimed]] = defaultdict(list)
    for row in claimed:
        if row.kind == DeliveryKind.ALERT and row.item_id in stored.items:
            alerts_by_chat[row.chat_id].append(row)
        elif row.kind == DeliveryKind.ALERT:
            batch.outcomes.append(Outcome(row.id, CANCELLED, error="item no longer stored"))
        elif row.kind == DeliveryKind.BROADCAST:
            batch.add(_broadcast(row, stored))
        else:
            batch.add(_notice(row, stored, now))
    await _add_alerts(session, services, batch, alerts_by_chat, stored.items, gathered)
    batch.stored_at = {item.id: item.first_seen_at for item in stored.items.values()}
    return batch


@dataclass
class _Stored:
    """What a batch's rows name, read in one query per table."""

    items: dict[int, Item]
    broadcasts: dict[int, Broadcast]
    events: dict[int, Event]
    feeds: dict[int, Feed]
    groups: set[int]  # the chats a pinned broadcast goes to that are groups

    @classmethod
    async def load(cls, session: AsyncSession, claimed: Sequence[Claimed]) -> _Stored:
        broadcasts = await _by_id(
            session, Broadcast, {row.broadcast_id for row in claimed if row.broadcast_id}
        )
        pinned = {
            row.chat_id
            for row in claimed
            if row.broadcast_id in broadcasts and broadcasts[row.broadcast_id].pin
        }
        return cls(
            items=await _by_id(session, Item, {row.item_id for row in claimed if row.item_id}),
            broadcasts=broadcasts,
            events=await _by_id(session, Event, {row.event_id for row in claimed if row.event_id}),
            feeds=await _by_id(session, Feed, {row.feed_id for row in claimed if row.feed_id}),
            groups=await _groups(session, pinned),
        )


def _broadcast(row: Claimed, stored: _Stored) -> Send | Outcome:
    broadcast = stored.broadcasts.get(row.broadcast_id or 0)
    if broadcast is None or broadcast.status == BroadcastStatus.CANCELLED:
        return Outcome(row.id, CANCELLED, error="broadcast stopped")
    return broadcast_send(row, broadcast, in_group=row.chat_id in stored.groups)


def _notice(row: Claimed, stored: _Stored, now: datetime) -> Send | Outcome:
    """A notice rendered from what it is about, or why it is not sent."""
    if row.event_start is not None and now >= row.event_start:
        # A reminder held up (the bot was down) past its event's start is no use any more.
        return Outcome(row.id, CANCELLED, error="event already started")
    event = stored.events.get(row.event_id) if row.event_id else None
    if event is not None and event.cancelled and row.notice != Notice.EVENT_CANCELLED:
        # Its reminder, announcement or change would now describe an event that is off.
        return Outcome(row.id, CANCELLED, error="event cancelled")
    if row.notice == Notice.LEGACY or row.notice is None:
        text = row.text
    else:
        feed = stored.feeds.get(row.feed_id) if row.feed_id else None
        text = notice_message(
            row.notice, event=event, feed=feed, hours=row.reminder_hours, changes=row.changes
        )
        if text is None:
            return Outcome(row.id, CANCELLED, error="no longer stored")
    if not text:
        return Outcome(row.id, FAILED, error="nothing to send")
    markup = (
        reminder_keyboard(event)
        if row.notice == Notice.EVENT_REMINDER and event is not None
        else None
    )
    return Send(row.chat_id, [row], text, markup, priority=Priority(row.priority))


async def _add_alerts(
    session: AsyncSession,
    services: Services,
    batch: Batch,
    alerts_by_chat: dict[int, list[Claimed]],
    items: dict[int, Item],
    gathered: Collection[int],
) -> None:
    """Each chat's alerts, or one digest past the threshold; a gathered chat's held alerts as
    its digest. A fan-out sends one item to many chats: each (item, topic or watch, zone) is
    rendered once per batch."""
    followed = await _followed(session, set(alerts_by_chat))
    watching = await WatchedPhrases.load(session, set(alerts_by_chat))
    prefs = await _preferences(session, set(alerts_by_chat))
    default_zone = services.settings.zone
    rendered: dict[tuple[int, str | None, str | None, str], Send] = {}
    for chat_id, rows in alerts_by_chat.items():
        mode, zone_name = prefs.get(chat_id, (DigestMode.INSTANT, None))
        zone = (zone_named(zone_name) if zone_name else None) or default_zone
        chat_items = [items[row.item_id] for row in rows if row.item_id is not None]
        if chat_id in gathered:
            _add_gathered(batch, services, chat_id, rows, chat_items, mode, zone)
            continue
        if len(rows) > DIGEST_THRESHOLD:
            batch.sends.append(Send(chat_id, rows, digest_message(chat_items, services.taxonomy)))
            continue
        for row, item in zip(rows, chat_items, strict=True):
            matched = next((s for s in item.topic_slugs if s in followed[chat_id]), None)
            if matched is None and ALL_NEWS in followed[chat_id]:
                matched = ALL_NEWS
            # Neither a topic nor all news: a watch brought it, and the alert says which.
            phrase = watching.phrase(chat_id, item) if matched is None else None
            key = (item.id, matched, phrase, zone.key)
            if key not in rendered:
                rendered[key] = _alert_model(services, item, matched, phrase, zone)
            batch.sends.append(replace(rendered[key], chat_id=chat_id, rows=[row]))


def _alert_model(
    services: Services, item: Item, matched: str | None, phrase: str | None, zone: ZoneInfo
) -> Send:
    """An alert as every chat it goes to gets it: with the item's picture as a photo when its
    text fits a caption and Telegram has not refused the picture, else as text with a large
    preview of the article."""
    text, markup = render_alert(services, item, matched, phrase, zone)
    shared = markup.to_dict() if markup else None
    picture = item.image_url if item.image_refused_at is None else None
    photo = picture if picture and alert_caption(text) is not None else None
    return Send(
        0,
        [],
        text,
        markup,
        photo=photo,
        preview=article_preview(item),
        image_of=item.id if photo else None,
        markup_json=shared,
    )


def _add_gathered(
    batch: Batch,
    services: Services,
    chat_id: int,
    rows: list[Claimed],
    chat_items: list[Item],
    mode: DigestMode,
    zone: ZoneInfo,
) -> None:
    """A chat's held alerts as one message (more only past Telegram's limit), oldest first."""
    by_item = {row.item_id: row for row in rows}
    ordered = sorted(chat_items, key=lambda item: (item.sort_at, item.id))
    for text, item_ids in gathered_messages(ordered, mode, services.taxonomy, zone):
        batch.sends.append(Send(chat_id, [by_item[item_id] for item_id in item_ids], text))


async def _preferences(
    session: AsyncSession, chat_ids: set[int]
) -> dict[int, tuple[DigestMode, str | None]]:
    """The chats that set a digest or a time zone: how they get alerts, and their zone."""
    if not chat_ids:
        return {}
    rows = await session.execute(
        select(Chat.id, Chat.digest, Chat.timezone).where(
            Chat.id.in_(chat_ids),
            or_(Chat.timezone.is_not(None), Chat.digest != DigestMode.INSTANT),
        )
    )
    return {chat_id: (mode, zone) for chat_id, mode, zone in rows}


Model = TypeVar("Model", Item, Broadcast, Event, Feed)


async def _by_id(session: AsyncSession, model: type[Model], ids: set[int]) -> dict[int, Model]:
    if not ids:
        return {}
    return {row.id: row for row in await session.scalars(select(model).where(model.id.in_(ids)))}


async def _groups(session: AsyncSession, chat_ids: set[int]) -> set[int]:
    """Which of these chats are groups (where a broadcast may be pinned; never a private chat)."""
    if not chat_ids:
        return set()
    return set(
        await session.scalars(
            select(Chat.id).where(Chat.id.in_(chat_ids), Chat.type.in_(PINNED_CHAT_TYPES))
        )
    )


async def _followed(session: AsyncSession, chat_ids: set[int]) -> dict[int, set[str]]:
    followed: dict[int, set[str]] = defaultdict(set)
    if chat_ids:
        subscriptions = await session.execute(
            select(Subscription.chat_id, Subscription.topic).where(
                Subscription.chat_id.in_(chat_ids)
            )
        )
        for chat_id, topic in subscriptions:
            followed[chat_id].add(topic)
    return followed


def render_alert(
    services: Services,
    item: Item,
    matched: str | None,
    watching: str | None = None,
    zone: ZoneInfo | None = None,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The alert text (dates in ``zone``, else the PSG's) and its buttons: Read more, and
    Unsubscribe from what brought it (or, when a watch brought it, a line naming the watch)."""
    taxonomy = services.taxonomy
    topic = taxonomy.get(matched) if matched else None
    text = alert_message(item, taxonomy, zone or services.settings.zone, topic)
    if watching is not None:
        text += "\n\n" + watching_line(watching)
    return text, alert_keyboard(item, topic, all_news=matched == ALL_NEWS, taxonomy=taxonomy)


def broadcast_send(row: Claimed, broadcast: Broadcast, *, in_group: bool = False) -> Send:
    """A broadcast exactly as its author wrote it: their entities, or HTML from scripts.

    An ordinary broadcast arrives without a sound; an urgent one notifies, and is pinned when
    its author asked for that and the chat is a group."""
    entities = (
        [MessageEntity.de_json(entity, None) for entity in json.loads(broadcast.entities)]
        if broadcast.entities
        else None
    )
    if broadcast.parse_mode is None and entities is None:
        entities = []  # plain text: nothing to parse
    return Send(
        row.chat_id,
        [row],
        broadcast.text,
        entities=entities,
        photo=broadcast.photo_file_id,
        priority=Priority(row.priority),
        silent=not broadcast.urgent,
        pin=broadcast.pin and broadcast.urgent and in_group,
    )
