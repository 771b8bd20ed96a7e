"""The PSG's events: read from ``data/events.yaml`` (through pydantic models), listed as
upcoming or past, and the outbox rows of their reminders and notices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy import and_, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from psgbot.config import TimeZoneName
from psgbot.db.deliveries import status_is
from psgbot.db.engine import dialect_insert
from psgbot.db.enums import DeliveryKind, DeliveryStatus, Notice
from psgbot.db.models import ALL_NEWS, Chat, Delivery, Event, Reminder, Subscription, receiving
from psgbot.db.types import utcnow
from psgbot.outbox import enqueue_notice


@dataclass(frozen=True)
class EventListing:
    """What ``/events`` shows: upcoming events, or (when there are none) the latest past ones."""

    events: Sequence[Event]
    past: bool


def _moment(value: object) -> datetime | date:
    """A YAML start or end: a date (all day), or a date and time, with or without an offset."""
    if isinstance(value, date):  # datetimes too: YAML reads "… 18:00:00+02:00" as one
        return value
    text = str(value).strip()
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"a date (YYYY-MM-DD) or a date and time (YYYY-MM-DD HH:MM), not {text!r}"
        ) from None


Moment = Annotated[datetime | date, BeforeValidator(_moment)]


def _number_as_text(value: object) -> object:
    return str(value) if isinstance(value, int) else value


class EventEntry(BaseModel):
    """One event as data/events.yaml (and ``psgbot events export``) writes it.

    A time without an offset is in the event's ``timezone``; an explicit offset
    ("2026-12-01T18:00+02:00") is honoured as written.
    """

    model_config = ConfigDict(frozen=True)

    # YAML reads an unquoted number as one: uid 2024 is "2024".
    uid: Annotated[str, BeforeValidator(_number_as_text)] = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=500)
    start: Moment
    end: Moment | None = None
    timezone: TimeZoneName = "Europe/London"
    subtitle: str | None = None
    venue: str | None = None
    address: str | None = None
    online_url: str | None = None
    description: str | None = None
    registration_url: str | None = None
    prices: str | None = None
    programme: str | None = None
    organiser: str | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    # Written by the export; whether an event is cancelled is decided in chat, not by a file.
    cancelled: bool = False

    def to_event(self) -> Event:
        zone = ZoneInfo(self.timezone)
        starts_at, all_day = _instant(self.start, zone)
        ends_at = _instant(self.end, zone)[0] if self.end else None
        if all_day and ends_at is None:
            ends_at = starts_at + timedelta(days=1)
        details = self.model_dump(include=set(DETAIL_FIELDS))
        return Event(
            uid=self.uid,
            title=self.title,
            starts_at=starts_at,
            ends_at=ends_at,
            all_day=all_day,
            timezone=self.timezone,
            **details,
        )


class EventsFile(BaseModel):
    events: list[EventEntry] = Field(default_factory=list)


DETAIL_FIELDS = (
    "subtitle",
    "venue",
    "address",
    "online_url",
    "description",
    "registration_url",
    "prices",
    "programme",
    "organiser",
    "latitude",
    "longitude",
)


def _instant(moment: datetime | date, zone: ZoneInfo) -> tuple[datetime, bool]:
    """The moment as an aware datetime, and whether it is a whole day."""
    if isinstance(moment, datetime):
        return (moment if moment.tzinfo else moment.replace(tzinfo=zone)), False
    return datetime.combine(moment, time(0, 0), tzinfo=zone), True


def event_from_yaml(entry: EventEntry | Mapping[str, object]) -> Event:
    """An Event (not stored) from one entry of an events file; raises ValueError (pydantic's
    ValidationError) naming what is wrong."""
    if not isinstance(entry, EventEntry):
        entry = EventEntry.model_validate(entry)
    return entry.to_event()


def read_events_file(path: Path) -> list[EventEntry]:
    if not path.exists():
        return []
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return EventsFile.model_validate(loaded).events


async def add_new_events(session: AsyncSession, entries: Sequence[EventEntry]) -> int:
    """Adds the events that are not stored yet (by uid); returns how many were added.

    Stored events are left alone: admins may have edited them since. ON CONFLICT DO NOTHING
    lets several instances starting together load the file without tripping over each other.
    """
    added = 0
    for entry in entries:
        event = event_from_yaml(entry)
        values = {
            column.key: getattr(event, column.key)
            for column in Event.__table__.columns
            if column.key != "id"
        }
        values["created_at"] = values["updated_at"] = utcnow()
        values["cancelled"] = False
        result = await session.execute(
            dialect_insert(session)(Event)
            .values(values)
            .on_conflict_do_nothing(index_elements=["uid"])
        )
        added += int(getattr(result, "rowcount", 0) or 0)
    return added


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


EXPORTED_FIELDS = ("uid", "title", "timezone", *DETAIL_FIELDS)


def event_to_yaml(event: Event) -> dict[str, object]:
    """The inverse of :func:`event_from_yaml`, for ``psgbot events export``."""
    zone = ZoneInfo(event.timezone)
    entry: dict[str, object] = {
        name: getattr(event, name) for name in EXPORTED_FIELDS if getattr(event, name) is not None
    }
    start = event.starts_at.astimezone(zone)
    entry["start"] = (
        start.strftime("%Y-%m-%d") if event.all_day else start.strftime("%Y-%m-%d %H:%M")
    )
    if event.ends_at and not event.all_day:
        entry["end"] = event.ends_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if event.cancelled:
        entry["cancelled"] = True
    return entry


async def import_events(
    session: AsyncSession, entries: Sequence[EventEntry | Mapping[str, object]]
) -> tuple[list[Event], list[Event]]:
    """Adds new events and updates existing ones (same uid); returns (added, changed)."""
    added: list[Event] = []
    changed: list[Event] = []
    for entry in entries:
        incoming = event_from_yaml(entry)
        stored = await session.scalar(select(Event).where(Event.uid == incoming.uid))
        if stored is None:
            session.add(incoming)
            added.append(incoming)
            continue
        fields = [
            column.key
            for column in Event.__table__.columns
            if column.key not in {"id", "uid", "created_at", "updated_at", "cancelled"}
        ]
        if any(getattr(stored, name) != getattr(incoming, name) for name in fields):
            for name in fields:
                setattr(stored, name, getattr(incoming, name))
            stored.updated_at = utcnow()
            changed.append(stored)
    await session.flush()
    return added, changed


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


async def notify_change(
    session: AsyncSession, event: Event, hours: list[int], now: datetime
) -> None:
    """Tells everyone who asked for a reminder, and moves their reminders to the new time."""
    chats = await reminded_chats(session, event)
    await enqueue_notice(session, chats, Notice.EVENT_CHANGED, now, event_id=event.id)
    await cancel_reminders(session, event)
    await schedule_reminders(session, event, chats, hours, now)


async def notify_cancellation(session: AsyncSession, event: Event, now: datetime) -> int:
    """Withdraws the event's reminders and tells those who asked for them that it is off;
    returns how many chats are told."""
    chats = await reminded_chats(session, event)
    await cancel_reminders(session, event)
    await enqueue_notice(session, chats, Notice.EVENT_CANCELLED, now, event_id=event.id)
    return len(chats)
