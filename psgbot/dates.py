"""Reading dates and times as people type them, in the PSG's time zone."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_LAYOUTS = (
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%d/%m/%Y %H:%M",
    "%d %B %Y %H:%M",
    "%d %b %Y %H:%M",
    "%d %B %Y %H.%M",
)
_DATE_ONLY = ("%Y-%m-%d", "%d/%m/%Y", "%d %B %Y", "%d %b %Y")
_RELATIVE = re.compile(r"(today|tomorrow)\s+(\d{1,2})[:.](\d{2})", re.IGNORECASE)


def parse_when(text: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """ "15 December 2018 10:30", "15/12/2018 10:30", "2018-12-15 10:30", "tomorrow 18:00"."""
    cleaned = " ".join(text.strip().split())
    relative = _RELATIVE.fullmatch(cleaned)
    if relative:
        day = now.astimezone(zone).date()
        if relative.group(1).lower() == "tomorrow":
            day += timedelta(days=1)
        try:
            moment = time(int(relative.group(2)), int(relative.group(3)))
        except ValueError:
            return None
        return datetime.combine(day, moment, tzinfo=zone)
    for layout in _LAYOUTS:
        try:
            return datetime.strptime(cleaned, layout).replace(tzinfo=zone)
        except ValueError:
            continue
    return None


_TIME_ONLY = re.compile(r"(\d{1,2})[:.](\d{2})")


def parse_time(text: str) -> time | None:
    """A time of day alone, "17:00" or "17.00" (an end on the day the event starts)."""
    match = _TIME_ONLY.fullmatch(text.strip())
    if match is None:
        return None
    try:
        return time(int(match.group(1)), int(match.group(2)))
    except ValueError:
        return None


def parse_day(text: str) -> date | None:
    """A date without a time, for all-day events."""
    cleaned = " ".join(text.strip().split())
    for layout in _DATE_ONLY:
        try:
            return datetime.strptime(cleaned, layout).date()
        except ValueError:
            continue
    return None
