"""What to send for a batch of claimed outbox rows: alerts (a digest past a threshold), notices
and broadcasts, each with its priority in the flood limiter.

Rows hold data; the messages are rendered here, when they are sent, so they say what is true
then (an event retitled after its reminder was queued is reminded under its new title), in the
language the recipient chat speaks then."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
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
from psgbot.db.models import ALL_NEWS, Broadcast, Chat, Event, Feed, Item, Subscription, speaks
from psgbot.i18n import Language, using
from psgbot.outbox import Claimed, Outcome
from psgbot.preferences import zone_named
from psgbot.render.broadcasts import language_note
from psgbot.render.digests import gathered_messages
from psgbot.render.events import reminder_keyboard
from psgbot.render.markup import CAPTION_LIMIT, MESSAGE_LIMIT, utf16_len
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

log = logging.getLogger(__name__)

CANCELLED, FAILED = DeliveryStatus.CANCELLED, DeliveryStatus.FAILED

DIGEST_THRESHOLD = 3  # more alerts than this for one chat at once go as one message
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


async def prepare(
    session: AsyncSession,
    services: Services,
    claimed: Sequence[Claimed],
    now: datetime,
    gathered: Collection[int] = (),
    *,
    share: bool = False,
) -> Batch:
    """Renders the batch as of now: alerts per chat (a digest past the threshold, and always
    for the ``gathered`` chats, whose held alerts these are), notices from the event or feed
    they are about, broadcasts as their authors wrote them. ``share``: alerts get a Share
    button (the bot's inline mode is on)."""
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
            with using(stored.language_of(row.chat_id)):
                batch.add(_notice(row, stored, now))
    await _add_alerts(session, services, batch, alerts_by_chat, stored, gathered, share)
    batch.stored_at = {item.id: item.first_seen_at for item in stored.items.values()}
    return batch


@dataclass(frozen=True)
class _ChatNow:
    language: Language
    digest: DigestMode
    timezone: str | None
    kind: str

    @property
    def group(self) -> bool:
        return self.kind in PINNED_CHAT_TYPES

    @property
    def channel(self) -> bool:
        return self.kind == CHANNEL_TYPE


@dataclass
class _Stored:
    """What a batch's rows name, read in one query per table."""

    items: dict[int, Item]
    broadcasts: dict[int, Broadcast]
    events: dict[int, Event]
    feeds: dict[int, Feed]
    # What the batch's chats are now: the language each speaks (psgbot.db.models.Chat.speaks),
    # how it takes alerts, its time zone and whether it is a group.
    chats: dict[int, _ChatNow]

    def language_of(self, chat_id: int) -> Language:
        chat = self.chats.get(chat_id)
        return chat.language if chat else Language.EN

    @classmethod
    async def load(cls, session: AsyncSession, claimed: Sequence[Claimed]) -> _Stored:
        rows = await session.execute(
            select(
                Chat.id,
                Chat.language,
                Chat.telegram_language,
                Chat.digest,
                Chat.timezone,
                Chat.type,
            ).where(Chat.id.in_({row.chat_id for row in claimed}))
        )
        chats = {
            chat_id: _ChatNow(speaks(chosen, telegram), digest, zone, kind)
            for chat_id, chosen, telegram, digest, zone, kind in rows
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


def _broadcast(row: Claimed, stored: _Stored) -> Send | Outcome:
    broadcast = stored.broadcasts.get(row.broadcast_id or 0)
    if broadcast is None or broadcast.status == BroadcastStatus.CANCELLED:
        return Outcome(row.id, CANCELLED, error="broadcast stopped")
    chat = stored.chats.get(row.chat_id)
    return broadcast_send(
        row, broadcast, stored.language_of(row.chat_id), in_group=chat is not None and chat.group
    )


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
    stored: _Stored,
    gathered: Collection[int],
    share: bool,
) -> None:
    """Each chat's alerts, or one digest past the threshold; a gathered chat's held alerts as
    its digest. A fan-out sends one item to many chats: each (item, topic or watch, zone,
    language) is rendered once per batch.

    In a forum, an alert goes to the thread of the subscription that brought it (read now, so
    a topic moved to another thread takes its waiting alerts along); the threshold counts each
    thread's alerts apart. A channel's alerts have no buttons that act (see alert_keyboard)."""
    alerting = _Alerting(
        services,
        stored,
        gathered,
        share,
        followed=await _followed(session, set(alerts_by_chat)),
        watching=await WatchedPhrases.load(session, set(alerts_by_chat)),
    )
    for chat_id, rows in alerts_by_chat.items():
        # One chat's alert that cannot be rendered fails that chat's rows, not the batch (the
        # other chats' alerts, and the rows left leased to fail again on every claim).
        try:
            sends = alerting.chat_sends(chat_id, rows)
        except Exception as error:
            # The type alone: a message may quote the item's text.
            log.error(
                "Alerts for chat %s could not be rendered (%s); %s rows failed",
                chat_id,
                type(error).__name__,
                len(rows),
            )
            reason = f"not rendered: {type(error).__name__}"
            batch.outcomes += [Outcome(row.id, FAILED, error=reason) for row in rows]
        else:
            batch.sends += sends


_RenderKey = tuple[int, str | None, str | None, str, Language, bool]


@dataclass
class _Alerting:
    """What rendering a batch's alerts needs, read once for all its chats."""

    services: Services
    stored: _Stored
    gathered: Collection[int]
    share: bool
    followed: dict[int, dict[str, int | None]]
    watching: WatchedPhrases
    # Each (item, topic or watch, zone, language, channel) rendered once per batch.
    rendered: dict[_RenderKey, Send] = field(default_factory=dict)

    def chat_sends(self, chat_id: int, rows: list[Claimed]) -> list[Send]:
        """One chat's alerts (see _add_alerts)."""
        services, followed = self.services, self.followed[chat_id]
        chat = self.stored.chats.get(chat_id)
        language = chat.language if chat else Language.EN
        mode = chat.digest if chat else DigestMode.INSTANT
        zone = (zone_named(chat.timezone) if chat and chat.timezone else None) or (
            services.settings.zone
        )
        chat_items = [self.stored.items[row.item_id] for row in rows if row.item_id is not None]
        if chat_id in self.gathered:
            return _gathered(services, chat_id, rows, chat_items, mode, zone)
        threads: dict[int | None, list[tuple[Claimed, Item, str | None, str | None]]] = {}
        for row, item in zip(rows, chat_items, strict=True):
            matched = next((s for s in item.topic_slugs if s in followed), None)
            if matched is None and ALL_NEWS in followed:
                matched = ALL_NEWS
            # Neither a topic nor all news: a watch brought it, and the alert says which.
            phrase = self.watching.phrase(chat_id, item) if matched is None else None
            thread = followed.get(matched) if matched is not None else None
            threads.setdefault(thread, []).append((row, item, matched, phrase))
        in_channel = chat is not None and chat.channel
        sends: list[Send] = []
        for thread, alerts in threads.items():
            if len(alerts) > DIGEST_THRESHOLD:
                with using(language):
                    text = digest_message([item for _row, item, *_ in alerts], services.taxonomy)
                sends.append(Send(chat_id, [row for row, *_ in alerts], text, thread_id=thread))
                continue
            for row, item, matched, phrase in alerts:
                key = (item.id, matched, phrase, zone.key, language, in_channel)
                if key not in self.rendered:
                    with using(language):
                        self.rendered[key] = _alert_model(
                            services,
                            item,
                            matched,
                            phrase,
                            zone,
                            share=self.share,
                            channel=in_channel,
                        )
                sends.append(
                    replace(self.rendered[key], chat_id=chat_id, rows=[row], thread_id=thread)
                )
        return sends


def _alert_model(
    services: Services,
    item: Item,
    matched: str | None,
    phrase: str | None,
    zone: ZoneInfo,
    *,
    share: bool,
    channel: bool,
) -> Send:
    """An alert as every chat it goes to gets it: with the item's picture as a photo when its
    text fits a caption and Telegram has not refused the picture, else as text with a large
    preview of the article."""
    text, markup = render_alert(services, item, matched, phrase, zone, share=share, channel=channel)
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


def _gathered(
    services: Services,
    chat_id: int,
    rows: list[Claimed],
    chat_items: list[Item],
    mode: DigestMode,
    zone: ZoneInfo,
) -> list[Send]:
    """A chat's held alerts as one message (more only past Telegram's limit), oldest first."""
    by_item = {row.item_id: row for row in rows}
    ordered = sorted(chat_items, key=lambda item: (item.sort_at, item.id))
    return [
        Send(chat_id, [by_item[item_id] for item_id in item_ids], text)
        for text, item_ids in gathered_messages(ordered, mode, services.taxonomy, zone)
    ]


Model = TypeVar("Model", Item, Broadcast, Event, Feed)


async def _by_id(session: AsyncSession, model: type[Model], ids: set[int]) -> dict[int, Model]:
    if not ids:
        return {}
    return {row.id: row for row in await session.scalars(select(model).where(model.id.in_(ids)))}


async def _followed(session: AsyncSession, chat_ids: set[int]) -> dict[int, dict[str, int | None]]:
    """Each chat's topics, with the forum thread each one's alerts go to."""
    followed: dict[int, dict[str, int | None]] = defaultdict(dict)
    if chat_ids:
        subscriptions = await session.execute(
            select(Subscription.chat_id, Subscription.topic, Subscription.thread_id).where(
                Subscription.chat_id.in_(chat_ids)
            )
        )
        for chat_id, topic, thread_id in subscriptions:
            followed[chat_id][topic] = thread_id
    return followed


def render_alert(
    services: Services,
    item: Item,
    matched: str | None,
    watching: str | None = None,
    zone: ZoneInfo | None = None,
    *,
    share: bool = False,
    channel: bool = False,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The alert text (dates in ``zone``, else the PSG's) and its buttons: Read more, and
    Unsubscribe from what brought it (or, when a watch brought it, a line naming the watch),
    and Share when ``share``; in a ``channel``, Read more alone."""
    taxonomy = services.taxonomy
    topic = taxonomy.get(matched) if matched else None
    text = alert_message(item, taxonomy, zone or services.settings.zone, topic)
    if watching is not None:
        text += "\n\n" + watching_line(watching)
    keyboard = alert_keyboard(
        item,
        topic,
        all_news=matched == ALL_NEWS,
        taxonomy=taxonomy,
        share=share,
        channel=channel,
    )
    return text, keyboard


def broadcast_send(
    row: Claimed, broadcast: Broadcast, language: Language, *, in_group: bool = False
) -> Send:
    """A broadcast exactly as its author wrote it (their entities, or HTML from scripts), in
    the chat's language; where it has no version in that language, the other one, with a note
    in the chat's language saying so.

    An ordinary broadcast arrives without a sound; an urgent one notifies, and is pinned when
    its author asked for that and the chat is a group."""
    text, entities_json = broadcast.text, broadcast.entities
    translated = broadcast.translation is not None and language != broadcast.language
    if translated:
        text, entities_json = broadcast.translation or "", broadcast.translation_entities
    entities = (
        [MessageEntity.de_json(entity, None) for entity in json.loads(entities_json)]
        if entities_json
        else None
    )
    if broadcast.parse_mode is None and entities is None:
        entities = []  # plain text: nothing to parse
    if language != broadcast.language and not translated:
        with using(language):
            note = language_note(broadcast.language)
        limit = CAPTION_LIMIT if broadcast.photo_file_id else MESSAGE_LIMIT
        # Appended, so that the author's entities keep their offsets; left out rather than
        # pushing the message past Telegram's limit.
        if entities is not None and utf16_len(text) + 2 + utf16_len(note) <= limit:
            offset = utf16_len(text) + 2
            text += "\n\n" + note
            entities.append(MessageEntity(MessageEntity.ITALIC, offset, utf16_len(note)))
        elif entities is None and utf16_len(text) + 2 + utf16_len(note) <= limit:
            text += f"\n\n<i>{note}</i>"
    return Send(
        row.chat_id,
        [row],
        text,
        entities=entities,
        photo=broadcast.photo_file_id,
        priority=Priority(row.priority),
        silent=not broadcast.urgent,
        pin=broadcast.pin and broadcast.urgent and in_group,
    )
