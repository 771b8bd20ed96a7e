"""Subscribing by topic in chat: keyboard toggles, commands, deep links, groups, membership."""

from __future__ import annotations

from sqlalchemy import select
from support.harness import BotHarness

from psgbot.chats import followed_topics
from psgbot.db.models import ALL_NEWS, Chat

GROUP = -100200300


async def followed(bot: BotHarness, chat_id: int = 4242) -> set[str]:
    async with bot.services.sessions() as session:
        return await followed_topics(session, chat_id)


def keyboard_of(call_params: dict) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [
        (button["text"], button.get("callback_data", ""))
        for row in call_params["reply_markup"]["inline_keyboard"]
        for button in row
    ]


async def test_subscribe_shows_every_topic_with_all_news_and_done(bot: BotHarness) -> None:
    (call,) = await bot.send("/subscribe")
    buttons = keyboard_of(call.params)
    data = [callback for _text, callback in buttons]
    assert data == [f"sub:t:{slug}" for slug in bot.services.taxonomy.slugs] + [
        "sub:all",
        "sub:ann",
        "sub:done",
    ]
    # Announcements from the PSG are on until turned off; no topic is chosen yet.
    assert [text for text, _ in buttons if text.startswith("✓")] == [
        "✓ 📣 Announcements from the PSG"
    ]


async def test_subscribe_toggles_topic(bot: BotHarness) -> None:
    calls = await bot.press("sub:t:justice", message_id=77)
    assert [call.method for call in calls] == ["answerCallbackQuery", "editMessageReplyMarkup"]
    marked = [
        text
        for text, data in keyboard_of(calls[1].params)
        if text.startswith("✓") and data.startswith("sub:t:")  # not the announcements toggle
    ]
    assert marked == ["✓ ⚖️ Justice"]
    assert await followed(bot) == {"justice"}
    await bot.press("sub:t:justice", message_id=77)
    assert await followed(bot) == set()


async def test_all_news_and_done(bot: BotHarness) -> None:
    await bot.press("sub:all")
    await bot.press("sub:t:women")
    calls = await bot.press("sub:done")
    assert await followed(bot) == {ALL_NEWS, "women"}
    edit = calls[-1]
    assert edit.method == "editMessageText"
    assert "all news" in (edit.text or "")
    assert "Women" in (edit.text or "")
    assert keyboard_of(edit.params) == [("📰 See the latest now", "sub:latest")]
    latest = await bot.press("sub:latest")
    assert "Fujimoristas vote" in (latest[-1].text or "")


async def test_subscribe_by_name_is_accent_and_case_insensitive(bot: BotHarness) -> None:
    (call,) = await bot.send("/subscribe MINERÍA")
    assert await followed(bot) == {"extractives"}
    assert "Mining, oil and gas" in (call.text or "")
    assert keyboard_of(call.params) == [("📰 See the latest now", "latest:extractives")]
    calls = await bot.press("latest:extractives")
    assert "Lower copper prices" in (calls[-1].text or "")


async def test_subscribe_unknown_topic_lists_valid_ones(bot: BotHarness) -> None:
    (text,) = await bot.reply_texts("/subscribe basketball")
    assert "basketball" in text
    # The topics by the names the chat reads (each is accepted as typed).
    assert "Mining, oil and gas · Environment" in text
    assert "/subscribe mining" in text
    assert await followed(bot) == set()


async def test_unsubscribe_one_and_all_and_mysubs(bot: BotHarness) -> None:
    await bot.send("/subscribe justice")
    await bot.send("/subscribe economy")
    (text,) = await bot.reply_texts("/mysubs")
    assert "Justice" in text
    assert "Economy" in text
    (text,) = await bot.reply_texts("/unsubscribe justice")
    assert "Unsubscribed from <b>Justice</b>" in text
    assert "Economy" in text
    assert await followed(bot) == {"economy"}
    await bot.send("/unsubscribe all")
    assert await followed(bot) == set()
    (text,) = await bot.reply_texts("/mysubs")
    assert "No subscriptions yet" in text


async def test_unsubscribe_without_topic_shows_keyboard(bot: BotHarness) -> None:
    # It used to show /subscribe's toggles (issue 19: they subscribed too); it now offers only
    # what the chat follows, to remove.
    await bot.send("/subscribe justice")
    (call,) = await bot.send("/unsubscribe")
    assert keyboard_of(call.params) == [("✖ ⚖️ Justice", "unsub:k:justice"), ("Done", "sub:done")]


async def test_unsubscribe_keyboard_only_removes(bot: BotHarness) -> None:
    await bot.send("/subscribe justice")
    await bot.send("/subscribe politics")
    (call,) = await bot.send("/unsubscribe")
    offered = [data for _text, data in keyboard_of(call.params)]
    assert not any(data.startswith("sub:t:") for data in offered)
    assert "unsub:k:economy" not in offered
    calls = await bot.press("unsub:k:politics", message_id=78)
    assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageReplyMarkup"]
    assert calls[0].params["text"] == "Removed Politics."
    assert keyboard_of(calls[1].params) == [
        ("✖ ⚖️ Justice", "unsub:k:justice"),
        ("Done", "sub:done"),
    ]
    assert await followed(bot) == {"justice"}
    # Pressed again (a double tap), the removed topic stays removed.
    await bot.press("unsub:k:politics", message_id=78)
    assert await followed(bot) == {"justice"}
    calls = await bot.press("unsub:k:justice", message_id=78)
    assert calls[-1].method == "editMessageText"
    assert await followed(bot) == set()
    (text,) = await bot.reply_texts("/unsubscribe")
    assert "no topic alerts" in text


async def test_unsubscribe_from_a_topic_not_followed_says_so(bot: BotHarness) -> None:
    await bot.send("/subscribe justice")
    (text,) = await bot.reply_texts("/unsubscribe health")
    assert "weren't subscribed to <b>Health</b>" in text
    assert "Unsubscribed" not in text
    assert await followed(bot) == {"justice"}


async def test_subscribing_twice_says_already_subscribed(bot: BotHarness) -> None:
    (first,) = await bot.reply_texts("/subscribe justice")
    assert "✓ Subscribed to <b>Justice</b>" in first
    (second,) = await bot.reply_texts("/subscribe justice")
    assert "already subscribed to <b>Justice</b>" in second
    assert "✓ Subscribed" not in second


async def test_unknown_topic_hints_name_the_command_used(bot: BotHarness) -> None:
    for command in ("/subscribe foo", "/unsubscribe x", "/start topic-xyz"):
        texts = await bot.reply_texts(command, chat_id=4400)
        verb = "unsubscribe" if "unsubscribe" in command else "subscribe"
        assert any(f"Try /{verb} mining" in text for text in texts), command
        assert not any("/latest 10" in text or "newest items" in text for text in texts), command


async def test_stop_acts_at_once_and_offers_undo(bot: BotHarness) -> None:
    # /stop used to ask first and then drop the subscriptions only; it now stops everything at
    # once, keeps the choices for Undo (tests/bot/test_privacy.py covers what stops).
    await bot.send("/subscribe justice")
    (call,) = await bot.send("/stop")
    assert "Stopped" in (call.text or "")
    assert [data for _t, data in keyboard_of(call.params)] == ["stop:undo"]
    calls = await bot.press("stop:undo")
    assert "Undone" in (calls[-1].text or "")
    assert await followed(bot) == {"justice"}
    # The old confirmation's buttons, still in chats' history, keep working.
    await bot.press("stop:no")
    calls = await bot.press("stop:yes")
    assert "Stopped" in (calls[-1].text or "")


async def test_deep_link_subscribes_on_start(bot: BotHarness) -> None:
    # A new supporter used to get only "✓ Subscribed" (issue 19): now the welcome and the main
    # menu come first; someone who has been here before gets just the subscription.
    welcome, subscribed = await bot.send("/start topic-mining")
    assert "Peru Support Group" in (welcome.text or "")
    assert "menu:latest" in str(welcome.params["reply_markup"])
    assert "Subscribed to <b>Mining, oil and gas</b>" in (subscribed.text or "")
    assert await followed(bot) == {"extractives"}
    (text,) = await bot.reply_texts("/start topic-justice")
    assert "Subscribed to <b>Justice</b>" in text


async def test_group_members_who_are_not_admins_are_refused(bot: BotHarness) -> None:
    bot.api.chat_members[(GROUP, 7)] = "member"
    (text,) = await bot.reply_texts(
        "/subscribe justice", chat_id=GROUP, chat_type="supergroup", user_id=7
    )
    assert "Only this group's administrators" in text
    calls = await bot.press("sub:t:justice", chat_id=GROUP, chat_type="supergroup", user_id=7)
    assert calls[-1].method == "answerCallbackQuery"
    assert "Only this group's administrators" in calls[-1].params["text"]
    assert await followed(bot, GROUP) == set()
    assert any(call.method == "getChatMember" for call in bot.api.calls)


async def test_group_admins_may_subscribe_the_group(bot: BotHarness) -> None:
    bot.api.chat_members[(GROUP, 8)] = "administrator"
    await bot.send("/subscribe justice", chat_id=GROUP, chat_type="supergroup", user_id=8)
    assert await followed(bot, GROUP) == {"justice"}


async def chat_row(bot: BotHarness, chat_id: int) -> Chat | None:
    async with bot.services.sessions() as session:
        return await session.scalar(select(Chat).where(Chat.id == chat_id))


async def test_blocked_and_unblocked_bot_marks_chat(bot: BotHarness) -> None:
    await bot.send("/subscribe justice")
    await bot.app.process_update(bot.updates.membership_change(4242, old="member", new="kicked"))
    chat = await chat_row(bot, 4242)
    assert chat is not None
    assert not chat.active
    await bot.app.process_update(bot.updates.membership_change(4242, old="kicked", new="member"))
    chat = await chat_row(bot, 4242)
    assert chat is not None
    assert chat.active
    assert await followed(bot) == {"justice"}


async def test_bot_added_to_group_and_removed(bot: BotHarness) -> None:
    await bot.app.process_update(
        bot.updates.membership_change(GROUP, old="left", new="member", chat_type="supergroup")
    )
    chat = await chat_row(bot, GROUP)
    assert chat is not None
    assert chat.active
    assert chat.type == "supergroup"
    await bot.app.process_update(
        bot.updates.membership_change(GROUP, old="member", new="left", chat_type="supergroup")
    )
    chat = await chat_row(bot, GROUP)
    assert chat is not None
    assert not chat.active


async def test_bot_added_to_a_group_greets_it_with_setup_steps(bot: BotHarness) -> None:
    sent_before = len(bot.api.sent())
    await bot.app.process_update(
        bot.updates.membership_change(GROUP, old="left", new="member", chat_type="supergroup")
    )
    (greeting,) = bot.api.texts(GROUP)
    assert "Peru Support Group" in greeting
    assert "administrators" in greeting
    assert "/subscribe" in greeting
    # Promoted to administrator later, or a private chat unblocking the bot: no second greeting.
    await bot.app.process_update(
        bot.updates.membership_change(
            GROUP, old="member", new="administrator", chat_type="supergroup"
        )
    )
    await bot.app.process_update(bot.updates.membership_change(4242, old="kicked", new="member"))
    assert len(bot.api.sent()) == sent_before + 1


async def test_an_unknown_topic_in_spanish_names_the_topics_and_the_command_in_spanish(
    bot: BotHarness,
) -> None:
    for typed, example in (("/suscribir abc", "/suscribir"), ("/baja abc", "/baja")):
        (reply,) = await bot.reply_texts(typed, language_code="es-PE")
        assert f"Prueba {example} mineria" in reply, typed
        assert "Justicia" in reply, typed
        assert "human-rights" not in reply, typed
