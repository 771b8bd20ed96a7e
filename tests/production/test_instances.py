"""Several instances on one PostgreSQL database: one active, the others standing by.

Two ``psgbot run`` processes share a database and a fake Telegram that answers as Telegram does
(a second long poll on one token ends the first with 409 Conflict; getUpdates beside a webhook is
refused with 409; webhook updates are POSTed until the URL accepts them). With long polling and
with the webhook: only the active instance takes updates, polls the feed and sends; /healthz says
200 on it and 503 "standby" on the other; each update is answered once and each alert sent once;
after a SIGKILL of the active instance the standby answers within 15 s. Any 409 fails the test
(conftest.py's ``telegram_rules``).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from support.bot_process import http, start_message
from support.chats import add_chats
from support.fake_telegram import FakeTelegram
from support.feed_server import FeedServer, Response
from support.feeds import HISTORY, FeedItem, recent, rss
from support.postgres import PostgresServer, free_port

from psgbot.db.engine import create_engine, create_session_factory
from psgbot.db.migrate import upgrade
from psgbot.db.models import Feed

pytestmark = pytest.mark.serial  # measures time, or starts whole instances

TOKEN = "123456789:AAHsecretTokenValue_abcdefghijklmno"
SECRET = "s3cret-webhook-token-0123456789abcdef"
CHATS = range(1, 41)  # subscribers of "justice", who get the alerts
# The bound: the standby answers within 15 s of the active instance's death.
TAKE_OVER = 15.0


async def prepare(url: str) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    async with create_session_factory(engine).begin() as session:
        await add_chats(session, CHATS, topic="justice")
    await engine.dispose()


@dataclass
class Bot:
    """One ``psgbot run`` process with its own health port (and webhook listener)."""

    process: subprocess.Popen[bytes]
    log: Path
    metrics_port: int
    hook_url: str

    @classmethod
    def start(cls, env: dict[str, str], mode: str, log: Path) -> Bot:
        port, metrics_port = free_port(), free_port()
        hook_url = f"http://127.0.0.1:{port}/telegram/hook"
        own = {"PSGBOT_METRICS_PORT": str(metrics_port)}
        if mode == "webhook":
            own.update(
                PSGBOT_WEBHOOK_URL=hook_url, PSGBOT_WEBHOOK_SECRET=SECRET, PSGBOT_PORT=str(port)
            )
        process = subprocess.Popen(
            [sys.executable, "-m", "psgbot", "run"],
            cwd=log.parent,
            env={**env, **own},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        return cls(process, log, metrics_port, hook_url)

    def health(self) -> tuple[int, dict[str, object]]:
        try:
            status, body = http("GET", f"http://127.0.0.1:{self.metrics_port}/healthz")
        except OSError:  # not listening yet
            return 0, {}
        return status, json.loads(body or b"{}")


async def wait_for(
    condition: Callable[[], Awaitable[bool] | bool], seconds: float, what: str
) -> float:
    """Seconds until ``condition`` held; fails after ``seconds``."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        answer = condition()
        if await answer if isinstance(answer, Awaitable) else answer:
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def replies(telegram: FakeTelegram, text: str = "") -> Counter[int]:
    """Messages sent per chat (those containing ``text``)."""
    return Counter(
        int(call.params["chat_id"])
        for call in telegram.sent()
        if text in str(call.params.get("text", ""))
    )


def each_once(counts: Counter[int], chats: Iterable[int]) -> bool:
    return all(counts[chat] == 1 for chat in chats)


def roles(bots: list[Bot]) -> tuple[int, int] | None:
    """(active, standby) by their /healthz, once one says 200 and the other 503 standby."""
    (first, first_report), (second, second_report) = (bot.health() for bot in bots)
    if (first, second) == (200, 503) and second_report == {"status": "standby"}:
        return 0, 1
    if (first, second) == (503, 200) and first_report == {"status": "standby"}:
        return 1, 0
    return None


def talk(telegram: FakeTelegram, updates: range) -> None:
    """Supporters type /start, one chat per update (the chat's id is the update's)."""
    for update_id in updates:
        telegram.push(TOKEN, start_message(update_id, chat_id=1000 + update_id))


def chats_of(updates: range) -> list[int]:
    return [1000 + update_id for update_id in updates]


async def feed_initialised(url: str) -> bool:
    engine = create_engine(url)
    async with create_session_factory(engine)() as session:
        count = await session.scalar(
            select(func.count()).select_from(Feed).where(Feed.initialized.is_(True))
        )
    await engine.dispose()
    return bool(count)


@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_one_active_instance_and_a_standby_that_takes_over(
    mode: str, postgres_server: PostgresServer, feed_server: FeedServer, tmp_path: Path
) -> None:
    url = await postgres_server.create_database(f"instances_{mode}")
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
        PSGBOT_LOG_LEVEL="INFO",
        PSGBOT_RATE_LIMIT="0",
    )
    bots = [Bot.start(env, mode, tmp_path / f"bot{n}.log") for n in range(2)]
    try:
        await wait_for(lambda: roles(bots) is not None, 60, "one active instance, one standby")
        found = roles(bots)
        assert found is not None
        active, standby = (bots[n] for n in found)

        talk(telegram, range(1, 6))
        await wait_for(lambda: each_once(replies(telegram), chats_of(range(1, 6))), 30, "replies")
        await wait_for(lambda: feed_initialised(url), 60, "the first poll")
        first = FeedItem("i-1", "Court annuls the pardon", "", "https://n.example/1", recent())
        feed_server.routes["/feed"] = Response(rss([first, *HISTORY]))
        await wait_for(lambda: set(replies(telegram, "Court annuls")) == set(CHATS), 60, "alerts")
        assert roles(bots) == found, "the standby stayed standby"

        active.process.send_signal(signal.SIGKILL)
        active.process.wait(timeout=10)
        talk(telegram, range(6, 11))
        second = FeedItem("i-2", "Court rules again", "", "https://n.example/2", recent())
        feed_server.routes["/feed"] = Response(rss([second, first, *HISTORY]))
        took = await wait_for(
            lambda: each_once(replies(telegram), chats_of(range(6, 11))),
            TAKE_OVER,
            "the standby to answer",
        )
        print(f"{mode}: the standby answered {took:.1f} s after the active instance was killed")
        await wait_for(lambda: standby.health()[0] == 200, 10, "the new active instance's health")

        await wait_for(lambda: set(replies(telegram, "rules again")) == set(CHATS), 60, "alerts")

        assert set(replies(telegram, "Court annuls").values()) == {1}
        assert set(replies(telegram, "rules again").values()) == {1}
        assert each_once(replies(telegram), chats_of(range(1, 11))), replies(telegram)
        assert telegram.gate.conflicts == [], "no two getUpdates at once, none beside a webhook"
        assert telegram.violations == []
        hooks = [str(call.params["url"]) for call in telegram.sent("setWebhook")]
        if mode == "webhook":
            assert hooks == [active.hook_url, standby.hook_url], "registered on each take-over"
            assert telegram.sent("getUpdates") == []
        else:
            assert hooks == []
            assert telegram.sent("getUpdates"), "the updates came by long polling"
    finally:
        for bot in bots:
            if bot.process.poll() is None:
                bot.process.send_signal(signal.SIGTERM)
        for bot in bots:
            try:
                bot.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                bot.process.kill()
        telegram.stop()
    assert [bot.process.returncode for bot in bots].count(0) == 1, "the survivor stopped cleanly"
