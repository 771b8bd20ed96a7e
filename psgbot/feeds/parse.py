"""Feed bytes to normalised items, with feedparser doing the format and encoding work."""

from __future__ import annotations

import calendar
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser

from psgbot.feeds.normalise import plain_text


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


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    items: list[ParsedItem] = field(default_factory=list)
    ttl_seconds: int | None = None


def parse_feed(body: bytes, content_type: str | None = None) -> ParsedFeed:
    """Parses RSS or Atom bytes. Raises :class:`FeedParseError` when nothing feed-like is found.

    feedparser tolerates a lot (it sets ``bozo`` for recoverable trouble such as a wrong charset),
    so a feed is refused only when it yields no feed element and no entries.
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
    items = _keyed(raw)
    feed_title = plain_text(parsed.feed.get("title")) or None
    return ParsedFeed(title=feed_title, items=items, ttl_seconds=_ttl(parsed.feed))


@dataclass(frozen=True)
class _RawItem:
    guid: str | None
    title: str
    link: str | None
    published: datetime | None
    summary: str
    categories: tuple[str, ...]


def _raw_item(entry: Any) -> _RawItem:
    summary_html = entry.get("summary") or ""
    if not summary_html and entry.get("content"):
        summary_html = entry["content"][0].get("value") or ""
    categories = tuple(
        term for tag in entry.get("tags") or [] if (term := plain_text(tag.get("term")))
    )
    return _RawItem(
        guid=(entry.get("id") or "").strip() or None,
        title=plain_text(entry.get("title")),
        link=_web_link(entry.get("link")),
        published=_published(entry),
        summary=plain_text(summary_html),
        categories=categories,
    )


def _web_link(value: object) -> str | None:
    """Only http(s) links: feedparser also offers RSS guids as links, which may be mere ids."""
    link = str(value or "").strip()
    return link if link.startswith(("http://", "https://")) else None


def _published(entry: Any) -> datetime | None:
    struct = entry.get("published_parsed") or entry.get("updated_parsed")
    if not struct:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _keyed(raw: list[_RawItem]) -> list[ParsedItem]:
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
        items.append(
            ParsedItem(
                key=key,
                guid=item.guid,
                title=item.title or _fallback_title(item),
                link=item.link,
                published=item.published,
                summary=item.summary,
                categories=item.categories,
            )
        )
    return items


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
    if len(key) <= 500:
        return key
    return key.split(":", 1)[0] + ":sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _fallback_title(item: _RawItem) -> str:
    words = item.summary.split()
    if words:
        return " ".join(words[:12]) + ("…" if len(words) > 12 else "")
    return item.link or "(untitled)"


def _ttl(feed: Any) -> int | None:
    try:
        minutes = int(str(feed.get("ttl", "")).strip())
    except ValueError:
        return None
    return minutes * 60 if minutes > 0 else None
