"""News as Telegram HTML: /latest, alerts, digests, topics and the standing texts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions

from psgbot.dates import format_long_date
from psgbot.db.models import ALL_NEWS, Item
from psgbot.i18n import Language, _, current_language
from psgbot.render.buttons import LATEST_OF_TOPIC, MENU, SUBSCRIBE_TOPIC, UNSUBSCRIBE
from psgbot.render.markup import (
    CAPTION_LIMIT,
    MESSAGE_LIMIT,
    SHORT_SUMMARY_LIMIT,
    TITLE_LIMIT,
    escape,
    link,
    pack,
    shorten,
    shorten_lines,
    visible_length,
)
from psgbot.search import share_query
from psgbot.texts import StandingText
from psgbot.topics import Taxonomy, Topic


def long_date(moment: datetime, zone: ZoneInfo) -> str:
    """The day of ``moment`` in ``zone``; in UTC for a moment the zone's day cannot hold (a
    date stored near year 1 or 9999, in a zone behind or ahead of UTC)."""
    try:
        day = moment.astimezone(zone).date()
    except (OverflowError, ValueError):
        day = moment.astimezone(UTC).date()
    return format_long_date(day)


def topic_tags(slugs: Iterable[str], taxonomy: Taxonomy) -> str:
    topics = [topic for slug in slugs if (topic := taxonomy.get(slug))]
    return " ".join(topic.hashtag for topic in topics)


def item_block(item: Item, taxonomy: Taxonomy, zone: ZoneInfo) -> str:
    """One headline: bold linked title, date and topic tags, a two-line summary."""
    title = shorten(item.title, TITLE_LIMIT)
    lines = [f"<b>{link(title, item.link)}</b>"]
    meta = [long_date(item.published_at, zone)] if item.published_at else []
    if mark := other_language_mark(item):
        meta.append(mark)
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


def latest_keyboard(
    topic: Topic | None, items: Sequence[Item] = (), *, share: bool = False
) -> InlineKeyboardMarkup | None:
    """Under the latest items: a Share button per item (when inline mode is on), and under one
    topic's, alerts on it from now on."""
    rows = share_rows(items) if share else []
    if topic is not None and items:
        label = _("🔔 Get alerts on {topic}").format(topic=topic.name)
        rows.append([SUBSCRIBE_TOPIC.button(shorten(label, 60), topic.slug)])
    return InlineKeyboardMarkup(rows) if rows else None


# A list's Share buttons name their item by the start of its title.
SHARE_LABEL_LIMIT = 40


def share_button(item: Item, label: str | None = None) -> InlineKeyboardButton:
    """Opens inline mode in a chat the user picks, with the query that names this item."""
    return InlineKeyboardButton(label or _("↗️ Share"), switch_inline_query=share_query(item.id))


def share_rows(items: Sequence[Item]) -> list[list[InlineKeyboardButton]]:
    """A Share button per listed item, naming it by the start of its title."""
    return [
        [
            share_button(
                item,
                _("↗️ Share: {title}").format(title=shorten(item.title, SHARE_LABEL_LIMIT) or "…"),
            )
        ]
        for item in items
    ]


def topics_message(taxonomy: Taxonomy) -> str:
    lines = [_("🗂 <b>Topics</b>"), ""]
    for topic in taxonomy.topics:
        lines.append(
            f"{topic.emoji} <b>{escape(topic.name)}</b> (<code>{escape(topic.slug)}</code>): "
            f"{escape(topic.description)}"
        )
    lines += ["", _("Tap a topic for its latest news, or “Get alerts” to choose yours.")]
    return "\n".join(lines)


def topics_keyboard(taxonomy: Taxonomy) -> InlineKeyboardMarkup:
    """Under /topics: a button per topic for its latest items, then "Get alerts"."""
    buttons = [
        LATEST_OF_TOPIC.button(f"{topic.emoji} {topic.name}", topic.slug)
        for topic in taxonomy.topics
    ]
    rows = [buttons[start : start + 2] for start in range(0, len(buttons), 2)]
    rows.append([MENU.button(_("🔔 Get alerts"), "subscribe")])
    return InlineKeyboardMarkup(rows)


# The buttons under each standing text: where a reader may go next (main-menu actions).
TEXT_NEXT_STEPS: dict[str, list[str]] = {
    "join": ["aims", "events", "subscribe"],
}
DEFAULT_NEXT_STEPS = ["subscribe", "events", "join"]


def standing_text_keyboard(name: str, text: StandingText) -> InlineKeyboardMarkup:
    """Under a standing text: its own link as a button, then the next steps."""
    labels = {
        "aims": _("🎯 Our aims"),
        "events": _("🗓 Events"),
        "subscribe": _("🔔 Get alerts"),
        "join": _("🤝 Join the PSG"),
    }
    rows = []
    if text.link_label and text.link_url and text.link_url.startswith(("https://", "http://")):
        rows.append([InlineKeyboardButton("👉 " + shorten(text.link_label, 60), url=text.link_url)])
    steps = TEXT_NEXT_STEPS.get(name, DEFAULT_NEXT_STEPS)
    rows.append([MENU.button(labels[step], step) for step in steps])
    return InlineKeyboardMarkup(rows)


def unknown_topic_message(name: str, taxonomy: Taxonomy, command: str = "latest") -> str:
    """The reply to a topic no name matches, with the right example for ``command`` (one of
    latest, subscribe, unsubscribe)."""
    # The names in the chat's language: each is accepted as typed, as the slugs are.
    names = " · ".join(escape(topic.name) for topic in taxonomy.topics)
    if command == "latest":
        return _(
            "I don't know the topic “{name}”. Topics are: {names}.\n"
            "Try /latest mining, or /latest 10 for the ten newest items."
        ).format(name=escape(shorten(name, 60)), names=names)
    return _(
        "I don't know the topic “{name}”. Topics are: {names}.\nTry /{command} mining."
    ).format(name=escape(shorten(name, 60)), names=names, command=escape(command))


def standing_text_message(text: StandingText) -> str:
    head = f"<b>{escape(shorten(text.title, TITLE_LIMIT))}</b>"
    tail = ""
    if text.link_label and text.link_url:
        tail = "👉 " + link(shorten(text.link_label, TITLE_LIMIT), text.link_url)
    note = f"<i>{escape(text.note)}</i>" if text.note else ""
    budget = MESSAGE_LIMIT - visible_length(head) - visible_length(tail) - visible_length(note) - 6
    body = escape(shorten_lines(text.body, budget))
    return "\n\n".join(part for part in (head, body, tail, note) if part)


# An alert's summary: a story's opening (a feed's excerpt is usually shorter). An alert with a
# picture goes as a photo when its text fits a caption (1,024 units), so a long summary is what
# sends a picture's alert as text with a large preview instead.
ALERT_SUMMARY_LIMIT = 1000
DIGEST_TITLE_LIMIT = 150


def written_in(language: Language) -> str:
    """Under an item published in the other language than the chat's."""
    if language == Language.ES:
        return _("🇪🇸 In Spanish")
    return _("🇬🇧 In English")


def other_language_mark(item: Item) -> str | None:
    """The mark of an item written in another language than the chat's (its feed declared
    it); None for one in the chat's language or of unknown language. Every list of items
    carries it: alerts, /latest, digests and a burst's headlines."""
    if item.language is None or item.language == current_language():
        return None
    return written_in(item.language)


def alert_message(item: Item, taxonomy: Taxonomy, zone: ZoneInfo, topic: Topic | None) -> str:
    """One new item for a subscriber: topic mark, bold linked title, date, summary, tags."""
    mark = topic.emoji if topic else "📰"
    lines = [f"{mark} <b>{link(shorten(item.title, TITLE_LIMIT), item.link)}</b>"]
    if item.published_at:
        lines.append("🗓 " + long_date(item.published_at, zone))
    if language := other_language_mark(item):
        lines.append(language)
    if item.summary:
        lines += ["", escape(shorten(item.summary, ALERT_SUMMARY_LIMIT))]
    if tags := topic_tags(item.topic_slugs, taxonomy):
        lines += ["", tags]
    return "\n".join(lines)


def alert_caption(text: str) -> str | None:
    """An alert's text as its picture's caption: itself when it fits Telegram's 1,024 UTF-16
    units (after entity parsing), else None (the alert goes as text, with the article's large
    preview standing in for the picture)."""
    return text if visible_length(text) <= CAPTION_LIMIT else None


def article_preview(item: Item) -> LinkPreviewOptions | None:
    """An alert's link preview: the item's article, large. Above the text when the item has a
    picture (the preview stands in for it, where the photo would be), below otherwise, as any
    shared link. None without a web link: the alert goes without a preview."""
    if not item.link or not item.link.startswith(("http://", "https://")):
        return None
    if item.image_url:
        return LinkPreviewOptions(url=item.link, prefer_large_media=True, show_above_text=True)
    return LinkPreviewOptions(url=item.link, prefer_large_media=True)


def alert_keyboard(
    item: Item,
    topic: Topic | None,
    *,
    all_news: bool,
    taxonomy: Taxonomy | None = None,
    share: bool = False,
    channel: bool = False,
) -> InlineKeyboardMarkup | None:
    """Under an alert: Read more, a way out of what brought it (its topic, or all news), the
    latest on its topic (the item's first one, for an all-news alert), and Share (when inline
    mode is on).

    A channel's post has Read more only: any reader could press the others, and what they do
    (unsubscribe the chat, post the latest news) would act on the channel."""
    buttons = []
    if item.link and item.link.startswith(("http://", "https://")):
        buttons.append(InlineKeyboardButton(_("Read more"), url=item.link))
    if channel:
        return InlineKeyboardMarkup([buttons]) if buttons else None
    if topic:
        label = _("Unsubscribe from {topic}").format(topic=topic.name)
        buttons.append(UNSUBSCRIBE.button(shorten(label, 60), topic.slug))
    elif all_news:
        buttons.append(UNSUBSCRIBE.button(_("Stop all news"), ALL_NEWS))
    rows = [buttons] if buttons else []
    shown = topic
    if shown is None and taxonomy is not None:
        shown = next((t for slug in item.topic_slugs if (t := taxonomy.get(slug))), None)
    second = []
    if shown is not None:
        label = _("📰 Latest on {topic}").format(topic=shown.name)
        second.append(LATEST_OF_TOPIC.button(shorten(label, 60), shown.slug))
    if share:
        second.append(share_button(item))
    if second:
        rows.append(second)
    return InlineKeyboardMarkup(rows) if rows else None


def _headline(item: Item) -> str:
    """One headline of a burst: its linked title, and the mark of another language."""
    line = f"• {link(shorten(item.title, DIGEST_TITLE_LIMIT), item.link)}"
    mark = other_language_mark(item)
    return f"{line} · {mark}" if mark else line


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
        entries += [(_headline(it), 1) for it in members]
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
