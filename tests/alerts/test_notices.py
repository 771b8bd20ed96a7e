"""Notices are stored as data and rendered when they are sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from support.clock import fixed
from support.harness import BotHarness

from psgbot.db.enums import DeliveryKind, DeliveryStatus, Notice
from psgbot.db.models import Delivery, Event
from psgbot.events import cancel_reminders
from psgbot.events_file import event_from_yaml

LONDON = ZoneInfo("Europe/London")


async def add_event(bot: BotHarness, uid: str, title: str, start: datetime) -> Event:
    event = event_from_yaml({"uid": uid, "title": title, "start": start.strftime("%Y-%m-%d %H:%M")})
    async with bot.services.sessions.begin() as session:
        session.add(event)
    return event


async def test_a_reminder_says_the_title_the_event_has_when_it_is_sent(bot: BotHarness) -> None:
    start = (datetime.now(LONDON) + timedelta(days=3)).replace(second=0, microsecond=0)
    event = await add_event(bot, "retitled", "Vigil", start)
    await bot.press(f"ev:rem:{event.id}", chat_id=5)
    async with bot.services.sessions.begin() as session:
        await session.execute(
            update(Event).where(Event.id == event.id).values(title="Vigil for Peru's rivers")
        )
    day_before = start.astimezone(UTC) - timedelta(hours=23, minutes=59)
    (reminder,) = await bot.deliver(clock=fixed(day_before))
    assert "Vigil for Peru's rivers" in (reminder.text or "")
    assert "in 24 hours" in (reminder.text or "")  # was "tomorrow" (issue 19)


async def test_a_reminder_row_holds_its_event_start_and_offset_not_html(bot: BotHarness) -> None:
    start = (datetime.now(LONDON) + timedelta(days=3)).replace(second=0, microsecond=0)
    event = await add_event(bot, "typed", "Vigil", start)
    await bot.press(f"ev:rem:{event.id}", chat_id=5)
    async with bot.services.sessions() as session:
        rows = list(await session.scalars(select(Delivery).order_by(Delivery.reminder_hours)))
    assert [(row.notice, row.event_id, row.reminder_hours) for row in rows] == [
        (Notice.EVENT_REMINDER, event.id, 1),
        (Notice.EVENT_REMINDER, event.id, 24),
    ]
    assert all(row.event_start == start.astimezone(UTC) for row in rows)
    assert all(row.text is None for row in rows)


async def test_cancelling_an_events_reminders_goes_by_its_id_not_its_key(bot: BotHarness) -> None:
    """Rows are found by their event's column: whatever their key says, and only that event's."""
    start = (datetime.now(LONDON) + timedelta(days=3)).replace(second=0, microsecond=0)
    first = await add_event(bot, "first", "Vigil", start)
    second = await add_event(bot, "second", "March", start)
    await bot.press(f"ev:rem:{first.id}", chat_id=5)
    await bot.press(f"ev:rem:{second.id}", chat_id=5)
    async with bot.services.sessions.begin() as session:
        # A key is a uniqueness token only: nothing may read the event back out of it.
        await session.execute(update(Delivery).values(key=Delivery.id.cast(Delivery.key.type)))
        stored = await session.get(Event, first.id)
        assert stored is not None
        await cancel_reminders(session, stored)
    async with bot.services.sessions() as session:
        statuses = sorted(
            (row.event_id, row.status) for row in await session.scalars(select(Delivery))
        )
    assert statuses == [
        (first.id, DeliveryStatus.CANCELLED),
        (first.id, DeliveryStatus.CANCELLED),
        (second.id, DeliveryStatus.PENDING),
        (second.id, DeliveryStatus.PENDING),
    ]


async def test_a_notice_queued_before_notices_were_data_goes_out_as_stored(
    bot: BotHarness,
) -> None:
    """Rows migration 0011 could not type (a change or feed notice due at once) keep their
    HTML and are sent with it."""
    now = datetime.now(UTC)
    async with bot.services.sessions.begin() as session:
        session.add(
            Delivery(
                chat_id=5,
                kind=DeliveryKind.NOTICE,
                notice=Notice.LEGACY,
                text="✏️ <b>Changed:</b> the AGM",
                due_at=now,
                created_at=now,
            )
        )
    (sent,) = await bot.deliver()
    assert sent.chat_id == 5
    assert sent.text == "✏️ <b>Changed:</b> the AGM"


async def test_nothing_is_said_of_an_event_cancelled_since_it_was_queued(bot: BotHarness) -> None:
    start = (datetime.now(LONDON) + timedelta(days=3)).replace(second=0, microsecond=0)
    event = await add_event(bot, "called-off", "Vigil", start)
    await bot.press(f"ev:rem:{event.id}", chat_id=5)
    async with bot.services.sessions.begin() as session:
        await session.execute(update(Event).where(Event.id == event.id).values(cancelled=True))
    day_before = start.astimezone(UTC) - timedelta(hours=23, minutes=59)
    assert await bot.deliver(clock=fixed(day_before)) == []
