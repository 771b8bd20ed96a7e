"""Searching the archive (/search, plain words, More) and inline mode (@bot words, Share), on
both databases, through the real Application and the rule-checking transport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from conftest import OWNER, running_bot
from sqlalchemy import delete, select, text
from support.feed_server import FeedServer, Response
from support.feeds import FeedItem, recent, rss
from support.harness import BotHarness

from psgbot.cli import ALLOWED_UPDATES
from psgbot.config import Settings
from psgbot.db.models import Item, ItemSearch
from psgbot.db.types import utcnow
from psgbot.feeds.poll import poll_source
from psgbot.search import purge_searches


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[BotHarness]:
    """The bot with its inline mode on in BotFather (getMe says so), as deployed."""
    async with running_bot(settings, inline_mode=True) as harness:
        yield harness


def item(guid: str, title: str, summary: str = "", hours: float = 1) -> FeedItem:
    return FeedItem(guid, title, summary, f"https://n.example/{guid}", recent(hours=hours))


async def publish(bot: BotHarness, server: FeedServer, items: list[FeedItem]) -> None:
    server.routes["/feed"] = Response(rss(items))
    await poll_source(bot.services, server.url("/feed"))


def buttons(call: Any) -> list[dict[str, Any]]:
    markup = call.params.get("reply_markup") or {"inline_keyboard": []}
    return [button for row in markup["inline_keyboard"] for button in row]


def results(answer: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = answer.params["results"]
    return found


TIA_MARIA = item("tm-1", "Protests at Tía María resume", "Farmers in Arequipa march again.")
TIA_MARIA_PLAIN = item("tm-2", "Valley communities meet", "They discussed the tia maria project.")


async def test_search_ignores_accents_and_case(bot: BotHarness, feed_server: FeedServer) -> None:
    await publish(bot, feed_server, [TIA_MARIA, TIA_MARIA_PLAIN])
    for typed in ("/search tia maria", "/search TÍA MARÍA", "/search Tía   maría"):
        (reply,) = await bot.reply_texts(typed)
        assert "2 items" in reply
        assert "Protests at Tía María resume" in reply
        assert "Valley communities meet" in reply
    (reply,) = await bot.reply_texts("/search tiamaria")
    assert "Nothing in the archive matches “tiamaria”" in reply


async def test_title_hits_rank_first_then_newest(bot: BotHarness, feed_server: FeedServer) -> None:
    await publish(
        bot,
        feed_server,
        [
            item("q-1", "Summary only", "The Quellaveco mine expands.", hours=1),
            item("q-2", "Quellaveco water permit, newer", "A permit.", hours=24),
            item("q-3", "Quellaveco water permit, older", "A permit.", hours=48),
        ],
    )
    (reply,) = await bot.reply_texts("/search quellaveco")
    order = [reply.index(title) for title in ("newer", "older", "Summary only")]
    assert order == sorted(order)
    assert "<b>1.</b>" in reply
    assert "<b>3.</b>" in reply


# Newest first: summary only, then two with some of the words in the title, then the oldest,
# with them all in its title. Relevance puts them the other way round.
WATER_PERMITS = [
    item("w-1", "Regional news", "The water permit was granted.", hours=1),
    item("w-2", "Permit hearing postponed", "The water board asked for time.", hours=2),
    item("w-3", "Water board meets", "A permit was discussed.", hours=3),
    item("w-4", "Water permit granted", "The authority ruled.", hours=4),
]
BY_RELEVANCE = [
    "Water permit granted",  # every word in the title
    "Permit hearing postponed",  # some of them in the title, newer
    "Water board meets",  # some of them in the title, older
    "Regional news",  # in the summary only, however new
]


async def test_titles_with_some_of_the_words_rank_between_all_and_none(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await publish(bot, feed_server, WATER_PERMITS)
    (reply,) = await bot.reply_texts("/search water permit")
    assert "4 items" in reply
    order = [reply.index(title) for title in BY_RELEVANCE]
    assert order == sorted(order)
    # Inline mode ranks alike, the last word as it is being typed.
    answer = await bot.inline("water perm")
    assert [r["title"] for r in results(answer)] == BY_RELEVANCE


async def test_pages_of_five_with_more_until_the_last(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    titles = [f"Huancavelica report {n:02d}" for n in range(12)]
    await publish(
        bot, feed_server, [item(f"h-{n}", title, hours=n + 1) for n, title in enumerate(titles)]
    )
    (first,) = await bot.send("/search huancavelica")
    assert "12 items" in (first.text or "")
    assert "(1–5)" in (first.text or "")
    more = [b for b in buttons(first) if "callback_data" in b]
    assert [b["text"] for b in more] == ["More results ▶️"]
    seen = [title for title in titles if title in (first.text or "")]
    pages = [first]
    while more:
        calls = await bot.press(more[0]["callback_data"])
        assert [c.method for c in calls] == ["answerCallbackQuery", "sendMessage"]
        pages.append(calls[1])
        seen += [title for title in titles if title in (calls[1].text or "")]
        more = [b for b in buttons(calls[1]) if "callback_data" in b]
    assert len(pages) == 3
    assert "(11–12)" in (pages[2].text or "")
    assert "<b>11.</b>" in (pages[2].text or "")
    assert "That is all" in (pages[2].text or "")
    # Newest first, each once, across the pages.
    assert seen == titles
    # A list: no page takes its first link's preview.
    for page in pages:
        assert page.params["link_preview_options"] == {"is_disabled": True}


async def test_a_forgotten_search_says_so(bot: BotHarness, feed_server: FeedServer) -> None:
    await publish(bot, feed_server, [item(f"p-{n}", f"Puno news {n}") for n in range(7)])
    (first,) = await bot.send("/search puno")
    (more,) = [b for b in buttons(first) if "callback_data" in b]
    async with bot.services.sessions.begin() as session:
        assert await purge_searches(session, utcnow() + timedelta(days=2)) == 1
    calls = await bot.press(more["callback_data"])
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert "search again" in calls[0].params["text"]


async def test_plain_words_in_a_private_chat_are_a_search(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await publish(bot, feed_server, [TIA_MARIA])
    (reply,) = await bot.reply_texts("Tía María")
    assert "Searching the archive for “Tía María”; /help lists the commands." in reply
    assert "Protests at Tía María resume" in reply
    # In a group, words are the members' own conversation.
    assert await bot.send("tia maria", chat_id=-100123, chat_type="supergroup", user_id=7) == []
    # An admin's open flow still reads what they type.
    await bot.send("/edit aims", chat_id=OWNER)
    calls = await bot.send("Tía María is a mine.", chat_id=OWNER)
    assert not any("Searching the archive" in (call.text or "") for call in calls)
    assert any(b.get("callback_data") == "adm:edit:save" for c in calls for b in buttons(c))


async def test_an_edited_item_is_found_by_its_new_words_only(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await publish(bot, feed_server, [item("e-1", "Ayacucho hearing", "Witnesses heard.")])
    await publish(bot, feed_server, [item("e-1", "Cusco hearing", "Witnesses heard.")])
    (reply,) = await bot.reply_texts("/search cusco")
    assert "Cusco hearing" in reply
    (reply,) = await bot.reply_texts("/search ayacucho")
    assert "Nothing in the archive matches" in reply


async def test_a_deleted_item_leaves_the_index(bot: BotHarness, feed_server: FeedServer) -> None:
    await publish(bot, feed_server, [item("d-1", "Loreto oil spill")])
    async with bot.services.sessions.begin() as session:
        deleted = await session.execute(delete(Item).where(Item.key == "guid:d-1"))
        assert getattr(deleted, "rowcount", 0) == 1
    async with bot.services.sessions() as session:
        indexed = await session.scalar(
            select(ItemSearch).where(ItemSearch.title == "loreto oil spill")
        )
    assert indexed is None
    (reply,) = await bot.reply_texts("/search loreto")
    assert "Nothing in the archive matches" in reply


async def test_inline_answers_headlines_as_telegram_accepts_them(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await publish(bot, feed_server, [TIA_MARIA, TIA_MARIA_PLAIN])
    answer = await bot.inline("tia mar")  # the last word as it is being typed
    found = results(answer)
    assert [r["title"] for r in found] == [
        "Protests at Tía María resume",
        "Valley communities meet",
    ]
    first = found[0]
    assert first["type"] == "article"
    content = first["input_message_content"]
    assert content["parse_mode"] == "HTML"
    assert (
        '<a href="https://n.example/tm-1">Protests at Tía María resume</a>'
        in content["message_text"]
    )
    assert "Farmers in Arequipa" in first["description"]
    assert answer.params["cache_time"] == 60
    # Never more than 10, whatever matches.
    await publish(bot, feed_server, [item(f"m-{n}", f"Moquegua item {n}") for n in range(14)])
    assert len(results(await bot.inline("moquegua"))) == 10


LATEST = [
    item(f"l-{n}", f"Regional council meeting number {n}", "The council met.", hours=n)
    for n in range(1, 13)
]


async def test_an_empty_inline_query_offers_the_latest(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    # Twelve stories an hour apart (the archive's sample news is from 2018), and, newer than
    # all of them, a partner's copy of the third: the archive holds that story once.
    await publish(bot, feed_server, LATEST)
    copy = FeedItem(
        "partner-3",
        "REGIONAL council meeting, number 3!",
        "The council met.",
        "https://partner.example/3",
        recent(hours=0.5),
    )
    feed_server.routes["/partner"] = Response(rss([copy]))
    await poll_source(bot.services, feed_server.url("/partner"))
    answer = await bot.inline("", chat_type="group")
    assert [r["title"] for r in results(answer)] == [
        f"Regional council meeting number {n}" for n in range(1, 11)
    ]


async def test_share_buttons_open_inline_mode_with_their_item(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await publish(bot, feed_server, [])  # a feed's first fetch alerts nothing
    await bot.send("/subscribe all", chat_id=1)
    await publish(bot, feed_server, [TIA_MARIA])
    (alert,) = [call for call in await bot.deliver() if call.chat_id == 1]
    (share,) = [b for b in buttons(alert) if "switch_inline_query" in b]
    assert share["text"] == "↗️ Share"
    found = results(await bot.inline(share["switch_inline_query"], chat_type="group"))
    assert [r["title"] for r in found] == ["Protests at Tía María resume"]
    # Under /latest, a Share button per item, each naming its own.
    (latest,) = await bot.send("/latest 3")
    shares = [b for b in buttons(latest) if "switch_inline_query" in b]
    assert len(shares) == 3
    assert shares[0]["text"] == "↗️ Share: Protests at Tía María resume"
    for button in shares:
        (result,) = results(await bot.inline(button["switch_inline_query"]))
        assert result["title"][:20] in button["text"]
    # A reference to no item finds nothing.
    assert results(await bot.inline("#999999")) == []


async def test_without_inline_mode_there_is_no_share_button(
    settings: Settings, feed_server: FeedServer
) -> None:
    async with running_bot(settings) as bot:
        await publish(bot, feed_server, [])
        await bot.send("/subscribe all", chat_id=1)
        await publish(bot, feed_server, [TIA_MARIA])
        (alert,) = [call for call in await bot.deliver() if call.chat_id == 1]
        assert not [b for b in buttons(alert) if "switch_inline_query" in b]
        (latest,) = await bot.send("/latest 3")
        assert "reply_markup" not in latest.params


HOSTILE = [
    '"',
    "*",
    "NEAR(",
    "tia OR maria",
    "title : tia",
    "'; DROP TABLE items; --",
    "tia & !maria | (",
    "x:* <-> y",
    "\\",
    "a" * 10_000,
    "tía " * 2_500,
    "😀 ✊🏽 ‮",
]


@pytest.mark.parametrize("typed", HOSTILE)
async def test_hostile_queries_are_answered_without_error(
    bot: BotHarness, feed_server: FeedServer, typed: str
) -> None:
    await publish(bot, feed_server, [TIA_MARIA])
    replies = await bot.reply_texts(f"/search {typed}")
    assert len(replies) == 1
    assert "went wrong" not in replies[0]
    # Telegram passes at most 256 characters; the search's own answer, not the error path's.
    answer = await bot.inline(typed[:256])
    assert answer.params["cache_time"] == 60
    assert len(results(answer)) <= 10


async def test_an_inline_query_is_answered_when_search_fails(bot: BotHarness) -> None:
    async with bot.services.sessions.begin() as session:
        await session.execute(
            text("DROP TABLE item_search_fts" if not _pg(bot) else "DROP TABLE item_search")
        )
    answer = await bot.inline("tia")
    assert results(answer) == []
    (reply,) = await bot.reply_texts("/search tia")
    assert "went wrong" in reply


def _pg(bot: BotHarness) -> bool:
    return bot.services.engine.dialect.name == "postgresql"


async def test_inline_queries_over_the_rate_limit_get_an_empty_answer(bot: BotHarness) -> None:
    answers = [await bot.inline("peru") for _ in range(81)]
    assert all(answer.params["cache_time"] == 60 for answer in answers[:80])
    assert results(answers[80]) == []
    assert answers[80].params["cache_time"] == 0


def test_telegram_is_asked_for_inline_queries() -> None:
    """getUpdates and setWebhook name the updates wanted: without inline_query, Telegram would
    never deliver one, however inline mode is set in BotFather."""
    assert "inline_query" in ALLOWED_UPDATES
