"""Notices as Telegram HTML, rendered when the dispatcher sends them: the outbox stores what a
notice is about (psgbot.db.enums.Notice, an event or a feed), never its words."""

from __future__ import annotations

from collections.abc import Callable

from psgbot.db.enums import Notice
from psgbot.db.models import Event, Feed
from psgbot.feeds.sources import display_source
from psgbot.i18n import _
from psgbot.render.events import (
    event_announcement,
    event_cancelled_message,
    event_changed_message,
    event_reminder_message,
)
from psgbot.render.markup import escape


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
    notice: Notice, *, event: Event | None, feed: Feed | None, hours: int | None
) -> str | None:
    """A notice's HTML as of now; None when what it is about is no longer stored."""
    if notice == Notice.EVENT_REMINDER:
        return event_reminder_message(event, hours or 0) if event is not None else None
    if notice in EVENT_NOTICES:
        return EVENT_NOTICES[notice](event) if event is not None else None
    if notice in FEED_NOTICES:
        return FEED_NOTICES[notice](feed) if feed is not None else None
    return None
