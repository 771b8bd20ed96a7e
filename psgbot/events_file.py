"""The events file (data/events.yaml, ``psgbot events import|export``) through pydantic models:
read, validated, stored as Events, and written back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from psgbot.config import TimeZoneName
from psgbot.db.engine import dialect_insert
from psgbot.db.models import Event
from psgbot.db.types import EventChanges, utcnow
from psgbot.events import changes_between, told_fields


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
) -> tuple[list[Event], list[tuple[Event, EventChanges]]]:
    """Adds new events and updates existing ones (same uid); returns (added, changed), each
    changed event with what changed of the fields its reminded chats are told of."""
    added: list[Event] = []
    changed: list[tuple[Event, EventChanges]] = []
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
            before = told_fields(stored)
            for name in fields:
                setattr(stored, name, getattr(incoming, name))
            stored.updated_at = utcnow()
            changed.append((stored, changes_between(before, told_fields(stored))))
    await session.flush()
    return added, changed
