"""A chat's own terms: its time zone, digests instead of instant alerts, and quiet hours.

A chat sets them in its local time; the outbox needs instants. So each chat also stores, in UTC,
its next digest and its current or next quiet window, and :func:`hold_until` reads them in SQL:
an alert (or ordinary announcement) to a chat with digests waits for the next digest; one in the
quiet window waits for its end. Held alerts are gathered into one message when their time
comes (psgbot.outbox.claim_held), so a restart loses nothing: the hold is a row's due time.
The instants are computed here with zoneinfo, so a digest at 08:00 stays at 08:00 local across
a clock change; they are moved on as they pass (:func:`roll_schedules`).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import ColumnElement, and_, case, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from psgbot.db.enums import DeliveryKind, DeliveryStatus, DigestMode
from psgbot.db.models import Chat, Delivery
from psgbot.db.types import UtcDateTime

# The zones offered as buttons, by the short word their button carries; any IANA name may be
# typed.
SUGGESTED_ZONES = {"london": "Europe/London", "lima": "America/Lima"}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_DIGEST_TIME = time(8, 0)
DEFAULT_QUIET = (time(22, 0), time(7, 0))

_CLOCK = re.compile(r"(\d{1,2})[:.h](\d{2})")
_WINDOW = re.compile(r"(\S+?)\s*[-–—]\s*(\S+)")


def parse_clock(text: str) -> time | None:
    """A time of day as people type it: "08:00", "8:00", "8.00", "8h00"; None for 25:00."""
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_window(text: str) -> tuple[time, time] | None:
    """ "22:00-07:00" (it may cross midnight); None unless both ends are times and differ."""
    match = _WINDOW.fullmatch(text.strip())
    if match is None:
        return None
    start, end = parse_clock(match.group(1)), parse_clock(match.group(2))
    if start is None or end is None or start == end:
        return None
    return start, end


# Days as typed, in English and Spanish (accents folded), short or in full.
_DAY_NAMES = (
    WEEKDAYS,
    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
    ("lun", "mar", "mie", "jue", "vie", "sab", "dom"),
    ("lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo"),
)
# /digest's and /quiet's words, in English and Spanish.
DAILY_WORDS = frozenset({"daily", "diario", "diaria"})
WEEKLY_WORDS = frozenset({"weekly", "semanal"})
OFF_WORDS = frozenset({"off", "instant", "no", "apagado", "instantaneo"})
ON_WORDS = frozenset({"on", "si", "encendido"})


def parse_weekday(text: str) -> int | None:
    """ "mon".."sun", "lun".."dom", or a day's full name in English or Spanish: 0 is Monday."""
    word = unaccented(text.strip())
    for names in _DAY_NAMES:
        if word in names:
            return names.index(word)
    return None


def unaccented(word: str) -> str:
    """A typed word without case or accents ("Miércoles" is "miercoles")."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


# Names in the zone database that are not places: the host's own zone ("localtime", which
# would tell a chat the server's zone), a placeholder ("Factory") and alternative trees.
_NOT_PLACES = re.compile(r"localtime|factory|posixrules|(posix|right)/.*", re.IGNORECASE)


@functools.cache
def _zone_names() -> dict[str, str]:
    """Every IANA place name by its lower case (read from the system's database once)."""
    return {zone.lower(): zone for zone in available_timezones() if not _NOT_PLACES.fullmatch(zone)}


@functools.cache
def _cities() -> dict[str, str]:
    """Zones by their place alone ("lima", "london", "buenos aires"), where only one has it."""
    by_place: dict[str, list[str]] = {}
    for zone in _zone_names().values():
        place = unaccented(zone.rsplit("/", 1)[-1].replace("_", " "))
        by_place.setdefault(place, []).append(zone)
    return {place: zones[0] for place, zones in by_place.items() if len(zones) == 1}


@functools.lru_cache(maxsize=1024)
def zone_named(name: str) -> ZoneInfo | None:
    """The IANA zone of that name, matched without regard to case ("europe/london"), or of
    that place when only one zone has it ("lima", "london")."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 64:
        return None
    exact = _zone_names().get(cleaned.lower()) or _cities().get(unaccented(cleaned))
    if exact is None:
        return None
    try:
        return ZoneInfo(exact)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def chat_zone(chat: Chat | None, default: ZoneInfo) -> ZoneInfo:
    """The zone a chat sees times in: its own, else the PSG's."""
    if chat is None or chat.timezone is None:
        return default
    return zone_named(chat.timezone) or default


async def zone_of(session: AsyncSession, chat_id: int, default: ZoneInfo) -> ZoneInfo:
    """The zone a stored chat sees times in (the PSG's for a chat not stored)."""
    name = await session.scalar(select(Chat.timezone).where(Chat.id == chat_id))
    return (zone_named(name) if name else None) or default


def next_digest(
    mode: DigestMode, at: time, weekday: int | None, zone: ZoneInfo, now: datetime
) -> datetime | None:
    """The first digest after ``now`` (UTC), at ``at`` local time (weekly: on ``weekday``)."""
    if mode == DigestMode.INSTANT:
        return None
    today = now.astimezone(zone).date()
    for offset in range(8):
        day = today + timedelta(days=offset)
        if mode == DigestMode.WEEKLY and day.weekday() != weekday:
            continue
        moment = datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
        if moment > now:
            return moment
    raise AssertionError("a week always holds the next digest")


def quiet_window(
    start: time, end: time, zone: ZoneInfo, now: datetime
) -> tuple[datetime, datetime]:
    """The quiet window (UTC) that holds ``now`` or, if none does, the next one. A window whose
    end is not after its start ends the next day (22:00-07:00)."""
    today = now.astimezone(zone).date()
    for offset in (-1, 0, 1):
        day = today + timedelta(days=offset)
        begins = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
        end_day = day + timedelta(days=1) if end <= start else day
        ends = datetime.combine(end_day, end, tzinfo=zone).astimezone(UTC)
        if ends > now:
            return begins, ends
    raise AssertionError("three days always hold the next window")


def schedule(chat: Chat, default_zone: ZoneInfo, now: datetime) -> None:
    """Sets the chat's instants (next digest, current or next quiet window) from its settings."""
    zone = chat_zone(chat, default_zone)
    chat.digest_at = next_digest(
        chat.digest, chat.digest_time or DEFAULT_DIGEST_TIME, chat.digest_weekday, zone, now
    )
    if chat.quiet_from is not None and chat.quiet_until is not None:
        chat.quiet_starts_at, chat.quiet_ends_at = quiet_window(
            chat.quiet_from, chat.quiet_until, zone, now
        )
    else:
        chat.quiet_starts_at = chat.quiet_ends_at = None


def hold_until(now: datetime) -> ColumnElement[datetime | None]:
    """SQL, for a query that joins Chat: until when a chat's alerts are held as of ``now``
    (its next digest, or the end of its quiet window), or NULL to send at once.

    The chats' digests must be current: call :func:`roll_schedules` first in the same
    transaction. A digest that passed a moment ago, not yet moved on by the dispatcher, would
    otherwise hold an alert until a time already past, and it would go at once, alone, as
    that digest."""
    at = literal(now, type_=UtcDateTime())
    return case(
        (Chat.digest_at.is_not(None), Chat.digest_at),
        (and_(Chat.quiet_starts_at <= at, Chat.quiet_ends_at > at), Chat.quiet_ends_at),
        else_=None,
    )


class Gathering(StrEnum):
    """Why a chat's held alerts go out together: its digest, the end of its quiet hours, or a
    change of settings that let them go (neither a digest nor quiet hours cover the release)."""

    DAILY = "daily"
    WEEKLY = "weekly"
    QUIET = "quiet"
    RELEASED = "released"


def gathering(
    mode: DigestMode,
    quiet: tuple[time | None, time | None],
    zone: ZoneInfo,
    held_until: Sequence[datetime | None],
) -> Gathering:
    """Why held alerts go now, from the chat's settings now and the times they were held until:
    a chat on digests gets its digest; otherwise quiet hours cover them only when they were held
    until the end of one of its windows (``/digest off`` lets them go at once, which is not)."""
    if mode == DigestMode.DAILY:
        return Gathering.DAILY
    if mode == DigestMode.WEEKLY:
        return Gathering.WEEKLY
    start, end = quiet
    if start is not None and end is not None:
        for moment in held_until:
            if moment is not None and _ends_a_window(start, end, zone, moment):
                return Gathering.QUIET
    return Gathering.RELEASED


def _ends_a_window(start: time, end: time, zone: ZoneInfo, moment: datetime) -> bool:
    """Whether ``moment`` is the end of one of these quiet windows."""
    return quiet_window(start, end, zone, moment - timedelta(microseconds=1))[1] == moment


@dataclass(frozen=True)
class Change:
    """What a command or button changes; fields left as None stay as they are."""

    timezone: str | None = None
    digest: DigestMode | None = None
    digest_time: time | None = None
    digest_weekday: int | None = None
    quiet: tuple[time, time] | None = None
    quiet_off: bool = False


async def change(
    session: AsyncSession, chat: Chat, what: Change, default_zone: ZoneInfo, now: datetime
) -> None:
    """Applies a change to a stored chat, reschedules it, and re-times what it holds back."""
    if what.timezone is not None:
        chat.timezone = what.timezone
    if what.digest is not None:
        chat.digest = what.digest
        if what.digest != DigestMode.INSTANT:
            chat.digest_time = what.digest_time or chat.digest_time or DEFAULT_DIGEST_TIME
            chat.digest_weekday = what.digest_weekday if what.digest == DigestMode.WEEKLY else None
    if what.quiet is not None:
        chat.quiet_from, chat.quiet_until = what.quiet
    if what.quiet_off:
        chat.quiet_from = chat.quiet_until = None
    chat.updated_at = now
    schedule(chat, default_zone, now)
    await _retime(session, [chat], now)


def held_until(chat: Chat, now: datetime) -> datetime | None:
    """:func:`hold_until` for one loaded chat."""
    if chat.digest_at is not None:
        return chat.digest_at
    if (
        chat.quiet_starts_at is not None
        and chat.quiet_ends_at is not None
        and chat.quiet_starts_at <= now < chat.quiet_ends_at
    ):
        return chat.quiet_ends_at
    return None


async def _retime(session: AsyncSession, chats: Sequence[Chat], now: datetime) -> None:
    """Held alerts follow their chat's new hold (or go now), and so do ordinary announcements
    waiting for it (never retries: those have had an attempt)."""
    for chat in chats:
        due = held_until(chat, now) or now
        await session.execute(
            update(Delivery)
            .where(Delivery.chat_id == chat.id, Delivery.status == DeliveryStatus.HELD)
            .values(due_at=due)
        )
        await session.execute(
            update(Delivery)
            .where(
                Delivery.chat_id == chat.id,
                Delivery.status == DeliveryStatus.PENDING,
                Delivery.kind == DeliveryKind.BROADCAST,
                Delivery.attempts == 0,
                Delivery.due_at > now,
            )
            .values(due_at=due)
        )


async def roll_schedules(
    session: AsyncSession,
    default_zone: ZoneInfo,
    now: datetime,
    chat_ids: Sequence[int] | None = None,
) -> int:
    """Moves on the instants that have passed (a digest sent, a quiet window over), for every
    chat or for ``chat_ids``; returns how many chats were rescheduled. Held rows keep their due
    time: the digest due now gathers them."""
    at = literal(now, type_=UtcDateTime())
    statement = select(Chat)
    if chat_ids is not None:
        statement = statement.where(Chat.id.in_(chat_ids))
    else:
        statement = statement.where(or_(Chat.digest_at <= at, Chat.quiet_ends_at <= at))
    chats = list(await session.scalars(statement))
    for chat in chats:
        schedule(chat, default_zone, now)
    return len(chats)
