"""A broadcast draft and when it goes: now, in an hour, tomorrow morning, or at a typed time.

The draft is one :class:`BroadcastDraft` under one key of the admin's user_data (the steps
that fill it are psgbot.bot.broadcast_flow); releasing it stores a broadcast for the outbox
and the dispatcher.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.ext import ContextTypes, ConversationHandler

from psgbot import broadcasts as store
from psgbot.admins import AuditAction, Role, audit
from psgbot.bot.access import admin_only
from psgbot.bot.flows import FlowState
from psgbot.dates import parse_when, zone_city
from psgbot.db.types import utcnow
from psgbot.i18n import Language, _
from psgbot.render import buttons as data
from psgbot.render.broadcasts import (
    created_detail,
    empty_audience_message,
    preview_caption,
    scheduled_message,
    send_keyboard,
    send_question,
    translate_label,
)
from psgbot.services import get_services

# The steps of the /broadcast flow (psgbot.bot.broadcast_flow), numbered apart from the other
# admin flows' (they share one conversation).
AUDIENCE, MESSAGE, PREVIEW, SCHEDULE, SCHEDULE_TYPED, CONFIRM = range(6)
TRANSLATION = 30  # the message in the other language (apart: other steps may come)


@dataclass
class BroadcastDraft:
    """What the admin has chosen so far; ``text`` is None until the message arrives. It is
    written in ``language`` (the admin's); ``translation`` is the same in the other one."""

    audience: str = ""
    label: str = ""
    count: int = 0
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    photo: str | None = None
    urgent: bool = False
    pin: bool = False  # pin it in groups: only while urgent

    def toggle_urgent(self) -> None:
        """Urgent on or off; off clears Pin in groups (an ordinary broadcast is never pinned)."""
        self.urgent = not self.urgent
        self.pin = self.pin and self.urgent

    def toggle_pin(self) -> bool:
        """Pin in groups on or off, while urgent; False (nothing changed) otherwise."""
        if self.urgent:
            self.pin = not self.pin
        return self.urgent

    language: Language = Language.EN
    translation: str | None = None
    translation_entities: list[dict[str, Any]] = field(default_factory=list)

    @property
    def other_language(self) -> Language:
        return Language.ES if self.language == Language.EN else Language.EN

    def caption(self) -> str:
        return preview_caption(self.label, self.count, self.urgent, self.pin)

    def keyboard(self) -> InlineKeyboardMarkup:
        urgent = ("☑ " if self.urgent else "☐ ") + _("Urgent")
        rows = [
            [
                data.BROADCAST_SEND.button(_("Send now")),
                data.BROADCAST_SCHEDULE.button(_("Schedule")),
            ],
            [data.BROADCAST_URGENT.button(urgent), data.BROADCAST_CANCEL.button(_("Cancel"))],
        ]
        if self.urgent:
            pin = ("☑ " if self.pin else "☐ ") + _("Pin in groups")
            rows.append([data.BROADCAST_PIN.button(pin)])
        rows.append([data.BROADCAST_TRANSLATE.button(translate_label(self.other_language))])
        return InlineKeyboardMarkup(rows)


STATE = FlowState("broadcast", BroadcastDraft)


async def draft_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> BroadcastDraft | None:
    """The draft a preview button acts on, once answered; None (and said so) when it is gone."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    draft = STATE.get(context)
    if draft is None or draft.text is None:
        await query.edit_message_text(_("This draft is gone. /broadcast to start again."))
        return None
    return draft


async def _ask_time(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    question: str,
    keyboard: InlineKeyboardMarkup | None = None,
) -> bool:
    """Puts a question about the time (``{zone}`` in it: the PSG zone's place, "London",
    "Londres") in place of the buttons pressed; False when the draft is gone."""
    query = update.callback_query
    if query is None or await draft_of(update, context) is None:
        return False
    zone = get_services(context).settings.zone
    await query.edit_message_text(question.format(zone=zone_city(zone.key)), reply_markup=keyboard)
    return True


@admin_only(Role.EDITOR)
async def ask_when(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Schedule: when should it go."""
    keyboard = InlineKeyboardMarkup(
        [
            [data.AT_ONE_HOUR.button(_("In 1 hour")), data.AT_TOMORROW.button(_("Tomorrow 09:00"))],
            [
                data.AT_TYPED.button(_("Type a date and time")),
                data.BROADCAST_CANCEL.button(_("Cancel")),
            ],
        ]
    )
    question = _("When should it go? ({zone} time)")
    asked = await _ask_time(update, context, question, keyboard)
    return SCHEDULE if asked else ConversationHandler.END


async def audience_now(context: ContextTypes.DEFAULT_TYPE, draft: BroadcastDraft) -> int:
    """How many chats the draft would reach if it went now."""
    async with get_services(context).reads() as session:
        return await store.audience_size(session, draft.audience)


async def audience_or_refusal(
    query: CallbackQuery, context: ContextTypes.DEFAULT_TYPE, draft: BroadcastDraft
) -> int:
    """The chats the draft would reach now; 0 after refusing it in place of the buttons pressed
    (nobody would receive it), with the preview's buttons to cancel or change it."""
    count = await audience_now(context, draft)
    if count == 0:
        await query.edit_message_text(
            empty_audience_message(draft.label), reply_markup=draft.keyboard()
        )
    return count


@admin_only(Role.EDITOR)
async def send_now(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Send now: asks "Send to N chats?", the audience counted now; an empty one is refused."""
    if (draft := await draft_of(update, context)) is None:
        return ConversationHandler.END
    query = update.callback_query
    assert query is not None
    if (count := await audience_or_refusal(query, context, draft)) == 0:
        return PREVIEW
    await query.edit_message_text(
        send_question(draft.label, count, draft.urgent, draft.pin),
        reply_markup=send_keyboard(count),
    )
    return CONFIRM


@admin_only(Role.EDITOR)
async def back_to_preview(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """ "No, back to the preview": the preview's buttons again; nothing is sent."""
    if (draft := await draft_of(update, context)) is None:
        return ConversationHandler.END
    assert update.callback_query is not None
    await update.callback_query.edit_message_text(draft.caption(), reply_markup=draft.keyboard())
    return PREVIEW


@admin_only(Role.EDITOR)
async def confirm_send(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Yes, send: the question becomes the progress report (unless the audience emptied)."""
    if (draft := await draft_of(update, context)) is None:
        return ConversationHandler.END
    query = update.callback_query
    assert query is not None
    if await audience_or_refusal(query, context, draft) == 0:
        return PREVIEW
    await query.edit_message_text(_("Sending…"))
    shown = query.message if isinstance(query.message, Message) else None
    await release(update, context, utcnow(), progress_message=shown)
    return ConversationHandler.END


async def _release_at(update: Update, context: ContextTypes.DEFAULT_TYPE, at: datetime) -> int:
    if (draft := await draft_of(update, context)) is None:
        return ConversationHandler.END
    query = update.callback_query
    assert query is not None
    if await audience_or_refusal(query, context, draft) == 0:
        return PREVIEW
    await query.edit_message_text(await release(update, context, at))
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
    """ "Type a date and time"."""
    question = _("Send the date and time, e.g. 2026-12-01 18:30 ({zone} time), or /cancel.")
    asked = await _ask_time(update, context, question)
    return SCHEDULE_TYPED if asked else ConversationHandler.END


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
    draft = STATE.get(context)
    if draft is None:
        return ConversationHandler.END
    if await audience_now(context, draft) == 0:
        await message.reply_text(empty_audience_message(draft.label), reply_markup=draft.keyboard())
        return PREVIEW
    await message.reply_text(await release(update, context, at))
    return ConversationHandler.END


async def release(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    at: datetime,
    progress_message: Message | None = None,
) -> str:
    """Stores the draft as a broadcast due at ``at``; returns the confirmation text, with the
    chats it would reach now."""
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
            language=draft.language,
            translation=draft.translation,
            translation_entities=(
                json.dumps(draft.translation_entities) if draft.translation is not None else None
            ),
            photo_file_id=draft.photo,
            urgent=draft.urgent,
            pin=draft.pin,
            scheduled_at=at,
            created_by=user.id,
            progress_chat_id=chat.id,
        )
        if progress_message is not None:
            broadcast.progress_message_id = progress_message.message_id
        detail = created_detail(broadcast, draft.label)
        await audit(session, user.id, AuditAction.BROADCAST_CREATED, detail)
        reach = await store.audience_size(session, draft.audience)
    services.wake_dispatcher()
    return scheduled_message(broadcast.id, at.astimezone(services.settings.zone), reach)
