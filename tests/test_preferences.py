"""The instants a chat's settings come to (no database): digests and quiet windows in the
chat's own zone, across clock changes and midnight; and the typed forms' parsing."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from psgbot.db.enums import DigestMode
from psgbot.preferences import (
    next_digest,
    parse_clock,
    parse_weekday,
    parse_window,
    quiet_window,
    zone_named,
)

LONDON, LIMA = ZoneInfo("Europe/London"), ZoneInfo("America/Lima")


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_a_daily_digest_keeps_its_local_hour_when_the_clocks_change() -> None:
    # Spring: London goes to summer time on 29 March 2026.
    assert next_digest(DigestMode.DAILY, time(8), None, LONDON, utc(2026, 3, 28, 9)) == utc(
        2026, 3, 29, 7
    )
    # Autumn: back to GMT on 25 October 2026.
    assert next_digest(DigestMode.DAILY, time(8), None, LONDON, utc(2026, 10, 24, 7)) == utc(
        2026, 10, 25, 8
    )
    # Exactly at the hour, the next one is tomorrow's.
    assert next_digest(DigestMode.DAILY, time(8), None, LIMA, utc(2026, 12, 1, 13)) == utc(
        2026, 12, 2, 13
    )


def test_a_weekly_digest_comes_on_its_day() -> None:
    # Tuesday 1 December 2026; Friday is weekday 4.
    assert next_digest(DigestMode.WEEKLY, time(18, 30), 4, LONDON, utc(2026, 12, 1, 12)) == utc(
        2026, 12, 4, 18, 30
    )
    # On the day itself, after the hour: a week later.
    assert next_digest(DigestMode.WEEKLY, time(9), 4, LONDON, utc(2026, 12, 4, 10)) == utc(
        2026, 12, 11, 9
    )
    assert next_digest(DigestMode.INSTANT, time(9), None, LONDON, utc(2026, 12, 4, 10)) is None


def test_a_quiet_window_that_crosses_midnight_is_the_current_one_inside_it() -> None:
    window = (time(22), time(7))
    # At 02:00 in Lima (07:00 UTC) the window began last night and ends at 07:00 (12:00 UTC).
    assert quiet_window(*window, LIMA, utc(2026, 12, 2, 7)) == (
        utc(2026, 12, 2, 3),
        utc(2026, 12, 2, 12),
    )
    # At 12:00 in Lima it is the coming night's.
    assert quiet_window(*window, LIMA, utc(2026, 12, 2, 17)) == (
        utc(2026, 12, 3, 3),
        utc(2026, 12, 3, 12),
    )
    # A window within one day.
    assert quiet_window(time(13), time(14), LONDON, utc(2026, 12, 2, 13, 30)) == (
        utc(2026, 12, 2, 13),
        utc(2026, 12, 2, 14),
    )


def test_a_night_window_spanning_a_clock_change_keeps_its_local_ends() -> None:
    # The night of 24-25 October 2026 in London is an hour longer.
    starts, ends = quiet_window(time(22), time(7), LONDON, utc(2026, 10, 25, 1))
    assert (starts, ends) == (utc(2026, 10, 24, 21), utc(2026, 10, 25, 7))


@pytest.mark.parametrize(
    ("typed", "parsed"),
    [
        ("08:00", time(8)),
        ("8:05", time(8, 5)),
        ("21.30", time(21, 30)),
        ("7h15", time(7, 15)),
        ("25:00", None),
        ("12:60", None),
        ("8", None),
        ("noon", None),
    ],
)
def test_times_of_day(typed: str, parsed: time | None) -> None:
    assert parse_clock(typed) == parsed


def test_windows_days_and_zones() -> None:
    assert parse_window("22:00-07:00") == (time(22), time(7))
    assert parse_window("23:00 – 06:30") == (time(23), time(6, 30))
    assert parse_window("22:00-22:00") is None
    assert parse_window("22:00") is None
    assert parse_weekday("Mon") == 0
    assert parse_weekday("sunday") == 6
    assert parse_weekday("mo") is None
    assert parse_weekday("xyz") is None
    assert parse_weekday("monkey") is None
    zone = zone_named("america/LIMA")
    assert zone is not None
    assert zone.key == "America/Lima"
    assert zone_named("Mars/Olympus") is None
    assert zone_named("../../etc/passwd") is None
    assert zone_named("") is None
