"""Near-duplicates: one story posted again under another guid or link, in any feed.

Publishers repost a story (a corrected link, a new guid after a site move, the same piece in a
partner's feed). Such a copy has the title of one already stored, folded (case, accents,
punctuation and spacing do not count), within ``DUPLICATE_WINDOW`` of its date. The copy is
stored under its own key, so the next poll of its feed knows it, but linked to the first
(``Item.duplicate_of``), without topics, and never alerted: the story is in the archive once.

The check is one range of the ``(title_key, sort_at)`` index per new item, in the ingest
transaction (a chunk of items per query). On PostgreSQL two feeds may store the same story at
once, so each key is locked for the transaction first (an advisory lock): the second waits, then
sees the first's row.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from psgbot.db.engine import is_postgres
from psgbot.db.models import TITLE_KEY_MAX, Item
from psgbot.topics.matching import fold

DUPLICATE_WINDOW = timedelta(days=7)
# A title of fewer words names a series ("Newsletter", "Press release"), not a story.
MIN_TITLE_WORDS = 3
# The class of the advisory locks taken on title keys (the second key is the title's hash).
TITLE_LOCK_CLASS = 0x7073_6764
_NOT_WORD = re.compile(r"[\W_]+")
# Keeps each IN (...) well under SQLite's bound-parameter limit.
_LOOKUP_CHUNK = 500


def title_key(title: str) -> str | None:
    """The title folded for comparison: lower case, no accents, words separated by one space,
    punctuation gone. None for a title of fewer than three words."""
    words = _NOT_WORD.sub(" ", fold(title)).split()
    if len(words) < MIN_TITLE_WORDS:
        return None
    key = " ".join(words)
    if len(key) > TITLE_KEY_MAX:
        return "#" + hashlib.sha256(key.encode()).hexdigest()
    return key


async def lock_title_keys(session: AsyncSession, keys: Collection[str]) -> None:
    """On PostgreSQL, holds each key for the rest of the transaction, in one statement and in
    sorted order (two ingests locking several keys never wait on each other in a circle).
    SQLite has one writer at a time already (its transactions begin IMMEDIATE)."""
    if not keys or not is_postgres(session):
        return
    ids = sorted({_signed32(zlib.crc32(key.encode())) for key in keys})
    await session.execute(
        text(
            "SELECT pg_advisory_xact_lock(:class_id, key_id)"
            " FROM unnest(CAST(:ids AS integer[])) WITH ORDINALITY AS k(key_id, n) ORDER BY n"
        ),
        {"class_id": TITLE_LOCK_CLASS, "ids": ids},
    )


async def earlier_copies(
    session: AsyncSession, wanted: Sequence[tuple[str, datetime]]
) -> list[int | None]:
    """For each (title key, date) of a new item, the stored original it repeats, or None: the
    earliest item with that key (not itself a copy) within ``DUPLICATE_WINDOW`` of the date.
    One range of the (title_key, sort_at) index per key, a chunk of keys per query."""
    if not wanted:
        return []
    candidates: dict[str, list[tuple[datetime, int]]] = {}
    keys = sorted({key for key, _moment in wanted})
    since = _shifted(min(moment for _key, moment in wanted), -DUPLICATE_WINDOW)
    until = _shifted(max(moment for _key, moment in wanted), DUPLICATE_WINDOW)
    for start in range(0, len(keys), _LOOKUP_CHUNK):
        rows = await session.execute(
            select(Item.title_key, Item.sort_at, Item.id)
            .where(
                Item.title_key.in_(keys[start : start + _LOOKUP_CHUNK]),
                Item.sort_at > since,
                Item.sort_at < until,
                Item.duplicate_of.is_(None),
            )
            .order_by(Item.sort_at, Item.id)
        )
        for key, sort_at, item_id in rows:
            candidates.setdefault(key or "", []).append((sort_at, item_id))
    return [
        next(
            (
                item_id
                for sort_at, item_id in candidates.get(key, [])
                if abs(sort_at - moment) < DUPLICATE_WINDOW
            ),
            None,
        )
        for key, moment in wanted
    ]


def _shifted(moment: datetime, by: timedelta) -> datetime:
    """``moment + by``, or the first or last moment a datetime holds when that is out of range
    (an item stored with a date near year 1 or 9999)."""
    try:
        return moment + by
    except OverflowError:
        return (
            datetime.min.replace(tzinfo=UTC)
            if by < timedelta(0)
            else datetime.max.replace(tzinfo=UTC)
        )


def _signed32(value: int) -> int:
    """An unsigned 32-bit number as PostgreSQL's int4."""
    return value - (1 << 32) if value >= 1 << 31 else value
