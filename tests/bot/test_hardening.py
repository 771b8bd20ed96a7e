"""Hostile input and group misuse (security review findings 2, 6, 7 and 8), on both databases.

Every reply goes through the recording transport, which refuses what Telegram refuses (HTML that
doesn't parse, text over 4,096 UTF-16 units): the ``bot`` fixture fails a test on any such
call.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from conftest import OWNER
from sqlalchemy import func, select
from support.harness import BotHarness
from support.telegram_html import validate_telegram_html

from psgbot import broadcasts
from psgbot.admins import AuditAction, audit
from psgbot.bot.throttle import THROTTLE_KEY, Throttle
from psgbot.db.models import Broadcast, Delivery, Event, Reminder
from psgbot.db.types import utcnow
from psgbot.feeds.parse import ParsedItem
from psgbot.feeds.store import get_or_create_feed, store_items
from psgbot.offline import ApiCall

GROUP = -100500


@pytest.fixture
def errors(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.ERROR)
    return caplog


def visible(calls: list[ApiCall]) -> list[str]:
    return [validate_telegram_html(call.text) for call in calls if call.text is not None]


def answers(calls: list[ApiCall]) -> list[ApiCall]:
    return [call for call in calls if call.method == "answerCallbackQuery"]


async def store_hostile_item(bot: BotHarness) -> None:
    """An item whose 2,000-character link is 1,981 '&' (9,905 escaped), newest of all."""
    item = ParsedItem(
        key="guid:amp",
        guid="amp",
        title="Ampersands 😀 & <b>",
        link="https://x.example/?" + "&" * 1981,
        published=utcnow(),
        summary="& " * 3000,
    )
    async with bot.services.sessions.begin() as session:
        feed = await get_or_create_feed(session, "hostile")
        await store_items(session, feed, [item], bot.services.taxonomy)


async def test_an_item_with_a_link_of_ampersands_does_not_break_latest(
    bot: BotHarness, errors: pytest.LogCaptureFixture
) -> None:
    await store_hostile_item(bot)
    for calls in (await bot.send("/latest 20"), await bot.press("menu:latest")):
        shown = "\n".join(visible(calls))
        assert "Ampersands 😀 & <b>" in shown
        assert "Fujimoristas" in shown, "the other items are still listed"
        assert "went wrong" not in shown
    assert errors.records == []


async def test_long_event_details_are_split_between_blocks(bot: BotHarness) -> None:
    async with bot.services.sessions.begin() as session:
        event = Event(
            uid="long",
            title="Vigil & talk 😀",
            starts_at=utcnow() + timedelta(days=3),
            timezone="Europe/London",
            description="Tom & Jerry 😀 " * 600,
            programme="<b>Part</b> & more\n" * 300,
            prices="£5 & 😀",
        )
        session.add(event)
    calls = await bot.send(f"/event {event.id}")
    shown = visible(calls)
    assert len(shown) >= 2
    assert "Prices" in shown[-1] or any("£5 & 😀" in text for text in shown)
    assert calls[-1].params.get("reply_markup"), "the buttons come with the last part"


async def test_admin_views_that_grow_are_split_not_cut(bot: BotHarness) -> None:
    async with bot.services.sessions.begin() as session:
        for number in range(20):
            await audit(session, OWNER, AuditAction.TEXT_EDITED, f"{number:03}: " + "😀&" * 70)
        for number in range(6):
            feed = await get_or_create_feed(session, f"https://feeds.example/{number}")
            feed.failures, feed.last_error = 3, "& < >" * 400
    audit_texts = visible(await bot.send("/audit", chat_id=OWNER))
    assert len(audit_texts) >= 2
    assert sum(text.count("😀&" * 70) for text in audit_texts) == 20
    feed_texts = visible(await bot.send("/feeds", chat_id=OWNER))
    assert sum(text.count("https://feeds.example/") for text in feed_texts) >= 6


@pytest.mark.parametrize(
    "command",
    ["/latest ²", "/latest " + "9" * 5000, "/latest -3", "/event ²", "/event 99999999999999999999"],
)
async def test_odd_numbers_get_a_helpful_reply(
    bot: BotHarness, errors: pytest.LogCaptureFixture, command: str
) -> None:
    (reply,) = visible(await bot.send(command))
    assert "/latest" in reply or "/event" in reply
    assert "went wrong" not in reply
    assert errors.records == []


@pytest.mark.parametrize(
    "data",
    # "": a press without data, which python-telegram-bot gives the first button handler.
    [
        "ev:d:²",
        "ev:ics:99999999999999999999",
        "ev:zzz:1",
        "sub:foo",
        "stop:maybe",
        "adm:bcstop:²",
        "",
    ],
)
async def test_forged_or_stale_buttons_are_answered_with_a_note(
    bot: BotHarness, errors: pytest.LogCaptureFixture, data: str
) -> None:
    calls = await bot.press(data, chat_id=OWNER)
    (answer,) = answers(calls)
    assert answer.params.get("text"), "a short note, not a silent spinner"
    assert errors.records == []


async def test_unsubscribing_from_an_unknown_topic_changes_nothing(bot: BotHarness) -> None:
    await bot.send("/subscribe justice", chat_id=77)
    calls = await bot.press("unsub:nonsense", chat_id=77)
    (answer,) = answers(calls)
    assert "no longer active" in answer.params["text"]
    assert not any("Unsubscribed" in text for text in visible(calls))
    (subs,) = visible(await bot.send("/mysubs", chat_id=77))
    assert "Justice" in subs


async def upcoming_event(bot: BotHarness) -> Event:
    async with bot.services.sessions.begin() as session:
        event = Event(
            uid="vigil",
            title="Vigil",
            starts_at=utcnow() + timedelta(days=3),
            timezone="Europe/London",
        )
        session.add(event)
    return event


async def reminders_of(bot: BotHarness, chat_id: int) -> tuple[int, int]:
    async with bot.services.sessions() as session:
        reminders = await session.scalar(
            select(func.count()).select_from(Reminder).where(Reminder.chat_id == chat_id)
        )
        queued = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.chat_id == chat_id)
        )
    return int(reminders or 0), int(queued or 0)


async def test_only_group_admins_set_reminders_for_a_group(bot: BotHarness) -> None:
    event = await upcoming_event(bot)
    bot.api.chat_members[(GROUP, 7)] = "member"
    bot.api.chat_members[(GROUP, 8)] = "administrator"
    group = {"chat_id": GROUP, "chat_type": "supergroup"}
    (refused,) = answers(await bot.press(f"ev:rem:{event.id}", user_id=7, **group))
    assert "administrators" in refused.params["text"]
    assert await reminders_of(bot, GROUP) == (0, 0)
    await bot.press(f"ev:rem:{event.id}", user_id=8, **group)
    reminders, queued = await reminders_of(bot, GROUP)
    assert reminders == 1
    assert queued > 0


@pytest.mark.parametrize("command", ["/admins", "/audit", "/stats", "/feeds", "/broadcasts"])
async def test_admin_commands_in_a_group_reveal_nobody(bot: BotHarness, command: str) -> None:
    async with bot.services.sessions.begin() as session:
        await audit(session, OWNER, AuditAction.TEXT_EDITED, "aims")
    calls = await bot.send(command, chat_id=GROUP, chat_type="supergroup", user_id=OWNER)
    (reply,) = visible(calls)
    assert "private chat" in reply
    assert str(OWNER) not in reply
    # In private the same owner still gets the view.
    (private, *_) = visible(await bot.send(command, chat_id=OWNER))
    assert "private chat" not in private


async def test_admin_buttons_in_a_group_do_nothing(bot: BotHarness) -> None:
    async with bot.services.sessions.begin() as session:
        scheduled = await broadcasts.create(
            session,
            audience="all",
            text="Later",
            scheduled_at=utcnow() + timedelta(days=1),
            created_by=OWNER,
        )
    calls = await bot.press(
        f"adm:bcdrop:{scheduled.id}", chat_id=GROUP, chat_type="supergroup", user_id=OWNER
    )
    (answer,) = answers(calls)
    assert "private chat" in answer.params["text"]
    async with bot.services.sessions() as session:
        stored = await session.get(Broadcast, scheduled.id)
        assert stored is not None
        assert stored.status == broadcasts.SCHEDULED


async def test_the_rate_limit_spares_admins_and_counts_button_taps_lightly(
    bot: BotHarness,
) -> None:
    now = [1000.0]
    bot.app.bot_data[THROTTLE_KEY] = Throttle(limit=20, window=60, clock=lambda: now[0])
    # An owner working quickly (30 steps in a minute) is never told to slow down.
    for _ in range(30):
        replies = await bot.reply_texts("/help", chat_id=OWNER)
        assert replies, "an admin is answered"
        assert not any("very quickly" in reply for reply in replies)
    # A supporter tapping through the topic keyboard: 60 taps weigh 15 messages, so the taps
    # and 5 commands are all answered; only a 6th command in the minute is over the limit.
    for _ in range(60):
        calls = await bot.press("sub:t:justice", chat_id=9)
        assert [call.method for call in calls] == ["answerCallbackQuery", "editMessageReplyMarkup"]
    for _ in range(5):
        assert await bot.reply_texts("/help", chat_id=9)
    (warning,) = await bot.reply_texts("/help", chat_id=9)
    assert "very quickly" in warning
