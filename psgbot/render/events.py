"""Events as Telegram HTML: listings, details, reminders, changes and announcements."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import InlineKeyboardMarkup

from psgbot.dates import format_clock, format_day, format_short_day, zone_city
from psgbot.db.models import Event
from psgbot.i18n import Language, _, current_language, current_zone, ngettext
from psgbot.render.buttons import EVENT_CALENDAR, EVENT_DETAILS, EVENT_REMIND
from psgbot.render.markup import CAPTION_LIMIT, escape, fit, link, pack, shorten, shorten_lines

# Where most Spanish-speaking supporters are: Spanish chats see an event's time in Lima too.
LIMA = "America/Lima"


def event_when(event: Event) -> str:
    """Date and time in the event's own zone, named by its place: "Saturday 6 June 2026,
    10:30–13:00 London time"; a date without a time is "time to be announced". Also, where the
    clock differs, in the zone the reader chose with /timezone and, for a Spanish reader, in
    Lima's: "sábado 6 de junio de 2026, 10:30–13:00 hora de Londres (04:30–07:00 hora de
    Lima)"."""
    zone = ZoneInfo(event.timezone)
    start = event.starts_at.astimezone(zone)
    day = format_day(start.date())
    if event.all_day:
        return _("{day}, time to be announced").format(day=day)
    shown = _("{day}, {time} {place} time").format(
        day=day, time=_times(event, zone), place=zone_city(event.timezone)
    )
    offsets = {start.utcoffset()}
    elsewhere = []
    for reader in _reader_zones():
        local = event.starts_at.astimezone(reader)
        if local.utcoffset() in offsets:
            continue  # the same clock as one already shown
        offsets.add(local.utcoffset())
        there = _("{time} {place} time").format(
            time=_times(event, reader), place=zone_city(reader.key)
        )
        if local.date() != start.date():
            there = f"{format_short_day(local.date())}, {there}"
        elsewhere.append(there)
    if elsewhere:
        shown += f" ({' · '.join(elsewhere)})"
    return shown


def _reader_zones() -> list[ZoneInfo]:
    """The zone the reader chose (/timezone), then Lima's for a Spanish reader."""
    names = [current_zone(), LIMA if current_language() == Language.ES else None]
    zones = []
    for name in names:
        try:
            if name:
                zones.append(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):  # stored before a zone was renamed away
            continue
    return zones


def _times(event: Event, zone: ZoneInfo) -> str:
    """ "10:30" or "10:30–13:00" (an end on the same day) in ``zone``."""
    start = event.starts_at.astimezone(zone)
    times = format_clock(start.time())
    if event.ends_at:
        end = event.ends_at.astimezone(zone)
        if end.date() == start.date():
            times += "–" + format_clock(end.time())
    return times


def short_date(event: Event) -> str:
    """The day of an event for a button: "Sat 6 Jun"."""
    return format_short_day(event.starts_at.astimezone(ZoneInfo(event.timezone)).date())


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


LISTED_FIELD_LIMIT = 150  # /events shows five events in one message: a line or two each
BUTTON_TITLE_LIMIT = 40


def listed_event(event: Event, *, past: bool = False) -> str:
    """One event of /events, briefly: title, when, where (its button opens the rest)."""
    lines = [f"<b>{escape(shorten(event.title, LISTED_FIELD_LIMIT))}</b>"]
    lines.append("🗓 " + escape(event_when(event)))
    place = ", ".join(part for part in (event.venue, event.address) if part)
    if place:
        lines.append("📍 " + escape(shorten(place, LISTED_FIELD_LIMIT)))
    if event.online_url:
        lines.append("💻 " + link(_("Join online"), event.online_url))
    return "\n".join(lines)


def events_message(events: Sequence[Event], *, past: bool, asked_past: bool) -> str:
    """/events in one message: the heading, then each event briefly, in the order given."""
    blocks = [events_heading(past=past, asked_past=asked_past)]
    blocks += [listed_event(event, past=past) for event in events]
    blocks.append(
        _("Tap an event for its details and a calendar file.")
        if past
        else _("Tap an event for its details, a calendar file and a reminder.")
    )
    plain = [
        f"<b>{escape(shorten(event.title, LISTED_FIELD_LIMIT))}</b>\n🗓 {escape(event_when(event))}"
        for event in events
    ]
    return fit(["\n\n".join(blocks), "\n\n".join([blocks[0], *plain])])


def events_keyboard(events: Sequence[Event]) -> InlineKeyboardMarkup:
    """A button per event of /events (its date and title), opening its details."""
    return InlineKeyboardMarkup(
        [
            [
                EVENT_DETAILS.button(
                    f"{short_date(event)} · {shorten(event.title, BUTTON_TITLE_LIMIT)}", event.id
                )
            ]
            for event in events
        ]
    )


def event_keyboard(event: Event, *, upcoming: bool, reminded: bool) -> InlineKeyboardMarkup:
    """Under an event's details: Details, Add to calendar, and (while it is to come) Remind
    me, marked ✓ while this chat's reminder is on."""
    row = [
        EVENT_DETAILS.button(_("Details"), event.id),
        EVENT_CALENDAR.button(_("Add to calendar"), event.id),
    ]
    if upcoming:
        label = _("✓ Reminder on") if reminded else _("⏰ Remind me")
        row.append(EVENT_REMIND.button(label, event.id))
    return InlineKeyboardMarkup([row])


def reminder_keyboard(event: Event) -> InlineKeyboardMarkup:
    """Under a reminder: the event's details and its calendar file."""
    return InlineKeyboardMarkup(
        [
            [
                EVENT_DETAILS.button(_("Details"), event.id),
                EVENT_CALENDAR.button(_("Add to calendar"), event.id),
            ]
        ]
    )


def reminder_set_note(hours: Sequence[int]) -> str:
    """The short answer to "Remind me" (plain text): when the reminders come."""
    offsets = ", ".join(
        ngettext("{count} hour", "{count} hours", offset).format(count=offset) for offset in hours
    )
    return _("✓ Reminder on: {offsets} before. Tap again to undo.").format(offsets=offsets)


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
    when = ngettext("in {hours} hour", "in {hours} hours", hours).format(hours=hours)
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
