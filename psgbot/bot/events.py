"""Events: /events, /event <n>, Details, Add to calendar, Remind me (the admins' /addevent,
/editevent and /cancelevent are psgbot.bot.event_admin).

Reminders, change notices and announcements are outbox rows like every other message.
"""

from __future__ import annotations

import io

from telegram import InputFile, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from psgbot.bot.access import may_manage, tell
from psgbot.bot.flows import Handler
from psgbot.chats import ensure_chat
from psgbot.db.models import Event
from psgbot.db.types import utcnow
from psgbot.events import calendar_file, has_reminder, is_upcoming, list_events, toggle_reminder
from psgbot.i18n import _
from psgbot.numbers import parse_number
from psgbot.render.buttons import EVENT_CALENDAR, EVENT_DETAILS, EVENT_REMIND, Keyed
from psgbot.render.events import (
    event_caption,
    event_details_messages,
    event_keyboard,
    events_keyboard,
    events_message,
    reminder_set_note,
)
from psgbot.services import get_services

DEEP_LINK_PREFIX = "event-"


async def send_events(chat_id: int, context: ContextTypes.DEFAULT_TYPE, past: bool = False) -> None:
    """/events in one message, soonest first, with a button per event for its details."""
    now = utcnow()
    async with get_services(context).reads() as session:
        listing = await list_events(session, now=now, past=past)
    if not listing.events:
        await context.bot.send_message(
            chat_id, _("No events are planned just now. /subscribe psg to hear of new ones.")
        )
        return
    await context.bot.send_message(
        chat_id,
        events_message(listing.events, past=listing.past, asked_past=past),
        reply_markup=events_keyboard(listing.events),
    )


async def events(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Lists upcoming events; ``/events past`` lists the latest past ones."""
    if update.effective_chat:
        past = (first_arg(context) or "").lower() in {"past", "pasados"}
        await send_events(update.effective_chat.id, context, past=past)


def first_arg(context: ContextTypes.DEFAULT_TYPE) -> str | None:
    return context.args[0] if context.args else None


async def find_event(context: ContextTypes.DEFAULT_TYPE, text: str | None) -> Event | None:
    number = parse_number(text.removeprefix("#") if text else None)
    if number is None:
        return None
    async with get_services(context).reads() as session:
        return await session.get(Event, number)


async def send_details(chat_id: int, context: ContextTypes.DEFAULT_TYPE, event: Event) -> None:
    """The event in full, with its buttons (Remind me showing whether this chat's is on)."""
    async with get_services(context).reads() as session:
        reminded = await has_reminder(session, event, chat_id)
    *first, last = event_details_messages(event)
    for message in first:
        await context.bot.send_message(chat_id, message)
    keyboard = event_keyboard(event, upcoming=is_upcoming(event, utcnow()), reminded=reminded)
    await context.bot.send_message(chat_id, last, reply_markup=keyboard)
    if event.latitude is not None and event.longitude is not None:
        await context.bot.send_venue(
            chat_id,
            event.latitude,
            event.longitude,
            event.venue or event.title,
            event.address or event.venue or "",
        )


async def event_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/event <n>``: the full details of event number n."""
    chat = update.effective_chat
    if chat is None:
        return
    event = await find_event(context, first_arg(context))
    if event is None:
        await chat.send_message(
            _("Which event? /events lists them with their numbers, e.g. /event 1.")
        )
        return
    await send_details(chat.id, context, event)


async def deep_link(chat_id: int, context: ContextTypes.DEFAULT_TYPE, payload: str) -> None:
    """``/start event-<n>`` (a link the PSG can share): the event in full."""
    event = await find_event(context, payload.removeprefix(DEEP_LINK_PREFIX))
    if event is None:
        await context.bot.send_message(
            chat_id, _("That event is no longer listed. /events shows the current ones.")
        )
        return
    await send_details(chat_id, context, event)


async def _event_of(
    update: Update, context: ContextTypes.DEFAULT_TYPE, button: Keyed[int]
) -> Event | None:
    """The event a button under it names, or None (the presser was told it is gone)."""
    query = update.callback_query
    assert query is not None
    async with get_services(context).reads() as session:
        event = await session.get(Event, button.of(query))
    if event is None:
        await query.answer(_("This event no longer exists. /events lists the current ones."))
    return event


async def details_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Details: the event in full."""
    chat = update.effective_chat
    event = await _event_of(update, context, EVENT_DETAILS)
    if event is None or chat is None or update.callback_query is None:
        return
    await update.callback_query.answer()
    await send_details(chat.id, context, event)


async def calendar_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Add to calendar: an .ics file."""
    chat = update.effective_chat
    event = await _event_of(update, context, EVENT_CALENDAR)
    if event is None or chat is None or update.callback_query is None:
        return
    await update.callback_query.answer()
    document = InputFile(io.BytesIO(calendar_file(event)), filename=f"{event.uid}.ics")
    await context.bot.send_document(chat.id, document, caption=event_caption(event))


async def remind_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Remind me: toggles this chat's reminders of the event."""
    chat, query = update.effective_chat, update.callback_query
    event = await _event_of(update, context, EVENT_REMIND)
    if event is None or chat is None or query is None:
        return
    if not await may_manage(update, context):
        await tell(update, _("Only this group's administrators can set reminders for it."))
        return
    services = get_services(context)
    now = utcnow()
    if not is_upcoming(event, now):
        await query.answer(_("This event is over."))
        return
    async with services.sessions.begin() as session:
        # Stored (if it was not: a chat that pressed an old button after /forget), so that its
        # reminders come in its language and /stop and /forget reach them.
        await ensure_chat(session, chat)
        on = await toggle_reminder(session, event, chat.id, services.settings.reminder_hours, now)
    services.wake_dispatcher()
    # A short note, not a pop-up to dismiss; the button itself shows the reminder is on.
    await query.answer(
        reminder_set_note(services.settings.reminder_hours) if on else _("Reminder removed.")
    )
    await query.edit_message_reply_markup(event_keyboard(event, upcoming=True, reminded=on))


def handlers() -> list[Handler]:
    return [
        CommandHandler("events", events),
        CommandHandler("event", event_command),
        CallbackQueryHandler(details_button, pattern=EVENT_DETAILS),
        CallbackQueryHandler(calendar_button, pattern=EVENT_CALENDAR),
        CallbackQueryHandler(remind_button, pattern=EVENT_REMIND),
    ]
