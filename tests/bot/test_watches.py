"""Keyword watches in chat: /watch, /unwatch, /watches and its buttons, bad input, groups,
and what /mydata, /forget and a group's migration do with watches."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from support.harness import BotHarness

from psgbot.chats import migrate
from psgbot.db.models import Watch
from psgbot.watches import add_watch

CHAT = 4242
GROUP = -100300400


def buttons(call: Any) -> list[tuple[str, str]]:
    markup = call.params.get("reply_markup") or {"inline_keyboard": []}
    return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


async def phrases(bot: BotHarness, chat_id: int = CHAT) -> list[str]:
    async with bot.services.reads() as session:
        return list(
            await session.scalars(
                select(Watch.phrase).where(Watch.chat_id == chat_id).order_by(Watch.id)
            )
        )


async def test_watch_list_and_unwatch_in_any_case_or_accents(bot: BotHarness) -> None:
    (added,) = await bot.reply_texts("/watch Tía María")
    assert "Watching “<b>Tía María</b>”" in added
    assert "1 of 20 watches used" in added
    (quoted,) = await bot.reply_texts('/watch "Las Bambas (mine)+"')
    assert "Watching “<b>Las Bambas (mine)+</b>”" in quoted
    (call,) = await bot.send("/watches")
    text = call.text or ""
    assert "This chat watches 2 phrases" in text
    assert "• Tía María\n• Las Bambas (mine)+" in text
    assert [label for label, _data in buttons(call)] == ["✖ Tía María", "✖ Las Bambas (mine)+"]
    (removed,) = await bot.reply_texts("/unwatch TIA MARIA")
    assert "Stopped watching “<b>Tía María</b>”" in removed
    assert "still watches 1 phrase" in removed
    assert await phrases(bot) == ["Las Bambas (mine)+"]
    await bot.send("/unwatch las bambas (MINE)+")
    (empty,) = await bot.reply_texts("/watches")
    assert "This chat watches nothing yet" in empty
    assert "/watch Las Bambas" in empty


async def test_bad_input_gets_a_short_reply_with_an_example(bot: BotHarness) -> None:
    (usage,) = await bot.reply_texts("/watch")
    assert "e.g. /watch Las Bambas" in usage
    (long,) = await bot.reply_texts("/watch " + "x" * 101)
    assert "at most 100 characters" in long
    assert "e.g. /watch Las Bambas" in long
    (no_words,) = await bot.reply_texts("/watch ( ) +")
    assert "at least one word" in no_words
    assert await phrases(bot) == []
    await bot.send("/watch " + "y" * 100)  # exactly the limit
    await bot.send("/watch Tía María")
    (duplicate,) = await bot.reply_texts("/watch tia MARIA")
    assert "already watches “<b>Tía María</b>”" in duplicate
    (absent,) = await bot.reply_texts("/unwatch Conga")
    assert "doesn't watch “<b>Conga</b>”" in absent
    assert "e.g. /unwatch Las Bambas" in absent
    assert await phrases(bot) == ["y" * 100, "Tía María"]


async def test_a_chat_may_have_twenty_watches(bot: BotHarness) -> None:
    await bot.send("/start")
    # Eighteen set up directly: a user sending them all would be throttled (20 a minute).
    async with bot.services.sessions.begin() as session:
        for n in range(18):
            await add_watch(session, CHAT, f"mine {n}", datetime.now(UTC))
    (nineteenth,) = await bot.reply_texts("/watch Conga")
    assert "19 of 20 watches used" in nineteenth
    (twentieth,) = await bot.reply_texts("/watch Tía María")
    assert "20 of 20 watches used" in twentieth
    (too_many,) = await bot.reply_texts("/watch Espinar")
    assert "already has 20 watches" in too_many
    assert "/unwatch Las Bambas" in too_many
    # A duplicate is still called one, not one too many.
    (duplicate,) = await bot.reply_texts("/watch CONGA")
    assert "already watches “<b>Conga</b>”" in duplicate
    assert len(await phrases(bot)) == 20
    assert "Espinar" not in await phrases(bot)
    # Whole words: "mine 1" is not "mine 10".
    await bot.send("/unwatch mine 1")
    assert "mine 10" in await phrases(bot)
    assert "mine 1" not in await phrases(bot)
    (room,) = await bot.reply_texts("/watch Espinar")
    assert "20 of 20 watches used" in room


async def test_unwatch_alone_lists_the_watches(bot: BotHarness) -> None:
    (nothing,) = await bot.reply_texts("/unwatch")
    assert "watches nothing" in nothing
    assert "/watch Las Bambas" in nothing
    await bot.send("/watch Conga\x00")  # PostgreSQL refuses NUL in text: it is dropped
    (call,) = await bot.send("/unwatch")
    assert [label for label, _data in buttons(call)] == ["✖ Conga"]


async def test_the_remove_button_removes_its_watch_and_redraws_the_list(bot: BotHarness) -> None:
    await bot.send("/watch Conga")
    await bot.send("/watch Tía María")
    (listing,) = await bot.send("/watches")
    (conga, tia) = [data for _label, data in buttons(listing)]
    calls = await bot.press(conga, message_id=55)
    assert [call.method for call in calls] == ["answerCallbackQuery", "editMessageText"]
    assert calls[0].params["text"] == "Stopped watching “Conga”."
    assert "This chat watches 1 phrase" in (calls[1].text or "")
    assert buttons(calls[1]) == [("✖ Tía María", tia)]
    assert await phrases(bot) == ["Tía María"]
    # Pressed again (a double tap), it says so and changes nothing.
    (again,) = await bot.press(conga, message_id=55)
    assert again.params["text"] == "That watch was already removed."
    # Another chat's list cannot remove this chat's watch.
    (other,) = await bot.press(tia, chat_id=5151)
    assert other.params["text"] == "That watch was already removed."
    assert await phrases(bot) == ["Tía María"]
    calls = await bot.press(tia, message_id=55)
    assert "This chat watches nothing yet" in (calls[-1].text or "")
    assert buttons(calls[-1]) == []


async def test_in_groups_only_administrators_change_watches(bot: BotHarness) -> None:
    bot.api.chat_members[(GROUP, 7)] = "member"
    bot.api.chat_members[(GROUP, 8)] = "administrator"
    group: dict[str, Any] = {"chat_id": GROUP, "chat_type": "supergroup"}
    (refused,) = await bot.reply_texts("/watch Conga", user_id=7, **group)
    assert "Only this group's administrators" in refused
    await bot.send("/watch Conga", user_id=8, **group)
    (listing,) = await bot.send("/watches", user_id=7, **group)  # anyone may look
    assert "• Conga" in (listing.text or "")
    ((_label, data),) = buttons(listing)
    (refused_press,) = [
        call
        for call in await bot.press(data, user_id=7, **group)
        if call.method == "answerCallbackQuery"
    ]
    assert "Only this group's administrators" in refused_press.params["text"]
    (refused,) = await bot.reply_texts("/unwatch Conga", user_id=7, **group)
    assert "Only this group's administrators" in refused
    assert await phrases(bot, GROUP) == ["Conga"]
    await bot.press(data, user_id=8, **group)
    assert await phrases(bot, GROUP) == []


async def test_mydata_shows_and_forget_deletes_watches(bot: BotHarness) -> None:
    await bot.send("/watch Tía María")
    await bot.send("/watch Conga", chat_id=5151)
    (call,) = await bot.send("/mydata")
    (document,) = call.files.values()
    record = json.loads(document)
    assert [entry["phrase"] for entry in record["watches"]] == ["Tía María"]
    assert "• Watching: Tía María" in (call.text or "")
    await bot.send("/forget")
    await bot.press("forget:yes")
    assert await phrases(bot) == []
    assert await phrases(bot, 5151) == ["Conga"]
    (listing,) = await bot.reply_texts("/watches")
    assert "watches nothing yet" in listing


async def test_a_group_that_becomes_a_supergroup_keeps_its_watches(bot: BotHarness) -> None:
    old, new = -4001, -1004001
    bot.api.chat_members[(old, 8)] = "administrator"
    await bot.send("/watch Conga", chat_id=old, chat_type="group", user_id=8)
    async with bot.services.sessions.begin() as session:
        await migrate(session, old, new)
    (listing,) = await bot.reply_texts("/watches", chat_id=new, chat_type="supergroup")
    assert "• Conga" in listing
