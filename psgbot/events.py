"""The PSG's events: loaded from ``data/events.yaml`` and listed as upcoming or past."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from psgbot.db.engine import dialect_insert
from psgbot.db.models import Event
from psgbot.db.types import utcnow


@dataclass(frozen=True)
class EventListing:
    """What ``/events`` shows: upcoming events, or (when there are none) the latest past ones."""

    events: Sequence[Event]
    past: bool


def _moment(value: Any, zone: ZoneInfo) -> tuple[datetime, bool]:
    """Reads a YAML start or end: a date (all day) or "YYYY-MM-DD HH:MM" in the event's zone."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=zone) if value.tzinfo is None else value, False
    if isinstance(value, date):
        return datetime.combine(value, time(0, 0), tzinfo=zone), True
    text = str(value).strip()
    try:
        return datetime.fromisoformat(text).replace(tzinfo=zone), False
    except ValueError:
        return datetime.combine(date.fromisoformat(text), time(0, 0), tzinfo=zone), True


def event_from_yaml(entry: dict[str, Any]) -> Event:
    zone = ZoneInfo(entry.get("timezone", "Europe/London"))
    starts_at, all_day = _moment(entry["start"], zone)
    ends_at = _moment(entry["end"], zone)[0] if entry.get("end") else None
    if all_day and ends_at is None:
        ends_at = starts_at + timedelta(days=1)
    return Event(
        uid=str(entry["uid"]),
        title=entry["title"],
        subtitle=entry.get("subtitle"),
        starts_at=starts_at,
        ends_at=ends_at,
        all_day=all_day,
        timezone=str(zone),
        venue=entry.get("venue"),
        address=entry.get("address"),
        online_url=entry.get("online_url"),
        description=entry.get("description"),
        registration_url=entry.get("registration_url"),
        prices=entry.get("prices"),
    )


def read_events_file(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    entries = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("events") or []
    return list(entries)


async def add_new_events(session: AsyncSession, entries: list[dict[str, Any]]) -> int:
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
    session: AsyncSession, *, now: datetime | None = None, limit: int = 5
) -> EventListing:
    """Upcoming events soonest first; when none, the latest past ones, newest first.

    An event counts as upcoming until it ends (or starts, when it has no end), so a conference
    in progress is still listed.
    """
    now = now or utcnow()
    active = Event.cancelled.is_(False)
    upcoming = list(
        await session.scalars(
            select(Event)
            .where(
                active, (Event.ends_at > now) | (Event.ends_at.is_(None) & (Event.starts_at > now))
            )
            .order_by(Event.starts_at)
            .limit(limit)
        )
    )
    if upcoming:
        return EventListing(upcoming, past=False)
    past = await session.scalars(
        select(Event).where(active).order_by(Event.starts_at.desc()).limit(limit)
    )
    return EventListing(list(past), past=True)
