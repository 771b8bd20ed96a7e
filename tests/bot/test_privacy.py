"""Privacy and consent (issue 13): /privacy, /mydata, /forget, a /stop that stops everything,
the announcements opt-out, forgetting chats that blocked the bot, and logs without names."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, inspect, select
from support.harness import BotHarness

from psgbot import broadcasts
from psgbot.db.models import (
    AuditEntry,
    Base,
    Chat,
    Delivery,
    DeliveryRollup,
    Item,
    Reminder,
    Subscription,
)
from psgbot.events_file import event_from_yaml
from psgbot.logs import keep_personal_data_out
from psgbot.outbox import enqueue_alerts
from psgbot.privacy import purge_inactive, purge_past_reminders

CHAT = 987_654_321  # a private chat (the user's id is the same)
OTHER = 555_000_111
GROUP = -100_777_888_999
OWNER = 111


def buttons(call: Any) -> list[str]:
    return [
        b["callback_data"] for row in call.params["reply_markup"]["inline_keyboard"] for b in row
    ]


async def add_event(bot: BotHarness, start: datetime, **fields: object) -> int:
    event = event_from_yaml(
        {
            "uid": f"vigil-{start.isoformat()}",
            "title": "Vigil outside the embassy",
            "timezone": "UTC",
            "start": start.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
            **fields,
        }
    )
    async with bot.services.sessions.begin() as session:
        session.add(event)
        await session.flush()
        return event.id


async def alert_every_item(bot: BotHarness) -> None:
    """Queues every stored item for the chats following it, as a poll finding them new would."""
    async with bot.services.sessions.begin() as session:
        ids = list(await session.scalars(select(Item.id)))
        await enqueue_alerts(session, ids, datetime.now(UTC))


async def broadcast_to(bot: BotHarness, audience: str) -> int:
    async with bot.services.sessions.begin() as session:
        created = await broadcasts.create(
            session,
            audience=audience,
            text="<b>Urgent</b>: write to your MP",
            parse_mode="HTML",
            scheduled_at=datetime.now(UTC),
            created_by=OWNER,
            urgent=True,
        )
        return created.id


async def rows_of(bot: BotHarness, chat_id: int) -> list[Delivery]:
    async with bot.services.reads() as session:
        return list(await session.scalars(select(Delivery).where(Delivery.chat_id == chat_id)))


async def mentions(bot: BotHarness, value: int) -> list[str]:
    """Every table and column that holds ``value`` (as a number, or inside a text)."""
    found = []
    async with bot.services.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        for table in Base.metadata.sorted_tables:
            assert table.name in tables
            for row in (await connection.execute(select(table))).mappings():
                for column, stored in row.items():
                    if stored == value or (isinstance(stored, str) and str(value) in stored):
                        found.append(f"{table.name}.{column}")
    return found


async def test_privacy_notice_buttons_help_and_menu(bot: BotHarness) -> None:
    (call,) = await bot.send("/privacy", chat_id=CHAT)
    text = call.text or ""
    for fact in (
        "PSGBOT_DELIVERY_RETENTION",
        "90 days",
        "PSGBOT_INACTIVE_RETENTION",
        "30 days",
        "until its event is over",
        "counts only",
        "Nothing is given or sold to anyone else",
        "/mydata",
        "/forget",
        "Never stored:</b> names",
    ):
        assert fact in text, fact
    assert buttons(call) == ["privacy:mydata", "privacy:forget"]
    (help_reply,) = await bot.reply_texts("/help", chat_id=CHAT)
    assert "/privacy:" in help_reply
    assert "/mydata:" in help_reply
    assert "/forget:" in help_reply
    (start,) = await bot.send("/start", chat_id=CHAT)
    assert "menu:privacy" in buttons(start)
    calls = await bot.press("menu:privacy", chat_id=CHAT)
    assert calls[-1].text == text
    commands = next(c for c in bot.api.calls if c.method == "setMyCommands").params["commands"]
    assert {"privacy", "mydata", "forget"} <= {command["command"] for command in commands}
    # Reading the notice stores nothing about a chat.
    assert await mentions(bot, OTHER) == []
    await bot.send("/privacy", chat_id=OTHER)
    assert await mentions(bot, OTHER) == []


async def test_mydata_sends_everything_stored_as_json(bot: BotHarness) -> None:
    await bot.send("/subscribe justice", chat_id=CHAT)
    await bot.press("sub:ann", chat_id=CHAT)  # announcements off
    event_id = await add_event(bot, datetime.now(UTC) + timedelta(days=3))
    await bot.press(f"ev:rem:{event_id}", chat_id=CHAT)
    await alert_every_item(bot)
    await bot.deliver()
    (call,) = await bot.send("/mydata", chat_id=CHAT)
    assert call.method == "sendDocument"
    (document,) = call.files.values()
    record = json.loads(document)
    assert record["chat"]["id"] == CHAT
    assert record["chat"]["type"] == "private"
    assert record["chat"]["announcements"] is False
    assert [entry["topic"] for entry in record["subscriptions"]] == ["justice"]
    assert [entry["event_id"] for entry in record["reminders"]] == [event_id]
    kinds = {(row["kind"], row["status"]) for row in record["recent_messages"]}
    assert ("alert", "sent") in kinds
    assert ("notice", "pending") in kinds
    assert record["messages_stored"] == len(await rows_of(bot, CHAT))
    assert "name" not in json.dumps(record["chat"])
    assert "Ana" not in document.decode()
    caption = call.text or ""
    assert "Justice" in caption
    assert "Announcements from the PSG: off" in caption
    assert "Reminders: 1 event" in caption
    assert "/forget" in caption
    # The notice's button sends the same.
    calls = await bot.press("privacy:mydata", chat_id=CHAT)
    assert calls[-1].method == "sendDocument"


async def test_forget_asks_then_erases_every_row_about_the_chat(bot: BotHarness) -> None:
    for chat_id in (CHAT, OTHER):
        await bot.send("/subscribe all", chat_id=chat_id)
    await bot.press("sub:ann", chat_id=CHAT)
    await bot.press("sub:ann", chat_id=CHAT)  # a setting changed and changed back
    soon = datetime.now(UTC) + timedelta(days=3)
    event_id = await add_event(bot, soon)
    await bot.press(f"ev:rem:{event_id}", chat_id=CHAT)
    await alert_every_item(bot)
    await bot.deliver()  # alerts sent: settled rows
    await broadcast_to(bot, "all")
    await alert_every_item(bot)  # nothing new: still only the reminder is pending
    assert await mentions(bot, CHAT)

    (ask,) = await bot.send("/forget", chat_id=CHAT)
    assert buttons(ask) == ["forget:yes", "forget:no"]
    labels = [b["text"] for row in ask.params["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["Yes, delete", "No"]
    calls = await bot.press("forget:no", chat_id=CHAT)
    assert "Nothing was deleted" in (calls[-1].text or "")
    assert "subscriptions.chat_id" in await mentions(bot, CHAT)

    sent_before = await total_counted(bot)
    calls = await bot.press("forget:yes", chat_id=CHAT)
    assert "Deleted" in (calls[-1].text or "")
    assert await mentions(bot, CHAT) == []
    # What was sent is still counted, anonymously; the other chat is untouched.
    assert await total_counted(bot) == sent_before
    assert {row.status for row in await rows_of(bot, OTHER)} >= {"sent"}
    # Nothing in flight reaches the chat afterwards: the due reminder is gone with its row.
    later = soon - timedelta(minutes=30)
    assert [c for c in await bot.deliver(clock=lambda: later) if c.chat_id == CHAT] == []


async def total_counted(bot: BotHarness) -> int:
    """Messages in the outbox plus those rolled up into daily counts (every kind, every status)."""
    async with bot.services.reads() as session:
        rows = await session.scalar(select(func.count()).select_from(Delivery))
        rolled = await session.scalar(
            select(func.coalesce(func.sum(DeliveryRollup.count), 0)).where(
                DeliveryRollup.topic == "*"
            )
        )
    return int(rows or 0) + int(rolled or 0)


async def test_forget_in_a_group_is_for_its_admins(bot: BotHarness) -> None:
    bot.api.chat_members[(GROUP, 7)] = "member"
    bot.api.chat_members[(GROUP, 8)] = "administrator"
    group = {"chat_id": GROUP, "chat_type": "supergroup"}
    await bot.send("/subscribe justice", user_id=8, **group)
    (refused,) = await bot.reply_texts("/forget", user_id=7, **group)
    assert "Only this group's administrators" in refused
    (refused,) = await bot.reply_texts("/mydata", user_id=7, **group)
    assert "Only this group's administrators" in refused
    calls = await bot.press("forget:yes", user_id=7, **group)
    assert calls[-1].method == "answerCallbackQuery"
    assert calls[-1].params["show_alert"]
    assert "subscriptions.chat_id" in await mentions(bot, GROUP)
    ask = (await bot.send("/forget", user_id=8, **group))[-1]  # after getChatMember
    assert buttons(ask) == ["forget:yes", "forget:no"]
    await bot.press("forget:yes", user_id=8, **group)
    assert await mentions(bot, GROUP) == []


async def test_stop_stops_alerts_reminders_and_announcements(bot: BotHarness) -> None:
    await bot.send("/subscribe all", chat_id=CHAT)
    start = datetime.now(UTC) + timedelta(days=3)
    event_id = await add_event(bot, start)
    await bot.press(f"ev:rem:{event_id}", chat_id=CHAT)
    await alert_every_item(bot)  # alerts waiting when /stop comes

    (reply,) = await bot.send("/stop", chat_id=CHAT)
    text = reply.text or ""
    for said in ("no news alerts", "no event reminders", "no announcements from the PSG"):
        assert said in text
    assert "/subscribe" in text
    assert "Undo" in text
    assert buttons(reply) == ["stop:undo"]
    assert {row.status for row in await rows_of(bot, CHAT)} == {"cancelled"}

    # Nothing new reaches the chat: alerts, announcements to everyone or to its topic, and
    # the reminders it asked for before /stop, even when they fall due.
    async with bot.services.sessions.begin() as session:
        await session.execute(delete(Delivery).where(Delivery.chat_id == CHAT))
    await alert_every_item(bot)
    await broadcast_to(bot, "all")
    await broadcast_to(bot, "topic:justice")
    before_reminder = start - timedelta(minutes=30)
    calls = await bot.deliver(clock=lambda: before_reminder)
    assert [c for c in calls if c.chat_id == CHAT] == []
    assert await rows_of(bot, CHAT) == []
    async with bot.services.reads() as session:
        broadcast_audience = await broadcasts.audience_size(session, "all")
    assert broadcast_audience == 0

    # Subscribing again starts everything again.
    (again,) = await bot.reply_texts("/subscribe justice", chat_id=CHAT)
    assert "starts again too" in again
    await broadcast_to(bot, "all")
    calls = await bot.deliver()
    assert [c.chat_id for c in calls if "write to your MP" in (c.text or "")] == [CHAT]


async def test_stop_undo_and_a_reminder_after_stop(bot: BotHarness) -> None:
    await bot.send("/subscribe justice", chat_id=CHAT)
    start = datetime.now(UTC) + timedelta(days=3)
    event_id = await add_event(bot, start)
    await bot.press(f"ev:rem:{event_id}", chat_id=CHAT)
    await bot.send("/stop", chat_id=CHAT)
    calls = await bot.press("stop:undo", chat_id=CHAT)
    assert "Undone" in (calls[-1].text or "")
    await broadcast_to(bot, "all")
    sent = await bot.deliver()
    assert [c.chat_id for c in sent] == [CHAT]
    # A second Undo changes nothing.
    calls = await bot.press("stop:undo", chat_id=CHAT)
    assert "Nothing to undo" in (calls[-1].text or "")


async def test_announcements_toggle_leaves_everyone_but_not_topics(
    bot: BotHarness,
) -> None:
    await bot.send("/subscribe justice", chat_id=CHAT)
    await bot.send("/start", chat_id=OTHER)
    calls = await bot.press("sub:ann", chat_id=CHAT)
    labels = [b["text"] for row in calls[-1].params["reply_markup"]["inline_keyboard"] for b in row]
    assert "📣 Announcements from the PSG" in labels  # no ✓: off
    await broadcast_to(bot, "all")
    assert {c.chat_id for c in await bot.deliver()} == {OTHER}
    await broadcast_to(bot, "topic:justice")
    assert [c.chat_id for c in await bot.deliver()] == [CHAT]
    calls = await bot.press("sub:ann", chat_id=CHAT)
    labels = [b["text"] for row in calls[-1].params["reply_markup"]["inline_keyboard"] for b in row]
    assert "✓ 📣 Announcements from the PSG" in labels
    await broadcast_to(bot, "all")
    assert {c.chat_id for c in await bot.deliver()} == {CHAT, OTHER}


async def test_blocked_chat_is_cancelled_at_once_and_forgotten_after_retention(
    bot: BotHarness,
) -> None:
    await bot.send("/subscribe all", chat_id=CHAT)
    await bot.send("/subscribe all", chat_id=OTHER)
    await alert_every_item(bot)
    await bot.app.process_update(
        bot.updates.membership_change(CHAT, old="member", new="kicked", user_id=CHAT)
    )
    assert {row.status for row in await rows_of(bot, CHAT)} == {"cancelled"}
    async with bot.services.reads() as session:
        chat = await session.get(Chat, CHAT)
        audit_users = set(await session.scalars(select(AuditEntry.user_id)))
    assert chat is not None
    assert not chat.active
    assert chat.inactive_since is not None
    assert chat.inactive_reason == "kicked"  # who did it is not kept
    assert CHAT not in audit_users

    retention = bot.services.settings.inactive_retention
    assert retention == timedelta(days=30)
    blocked_at = chat.inactive_since
    purged = await purge_inactive(
        bot.services.sessions, blocked_at + retention - timedelta(minutes=1), retention
    )
    assert purged.chats == 0
    assert "chats.id" in await mentions(bot, CHAT)
    purged = await purge_inactive(
        bot.services.sessions, blocked_at + retention + timedelta(minutes=1), retention
    )
    assert purged.chats == 1
    assert await mentions(bot, CHAT) == []
    assert await rows_of(bot, OTHER)  # an active chat is never purged


async def test_unblocking_before_the_deadline_keeps_the_chat(bot: BotHarness) -> None:
    await bot.send("/subscribe justice", chat_id=CHAT)
    await bot.app.process_update(bot.updates.membership_change(CHAT, old="member", new="kicked"))
    await bot.app.process_update(bot.updates.membership_change(CHAT, old="kicked", new="member"))
    far = datetime.now(UTC) + timedelta(days=365)
    purged = await purge_inactive(bot.services.sessions, far, timedelta(days=30))
    assert purged.chats == 0
    async with bot.services.reads() as session:
        topics = set(
            await session.scalars(select(Subscription.topic).where(Subscription.chat_id == CHAT))
        )
    assert topics == {"justice"}


async def test_reminders_go_once_their_event_is_over(bot: BotHarness) -> None:
    now = datetime(2030, 5, 1, 12, tzinfo=UTC)
    with_end = await add_event(bot, now + timedelta(days=2), end="2030-05-03 16:00")
    without_end = await add_event(bot, now + timedelta(days=5))
    async with bot.services.sessions.begin() as session:
        session.add_all(
            [
                Reminder(event_id=with_end, chat_id=CHAT),
                Reminder(event_id=without_end, chat_id=CHAT),
            ]
        )

    async def reminded() -> set[int]:
        async with bot.services.reads() as session:
            return set(await session.scalars(select(Reminder.event_id)))

    for moment, expected in [
        (now, {with_end, without_end}),
        (datetime(2030, 5, 3, 15, 59, tzinfo=UTC), {with_end, without_end}),
        (datetime(2030, 5, 3, 16, 1, tzinfo=UTC), {without_end}),
        (now + timedelta(days=5, hours=23), {without_end}),  # no end: a day after the start
        (now + timedelta(days=6, minutes=1), set()),
    ]:
        async with bot.services.sessions.begin() as session:
            await purge_past_reminders(session, moment)
        assert await reminded() == expected, moment


async def test_logs_hold_no_texts_or_names_at_debug(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret, name = "meet at the embassy at noon", "Wilhelmina"
    await bot.send("/start", chat_id=CHAT, first_name=name)
    await bot.send(secret, chat_id=CHAT, first_name=name)
    await bot.press("menu:latest", chat_id=CHAT, first_name=name)
    # The bot did hear and greet by name: the logs simply do not keep it.
    assert any(name in (call.text or "") for call in bot.api.calls)
    assert any(record.name.startswith("telegram") for record in caplog.records)
    for record in caplog.records:
        message = record.getMessage()
        assert secret not in message, record.name
        assert name not in message, record.name
    assert secret not in caplog.text
    assert name not in caplog.text


def test_webhook_bodies_and_api_parameters_are_left_out_of_library_records(
    caplog: pytest.LogCaptureFixture,
) -> None:
    keep_personal_data_out()
    caplog.set_level(logging.DEBUG)
    body = json.dumps({"message": {"from": {"first_name": "Wilhelmina"}, "text": "hello"}})
    logging.getLogger("telegram.ext._utils.webhookhandler").debug("Webhook received data: %s", body)
    logging.getLogger("telegram.Bot").debug(
        "Calling Bot API endpoint `%s` with parameters `%s`", "sendMessage", {"text": "hello"}
    )
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "Webhook received data: <omitted>",
        "Calling Bot API endpoint `sendMessage` with parameters `<omitted>`",
    ]
