"""Events: /events, /event <n>, Details, Add to calendar, Remind me; and for admins /addevent,
/editevent <n>, /cancelevent <n>.

Reminders, change notices and announcements are outbox rows like every other message.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from psgbot.admins import Role, audit
from psgbot.bot.access import admin_only, may_manage, tell
from psgbot.bot.admin import cancel
from psgbot.bot.fallback import answer_stale
from psgbot.bot.flows import choice, conversation
from psgbot.bot.numbers import parse_number
from psgbot.dates import parse_day, parse_when
from psgbot.db.models import Event
from psgbot.db.types import utcnow
from psgbot.events import (
    announce,
    calendar_file,
    is_upcoming,
    list_events,
    notify_cancellation,
    notify_change,
    toggle_reminder,
)
from psgbot.i18n import _
from psgbot.render.events import (
    event_block,
    event_caption,
    event_details_messages,
    event_title,
    event_when,
)
from psgbot.render.markup import escape, shorten
from psgbot.services import get_services

DETAILS, CALENDAR, REMIND = "ev:d:", "ev:ics:", "ev:rem:"
FIELD, CONFIRM_WHEN, SAVE = range(3)
SAVE_YES, SAVE_NO, WHEN_YES, WHEN_NO = "adm:ev:save", "adm:ev:discard", "adm:ev:ok", "adm:ev:redo"
CANCEL_PREFIX = "adm:evcancel:"
KEEP, CLEAR = ".", "-"


@dataclass(frozen=True)
class Step:
    field: str
    question: str
    required: bool = False
    kind: str = "text"  # text | when | url


STEPS = [
    Step("title", _("The event's title?"), required=True),
    Step(
        "starts_at",
        _(
            "When does it start? e.g. 15 December 2026 10:30, 15/12/2026 10:30, "
            "tomorrow 18:00, or just a date for an all-day event"
        ),
        required=True,
        kind="when",
    ),
    Step("ends_at", _("When does it end? (same forms)"), kind="when"),
    Step("venue", _("Where? The venue's name")),
    Step("online_url", _("An online link (for online or hybrid events)?"), kind="url"),
    Step("address", _("The address?")),
    Step("description", _("A description?")),
    Step("registration_url", _("A registration link?"), kind="url"),
    Step("prices", _("Prices? (e.g. Members £10, concessions £5, non-members £15)")),
]


def event_keyboard(event: Event, now: datetime) -> InlineKeyboardMarkup:
    row = [
        InlineKeyboardButton(_("Details"), callback_data=f"{DETAILS}{event.id}"),
        InlineKeyboardButton(_("Add to calendar"), callback_data=f"{CALENDAR}{event.id}"),
    ]
    if is_upcoming(event, now):
        row.append(InlineKeyboardButton(_("Remind me"), callback_data=f"{REMIND}{event.id}"))
    return InlineKeyboardMarkup([row])


async def send_events(chat_id: int, context: ContextTypes.DEFAULT_TYPE, past: bool = False) -> None:
    now = utcnow()
    async with get_services(context).reads() as session:
        listing = await list_events(session, now=now, past=past)
    if not listing.events:
        await context.bot.send_message(
            chat_id, _("No events are planned just now. /subscribe psg to hear of new ones.")
        )
        return
    if listing.past and not past:
        heading = _("🗓 <b>No upcoming events just now.</b> The most recent ones:")
    elif listing.past:
        heading = _("🗓 <b>Past events</b>")
    else:
        heading = _("🗓 <b>Upcoming events</b>")
    await context.bot.send_message(chat_id, heading)
    for event in listing.events:
        await context.bot.send_message(
            chat_id,
            f"<b>#{event.id}</b> " + event_block(event, past=listing.past),
            reply_markup=event_keyboard(event, now),
        )


async def events(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Lists upcoming events; ``/events past`` lists the latest past ones."""
    if update.effective_chat:
        past = (first_arg(context) or "").lower() == "past"
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
    *first, last = event_details_messages(event)
    for message in first:
        await context.bot.send_message(chat_id, message)
    await context.bot.send_message(chat_id, last, reply_markup=event_keyboard(event, utcnow()))
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


async def event_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Details, Add to calendar, Remind me."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None or query.data is None:
        return
    prefix, _sep, number = query.data.rpartition(":")
    event = await find_event(context, number)
    if event is None:
        await query.answer(_("This event no longer exists. /events lists the current ones."))
        return
    prefix += ":"
    if prefix == DETAILS:
        await query.answer()
        await send_details(chat.id, context, event)
    elif prefix == CALENDAR:
        await query.answer()
        document = InputFile(io.BytesIO(calendar_file(event)), filename=f"{event.uid}.ics")
        await context.bot.send_document(chat.id, document, caption=event_caption(event))
    elif prefix == REMIND:
        if not await may_manage(update, context):
            await tell(update, _("Only this group's administrators can set reminders for it."))
            return
        services = get_services(context)
        now = utcnow()
        if not is_upcoming(event, now):
            await query.answer(_("This event is over."))
            return
        async with services.sessions.begin() as session:
            on = await toggle_reminder(
                session, event, chat.id, services.settings.reminder_hours, now
            )
        services.wake_dispatcher()
        hours = ", ".join(f"{h} h" for h in services.settings.reminder_hours)
        await query.answer(
            _("Reminder set: {hours} before. Press again to remove it.").format(hours=hours)
            if on
            else _("Reminder removed."),
            show_alert=True,
        )
    else:
        await answer_stale(query)


# Admin flows ------------------------------------------------------------------------------


def draft(context: ContextTypes.DEFAULT_TYPE) -> dict[str, Any]:
    assert context.user_data is not None
    value: dict[str, Any] = context.user_data.setdefault("event", {})
    return value


def shown_value(step: Step, value: Any, zone: ZoneInfo) -> str:
    if value is None:
        return _("(none)")
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime("%d %B %Y %H:%M %Z")
    return str(value)


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Asks for the next field, or shows the summary once every field is answered."""
    details = draft(context)
    chat = update.effective_chat
    assert chat is not None
    if details["step"] >= len(STEPS):
        return await summary(update, context)
    step = STEPS[details["step"]]
    hint = _("Send {clear} to leave it empty.").format(clear=CLEAR) if not step.required else ""
    if details.get("editing"):
        zone = get_services(context).settings.zone
        hint = _("Now: {value}. Send {keep} to keep it{clear}.").format(
            value=escape(shorten(shown_value(step, details.get(step.field), zone), 1000)),
            keep=KEEP,
            clear="" if step.required else _(", {clear} to clear it").format(clear=CLEAR),
        )
    await chat.send_message(f"{escape(step.question)}\n<i>{hint}</i> " + _("(/cancel stops)"))
    return FIELD


def new_draft(context: ContextTypes.DEFAULT_TYPE, event: Event | None) -> dict[str, Any]:
    assert context.user_data is not None
    details: dict[str, Any] = {"step": 0, "editing": event is not None}
    if event is not None:
        details["id"] = event.id
        details["all_day"] = event.all_day
        for step in STEPS:
            details[step.field] = getattr(event, step.field)
    context.user_data["event"] = details
    return details


@admin_only(Role.EDITOR)
async def add_event(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/addevent: a new event, field by field."""
    new_draft(context, None)
    return await ask(update, context)


@admin_only(Role.EDITOR)
async def edit_event(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/editevent <n>: the same questions, each showing the current value."""
    chat = update.effective_chat
    assert chat is not None
    event = await find_event(context, first_arg(context))
    if event is None:
        await chat.send_message(_("Which event? /editevent 1 (numbers are in /events)."))
        return ConversationHandler.END
    new_draft(context, event)
    return await ask(update, context)


@admin_only(Role.EDITOR)
async def receive_field(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    message = update.effective_message
    if message is None or not message.text:
        return FIELD
    details = draft(context)
    step = STEPS[details["step"]]
    text = message.text.strip()
    services = get_services(context)
    zone = services.settings.zone
    if details.get("editing") and text == KEEP:
        details["step"] += 1
        return await ask(update, context)
    if text == CLEAR and not step.required:
        details[step.field] = None
        details["step"] += 1
        return await ask(update, context)
    if step.kind == "when":
        when = parse_when(text, zone, utcnow())
        all_day = False
        if when is None and (day := parse_day(text)) is not None:
            when, all_day = datetime.combine(day, datetime.min.time(), tzinfo=zone), True
        if when is None:
            await message.reply_text(
                _(
                    "I could not read “{text}” as a date and time. Try "
                    "15 December 2026 10:30, 15/12/2026 10:30 or tomorrow "
                    "18:00."
                ).format(text=escape(text[:80]))
            )
            return FIELD
        if step.field == "ends_at" and details.get("starts_at") and when <= details["starts_at"]:
            await message.reply_text(_("The end must come after the start. When does it end?"))
            return FIELD
        details["pending_when"] = (when, all_day)
        shown = when.strftime("%A %d %B %Y") if all_day else when.strftime("%A %d %B %Y, %H:%M %Z")
        await message.reply_text(
            _("I read that as <b>{when}</b>{all_day}. Right?").format(
                when=shown, all_day=_(" (all day)") if all_day else ""
            ),
            reply_markup=choice((_("Yes"), WHEN_YES), (_("No, type again"), WHEN_NO)),
        )
        return CONFIRM_WHEN
    if step.kind == "url" and not text.startswith(("http://", "https://")):
        await message.reply_text(_("That should be a web link starting with https://"))
        return FIELD
    details[step.field] = text[:2000]
    details["step"] += 1
    return await ask(update, context)


@admin_only(Role.EDITOR)
async def confirm_when(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    if query is None:
        return ConversationHandler.END
    await query.answer()
    details = draft(context)
    pending = details.pop("pending_when", None)
    if query.data != WHEN_YES or pending is None:
        await query.edit_message_text(_("Then type it again, please."))
        return FIELD
    when, all_day = pending
    step = STEPS[details["step"]]
    details[step.field] = when
    if step.field == "starts_at":
        details["all_day"] = all_day
    await query.edit_message_reply_markup(None)
    details["step"] += 1
    return await ask(update, context)


def event_from_draft(details: dict[str, Any], zone: ZoneInfo, event: Event | None) -> Event:
    event = event or Event(
        uid=f"psg-event-{utcnow().strftime('%Y%m%d%H%M%S%f')}", timezone=zone.key
    )
    for step in STEPS:
        setattr(event, step.field, details.get(step.field))
    event.all_day = bool(details.get("all_day"))
    if event.all_day and event.ends_at is None:
        event.ends_at = event.starts_at + timedelta(days=1)
    return event


async def summary(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    details = draft(context)
    chat = update.effective_chat
    assert chat is not None
    zone = get_services(context).settings.zone
    for preview in event_details_messages(event_from_draft(details, zone, None)):
        await chat.send_message(preview)
    await chat.send_message(
        _("Save this event?"),
        reply_markup=choice((_("Save"), SAVE_YES), (_("Cancel"), SAVE_NO)),
    )
    return SAVE


@admin_only(Role.EDITOR)
async def save_event(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return ConversationHandler.END
    await query.answer()
    assert context.user_data is not None
    details = context.user_data.pop("event", {})
    if query.data != SAVE_YES or "title" not in details:
        await query.edit_message_text(_("Nothing saved."))
        return ConversationHandler.END
    services = get_services(context)
    now = utcnow()
    async with services.sessions.begin() as session:
        stored = await session.get(Event, details["id"]) if details.get("editing") else None
        before = (
            (stored.starts_at, stored.venue, stored.address, stored.online_url) if stored else None
        )
        event = event_from_draft(details, services.settings.zone, stored)
        event.updated_at = now
        if stored is None:
            session.add(event)
        await session.flush()
        if before is None:
            await audit(session, user.id, "event added", f"#{event.id} {event.title}")
            if is_upcoming(event, now):
                await announce(session, event, now)
        else:
            await audit(session, user.id, "event changed", f"#{event.id} {event.title}")
            after = (event.starts_at, event.venue, event.address, event.online_url)
            if after != before:
                await notify_change(session, event, services.settings.reminder_hours, now)
    services.wake_dispatcher()
    await query.edit_message_text(_("Saved as event #{id}.").format(id=event.id))
    return ConversationHandler.END


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
        _("Cancel <b>{title}</b> ({when})? Everyone who asked for a reminder will be told.").format(
            title=event_title(event), when=escape(event_when(event))
        ),
        reply_markup=choice(
            (_("Yes, cancel it"), f"{CANCEL_PREFIX}{event.id}"), (_("No"), f"{CANCEL_PREFIX}no")
        ),
    )


@admin_only(Role.EDITOR)
async def cancel_event_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None:
        return
    await query.answer()
    number = query.data.removeprefix(CANCEL_PREFIX)
    event = await find_event(context, number)
    if event is None or event.cancelled:
        await query.edit_message_text(_("Nothing changed."))
        return
    services = get_services(context)
    now = utcnow()
    async with services.sessions.begin() as session:
        stored = await session.get(Event, event.id)
        assert stored is not None
        stored.cancelled = True
        stored.updated_at = now
        told = await notify_cancellation(session, stored, now)
        await audit(session, user.id, "event cancelled", f"#{stored.id} {stored.title}")
    services.wake_dispatcher()
    await query.edit_message_text(
        _("Event #{id} cancelled; {count} chats told.").format(id=event.id, count=told)
    )


def handlers() -> list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]]:
    flow = conversation(
        entry_points=[
            CommandHandler("addevent", add_event),
            CommandHandler("editevent", edit_event),
        ],
        states={
            FIELD: [MessageHandler(filters.TEXT & ~filters.COMMAND, receive_field)],
            CONFIRM_WHEN: [CallbackQueryHandler(confirm_when, pattern=r"^adm:ev:(ok|redo)$")],
            SAVE: [CallbackQueryHandler(save_event, pattern=r"^adm:ev:(save|discard)$")],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        name="event",
    )
    return [
        CommandHandler("events", events),
        CommandHandler("event", event_command),
        CallbackQueryHandler(event_button, pattern=r"^ev:"),
        flow,  # type: ignore[list-item]
        CommandHandler("cancelevent", cancel_event),
        CallbackQueryHandler(cancel_event_button, pattern=f"^{CANCEL_PREFIX}"),
    ]
