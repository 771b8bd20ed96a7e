"""Notices as Telegram HTML, rendered when the dispatcher sends them: the outbox stores what a
notice is about (psgbot.db.enums.Notice, an event or a feed), never its words."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from psgbot.dates import format_short_day, format_short_moment
from psgbot.db.enums import EventField, Notice
from psgbot.db.models import Event, Feed
from psgbot.db.types import EventChanges, FieldValue
from psgbot.feeds.sources import display_source
from psgbot.i18n import _
from psgbot.render.events import (
    event_announcement,
    event_block,
    event_cancelled_message,
    event_changed_message,
    event_reminder_message,
    event_title,
)
from psgbot.render.markup import escape, fit, shorten

CHANGED_VALUE_LIMIT = 200  # UTF-16 units of one old or new value in a change notice


def _source(feed: Feed) -> str:
    return f"<code>{escape(display_source(feed.source))}</code>"


def feed_recovered_message(feed: Feed) -> str:
    return _("✅ Feed {source} has recovered.").format(source=_source(feed))


def feed_gone_message(feed: Feed) -> str:
    return _(
        "🛑 Feed {source} answered 410 Gone (removed by its publisher), so I stopped "
        "polling it. Remove it from PSGBOT_FEEDS, or re-enable it with "
        "/feeds enable &lt;source&gt; if it comes back."
    ).format(source=_source(feed))


def feed_failing_message(feed: Feed) -> str:
    return _("⚠️ Feed {source} is failing: {error}\nI will keep retrying, less often.").format(
        source=_source(feed), error=escape(feed.last_error or "")
    )


def _field_label(field: EventField) -> str:
    return {
        EventField.TITLE: _("Title"),
        EventField.STARTS_AT: _("Time"),
        EventField.ENDS_AT: _("Ends"),
        EventField.VENUE: _("Venue"),
        EventField.ADDRESS: _("Address"),
        EventField.ONLINE_URL: _("Online link"),
    }[field]


def _shown(value: FieldValue, event: Event) -> str:
    """A changed value in plain words: a time in the event's zone ("Tue 1 Dec 18:00"; the day
    alone for an all-day event), "none" for an empty field."""
    if value is None or value == "":
        return _("none")
    if isinstance(value, datetime):
        local = value.astimezone(ZoneInfo(event.timezone))
        if event.all_day:
            return format_short_day(local.date())
        return format_short_moment(local)
    return shorten(value, CHANGED_VALUE_LIMIT)


def event_changes_message(event: Event, changes: EventChanges) -> str:
    """A change notice naming each changed field, old → new, above the event as it is now."""
    heading = _("✏️ <b>Changed:</b> {title}, an event you asked to be reminded of.").format(
        title=event_title(event)
    )
    lines = [
        f"{escape(_field_label(field))}: {escape(_shown(old, event))} → "
        f"<b>{escape(_shown(new, event))}</b>"
        for field, (old, new) in changes.items()
    ]
    return fit(["\n".join([heading, *lines, "", event_block(event)]), "\n".join([heading, *lines])])


EVENT_NOTICES: dict[Notice, Callable[[Event], str]] = {
    Notice.EVENT_NEW: event_announcement,
    Notice.EVENT_CHANGED: event_changed_message,
    Notice.EVENT_CANCELLED: event_cancelled_message,
}
FEED_NOTICES: dict[Notice, Callable[[Feed], str]] = {
    Notice.FEED_FAILING: feed_failing_message,
    Notice.FEED_GONE: feed_gone_message,
    Notice.FEED_RECOVERED: feed_recovered_message,
}


def notice_message(
    notice: Notice,
    *,
    event: Event | None,
    feed: Feed | None,
    hours: int | None,
    changes: EventChanges | None = None,
) -> str | None:
    """A notice's HTML as of now; None when what it is about is no longer stored. A change
    notice names what changed when its row says (rows queued before revision 0012 do not)."""
    if notice == Notice.EVENT_CHANGED and changes and event is not None:
        return event_changes_message(event, changes)
    if notice == Notice.EVENT_REMINDER:
        return event_reminder_message(event, hours or 0) if event is not None else None
    if notice in EVENT_NOTICES:
        return EVENT_NOTICES[notice](event) if event is not None else None
    if notice in FEED_NOTICES:
        return FEED_NOTICES[notice](feed) if feed is not None else None
    return None
