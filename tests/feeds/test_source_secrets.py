"""A feed URL's credentials and query values never leave the process: not in /metrics (served
without authentication), logs, admins' notices, /feeds, /poll, /audit or ``psgbot ingest``."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
from html import escape
from pathlib import Path

import pytest
from conftest import make_settings
from prometheus_client import generate_latest
from sqlalchemy import select, update
from support.feed_server import FeedServer, Response
from support.feeds import ADMIN, FeedItem, recent, rss
from support.harness import BotHarness

from psgbot.config import Settings
from psgbot.db.models import Feed
from psgbot.feeds.sources import display_source, feed_label, hide_secrets
from psgbot.metrics import REGISTRY

PASSWORD, KEY = "s3cr3t-pw", "KEY-9f8e7d"
SECRETS = (PASSWORD, KEY)
PATH = f"/feed?api_key={KEY}&lang=en"
FEED = rss([FeedItem("s-1", "Court annuls the pardon", "ok", "https://n.example/1", recent())])
FAILING = Response(b"oops", 500, {"Content-Type": "text/plain"})


def secret_url(server: FeedServer) -> str:
    return server.url(PATH).replace("http://", f"http://reader:{PASSWORD}@")


def shown_url(server: FeedServer) -> str:
    return server.url("/feed?api_key=…&lang=…")


def assert_no_secret(texts: list[str]) -> None:
    leaks = [text for text in texts if any(secret in text for secret in SECRETS)]
    assert leaks == []


@pytest.fixture
def settings(
    database_url: str, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> Settings:
    caplog.set_level(logging.DEBUG)  # before the bot starts: its first poll is logged too
    # httpx's own lines too, whatever level an earlier test's logging set-up left it at.
    caplog.set_level(logging.DEBUG, logger="httpx")
    feed_server.routes[PATH] = FAILING
    return make_settings(database_url, feeds=[secret_url(feed_server)], admins=[ADMIN])


def logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    formatter = logging.Formatter()
    return [
        record.getMessage()
        + (formatter.formatException(record.exc_info) if record.exc_info else "")
        for record in caplog.records
    ]


async def test_a_feed_url_with_secrets_is_shown_without_them(
    bot: BotHarness, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []
    # Failing: the bot's first poll failed; /poll fails again.
    seen += [call.text or "" for call in await bot.deliver()]
    seen += await bot.reply_texts("/poll", chat_id=ADMIN)
    seen += await bot.reply_texts("/feeds", chat_id=ADMIN)
    # Succeeding.
    feed_server.routes[PATH] = Response(FEED)
    seen += await bot.reply_texts("/poll", chat_id=ADMIN)
    seen += [call.text or "" for call in await bot.deliver()]
    seen += await bot.reply_texts("/feeds", chat_id=ADMIN)
    # Disabled and enabled again by the source as admins see it.
    async with bot.services.sessions.begin() as session:
        await session.execute(update(Feed).values(disabled=True))
    seen += await bot.reply_texts("/feeds", chat_id=ADMIN)
    seen += await bot.reply_texts(f"/feeds enable {shown_url(feed_server)}", chat_id=ADMIN)
    seen += await bot.reply_texts("/audit", chat_id=ADMIN)
    async with bot.services.sessions() as session:
        feed = await session.scalar(select(Feed).where(Feed.source == secret_url(feed_server)))
    assert feed is not None
    seen.append(feed.last_error or "")
    metrics = generate_latest(REGISTRY).decode()
    logs = logged(caplog)

    assert_no_secret([*seen, metrics, *logs])
    assert not feed.disabled, "/feeds enable takes the source as /feeds shows it"
    # The feed is still recognisable everywhere, and was fetched with its credentials.
    shown = escape(shown_url(feed_server), quote=False)
    assert sum(shown in text for text in seen) >= 6
    assert any("is failing" in text and "HTTP 500" in text for text in seen)
    assert any("recovered" in text for text in seen)
    assert f'feed="{feed_label(secret_url(feed_server))}"' in metrics
    assert any(log.startswith("HTTP Request: GET") for log in logs), "httpx's own line is checked"
    assert any(shown_url(feed_server) in log for log in logs)
    path, headers = feed_server.requests[-1]
    assert KEY in path
    assert (
        headers["Authorization"]
        == "Basic " + base64.b64encode(f"reader:{PASSWORD}".encode()).decode()
    )


def run_ingest(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "psgbot", "ingest", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, **env},
    )


def test_ingest_prints_sources_without_secrets(
    feed_server: FeedServer, database_url: str, tmp_path: Path
) -> None:
    env = {"PSGBOT_DATABASE_URL": database_url, "PSGBOT_FEEDS_ALLOW_PRIVATE": "true"}
    url = secret_url(feed_server)
    feed_server.routes[PATH] = FAILING
    failed = [run_ingest(url, mode, env=env, cwd=tmp_path) for mode in ("--json", "--store")]
    feed_server.routes[PATH] = Response(FEED)
    read = [run_ingest(url, mode, env=env, cwd=tmp_path) for mode in ("--json", "--store")]

    assert [result.returncode for result in failed + read] == [1, 1, 0, 0]
    outputs = [result.stdout + result.stderr for result in failed + read]
    assert_no_secret(outputs)
    assert all(shown_url(feed_server) in output for output in outputs)


def test_display_source_keeps_host_path_and_query_names() -> None:
    assert (
        display_source("https://user:pw@host.example:8443/feed/?api_key=K&flag&lang=en#part")
        == "https://host.example:8443/feed/?api_key=…&flag&lang=…"
    )
    assert display_source("https://perusupportgroup.org.uk/feed/") == (
        "https://perusupportgroup.org.uk/feed/"
    )
    assert display_source("/srv/feeds/psg.xml") == "/srv/feeds/psg.xml"
    assert display_source("http://[::1:8080/feed?k=secret-value") == "http://…"
    assert feed_label("https://user:pw@host.example/feed?api_key=K") == "host.example/feed"


def test_error_text_quoting_a_url_is_shown_without_its_secrets() -> None:
    source = f"https://reader:{PASSWORD}@feeds.example/feed?api_key={KEY}"
    message = f"ConnectError: cannot reach {source.replace('feeds.example', '192.0.2.7')} ({KEY})"
    assert hide_secrets(message, source) == (
        "ConnectError: cannot reach https://192.0.2.7/feed?api_key=… (…)"
    )
