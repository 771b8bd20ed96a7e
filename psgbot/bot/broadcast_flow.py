"""/broadcast: audience, message, preview, send now or later.

A ConversationHandler with /cancel at any step; every step (buttons included) checks the admin's
role again. The draft is one :class:`BroadcastDraft` under one key of the admin's user_data;
storing it hands it to the outbox and the dispatcher (psgbot.bot.broadcast reports on it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from psgbot import broadcasts as store
from psgbot.admins import Role, audit
from psgbot.bot import callbacks as data
from psgbot.bot.access import admin_only
from psgbot.bot.flows import Callback, FlowState, Handler, conversation
from psgbot.dates import parse_when
from psgbot.db.types import utcnow
from psgbot.i18n import _
from psgbot.render.broadcasts import (
    audience_chosen_message,
    new_broadcast_prompt,
    preview_caption,
)
from psgbot.services import get_services

AUDIENCE, MESSAGE, PREVIEW, SCHEDULE, SCHEDULE_TYPED = range(5)


@dataclass
class BroadcastDraft:
    """What the admin has chosen so far; ``text`` is None until the message arrives."""

    audience: str = ""
    label: str = ""
    count: int = 0
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    photo: str | None = None
    urgent: bool = False

    def caption(self) -> str:
        return preview_caption(self.label, self.count, self.urgent)

    def keyboard(self) -> InlineKeyboardMarkup:
        urgent = ("☑ " if self.urgent else "☐ ") + _("Urgent")
        return InlineKeyboardMarkup(
            [
                [
                    data.BROADCAST_SEND.button(_("Send now")),
                    data.BROADCAST_SCHEDULE.button(_("Schedule")),
                ],
                [data.BROADCAST_URGENT.button(urgent), data.BROADCAST_CANCEL.button(_("Cancel"))],
            ]
        )


STATE = FlowState("broadcast", BroadcastDraft)


@admin_only(Role.EDITOR)
async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Step 1: who receives it."""
    chat = update.effective_chat
    if chat is None:
        return ConversationHandler.END
    STATE.start(context, BroadcastDraft())
    async with get_services(context).reads() as session:
        everyone = await store.audience_size(session, "all")
    keyboard = InlineKeyboardMarkup(
        [
            [data.AUDIENCE_ALL.button(_("Everyone ({count} chats)").format(count=everyone))],
            [data.AUDIENCE_TOPICS.button(_("Subscribers of one topic"))],
            [data.AUDIENCE_ME.button(_("Only me (a test)"))],
            [data.BROADCAST_CANCEL.button(_("Cancel"))],
        ]
    )
    await chat.send_message(new_broadcast_prompt(), reply_markup=keyboard)
    return AUDIENCE


@admin_only(Role.EDITOR)
async def choose_topic(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """ "Subscribers of one topic": a button per topic, with its audience."""
    query = update.callback_query
    if query is None:
        return ConversationHandler.END
    await query.answer()
    services = get_services(context)
    async with services.reads() as session:
        rows = [
            [
                data.AUDIENCE_TOPIC.button(
                    f"{topic.emoji} {topic.name} "
                    f"({await store.audience_size(session, 'topic:' + topic.slug)})",
                    topic.slug,
                )
            ]
            for topic in services.taxonomy.topics
        ]
    await query.edit_message_text(
        _("Which topic's subscribers?"), reply_markup=InlineKeyboardMarkup(rows)
    )
    return AUDIENCE


async def _audience_chosen(
    update: Update, context: ContextTypes.DEFAULT_TYPE, audience: str, label: str
) -> int:
    """Step 2 begins: the draft's audience is set; the admin is asked for the message."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    async with get_services(context).reads() as session:
        count = await store.audience_size(session, audience)
    draft = STATE.get(context) or STATE.start(context, BroadcastDraft())
    draft.audience, draft.label, draft.count = audience, label, count
    await query.edit_message_text(audience_chosen_message(label, count))
    return MESSAGE


@admin_only(Role.EDITOR)
async def audience_all(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    return await _audience_chosen(update, context, "all", _("everyone"))


@admin_only(Role.EDITOR)
async def audience_me(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    user = update.effective_user
    assert user is not None
    return await _audience_chosen(update, context, f"chat:{user.id}", _("only you"))


@admin_only(Role.EDITOR)
async def audience_topic(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None
    slug = data.AUDIENCE_TOPIC.of(query)
    topic = get_services(context).taxonomy.get(slug)
    if topic is None:
        await query.answer()
        await query.edit_message_text(_("That topic no longer exists. /broadcast again."))
        STATE.drop(context)
        return ConversationHandler.END
    label = _("subscribers of {topic}").format(topic=topic.name)
    return await _audience_chosen(update, context, f"topic:{slug}", label)


@admin_only(Role.EDITOR)
async def receive_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Step 2: the message itself, then step 3: the preview, exactly as recipients see it."""
    message, draft = update.effective_message, STATE.get(context)
    if message is None or draft is None:
        return ConversationHandler.END
    if message.photo:
        draft.photo, draft.text = message.photo[-1].file_id, message.caption or ""
        draft.entities = [entity.to_dict() for entity in message.caption_entities]
        await message.chat.send_photo(
            draft.photo,
            caption=draft.text or None,
            caption_entities=list(message.caption_entities),
            parse_mode=None,
        )
    else:
        draft.photo, draft.text = None, message.text or ""
        draft.entities = [entity.to_dict() for entity in message.entities]
        await message.chat.send_message(
            draft.text, entities=list(message.entities), parse_mode=None
        )
    await message.chat.send_message(draft.caption(), reply_markup=draft.keyboard())
    return PREVIEW


async def _draft_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> BroadcastDraft | None:
    """The draft a preview button acts on, once answered; None (and said so) when it is gone."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    draft = STATE.get(context)
    if draft is None or draft.text is None:
        await query.edit_message_text(_("This draft is gone. /broadcast to start again."))
        return None
    return draft


@admin_only(Role.EDITOR)
async def toggle_urgent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Urgent broadcasts go before alerts."""
    if (draft := await _draft_of(update, context)) is None:
        return ConversationHandler.END
    draft.urgent = not draft.urgent
    assert update.callback_query is not None
    await update.callback_query.edit_message_text(draft.caption(), reply_markup=draft.keyboard())
    return PREVIEW


@admin_only(Role.EDITOR)
async def ask_when(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Schedule: when should it go."""
    if await _draft_of(update, context) is None:
        return ConversationHandler.END
    zone = get_services(context).settings.zone
    assert update.callback_query is not None
    await update.callback_query.edit_message_text(
        _("When should it go? ({zone} time)").format(zone=zone.key),
        reply_markup=InlineKeyboardMarkup(
            [
                [
                    data.AT_ONE_HOUR.button(_("In 1 hour")),
                    data.AT_TOMORROW.button(_("Tomorrow 09:00")),
                ],
                [
                    data.AT_TYPED.button(_("Type a date and time")),
                    data.BROADCAST_CANCEL.button(_("Cancel")),
                ],
            ]
        ),
    )
    return SCHEDULE


@admin_only(Role.EDITOR)
async def send_now(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Send now: the confirmation message becomes the progress report."""
    if await _draft_of(update, context) is None:
        return ConversationHandler.END
    query = update.callback_query
    assert query is not None
    await query.edit_message_text(_("Sending…"))
    shown = query.message if isinstance(query.message, Message) else None
    await release(update, context, utcnow(), progress_message=shown)
    return ConversationHandler.END


@admin_only(Role.EDITOR)
async def discard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Cancel, at any step with buttons."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    STATE.drop(context)
    await query.edit_message_text(_("Broadcast cancelled; nothing was sent."))
    return ConversationHandler.END


async def _release_at(update: Update, context: ContextTypes.DEFAULT_TYPE, at: datetime) -> int:
    if await _draft_of(update, context) is None:
        return ConversationHandler.END
    assert update.callback_query is not None
    await update.callback_query.edit_message_text(await release(update, context, at))
    return ConversationHandler.END


@admin_only(Role.EDITOR)
async def in_one_hour(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    return await _release_at(update, context, utcnow() + timedelta(hours=1))


@admin_only(Role.EDITOR)
async def tomorrow_morning(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    zone = get_services(context).settings.zone
    tomorrow = utcnow().astimezone(zone).date() + timedelta(days=1)
    return await _release_at(update, context, datetime.combine(tomorrow, time(9, 0), tzinfo=zone))


@admin_only(Role.EDITOR)
async def ask_typed_time(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    if await _draft_of(update, context) is None:
        return ConversationHandler.END
    zone = get_services(context).settings.zone
    assert update.callback_query is not None
    await update.callback_query.edit_message_text(
        _("Send the date and time, e.g. 2026-12-01 18:30 ({zone} time), or /cancel.").format(
            zone=zone.key
        )
    )
    return SCHEDULE_TYPED


@admin_only(Role.EDITOR)
async def schedule_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    message = update.effective_message
    if message is None or not message.text:
        return SCHEDULE_TYPED
    zone = get_services(context).settings.zone
    at = parse_when(message.text, zone, utcnow())
    if at is None or at <= utcnow():
        await message.reply_text(
            _(
                "I could not read that as a future date and time. Try "
                "2026-12-01 18:30 or 01/12/2026 18:30, or /cancel."
            )
        )
        return SCHEDULE_TYPED
    await message.reply_text(await release(update, context, at))
    return ConversationHandler.END


async def release(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    at: datetime,
    progress_message: Message | None = None,
) -> str:
    """Stores the draft as a broadcast due at ``at``; returns the confirmation text."""
    user, chat, draft = update.effective_user, update.effective_chat, STATE.drop(context)
    assert user is not None and chat is not None and draft is not None
    assert draft.text is not None
    services = get_services(context)
    async with services.sessions.begin() as session:
        broadcast = await store.create(
            session,
            audience=draft.audience,
            text=draft.text,
            entities=json.dumps(draft.entities),
            photo_file_id=draft.photo,
            urgent=draft.urgent,
            scheduled_at=at,
            created_by=user.id,
            progress_chat_id=chat.id,
        )
        if progress_message is not None:
            broadcast.progress_message_id = progress_message.message_id
        await audit(
            session,
            user.id,
            "broadcast created",
            f"#{broadcast.id} to {draft.audience} at {at.isoformat()}"
            + (" (urgent)" if broadcast.urgent else ""),
        )
    services.wake_dispatcher()
    local = at.astimezone(services.settings.zone)
    return _(
        "🗓 Broadcast #{id} scheduled for {when}. /broadcasts lists it, with a Cancel button."
    ).format(id=broadcast.id, when=local.strftime("%d %b %Y %H:%M %Z"))


def flow() -> ConversationHandler[ContextTypes.DEFAULT_TYPE]:
    def on(button: data.Action | data.Keyed[str], callback: Callback) -> Handler:
        return CallbackQueryHandler(callback, pattern=button)

    return conversation(
        state=STATE,
        entry_points=[CommandHandler("broadcast", start)],
        states={
            AUDIENCE: [
                on(data.AUDIENCE_ALL, audience_all),
                on(data.AUDIENCE_ME, audience_me),
                on(data.AUDIENCE_TOPICS, choose_topic),
                on(data.AUDIENCE_TOPIC, audience_topic),
                on(data.BROADCAST_CANCEL, discard),
            ],
            MESSAGE: [
                MessageHandler((filters.TEXT & ~filters.COMMAND) | filters.PHOTO, receive_message)
            ],
            PREVIEW: [
                on(data.BROADCAST_SEND, send_now),
                on(data.BROADCAST_SCHEDULE, ask_when),
                on(data.BROADCAST_URGENT, toggle_urgent),
                on(data.BROADCAST_CANCEL, discard),
            ],
            SCHEDULE: [
                on(data.AT_ONE_HOUR, in_one_hour),
                on(data.AT_TOMORROW, tomorrow_morning),
                on(data.AT_TYPED, ask_typed_time),
                on(data.BROADCAST_CANCEL, discard),
            ],
            SCHEDULE_TYPED: [MessageHandler(filters.TEXT & ~filters.COMMAND, schedule_typed)],
        },
    )
