"""Hand-made RSS feeds for tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

import pytest

from psgbot.topics import Taxonomy


@dataclass
class FeedItem:
    guid: str
    title: str
    summary: str = ""
    link: str | None = None
    published: datetime | None = None
    categories: tuple[str, ...] = ()
    # Pictures as feeds give them: an <enclosure> (url, type), a Media RSS <media:content>
    # (url, type or medium) or <media:thumbnail> (url), and <content:encoded> HTML.
    enclosure: tuple[str, str] | None = None
    media_content: tuple[str, str] | None = None
    media_thumbnail: str | None = None
    content_html: str | None = None


def recent(hours: float = 1) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


def rss(items: list[FeedItem], *, ttl: int | None = None, language: str | None = None) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"'
        ' xmlns:media="http://search.yahoo.com/mrss/"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>',
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
        parts += _pictures(item)
        parts.append(f"<description>{escape(item.summary)}</description></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def _pictures(item: FeedItem) -> list[str]:
    parts = []
    if item.enclosure:
        url, kind = item.enclosure
        parts.append(f'<enclosure url="{escape(url)}" type="{escape(kind)}" length="1000"/>')
    if item.media_content:
        url, kind = item.media_content
        attribute = "type" if "/" in kind else "medium"
        parts.append(f'<media:content url="{escape(url)}" {attribute}="{escape(kind)}"/>')
    if item.media_thumbnail:
        parts.append(f'<media:thumbnail url="{escape(item.media_thumbnail)}"/>')
    if item.content_html is not None:
        parts.append(f"<content:encoded>{escape(item.content_html)}</content:encoded>")
    return parts


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


def titles_classified(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The titles the tagger classifies from now on, in order (it still classifies them)."""
    classified: list[str] = []
    original = Taxonomy.classify

    def counting(
        self: Taxonomy, title: str, summary: str, categories: Sequence[str] = ()
    ) -> list[str]:
        classified.append(title)
        return original(self, title, summary, categories)

    monkeypatch.setattr(Taxonomy, "classify", counting)
    return classified
