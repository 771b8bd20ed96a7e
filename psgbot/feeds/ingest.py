"""One source from fetch to stored items, with failures reported instead of raised.

Shared by ``psgbot ingest`` and the bot's poller so both read feeds the same way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from psgbot.feeds.fetch import FeedClient, FetchError, FetchResult, fetch_source
from psgbot.feeds.offload import parse_off_loop
from psgbot.feeds.parse import FeedParseError, ParsedFeed


class SourceError(Exception):
    """A source could not be read or parsed; the message is one line for logs and stderr."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class FetchedFeed:
    source: str
    fetch: FetchResult
    # None when the server answered 304 Not Modified, or sent the body stored last time.
    feed: ParsedFeed | None
    body_hash: str | None = None


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


async def read_source(
    source: str,
    client: FeedClient,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    known_hash: str | None = None,
    deadline: float = 60.0,
) -> FetchedFeed:
    """Fetches and parses one source; feedparser runs off the event loop (psgbot.feeds.offload).

    A body whose hash is ``known_hash`` (the one stored last time) is not parsed again.
    """
    try:
        fetched = await fetch_source(
            source, client, etag=etag, last_modified=last_modified, total_timeout=deadline
        )
    except FetchError as exc:
        raise SourceError(f"cannot read: {exc}", status=exc.status) from exc
    if fetched.body is None:
        return FetchedFeed(source=source, fetch=fetched, feed=None, body_hash=known_hash)
    digest = body_hash(fetched.body)
    if digest == known_hash:
        return FetchedFeed(source=source, fetch=fetched, feed=None, body_hash=digest)
    try:
        parsed = await parse_off_loop(fetched.body, fetched.content_type)
    except FeedParseError as exc:
        raise SourceError(f"cannot parse: {exc}") from exc
    return FetchedFeed(source=source, fetch=fetched, feed=parsed, body_hash=digest)
