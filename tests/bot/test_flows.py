"""Guided flows keep their state in one typed value under one key; /cancel drops it."""

from __future__ import annotations

from typing import Any

from conftest import OWNER
from support.harness import BotHarness

from psgbot.bot.broadcast_draft import BroadcastDraft
from psgbot.bot.event_admin import EventDraft
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


async def test_cancel_in_one_flow_leaves_another_flows_state(bot: BotHarness) -> None:
    await bot.send("/broadcast", chat_id=OWNER)
    await bot.send("/edit aims", chat_id=OWNER)
    assert set(flow_state(bot)) == {"broadcast", "edit"}
    await bot.send("/cancel", chat_id=OWNER)
    assert len(flow_state(bot)) == 1
