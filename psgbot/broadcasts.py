"""Broadcasts: an announcement to an audience, fanned out into the outbox when it is due.

A broadcast is stored first (now or for later) and released by the dispatcher when its time
comes, so a scheduled one survives restarts and one written by ``psgbot broadcast`` is sent by
whichever bot instance is running.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, literal, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from psgbot.db.engine import dialect_insert
from psgbot.db.enums import BroadcastStatus, DeliveryKind, DeliveryStatus, Priority
from psgbot.db.models import ALL_NEWS, Broadcast, Chat, Delivery, Subscription, receiving
from psgbot.i18n import Language
from psgbot.preferences import hold_until, roll_schedules
from psgbot.topics import Taxonomy

# Short names the bot and the command line use for a broadcast's statuses.
SCHEDULED, SENDING_STATUS = BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING
DONE, STOPPED = BroadcastStatus.DONE, BroadcastStatus.CANCELLED
BLOCKED_PREFIXES = ("blocked:", "Chat not found", "Bad Request: chat not found")


class AudienceError(ValueError):
    """An audience that is not "all", "topic:<slug>" or "chat:<id>"."""


class AudienceKind(StrEnum):
    """Who a broadcast is for, as its stored audience begins: everyone ("all"), one topic's
    subscribers ("topic:<slug>") or one chat ("chat:<id>", an admin's test)."""

    ALL = "all"
    TOPIC = "topic"
    CHAT = "chat"


def audience_of(audience: str) -> tuple[AudienceKind, str]:
    """A stored audience as its kind and what it names (a topic's slug, a chat's id)."""
    kind, _, value = audience.partition(":")
    try:
        return AudienceKind(kind), value
    except ValueError:
        raise AudienceError(audience) from None


def check_audience(audience: str, taxonomy: Taxonomy) -> str:
    """The audience in its stored form; a topic may be named as in chat (slug, name or alias:
    ``topic:mining`` is ``topic:extractives``)."""
    kind, _, value = audience.partition(":")
    if audience == "all":
        return audience
    if kind == "topic" and (topic := taxonomy.resolve(value)) is not None:
        return f"topic:{topic.slug}"
    if kind == "chat" and value.lstrip("-").isdigit():
        return f"chat:{int(value)}"
    raise AudienceError(
        f"audience must be all, topic:<{'|'.join(taxonomy.slugs)}> (or a topic's name or "
        "alias) or chat:<id>"
    )


def _audience_chats(audience: str) -> Select[int]:
    kind, _, value = audience.partition(":")
    if kind == "topic":
        return (
            select(Subscription.chat_id)
            .join(Chat, and_(Chat.id == Subscription.chat_id, receiving()))
            .where(or_(Subscription.topic == value, Subscription.topic == ALL_NEWS))
            .distinct()
        )
    if kind == "chat":
        return select(literal(int(value)))
    # Everyone: every chat that may be sent to and has not turned announcements off.
    return select(Chat.id).where(receiving(), Chat.announcements.is_(True))


async def audience_size(session: AsyncSession, audience: str) -> int:
    count = await session.scalar(
        select(func.count()).select_from(_audience_chats(audience).subquery())
    )
    return int(count or 0)


async def release_due(session: AsyncSession, now: datetime, zone: ZoneInfo) -> list[int]:
    """Fans every due scheduled broadcast out into the outbox (one INSERT … SELECT each).
    ``zone`` is the PSG's, the zone of chats that chose none."""
    due = list(
        await session.scalars(
            select(Broadcast)
            .where(Broadcast.status == SCHEDULED, Broadcast.scheduled_at <= now)
            .with_for_update(skip_locked=True)
        )
    )
    if due:
        # A digest that has just passed is moved on first: ordinary announcements wait for
        # the next one (psgbot.preferences.hold_until).
        await roll_schedules(session, zone, now)
    at = literal(now, type_=Delivery.due_at.type)
    for broadcast in due:
        audience = _audience_chats(broadcast.audience).subquery()
        chat_id = audience.c[0]
        # Urgent announcements go at once; ordinary ones wait, like alerts, for a chat's digest
        # or the end of its quiet hours (psgbot.preferences).
        due_at = at if broadcast.urgent else func.coalesce(hold_until(now), at)
        rows = (
            select(
                chat_id,
                literal(DeliveryKind.BROADCAST.value),
                literal(broadcast.id),
                literal(DeliveryStatus.PENDING.value),
                due_at,
                literal(0),
                literal(now, type_=Delivery.created_at.type),
                literal(int(Priority.URGENT if broadcast.urgent else Priority.BULK)),
            )
            .select_from(audience)
            .outerjoin(Chat, Chat.id == chat_id)
            .where(true())  # SQLite reads "FROM x ON CONFLICT" as a join without a WHERE
        )
        statement = (
            dialect_insert(session)(Delivery)
            .from_select(
                [
                    "chat_id",
                    "kind",
                    "broadcast_id",
                    "status",
                    "due_at",
                    "attempts",
                    "created_at",
                    "priority",
                ],
                rows,
            )
            .on_conflict_do_nothing(
                index_elements=["chat_id", "broadcast_id"],
                index_where=Delivery.broadcast_id.is_not(None),
            )
        )
        result = await session.execute(statement)
        broadcast.recipients = int(getattr(result, "rowcount", 0) or 0)
        broadcast.status = SENDING_STATUS
        broadcast.started_at = now
    return [broadcast.id for broadcast in due]


@dataclass
class Progress:
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    remaining: int = 0
    cancelled: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return self.sent + self.failed + self.blocked + self.remaining + self.cancelled

    def add(self, status: DeliveryStatus, error: str | None, count: int) -> None:
        """Counts ``count`` messages whose rows have this status and error."""
        if status == DeliveryStatus.SENT:
            self.sent += count
        elif status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
            self.remaining += count
        elif status == DeliveryStatus.CANCELLED:
            self.cancelled += count
        elif status == DeliveryStatus.FAILED and (error or "").startswith(BLOCKED_PREFIXES):
            self.blocked += count
        elif status == DeliveryStatus.FAILED:
            self.failed += count
            self.reasons[(error or "unknown")[:80]] += count


async def progress_of(session: AsyncSession, broadcast_id: int) -> Progress:
    """The broadcast's figures: its rows in the outbox, plus those the retention purge rolled
    up (whose failure reasons are not kept)."""
    progress = Progress()
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is not None:
        progress.sent = broadcast.rolled_up_sent
        progress.failed = broadcast.rolled_up_failed
        progress.blocked = broadcast.rolled_up_blocked
        progress.cancelled = broadcast.rolled_up_cancelled
    rows = await session.execute(
        select(Delivery.status, Delivery.error, func.count())
        .where(Delivery.broadcast_id == broadcast_id)
        .group_by(Delivery.status, Delivery.error)
    )
    for status, error, count in rows:
        progress.add(status, error, count)
    return progress


async def roll_up(session: AsyncSession, delivery_ids: Sequence[int]) -> None:
    """Adds the outcomes of these settled rows to their broadcasts' figures. The retention
    purge calls it in the transaction that deletes the rows."""
    rows = await session.execute(
        select(Delivery.broadcast_id, Delivery.status, Delivery.error, func.count())
        .where(Delivery.id.in_(delivery_ids), Delivery.broadcast_id.is_not(None))
        .group_by(Delivery.broadcast_id, Delivery.status, Delivery.error)
    )
    tallies: defaultdict[int | None, Progress] = defaultdict(Progress)
    for broadcast_id, status, error, count in rows:
        tallies[broadcast_id].add(status, error, count)
    for broadcast_id, tally in tallies.items():
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(
                rolled_up_sent=Broadcast.rolled_up_sent + tally.sent,
                rolled_up_failed=Broadcast.rolled_up_failed + tally.failed,
                rolled_up_blocked=Broadcast.rolled_up_blocked + tally.blocked,
                rolled_up_cancelled=Broadcast.rolled_up_cancelled + tally.cancelled,
            )
        )


async def count_refused_pins(session: AsyncSession, refused: Mapping[int, int]) -> None:
    """Adds pins Telegram refused to their broadcasts' figures (the messages were delivered)."""
    for broadcast_id, count in refused.items():
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(pins_refused=Broadcast.pins_refused + count)
        )


async def stop(session: AsyncSession, broadcast_id: int, now: datetime) -> bool:
    """Cancels what has not gone yet; False when the broadcast had already finished."""
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None or broadcast.status in (DONE, STOPPED):
        return False
    broadcast.status = STOPPED
    broadcast.finished_at = now
    await session.execute(
        update(Delivery)
        .where(Delivery.broadcast_id == broadcast_id, Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.CANCELLED, error="broadcast stopped")
    )
    return True


async def recent(session: AsyncSession, limit: int = 10) -> list[Broadcast]:
    return list(await session.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)))


async def create(
    session: AsyncSession,
    *,
    audience: str,
    text: str,
    scheduled_at: datetime,
    created_by: int | None,
    entities: str | None = None,
    parse_mode: str | None = None,
    photo_file_id: str | None = None,
    urgent: bool = False,
    pin: bool = False,
    progress_chat_id: int | None = None,
    language: Language = Language.EN,
    translation: str | None = None,
    translation_entities: str | None = None,
) -> Broadcast:
    """Stores a broadcast; the dispatcher releases it into the outbox at ``scheduled_at``.

    ``text`` is in ``language``; ``translation``, if any, the same in the other language. Only
    an urgent broadcast may be pinned (ValueError otherwise): an ordinary one goes out without
    a sound, and a pin would announce it after all."""
    if pin and not urgent:
        raise ValueError("only an urgent broadcast can be pinned")
    broadcast = Broadcast(
        audience=audience,
        text=text,
        entities=entities,
        language=language,
        translation=translation,
        translation_entities=translation_entities,
        parse_mode=parse_mode,
        photo_file_id=photo_file_id,
        urgent=urgent,
        pin=pin,
        status=SCHEDULED,
        scheduled_at=scheduled_at,
        created_by=created_by,
        progress_chat_id=progress_chat_id,
    )
    session.add(broadcast)
    await session.flush()
    return broadcast


async def finish_if_done(
    session: AsyncSession, broadcast: Broadcast, progress: Progress, now: datetime
) -> bool:
    """Marks a sending broadcast done once nothing remains; True when it just finished."""
    if broadcast.status != SENDING_STATUS or progress.remaining:
        return False
    broadcast.status = DONE
    broadcast.finished_at = now
    return True
