"""A channel's language: nobody can send /language in a channel, so its posts are in the
language of the owner who connected it, and an owner changes it from /channel's list."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import OWNER
from support.feed_server import FeedServer, Response
from support.feeds import HISTORY, FeedItem, recent, rss
from support.harness import BotHarness

from psgbot.chats import deactivate
from psgbot.db.models import Chat
from psgbot.feeds.poll import poll_source
from psgbot.i18n import Language
from psgbot.offline import ApiCall
from psgbot.offline_updates import BOT_USER

CHANNEL = -1001234567890
EDITOR = 222
ESPANOL = {"language_code": "es"}
ENGLISH = {"language_code": "en"}


def story(n: int) -> FeedItem:
    return FeedItem(
        f"lang-{n}", f"Court annuls the pardon, part {n}", "A ruling.", f"https://n.example/{n}"
    )


def buttons(call: ApiCall) -> list[dict[str, Any]]:
    markup = call.params.get("reply_markup") or {"inline_keyboard": []}
    return [button for row in markup["inline_keyboard"] for button in row]


@pytest.fixture
async def feed(bot: BotHarness, feed_server: FeedServer) -> FeedServer:
    """A live feed, read once (a feed's first read alerts nothing), and @psgnews, a channel
    where the bot may post."""
    feed_server.routes["/feed"] = Response(rss(HISTORY))
    await poll_source(bot.services, feed_server.url("/feed"))
    bot.api.chat_types[CHANNEL] = "channel"
    bot.api.usernames["psgnews"] = CHANNEL
    bot.api.chat_members[(CHANNEL, BOT_USER["id"])] = "administrator"
    return feed_server


async def post_in_channel(bot: BotHarness, server: FeedServer, n: int) -> ApiCall:
    """Publishes a justice story; returns what the bot posted in the channel."""
    item = story(n)
    item.published = recent()
    server.routes["/feed"] = Response(rss([item, *HISTORY]))
    await poll_source(bot.services, server.url("/feed"))
    (post,) = [call for call in await bot.deliver() if call.chat_id == CHANNEL]
    assert f"part {n}" in (post.text or "")
    return post


async def connect(bot: BotHarness, topic: str = "justice", **owner: object) -> str:
    """Connects @psgnews, toggling ``topic``; returns the confirmation."""
    await bot.send("/channel @psgnews", chat_id=OWNER, **owner)
    await bot.press(f"adm:ch:t:{topic}", chat_id=OWNER, **owner)
    calls = await bot.press("adm:ch:done", chat_id=OWNER, **owner)
    (done,) = [call for call in calls if call.method == "editMessageText"]
    return done.text or ""


async def channel_language(bot: BotHarness) -> Language | None:
    async with bot.services.sessions() as session:
        chat = await session.get(Chat, CHANNEL)
    assert chat is not None
    return chat.language


async def test_a_spanish_owners_channel_posts_in_spanish_until_switched(
    bot: BotHarness, feed: FeedServer
) -> None:
    done = await connect(bot, **ESPANOL)
    assert "<b>@psgnews</b> está conectado" in done
    assert "Publicaré allí en <b>español</b>; puedes cambiarlo con /channel." in done
    assert await channel_language(bot) == Language.ES

    post = await post_in_channel(bot, feed, 1)
    assert "#justicia" in (post.text or "")
    assert buttons(post) == [{"text": "Leer más", "url": "https://n.example/1"}]

    # The list shows the language, with a button to switch, in the owner's language.
    calls = await bot.send("/channel", chat_id=OWNER, **ESPANOL)
    (listing,) = [call for call in calls if call.method == "sendMessage"]
    assert "<b>@psgnews</b>: <b>Justicia</b> (y los anuncios del PSG) · 🇪🇸 Español" in (
        listing.text or ""
    )
    assert buttons(listing) == [
        {"text": "@psgnews: cambiar a 🇬🇧 English", "callback_data": f"adm:ch:lang:{CHANNEL}.en"}
    ]
    calls = await bot.press(f"adm:ch:lang:{CHANNEL}.en", chat_id=OWNER, **ESPANOL)
    (answer,) = [call for call in calls if call.method == "answerCallbackQuery"]
    assert answer.params["text"] == "Ahora publico en inglés en @psgnews."
    (redrawn,) = [call for call in calls if call.method == "editMessageText"]
    assert "· 🇬🇧 English" in (redrawn.text or "")
    assert buttons(redrawn) == [
        {"text": "@psgnews: cambiar a 🇪🇸 Español", "callback_data": f"adm:ch:lang:{CHANNEL}.es"}
    ]
    assert await channel_language(bot) == Language.EN

    post = await post_in_channel(bot, feed, 2)
    assert "#justice" in (post.text or "")
    assert buttons(post) == [{"text": "Read more", "url": "https://n.example/2"}]

    # Connecting it again (to change its topics) keeps the language chosen for it.
    done = await connect(bot, "economy", **ESPANOL)
    assert "Publicaré allí en <b>inglés</b>" in done
    assert await channel_language(bot) == Language.EN


async def test_an_english_owners_channel_posts_in_english_and_only_owners_switch_it(
    bot: BotHarness, feed: FeedServer
) -> None:
    done = await connect(bot, **ENGLISH)
    assert "Its posts are in <b>English</b>; /channel changes that." in done
    post = await post_in_channel(bot, feed, 1)
    assert buttons(post) == [{"text": "Read more", "url": "https://n.example/1"}]

    await bot.send(f"/admins add {EDITOR}", chat_id=OWNER)
    calls = await bot.press(f"adm:ch:lang:{CHANNEL}.es", chat_id=EDITOR)
    (answer,) = [call for call in calls if call.method == "answerCallbackQuery"]
    assert answer.params["text"] == "Only the bot's owners can do this."
    assert await channel_language(bot) == Language.EN

    calls = await bot.press(f"adm:ch:lang:{CHANNEL}.es", chat_id=OWNER, **ENGLISH)
    (answer,) = [call for call in calls if call.method == "answerCallbackQuery"]
    assert answer.params["text"] == "Posts in @psgnews are now in Spanish."
    post = await post_in_channel(bot, feed, 2)
    assert buttons(post) == [{"text": "Leer más", "url": "https://n.example/2"}]

    # A button left from before the channel was disconnected changes nothing.
    await bot.send("/channel remove @psgnews", chat_id=OWNER)
    await bot.press(f"adm:ch:rm:{CHANNEL}", chat_id=OWNER)
    calls = await bot.press(f"adm:ch:lang:{CHANNEL}.en", chat_id=OWNER)
    (answer,) = [call for call in calls if call.method == "answerCallbackQuery"]
    assert answer.params["text"] == "That channel is no longer connected."
    (redrawn,) = [call for call in calls if call.method == "editMessageText"]
    assert "No channel is connected" in (redrawn.text or "")


async def test_a_stored_channel_that_is_no_longer_active_is_not_switched(
    bot: BotHarness, feed: FeedServer
) -> None:
    await connect(bot, **ENGLISH)
    calls = await bot.send("/channel", chat_id=OWNER, **ENGLISH)
    (listing,) = [call for call in calls if call.method == "sendMessage"]
    assert buttons(listing)  # the list's button, pressed after the bot lost the channel
    async with bot.services.sessions.begin() as session:
        await deactivate(session, CHANNEL, "kicked")
    calls = await bot.press(f"adm:ch:lang:{CHANNEL}.es", chat_id=OWNER, **ENGLISH)
    (answer,) = [call for call in calls if call.method == "answerCallbackQuery"]
    assert answer.params["text"] == "That channel is no longer connected."
    assert await channel_language(bot) == Language.EN
