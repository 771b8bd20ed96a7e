"""Forum topics: in a supergroup with topics, /subscribe typed in a thread (or its keyboard's
topics chosen there) sends that topic's alerts to the thread; elsewhere they go to the General
topic; a deleted thread falls back."""

from __future__ import annotations

from support.feed_server import FeedServer, Response
from support.feeds import HISTORY, FeedItem, recent, rss
from support.harness import BotHarness
from support.transport import THREAD_NOT_FOUND

from psgbot.chats import followed_threads
from psgbot.feeds.poll import poll_source
from psgbot.offline import ApiCall

FORUM = -100555666
ADMIN, MEMBER = 8, 7
MINES, COURTS = 5, 7  # the forum's threads
JUSTICE = FeedItem("f-1", "Court annuls the pardon", "A ruling.", "https://n.example/f1", recent())
ECONOMY = FeedItem("f-2", "Copper prices rise", "The bank.", "https://n.example/f2", recent())
COURT_AGAIN = FeedItem("f-3", "Court rules again", "Judges.", "https://n.example/f3", recent())


def a_forum(bot: BotHarness) -> None:
    bot.api.chat_types[FORUM] = "supergroup"
    bot.api.forums[FORUM] = {MINES, COURTS}
    bot.api.chat_members[(FORUM, ADMIN)] = "administrator"
    bot.api.chat_members[(FORUM, MEMBER)] = "member"


async def type_in(bot: BotHarness, text: str, thread: int | None, user: int = ADMIN) -> ApiCall:
    calls = await bot.send(
        text, chat_id=FORUM, chat_type="supergroup", user_id=user, forum=True, thread_id=thread
    )
    (reply,) = [call for call in calls if call.method == "sendMessage"]
    return reply


async def publish(bot: BotHarness, server: FeedServer, items: list[FeedItem]) -> None:
    server.routes["/feed"] = Response(rss(items + HISTORY))
    await poll_source(bot.services, server.url("/feed"))


def alerts(calls: list[ApiCall]) -> dict[str, int | None]:
    """Each alert to the forum by its item's title: the thread it went to (None: General)."""
    found = {}
    for call in calls:
        if call.method == "sendMessage" and call.chat_id == FORUM:
            text = call.text or ""
            title = next(t for t in ("Court annuls", "Copper", "Court rules") if t in text)
            found[title] = call.params.get("message_thread_id")
    return found


async def threads(bot: BotHarness) -> dict[str, int | None]:
    async with bot.services.sessions() as session:
        return await followed_threads(session, FORUM)


async def test_a_topic_subscribed_in_a_thread_is_alerted_there(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    a_forum(bot)
    reply = await type_in(bot, "/subscribe justice", COURTS)
    # The answer is in the thread it was typed in.
    assert reply.params["message_thread_id"] == COURTS
    assert "Subscribed to <b>Justice</b>" in (reply.text or "")
    # Typed in the General topic: its alerts go there.
    reply = await type_in(bot, "/subscribe economy", None)
    assert "message_thread_id" not in reply.params
    # Members of the group may not choose for it, in a thread or not.
    refused = await type_in(bot, "/subscribe women", MINES, user=MEMBER)
    assert "Only this group's administrators" in (refused.text or "")
    assert await threads(bot) == {"justice": COURTS, "economy": None}

    bot.api.clear()
    await publish(bot, feed_server, [JUSTICE, ECONOMY])
    assert alerts(await bot.deliver()) == {"Court annuls": COURTS, "Copper": None}

    # Subscribing again in another thread moves the topic there.
    reply = await type_in(bot, "/subscribe justice", MINES)
    assert "Subscribed to <b>Justice</b>" in (reply.text or "")
    await publish(bot, feed_server, [COURT_AGAIN, JUSTICE, ECONOMY])
    assert alerts(await bot.deliver()) == {"Court rules": MINES}


async def press_in(bot: BotHarness, data: str, thread: int | None, user: int = ADMIN) -> None:
    """A button pressed under the bot's message in a thread of the forum (None: General)."""
    await bot.press(
        data, chat_id=FORUM, chat_type="supergroup", user_id=user, forum=True, thread_id=thread
    )


async def test_topics_chosen_on_the_keyboard_in_a_thread_are_alerted_there(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    a_forum(bot)
    # The keyboard comes in the thread /subscribe was typed in.
    keyboard = await type_in(bot, "/subscribe", COURTS)
    assert keyboard.params["message_thread_id"] == COURTS
    assert "reply_markup" in keyboard.params
    await press_in(bot, "sub:t:justice", COURTS)
    await press_in(bot, "sub:t:economy", None)  # the keyboard of a /subscribe in General
    await press_in(bot, "sub:t:women", MINES, user=MEMBER)  # refused: not an admin
    assert await threads(bot) == {"justice": COURTS, "economy": None}

    bot.api.clear()
    await publish(bot, feed_server, [JUSTICE, ECONOMY])
    assert alerts(await bot.deliver()) == {"Court annuls": COURTS, "Copper": None}
    # Tapped again, the topic is dropped, wherever it went.
    await press_in(bot, "sub:t:justice", MINES)
    assert await threads(bot) == {"economy": None}


async def test_the_menus_get_alerts_in_a_thread_brings_the_keyboard_there(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    a_forum(bot)
    calls = await bot.press(
        "menu:subscribe",
        chat_id=FORUM,
        chat_type="supergroup",
        user_id=ADMIN,
        forum=True,
        thread_id=COURTS,
    )
    (keyboard,) = [call for call in calls if call.method == "sendMessage"]
    assert keyboard.params["message_thread_id"] == COURTS
    assert "reply_markup" in keyboard.params
    # Pressed in General, it comes in General.
    calls = await bot.press(
        "menu:subscribe", chat_id=FORUM, chat_type="supergroup", user_id=ADMIN, forum=True
    )
    (keyboard,) = [call for call in calls if call.method == "sendMessage"]
    assert "message_thread_id" not in keyboard.params
    await press_in(bot, "sub:t:justice", COURTS)
    assert await threads(bot) == {"justice": COURTS}


async def test_a_deleted_thread_falls_back_to_the_general_topic_once(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    a_forum(bot)
    await type_in(bot, "/subscribe justice", COURTS)
    bot.api.forums[FORUM].discard(COURTS)  # an admin deleted the thread
    bot.api.clear()
    await publish(bot, feed_server, [JUSTICE])
    calls = await bot.deliver()
    refused = [
        (call.params.get("message_thread_id"), error.description)
        for call, error in bot.api.failed_calls
    ]
    assert refused == [(COURTS, THREAD_NOT_FOUND)]
    assert alerts(calls) == {"Court annuls": None}
    assert await threads(bot) == {"justice": None}
    # From then on the topic's alerts go straight to the General topic.
    bot.api.clear()
    await publish(bot, feed_server, [COURT_AGAIN, JUSTICE])
    assert alerts(await bot.deliver()) == {"Court rules": None}
    assert bot.api.failed_calls == []


async def test_a_reply_thread_outside_a_forum_is_not_a_topic(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    """In a supergroup without topics, a message in a chain of replies carries the chain's
    message_thread_id but is no topic message: alerts go to the group itself."""
    group = -100777888
    bot.api.chat_types[group] = "supergroup"
    bot.api.chat_members[(group, ADMIN)] = "administrator"
    await bot.send(
        "/subscribe justice", chat_id=group, chat_type="supergroup", user_id=ADMIN, thread_id=4321
    )
    bot.api.clear()
    await publish(bot, feed_server, [JUSTICE])
    (alert,) = [call for call in await bot.deliver() if call.chat_id == group]
    assert "message_thread_id" not in alert.params
    assert bot.api.failed_calls == []
    async with bot.services.sessions() as session:
        assert await followed_threads(session, group) == {"justice": None}
