"""Items, events and texts to Telegram HTML: the only place the bot builds HTML.

Everything that comes from outside (feed titles, summaries, links, event fields, admin texts) is
escaped here, and every message is kept within Telegram's limits, so a hostile feed cannot break a
message or make Telegram refuse it. Telegram counts a message's length after parsing its entities,
in UTF-16 code units (an emoji outside the BMP counts 2). So text is shortened *before* it is
escaped, to a budget in those units, and markup is never sliced: a block too long for one message
is rebuilt shorter or split between its lines, never cut inside a tag or an entity.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any, ClassVar
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

from psgbot.db.models import Event, Item
from psgbot.i18n import BABEL_LOCALE, _, ngettext
from psgbot.texts import StandingText
from psgbot.topics import Taxonomy, Topic

MESSAGE_LIMIT = 4096  # UTF-16 units of visible text
CAPTION_LIMIT = 1024
TITLE_LIMIT = 250
SHORT_SUMMARY_LIMIT = 220  # about two lines on a phone
# Telegram documents no limit for a link's URL; an escaped href longer than the longest link we
# store (models.LINK_LIMIT) can only come from hostile input, and is shown as plain text.
HREF_LIMIT = 2000


def escape(text: str) -> str:
    """Escapes text for a Telegram HTML body (only <, > and & are special there)."""
    return html.escape(text, quote=False)


def link(label: str, url: str | None) -> str:
    """A link when ``url`` is a web address; otherwise just the escaped label."""
    if url and url.startswith(("http://", "https://")):
        href = html.escape(url, quote=True)
        if len(href) <= HREF_LIMIT:
            return f'<a href="{href}">{escape(label)}</a>'
    return escape(label)


def utf16_len(text: str) -> int:
    """The length Telegram counts: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _utf16_prefix(text: str, units: int) -> str:
    """The longest prefix of ``text`` within ``units`` UTF-16 units (never half a character)."""
    encoded = text.encode("utf-16-le", "surrogatepass")
    return encoded[: 2 * max(0, units)].decode("utf-16-le", "ignore")


def shorten(text: str, limit: int) -> str:
    """Folds whitespace and cuts ``text`` to ``limit`` UTF-16 units at a word, with an ellipsis."""
    return _cut(" ".join(text.split()), limit)


def shorten_lines(text: str, limit: int) -> str:
    """Like :func:`shorten` but keeps line breaks (for bodies of several paragraphs)."""
    lines = [" ".join(line.split()) for line in text.strip().splitlines()]
    return _cut("\n".join(lines), limit)


def _cut(text: str, limit: int) -> str:
    if utf16_len(text) <= limit:
        return text
    cut = _utf16_prefix(text, limit - 1)
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space > len(cut) // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—\n") + "…"


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


def visible_text(markup: str) -> str:
    """What a reader sees of Telegram HTML built here: the text, entities decoded, no tags."""
    return html_to_text(markup, links=False)


def visible_length(markup: str) -> int:
    """The length Telegram checks against its limits: visible text in UTF-16 units."""
    return utf16_len(visible_text(markup))


def fit(alternatives: Sequence[str], limit: int = MESSAGE_LIMIT) -> str:
    """The first of ``alternatives`` (fullest first) that fits ``limit``.

    When none does, the last one's visible text, shortened and escaped: formatting is lost, but
    the message stays valid.
    """
    for markup in alternatives:
        if visible_length(markup) <= limit:
            return markup
    return escape(shorten_lines(visible_text(alternatives[-1]), limit))


def pack(blocks: Sequence[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Joins blocks with blank lines into as few messages as fit ``limit`` each.

    Blocks are never cut. One that can't fit a message alone is split between its lines (each
    line of a block built here is whole markup), and a line still too long is rebuilt as plain
    text with :func:`fit`.
    """
    messages: list[str] = []
    current, used = "", 0
    for block in blocks:
        size = visible_length(block)
        if size > limit:
            lines = [fit([line], limit) for line in block.split("\n")]
            parts = _join_within(lines, "\n", limit)
        else:
            parts = [(block, size)]
        for part, part_size in parts:
            if current and used + 2 + part_size <= limit:
                current, used = f"{current}\n\n{part}", used + 2 + part_size
                continue
            if current:
                messages.append(current)
            current, used = part, part_size
    if current:
        messages.append(current)
    return messages


def _join_within(lines: Sequence[str], separator: str, limit: int) -> list[tuple[str, int]]:
    """Joins whole lines into runs within ``limit``; each run with its visible length."""
    runs: list[tuple[str, int]] = []
    current, used = "", 0
    for line in lines:
        size = visible_length(line)
        if current and used + utf16_len(separator) + size <= limit:
            current, used = current + separator + line, used + utf16_len(separator) + size
            continue
        if current:
            runs.append((current, used))
        current, used = line, size
    if current:
        runs.append((current, used))
    return runs


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
    head = f"<b>{escape(shorten(text.title, TITLE_LIMIT))}</b>"
    tail = ""
    if text.link_label and text.link_url:
        tail = "👉 " + link(shorten(text.link_label, TITLE_LIMIT), text.link_url)
    budget = MESSAGE_LIMIT - visible_length(head) - visible_length(tail) - 4
    body = escape(shorten_lines(text.body, budget))
    return "\n\n".join(part for part in (head, body, tail) if part)


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
    """Several new items at once, as headlines grouped by topic, instead of a burst of alerts.

    One message: headlines that don't fit are counted in a last line pointing to /latest.
    """
    groups: dict[str, list[Item]] = {}
    for item in items:
        slug = item.topic_slugs[0] if item.topic_slugs else ""
        groups.setdefault(slug, []).append(item)
    # Each line with the number of headlines it shows (0 for blank lines and topic headings).
    entries: list[tuple[str, int]] = []
    for slug, members in groups.items():
        topic = taxonomy.get(slug)
        heading = f"{topic.emoji} <b>{escape(topic.name)}</b>" if topic else _("<b>Other news</b>")
        entries += [("", 0), (heading, 0)]
        entries += [
            (f"• {link(shorten(it.title, DIGEST_TITLE_LIMIT), it.link)}", 1) for it in members
        ]
    lines = [_("📰 <b>{count} new items</b>").format(count=len(items))]
    used = visible_length(lines[0])
    shown = 0
    for line, count in entries:
        used += 1 + visible_length(line)
        if used > MESSAGE_LIMIT - 100:  # room for the "…and N more" line
            break
        lines.append(line)
        shown += count
    while len(lines) > 1 and not lines[-1].startswith("•"):
        lines.pop()  # a heading whose headlines did not fit
    if shown < len(items):
        lines += ["", _("…and {count} more: see /latest").format(count=len(items) - shown)]
    return "\n".join(lines)


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

    def __init__(self, color: bool, links: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.color = color
        self.links = links
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
            if self.links and href and href != label.strip():
                self.out.append(f" ({href})")
        elif tag in self.STYLES and self.color and self._styles:
            self._styles.pop()
            self.out.append("\033[0m" + (f"\033[{';'.join(self._styles)}m" if self._styles else ""))

    def handle_data(self, data: str) -> None:
        self.out.append(data)


def html_to_text(markup: str, *, color: bool = False, links: bool = True) -> str:
    """A Telegram HTML message for a terminal: with ``color``, ANSI styles for bold etc.; with
    ``links``, each link's address after its text."""
    parser = _TelegramHtmlToText(color, links)
    parser.feed(markup)
    parser.close()
    return "".join(parser.out)


def duration(value: timedelta) -> str:
    """A retention period in words: "90 days", "12 hours"."""
    if value >= timedelta(days=1):
        days = round(value / timedelta(days=1))
        return ngettext("{n} day", "{n} days", days).format(n=days)
    hours = max(0, round(value / timedelta(hours=1)))
    return ngettext("{n} hour", "{n} hours", hours).format(n=hours)


def privacy_notice(delivery_retention: timedelta, inactive_retention: timedelta) -> str:
    """/privacy: what is stored, why, for how long, who sees it, and how to see or delete it."""
    return "\n".join(
        [
            _("🔒 <b>Your privacy</b>"),
            "",
            _(
                "<b>What is stored about this chat:</b> its Telegram id and type (private chat "
                "or group), the topics it follows, whether it wants announcements from the PSG, "
                "whether it stopped everything, the events it asked to be reminded of, and a "
                "record of each message sent to it (when, and whether it arrived)."
            ),
            _(
                "<b>Never stored:</b> names, usernames, group titles, phone numbers, or anything "
                "you type other than commands."
            ),
            "",
            _(
                "<b>Why:</b> only to send what this chat asked for, once each, and to count how "
                "many messages went out."
            ),
            "",
            _("<b>How long:</b>"),
            _(
                "• the record of a message: {delivery} (PSGBOT_DELIVERY_RETENTION), then it "
                "becomes an anonymous daily count;"
            ).format(delivery=escape(duration(delivery_retention))),
            _("• a reminder: until its event is over;"),
            _(
                "• everything about a chat that blocks or removes the bot: {inactive} "
                "(PSGBOT_INACTIVE_RETENTION), then it is deleted;"
            ).format(inactive=escape(duration(inactive_retention))),
            _("• everything else: until you delete it with /forget."),
            "",
            _(
                "<b>Who sees it:</b> the Peru Support Group's administrators see counts only "
                "(how many chats, how many messages), never who follows what. Nothing is given "
                "or sold to anyone else."
            ),
            "",
            _(
                "/mydata sends you everything stored about this chat. /forget deletes it all. "
                "/stop ends every message without deleting your choices."
            ),
        ]
    )


def my_data_summary(record: dict[str, Any] | None, taxonomy: Taxonomy) -> str:
    """The caption of /mydata's file: the record in a few lines (at most a caption long)."""
    if record is None:
        return _("Nothing is stored about this chat.")
    chat = record["chat"] or {}
    topics = [
        _("all news") if entry["topic"] == "*" else _topic_name(entry["topic"], taxonomy)
        for entry in record["subscriptions"]
    ]
    lines = [_("<b>Everything stored about this chat</b> (in full in the file):")]
    lines.append(
        _("• Alerts on: {topics}").format(topics=escape(", ".join(topics)))
        if topics
        else _("• Alerts on: no topics")
    )
    lines.append(
        _("• Announcements from the PSG: on")
        if chat.get("announcements", True)
        else _("• Announcements from the PSG: off")
    )
    if chat.get("stopped_at"):
        lines.append(_("• Stopped: nothing is sent to this chat"))
    lines.append(
        ngettext(
            "• Reminders: {n} event", "• Reminders: {n} events", len(record["reminders"])
        ).format(n=len(record["reminders"]))
    )
    lines.append(
        ngettext(
            "• Messages on record: {n}", "• Messages on record: {n}", record["messages_stored"]
        ).format(n=record["messages_stored"])
    )
    lines.append(_("/forget deletes all of it."))
    return fit(["\n".join(lines), "\n".join([lines[0], lines[-1]])], CAPTION_LIMIT)


def _topic_name(slug: str, taxonomy: Taxonomy) -> str:
    topic = taxonomy.get(slug)
    return topic.name if topic else slug


def stopped_message() -> str:
    return "\n".join(
        [
            _("⏹ <b>Stopped.</b> This chat will get nothing more from me:"),
            _("• no news alerts,"),
            _("• no event reminders,"),
            _("• no announcements from the PSG."),
            _("Messages that were waiting have been cancelled."),
            "",
            _(
                "Your topics and reminders are kept (nothing is sent for them): tap Undo, or "
                "use /subscribe, to start again. /forget deletes them."
            ),
        ]
    )
