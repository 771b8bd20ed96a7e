"""Polling one feed: conditional fetch, store, alert, and the feed's health and backoff.

A feed's failure is recorded on that feed alone (with exponential backoff, up to six hours) and
never delays another. Admins hear once when a feed starts failing and once when it recovers.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from psgbot import metrics
from psgbot.db.enums import Notice
from psgbot.db.models import Feed
from psgbot.db.types import utcnow
from psgbot.feeds.ingest import FetchedFeed, SourceError, read_source
from psgbot.feeds.sources import display_source, feed_label, hide_secrets
from psgbot.feeds.store import get_or_create_feed, store_items
from psgbot.outbox import enqueue_alerts, enqueue_notice
from psgbot.preferences import roll_schedules
from psgbot.services import Services
from psgbot.watches import enqueue_watch_alerts

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)
MAX_CACHE_HINT = timedelta(hours=1)


@dataclass(frozen=True)
class PollOutcome:
    source: str
    seen: int = 0
    new: int = 0
    updated: int = 0
    alerts: int = 0
    not_modified: bool = False
    skipped: bool = False
    error: str | None = None


def backoff_delay(failures: int, interval: float) -> timedelta:
    """Exponential: one interval after the first failure, doubling, capped at six hours."""
    seconds = interval * 2 ** max(0, failures - 1)
    return min(timedelta(seconds=seconds), MAX_BACKOFF)


def next_interval(interval: float, fetched: FetchedFeed) -> timedelta:
    """The configured interval, lengthened (never shortened) by the feed's cache hints."""
    hints = [fetched.fetch.max_age, fetched.feed.ttl_seconds if fetched.feed else None]
    longest = max([interval, *(hint for hint in hints if hint)])
    return max(timedelta(seconds=interval), min(timedelta(seconds=longest), MAX_CACHE_HINT))


async def poll_source(
    services: Services,
    source: str,
    *,
    force: bool = True,
    reread: bool = False,
    now: datetime | None = None,
) -> PollOutcome:
    """Polls one feed now (``force``) or only if its next poll is due (the scheduled job).

    ``reread`` parses a body even when it is the one stored last time (the command line shows
    what a feed holds).
    """
    async with services.feed_lock(source):
        return await _poll_locked(services, source, force=force, reread=reread, now=now or utcnow())


async def _poll_locked(
    services: Services, source: str, *, force: bool, reread: bool, now: datetime
) -> PollOutcome:
    """Polls one feed; whatever goes wrong is recorded on the feed (backoff, a notice, /feeds)."""
    shown = display_source(source)
    try:
        return await _poll(services, source, force=force, reread=reread, now=now)
    except SourceError as exc:
        error, gone = str(exc), exc.status == 410
        log.warning("feed %s: %s", shown, error)
    except Exception as exc:  # a database error or a crash while parsing: still this feed's failure
        error, gone = _unexpected(exc, source), False
        log.error("feed %s: %s", shown, error, exc_info=True)
    # The failed transaction was rolled back when its session closed; the failure is recorded in
    # a new one.
    metrics.FEED_ERRORS.labels(feed=feed_label(source)).inc()
    try:
        await _record_failure(services, source, error, now, gone=gone)
    except Exception:  # the database itself is failing: the log line is all that is left
        log.error("feed %s: could not record the failure", shown, exc_info=True)
    return PollOutcome(source=source, error=error)


@dataclass(frozen=True)
class _Validators:
    """What the last successful fetch left for a conditional one."""

    etag: str | None
    last_modified: str | None
    known_hash: str | None


async def _poll(
    services: Services, source: str, *, force: bool, reread: bool, now: datetime
) -> PollOutcome:
    async with services.sessions.begin() as session:
        feed = await get_or_create_feed(session, source)
        if feed.disabled:
            return PollOutcome(
                source=source, skipped=True, error="disabled: the feed answered 410 Gone"
            )
        if not force and feed.next_poll_at and feed.next_poll_at > now:
            return PollOutcome(source=source, skipped=True)
        known = _Validators(feed.etag, feed.last_modified, None if reread else feed.body_hash)
    started = time.perf_counter()
    try:
        fetched = await read_source(
            source,
            services.http,
            etag=known.etag,
            last_modified=known.last_modified,
            known_hash=known.known_hash,
            deadline=services.fetch_deadline,
        )
    finally:
        metrics.FEED_FETCH.labels(feed=feed_label(source)).observe(time.perf_counter() - started)
    outcome, recovered = await _record_success(services, source, fetched, now)
    if outcome.alerts or recovered:
        services.wake_dispatcher()
    log.info(
        "feed %s: %d items, %d new, %d updated, %d alerts%s",
        display_source(source),
        outcome.seen,
        outcome.new,
        outcome.updated,
        outcome.alerts,
        " (not modified)" if outcome.not_modified else "",
    )
    return outcome


async def _record_success(
    services: Services, source: str, fetched: FetchedFeed, now: datetime
) -> tuple[PollOutcome, bool]:
    """Stores what the fetch brought and the feed's health; returns the outcome and whether
    the feed had been failing (the admins are told it recovered)."""
    async with services.sessions.begin() as session:
        feed = await get_or_create_feed(session, source)
        recovered = feed.failures > 0
        feed.failures = 0
        feed.last_success_at = now
        feed.next_poll_at = now + next_interval(services.settings.effective_poll_interval, fetched)
        feed.etag = fetched.fetch.etag
        feed.last_modified = fetched.fetch.last_modified
        feed.body_hash = fetched.body_hash
        if recovered:
            await _notify_admins(session, services, feed, Notice.FEED_RECOVERED, now)
        if fetched.feed is None:
            return PollOutcome(source=source, not_modified=True), recovered
        return await _store(session, services, feed, fetched, now), recovered


def _unexpected(exc: Exception, source: str) -> str:
    """One short line for an error no layer below explained (its first line: no SQL, no trace)."""
    lines = str(exc).strip().splitlines()
    detail = hide_secrets(lines[0][:300], source) if lines else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


async def _store(
    session: AsyncSession, services: Services, feed: Feed, fetched: FetchedFeed, now: datetime
) -> PollOutcome:
    """Stores the items and, in the same transaction, the alert rows for the new ones (for
    the chats following their topics or watching words in them).

    A feed's first successful fetch alerts nothing (its items are history, not news), nor does
    an item published longer than PSGBOT_ALERT_MAX_AGE ago.
    """
    assert fetched.feed is not None
    if fetched.feed.title and feed.title != fetched.feed.title:
        feed.title = fetched.feed.title
    if feed.language != fetched.feed.language:
        feed.language = fetched.feed.language
    result = await store_items(session, feed, fetched.feed.items, services.taxonomy, now=now)
    alerts = 0
    if feed.initialized:
        oldest = now - services.settings.alert_max_age
        fresh = [
            item.id
            for item in result.new_items
            if item.published_at is None or item.published_at >= oldest
        ]
        if fresh:
            # A digest that has just passed is moved on first, so these alerts wait for the
            # next one (psgbot.preferences.hold_until).
            await roll_schedules(session, services.settings.zone, now)
        alerts = await enqueue_alerts(session, fresh, now)
        # After the topics' rows: a chat both match already has its one row for the item.
        alerts += await enqueue_watch_alerts(session, fresh, now)
    feed.initialized = True
    return PollOutcome(
        source=feed.source,
        seen=result.seen,
        new=len(result.new_items),
        updated=result.updated,
        alerts=alerts,
    )


async def _record_failure(
    services: Services, source: str, error: str, now: datetime, *, gone: bool = False
) -> None:
    interval = services.settings.effective_poll_interval
    async with services.sessions.begin() as session:
        feed = await get_or_create_feed(session, source)
        feed.failures += 1
        feed.last_error = error[:2000]
        feed.last_error_at = now
        feed.next_poll_at = now + backoff_delay(feed.failures, interval)
        if gone:
            # 410 means the publisher removed the feed for good: stop asking.
            feed.disabled = True
            await _notify_admins(session, services, feed, Notice.FEED_GONE, now)
        elif feed.failures == 1:
            await _notify_admins(session, services, feed, Notice.FEED_FAILING, now)
    services.wake_dispatcher()


async def _notify_admins(
    session: AsyncSession, services: Services, feed: Feed, notice: Notice, now: datetime
) -> None:
    """Tells the admins about the feed (rendered when sent, from the feed's row then)."""
    await session.flush()  # a feed seen for the first time gets its id
    await enqueue_notice(session, services.settings.admins, notice, now, feed_id=feed.id)


async def poll_all(services: Services, *, force: bool = True) -> list[PollOutcome]:
    """Polls every configured feed concurrently; one's failure never holds up another."""
    sources = services.settings.feed_sources
    return list(
        await asyncio.gather(*(poll_source(services, source, force=force) for source in sources))
    )


def first_poll_delay(interval: float) -> float:
    """Spreads the first polls over a few seconds so feeds do not all start at once."""
    return random.uniform(1.0, max(1.0, min(10.0, interval / 2)))
