"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, Enum, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from psgbot.db.enums import EventField


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in and out.

    SQLite keeps no time zone, so values are stored as naive UTC and made aware again on the way
    out; naive input is refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


FieldValue = str | datetime | None
# What changed in an event: each changed field's value before and after.
EventChanges = dict[EventField, tuple[FieldValue, FieldValue]]
TIME_FIELDS = frozenset({EventField.STARTS_AT, EventField.ENDS_AT})


class EventChangesJson(TypeDecorator[EventChanges]):
    """:data:`EventChanges` in and out, stored as JSON ``{"venue": ["Hall A", "Hall B"]}``;
    times as ISO 8601 in UTC, read back as aware datetimes. A field this version does not know
    is left out on the way out."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: EventChanges | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return {field.value: [_to_json(old), _to_json(new)] for field, (old, new) in value.items()}

    def process_result_value(self, value: Any, dialect: Dialect) -> EventChanges | None:
        if value is None:
            return None
        known = {field.value: field for field in EventField}
        changes: EventChanges = {}
        for name, (old, new) in value.items():
            if (field := known.get(name)) is not None:
                changes[field] = (_from_json(field, old), _from_json(field, new))
        return changes


def _to_json(value: FieldValue) -> str | None:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in an event's changes")
        return value.astimezone(UTC).isoformat()
    return value


def _from_json(field: EventField, value: str | None) -> FieldValue:
    if value is not None and field in TIME_FIELDS:
        return datetime.fromisoformat(value).astimezone(UTC)
    return value


class StringLines(TypeDecorator[tuple[str, ...]]):
    """A tuple of at most ``most`` one-line strings of 1 to ``longest`` characters, in and out,
    stored in one bounded VARCHAR as :meth:`joined` writes them ("" for none, NULL for None).
    A value out of bounds is refused on the way in: what a feed sends is bounded when it is read
    (psgbot.feeds.parse), so that none is. Stored text compares with :meth:`joined` as it is,
    without reading it back as a tuple: ingest's check of unchanged items costs no decoding."""

    impl = String
    cache_ok = True

    def __init__(self, most: int, longest: int) -> None:
        super().__init__(most * (longest + 1))
        self.most, self.longest = most, longest

    @staticmethod
    def joined(strings: tuple[str, ...]) -> str:
        return "\n".join(strings)

    def process_bind_param(self, value: tuple[str, ...] | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if len(value) > self.most or any(
            not isinstance(string, str) or not 0 < len(string) <= self.longest or "\n" in string
            for string in value
        ):
            raise ValueError(f"not {self.most} or fewer lines of 1 to {self.longest} characters")
        return self.joined(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> tuple[str, ...] | None:
        if value is None:
            return None
        return tuple(value.split("\n")) if value else ()


def utcnow() -> datetime:
    return datetime.now(UTC)


def str_enum(enum: type[StrEnum], length: int = 20) -> Enum:
    """A string enum stored as its value in a VARCHAR: no database enum type and no CHECK
    constraint, so adding a member never needs a migration. Rows read back as members; a value
    outside the enum is refused on the way in."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
