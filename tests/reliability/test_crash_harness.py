"""The bot process killed with SIGKILL at random points, again and again, while it ingests new
items, fans alerts out and sends broadcasts; restarted each time. Afterwards every subscriber
must have every alert and broadcast (lost: 0) and repeats must stay within the messages in
flight at each kill."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import make_settings
from sqlalchemy import func, select
from support.chats import add_chats
from support.fake_telegram import FakeTelegram
from support.feed_server import FeedServer, Response
from support.feeds import HISTORY, FeedItem, recent, rss

from psgbot import broadcasts
from psgbot.alerts.outbox import outbox_depth
from psgbot.app import prepare_storage
from psgbot.db.models import Item
from psgbot.db.types import utcnow
from psgbot.feeds.poll import poll_source
from psgbot.services import Services

pytestmark = pytest.mark.reliability

TOKEN = "123456789:AAHsecretTokenValue_abcdefghijklmno"
CHATS = range(1, 81)
KILLS = 20
SEED = 20261127
DISPATCH_BATCH = 200  # the dispatcher's batch: at most this many messages in flight per kill


def start_bot(env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "psgbot", "run"],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(cwd / "bot.log").open("ab"),
    )


async def test_no_alert_or_broadcast_is_lost_across_twenty_kills(
    feed_server: FeedServer, sqlite_url: str, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    telegram = FakeTelegram().start()
    url = feed_server.url("/feed")
    items: list[FeedItem] = []
    feed_server.routes["/feed"] = Response(rss(HISTORY))
    services = Services.create(make_settings(sqlite_url, feeds=[url], poll_interval=5))
    await prepare_storage(services)
    async with services.sessions.begin() as session:
        await add_chats(session, CHATS, topic="justice")
    await poll_source(services, url)  # the feed's first fetch: history, not news
    env = {key: value for key, value in os.environ.items() if not key.startswith("PSGBOT_")}
    env.update(
        PSGBOT_TOKEN=TOKEN,
        PSGBOT_API_BASE_URL=telegram.base_url,
        PSGBOT_DATABASE_URL=sqlite_url,
        PSGBOT_FEEDS=url,
        PSGBOT_FEEDS_ALLOW_PRIVATE="true",
        PSGBOT_POLL_INTERVAL="5",
        PSGBOT_RATE_LIMIT="150",
        PSGBOT_METRICS_PORT="0",
        PSGBOT_LOG_LEVEL="WARNING",
        PSGBOT_CLAIM_LEASE="3",
    )
    broadcast_texts: list[str] = []
    kills = 0
    try:
        for trial in range(KILLS):
            items.insert(
                0,
                FeedItem(
                    f"crash-{trial}",
                    f"Court ruling number {trial}",
                    "",
                    f"https://n.example/c{trial}",
                    recent(),
                ),
            )
            feed_server.routes["/feed"] = Response(rss(items + HISTORY))
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
            bot = start_bot(env, tmp_path)
            await asyncio.sleep(rng.uniform(1.0, 3.5))  # boot, poll, fan out: kill somewhere
            bot.send_signal(signal.SIGKILL)
            bot.wait(timeout=10)
            kills += 1
        bot = start_bot(env, tmp_path)
        for _wait in range(240):
            await asyncio.sleep(0.5)
            async with services.sessions() as session:
                stored = await session.scalar(
                    select(func.count()).select_from(Item).where(Item.guid.like("crash-%"))
                )
                if stored == KILLS and await outbox_depth(session) == 0:
                    break
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=30) == 0
    finally:
        telegram.stop()
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
    print(
        f"crash harness: {kills} kills (seed {SEED}), {len(expected)} messages x "
        f"{len(CHATS)} chats, {len(lost)} lost, {duplicates} duplicated "
        f"(bound {kills * DISPATCH_BATCH})"
    )
    log = (tmp_path / "bot.log").read_text()
    assert "Traceback" not in log.replace("KeyboardInterrupt", ""), log[-3000:]
    assert lost == []
    assert duplicates <= kills * DISPATCH_BATCH
    await services.close()
