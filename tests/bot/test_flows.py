"""Guided flows keep their state in one typed value under one key; /cancel drops it."""

from __future__ import annotations

from typing import Any

from conftest import OWNER
from support.harness import BotHarness

from psgbot.bot.broadcast_draft import BroadcastDraft
from psgbot.bot.event_draft import EventDraft
from psgbot.bot.text_edit import TextEdit


def flow_state(bot: BotHarness) -> dict[Any, Any]:
    return dict(bot.app.user_data.get(OWNER, {}))


async def test_broadcast_draft_survives_the_flow_and_cancel_clears_it(bot: BotHarness) -> None:
    await bot.send("/broadcast", chat_id=OWNER)
    await bot.press("adm:bc:aud:all", chat_id=OWNER)
    await bot.send("Hello supporters", chat_id=OWNER)
    await bot.press("adm:bc:urgent", chat_id=OWNER)
    state = flow_state(bot)
    assert list(state) == ["broadcast"]
    draft = state["broadcast"]
    assert isinstance(draft, BroadcastDraft)
    assert (draft.audience, draft.text, draft.urgent) == ("all", "Hello supporters", True)
    assert await bot.reply_texts("/cancel", chat_id=OWNER) == ["Cancelled."]
    assert flow_state(bot) == {}


async def test_event_draft_survives_the_flow_and_cancel_clears_it(bot: BotHarness) -> None:
    await bot.send("/addevent", chat_id=OWNER)
    await bot.send("Vigil for Peru", chat_id=OWNER)
    state = flow_state(bot)
    assert list(state) == ["event"]
    draft = state["event"]
    assert isinstance(draft, EventDraft)
    assert (draft.step, draft.values) == (1, {"title": "Vigil for Peru"})
    assert await bot.reply_texts("/cancel", chat_id=OWNER) == ["Cancelled."]
    assert flow_state(bot) == {}


async def test_text_edit_survives_the_flow_and_saving_clears_it(bot: BotHarness) -> None:
    await bot.send("/edit aims", chat_id=OWNER)
    await bot.send("Our new aims", chat_id=OWNER)
    (edit,) = flow_state(bot).values()
    assert edit == TextEdit(name="aims", body="Our new aims")
    await bot.press("adm:edit:save", chat_id=OWNER)
    assert flow_state(bot) == {}


async def test_another_flow_while_one_is_open_asks_before_abandoning_it(bot: BotHarness) -> None:
    """Issue 19, point 7 (this test used to accept two flows open at once): /addevent during a
    broadcast asks; Keep editing leaves the broadcast as it was; Abandon starts /addevent."""
    await bot.send("/broadcast", chat_id=OWNER)
    await bot.press("adm:bc:aud:all", chat_id=OWNER)
    (question,) = await bot.send("/addevent", chat_id=OWNER)
    assert question.text == "You are still writing a broadcast. Abandon it and start /addevent?"
    labels = [row[0]["text"] for row in question.params["reply_markup"]["inline_keyboard"]]
    assert labels == ["Abandon and start /addevent", "Keep editing"]
    assert list(flow_state(bot)) == ["broadcast", "pending"]
    kept = await bot.press("adm:flow:keep", chat_id=OWNER)
    assert "Carry on writing a broadcast" in (kept[-1].text or "")
    calls = await bot.send("Hello supporters", chat_id=OWNER)
    assert "Preview" in (calls[-1].text or "")
    await bot.send("/addevent", chat_id=OWNER)
    calls = await bot.press("adm:flow:abandon", chat_id=OWNER)
    texts = [call.text for call in calls if call.text]
    assert "Stopped writing a broadcast" in (texts[0] or "")
    assert "title" in (texts[1] or "")
    assert list(flow_state(bot)) == ["event"]
    await bot.send("Vigil for Peru", chat_id=OWNER)
    assert flow_state(bot)["event"].values == {"title": "Vigil for Peru"}


async def test_the_same_flow_again_asks_instead_of_i_dont_know(bot: BotHarness) -> None:
    await bot.send("/broadcast", chat_id=OWNER)
    (question,) = await bot.reply_texts("/broadcast", chat_id=OWNER)
    assert "I don't know" not in question
    assert question == "You are still writing a broadcast. Abandon it and start /broadcast?"
    calls = await bot.press("adm:flow:abandon", chat_id=OWNER)
    assert "Who should receive it?" in (calls[-1].text or "")


async def test_edit_with_arguments_starts_after_abandoning(bot: BotHarness) -> None:
    await bot.send("/addevent", chat_id=OWNER)
    await bot.send("/edit aims", chat_id=OWNER)
    calls = await bot.press("adm:flow:abandon", chat_id=OWNER)
    assert "That is /aims now" in (calls[-1].text or "")
    assert list(flow_state(bot)) == ["edit"]


async def test_cancel_answers_once_whatever_was_started(bot: BotHarness) -> None:
    await bot.send("/broadcast", chat_id=OWNER)
    await bot.send("/addevent", chat_id=OWNER)
    await bot.send("/edit aims", chat_id=OWNER)
    assert await bot.reply_texts("/cancel", chat_id=OWNER) == ["Cancelled."]
    assert flow_state(bot) == {}
    assert await bot.reply_texts("/cancel", chat_id=OWNER) == ["Nothing to cancel."]
    stale = await bot.press("adm:flow:abandon", chat_id=OWNER)
    assert "no longer active" in stale[-1].params["text"]


async def test_an_old_abandon_button_does_not_end_a_newer_flow(bot: BotHarness) -> None:
    await bot.send("/broadcast", chat_id=OWNER)
    await bot.send("/addevent", chat_id=OWNER)
    await bot.send("/cancel", chat_id=OWNER)
    await bot.send("/edit aims", chat_id=OWNER)
    calls = await bot.press("adm:flow:abandon", chat_id=OWNER)
    assert calls[-1].text == "This question is no longer open."
    assert list(flow_state(bot)) == ["edit"]
