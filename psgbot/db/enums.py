"""Typed values stored in columns."""

from __future__ import annotations

from enum import IntEnum


class Priority(IntEnum):
    """Who goes first, in the outbox and in the flood limiter; lower is more urgent.

    Replies to users are not outbox rows, but share the flood budget, where they come first.
    """

    REPLY = 0
    URGENT = 1  # urgent broadcasts
    ALERT = 2  # alerts, reminders, notices
    BULK = 3  # ordinary broadcasts
