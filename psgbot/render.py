"""Items, events and texts to Telegram HTML: the only place the bot builds HTML.

Everything that comes from outside (feed titles, summaries, links, event fields, admin texts) is
escaped here, and every message is kept within Telegram's 4096-character limit, so a hostile feed
cannot break a message or make Telegram refuse it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import datetime
from html.parser import HTMLParser
from typing import ClassVar
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

from psgbot.db.models import Event, Item
from psgbot.i18n import BABEL_LOCALE, _
from psgbot.texts import StandingText
from psgbot.topics import Taxonomy, Topic

MESSAGE_LIMIT = 4096
TITLE_LIMIT = 250
SHORT_SUMMARY_LIMIT = 220  # about two lines on a phone


def escape(text: str) -> str:
    """Escapes text for a Telegram HTML body (only <, > and & are special there)."""
    return html.escape(text, quote=False)


def link(label: str, url: str | None) -> str:
    """A link when ``url`` is a web address; otherwise just the escaped label."""
    if url and url.startswith(("http://", "https://")):
        return f'<a href="{html.escape(url, quote=True)}">{escape(label)}</a>'
    return escape(label)


def shorten(text: str, limit: int) -> str:
    """Cuts ``text`` to at most ``limit`` characters at a word boundary, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"


def long_date(moment: datetime, zone: ZoneInfo) -> str:
    return format_date(moment.astimezone(zone).date(), "d MMMM y", locale=BABEL_LOCALE)


def topic_tags(slugs: Iterable[str], taxonomy: Taxonomy) -> str:
    topics = [topic for slug in slugs if (topic := taxonomy.get(slug))]
    return " ".join(topic.hashtag for topic in topics)


def item_block(item: Item, taxonomy: Taxonomy, zone: ZoneInfo) -> str:
    """One headline: bold linked title, date and topic tags, a two-line summary."""
    title = shorten(item.title, TITLE_LIMIT)
    lines = [f"<b>{link(title, item.link)}</b>"]
    meta = [long_date(item.published_at, zone)] if item.published_at else []
    if tags := topic_tags(item.topic_slugs, taxonomy):
        meta.append(tags)
    if meta:
        lines.append(" · ".join(meta))
    if item.summary:
        lines.append(escape(shorten(item.summary, SHORT_SUMMARY_LIMIT)))
    return "\n".join(lines)


def latest_messages(
    items: Sequence[Item], taxonomy: Taxonomy, zone: ZoneInfo, topic: Topic | None = None
) -> list[str]:
    """The ``/latest`` reply, split into as many messages as Telegram's limit needs."""
    if not items:
        if topic:
            return [
                _("Nothing yet on {topic}. Try /latest for all the news, or /topics.").format(
                    topic=f"<b>{escape(topic.name)}</b>"
                )
            ]
        return [_("Nothing yet: no news has arrived. Please check again a little later.")]
    heading = (
        _("📰 <b>Latest on {topic}</b>").format(topic=escape(topic.name))
        if topic
        else _("📰 <b>Latest news from the Peru Support Group</b>")
    )
    return pack([heading, *(item_block(item, taxonomy, zone) for item in items)])


def pack(blocks: Sequence[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Joins blocks with blank lines into as few messages as fit ``limit`` characters each.

    Blocks are never split (each is built well under the limit), so HTML tags always close.
    """
    messages: list[str] = []
    current = ""
    for block in blocks:
        candidate = f"{current}\n\n{block}" if current else block
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            messages.append(current)
        current = block[:limit]
    if current:
        messages.append(current)
    return messages


def topics_message(taxonomy: Taxonomy) -> str:
    lines = [_("🗂 <b>Topics</b>"), ""]
    for topic in taxonomy.topics:
        lines.append(
            f"{topic.emoji} <b>{escape(topic.name)}</b> (<code>{escape(topic.slug)}</code>): "
            f"{escape(topic.description)}"
        )
    lines += ["", _("See one with /latest &lt;topic&gt;, for example /latest extractives.")]
    return "\n".join(lines)


def unknown_topic_message(name: str, taxonomy: Taxonomy) -> str:
    names = ", ".join(f"<code>{escape(topic.slug)}</code>" for topic in taxonomy.topics)
    return _(
        "I don't know the topic “{name}”. Topics are: {names}.\n"
        "Try /latest mining, or /latest 10 for the ten newest items."
    ).format(name=escape(shorten(name, 60)), names=names)


def standing_text_message(text: StandingText) -> str:
    parts = [f"<b>{escape(text.title)}</b>", ""]
    parts += [escape(line) for line in text.body.splitlines()]
    if text.link_label and text.link_url:
        parts += ["", "👉 " + link(text.link_label, text.link_url)]
    return "\n".join(parts).strip()[:MESSAGE_LIMIT]


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


def event_block(event: Event, *, past: bool = False) -> str:
    title = escape(event.title)
    lines = [f"<b>{title}</b>" + (_(" (past event)") if past else "")]
    if event.subtitle:
        lines.append(f"<i>{escape(event.subtitle)}</i>")
    lines.append("🗓 " + escape(event_when(event)))
    if event.venue or event.address:
        place = ", ".join(part for part in (event.venue, event.address) if part)
        lines.append("📍 " + escape(place))
    if event.online_url:
        lines.append("💻 " + link(_("Join online"), event.online_url))
    if event.registration_url:
        lines.append("✍️ " + link(_("Register"), event.registration_url))
    return "\n".join(lines)


ALERT_SUMMARY_LIMIT = 500
DIGEST_TITLE_LIMIT = 150


def alert_message(item: Item, taxonomy: Taxonomy, zone: ZoneInfo, topic: Topic | None) -> str:
    """One new item for a subscriber: topic mark, bold linked title, date, summary, tags."""
    mark = topic.emoji if topic else "📰"
    lines = [f"{mark} <b>{link(shorten(item.title, TITLE_LIMIT), item.link)}</b>"]
    if item.published_at:
        lines.append("🗓 " + long_date(item.published_at, zone))
    if item.summary:
        lines += ["", escape(shorten(item.summary, ALERT_SUMMARY_LIMIT))]
    if tags := topic_tags(item.topic_slugs, taxonomy):
        lines += ["", tags]
    return "\n".join(lines)


def digest_message(items: Sequence[Item], taxonomy: Taxonomy) -> str:
    """Several new items at once, as headlines grouped by topic, instead of a burst of alerts."""
    groups: dict[str, list[Item]] = {}
    for item in items:
        slug = item.topic_slugs[0] if item.topic_slugs else ""
        groups.setdefault(slug, []).append(item)
    blocks = [_("📰 <b>{count} new items</b>").format(count=len(items))]
    for slug, members in groups.items():
        topic = taxonomy.get(slug)
        heading = f"{topic.emoji} <b>{escape(topic.name)}</b>" if topic else _("<b>Other news</b>")
        lines = [heading]
        lines += [
            f"• {link(shorten(item.title, DIGEST_TITLE_LIMIT), item.link)}" for item in members
        ]
        blocks.append("\n".join(lines))
    message = ""
    for shown, block in enumerate(blocks):
        candidate = f"{message}\n\n{block}" if message else block
        if len(candidate) > MESSAGE_LIMIT - 100:
            rest = sum(len(group) for group in list(groups.values())[shown - 1 :])
            return message + "\n\n" + _("…and {count} more: see /latest").format(count=rest)
        message = candidate
    return message


def map_link(event: Event) -> str | None:
    """An OpenStreetMap link: the exact spot when coordinates are known, else a search."""
    if event.latitude is not None and event.longitude is not None:
        lat, lon = event.latitude, event.longitude
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"
    place = ", ".join(part for part in (event.venue, event.address) if part)
    if not place:
        return None
    return "https://www.openstreetmap.org/search?query=" + quote_plus(place)


def event_details_message(event: Event) -> str:
    """Everything about one event: when, where (with a map), programme, prices, registration."""
    lines = [f"🗓 <b>{escape(event.title)}</b>"]
    if event.cancelled:
        lines[0] = "❌ " + _("<b>Cancelled:</b> {title}").format(title=escape(event.title))
    if event.subtitle:
        lines.append(f"<i>{escape(event.subtitle)}</i>")
    lines += ["", "🕰 " + escape(event_when(event))]
    if event.venue or event.address:
        place = ", ".join(part for part in (event.venue, event.address) if part)
        lines.append("📍 " + escape(place))
        if url := map_link(event):
            lines.append("🗺 " + link(_("Map"), url))
    if event.online_url:
        lines.append("💻 " + link(_("Join online"), event.online_url))
    for label, value in (
        (_("About"), event.description),
        (_("Programme"), event.programme),
        (_("Prices"), event.prices),
    ):
        if value:
            lines += ["", f"<b>{label}</b>", escape(value.strip())]
    if event.registration_url:
        lines += ["", "✍️ " + link(_("Register here"), event.registration_url)]
    if event.organiser:
        lines += ["", _("Organiser: {who}").format(who=escape(event.organiser))]
    return "\n".join(lines)[:MESSAGE_LIMIT]


def event_reminder_message(event: Event, hours: int) -> str:
    when = _("tomorrow") if hours >= 24 else _("in {hours} hour(s)").format(hours=hours)
    return "\n".join(
        [
            _("⏰ <b>Reminder:</b> {title} is {when}.").format(
                title=escape(event.title), when=when
            ),
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
        title=escape(event.title), when=escape(event_when(event))
    )


def event_announcement(event: Event) -> str:
    return "\n".join(
        [
            _("📣 <b>New PSG event</b>"),
            event_block(event),
            _("/events for details, a calendar file and reminders."),
        ]
    )


class _TelegramHtmlToText(HTMLParser):
    """Telegram HTML for a terminal: bold and italic as ANSI styles, links as "text (url)"."""

    STYLES: ClassVar[dict[str, str]] = {
        "b": "1",
        "strong": "1",
        "i": "3",
        "em": "3",
        "u": "4",
        "ins": "4",
        "code": "36",
        "pre": "36",
    }

    def __init__(self, color: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.color = color
        self.out: list[str] = []
        self._links: list[tuple[str, int]] = []
        self._styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._links.append((dict(attrs).get("href") or "", len(self.out)))
        elif tag in self.STYLES and self.color:
            self._styles.append(self.STYLES[tag])
            self.out.append(f"\033[{';'.join(self._styles)}m")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._links:
            href, start = self._links.pop()
            label = "".join(part for part in self.out[start:] if not part.startswith("\033"))
            if href and href != label.strip():
                self.out.append(f" ({href})")
        elif tag in self.STYLES and self.color and self._styles:
            self._styles.pop()
            self.out.append("\033[0m" + (f"\033[{';'.join(self._styles)}m" if self._styles else ""))

    def handle_data(self, data: str) -> None:
        self.out.append(data)


def html_to_text(markup: str, *, color: bool = False) -> str:
    """What a reader sees of a Telegram HTML message; with ``color``, ANSI styles for bold etc."""
    parser = _TelegramHtmlToText(color)
    parser.feed(markup)
    parser.close()
    return "".join(parser.out)
