"""Ingest over real HTTP from a local server, and the ``psgbot ingest`` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLE_FEED
from sqlalchemy import func, select
from support.feed_server import FeedServer, Response

from psgbot.db.models import Feed, Item
from psgbot.feeds.fetch import MAX_BODY_BYTES, http_client
from psgbot.feeds.ingest import SourceError, read_source
from psgbot.feeds.poll import poll_source
from psgbot.services import Services


async def test_feed_is_read_over_http_with_psgbot_user_agent(
    services: Services, feed_server: FeedServer
) -> None:
    feed_server.routes["/feed/"] = Response(SAMPLE_FEED.read_bytes())
    outcome = await poll_source(services, feed_server.url("/feed/"), force=True)
    assert outcome.error is None
    assert outcome.new == 10
    async with services.sessions() as session:
        stored = await session.scalar(select(func.count()).select_from(Item))
    assert stored == 10
    _path, headers = feed_server.requests[-1]
    assert headers["User-Agent"].startswith("psgbot/")


async def test_http_errors_are_one_line(feed_server: FeedServer) -> None:
    feed_server.routes["/html"] = Response(
        b"<html><p>hi</p></html>", 200, {"Content-Type": "text/html"}
    )
    async with http_client(allow_private=True) as client:
        with pytest.raises(SourceError, match="HTTP 404"):
            await read_source(feed_server.url("/missing"), client)
        with pytest.raises(SourceError, match="cannot parse"):
            await read_source(feed_server.url("/html"), client)


async def test_body_past_the_cap_is_refused(services: Services, feed_server: FeedServer) -> None:
    feed_server.routes["/big"] = Response(b"x" * (MAX_BODY_BYTES + 1))
    source = feed_server.url("/big")
    outcome = await poll_source(services, source, force=True)
    assert "larger than" in (outcome.error or "")
    async with services.sessions() as session:
        feed = await session.scalar(select(Feed).where(Feed.source == source))
    assert feed is not None
    assert feed.last_error == outcome.error
    assert feed.failures == 1


def run_cli(*args: str, cwd: Path, database: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PSGBOT_FEEDS_ALLOW_PRIVATE": "true"}  # the feed server is on 127.0.0.1
    if database:
        env["PSGBOT_DATABASE_URL"] = database
    return subprocess.run(
        [sys.executable, "-m", "psgbot", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )


def test_ingest_json_prints_ten_items_with_dates_and_topics(tmp_path: Path) -> None:
    result = run_cli("ingest", str(SAMPLE_FEED), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 10
    assert records[0]["title"] == "Fujimoristas vote may save Hinostroza from prosecution"
    assert records[0]["published"] == "2018-09-29T12:00:00+00:00"
    assert set(records[0]) == {"source", "guid", "title", "link", "published", "summary", "topics"}
    assert all(record["topics"] for record in records)


def test_ingest_goes_on_past_a_broken_source(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.routes["/feed/"] = Response(SAMPLE_FEED.read_bytes())
    result = run_cli(
        "ingest",
        feed_server.url("/gone"),
        feed_server.url("/feed/"),
        str(tmp_path / "nofile.xml"),
        "--json",
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == 10
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2
    assert "HTTP 404" in errors[0]
    assert "no such file" in errors[1]
    assert "Traceback" not in result.stderr


def test_ingest_store_counts_new_then_nothing(tmp_path: Path, database_url: str) -> None:
    first = run_cli("ingest", str(SAMPLE_FEED), "--store", cwd=tmp_path, database=database_url)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"{SAMPLE_FEED}: 10 items, 10 new, 0 updated"
    again = run_cli("ingest", str(SAMPLE_FEED), "--store", cwd=tmp_path, database=database_url)
    # The command line rereads even a body stored before, so it can show what the feed holds.
    assert again.stdout.strip() == f"{SAMPLE_FEED}: 10 items, 0 new, 0 updated"
