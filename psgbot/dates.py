"""Reading dates and times as people type them, in the PSG's time zone, and writing them in
the current language."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import (
    format_date,
    format_datetime,
    format_time,
    get_timezone,
    get_timezone_location,
)

from psgbot.i18n import BABEL_LOCALES, Language, babel_locale, current_language

# Dates are read in English and Spanish whatever the chat's language (an admin may type either),
# without regard to case or accents ("15 de diciembre de 2026 10:00", "manana 18:00"): month and
# day names come from Babel's data for the languages the bot speaks, and Peru's "setiembre".
_NUMERIC_LAYOUTS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M")
_NUMERIC_DAYS = ("%Y-%m-%d", "%d/%m/%Y")
_RELATIVE_DAYS = {
    "today": 0,
    "tomorrow": 1,
    "day after tomorrow": 2,
    "hoy": 0,
    "manana": 1,
    "pasado manana": 2,
}
_MONTH_ALIASES = {"setiembre": 9, "set": 9, "sep": 9}
# Years the bot reads: none before 2000, none more than this many years ahead (an all-day event
# on 31 December 9999 would end past the last date Python can hold).
_FIRST_YEAR, _YEARS_AHEAD = 2000, 10
_CLOCK = r"(?:,?\s+(?:at\s+|a\s+las\s+)?(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?:\s*h)?)"


def _fold(text: str) -> str:
    """Lower case, without accents, one space between words: "Mañana" is "manana"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(plain.split())


@cache
def _names() -> tuple[dict[str, int], dict[str, frozenset[int]]]:
    """Month names and abbreviations (to their numbers) and weekday names and abbreviations (to
    the weekdays they may name, Monday 0), folded, in every language the bot speaks."""
    months, days = dict(_MONTH_ALIASES), dict[str, set[int]]()
    for name in {"en", *BABEL_LOCALES.values()}:
        locale = Locale.parse(name)
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for number, month in locale.months[context][width].items():
                    months[_fold(month).rstrip(".")] = number
                for weekday, day in locale.days[context][width].items():
                    days.setdefault(_fold(day).rstrip("."), set()).add(weekday)
    return months, {day: frozenset(weekdays) for day, weekdays in days.items()}


def _year_allowed(year: int, now: datetime) -> bool:
    """Whether a typed date's year is one the bot takes: from 2000 to ten years from now."""
    return _FIRST_YEAR <= year <= now.year + _YEARS_AHEAD


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A named date ("[sunday] 15 [de] december [de] 2026[, 10:30]") and a relative one
    ("tomorrow 18:00", "pasado manana a las 18:00"), for folded text."""
    relative = "|".join(re.escape(word) for word in sorted(_RELATIVE_DAYS, key=len, reverse=True))
    named = re.compile(
        r"(?:(?P<weekday>[a-z]+),?\s+)?(?P<day>\d{1,2})(?:\s+de)?\s+(?P<month>[a-z]+)\.?"
        r"(?:\s+de)?\s+(?P<year>\d{4})" + _CLOCK + "?"
    )
    return named, re.compile(f"(?P<word>{relative})" + _CLOCK)


def _clock(match: re.Match[str]) -> time | None:
    try:
        return time(int(match.group("hour")), int(match.group("minute")))
    except ValueError:
        return None


def _named_date(folded: str) -> tuple[date, time | None] | None:
    """A date written with its month's name, and its time when one is given."""
    months, days = _names()
    match = _patterns()[0].fullmatch(folded)
    if match is None:
        return None
    weekday, month = match.group("weekday"), months.get(match.group("month"))
    if month is None or (weekday is not None and weekday not in days):
        return None
    try:
        day = date(int(match.group("year")), month, int(match.group("day")))
    except ValueError:
        return None
    if weekday is not None and day.weekday() not in days[weekday]:
        return None  # "lunes 15 de diciembre de 2026": the 15th is a Tuesday
    if match.group("hour") is None:
        return day, None
    moment = _clock(match)
    return (day, moment) if moment is not None else None


def parse_when(text: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """A date and time as an admin types it, in English or Spanish: "15 December 2026 10:30",
    "15 de diciembre de 2026 10:30", "15/12/2026 10:30", "2026-12-15 10:30", "tomorrow
    18:00", "mañana 18:00", "pasado mañana 18:00"; None when it is not one, or its year is
    before 2000 or more than ten years after ``now``'s."""
    when = _parse_when(text, zone, now)
    if when is None or not _year_allowed(when.year, now.astimezone(zone)):
        return None
    return when


def _parse_when(text: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    cleaned = " ".join(text.strip().split())
    folded = _fold(cleaned)
    relative = _patterns()[1].fullmatch(folded)
    if relative:
        moment = _clock(relative)
        if moment is None:
            return None
        day = now.astimezone(zone).date() + timedelta(days=_RELATIVE_DAYS[relative.group("word")])
        return datetime.combine(day, moment, tzinfo=zone)
    named = _named_date(folded)
    if named is not None:
        day, moment = named
        return datetime.combine(day, moment, tzinfo=zone) if moment is not None else None
    for layout in _NUMERIC_LAYOUTS:
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


def parse_day(text: str, now: datetime | None = None) -> date | None:
    """A date without a time, for all-day events: "15 December 2026", "15 de diciembre de
    2026", "15/12/2026", "2026-12-15"; None when it is not one, or its year is before 2000 or
    more than ten years after ``now``'s (the current time when not given)."""
    day = _parse_day(text)
    if day is None or not _year_allowed(day.year, now or datetime.now(UTC)):
        return None
    return day


def _parse_day(text: str) -> date | None:
    cleaned = " ".join(text.strip().split())
    named = _named_date(_fold(cleaned))
    if named is not None:
        day, moment = named
        return day if moment is None else None
    for layout in _NUMERIC_DAYS:
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
    "moment": {Language.EN: "d MMM y HH:mm", Language.ES: "d MMM y HH:mm"},
    "long moment": {
        Language.EN: "EEEE d MMMM y, HH:mm",
        Language.ES: "EEEE d 'de' MMMM 'de' y, HH:mm",
    },
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
    """ "29 Sept 2018 18:30 BST", "29 sept 2018 18:30 GMT+1" in the moment's own zone, named
    (for admins' views)."""
    pattern = _PATTERNS["moment"][current_language()]
    shown = format_datetime(moment, pattern, tzinfo=moment.tzinfo, locale=babel_locale())
    return f"{shown} {zone_abbreviation(moment)}"


def format_long_moment(moment: datetime) -> str:
    """ "Saturday 29 September 2018, 18:30 BST", "sábado 29 de septiembre de 2018, 18:30
    GMT+1" in the moment's own zone, named (a date and time read back to an admin)."""
    pattern = _PATTERNS["long moment"][current_language()]
    shown = format_datetime(moment, pattern, tzinfo=moment.tzinfo, locale=babel_locale())
    return f"{shown} {zone_abbreviation(moment)}"


def zone_abbreviation(moment: datetime) -> str:
    """The zone of ``moment`` as it stands then: its abbreviation where the language has one
    ("GMT", "BST" in English), else its offset from GMT ("GMT+1", "GMT-5")."""
    name = format_datetime(moment, "zzz", tzinfo=moment.tzinfo, locale=babel_locale())
    if name.isalpha():
        return name
    minutes = round((moment.utcoffset() or timedelta(0)).total_seconds() / 60)
    if minutes == 0:
        return "GMT"
    hours, rest = divmod(abs(minutes), 60)
    return f"GMT{'+' if minutes > 0 else '-'}{hours}" + (f":{rest:02d}" if rest else "")


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
