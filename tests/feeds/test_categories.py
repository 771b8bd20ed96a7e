"""An item's feed categories are evidence for its topics: stored with it, bounded when read, and
a change of them retags it, as a change of its text does. Over HTTP, on both databases."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from conftest import make_settings
from sqlalchemy import select, update
from support.feed_server import FeedServer, Response
from support.feeds import FeedItem, recent, rss, titles_classified

from psgbot.app import prepare_storage
from psgbot.db.models import ITEM_CATEGORIES_MAX, ITEM_CATEGORY_MAX, Item, ItemTopic
from psgbot.feeds.poll import poll_source
from psgbot.services import Services

# Neither text names a topic: only the category does.
NEWSLETTER = FeedItem(
    "news-1", "Quarterly newsletter", "Read it online", None, recent(1), ("Minería",)
)
ROUND_UP = FeedItem(
    "round-up",
    "Weekly round-up",
    "The court met. Later the government met.",
    None,
    recent(2),
    ("Derechos Humanos",),
)
HOSTILE = FeedItem(
    "many-categories",
    "Court annuls the pardon",
    "",
    None,
    recent(3),
    tuple(f"{n} " + "category " * 30 for n in range(60)),
)


@pytest.fixture
async def feed(database_url: str, feed_server: FeedServer) -> Any:
    feed_server.routes["/feed"] = Response(rss([NEWSLETTER, ROUND_UP, HOSTILE]))
    url = feed_server.url("/feed")
    services = Services.create(make_settings(database_url, feeds=[url]))
    await prepare_storage(services)
    yield services, url, feed_server
    await services.close()


async def stored(services: Services, guid: str) -> Item:
    async with services.reads() as session:
        item = await session.scalar(select(Item).where(Item.key == f"guid:{guid}"))
    assert item is not None
    return item


async def test_a_category_alone_tags_an_item_and_is_stored(feed: Any) -> None:
    services, url, _server = feed
    outcome = await poll_source(services, url)
    assert outcome.error is None
    assert outcome.new == 3
    newsletter = await stored(services, NEWSLETTER.guid)
    assert newsletter.topic_slugs == ["extractives"]
    assert newsletter.categories == ("Minería",)
    round_up = await stored(services, ROUND_UP.guid)
    assert round_up.topic_slugs == ["human-rights", "justice"]
    assert round_up.categories == ("Derechos Humanos",)
    # A feed's sixty long categories are kept bounded (PostgreSQL stores them as they are).
    hostile = await stored(services, HOSTILE.guid)
    assert hostile.categories is not None
    assert len(hostile.categories) == ITEM_CATEGORIES_MAX
    assert all(len(category) <= ITEM_CATEGORY_MAX for category in hostile.categories)
    assert hostile.categories[0].startswith("0 category category")


async def test_a_change_of_categories_alone_retags_the_item(
    feed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    services, url, server = feed
    await poll_source(services, url)
    classified = titles_classified(monkeypatch)
    recategorised = replace(NEWSLETTER, categories=("Salud",))
    server.routes["/feed"] = Response(rss([recategorised, ROUND_UP, HOSTILE]))
    outcome = await poll_source(services, url)
    assert (outcome.new, outcome.updated) == (0, 1)
    assert classified == [NEWSLETTER.title], "only the changed item is classified"
    newsletter = await stored(services, NEWSLETTER.guid)
    assert newsletter.topic_slugs == ["health"]
    assert newsletter.categories == ("Salud",)


async def test_an_item_stored_before_categories_were_kept_gets_them_untagged_anew(
    feed: Any,
) -> None:
    """Items stored before migration 0021 have no categories (NULL): the next read of their feed
    records them, and leaves their topics (given with those categories at ingest) alone."""
    services, url, server = feed
    await poll_source(services, url)
    round_up = await stored(services, ROUND_UP.guid)
    async with services.sessions.begin() as session:
        await session.execute(update(Item).where(Item.id == round_up.id).values(categories=None))
        await session.execute(
            update(ItemTopic)
            .where(ItemTopic.item_id == round_up.id, ItemTopic.topic == "justice")
            .values(topic="politics")
        )
    assert (await stored(services, ROUND_UP.guid)).categories is None
    server.routes["/feed"] = Response(
        rss(
            [
                FeedItem("new", "Mining protest", "", None, recent(0.5)),
                NEWSLETTER,
                ROUND_UP,
                HOSTILE,
            ]
        )
    )
    outcome = await poll_source(services, url)
    assert (outcome.new, outcome.updated) == (1, 0)
    round_up = await stored(services, ROUND_UP.guid)
    assert round_up.categories == ("Derechos Humanos",)
    assert round_up.topic_slugs == ["human-rights", "politics"]
    # Known now: a later change of them retags the item.
    server.routes["/feed"] = Response(rss([replace(ROUND_UP, categories=()), NEWSLETTER, HOSTILE]))
    assert (await poll_source(services, url)).updated == 1
    assert (await stored(services, ROUND_UP.guid)).topic_slugs == ["justice"]
