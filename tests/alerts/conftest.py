"""Alert tests run the bot against a live local feed server whose feed changes between polls."""

from __future__ import annotations

import pytest
from conftest import make_settings
from support.feed_server import FeedServer, Response
from support.feeds import ADMIN, HISTORY, rss

from psgbot.config import Settings


@pytest.fixture
def feed_url(feed_server: FeedServer) -> str:
    feed_server.routes["/feed"] = Response(rss(HISTORY))
    return feed_server.url("/feed")


@pytest.fixture
def settings(database_url: str, feed_url: str) -> Settings:
    return make_settings(database_url, feeds=[feed_url], admins=[ADMIN])
