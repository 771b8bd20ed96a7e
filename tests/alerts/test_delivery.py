"""Subscribe, a new item appears in the feed, exactly one alert per subscribed chat."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from support.feed_server import FeedServer, Response
from support.feeds import ADMIN, HISTORY, FeedItem, recent, rss
from support.harness import BotHarness

from psgbot.db.models import Delivery, Feed, Item
from psgbot.feeds.poll import poll_source

JUSTICE_ITEM = FeedItem(
    "new-1",
    "Court annuls the pardon",
    "The Supreme Court ruled 5 < 6 & more.",
    "https://n.example/new-1",
    recent(),
)
ECONOMY_ITEM = FeedItem(
    "new-2",
    "Copper prices rise",
    "The central bank revised growth.",
    "https://n.example/new-2",
    recent(),
)


async def subscribe(bot: BotHarness, chat_id: int, topic: str) -> None:
    await bot.send(f"/subscribe {topic}", chat_id=chat_id)


async def publish(bot: BotHarness, server: FeedServer, items: list[FeedItem]) -> None:
    server.routes["/feed"] = Response(rss(items + HISTORY))
    await poll_source(bot.services, server.url("/feed"))


async def test_new_item_alerts_each_subscribed_chat_once(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await subscribe(bot, 1, "justice")
    await subscribe(bot, 2, "economy")
    await subscribe(bot, 3, "all")
    await bot.send("/start", chat_id=4)  # started, but follows nothing
    bot.api.clear()
    await publish(bot, feed_server, [JUSTICE_ITEM])
    calls = await bot.deliver()
    by_chat = {int(call.chat_id or 0): call for call in calls}
    assert sorted(by_chat) == [1, 3]
    alert = by_chat[1]
    text = alert.text or ""
    assert '⚖️ <b><a href="https://n.example/new-1">Court annuls the pardon</a></b>' in text
    assert "The Supreme Court ruled 5 &lt; 6 &amp; more." in text
    assert "#justice" in text
    buttons = [b for row in alert.params["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons[0] == {"text": "Read more", "url": "https://n.example/new-1"}
    assert buttons[1] == {"text": "Unsubscribe from Justice", "callback_data": "unsub:justice"}
    assert buttons[2] == {"text": "📰 Latest on Justice", "callback_data": "latest:justice"}
    # An all-news alert offers the latest on the item's own topic.
    everything = [b for row in by_chat[3].params["reply_markup"]["inline_keyboard"] for b in row]
    assert {"text": "📰 Latest on Justice", "callback_data": "latest:justice"} in everything

    # Polling again, and delivering again, sends nothing more.
    await publish(bot, feed_server, [JUSTICE_ITEM])
    assert await bot.deliver() == []
    async with bot.services.sessions() as session:
        statuses = list(await session.scalars(select(Delivery.status)))
        sent = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.message_id.is_not(None))
        )
    assert statuses == ["sent", "sent"]
    assert sent == 2


async def test_unsubscribe_button_on_an_alert(bot: BotHarness, feed_server: FeedServer) -> None:
    await subscribe(bot, 1, "justice")
    await publish(bot, feed_server, [JUSTICE_ITEM])
    await bot.deliver()
    calls = await bot.press("unsub:justice", chat_id=1)
    assert "Unsubscribed from <b>Justice</b>" in (calls[-1].text or "")
    # Pressed again, it does not claim to unsubscribe a second time.
    (again,) = await bot.press("unsub:justice", chat_id=1)
    assert again.params["text"] == "You weren't subscribed to Justice: nothing to stop."
    await publish(
        bot,
        feed_server,
        [
            JUSTICE_ITEM,
            FeedItem("new-3", "Another court ruling", "", "https://n.example/3", recent()),
        ],
    )
    assert await bot.deliver() == []


async def test_first_poll_alerts_nothing(bot: BotHarness, feed_server: FeedServer) -> None:
    await subscribe(bot, 1, "all")
    feed_server.routes["/other"] = Response(rss([JUSTICE_ITEM, ECONOMY_ITEM]))
    outcome = await poll_source(bot.services, feed_server.url("/other"))
    assert (outcome.new, outcome.alerts) == (2, 0)
    assert await bot.deliver() == []


async def test_old_items_are_stored_not_alerted(bot: BotHarness, feed_server: FeedServer) -> None:
    await subscribe(bot, 1, "all")
    stale = FeedItem(
        "stale", "Court news from last week", "", "https://n.example/s", recent(hours=24 * 4)
    )
    undated = FeedItem("undated", "Court news without a date", "", "https://n.example/u")
    await publish(bot, feed_server, [stale, undated])
    calls = await bot.deliver()
    assert [call.text and "without a date" in call.text for call in calls] == [True]
    async with bot.services.sessions() as session:
        assert await session.scalar(select(Item).where(Item.guid == "stale")) is not None


async def test_changed_item_is_updated_silently(bot: BotHarness, feed_server: FeedServer) -> None:
    await subscribe(bot, 1, "all")
    await publish(bot, feed_server, [JUSTICE_ITEM])
    await bot.deliver()
    corrected = FeedItem(
        JUSTICE_ITEM.guid,
        "Court annuls the pardon (corrected)",
        JUSTICE_ITEM.summary,
        JUSTICE_ITEM.link,
        JUSTICE_ITEM.published,
    )
    server_items = [corrected]
    feed_server.routes["/feed"] = Response(rss(server_items + HISTORY))
    outcome = await poll_source(bot.services, feed_server.url("/feed"))
    assert (outcome.new, outcome.updated, outcome.alerts) == (0, 1, 0)
    assert await bot.deliver() == []


async def test_more_than_three_alerts_go_as_one_digest(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await subscribe(bot, 1, "all")
    items = [
        FeedItem(f"d{n}", f"Court ruling number {n}", "", f"https://n.example/d{n}", recent())
        for n in range(5)
    ]
    await publish(bot, feed_server, items)
    calls = await bot.deliver()
    assert len(calls) == 1
    text = calls[0].text or ""
    assert "5 new items" in text
    assert "Justice" in text
    assert all(f"Court ruling number {n}" in text for n in range(5))
    async with bot.services.sessions() as session:
        ids = set(await session.scalars(select(Delivery.message_id)))
    assert len(ids) == 1
    assert None not in ids


async def test_new_subscriber_is_not_sent_old_items(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await publish(bot, feed_server, [JUSTICE_ITEM])
    await subscribe(bot, 1, "justice")
    await publish(bot, feed_server, [JUSTICE_ITEM])
    assert await bot.deliver() == []


async def test_conditional_get_and_304(bot: BotHarness, feed_server: FeedServer) -> None:
    body = rss(HISTORY)
    feed_server.routes["/feed"] = lambda handler: (
        Response(b"", 304, {})
        if handler.headers.get("If-None-Match") == '"v1"'
        else Response(
            body,
            200,
            {
                "Content-Type": "application/rss+xml",
                "ETag": '"v1"',
                "Last-Modified": "Tue, 01 Oct 2024 10:00:00 GMT",
            },
        )
    )
    url = feed_server.url("/feed")
    await poll_source(bot.services, url)
    outcome = await poll_source(bot.services, url)
    assert outcome.not_modified
    assert outcome.seen == 0
    _path, headers = feed_server.requests[-1]
    assert headers["If-None-Match"] == '"v1"'
    assert headers["If-Modified-Since"] == "Tue, 01 Oct 2024 10:00:00 GMT"


async def test_cache_hints_lengthen_never_shorten(bot: BotHarness, feed_server: FeedServer) -> None:
    url = feed_server.url("/feed")
    interval = bot.services.settings.effective_poll_interval  # 3600 in tests
    feed_server.routes["/feed"] = Response(
        rss(HISTORY, ttl=1),
        200,
        {"Content-Type": "application/rss+xml", "Cache-Control": "max-age=10"},
    )
    await poll_source(bot.services, url)
    async with bot.services.sessions() as session:
        feed = await session.scalar(select(Feed).where(Feed.source == url))
        assert feed is not None
        assert feed.next_poll_at
        assert feed.last_success_at
        assert feed.next_poll_at - feed.last_success_at == timedelta(seconds=interval)


async def test_failing_feed_backs_off_while_another_delivers(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await subscribe(bot, 1, "all")
    broken = feed_server.url("/broken")
    feed_server.routes["/broken"] = Response(b"oops", 500, {"Content-Type": "text/plain"})
    await poll_source(bot.services, broken)
    await publish(bot, feed_server, [JUSTICE_ITEM])
    calls = await bot.deliver()
    assert {call.chat_id for call in calls} == {1, ADMIN}
    notice = next(call for call in calls if call.chat_id == ADMIN)
    assert "is failing" in (notice.text or "")
    assert "HTTP 500" in (notice.text or "")

    delays = []
    for _attempt in range(4):
        await poll_source(bot.services, broken)
        async with bot.services.sessions() as session:
            feed = await session.scalar(select(Feed).where(Feed.source == broken))
            assert feed is not None
            assert feed.next_poll_at
            assert feed.last_error_at
            delays.append(feed.next_poll_at - feed.last_error_at)
    assert delays[1] == 2 * delays[0]
    assert delays[-1] <= timedelta(hours=6)
    assert feed is not None
    assert feed.failures == 5
    assert "HTTP 500" in (feed.last_error or "")
    assert [c.chat_id for c in await bot.deliver()] == [], "admins are told only once"

    # A scheduled (not forced) poll skips a feed that is backing off.
    skipped = await poll_source(bot.services, broken, force=False)
    assert skipped.skipped

    feed_server.routes["/broken"] = Response(rss(HISTORY))
    await poll_source(bot.services, broken)
    (recovered,) = await bot.deliver()
    assert recovered.chat_id == ADMIN
    assert "recovered" in (recovered.text or "")


async def test_paid_broadcast_setting_sends_with_allow_paid_broadcast(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await subscribe(bot, 1, "justice")
    await publish(bot, feed_server, [JUSTICE_ITEM])
    bot.services.settings.paid_broadcast = True
    (call,) = await bot.deliver()
    assert call.params["allow_paid_broadcast"] is True
