"""Feed bytes to normalised items, with feedparser doing the format and encoding work.

What a feed says is bounded here to the columns that store it (``psgbot.db.models``): one hostile
item must not make its feed's every poll fail on PostgreSQL. Titles and summaries are bounded too
(``TITLE_MAX``, ``SUMMARY_MAX``): a megabyte of words would overflow PostgreSQL's search index
and cost every watch and classifier pass, and no alert or listing shows more than a fraction
of what is kept. So are an item's categories, in number and length (``ITEM_CATEGORIES_MAX``,
``ITEM_CATEGORY_MAX``): each is stored and read by the classifier, and a topic's category is a
word or two. Dates are believed only between ``EARLIEST_PUBLISHED`` and a little after now: one
dated year 1 or 9999 would overflow date arithmetic, and one dated in the future would lead
/latest until that day came.
"""

from __future__ import annotations

import calendar
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser

from psgbot.db.models import (
    FEED_TITLE_MAX,
    ITEM_CATEGORIES_MAX,
    ITEM_CATEGORY_MAX,
    ITEM_GUID_MAX,
    ITEM_LINK_MAX,
)
from psgbot.feeds.images import item_image
from psgbot.feeds.normalise import plain_text
from psgbot.i18n import Language

# Keys longer than this are hashed. Stored keys depend on the number, so it must not change (items
# already stored would look new); it stays below the column's size, ITEM_KEY_MAX.
_KEY_HASHED_OVER = 500

TITLE_MAX = 1_000
"""Characters of a title kept: far above any headline (alerts show 200 units), a sentence's
worth of slack for feeds that put the opening in the title."""
SUMMARY_MAX = 20_000
"""Characters of a summary kept: a whole long article (some feeds carry it all), while alerts
show 1,000 units and search indexes far less than PostgreSQL's 1 MB tsvector limit."""
EARLIEST_PUBLISHED = datetime(1990, 1, 1, tzinfo=UTC)
"""Dates before this are a feed's mistake (no web feed is older), treated as unknown."""
FUTURE_SLACK = timedelta(days=2)
"""Dates later than now by more than this are treated as unknown: a clock or zone error is
hours, a date that would keep an item first in /latest for months is not news."""


class FeedParseError(Exception):
    """The body is not a feed we can read (HTML page, garbage, XML without items)."""


@dataclass(frozen=True)
class ParsedItem:
    """One item as the feed describes it, already plain text."""

    key: str
    guid: str | None
    title: str
    link: str | None
    published: datetime | None
    summary: str
    categories: tuple[str, ...] = ()
    image: str | None = None  # a bounded http(s) URL (psgbot.feeds.images)


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    items: list[ParsedItem] = field(default_factory=list)
    ttl_seconds: int | None = None
    # The language the feed declares (RSS <language>, Atom xml:lang), when the bot speaks it.
    language: Language | None = None


def declared_language(tag: object) -> Language | None:
    """``es``, ``es-PE``… Spanish; ``en``, ``en-gb``… English; anything else unknown."""
    if not isinstance(tag, str) or not tag.strip():
        return None
    primary = tag.strip().split("-")[0].split("_")[0].lower()
    return next((language for language in Language if language.value == primary), None)


def parse_feed(
    body: bytes, content_type: str | None = None, *, now: datetime | None = None
) -> ParsedFeed:
    """Parses RSS or Atom bytes. Raises :class:`FeedParseError` when nothing feed-like is found.

    feedparser tolerates a lot (it sets ``bozo`` for recoverable trouble such as a wrong charset),
    so a feed is refused only when it yields no feed element and no entries. ``now`` (default:
    the clock's) is what a date may not be far after.
    """
    headers = {"content-type": content_type} if content_type else None
    parsed: Any = feedparser.parse(body, response_headers=headers)
    version = parsed.get("version") or ""
    entries = parsed.get("entries") or []
    if not version and not entries:
        reason = parsed.get("bozo_exception")
        detail = f": {type(reason).__name__}: {reason}" if reason else ""
        raise FeedParseError(f"not an RSS or Atom feed{detail}")
    raw = [_raw_item(entry) for entry in entries]
    items = _keyed(raw, now or datetime.now(UTC))
    feed_title = _shortened(_text(plain_text(parsed.feed.get("title"))), FEED_TITLE_MAX) or None
    return ParsedFeed(
        title=feed_title,
        items=items,
        ttl_seconds=_ttl(parsed.feed),
        language=declared_language(parsed.feed.get("language")),
    )


@dataclass(frozen=True)
class _RawItem:
    guid: str | None
    title: str
    link: str | None
    published: datetime | None
    summary: str
    categories: tuple[str, ...]
    image: str | None


def _raw_item(entry: Any) -> _RawItem:
    summary_html = entry.get("summary") or ""
    if not summary_html and entry.get("content"):
        summary_html = entry["content"][0].get("value") or ""
    categories = tuple(
        term for tag in entry.get("tags") or [] if (term := _text(plain_text(tag.get("term"))))
    )
    link = _web_link(entry.get("link"))
    return _RawItem(
        guid=_text(str(entry.get("id") or "")).strip() or None,
        title=_text(plain_text(entry.get("title"))),
        link=link,
        published=_published(entry),
        summary=_text(plain_text(summary_html)),
        categories=categories,
        image=item_image(entry, _stored_link(link)),
    )


def _text(value: str) -> str:
    """Without NUL characters, which feedparser lets through (``&#0;``) and PostgreSQL refuses."""
    return value.replace("\x00", "")


def _web_link(value: object) -> str | None:
    """Only http(s) links: feedparser also offers RSS guids as links, which may be mere ids."""
    link = _text(str(value or "")).strip()
    return link if link.startswith(("http://", "https://")) else None


def _stored_link(link: str | None) -> str | None:
    """A link too long to store is dropped; the item is kept without it."""
    return link if link and len(link) <= ITEM_LINK_MAX else None


def _stored_guid(guid: str | None) -> str | None:
    """A guid too long to store is replaced by a stable hash of it."""
    if guid is None or len(guid) <= ITEM_GUID_MAX:
        return guid
    return "sha256:" + hashlib.sha256(guid.encode()).hexdigest()


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bounded_text(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters: cut at the last space of the part that fits (or at
    the limit, for one very long word) and ended with "…". Python's strings are code points, so
    a cut never splits a character's UTF-16 surrogate pair."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > len(cut) // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _believable(published: datetime | None, now: datetime) -> datetime | None:
    """The date, unless it is before EARLIEST_PUBLISHED or more than FUTURE_SLACK after now."""
    if published is None or published < EARLIEST_PUBLISHED or published - now > FUTURE_SLACK:
        return None
    return published


def _published(entry: Any) -> datetime | None:
    struct = entry.get("published_parsed") or entry.get("updated_parsed")
    if not struct:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _keyed(raw: list[_RawItem], now: datetime) -> list[ParsedItem]:
    """Gives every item its storage key and drops repeats within the feed.

    The key is the guid; without one, the link, unless the feed uses one link for items with
    different titles (listing pages do), then link and title; without either, a hash of title
    and date. Items with neither title nor link nor guid carry nothing to show and are skipped.
    """
    titles_per_link: dict[str, set[str]] = {}
    for item in raw:
        if item.link:
            titles_per_link.setdefault(item.link, set()).add(item.title)
    seen: Counter[str] = Counter()
    items: list[ParsedItem] = []
    for item in raw:
        if not (item.guid or item.link or item.title or item.summary):
            continue
        key = _key_for(item, shared_link=len(titles_per_link.get(item.link or "", ())) > 1)
        seen[key] += 1
        if seen[key] > 1:
            continue
        # The key comes from the guid, link, title and date as the feed gives them, so that
        # bounding them never changes the key of an item already stored (nor, for a date a few
        # days ahead, the key of an item as that day comes nearer).
        items.append(
            ParsedItem(
                key=key,
                guid=_stored_guid(item.guid),
                title=bounded_text(item.title or _fallback_title(item), TITLE_MAX),
                link=_stored_link(item.link),
                published=_believable(item.published, now),
                summary=bounded_text(item.summary, SUMMARY_MAX),
                categories=_bounded_categories(item.categories),
                image=item.image,
            )
        )
    return items


def _bounded_categories(categories: tuple[str, ...]) -> tuple[str, ...]:
    """The first ``ITEM_CATEGORIES_MAX`` distinct categories, each within ``ITEM_CATEGORY_MAX``
    characters, in the feed's order."""
    kept: dict[str, None] = {}
    for category in categories:
        kept.setdefault(bounded_text(category, ITEM_CATEGORY_MAX))
        if len(kept) == ITEM_CATEGORIES_MAX:
            break
    return tuple(kept)


def _key_for(item: _RawItem, *, shared_link: bool) -> str:
    if item.guid:
        return _bounded("guid:" + item.guid)
    if item.link and not shared_link:
        return _bounded("link:" + item.link)
    if item.link:
        return _bounded(f"link+title:{item.link}\n{item.title}")
    stamp = item.published.isoformat() if item.published else ""
    digest = hashlib.sha256(f"{item.title}\n{stamp}".encode()).hexdigest()
    return "hash:" + digest


def _bounded(key: str) -> str:
    """Keeps keys within the column size; long ones become a stable hash."""
    if len(key) <= _KEY_HASHED_OVER:
        return key
    return key.split(":", 1)[0] + ":sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _fallback_title(item: _RawItem) -> str:
    words = item.summary.split()
    if words:
        return " ".join(words[:12]) + ("…" if len(words) > 12 else "")
    return _stored_link(item.link) or "(untitled)"


def _ttl(feed: Any) -> int | None:
    try:
        minutes = int(str(feed.get("ttl", "")).strip())
    except ValueError:
        return None
    return minutes * 60 if minutes > 0 else None
