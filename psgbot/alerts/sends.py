"""What to send for a batch of claimed outbox rows: alerts (psgbot.alerts.alert_sends),
notices and broadcasts, each with its priority in the flood limiter.

Rows hold data; the messages are rendered here, when they are sent, so they say what is true
then (an event retitled after its reminder was queued is reminded under its new title), in the
language the recipient chat speaks then."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import MessageEntity

from psgbot.alerts.alert_sends import add_alerts
from psgbot.alerts.batch import Batch as Batch
from psgbot.alerts.batch import Send as Send
from psgbot.alerts.batch import Stored
from psgbot.db.enums import BroadcastStatus, DeliveryKind, DeliveryStatus, Notice, Priority
from psgbot.db.models import Broadcast
from psgbot.i18n import Language, in_zone, using
from psgbot.outbox import Claimed, Outcome
from psgbot.render.broadcasts import language_note
from psgbot.render.events import reminder_keyboard
from psgbot.render.markup import CAPTION_LIMIT, MESSAGE_LIMIT, utf16_len
from psgbot.render.notices import notice_message
from psgbot.services import Services

CANCELLED, FAILED = DeliveryStatus.CANCELLED, DeliveryStatus.FAILED


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
    stored = await Stored.load(session, claimed)
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
            chat = stored.chats.get(row.chat_id)
            with using(stored.language_of(row.chat_id)), in_zone(chat.timezone if chat else None):
                batch.add(_notice(row, stored, now))
    await add_alerts(session, services, batch, alerts_by_chat, stored, gathered, share)
    batch.stored_at = {item.id: item.first_seen_at for item in stored.items.values()}
    return batch


def _broadcast(row: Claimed, stored: Stored) -> Send | Outcome:
    broadcast = stored.broadcasts.get(row.broadcast_id or 0)
    if broadcast is None or broadcast.status == BroadcastStatus.CANCELLED:
        return Outcome(row.id, CANCELLED, error="broadcast stopped")
    chat = stored.chats.get(row.chat_id)
    return broadcast_send(
        row, broadcast, stored.language_of(row.chat_id), in_group=chat is not None and chat.group
    )


def _notice(row: Claimed, stored: Stored, now: datetime) -> Send | Outcome:
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
