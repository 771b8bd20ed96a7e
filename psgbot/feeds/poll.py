"""Polling: read every configured feed and store what is new.

One feed's failure is logged and never stops the others.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from psgbot.feeds.ingest import SourceError, read_source
from psgbot.feeds.store import get_or_create_feed, store_items
from psgbot.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollOutcome:
    source: str
    seen: int = 0
    new: int = 0
    updated: int = 0
    error: str | None = None


async def poll_source(services: Services, source: str) -> PollOutcome:
    """Fetches, parses and stores one source in one transaction."""
    try:
        fetched = await read_source(source, services.http)
    except SourceError as exc:
        log.warning("feed %s: %s", source, exc)
        return PollOutcome(source=source, error=str(exc))
    if fetched.feed is None:
        return PollOutcome(source=source)
    async with services.sessions.begin() as session:
        feed = await get_or_create_feed(session, source)
        if fetched.feed.title and feed.title != fetched.feed.title:
            feed.title = fetched.feed.title
        result = await store_items(session, feed, fetched.feed.items, services.taxonomy)
    outcome = PollOutcome(
        source=source, seen=result.seen, new=len(result.new_items), updated=result.updated
    )
    log.info(
        "feed %s: %d items, %d new, %d updated", source, outcome.seen, outcome.new, outcome.updated
    )
    return outcome


async def poll_all(services: Services) -> list[PollOutcome]:
    """Polls every configured feed concurrently."""
    sources = services.settings.feed_sources
    return list(await asyncio.gather(*(poll_source(services, source) for source in sources)))
