"""Reading dates and times as people type them, in the PSG's time zone, and writing them in
the current language."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import (
    format_date,
    format_datetime,
    format_time,
    get_timezone,
    get_timezone_location,
)

from psgbot.i18n import Language, babel_locale, current_language

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


# Dates as the bot writes them, in the current language (psgbot.i18n): English as the PSG
# writes ("Saturday 29 September 2018"), Spanish with its "de" ("sábado 29 de septiembre de
# 2018"). Babel's patterns, by what is shown.
_PATTERNS: dict[str, dict[Language, str]] = {
    "day": {Language.EN: "EEEE d MMMM y", Language.ES: "EEEE d 'de' MMMM 'de' y"},
    "date": {Language.EN: "d MMMM y", Language.ES: "d 'de' MMMM 'de' y"},
    "short day": {Language.EN: "EEE d MMM", Language.ES: "EEE d MMM"},
    "short moment": {Language.EN: "EEE d MMM HH:mm", Language.ES: "EEE d MMM HH:mm"},
    "moment": {Language.EN: "d MMM y HH:mm zzz", Language.ES: "d MMM y HH:mm zzz"},
}


def format_day(day: date) -> str:
    """ "Saturday 29 September 2018", "sábado 29 de septiembre de 2018"."""
    return format_date(day, _PATTERNS["day"][current_language()], locale=babel_locale())


def format_long_date(day: date) -> str:
    """ "29 September 2018", "29 de septiembre de 2018"."""
    return format_date(day, _PATTERNS["date"][current_language()], locale=babel_locale())


def format_short_day(day: date) -> str:
    """ "Sat 29 Sept", "sáb 29 sept"."""
    return format_date(day, _PATTERNS["short day"][current_language()], locale=babel_locale())


def format_short_moment(moment: datetime) -> str:
    """ "Sat 29 Sept 18:30" in the moment's own zone."""
    pattern = _PATTERNS["short moment"][current_language()]
    return format_datetime(moment, pattern, tzinfo=moment.tzinfo, locale=babel_locale())


def format_moment(moment: datetime) -> str:
    """ "29 Sept 2018 18:30 BST" in the moment's own zone (for admins' views)."""
    pattern = _PATTERNS["moment"][current_language()]
    return format_datetime(moment, pattern, tzinfo=moment.tzinfo, locale=babel_locale())


def format_clock(moment: time) -> str:
    """ "18:30" (both languages use the 24-hour clock)."""
    return format_time(moment, "HH:mm", locale=babel_locale())


def zone_city(zone: str) -> str:
    """The place a time zone is named after, in the current language: "London", "Londres"."""
    try:
        city = get_timezone_location(get_timezone(zone), locale=babel_locale(), return_city=True)
    except LookupError:
        city = ""
    return city or zone.rsplit("/", 1)[-1].replace("_", " ")
