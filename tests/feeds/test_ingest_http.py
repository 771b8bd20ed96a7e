"""Ingest over real HTTP from a local server, and the ``psgbot ingest`` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLE_FEED
from support.feed_server import FeedServer, Response

from psgbot.feeds.fetch import MAX_BODY_BYTES, FetchError, fetch_source, http_client
from psgbot.feeds.ingest import SourceError, read_source


async def test_feed_is_read_over_http_with_psgbot_user_agent(feed_server: FeedServer) -> None:
    feed_server.routes["/feed/"] = Response(SAMPLE_FEED.read_bytes())
    async with http_client(allow_private=True) as client:
        fetched = await read_source(feed_server.url("/feed/"), client)
    assert fetched.feed is not None
    assert len(fetched.feed.items) == 10
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


async def test_body_past_the_cap_is_refused(feed_server: FeedServer) -> None:
    feed_server.routes["/big"] = Response(b"x" * (MAX_BODY_BYTES + 1))
    async with http_client(allow_private=True) as client:
        with pytest.raises(FetchError, match="larger than"):
            await fetch_source(feed_server.url("/big"), client)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "psgbot", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        # The local feed server is on 127.0.0.1.
        env={**os.environ, "PSGBOT_FEEDS_ALLOW_PRIVATE": "true"},
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


def test_ingest_store_counts_new_then_nothing(tmp_path: Path) -> None:
    first = run_cli("ingest", str(SAMPLE_FEED), "--store", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"{SAMPLE_FEED}: 10 items, 10 new, 0 updated"
    again = run_cli("ingest", str(SAMPLE_FEED), "--store", cwd=tmp_path)
    # The command line rereads even a body stored before, so it can show what the feed holds.
    assert again.stdout.strip() == f"{SAMPLE_FEED}: 10 items, 0 new, 0 updated"
    assert (tmp_path / "var" / "psgbot.db").exists()
