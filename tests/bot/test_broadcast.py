"""The broadcast flow through the real Application, the outbox and the dispatcher."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import OWNER
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker
from support.broadcasts import asyncio_subprocess, compose, latest_broadcast, send_now
from support.chats import add_chats as insert_chats
from support.harness import BotHarness
from support.transport import RecordingBotApi

from psgbot.app import build_application, running
from psgbot.bot.broadcast import update_progress
from psgbot.config import Settings
from psgbot.db.engine import create_engine
from psgbot.db.models import AuditEntry, Broadcast, Chat
from psgbot.db.types import utcnow
from psgbot.offline import ApiError
from psgbot.offline_updates import UpdateFactory
from psgbot.services import Services

BOLD = [{"type": "bold", "offset": 0, "length": 5}]


async def add_chats(bot: BotHarness, ids: range) -> None:
    async with bot.services.sessions.begin() as session:
        await insert_chats(session, ids)


async def test_send_now_reaches_every_chat_once_with_formatting(bot: BotHarness) -> None:
    await add_chats(bot, range(1, 31))
    (intro,) = await bot.send("/broadcast", chat_id=OWNER)
    assert "Everyone (30 chats)" in json.dumps(intro.params["reply_markup"], ensure_ascii=False)
    await bot.press("adm:bc:aud:all", chat_id=OWNER)
    calls = await bot.send("Hello supporters", chat_id=OWNER, entities=BOLD)
    preview, control = calls
    assert preview.params["entities"] == BOLD
    assert "parse_mode" not in preview.params
    assert "30 chats" in (control.text or "")
    await send_now(bot)
    sent = await bot.deliver()
    assert sorted(int(call.chat_id or 0) for call in sent) == list(range(1, 31))
    assert all(call.params["entities"] == BOLD for call in sent)
    assert all(call.text == "Hello supporters" for call in sent)
    bot.api.clear()
    await update_progress(bot.services, bot.app.bot, utcnow())
    (report,) = bot.api.calls
    assert report.method == "editMessageText"
    assert "finished" in (report.text or "")
    assert "Delivered: 30" in (report.text or "")
    assert (await latest_broadcast(bot)).status == "done"
    assert await bot.deliver() == []


async def test_photo_with_caption(bot: BotHarness) -> None:
    await add_chats(bot, range(1, 4))
    await compose(bot, text="Our banner", photo="photo-file-1", entities=BOLD)
    await send_now(bot)
    sent = await bot.deliver()
    assert {call.method for call in sent} == {"sendPhoto"}
    assert all(
        call.params["photo"] == "photo-file-1"
        and call.params["caption"] == "Our banner"
        and call.params["caption_entities"] == BOLD
        for call in sent
    )


async def test_topic_audience_and_only_me(bot: BotHarness) -> None:
    await bot.send("/subscribe mining", chat_id=7)
    await bot.send("/subscribe justice", chat_id=8)
    await compose(bot, audience="aud:topic:extractives")
    await send_now(bot)
    assert [call.chat_id for call in await bot.deliver()] == [7]
    await compose(bot, audience="aud:me")
    await send_now(bot)
    assert [call.chat_id for call in await bot.deliver()] == [OWNER]


async def test_schedule_in_an_hour_with_the_clock_moved(bot: BotHarness) -> None:
    await add_chats(bot, range(1, 6))
    await compose(bot)
    await bot.press("adm:bc:urgent", chat_id=OWNER)
    await bot.press("adm:bc:schedule", chat_id=OWNER)
    calls = await bot.press("adm:bc:at:1h", chat_id=OWNER)
    assert "scheduled for" in (calls[-1].text or "")
    broadcast = await latest_broadcast(bot)
    assert broadcast.urgent
    assert broadcast.status == "scheduled"
    assert await bot.deliver() == []
    later = datetime.now(UTC) + timedelta(hours=1, minutes=1)
    sent = await bot.deliver(clock=lambda: later)
    assert sorted(int(call.chat_id or 0) for call in sent) == [1, 2, 3, 4, 5]


async def test_send_now_asks_send_to_n_chats_counted_at_that_moment(bot: BotHarness) -> None:
    """Issue 19, point 6: nothing goes out before "Send to N chats?" is answered, and N is the
    audience when Send now is pressed, not when the draft began."""
    await add_chats(bot, range(1, 4))
    await compose(bot)
    await add_chats(bot, range(4, 6))
    (question,) = [call for call in await bot.press("adm:bc:send", chat_id=OWNER) if call.text]
    assert "Send this to everyone: <b>5 chats</b>" in (question.text or "")
    buttons = json.dumps(question.params["reply_markup"], ensure_ascii=False)
    assert "Yes, send to 5 chats" in buttons
    assert await bot.deliver() == []
    back = await bot.press("adm:bc:back", chat_id=OWNER)
    assert "Preview" in (back[-1].text or "")
    async with bot.services.sessions() as session:
        assert await session.scalar(select(Broadcast)) is None
    texts = await send_now(bot)
    assert texts[-1] == "Sending…"
    assert sorted(int(call.chat_id or 0) for call in await bot.deliver()) == [1, 2, 3, 4, 5]


async def test_one_chat_is_one_chat(bot: BotHarness) -> None:
    """Counts of chats are plural forms: never "1 chats"."""
    await add_chats(bot, range(1, 2))
    calls = await bot.send("/broadcast", chat_id=OWNER)
    calls += await bot.press("adm:bc:aud:all", chat_id=OWNER)
    calls += await bot.send("Hello", chat_id=OWNER)
    calls += await bot.press("adm:bc:send", chat_id=OWNER)
    shown = json.dumps([(call.text, call.params.get("reply_markup")) for call in calls])
    assert "Everyone (1 chat)" in shown
    assert "Audience: everyone, 1 chat." in shown
    assert "<b>1 chat</b>" in shown
    assert "Yes, send to 1 chat" in shown
    assert "1 chats" not in shown


async def test_a_broadcast_to_nobody_is_refused_now_and_when_scheduled(bot: BotHarness) -> None:
    await bot.send("/subscribe mining", chat_id=7)
    await compose(bot, audience="aud:topic:health")
    refused = await bot.press("adm:bc:send", chat_id=OWNER)
    assert "Nobody would receive this" in (refused[-1].text or "")
    await bot.press("adm:bc:schedule", chat_id=OWNER)
    refused = await bot.press("adm:bc:at:1h", chat_id=OWNER)
    assert "Nobody would receive this" in (refused[-1].text or "")
    async with bot.services.sessions() as session:
        assert await session.scalar(select(Broadcast)) is None
    assert await bot.deliver() == []
    await bot.press("adm:bc:cancel", chat_id=OWNER)
    await compose(bot, audience="aud:topic:extractives")
    await bot.press("adm:bc:schedule", chat_id=OWNER)
    (scheduled,) = [c.text for c in await bot.press("adm:bc:at:1h", chat_id=OWNER) if c.text]
    assert "It would reach 1 chat now" in (scheduled or "")


async def test_schedule_tomorrow_morning_and_typed_dates(bot: BotHarness) -> None:
    await add_chats(bot, range(1, 3))
    await compose(bot)
    await bot.press("adm:bc:schedule", chat_id=OWNER)
    await bot.press("adm:bc:at:tomorrow", chat_id=OWNER)
    scheduled = (await latest_broadcast(bot)).scheduled_at.astimezone(bot.services.settings.zone)
    assert (scheduled.hour, scheduled.minute) == (9, 0)
    assert scheduled.date() == (datetime.now(bot.services.settings.zone) + timedelta(days=1)).date()

    await compose(bot)
    await bot.press("adm:bc:schedule", chat_id=OWNER)
    await bot.press("adm:bc:at:typed", chat_id=OWNER)
    for bad in ("next tuesday", "2001-01-01 10:00", "31/02/2030 10:00"):
        (reply,) = await bot.reply_texts(bad, chat_id=OWNER)
        assert "could not read that" in reply
    (reply,) = await bot.reply_texts("2035-06-01 18:30", chat_id=OWNER)
    assert "scheduled for 1 Jun 2035 18:30 BST" in reply


async def test_scheduled_broadcast_survives_a_restart_and_can_be_cancelled(
    bot: BotHarness, settings: Settings
) -> None:
    await add_chats(bot, range(1, 3))
    await compose(bot)
    await bot.press("adm:bc:schedule", chat_id=OWNER)
    await bot.press("adm:bc:at:1h", chat_id=OWNER)
    broadcast = await latest_broadcast(bot)
    # A second Application on the same database (a restart) sees it and lists it.
    api = RecordingBotApi()
    app = build_application(Services.create(settings), request=api)
    async with running(app):
        await app.process_update(UpdateFactory(app.bot).message("/broadcasts", chat_id=OWNER))
        (listing,) = [call for call in api.calls if call.method == "sendMessage"]
        assert f"#{broadcast.id} · scheduled" in (listing.text or "")
        button = listing.params["reply_markup"]["inline_keyboard"][0][0]
        assert button["callback_data"] == f"adm:bcdrop:{broadcast.id}"
    await bot.press(button["callback_data"], chat_id=OWNER)
    assert (await latest_broadcast(bot)).status == "cancelled"
    later = datetime.now(UTC) + timedelta(hours=2)
    assert await bot.deliver(clock=lambda: later) == []


async def test_cancel_at_preview_and_with_command(bot: BotHarness) -> None:
    await compose(bot)
    calls = await bot.press("adm:bc:cancel", chat_id=OWNER)
    assert "cancelled" in (calls[-1].text or "")
    await bot.send("/broadcast", chat_id=OWNER)
    assert await bot.reply_texts("/cancel", chat_id=OWNER) == ["Cancelled."]
    async with bot.services.sessions() as session:
        assert await session.scalar(select(Broadcast)) is None


async def test_stop_midway_and_blocked_recipients(bot: BotHarness) -> None:
    await add_chats(bot, range(1, 51))
    bot.api.faults.append(
        lambda call: (
            (_ for _ in ()).throw(ApiError(403, "Forbidden: bot was blocked by the user"))
            if call.method == "sendMessage" and call.chat_id in (2, 3)
            else None
        )
    )
    await compose(bot)
    await send_now(bot)
    dispatcher = bot.dispatcher(batch_size=10)
    await dispatcher.run_once()
    await update_progress(bot.services, bot.app.bot, utcnow())
    progress = bot.api.calls[-1]
    assert progress.method == "editMessageText"
    assert "Remaining: 40" in (progress.text or "")
    stop = progress.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await bot.press(stop, chat_id=OWNER)
    await dispatcher.drain()
    await update_progress(bot.services, bot.app.bot, utcnow())
    report = bot.api.calls[-1].text or ""
    assert "stopped" in report
    assert "Delivered: 8" in report
    assert "Blocked (now inactive): 2" in report
    assert "Not sent (stopped): 40" in report
    async with bot.services.sessions() as session:
        blocked = await session.get(Chat, 2)
        actions = list(await session.scalars(select(AuditEntry.action)))
    assert blocked is not None
    assert not blocked.active
    assert actions[:2] == ["broadcast created", "broadcast stopped"]


@pytest.mark.reliability
async def test_broadcast_to_twenty_thousand_chats(bot: BotHarness) -> None:
    await add_chats(bot, range(1, 20_001))
    await compose(bot)
    await send_now(bot)
    dispatcher = bot.dispatcher(batch_size=1000)
    bot.api.clear()
    edits = 0
    while await dispatcher.run_once():
        await update_progress(bot.services, bot.app.bot, utcnow())
        edits += sum(call.method == "editMessageText" for call in bot.api.calls[-1:])
    await update_progress(bot.services, bot.app.bot, utcnow())
    received = Counter(call.chat_id for call in bot.api.calls if call.method == "sendMessage")
    assert len(received) == 20_000
    assert set(received.values()) == {1}
    assert edits >= 19
    assert "Delivered: 20,000" in (bot.api.calls[-1].text or "")


@pytest.fixture
async def live_bot(settings: Settings) -> AsyncIterator[BotHarness]:
    """The bot as it runs: its own dispatcher and progress job, not driven by the test."""
    api = RecordingBotApi()
    app = build_application(Services.create(settings), request=api)
    async with running(app):
        yield BotHarness(app, api, UpdateFactory(app.bot, telegram=api))


async def test_command_line_broadcast_is_sent_by_the_running_bot(
    live_bot: BotHarness, database_url: str, tmp_path: Path
) -> None:
    await add_chats(live_bot, range(1, 11))
    env = {key: value for key, value in os.environ.items() if not key.startswith("PSGBOT_")}
    env["PSGBOT_DATABASE_URL"] = database_url
    process = await asyncio_subprocess(
        [
            sys.executable,
            "-m",
            "psgbot",
            "broadcast",
            "--audience",
            "all",
            "--text",
            "<b>AGM</b> on Saturday",
        ],
        env,
        tmp_path,
    )
    assert process.returncode == 0, process.stderr
    assert "queued" in process.stdout
    assert "done: 10 delivered, 0 blocked, 0 failed" in (process.stdout)
    sent = [
        call
        for call in live_bot.api.calls
        if call.method == "sendMessage" and call.text == "<b>AGM</b> on Saturday"
    ]
    assert sorted(int(call.chat_id or 0) for call in sent) == list(range(1, 11))
    assert all(call.params["parse_mode"] == "HTML" for call in sent)


async def test_command_line_broadcast_without_a_bot_says_so(
    database_url: str, tmp_path: Path
) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PSGBOT_")}
    env["PSGBOT_DATABASE_URL"] = database_url

    async def broadcast(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "psgbot", "broadcast", "--text", "x", *args]
        return await asyncio_subprocess(command, env, tmp_path)

    bad = await broadcast("--audience", "topic:cooking")
    assert bad.returncode == 2
    assert "audience must be" in bad.stderr
    # Issue 19, point 6: an audience of 0 chats is refused, as in chat.
    nobody = await broadcast("--audience", "all", "--at", "2099-01-01T10:00")
    assert nobody.returncode == 2
    assert "all is 0 chats now; nothing was queued" in nobody.stderr
    engine = create_engine(database_url)
    async with async_sessionmaker(engine).begin() as session:
        await insert_chats(session, [1], topic="extractives")
    await engine.dispose()
    later = await broadcast("--audience", "all", "--at", "2099-01-01T10:00")
    assert later.returncode == 0
    assert "queued for all at 2099-01-01T10:00:00+00:00; it would reach 1 chat now" in later.stdout
    # Issue 19, point 14: a topic is named as in chat, by its alias too.
    alias = await broadcast("--audience", "topic:mining", "--at", "2099-01-01T10:00")
    assert alias.returncode == 0, alias.stderr
    assert "queued for topic:extractives" in alias.stdout
    waiting = await broadcast("--audience", "all", "--pickup-grace", "1")
    assert waiting.returncode == 3
    assert "no running bot has picked up broadcast" in waiting.stderr
    assert "stays queued" in waiting.stderr
