"""The alerts a chat's settings held back, gathered into one message: its daily or weekly
digest, what arrived during its quiet hours, or what a setting held until it was changed."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from psgbot.db.models import Item
from psgbot.i18n import ngettext
from psgbot.preferences import Gathering
from psgbot.render.markup import MESSAGE_LIMIT, fit, link, shorten, visible_length
from psgbot.render.news import DIGEST_TITLE_LIMIT, long_date, other_language_mark, topic_tags
from psgbot.topics import Taxonomy

LINE_LIMIT = 1000  # far above a line's parts (a title is cut at 150), far below a message


def gathered_heading(why: Gathering, count: int) -> str:
    """What the message is: the chat's digest, what its quiet hours held, or what was held
    for a setting since changed (``/digest off``)."""
    if why == Gathering.DAILY:
        text = ngettext(
            "📬 <b>Your daily digest</b>: {count} new item",
            "📬 <b>Your daily digest</b>: {count} new items",
            count,
        )
    elif why == Gathering.WEEKLY:
        text = ngettext(
            "📬 <b>Your weekly digest</b>: {count} new item",
            "📬 <b>Your weekly digest</b>: {count} new items",
            count,
        )
    elif why == Gathering.QUIET:
        text = ngettext(
            "🌙 <b>During your quiet hours</b>: {count} new item",
            "🌙 <b>During your quiet hours</b>: {count} new items",
            count,
        )
    else:
        text = ngettext(
            "📬 <b>Held for you</b>: {count} new item",
            "📬 <b>Held for you</b>: {count} new items",
            count,
        )
    return text.format(count=count)


def gathered_line(item: Item, taxonomy: Taxonomy, zone: ZoneInfo) -> str:
    """One item: its linked title, then its date, the mark of another language and its topic
    tags."""
    lines = [f"• {link(shorten(item.title, DIGEST_TITLE_LIMIT), item.link)}"]
    meta = [long_date(item.published_at, zone)] if item.published_at else []
    if mark := other_language_mark(item):
        meta.append(mark)
    if tags := topic_tags(item.topic_slugs, taxonomy):
        meta.append(tags)
    if meta:
        lines.append("   " + " · ".join(meta))
    return fit(["\n".join(lines)], LINE_LIMIT)


def gathered_messages(
    items: Sequence[Item], why: Gathering, taxonomy: Taxonomy, zone: ZoneInfo
) -> list[tuple[str, list[int]]]:
    """One message listing every item, newest last; split only where it would pass Telegram's
    limit. Each message comes with the ids of the items it lists."""
    heading = gathered_heading(why, len(items))
    messages: list[tuple[str, list[int]]] = []
    current, used = heading, visible_length(heading)
    ids: list[int] = []
    for item in items:
        line = gathered_line(item, taxonomy, zone)
        size = visible_length(line)
        if ids and used + 2 + size > MESSAGE_LIMIT:
            messages.append((current, ids))
            current, used, ids = line, size, []
        else:
            current, used = f"{current}\n\n{line}", used + 2 + size
        ids.append(item.id)
    messages.append((current, ids))
    return messages
