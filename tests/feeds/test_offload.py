"""A large feed body is parsed in a worker process: the same items as in the bot's own process,
the same refusal of a body that is not a feed, and a worker that dies is replaced."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from psgbot.feeds import offload
from psgbot.feeds.parse import FeedParseError, parse_feed
from psgbot.i18n import Language


def large_feed(items: int) -> bytes:
    entries = "".join(
        f"<item><title>Mining protest {n} &amp; r\u00e9ponse \U0001f1f5\U0001f1ea</title>"
        f"<guid>g-{n}</guid><link>https://psg.example/n/{n}</link>"
        f"<pubDate>Mon, 30 Nov 2026 10:{n % 60:02d}:00 GMT</pubDate>"
        f"<category>Mining</category><description>{'Cusco ' * 40}{n}</description></item>"
        for n in range(items)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>PSG</title>'
        f"<language>es-PE</language><ttl>30</ttl>{entries}</channel></rss>"
    ).encode()


async def test_a_large_body_parses_in_the_worker_as_it_would_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = large_feed(1_500)
    assert len(body) > offload.PROCESS_OVER
    expected = parse_feed(body, "application/rss+xml")

    def not_here(*args: object) -> None:
        raise AssertionError("parsed in the bot's own process")

    monkeypatch.setattr(offload, "parse_feed", not_here)  # the worker process has its own
    parsed = await offload.parse_off_loop(body, "application/rss+xml")

    assert parsed == expected
    assert len(parsed.items) == 1_500
    assert parsed.ttl_seconds == 1_800
    assert parsed.language == Language.ES, "the feed's declared language comes back too"


async def test_a_large_body_that_is_not_a_feed_is_refused() -> None:
    body = b"<html><body>" + b"<p>not a feed</p>" * 20_000 + b"</body></html>"
    assert len(body) > offload.PROCESS_OVER
    with pytest.raises(FeedParseError, match="not an RSS or Atom feed"):
        await offload.parse_off_loop(body)


async def test_a_worker_that_dies_is_replaced() -> None:
    body = large_feed(1_000)
    await offload.parse_off_loop(body)
    loop = asyncio.get_running_loop()
    pid = await loop.run_in_executor(offload._worker(), os.getpid)
    os.kill(pid, signal.SIGKILL)
    await asyncio.sleep(0.5)  # the pool notices its worker is gone

    with pytest.raises(FeedParseError, match="parser process stopped"):
        await offload.parse_off_loop(body)
    assert len((await offload.parse_off_loop(body)).items) == 1_000
