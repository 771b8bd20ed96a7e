"""Channels: an owner connects one (by @name or a forwarded post), chooses its topics, and new
items are posted there through the outbox; /channel lists and removes them."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import OWNER
from sqlalchemy import select
from support.feed_server import FeedServer, Response
from support.feeds import HISTORY, FeedItem, recent, rss
from support.harness import BotHarness

from psgbot import broadcasts
from psgbot.chats import followed_topics
from psgbot.db.models import ALL_NEWS, Chat, Delivery
from psgbot.db.types import utcnow
from psgbot.feeds.poll import poll_source
from psgbot.offline import ApiCall
from psgbot.offline_updates import BOT_USER

CHANNEL = -1001234567890
PRIVATE_CHANNEL = -1009876543210
GROUP = -100200300
EDITOR, SUPPORTER = 222, 333
JUSTICE_ITEM = FeedItem(
    "chan-1", "Court annuls the pardon", "A ruling.", "https://n.example/chan-1", recent()
)
ECONOMY_ITEM = FeedItem(
    "chan-2", "Copper prices rise", "The central bank.", "https://n.example/chan-2", recent()
)
CANNOT_POST = "Make the bot an administrator of <b>@psgnews</b> with the right to post"


def a_channel(bot: BotHarness, chat_id: int = CHANNEL, username: str | None = "psgnews") -> None:
    """A channel on Telegram where the bot is an administrator allowed to post."""
    bot.api.chat_types[chat_id] = "channel"
    if username:
        bot.api.usernames[username] = chat_id
    bot.api.chat_members[(chat_id, BOT_USER["id"])] = "administrator"


def buttons(call: ApiCall) -> list[dict[str, Any]]:
    markup = call.params.get("reply_markup") or {"inline_keyboard": []}
    return [button for row in markup["inline_keyboard"] for button in row]


def sent(calls: list[ApiCall]) -> list[ApiCall]:
    """What the bot put in a chat (not its questions to Telegram: getChat, getChatMember)."""
    return [call for call in calls if call.method == "sendMessage"]


def texts(calls: list[ApiCall]) -> list[str]:
    return [call.text or "" for call in calls if call.text is not None]


def answer_of(calls: list[ApiCall]) -> str:
    (answer,) = [call for call in calls if call.method == "answerCallbackQuery"]
    return str(answer.params.get("text", ""))


@pytest.fixture
async def feed(bot: BotHarness, feed_server: FeedServer) -> FeedServer:
    """A live feed, read once: its next items are news (a feed's first read alerts nothing)."""
    feed_server.routes["/feed"] = Response(rss(HISTORY))
    await poll_source(bot.services, feed_server.url("/feed"))
    return feed_server


async def publish(bot: BotHarness, server: FeedServer, items: list[FeedItem]) -> None:
    server.routes["/feed"] = Response(rss(items + HISTORY))
    await poll_source(bot.services, server.url("/feed"))


async def channel_topics(bot: BotHarness, chat_id: int = CHANNEL) -> set[str]:
    async with bot.services.sessions() as session:
        return await followed_topics(session, chat_id)


async def stored_chat(bot: BotHarness, chat_id: int = CHANNEL) -> Chat | None:
    async with bot.services.sessions() as session:
        return await session.get(Chat, chat_id)


async def connect(bot: BotHarness, *topics: str) -> None:
    await bot.send("/channel @psgnews", chat_id=OWNER)
    for topic in topics:
        await bot.press(f"adm:ch:t:{topic}", chat_id=OWNER)
    await bot.press("adm:ch:done", chat_id=OWNER)


async def test_owner_connects_a_channel_by_name_and_its_news_is_posted_there(
    bot: BotHarness, feed: FeedServer
) -> None:
    a_channel(bot)
    (question,) = sent(await bot.send("/channel @psgnews", chat_id=OWNER))
    assert "Which news should I post in <b>@psgnews</b>?" in (question.text or "")
    data = [button["callback_data"] for button in buttons(question)]
    assert data == [f"adm:ch:t:{slug}" for slug in bot.services.taxonomy.slugs] + [
        "adm:ch:all",
        "adm:ch:ann",
        "adm:ch:done",
    ]
    # Done before choosing anything: nothing is stored, the keyboard stays.
    calls = await bot.press("adm:ch:done", chat_id=OWNER)
    assert answer_of(calls) == "Choose at least one topic, or All news."
    assert await stored_chat(bot) is None

    calls = await bot.press("adm:ch:t:justice", chat_id=OWNER)
    marked = [b["text"] for b in buttons(calls[-1]) if b["callback_data"].startswith("adm:ch:t:")]
    assert [text for text in marked if text.startswith("✓")] == ["✓ ⚖️ Justice"]
    calls = await bot.press("adm:ch:done", chat_id=OWNER)
    (done,) = [call for call in calls if call.method == "editMessageText"]
    assert "✓ <b>@psgnews</b> is connected" in (done.text or "")
    assert "<b>Justice</b>" in (done.text or "")
    channel = await stored_chat(bot)
    assert channel is not None
    assert (channel.type, channel.active) == ("channel", True)
    assert await channel_topics(bot) == {"justice"}

    await bot.send("/subscribe justice", chat_id=4242)  # a supporter, for comparison
    bot.api.clear()
    await publish(bot, feed, [JUSTICE_ITEM, ECONOMY_ITEM])
    calls = await bot.deliver()
    (post,) = [call for call in calls if call.chat_id == CHANNEL]
    assert "Court annuls the pardon" in (post.text or "")
    # No Unsubscribe (nor any button that acts) under a channel's post: Read more only.
    assert buttons(post) == [{"text": "Read more", "url": "https://n.example/chan-1"}]
    (private,) = [call for call in calls if call.chat_id == 4242]
    assert {"text": "Unsubscribe from Justice", "callback_data": "unsub:justice"} in buttons(
        private
    )
    async with bot.services.sessions() as session:
        rows = list(await session.scalars(select(Delivery).where(Delivery.chat_id == CHANNEL)))
    assert [(row.status, row.message_id is not None) for row in rows] == [("sent", True)]


async def test_a_channel_posts_each_item_however_many_come_at_once(
    bot: BotHarness, feed: FeedServer
) -> None:
    a_channel(bot)
    await bot.send("/channel @psgnews", chat_id=OWNER)
    await bot.press("adm:ch:all", chat_id=OWNER)
    await bot.press("adm:ch:done", chat_id=OWNER)
    await bot.send("/subscribe all", chat_id=4242)  # a supporter, for comparison
    bot.api.clear()
    rulings = [
        FeedItem(f"burst-{n}", f"Ruling {n} on the pardon", "A ruling.", f"https://n.example/b{n}")
        for n in range(5)
    ]
    await publish(bot, feed, rulings)
    calls = await bot.deliver()
    posts = [call.text or "" for call in calls if call.chat_id == CHANNEL]
    assert len(posts) == 5
    for n in range(5):
        assert [post for post in posts if f"Ruling {n} on the pardon" in post] != [], n
    assert not [post for post in posts if "new items" in post]
    (headlines,) = [call.text or "" for call in calls if call.chat_id == 4242]
    assert "<b>5 new items</b>" in headlines


async def test_owner_connects_a_channel_by_forwarding_a_post(bot: BotHarness) -> None:
    a_channel(bot, PRIVATE_CHANNEL, username=None)  # a private channel: no @name
    update = bot.updates.forwarded_post(
        "A post", channel_id=PRIVATE_CHANNEL, chat_id=OWNER, user_id=OWNER
    )
    before = len(bot.api.calls)
    await bot.app.process_update(update)
    (question,) = sent(bot.api.calls[before:])
    assert f"Which news should I post in <b>Channel {PRIVATE_CHANNEL}</b>?" in (question.text or "")
    await bot.press("adm:ch:all", chat_id=OWNER)
    await bot.press("adm:ch:ann", chat_id=OWNER)  # no announcements to everyone there
    await bot.press("adm:ch:done", chat_id=OWNER)
    assert await channel_topics(bot, PRIVATE_CHANNEL) == {ALL_NEWS}
    channel = await stored_chat(bot, PRIVATE_CHANNEL)
    assert channel is not None
    assert channel.announcements is False
    (listing,) = texts(await bot.send("/channel", chat_id=OWNER))
    assert f"<b>Channel {PRIVATE_CHANNEL}</b>: <b>all news</b>" in listing
    assert "announcements" not in listing


async def test_connecting_is_refused_where_the_bot_may_not_post(bot: BotHarness) -> None:
    bot.api.chat_types[CHANNEL] = "channel"
    bot.api.usernames["psgnews"] = CHANNEL
    # Not in the channel at all.
    (reply,) = texts(await bot.send("/channel @psgnews", chat_id=OWNER))
    assert CANNOT_POST in reply
    # An administrator without the right to post.
    bot.api.chat_members[(CHANNEL, BOT_USER["id"])] = "administrator"
    bot.api.cannot_post.add(CHANNEL)
    (reply,) = texts(await bot.send("/channel @psgnews", chat_id=OWNER))
    assert CANNOT_POST in reply
    # The same by a forwarded post.
    before = len(bot.api.calls)
    await bot.app.process_update(
        bot.updates.forwarded_post("Post", channel_id=CHANNEL, username="psgnews", chat_id=OWNER)
    )
    assert CANNOT_POST in (bot.api.calls[before:][-1].text or "")
    # A name Telegram does not know, and a group's.
    (reply,) = texts(await bot.send("/channel @nosuchchannel", chat_id=OWNER))
    assert "I can't find the channel <b>@nosuchchannel</b>" in reply
    bot.api.chat_types[GROUP] = "supergroup"
    bot.api.usernames["agroup"] = GROUP
    (reply,) = texts(await bot.send("/channel @agroup", chat_id=OWNER))
    assert "<b>@agroup</b> is not a channel" in reply
    assert await stored_chat(bot) is None
    # A pressed Done with no choice open (nothing was offered) stores nothing.
    calls = await bot.press("adm:ch:done", chat_id=OWNER)
    assert "no longer open" in answer_of(calls)
    assert await stored_chat(bot) is None


async def test_editors_and_supporters_cannot_connect_a_channel(bot: BotHarness) -> None:
    a_channel(bot)
    await bot.send(f"/admins add {EDITOR}", chat_id=OWNER)
    (reply,) = texts(await bot.send("/channel @psgnews", chat_id=EDITOR))
    assert reply == "Only the bot's owners can do this."
    # An editor's forwarded post is not taken as a connection: it is a message like any other.
    before = len(bot.api.calls)
    await bot.app.process_update(
        bot.updates.forwarded_post("Post", channel_id=CHANNEL, username="psgnews", chat_id=EDITOR)
    )
    replies = texts(bot.api.calls[before:])
    assert replies
    assert not any("Which news should I post" in text for text in replies)
    # Buttons check the role on every press, whoever holds the keyboard.
    await bot.send("/channel @psgnews", chat_id=OWNER)
    for data in ("adm:ch:t:justice", "adm:ch:done", f"adm:ch:rm:{CHANNEL}"):
        calls = await bot.press(data, chat_id=EDITOR)
        assert answer_of(calls) == "Only the bot's owners can do this."
    (reply,) = texts(await bot.send("/channel", chat_id=SUPPORTER))
    assert reply == "This command is for PSG administrators."
    assert await stored_chat(bot) is None


async def test_channel_list_and_remove_with_confirmation(bot: BotHarness, feed: FeedServer) -> None:
    (empty,) = texts(await bot.send("/channel", chat_id=OWNER))
    assert "No channel is connected" in empty
    a_channel(bot)
    await connect(bot, "justice", "economy")
    (listing,) = texts(await bot.send("/channel", chat_id=OWNER))
    assert "<b>@psgnews</b>: <b>Justice</b>, <b>Economy</b>" in listing
    assert "(and the PSG's announcements)" in listing

    (question,) = sent(await bot.send("/channel remove @psgnews", chat_id=OWNER))
    assert "Disconnect <b>@psgnews</b>?" in (question.text or "")
    assert [b["callback_data"] for b in buttons(question)] == [
        f"adm:ch:rm:{CHANNEL}",
        "adm:ch:keep",
    ]
    calls = await bot.press("adm:ch:keep", chat_id=OWNER)
    assert "the channel stays connected" in (calls[-1].text or "")
    assert await channel_topics(bot) == {"justice", "economy"}

    calls = await bot.press(f"adm:ch:rm:{CHANNEL}", chat_id=OWNER)
    assert "Disconnected" in (calls[-1].text or "")
    assert await stored_chat(bot) is None
    (empty,) = texts(await bot.send("/channel", chat_id=OWNER))
    assert "No channel is connected" in empty
    (reply,) = texts(await bot.send("/channel remove @psgnews", chat_id=OWNER))
    assert "<b>@psgnews</b> is not connected" in reply
    await publish(bot, feed, [JUSTICE_ITEM])
    assert [call for call in await bot.deliver() if call.chat_id == CHANNEL] == []


async def test_a_channel_that_removes_the_bot_is_deactivated(
    bot: BotHarness, feed: FeedServer
) -> None:
    a_channel(bot)
    await connect(bot, "justice")
    bot.api.chat_members[(CHANNEL, BOT_USER["id"])] = "left"
    await bot.app.process_update(
        bot.updates.membership_change(CHANNEL, old="administrator", new="left", chat_type="channel")
    )
    channel = await stored_chat(bot)
    assert channel is not None
    assert (channel.active, channel.inactive_reason) == (False, "left")
    (listing,) = texts(await bot.send("/channel", chat_id=OWNER))
    assert "No channel is connected" in listing
    await publish(bot, feed, [JUSTICE_ITEM])
    assert [call for call in await bot.deliver() if call.chat_id == CHANNEL] == []


async def test_a_channel_where_the_bot_lost_the_right_to_post_is_deactivated(
    bot: BotHarness,
) -> None:
    a_channel(bot)
    await connect(bot, "justice")
    await bot.app.process_update(
        bot.updates.membership_change(
            CHANNEL, old="administrator", new="administrator", chat_type="channel", can_post=False
        )
    )
    channel = await stored_chat(bot)
    assert channel is not None
    assert channel.active is False
    # Connecting it again once the right is back brings it back with its new choice.
    await connect(bot, "women")
    channel = await stored_chat(bot)
    assert channel is not None
    assert channel.active is True
    assert await channel_topics(bot) == {"justice", "women"}


async def test_a_channel_that_made_the_bot_an_admin_is_listed_before_it_is_connected(
    bot: BotHarness,
) -> None:
    a_channel(bot)
    await bot.app.process_update(
        bot.updates.membership_change(CHANNEL, old="left", new="administrator", chat_type="channel")
    )
    (listing,) = texts(await bot.send("/channel", chat_id=OWNER))
    # Anyone may add the bot to their own channel: until an owner connects it, it gets nothing,
    # not even the announcements to everyone.
    assert "<b>@psgnews</b>: no topics" in listing
    assert "announcements" not in listing
    async with bot.services.sessions.begin() as session:
        await broadcasts.create(
            session, audience="all", text="To everyone", scheduled_at=utcnow(), created_by=OWNER
        )
    assert [call.chat_id for call in await bot.deliver() if call.text == "To everyone"] == []
    # Connecting it starts from what it gets: nothing chosen yet.
    (question,) = sent(await bot.send("/channel @psgnews", chat_id=OWNER))
    marked = [b["callback_data"] for b in buttons(question) if b["text"].startswith("✓")]
    assert marked == []
