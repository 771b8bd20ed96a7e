"""Several instances on one PostgreSQL database: one feed poller at a time, every alert sent once.

They run as deploy/README.md says several instances must: with a webhook each (behind a load
balancer), since Telegram ends a second long poll on one token with 409 Conflict. The fake
Telegram answers that 409 too, and any conflict fails the test (conftest.py's
``telegram_rules``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select
from support.chats import add_chats
from support.fake_telegram import FakeTelegram
from support.feed_server import FeedServer, Response
from support.feeds import HISTORY, FeedItem, recent, rss
from support.postgres import PostgresServer, free_port

from psgbot.db.engine import create_engine, create_session_factory
from psgbot.db.migrate import upgrade
from psgbot.db.models import Feed, Item

TOKEN = "123456789:AAHsecretTokenValue_abcdefghijklmno"
SECRET = "s3cret-webhook-token-0123456789abcdef"
CHATS = range(1, 41)


async def prepare(url: str) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    async with create_session_factory(engine).begin() as session:
        await add_chats(session, CHATS, topic="justice")
    await engine.dispose()


def start_bot(env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Starts ``psgbot run`` with its own webhook listener; it is watched through the database
    and its log."""
    port = free_port()
    webhook = {
        "PSGBOT_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/hook",
        "PSGBOT_WEBHOOK_SECRET": SECRET,
        "PSGBOT_PORT": str(port),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "psgbot", "run"],
        cwd=cwd,
        env={**env, **webhook},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


async def scalar(url: str, query: object) -> object:
    engine = create_engine(url)
    async with create_session_factory(engine)() as session:
        value = await session.scalar(query)  # type: ignore[call-overload]
    await engine.dispose()
    return value


async def wait_for(condition: object, seconds: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if await condition():  # type: ignore[operator]
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def received(telegram: FakeTelegram, text: str) -> Counter[int]:
    return Counter(
        int(call.params["chat_id"])
        for call in telegram.sent()
        if text in str(call.params.get("text", ""))
    )


@pytest.mark.postgres
async def test_one_poller_takes_over_when_the_other_dies(
    postgres_server: PostgresServer, feed_server: FeedServer, tmp_path: Path
) -> None:
    url = await postgres_server.create_database("instances")
    await prepare(url)
    telegram = FakeTelegram().start()
    feed_server.routes["/feed"] = Response(rss(HISTORY))
    env = {key: value for key, value in os.environ.items() if not key.startswith("PSGBOT_")}
    env.update(
        PSGBOT_TOKEN=TOKEN,
        PSGBOT_API_BASE_URL=telegram.base_url,
        PSGBOT_DATABASE_URL=url,
        PSGBOT_FEEDS=feed_server.url("/feed"),
        PSGBOT_FEEDS_ALLOW_PRIVATE="true",
        PSGBOT_POLL_INTERVAL="5",
        PSGBOT_METRICS_PORT="0",
        PSGBOT_LOG_LEVEL="INFO",
    )
    logs = [tmp_path / f"bot{n}.log" for n in range(2)]
    processes = [start_bot(env, log, tmp_path) for log in logs]
    try:

        async def initialised() -> bool:
            return bool(
                await scalar(
                    url, select(func.count()).select_from(Feed).where(Feed.initialized.is_(True))
                )
            )

        await wait_for(initialised, 60, "the first poll")
        await wait_for(
            lambda: asyncio.sleep(0, len(telegram.sent("setWebhook")) == 2), 30, "both webhooks"
        )
        first = FeedItem("i-1", "Court annuls the pardon", "", "https://n.example/1", recent())
        feed_server.routes["/feed"] = Response(rss([first, *HISTORY]))

        async def all_alerted(text: str) -> bool:
            return set(received(telegram, text)) == set(CHATS)

        await wait_for(lambda: all_alerted("Court annuls"), 60, "the first alert")
        assert set(received(telegram, "Court annuls").values()) == {1}
        assert (
            await scalar(url, select(func.count()).select_from(Item).where(Item.guid == "i-1")) == 1
        )

        leaders = [n for n, log in enumerate(logs) if "now polls the feeds" in log.read_text()]
        assert len(leaders) == 1, [log.read_text()[-2000:] for log in logs]
        leader = leaders[0]
        processes[leader].send_signal(signal.SIGKILL)
        processes[leader].wait(timeout=10)

        second = FeedItem("i-2", "Court rules again", "", "https://n.example/2", recent())
        feed_server.routes["/feed"] = Response(rss([second, first, *HISTORY]))
        took = await wait_for(lambda: all_alerted("Court rules again"), 60, "the take-over")
        assert set(received(telegram, "Court rules again").values()) == {1}
        survivor = logs[1 - leader].read_text()
        assert "now polls the feeds" in survivor
        assert telegram.sent("getUpdates") == [], "no instance long-polls beside a webhook"
        print(f"take-over: the second alert went out {took:.1f} s after the poller died")
        assert took < 30
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        telegram.stop()
