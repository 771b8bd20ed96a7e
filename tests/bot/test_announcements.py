"""Announcements (issue 15): ordinary broadcasts arrive without a sound, urgent ones with it, and
an urgent one may be pinned in the groups it reaches. Through the real Application, the outbox,
the dispatcher and the recording transport (which pins only what Telegram would)."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import OWNER
from sqlalchemy import select, update
from support.broadcasts import asyncio_subprocess, compose, latest_broadcast, send_now
from support.chats import add_chats as insert_chats
from support.clock import fixed
from support.harness import BotHarness
from support.transport import NO_PIN_RIGHTS

from psgbot.bot.broadcast import update_progress
from psgbot.db.models import Chat, Delivery
from psgbot.db.types import utcnow
from psgbot.offline import ApiCall
from psgbot.offline_updates import BOT_USER

PIN_BUTTON = "Pin in groups"


async def add_chats(
    bot: BotHarness,
    ids: list[int],
    *,
    supergroups: tuple[int, ...] = (),
    admin_in: tuple[int, ...] = (),
) -> None:
    """Private chats for positive ids, groups for negative ones (``supergroups`` among them).
    The bot is an administrator (who may pin) in the groups of ``admin_in``, a member in the
    others, as when a group adds it and does not promote it."""
    async with bot.services.sessions.begin() as session:
        await insert_chats(session, ids)
        await session.execute(
            update(Chat).where(Chat.id.in_(supergroups)).values(type="supergroup")
        )
    for group in admin_in:
        bot.api.chat_members[(group, BOT_USER["id"])] = "administrator"
    for group in supergroups:
        bot.api.chat_types[group] = "supergroup"


def buttons(call: ApiCall) -> str:
    return json.dumps(call.params.get("reply_markup"), ensure_ascii=False)


def messages(calls: list[ApiCall]) -> list[ApiCall]:
    return [call for call in calls if call.method in ("sendMessage", "sendPhoto")]


def pins(calls: list[ApiCall]) -> list[ApiCall]:
    return [call for call in calls if call.method == "pinChatMessage"]


async def test_an_ordinary_broadcast_arrives_silently_and_an_urgent_one_notifies(
    bot: BotHarness,
) -> None:
    await add_chats(bot, [1, 2, -10], admin_in=(-10,))
    await compose(bot, text="AGM on Saturday")
    await send_now(bot)
    ordinary = messages(await bot.deliver())
    assert sorted(int(call.chat_id or 0) for call in ordinary) == [-10, 1, 2]
    assert all(call.params.get("disable_notification") is True for call in ordinary)

    await compose(bot, text="Our banner", photo="photo-file-1")
    await send_now(bot)
    photos = messages(await bot.deliver())
    assert {call.method for call in photos} == {"sendPhoto"}
    assert all(call.params.get("disable_notification") is True for call in photos)

    await compose(bot, text="Urgent: vigil tonight")
    await bot.press("adm:bc:urgent", chat_id=OWNER)
    await send_now(bot)
    urgent = messages(await bot.deliver())
    assert sorted(int(call.chat_id or 0) for call in urgent) == [-10, 1, 2]
    assert all("disable_notification" not in call.params for call in urgent)
    assert pins(bot.api.calls) == [], "nothing is pinned unless asked"


async def test_an_urgent_pinned_broadcast_is_pinned_in_groups_not_in_private_chats(
    bot: BotHarness,
) -> None:
    await add_chats(bot, [1, 2, -10, -11], supergroups=(-11,), admin_in=(-10, -11))
    await compose(bot, text="Urgent: vigil tonight")
    await bot.press("adm:bc:urgent", chat_id=OWNER)
    (preview,) = [c for c in await bot.press("adm:bc:pin", chat_id=OWNER) if c.text]
    assert "pinned in groups" in (preview.text or "")
    assert f"☑ {PIN_BUTTON}" in buttons(preview)
    (question,) = [c for c in await bot.press("adm:bc:send", chat_id=OWNER) if c.text]
    assert "marked urgent and pinned in groups" in (question.text or "")
    await bot.press("adm:bc:confirm", chat_id=OWNER)

    calls = await bot.deliver()
    sent = {int(call.chat_id or 0): call.result["message_id"] for call in messages(calls)}
    assert sorted(sent) == [-11, -10, 1, 2]
    assert all("disable_notification" not in call.params for call in messages(calls))
    assert sorted(int(call.chat_id or 0) for call in pins(calls)) == [-11, -10]
    assert all(call.params["disable_notification"] is False for call in pins(calls))
    assert bot.api.pinned == {-10: sent[-10], -11: sent[-11]}
    broadcast = await latest_broadcast(bot)
    assert broadcast.urgent
    assert broadcast.pin


async def test_a_refused_pin_leaves_the_message_delivered_and_is_not_retried(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    # -10 made the bot an administrator; -11 added it as a member; -12 made it an administrator
    # but took away the right to pin.
    await add_chats(bot, [1, -10, -11, -12], admin_in=(-10, -12))
    bot.api.cannot_pin.add(-12)
    await compose(bot, text="Urgent: vigil tonight")
    await bot.press("adm:bc:urgent", chat_id=OWNER)
    await bot.press("adm:bc:pin", chat_id=OWNER)
    await send_now(bot)
    with caplog.at_level(logging.WARNING, logger="psgbot.alerts.sender"):
        calls = await bot.deliver()
    sent = {int(call.chat_id or 0): call.result["message_id"] for call in messages(calls)}
    assert sorted(sent) == [-12, -11, -10, 1]
    assert all(call.params["text"] == "Urgent: vigil tonight" for call in messages(calls))
    assert bot.api.pinned == {-10: sent[-10]}
    refused = [call for call, error in bot.api.failed_calls if error.description == NO_PIN_RIGHTS]
    assert sorted(int(call.chat_id or 0) for call in refused) == [-12, -11]
    warnings = sorted(record.getMessage() for record in caplog.records)
    assert len(warnings) == 2
    assert "chat -11" in warnings[0]
    assert "chat -12" in warnings[1]
    assert all("not enough rights" in warning.lower() for warning in warnings)
    assert not any("vigil" in warning for warning in warnings)

    broadcast = await latest_broadcast(bot)
    async with bot.services.sessions() as session:
        statuses = list(
            await session.scalars(
                select(Delivery.status).where(Delivery.broadcast_id == broadcast.id)
            )
        )
    assert statuses == ["sent"] * 4
    assert await bot.deliver() == [], "neither the message nor the pin is tried again"
    bot.api.clear()
    await update_progress(bot.services, bot.app.bot, utcnow())
    (report,) = bot.api.calls
    assert "Delivered: 4" in (report.text or "")
    assert "Delivered but not pinned (no right to pin there): 2" in (report.text or "")


async def test_pin_in_groups_is_offered_only_while_urgent(bot: BotHarness) -> None:
    await add_chats(bot, [1, -10])
    (_intro,) = await bot.send("/broadcast", chat_id=OWNER)
    await bot.press("adm:bc:aud:all", chat_id=OWNER)
    preview = (await bot.send("Vigil tonight", chat_id=OWNER))[-1]
    assert PIN_BUTTON not in buttons(preview)
    assert "without a sound" in (preview.text or "")
    # A press from an older keyboard while Urgent is off is answered and changes nothing.
    stale = await bot.press("adm:bc:pin", chat_id=OWNER)
    assert [call.method for call in stale] == ["answerCallbackQuery"]

    (urgent,) = [c for c in await bot.press("adm:bc:urgent", chat_id=OWNER) if c.text]
    assert f"☐ {PIN_BUTTON}" in buttons(urgent)
    assert "pinned" not in (urgent.text or "")
    (pinned,) = [c for c in await bot.press("adm:bc:pin", chat_id=OWNER) if c.text]
    assert f"☑ {PIN_BUTTON}" in buttons(pinned)
    # Urgent off clears the pin; on again, the pin starts off.
    (ordinary,) = [c for c in await bot.press("adm:bc:urgent", chat_id=OWNER) if c.text]
    assert PIN_BUTTON not in buttons(ordinary)
    assert "pinned" not in (ordinary.text or "")
    (again,) = [c for c in await bot.press("adm:bc:urgent", chat_id=OWNER) if c.text]
    assert f"☐ {PIN_BUTTON}" in buttons(again)
    texts = await send_now(bot)
    assert not any("pinned in groups" in text for text in texts)
    assert pins(await bot.deliver()) == []
    broadcast = await latest_broadcast(bot)
    assert broadcast.urgent
    assert not broadcast.pin


async def test_command_line_pin_needs_urgent(
    bot: BotHarness, database_url: str, tmp_path: Path
) -> None:
    await add_chats(bot, [1, -10, -11], admin_in=(-10, -11))
    env = {key: value for key, value in os.environ.items() if not key.startswith("PSGBOT_")}
    env["PSGBOT_DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "psgbot", "broadcast", "--audience", "chat:-10"]
    command += ["--text", "Vigil tonight", "--at", "2099-01-01T10:00"]

    refused = await asyncio_subprocess([*command, "--pin"], env, tmp_path)
    assert refused.returncode == 2
    assert "--pin needs --urgent" in refused.stderr
    assert "queued" not in refused.stdout

    queued = await asyncio_subprocess([*command, "--urgent", "--pin"], env, tmp_path)
    assert queued.returncode == 0, queued.stderr
    assert "queued for chat:-10" in queued.stdout
    # Without a zone, --at is the PSG's time.
    due = datetime(2099, 1, 1, 10, 0, tzinfo=bot.services.settings.zone)
    assert await bot.deliver(clock=fixed(due - timedelta(minutes=1))) == []
    calls = await bot.deliver(clock=fixed(due))
    (message,) = messages(calls)
    assert (message.chat_id, message.params["text"]) == (-10, "Vigil tonight")
    assert "disable_notification" not in message.params, "urgent: with a sound"
    (pin,) = pins(calls)
    assert (pin.chat_id, pin.params["message_id"]) == (-10, message.result["message_id"])
    assert bot.api.pinned == {-10: message.result["message_id"]}
    assert await bot.deliver(clock=fixed(due + timedelta(days=1))) == [], "the refused one: none"
