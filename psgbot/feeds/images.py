"""An item's picture, as its feed offers it: an image enclosure, a Media RSS image
(``media:content`` of an image type or medium, else ``media:thumbnail``), or the first
``<img src>`` of its content.

Telegram fetches the picture itself (sendPhoto with a URL), so only a bounded http(s) URL is
kept: ``javascript:``, ``data:`` and the like, and anything past ``ITEM_IMAGE_MAX``, are dropped
(the item is stored without a picture). A relative ``src`` is read against the item's link.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from psgbot.db.models import ITEM_IMAGE_MAX

# Content is searched this far for an <img>: a picture worth showing comes near the top, and a
# hostile item's megabytes are never all parsed again.
_CONTENT_SEARCHED = 100_000


def item_image(entry: Any, link: str | None) -> str | None:
    """The first usable picture of a feedparser entry, or None."""
    for candidate in _candidates(entry):
        url = image_url(candidate, link)
        if url is not None:
            return url
    return None


def image_url(value: object, base: str | None = None) -> str | None:
    """``value`` as a picture's address Telegram may fetch: an absolute http(s) URL with a host,
    no spaces or control characters, at most ``ITEM_IMAGE_MAX`` characters; else None."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or len(url) > ITEM_IMAGE_MAX:
        return None
    if base and not url.lower().startswith(("http://", "https://")):
        url = urljoin(base, url)
    if any(char <= " " or char == "\x7f" for char in url) or len(url) > ITEM_IMAGE_MAX:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def _candidates(entry: Any) -> list[object]:
    """Possible pictures, best first."""
    found: list[object] = [
        enclosure.get("href")
        for enclosure in entry.get("enclosures") or []
        if str(enclosure.get("type") or "").lower().startswith("image/")
    ]
    found += [
        media.get("url")
        for media in entry.get("media_content") or []
        if str(media.get("type") or "").lower().startswith("image/")
        or str(media.get("medium") or "").lower() == "image"
    ]
    found += [thumbnail.get("url") for thumbnail in entry.get("media_thumbnail") or []]
    for content in entry.get("content") or []:
        found += _img_sources(str(content.get("value") or ""))
    found += _img_sources(str(entry.get("summary") or ""))
    return found


class _ImgSources(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            source = dict(attrs).get("src")
            if source:
                self.sources.append(source)


def _img_sources(markup: str) -> list[str]:
    """The ``src`` of each ``<img>`` in an HTML fragment, in order."""
    if "<img" not in markup.lower():
        return []
    parser = _ImgSources()
    parser.feed(markup[:_CONTENT_SEARCHED])
    parser.close()
    return parser.sources
