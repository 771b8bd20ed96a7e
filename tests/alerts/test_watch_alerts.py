"""Keyword watches bring alerts: literal, whole-word, case- and accent-insensitive matches in an
item's title or summary, to chats that follow none of its topics, and never twice."""

from __future__ import annotations

from sqlalchemy import func, select
from support.feed_server import FeedServer, Response
from support.feeds import HISTORY, FeedItem, recent, rss
from support.harness import BotHarness

from psgbot.db.models import Delivery
from psgbot.feeds.poll import poll_source
from psgbot.offline import ApiCall

TIA_MARIA, LITERAL, BAMBAS, TOPIC_AND_WATCH = 11, 12, 13, 14


def item(guid: str, title: str, summary: str = "") -> FeedItem:
    return FeedItem(guid, title, summary, f"https://n.example/{guid}", recent())


async def publish(bot: BotHarness, server: FeedServer, items: list[FeedItem]) -> int:
    """Puts the items at the top of the feed and polls it; the alerts the poll queued."""
    server.routes["/feed"] = Response(rss(items + HISTORY))
    return (await poll_source(bot.services, server.url("/feed"))).alerts


def received(calls: list[ApiCall], chat_id: int) -> list[str]:
    """The alerts a chat got, each as its title's link target (the item's guid)."""
    texts = [call.text or "" for call in calls if call.chat_id == chat_id]
    return sorted(text.split('href="https://n.example/', 1)[1].split('"', 1)[0] for text in texts)


async def test_watches_match_literally_as_whole_words_in_any_case_or_accents(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await bot.send("/watch Tía María", chat_id=TIA_MARIA)
    await bot.send("/watch Las Bambas (mine)+", chat_id=LITERAL)
    await bot.send("/watch bambas", chat_id=BAMBAS)
    await publish(
        bot,
        feed_server,
        [
            item("upper", "TÍA MARÍA protest grows", "Farmers march in Arequipa."),
            item("plain", "Water board meets", "Farmers discussed tia  maria again."),
            item("joined", "Tiamaria is not a word", "Nor is tiamaría."),
            item("literal", "Report: Las Bambas (mine)+ expansion", "Cotabambas waits."),
            item("no-brackets", "Las Bambas mine expands", ""),
            item("repeated", "Las Bambas minemine", ""),
            item("prefix", "Bambasco opens an office", "Cotabambas is a province."),
            # WordPress's footer names the site in every item; it is not searched.
            item(
                "footer",
                "A quiet week",
                "Nothing new. The post A quiet week appeared first on Las Bambas (mine)+.",
            ),
        ],
    )
    calls = await bot.deliver()
    assert received(calls, TIA_MARIA) == ["plain", "upper"]
    assert received(calls, LITERAL) == ["literal"]
    assert received(calls, BAMBAS) == ["literal", "no-brackets", "repeated"]
    # The alert says which watch brought it, as the chat typed it.
    (literal,) = [call for call in calls if call.chat_id == LITERAL]
    assert "👁 Watching: Las Bambas (mine)+" in (literal.text or "")
    tia = [call.text or "" for call in calls if call.chat_id == TIA_MARIA]
    assert all("👁 Watching: Tía María" in text for text in tia)


async def test_a_watched_item_alerts_a_chat_following_none_of_its_topics(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await bot.send("/subscribe economy", chat_id=BAMBAS)
    await bot.send("/watch pardon", chat_id=BAMBAS)
    await bot.send("/subscribe economy", chat_id=LITERAL)  # watches nothing
    await publish(bot, feed_server, [item("pardon", "Court annuls the pardon", "A ruling.")])
    calls = await bot.deliver()
    assert received(calls, BAMBAS) == ["pardon"]
    assert received(calls, LITERAL) == []


async def test_an_item_a_topic_and_watches_all_match_alerts_once(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    chat = TOPIC_AND_WATCH
    await bot.send("/subscribe justice", chat_id=chat)
    await bot.send("/watch pardon", chat_id=chat)
    await bot.send("/watch Supreme Court", chat_id=chat)
    await bot.send("/watch pardon", chat_id=BAMBAS)
    await bot.send("/watch Supreme Court", chat_id=BAMBAS)
    pardon = item("pardon", "Court annuls the pardon", "The Supreme Court ruled on the pardon.")
    # One row for each chat: the topic's for the one, the first watch's for the other.
    assert await publish(bot, feed_server, [pardon]) == 2
    calls = await bot.deliver()
    assert received(calls, chat) == ["pardon"]
    assert received(calls, BAMBAS) == ["pardon"]
    # Brought by its topic: the alert offers the way out of the topic, and names no watch.
    (by_topic,) = [call for call in calls if call.chat_id == chat]
    assert "Watching" not in (by_topic.text or "")
    assert "unsub:justice" in str(by_topic.params["reply_markup"])
    # Brought by two watches: named once, by the older.
    (by_watch,) = [call for call in calls if call.chat_id == BAMBAS]
    assert (by_watch.text or "").count("👁 Watching: pardon") == 1
    # Polled again, the item is not new: nothing more.
    assert await publish(bot, feed_server, [pardon]) == 0
    assert await bot.deliver() == []
    async with bot.services.reads() as session:
        rows = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.chat_id == chat)
        )
    assert rows == 1


async def test_stopped_chats_keep_their_watches_but_get_nothing_until_they_watch_again(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await bot.send("/watch pardon", chat_id=BAMBAS)
    await bot.send("/stop", chat_id=BAMBAS)
    await publish(bot, feed_server, [item("pardon-1", "Court annuls the pardon")])
    assert await bot.deliver() == []
    (listed,) = await bot.reply_texts("/watches", chat_id=BAMBAS)
    assert "• pardon" in listed
    (again,) = await bot.reply_texts("/watch amnesty", chat_id=BAMBAS)
    assert "had stopped everything" in again
    await publish(bot, feed_server, [item("pardon-2", "A second pardon is annulled")])
    assert received(await bot.deliver(), BAMBAS) == ["pardon-2"]
