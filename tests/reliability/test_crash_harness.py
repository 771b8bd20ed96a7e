"""The bot process killed with SIGKILL again and again while it ingests new items, fans alerts
out and sends broadcasts; restarted each time. Afterwards every subscriber must have every alert
and broadcast (lost: 0) and repeats must stay within the messages in flight at each kill.

Kills are aimed, not timed: each trial picks a moment (while the feed is being fetched, after
some messages went out, or once the outbox is empty) and waits for it to happen. Where each kill
landed is then read from the state it left (the trial's item stored or not, messages sent by
that process, rows still pending), and the harness requires kills of each kind, most of them
mid-send.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from conftest import make_settings
from sqlalchemy import func, select
from support.chats import add_chats
from support.fake_telegram import FakeTelegram
from support.feed_server import FeedServer, Response
from support.feeds import HISTORY, FeedItem, recent, rss

from psgbot import broadcasts
from psgbot.app import prepare_storage
from psgbot.db.models import Item
from psgbot.db.types import utcnow
from psgbot.feeds.poll import poll_source
from psgbot.outbox import outbox_depth
from psgbot.services import Services

pytestmark = pytest.mark.reliability

TOKEN = "123456789:AAHsecretTokenValue_abcdefghijklmno"
CHATS = range(1, 81)
KILLS = 12
SEED = 20261127
DISPATCH_BATCH = 200  # the dispatcher's batch: at most this many messages in flight per kill
AIMS = ["fetch", "mid-send", "mid-send", "idle"]
MIN_MID_SEND = 4
GUARD = 90.0  # seconds: a hang guard, not a measure


def start_bot(env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "psgbot", "run"],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(cwd / "bot.log").open("ab"),
    )


async def until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GUARD
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.02)


class HeldFeed:
    """Serves the feed; while ``hold`` is set, a fetch waits (the kill lands during it)."""

    def __init__(self) -> None:
        self.body = rss(HISTORY)
        self.hold = False
        self.fetching = threading.Event()
        self.release = threading.Event()

    def __call__(self, handler: BaseHTTPRequestHandler) -> Response:
        if self.hold:
            self.fetching.set()
            self.release.wait(timeout=GUARD)
        return Response(self.body)


async def test_no_alert_or_broadcast_is_lost_across_twelve_kills(
    feed_server: FeedServer, database_url: str, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    telegram = FakeTelegram().start()
    url = feed_server.url("/feed")
    items: list[FeedItem] = []
    feed = HeldFeed()
    feed_server.routes["/feed"] = feed
    services = Services.create(make_settings(database_url, feeds=[url], poll_interval=5))
    await prepare_storage(services)
    async with services.sessions.begin() as session:
        await add_chats(session, CHATS, topic="justice")
    await poll_source(services, url)  # the feed's first fetch: history, not news
    env = {key: value for key, value in os.environ.items() if not key.startswith("PSGBOT_")}
    env.update(
        PSGBOT_TOKEN=TOKEN,
        PSGBOT_API_BASE_URL=telegram.base_url,
        PSGBOT_DATABASE_URL=database_url,
        PSGBOT_FEEDS=url,
        PSGBOT_FEEDS_ALLOW_PRIVATE="true",
        PSGBOT_POLL_INTERVAL="5",
        PSGBOT_RATE_LIMIT="150",
        PSGBOT_METRICS_PORT="0",
        PSGBOT_LOG_LEVEL="WARNING",
        PSGBOT_CLAIM_LEASE="2",
    )

    async def stored(guid: str) -> bool:
        async with services.sessions() as session:
            count = await session.scalar(
                select(func.count()).select_from(Item).where(Item.guid == guid)
            )
        return bool(count)

    async def pending() -> int:
        async with services.sessions() as session:
            return await outbox_depth(session)

    broadcast_texts: list[str] = []
    landed: list[str] = []
    try:
        for trial in range(KILLS):
            guid = f"crash-{trial}"
            title = f"Court ruling number {trial}"
            items.insert(0, FeedItem(guid, title, "", f"https://n.example/c{trial}", recent()))
            feed.body = rss(items + HISTORY)
            if trial % 4 == 0:
                text = f"Broadcast number {trial}"
                broadcast_texts.append(text)
                async with services.sessions.begin() as session:
                    await broadcasts.create(
                        session,
                        audience="all",
                        text=text,
                        parse_mode="HTML",
                        scheduled_at=utcnow(),
                        created_by=None,
                    )
            aim = AIMS[trial % len(AIMS)]
            feed.hold = aim == "fetch"
            feed.fetching.clear()
            feed.release.clear()
            sent_before = len(telegram.sent())
            bot = start_bot(env, tmp_path)
            if aim == "fetch":
                await until(lambda: asyncio.to_thread(feed.fetching.wait, 0.05), "a fetch")
            elif aim == "mid-send":
                some = sent_before + rng.randint(1, len(CHATS) // 2)

                async def sending(some: int = some) -> bool:
                    return len(telegram.sent()) >= some

                await until(sending, "messages going out")
            else:

                async def idle(guid: str = guid) -> bool:
                    return await stored(guid) and await pending() == 0

                await until(idle, "an empty outbox")
            bot.send_signal(signal.SIGKILL)
            bot.wait(timeout=10)
            fetching = feed.hold and feed.fetching.is_set()
            feed.hold = False
            feed.release.set()
            sent = len(telegram.sent()) - sent_before
            rows = await pending()
            if fetching:
                landed.append("during ingest")  # the feed's answer was still on its way
            elif sent and rows:
                landed.append("mid-send")  # this process had sent, and rows were left
            elif rows == 0:
                landed.append("between sends")  # nothing left to send
            elif not await stored(guid):
                landed.append("during ingest")
            else:
                landed.append("before sending")
        last_start = time.monotonic()
        bot = start_bot(env, tmp_path)

        async def all_done() -> bool:
            if not any(call.at > last_start for call in telegram.sent("getUpdates")):
                return False  # not polling yet: SIGTERM must find it running
            async with services.sessions() as session:
                count = await session.scalar(
                    select(func.count()).select_from(Item).where(Item.guid.like("crash-%"))
                )
            return count == KILLS and await pending() == 0

        await until(all_done, "the last run to send everything")
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=30) == 0
    finally:
        feed.release.set()
        telegram.stop()
        await services.close()
    expected = [item.title for item in items] + broadcast_texts
    received: Counter[tuple[int, str]] = Counter()
    for call in telegram.sent():
        text = str(call.params.get("text", ""))
        for message in expected:
            if message in text:
                received[(int(call.params["chat_id"]), message)] += 1
    lost = [
        (chat, message) for chat in CHATS for message in expected if received[(chat, message)] == 0
    ]
    duplicates = sum(count - 1 for count in received.values() if count > 1)
    kinds = Counter(landed)
    print(
        f"crash harness: {len(landed)} kills (seed {SEED}) landed {dict(kinds)}; "
        f"{len(expected)} messages x {len(CHATS)} chats, {len(lost)} lost, "
        f"{duplicates} duplicated (bound {len(landed) * DISPATCH_BATCH})"
    )
    log = (tmp_path / "bot.log").read_text()
    assert "Traceback" not in log.replace("KeyboardInterrupt", ""), log[-3000:]
    assert kinds["mid-send"] >= MIN_MID_SEND, kinds
    assert kinds["during ingest"] >= 1, kinds
    assert kinds["between sends"] >= 1, kinds
    assert lost == []
    assert duplicates <= len(landed) * DISPATCH_BATCH
