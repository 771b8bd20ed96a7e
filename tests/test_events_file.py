"""The events file is read through pydantic models: times in the event's zone unless they say
their own offset, and a bad entry refused with what is wrong."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from psgbot.config import DEFAULT_DATA_DIR
from psgbot.events_file import event_from_yaml, event_to_yaml, read_events_file


def test_an_explicit_utc_offset_is_honoured() -> None:
    event = event_from_yaml(
        {"uid": "x", "title": "Talk", "start": "2026-12-01T18:00+02:00", "timezone": "America/Lima"}
    )
    assert event.starts_at == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    assert event.timezone == "America/Lima"  # still shown in the event's own zone


def test_a_time_without_offset_is_in_the_events_zone(tmp_path: Path) -> None:
    source = tmp_path / "events.yaml"
    source.write_text(
        "events:\n"
        "  - {uid: a, title: Vigil, start: '2026-12-01 18:00', timezone: America/Lima}\n"
        "  - {uid: b, title: March, start: 2026-07-01 18:00:00+01:00}\n"
        "  - {uid: 2024, title: AGM, start: 2026-12-05}\n",
        encoding="utf-8",
    )
    vigil, march, agm = (entry.to_event() for entry in read_events_file(source))
    assert vigil.starts_at == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)  # Lima is UTC-5
    assert march.starts_at == datetime(2026, 7, 1, 17, 0, tzinfo=UTC)
    assert (agm.uid, agm.all_day) == ("2024", True)
    assert agm.ends_at is not None
    assert agm.ends_at - agm.starts_at == timedelta(days=1)


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ({"title": "No uid", "start": "2026-12-01"}, "uid"),
        ({"uid": "x", "title": "Talk", "start": "soon"}, "not 'soon'"),
        ({"uid": "x", "title": "Talk", "start": "2026-12-01", "timezone": "Mars/Olympus"}, "IANA"),
        ({"uid": "x", "title": "Talk", "start": "2026-12-01", "latitude": 123}, "latitude"),
    ],
)
def test_a_bad_entry_is_refused_saying_what_is_wrong(
    entry: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        event_from_yaml(entry)


def test_the_bundled_file_reads_and_exports_back() -> None:
    (entry,) = read_events_file(DEFAULT_DATA_DIR / "events.yaml")
    event = entry.to_event()
    assert event.all_day
    exported = event_to_yaml(event)
    assert exported["start"] == "2018-12-15"
    assert event_from_yaml(exported).starts_at.date() == date(2018, 12, 15)
