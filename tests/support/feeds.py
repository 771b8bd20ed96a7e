"""Hand-made RSS feeds for tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape


@dataclass
class FeedItem:
    guid: str
    title: str
    summary: str = ""
    link: str | None = None
    published: datetime | None = None
    categories: tuple[str, ...] = ()


def recent(hours: float = 1) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


def rss(items: list[FeedItem], *, ttl: int | None = None, language: str | None = None) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>',
        "<title>Test feed</title><link>https://feed.example/</link>",
    ]
    if language:
        parts.append(f"<language>{escape(language)}</language>")
    if ttl:
        parts.append(f"<ttl>{ttl}</ttl>")
    for item in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(item.title)}</title>")
        parts.append(f'<guid isPermaLink="false">{escape(item.guid)}</guid>')
        if item.link:
            parts.append(f"<link>{escape(item.link)}</link>")
        if item.published:
            parts.append(f"<pubDate>{format_datetime(item.published)}</pubDate>")
        parts += [f"<category>{escape(category)}</category>" for category in item.categories]
        parts.append(f"<description>{escape(item.summary)}</description></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


ADMIN = 999
"""The admin in alert tests' settings (PSGBOT_ADMINS)."""

HISTORY = [
    FeedItem(
        "old-1",
        "Congress debates the budget",
        "The Congress met.",
        "https://n.example/1",
        recent(hours=30 * 24),
    ),
    FeedItem(
        "old-2",
        "Mining concession protest",
        "Communities march.",
        "https://n.example/2",
        recent(hours=20 * 24),
    ),
]
"""What the test feed holds before a test publishes anything: stored by the first poll."""
