"""The admin's event flows as Telegram HTML: /addevent and /editevent's questions, the date
check, and /cancelevent's question."""

from __future__ import annotations

from datetime import datetime

from telegram import InlineKeyboardMarkup

from psgbot.dates import format_day, format_long_moment
from psgbot.db.models import Event
from psgbot.i18n import _, ngettext
from psgbot.numbers import format_count
from psgbot.render import buttons as data
from psgbot.render.events import event_title, event_when
from psgbot.render.markup import escape, fit, shorten

VALUE_LIMIT = 1000  # a field's current value, shown while editing
LISTED_VALUE_LIMIT = 150  # each field's value in /editevent's list of fields
TYPED_LIMIT = 80  # what the admin typed, quoted back


def field_question(question: str, hint: str) -> str:
    """One question of the flow with its hint in italics (both plain text)."""
    return fit([f"{escape(question)}\n<i>{escape(hint)}</i> " + _("(/cancel stops)")])


def new_value_hint(clear: str, required: bool) -> str:
    """/addevent: how to leave an optional field empty (plain text)."""
    return "" if required else _("Send {clear} to leave it empty.").format(clear=clear)


def current_value_hint(value: str, keep: str, clear: str, required: bool) -> str:
    """/editevent: the field's value now, and how to keep or clear it (plain text)."""
    return _("Now: {value}. Send {keep} to keep it{clear}.").format(
        value=shorten(value, VALUE_LIMIT),
        keep=keep,
        clear="" if required else _(", {clear} to clear it").format(clear=clear),
    )


def unreadable_when_message(text: str) -> str:
    return _(
        "I could not read “{text}” as a date and time. Try "
        "15 December 2026 10:30, 15/12/2026 10:30 or tomorrow "
        "18:00."
    ).format(text=escape(shorten(text, TYPED_LIMIT)))


def when_check_message(when: datetime, all_day: bool) -> str:
    """The date as read (in the PSG's zone), in the current language, for the admin to
    confirm: the day alone for an all-day event."""
    shown = format_day(when.date()) if all_day else format_long_moment(when)
    return _("I read that as <b>{when}</b>{all_day}. Right?").format(
        when=escape(shown), all_day=_(" (all day)") if all_day else ""
    )


def cancel_question(event: Event) -> str:
    """/cancelevent's question."""
    return _(
        "Cancel <b>{title}</b> ({when})? Everyone who asked for a reminder will be told."
    ).format(title=event_title(event), when=escape(event_when(event)))


def saved_message(event_id: int, told: int | None) -> str:
    """After Save: the event's number, and how many chats hear of its change (when changed)."""
    saved = _("Saved as event #{id}.").format(id=event_id)
    if told is None:
        return saved
    return (
        saved
        + " "
        + ngettext(
            "{count} chat that asked for a reminder is told what changed.",
            "{count} chats that asked for a reminder are told what changed.",
            told,
        ).format(count=format_count(told))
    )


def cancelled_message(event_id: int, told: int) -> str:
    """After /cancelevent's Yes."""
    return ngettext(
        "Event #{id} cancelled; {count} chat told.",
        "Event #{id} cancelled; {count} chats told.",
        told,
    ).format(id=event_id, count=format_count(told))


def fields_message(event_id: int, fields: list[tuple[str, str]]) -> str:
    """/editevent: each field (label, value as now) and the question which to change."""
    lines = [_("✏️ <b>Event #{id}</b>. Which field do you want to change?").format(id=event_id)]
    lines += [
        f"<b>{escape(label)}:</b> {escape(shorten(value, LISTED_VALUE_LIMIT))}"
        for label, value in fields
    ]
    lines.append(_("Done shows the event as it will look, to save it."))
    return fit(["\n".join(lines), "\n".join([lines[0], lines[-1]])])


def fields_keyboard(fields: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """A button per field (its name and label), two a row, then Done and Cancel."""
    buttons = [data.EVENT_FIELD.button(label, name) for name, label in fields]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(
        [
            data.EVENT_FIELDS_DONE.button(_("Done")),
            data.EVENT_DISCARD.button(_("Cancel")),
        ]
    )
    return InlineKeyboardMarkup(rows)
