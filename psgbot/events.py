"""The PSG's events: listed as upcoming or past, as calendar files, and the outbox rows of their
reminders and notices. The events file is psgbot.events_file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from psgbot.db.deliveries import status_is
from psgbot.db.engine import dialect_insert
from psgbot.db.enums import DeliveryKind, DeliveryStatus, EventField, Notice
from psgbot.db.models import ALL_NEWS, Chat, Delivery, Event, Reminder, Subscription, receiving
from psgbot.db.types import EventChanges, FieldValue, utcnow
from psgbot.outbox import enqueue_notice


@dataclass(frozen=True)
class EventListing:
    """What ``/events`` shows: upcoming events, or (when there are none) the latest past ones."""

    events: Sequence[Event]
    past: bool


async def list_events(
    session: AsyncSession, *, now: datetime | None = None, limit: int = 5, past: bool = False
) -> EventListing:
    """Upcoming events soonest first; when none (or ``past``), the latest past ones.

    An event counts as upcoming until it ends (or starts, when it has no end), so a conference
    in progress is still listed.
    """
    now = now or utcnow()
    active = Event.cancelled.is_(False)
    # Spelled out for NULL ends: NOT (NULL OR FALSE) is NULL in SQL, which would hide the
    # events without an end from both lists.
    still_on = or_(Event.ends_at > now, and_(Event.ends_at.is_(None), Event.starts_at > now))
    over = or_(Event.ends_at <= now, and_(Event.ends_at.is_(None), Event.starts_at <= now))
    if not past:
        upcoming = list(
            await session.scalars(
                select(Event).where(active, still_on).order_by(Event.starts_at).limit(limit)
            )
        )
        if upcoming:
            return EventListing(upcoming, past=False)
    finished = await session.scalars(
        select(Event).where(active, over).order_by(Event.starts_at.desc()).limit(limit)
    )
    return EventListing(list(finished), past=True)


def is_upcoming(event: Event, now: datetime) -> bool:
    end = event.ends_at or event.starts_at
    return end > now


def calendar_file(event: Event) -> bytes:
    """An iCalendar (.ics) file for one event, with its time zone, place, link and text."""
    from icalendar import Calendar
    from icalendar import Event as CalendarEvent

    zone = ZoneInfo(event.timezone)
    calendar = Calendar()
    calendar.add("prodid", "-//Peru Support Group//psgbot//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    entry = CalendarEvent()
    entry.add("uid", f"{event.uid}@perusupportgroup.org.uk")
    entry.add("summary", event.title + (f": {event.subtitle}" if event.subtitle else ""))
    entry.add("dtstamp", utcnow())
    if event.all_day:
        day = event.starts_at.astimezone(zone).date()
        entry.add("dtstart", day)
        entry.add(
            "dtend",
            (event.ends_at.astimezone(zone).date() if event.ends_at else day + timedelta(days=1)),
        )
    else:
        entry.add("dtstart", event.starts_at.astimezone(zone))
        if event.ends_at:
            entry.add("dtend", event.ends_at.astimezone(zone))
    place = ", ".join(part for part in (event.venue, event.address) if part)
    if place:
        entry.add("location", place)
    elif event.online_url:
        entry.add("location", event.online_url)
    link = event.online_url or event.registration_url
    if link:
        entry.add("url", link)
    description = "\n\n".join(
        part
        for part in (event.description, event.programme, event.prices, event.online_url)
        if part
    )
    if description:
        entry.add("description", description)
    if event.latitude is not None and event.longitude is not None:
        entry.add("geo", (event.latitude, event.longitude))
    if event.cancelled:
        entry.add("status", "CANCELLED")
    calendar.add_component(entry)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def reminder_key(event: Event, hours: int) -> str:
    """Makes a reminder unique per (chat, event, start, offset); written, never parsed."""
    return f"reminder:{event.id}:{event.starts_at.isoformat()}:{hours}h"


async def schedule_reminders(
    session: AsyncSession, event: Event, chat_ids: list[int], hours: list[int], now: datetime
) -> int:
    """Writes the reminder rows (due ``hours`` before the start) into the outbox, once each."""
    rows = [
        {
            "chat_id": chat_id,
            "kind": DeliveryKind.NOTICE,
            "notice": Notice.EVENT_REMINDER,
            "event_id": event.id,
            "event_start": event.starts_at,
            "reminder_hours": offset,
            "key": reminder_key(event, offset),
            "status": DeliveryStatus.PENDING,
            "due_at": event.starts_at - timedelta(hours=offset),
            "attempts": 0,
            "created_at": now,
        }
        for offset in hours
        if event.starts_at - timedelta(hours=offset) > now
        for chat_id in chat_ids
    ]
    if not rows:
        return 0
    await session.execute(
        dialect_insert(session)(Delivery)
        .values(rows)
        .on_conflict_do_nothing(
            index_elements=["chat_id", "key"], index_where=Delivery.key.is_not(None)
        )
    )
    return len(rows)


async def cancel_reminders(session: AsyncSession, event: Event, chat_id: int | None = None) -> None:
    """Cancels pending reminders of the event (for one chat, or everyone)."""
    statement = (
        update(Delivery)
        .where(
            Delivery.event_id == event.id,
            Delivery.notice == Notice.EVENT_REMINDER,
            status_is(DeliveryStatus.PENDING),
        )
        .values(status=DeliveryStatus.CANCELLED, error="reminder withdrawn")
    )
    if chat_id is not None:
        statement = statement.where(Delivery.chat_id == chat_id)
    await session.execute(statement)


async def reminded_chats(session: AsyncSession, event: Event) -> list[int]:
    """The chats that asked to be reminded of the event and may be sent to (not stopped,
    blocked or removed)."""
    return list(
        await session.scalars(
            select(Reminder.chat_id)
            .outerjoin(Chat, Chat.id == Reminder.chat_id)
            # A chat that only ever pressed "Remind me" has no chat row: nothing stops it.
            .where(Reminder.event_id == event.id, or_(Chat.id.is_(None), receiving()))
        )
    )


async def has_reminder(session: AsyncSession, event: Event, chat_id: int) -> bool:
    """Whether the chat asked to be reminded of the event."""
    return await session.get(Reminder, (event.id, chat_id)) is not None


async def toggle_reminder(
    session: AsyncSession, event: Event, chat_id: int, hours: list[int], now: datetime
) -> bool:
    """Turns the chat's reminder for the event on or off; returns whether it is now on."""
    existing = await session.get(Reminder, (event.id, chat_id))
    if existing is not None:
        await session.delete(existing)
        await cancel_reminders(session, event, chat_id)
        return False
    session.add(Reminder(event_id=event.id, chat_id=chat_id))
    await schedule_reminders(session, event, [chat_id], hours, now)
    return True


async def announce(session: AsyncSession, event: Event, now: datetime) -> None:
    """Queues the news of a new event for every active chat following the PSG topic (or all
    news), once per chat however often it is announced."""
    followers = (
        select(
            Subscription.chat_id,
            literal(DeliveryKind.NOTICE.value),
            literal(Notice.EVENT_NEW.value),
            literal(event.id),
            literal(f"event:{event.id}:new"),
            literal(DeliveryStatus.PENDING.value),
            literal(now, type_=Delivery.due_at.type),
            literal(0),
            literal(now, type_=Delivery.created_at.type),
        )
        .join(Chat, and_(Chat.id == Subscription.chat_id, receiving()))
        .where(Subscription.topic.in_(["psg", ALL_NEWS]))
        .distinct()
    )
    columns = ["chat_id", "kind", "notice", "event_id", "key", "status", "due_at", "attempts"]
    await session.execute(
        dialect_insert(session)(Delivery)
        .from_select([*columns, "created_at"], followers)
        .on_conflict_do_nothing(
            index_elements=["chat_id", "key"], index_where=Delivery.key.is_not(None)
        )
    )


def told_fields(event: Event) -> dict[EventField, FieldValue]:
    """The event's fields whose changes its reminded chats are told of, as they are now."""
    return {field: getattr(event, field.value) for field in EventField}


def changes_between(
    before: dict[EventField, FieldValue], after: dict[EventField, FieldValue]
) -> EventChanges:
    """Each field that differs, old and new, in the order of EventField."""
    return {
        field: (before.get(field), after.get(field))
        for field in EventField
        if before.get(field) != after.get(field)
    }


async def notify_change(
    session: AsyncSession,
    event: Event,
    hours: list[int],
    now: datetime,
    changes: EventChanges | None = None,
) -> int:
    """Tells everyone who asked for a reminder (naming ``changes``, old and new, when known),
    and moves their reminders to the new time; returns how many chats are told."""
    chats = await reminded_chats(session, event)
    await enqueue_notice(
        session, chats, Notice.EVENT_CHANGED, now, event_id=event.id, changes=changes or None
    )
    await cancel_reminders(session, event)
    await schedule_reminders(session, event, chats, hours, now)
    return len(chats)


async def notify_cancellation(session: AsyncSession, event: Event, now: datetime) -> int:
    """Withdraws the event's reminders and tells those who asked for them that it is off;
    returns how many chats are told."""
    chats = await reminded_chats(session, event)
    await cancel_reminders(session, event)
    await enqueue_notice(session, chats, Notice.EVENT_CANCELLED, now, event_id=event.id)
    return len(chats)
