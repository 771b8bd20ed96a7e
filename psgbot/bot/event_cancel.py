"""/cancelevent <n>: asks, then cancels the event and tells the chats that asked for reminders
(a notice through the outbox)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from psgbot.admins import AuditAction, Role, audit
from psgbot.bot.access import admin_only
from psgbot.bot.events import find_event, first_arg
from psgbot.bot.flows import Handler, choice
from psgbot.db.models import Event
from psgbot.db.types import utcnow
from psgbot.events import notify_cancellation
from psgbot.i18n import _
from psgbot.render import buttons as data
from psgbot.render.event_admin import cancel_question, cancelled_message
from psgbot.services import get_services


@admin_only(Role.EDITOR)
async def cancel_event(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancelevent <n>: asks, then cancels it and tells those who asked for reminders."""
    chat = update.effective_chat
    assert chat is not None
    event = await find_event(context, first_arg(context))
    if event is None or event.cancelled:
        await chat.send_message(_("Which event? /cancelevent 1 (numbers are in /events)."))
        return
    await chat.send_message(
        cancel_question(event),
        reply_markup=choice(
            data.EVENT_CANCEL.button(_("Yes, cancel it"), event.id),
            data.EVENT_KEEP.button(_("No")),
        ),
    )


@admin_only(Role.EDITOR)
async def keep_event(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancelevent's No."""
    if query := update.callback_query:
        await query.answer()
        await query.edit_message_text(_("Nothing changed."))


@admin_only(Role.EDITOR)
async def cancel_event_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancelevent's Yes: the event is cancelled and its reminded chats told."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    await query.answer()
    services = get_services(context)
    now = utcnow()
    async with services.sessions.begin() as session:
        stored = await session.get(Event, data.EVENT_CANCEL.of(query))
        told: int | None = None
        if stored is not None and not stored.cancelled:
            stored.cancelled = True
            stored.updated_at = now
            told = await notify_cancellation(session, stored, now)
            await audit(
                session, user.id, AuditAction.EVENT_CANCELLED, f"#{stored.id} {stored.title}"
            )
    if stored is None or told is None:
        await query.edit_message_text(_("Nothing changed."))
        return
    services.wake_dispatcher()
    await query.edit_message_text(cancelled_message(stored.id, told))


def handlers() -> list[Handler]:
    return [
        CommandHandler("cancelevent", cancel_event),
        CallbackQueryHandler(cancel_event_button, pattern=data.EVENT_CANCEL),
        CallbackQueryHandler(keep_event, pattern=data.EVENT_KEEP),
    ]
