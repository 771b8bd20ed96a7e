"""Dates as admins type them, in English or Spanish, and as the bot writes them back."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from psgbot.dates import format_long_moment, format_moment, parse_day, parse_when
from psgbot.i18n import Language, using

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday, GMT in London


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("15 December 2026 10:30", (2026, 12, 15, 10, 30)),
        ("15 Dec 2026 10.30", (2026, 12, 15, 10, 30)),
        ("Tuesday 15 December 2026, 10:30", (2026, 12, 15, 10, 30)),
        ("15/12/2026 10:30", (2026, 12, 15, 10, 30)),
        ("2026-12-15 10:30", (2026, 12, 15, 10, 30)),
        ("tomorrow 18:00", (2026, 12, 1, 18, 0)),
        ("Today 09:05", (2026, 11, 30, 9, 5)),
        ("15 de diciembre de 2026 10:00", (2026, 12, 15, 10, 0)),
        ("15 diciembre 2026 10:00", (2026, 12, 15, 10, 0)),
        ("martes 15 de diciembre de 2026, 10:00", (2026, 12, 15, 10, 0)),
        ("15 de setiembre de 2026 a las 10:00", (2026, 9, 15, 10, 0)),
        ("15 dic. 2026 10:00", (2026, 12, 15, 10, 0)),
        ("mañana 18:00", (2026, 12, 1, 18, 0)),
        ("MANANA 18:00", (2026, 12, 1, 18, 0)),
        ("pasado mañana 18:00", (2026, 12, 2, 18, 0)),
        ("hoy  21:30", (2026, 11, 30, 21, 30)),
    ],
)
def test_dates_are_read_in_english_and_spanish(typed: str, meant: tuple[int, ...]) -> None:
    when = parse_when(typed, LONDON, NOW)
    assert when is not None, typed
    assert (when.year, when.month, when.day, when.hour, when.minute) == meant
    assert when.tzinfo is LONDON


@pytest.mark.parametrize(
    "typed",
    [
        "next tuesday",
        "sometime soon",
        "31 de febrero de 2026 10:00",
        "15 de diciembre de 2026 25:00",
        "15 Decembre 2026 10:00",
        "lunes",
        "someday 15 December 2026 10:00",
        "mañana",
        "15 December 2026",  # a day without a time is parse_day's
        # A named weekday that is not the date's: the 15th is a Tuesday.
        "lunes 15 de diciembre de 2026 10:00",
        "Monday 15 December 2026, 10:30",
        "sun 15 dec 2026 10:30",
        # Years before 2000, or more than ten after now's (2026).
        "31 de diciembre de 9999 a las 23:00",
        "9999-12-31 23:00",
        "1 January 2037 10:00",
        "31/12/1999 23:00",
        "31 December 1999 23:00",
    ],
)
def test_what_is_not_a_date_and_time_is_refused(typed: str) -> None:
    assert parse_when(typed, LONDON, NOW) is None


def test_a_day_alone_in_either_language() -> None:
    assert parse_day("15 December 2026") == date(2026, 12, 15)
    assert parse_day("15 de diciembre de 2026") == date(2026, 12, 15)
    assert parse_day("15/12/2026") == date(2026, 12, 15)
    assert parse_day("15 de diciembre de 2026 10:00") is None
    assert parse_day("martes 15 de diciembre de 2026") == date(2026, 12, 15)
    assert parse_day("lunes 15 de diciembre de 2026") is None


def test_years_from_2000_to_ten_years_ahead() -> None:
    assert parse_when("1 January 2000 00:00", LONDON, NOW) is not None
    assert parse_when("31 December 2036 23:59", LONDON, NOW) is not None
    assert parse_when("31/12/1999 23:59", LONDON, NOW) is None
    assert parse_when("2037-01-01 00:00", LONDON, NOW) is None
    assert parse_day("1/1/2000", NOW) == date(2000, 1, 1)
    assert parse_day("31 December 2036", NOW) == date(2036, 12, 31)
    assert parse_day("31 December 1999", NOW) is None
    assert parse_day("1 de enero de 2037", NOW) is None
    assert parse_day("31 de diciembre de 9999") is None
    assert parse_day("9999-12-31") is None


def test_moments_are_written_in_the_current_language() -> None:
    winter = datetime(2026, 12, 1, 9, 0, tzinfo=LONDON)
    summer = datetime(2026, 6, 1, 18, 30, tzinfo=LONDON)
    assert format_moment(winter) == "1 Dec 2026 09:00 GMT"
    assert format_moment(summer) == "1 Jun 2026 18:30 BST"
    assert format_long_moment(winter) == "Tuesday 1 December 2026, 09:00 GMT"
    with using(Language.ES):
        # Spanish has no names for British zones: the offset from GMT.
        assert format_moment(winter) == "1 dic 2026 09:00 GMT"
        assert format_moment(summer) == "1 jun 2026 18:30 GMT+1"
        assert format_long_moment(winter) == "martes 1 de diciembre de 2026, 09:00 GMT"
