"""Parsing a feed body off the event loop: a small body in a thread, a large one in a process.

feedparser does much of its work in long C calls (regular expressions over the whole document,
the expat parser) that hold the GIL: on a multi-megabyte feed a worker thread alone would stall
the bot's event loop for over 100 ms at a time. A body over ``PROCESS_OVER`` bytes therefore goes
to one long-lived worker process, which also keeps a parser that a hostile document exhausts away
from the bot. The items come back as pickled chunks, each unpickled in a thread, so even the
hand-back never holds the loop for long.
"""

from __future__ import annotations

import asyncio
import atexit
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime

import anyio

from psgbot.feeds.parse import FeedParseError, ParsedFeed, ParsedItem, parse_feed
from psgbot.i18n import Language

PROCESS_OVER = 256 * 1024  # bytes; smaller bodies parse in well under 100 ms
CHUNK = 500  # items per pickled chunk: each unpickles in a few milliseconds

_ItemFields = tuple[
    str, str | None, str, str | None, datetime | None, str, tuple[str, ...], str | None
]
_Packed = tuple[str | None, int | None, Language | None, list[bytes]]

_pool: ProcessPoolExecutor | None = None


async def parse_off_loop(body: bytes, content_type: str | None = None) -> ParsedFeed:
    """:func:`psgbot.feeds.parse.parse_feed`, without stalling the event loop; raises
    :class:`FeedParseError` as it does, and when the worker process dies."""
    if len(body) <= PROCESS_OVER:
        return await anyio.to_thread.run_sync(parse_feed, body, content_type)
    loop = asyncio.get_running_loop()
    try:
        packed = await loop.run_in_executor(_worker(), _parse_packed, body, content_type)
    except BrokenProcessPool as exc:
        _forget_worker()
        raise FeedParseError("the parser process stopped (out of memory?)") from exc
    title, ttl, language, chunks = packed
    items = await anyio.to_thread.run_sync(_unpack, chunks)
    return ParsedFeed(title=title, items=items, ttl_seconds=ttl, language=language)


def _worker() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        # "spawn", not fork: the bot's process has threads (aiosqlite's, anyio's) whose locks a
        # fork could copy while held.
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    return _pool


def _forget_worker() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
    _pool = None


atexit.register(_forget_worker)


def _parse_packed(body: bytes, content_type: str | None) -> _Packed:
    """Runs in the worker process."""
    feed = parse_feed(body, content_type)
    fields: list[_ItemFields] = [
        (
            item.key,
            item.guid,
            item.title,
            item.link,
            item.published,
            item.summary,
            item.categories,
            item.image,
        )
        for item in feed.items
    ]
    chunks = [
        pickle.dumps(fields[start : start + CHUNK], protocol=pickle.HIGHEST_PROTOCOL)
        for start in range(0, len(fields), CHUNK)
    ]
    return feed.title, feed.ttl_seconds, feed.language, chunks


def _unpack(chunks: list[bytes]) -> list[ParsedItem]:
    items: list[ParsedItem] = []
    for chunk in chunks:
        fields: list[_ItemFields] = pickle.loads(chunk)  # our own worker's output
        items.extend(ParsedItem(*values) for values in fields)
    return items
