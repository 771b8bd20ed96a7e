"""The admins' events: /addevent asks each field in turn; /editevent shows the fields as buttons
and asks only the one picked; both preview the event before saving (the draft is
psgbot.bot.event_draft; /cancelevent is psgbot.bot.event_cancel).

Reminders, change notices and announcements are outbox rows like every other message.
"""

from __future__ import annotations

from datetime import datetime

from telegram import Message, Update
from telegram.ext import (
    CallbackQueryHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from psgbot.admins import AuditAction, Role, audit
from psgbot.bot import event_cancel
from psgbot.bot.access import admin_only
from psgbot.bot.event_draft import (
    CLEAR,
    CONFIRM_WHEN,
    FIELD,
    KEEP,
    PICK,
    SAVE,
    STATE,
    STEP_OF,
    STEPS,
    EventDraft,
)
from psgbot.bot.events import find_event, first_arg
from psgbot.bot.flows import Flow, Handler, choice
from psgbot.db.models import Event
from psgbot.db.types import utcnow
from psgbot.events import announce, changes_between, is_upcoming, notify_change, told_fields
from psgbot.i18n import _
from psgbot.render import buttons as data
from psgbot.render.event_admin import (
    current_value_hint,
    field_question,
    fields_keyboard,
    fields_message,
    new_value_hint,
    saved_message,
    unreadable_when_message,
    when_check_message,
)
from psgbot.render.events import event_details_messages
from psgbot.services import get_services

TEXT_LIMIT = 2000  # characters of one typed field


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Asks for the current field (showing its value when editing); a new event's summary once
    every field is answered."""
    draft, chat = STATE.get(context), update.effective_chat
    if draft is None or chat is None:
        return ConversationHandler.END
    if draft.step >= len(STEPS):
        return await summary(update, context, draft)
    await chat.send_message(question(draft, context))
    return FIELD


def question(draft: EventDraft, context: ContextTypes.DEFAULT_TYPE) -> str:
    """The current field's question, with its value now when editing."""
    step = draft.current
    if not draft.editing:
        return field_question(_(step.question), new_value_hint(CLEAR, step.required))
    value = draft.shown(step.field, get_services(context).settings.zone)
    return field_question(_(step.question), current_value_hint(value, KEEP, CLEAR, step.required))


async def show_fields(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/editevent: the fields with their values, a button each, then Done and Cancel."""
    draft, chat = STATE.get(context), update.effective_chat
    if draft is None or draft.event_id is None or chat is None:
        return ConversationHandler.END
    zone = get_services(context).settings.zone
    shown = [(_(step.label), draft.shown(step.field, zone)) for step in STEPS]
    buttons = [(step.field, _(step.label)) for step in STEPS]
    await chat.send_message(
        fields_message(draft.event_id, shown), reply_markup=fields_keyboard(buttons)
    )
    return PICK


async def answered(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """After an answer: the next question (a new event), or the fields again (editing)."""
    draft = STATE.get(context)
    if draft is not None and draft.editing:
        return await show_fields(update, context)
    return await ask(update, context)


@admin_only(Role.EDITOR)
async def add_event(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/addevent: a new event, field by field."""
    STATE.start(context, EventDraft())
    return await ask(update, context)


@admin_only(Role.EDITOR)
async def edit_event(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/editevent <n>: the fields as buttons; the admin changes the ones they pick."""
    chat = update.effective_chat
    assert chat is not None
    event = await find_event(context, first_arg(context))
    if event is None:
        await chat.send_message(_("Which event? /editevent 1 (numbers are in /events)."))
        return ConversationHandler.END
    STATE.start(context, EventDraft.of(event))
    return await show_fields(update, context)


@admin_only(Role.EDITOR)
async def pick_field(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """A field's button under /editevent's list: that field's question."""
    query, draft = update.callback_query, STATE.get(context)
    if query is None or draft is None:
        return ConversationHandler.END
    await query.answer()
    number = STEP_OF.get(data.EVENT_FIELD.of(query))
    if number is None:
        return PICK
    draft.step = number
    await query.edit_message_text(question(draft, context))
    return FIELD


@admin_only(Role.EDITOR)
async def fields_done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Done under /editevent's list: the event as it will show, with Save and Cancel."""
    query, draft = update.callback_query, STATE.get(context)
    if query is None or draft is None:
        return ConversationHandler.END
    await query.answer()
    await query.edit_message_reply_markup(None)
    return await summary(update, context, draft)


async def read_when(
    message: Message, context: ContextTypes.DEFAULT_TYPE, draft: EventDraft, text: str
) -> int:
    """A date (and time) field: read it, then ask the admin to confirm what was read."""
    zone = get_services(context).settings.zone
    when, all_day = draft.typed_when(text, zone, utcnow())
    if when is None:
        await message.reply_text(unreadable_when_message(text))
        return FIELD
    starts = draft.values.get("starts_at")
    if draft.current.field == "ends_at" and isinstance(starts, datetime) and when <= starts:
        await message.reply_text(_("The end must come after the start. When does it end?"))
        return FIELD
    draft.pending_when = (when, all_day)
    await message.reply_text(
        when_check_message(when, all_day),
        reply_markup=choice(
            data.EVENT_WHEN_OK.button(_("Yes")), data.EVENT_WHEN_REDO.button(_("No, type again"))
        ),
    )
    return CONFIRM_WHEN


@admin_only(Role.EDITOR)
async def receive_field(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """One answer: kept (editing), cleared, a date to confirm, a link, or text."""
    message, draft = update.effective_message, STATE.get(context)
    if message is None or not message.text or draft is None:
        return FIELD if draft is not None else ConversationHandler.END
    step = draft.current
    text = message.text.strip()
    if draft.editing and text == KEEP:
        return await show_fields(update, context)
    if text == CLEAR and not step.required:
        draft.answer(None)
        return await answered(update, context)
    if step.kind == "when":
        return await read_when(message, context, draft, text)
    if step.kind == "url" and not text.startswith(("http://", "https://")):
        await message.reply_text(
            _("That should be a web link starting with https://, or {clear} for none.").format(
                clear=CLEAR
            )
        )
        return FIELD
    draft.answer(text[:TEXT_LIMIT])
    return await answered(update, context)


@admin_only(Role.EDITOR)
async def confirm_when(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Yes or "No, type again" under a date as read."""
    query, draft = update.callback_query, STATE.get(context)
    if query is None or draft is None:
        return ConversationHandler.END
    await query.answer()
    pending, draft.pending_when = draft.pending_when, None
    if not data.EVENT_WHEN_OK.matches(query.data) or pending is None:
        await query.edit_message_text(_("Then type it again, please."))
        return FIELD
    when, all_day = pending
    if draft.current.field == "starts_at":
        draft.all_day = all_day
    draft.answer(when)
    await query.edit_message_reply_markup(None)
    return await answered(update, context)


async def summary(update: Update, context: ContextTypes.DEFAULT_TYPE, draft: EventDraft) -> int:
    """The event as it will show, with Save and Cancel."""
    chat = update.effective_chat
    assert chat is not None
    zone = get_services(context).settings.zone
    for preview in event_details_messages(draft.event(zone)):
        await chat.send_message(preview)
    await chat.send_message(
        _("Save this event?"),
        reply_markup=choice(
            data.EVENT_SAVE.button(_("Save")), data.EVENT_DISCARD.button(_("Cancel"))
        ),
    )
    return SAVE


@admin_only(Role.EDITOR)
async def save_event(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Save (or Cancel) under the summary; a new upcoming event is announced, a changed one's
    reminded chats are told."""
    query, user, draft = update.callback_query, update.effective_user, STATE.drop(context)
    if query is None or user is None:
        return ConversationHandler.END
    await query.answer()
    if not data.EVENT_SAVE.matches(query.data) or draft is None or "title" not in draft.values:
        await query.edit_message_text(_("Nothing saved."))
        return ConversationHandler.END
    services = get_services(context)
    now = utcnow()
    told: int | None = None
    async with services.sessions.begin() as session:
        stored = await session.get(Event, draft.event_id) if draft.event_id is not None else None
        before = told_fields(stored) if stored else None
        event = draft.event(services.settings.zone, stored)
        event.updated_at = now
        if stored is None:
            session.add(event)
        await session.flush()
        if before is None:
            await audit(session, user.id, AuditAction.EVENT_ADDED, f"#{event.id} {event.title}")
            if is_upcoming(event, now):
                await announce(session, event, now)
        else:
            await audit(session, user.id, AuditAction.EVENT_CHANGED, f"#{event.id} {event.title}")
            if changes := changes_between(before, told_fields(event)):
                hours = services.settings.reminder_hours
                told = await notify_change(session, event, hours, now, changes)
    services.wake_dispatcher()
    await query.edit_message_text(saved_message(event.id, told))
    return ConversationHandler.END


def flow() -> Flow:
    """/addevent and /editevent, a part of the admins' one conversation (psgbot.bot.flows)."""
    return Flow(
        doing=lambda: _("adding or changing an event"),
        state=STATE,
        commands={"addevent": add_event, "editevent": edit_event},
        states={
            FIELD: [MessageHandler(filters.TEXT & ~filters.COMMAND, receive_field)],
            CONFIRM_WHEN: [
                CallbackQueryHandler(confirm_when, pattern=data.EVENT_WHEN_OK),
                CallbackQueryHandler(confirm_when, pattern=data.EVENT_WHEN_REDO),
            ],
            SAVE: [
                CallbackQueryHandler(save_event, pattern=data.EVENT_SAVE),
                CallbackQueryHandler(save_event, pattern=data.EVENT_DISCARD),
            ],
            PICK: [
                CallbackQueryHandler(pick_field, pattern=data.EVENT_FIELD),
                CallbackQueryHandler(fields_done, pattern=data.EVENT_FIELDS_DONE),
                CallbackQueryHandler(save_event, pattern=data.EVENT_DISCARD),
            ],
        },
    )


def handlers() -> list[Handler]:
    return event_cancel.handlers()
