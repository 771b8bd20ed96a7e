"""Events as Telegram HTML: listings, details, reminders, changes and announcements."""

from __future__ import annotations

from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

from psgbot.db.models import Event
from psgbot.i18n import BABEL_LOCALE, _
from psgbot.render.markup import CAPTION_LIMIT, escape, link, pack, shorten, shorten_lines


def event_when(event: Event) -> str:
    """Date and time in the event's own zone, with the zone named, e.g. "10:00 GMT"."""
    zone = ZoneInfo(event.timezone)
    start = event.starts_at.astimezone(zone)
    day = format_date(start.date(), "EEEE d MMMM y", locale=BABEL_LOCALE)
    if event.all_day:
        return _("{day} (all day; time to be announced, {zone} time)").format(
            day=day, zone=event.timezone
        )
    when = f"{day}, {format_time(start.time(), 'HH:mm', locale=BABEL_LOCALE)}"
    if event.ends_at:
        end = event.ends_at.astimezone(zone)
        if end.date() == start.date():
            when += "–" + format_time(end.time(), "HH:mm", locale=BABEL_LOCALE)
    return f"{when} {start.tzname()} ({event.timezone})"


EVENT_FIELD_LIMIT = 300  # title, subtitle, place: a few lines each on a phone


def event_title(event: Event) -> str:
    return escape(shorten(event.title, EVENT_FIELD_LIMIT))


def event_place(event: Event) -> str:
    place = ", ".join(part for part in (event.venue, event.address) if part)
    return escape(shorten(place, EVENT_FIELD_LIMIT))


def event_block(event: Event, *, past: bool = False) -> str:
    lines = [f"<b>{event_title(event)}</b>" + (_(" (past event)") if past else "")]
    if event.subtitle:
        lines.append(f"<i>{escape(shorten(event.subtitle, EVENT_FIELD_LIMIT))}</i>")
    lines.append("🗓 " + escape(event_when(event)))
    if event.venue or event.address:
        lines.append("📍 " + event_place(event))
    if event.online_url:
        lines.append("💻 " + link(_("Join online"), event.online_url))
    if event.registration_url:
        lines.append("✍️ " + link(_("Register"), event.registration_url))
    return "\n".join(lines)


def listed_event(event: Event, *, past: bool = False) -> str:
    """One event of /events: its number (for /event <n>), then its block."""
    return f"<b>#{event.id}</b> " + event_block(event, past=past)


def events_heading(*, past: bool, asked_past: bool) -> str:
    """The line above /events: upcoming, past (asked), or past because none is coming."""
    if past and not asked_past:
        return _("🗓 <b>No upcoming events just now.</b> The most recent ones:")
    if past:
        return _("🗓 <b>Past events</b>")
    return _("🗓 <b>Upcoming events</b>")


def map_link(event: Event) -> str | None:
    """An OpenStreetMap link: the exact spot when coordinates are known, else a search."""
    if event.latitude is not None and event.longitude is not None:
        lat, lon = event.latitude, event.longitude
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"
    place = ", ".join(part for part in (event.venue, event.address) if part)
    if not place:
        return None
    # errors="replace": a lone surrogate (hostile or broken input) must not fail the message.
    return "https://www.openstreetmap.org/search?query=" + quote_plus(place, errors="replace")


DETAIL_FIELD_LIMIT = 3000  # one description, programme or prices block of event details


def event_details_messages(event: Event) -> list[str]:
    """Everything about one event: when, where (with a map), programme, prices, registration.

    Long descriptions make several messages, split between blocks.
    """
    if event.cancelled:
        head = ["❌ " + _("<b>Cancelled:</b> {title}").format(title=event_title(event))]
    else:
        head = [f"🗓 <b>{event_title(event)}</b>"]
    if event.subtitle:
        head.append(f"<i>{escape(shorten(event.subtitle, EVENT_FIELD_LIMIT))}</i>")
    where = ["🕰 " + escape(event_when(event))]
    if event.venue or event.address:
        where.append("📍 " + event_place(event))
        if url := map_link(event):
            where.append("🗺 " + link(_("Map"), url))
    if event.online_url:
        where.append("💻 " + link(_("Join online"), event.online_url))
    blocks = ["\n".join(head), "\n".join(where)]
    for label, value in (
        (_("About"), event.description),
        (_("Programme"), event.programme),
        (_("Prices"), event.prices),
    ):
        if value and value.strip():
            blocks.append(f"<b>{label}</b>\n" + escape(shorten_lines(value, DETAIL_FIELD_LIMIT)))
    if event.registration_url:
        blocks.append("✍️ " + link(_("Register here"), event.registration_url))
    if event.organiser:
        organiser = escape(shorten(event.organiser, EVENT_FIELD_LIMIT))
        blocks.append(_("Organiser: {who}").format(who=organiser))
    return pack(blocks)


def event_caption(event: Event) -> str:
    """The caption of an event's calendar file."""
    return escape(shorten(event.title, CAPTION_LIMIT))


def event_reminder_message(event: Event, hours: int) -> str:
    when = _("tomorrow") if hours >= 24 else _("in {hours} hour(s)").format(hours=hours)
    return "\n".join(
        [
            _("⏰ <b>Reminder:</b> {title} is {when}.").format(title=event_title(event), when=when),
            event_block(event),
        ]
    )


def event_changed_message(event: Event) -> str:
    return "\n".join(
        [
            _(
                "✏️ <b>Changed:</b> the details of an event you asked to be reminded "
                "of have changed."
            ),
            event_block(event),
        ]
    )


def event_cancelled_message(event: Event) -> str:
    return _("❌ <b>Cancelled:</b> {title} ({when}) will not take place.").format(
        title=event_title(event), when=escape(event_when(event))
    )


def event_announcement(event: Event) -> str:
    return "\n".join(
        [
            _("📣 <b>New PSG event</b>"),
            event_block(event),
            _("/events for details, a calendar file and reminders."),
        ]
    )
