"""Typed values stored in columns.

The string enums are stored as their values in plain VARCHAR columns (no database enum type, no
CHECK constraint: see psgbot.db.types.str_enum), so the rows written before they existed
read back unchanged.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Priority(IntEnum):
    """Who goes first, in the outbox and in the flood limiter; lower is more urgent.

    Replies to users are not outbox rows, but share the flood budget, where they come first.
    """

    REPLY = 0
    URGENT = 1  # urgent broadcasts
    ALERT = 2  # alerts, reminders, notices
    BULK = 3  # ordinary broadcasts


class DeliveryStatus(StrEnum):
    """An outbox row's life: pending -> sending (claimed, with a lease) -> sent | failed |
    cancelled. A chat that blocked the bot is a failed row whose error says so. An alert to a
    chat in its quiet hours or on digests is held until its digest row gathers it."""

    PENDING = "pending"
    HELD = "held"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class DeliveryKind(StrEnum):
    """What an outbox row sends: a news item, a notice (see ``Notice``), a broadcast, or a
    digest: the one message that gathers a chat's held alerts when its hold ends."""

    ALERT = "alert"
    NOTICE = "notice"
    BROADCAST = "broadcast"
    DIGEST = "digest"


class DigestMode(StrEnum):
    """How a chat gets its alerts: each at once, or gathered once a day or once a week."""

    INSTANT = "instant"
    DAILY = "daily"
    WEEKLY = "weekly"


class Notice(StrEnum):
    """What a notice row is about; the message is rendered from it when it is sent (in the
    words and language of that moment), from the event or feed the row names."""

    EVENT_NEW = "event_new"
    EVENT_REMINDER = "event_reminder"
    EVENT_CHANGED = "event_changed"
    EVENT_CANCELLED = "event_cancelled"
    FEED_FAILING = "feed_failing"
    FEED_GONE = "feed_gone"
    FEED_RECOVERED = "feed_recovered"
    # HTML queued before revision 0011 stored notices as data: sent as it was stored.
    LEGACY = "legacy"


class EventField(StrEnum):
    """An event's field whose change its reminded chats are told of, old -> new (the value is
    the column's name)."""

    TITLE = "title"
    STARTS_AT = "starts_at"
    ENDS_AT = "ends_at"
    VENUE = "venue"
    ADDRESS = "address"
    ONLINE_URL = "online_url"


class BroadcastStatus(StrEnum):
    """scheduled -> sending (fanned out into the outbox) -> done | cancelled."""

    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class Role(StrEnum):
    """An admin's role: owners (PSGBOT_ADMINS) may do everything editors may, and manage admins."""

    OWNER = "owner"
    EDITOR = "editor"


class AuditAction(StrEnum):
    """What an admin (or the bot, for a broadcast it finished) did, in the audit log. The
    values are the words the log has always stored: rows of every version read back."""

    BROADCAST_CREATED = "broadcast created"
    BROADCAST_SENT = "broadcast sent"
    BROADCAST_STOPPED = "broadcast stopped"
    BROADCAST_CANCELLED = "broadcast cancelled"
    EVENT_ADDED = "event added"
    EVENT_CHANGED = "event changed"
    EVENT_CANCELLED = "event cancelled"
    EVENTS_IMPORTED = "events imported"
    TEXT_EDITED = "text edited"
    TEXT_RESET = "text reset"
    ADMIN_ADDED = "admin add"
    ADMIN_REMOVED = "admin remove"
    FEED_ENABLED = "feed enabled"
    CHANNEL_CONNECTED = "channel connected"
    CHANNEL_REMOVED = "channel removed"
    CHANNEL_LANGUAGE = "channel language"
    RETAG = "retag"
