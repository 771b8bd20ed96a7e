"""The outbox's tables: one row per message owed to a chat, and the daily counts of rows the
retention purge deleted. The conditions the queries use to reach each status's partial index
live here too, beside the indexes they must match."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from psgbot.db.base import Base
from psgbot.db.enums import DeliveryKind, DeliveryStatus, Notice, Priority
from psgbot.db.types import EventChanges, EventChangesJson, UtcDateTime, str_enum, utcnow


def _is(status: DeliveryStatus) -> str:
    return f"status = '{status.value}'"


# The conditions of the partial indexes, as SQL.
PENDING_ROWS_SQL = _is(DeliveryStatus.PENDING)
SENDING_ROWS_SQL = _is(DeliveryStatus.SENDING)
HELD_ROWS_SQL = _is(DeliveryStatus.HELD)
SENT_ROWS_SQL = _is(DeliveryStatus.SENT)
UNSENT_ROWS_SQL = f"{_is(DeliveryStatus.FAILED)} OR {_is(DeliveryStatus.CANCELLED)}"


def _partial(condition: str) -> dict[str, Any]:
    """An index's condition, on both databases."""
    where = text(condition)
    return {"sqlite_where": where, "postgresql_where": where}


def status_is(status: DeliveryStatus) -> ColumnElement[bool]:
    """``status = '<literal>'``: a literal, not a bound parameter, because SQLite uses a partial
    index only for a query that names its condition (never through a parameter)."""
    return Delivery.status == literal_column(f"'{status.value}'")


class Delivery(Base):
    """One message owed to one chat: the outbox every alert, notice and broadcast goes through.

    A row says what to send as data (an item, a broadcast, or a notice about an event or a
    feed), never as markup: the dispatcher renders it when it sends. Rows move pending ->
    sending (claimed by a dispatcher, with a lease) -> sent | failed | cancelled. ``due_at``
    delays a row (retries, scheduled sends). An alert row is unique per (chat, item), so however
    often an item is seen, a chat gets it once.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("chat_id", "item_id", name="uq_deliveries_chat_item"),
        # Partial: an alert row (no broadcast, no key, no event) has no entry to write in these.
        Index(
            "uq_deliveries_chat_broadcast",
            "chat_id",
            "broadcast_id",
            unique=True,
            **_partial("broadcast_id IS NOT NULL"),
        ),
        Index(
            "uq_deliveries_chat_key",
            "chat_id",
            "key",
            unique=True,
            **_partial("key IS NOT NULL"),
        ),
        Index(
            "ix_deliveries_event",
            "event_id",
            "notice",
            **_partial("event_id IS NOT NULL"),
        ),
        # Rows of one chat are found through the unique constraints above (chat_id first).
        Index(
            "ix_deliveries_pending_due",
            "priority",
            "due_at",
            "id",
            **_partial(PENDING_ROWS_SQL),
        ),
        Index(
            "ix_deliveries_sending_claimed",
            "claimed_at",
            **_partial(SENDING_ROWS_SQL),
        ),
        # Held alerts: those whose hold has ended, and one chat's (gathered into one message,
        # or re-timed when the chat changes its settings).
        Index("ix_deliveries_held_due", "due_at", **_partial(HELD_ROWS_SQL)),
        Index("ix_deliveries_held_chat", "chat_id", **_partial(HELD_ROWS_SQL)),
        # Settled rows by the time /stats counts them on and the retention purge ages them by
        # (psgbot.retention): sent rows by sent_at, failed and cancelled ones by created_at.
        # Partial, so enqueueing (pending rows) never writes to them; the queries name the same
        # conditions (status_is). Status leads even where it is constant: SQLite, without
        # statistics, prefers another index for "status = ?" unless this one serves the status
        # and the time range both.
        Index(
            "ix_deliveries_settled_sent",
            "status",
            "sent_at",
            "kind",
            **_partial(SENT_ROWS_SQL),
        ),
        Index(
            "ix_deliveries_settled_unsent",
            "status",
            "created_at",
            "kind",
            **_partial(UNSENT_ROWS_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[DeliveryKind] = mapped_column(str_enum(DeliveryKind))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE"), index=True
    )
    # What a notice is about, and the event or feed it names.
    notice: Mapped[Notice | None] = mapped_column(str_enum(Notice))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    # A reminder: the start it was written for (it is not sent once that has passed) and how
    # many hours before it it is due.
    event_start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reminder_hours: Mapped[int | None] = mapped_column(SmallInteger)
    # A change notice: what changed, old and new (revision 0012; None on older rows).
    changes: Mapped[EventChanges | None] = mapped_column(EventChangesJson)
    # Only Notice.LEGACY rows (queued before revision 0011) carry their HTML here.
    text: Mapped[str | None] = mapped_column(Text)
    # Makes a notice unique per chat (psgbot.outbox writes it; nothing reads it back).
    key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    # Claimed most urgent first (then by due time); alerts unless said otherwise.
    priority: Mapped[int] = mapped_column(
        SmallInteger, default=Priority.ALERT, server_default=str(int(Priority.ALERT))
    )
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)


# Settled rows, by status, in the words of the partial indexes on them: sent rows are counted
# by sent_at, failed and cancelled ones by created_at.
SENT_ROWS = status_is(DeliveryStatus.SENT)
FAILED_ROWS = status_is(DeliveryStatus.FAILED)
CANCELLED_ROWS = status_is(DeliveryStatus.CANCELLED)


class DeliveryRollup(Base):
    """Daily counts of the settled delivery rows that the retention purge deleted
    (psgbot.retention), by day, kind, topic and status.

    A row counts on the day /stats counts it on: a sent row on the day it was sent, a failed or
    cancelled one on the day it was created (the only time it carries). Each row counts once
    under the topic ``ALL_NEWS`` ("*": every row of its kind, so totals stay exact), and once
    under each topic of its alert's item, or under "" when it has none (an untagged item, a
    notice, a broadcast). The subscription that matched is not stored, so the item's topics
    stand for what an alert was about.
    """

    __tablename__ = "delivery_rollups"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[DeliveryKind] = mapped_column(str_enum(DeliveryKind), primary_key=True)
    topic: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
