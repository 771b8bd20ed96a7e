"""The dispatcher: claims due outbox rows in batches, sends them, records what happened.

It runs as a task beside the Application (started and stopped with it). Every send error has a
policy, so the process never dies of one: Telegram's RetryAfter pauses and retries the same
message; network errors retry with backoff, then fail with their reason; a chat that blocked or
dropped the bot is marked inactive and its pending rows cancelled; a migrated group moves to its
new id; an HTML parse error resends as plain text. A row is marked sent only once Telegram
accepted it, so a crash repeats at most the rows in flight and never loses one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ExtBot

from psgbot import metrics
from psgbot.alerts.outbox import (
    CANCELLED,
    FAILED,
    PENDING,
    SENT,
    Claimed,
    Outcome,
    claim_due,
    release_claims,
    renew_claims,
    settle,
)
from psgbot.broadcasts import STOPPED, release_due
from psgbot.chats import deactivate, migrate
from psgbot.db.models import ALL_NEWS, Broadcast, Item, Subscription
from psgbot.db.types import utcnow
from psgbot.i18n import _
from psgbot.render import alert_message, digest_message, html_to_text, shorten
from psgbot.services import Services

log = logging.getLogger(__name__)

DIGEST_THRESHOLD = 3  # more alerts than this for one chat at once go as one message
MAX_RETRY_AFTER_WAITS = 10
OUTBOX_RATE_CLASS = 1  # rate_limit_args marking outbox sends (per-chat limits apply)


@dataclass
class Send:
    """One message to send, standing for one or more outbox rows (a digest covers several).

    Text is HTML unless ``entities`` are given (a broadcast keeps its author's formatting as
    Telegram entities); with ``photo`` the text is the caption.
    """

    chat_id: int
    rows: list[Claimed]
    text: str
    markup: InlineKeyboardMarkup | None = None
    entities: list[MessageEntity] | None = None
    photo: str | None = None


@dataclass
class Effects:
    """Changes to chats that sends revealed, applied with the batch's results."""

    deactivated: dict[int, str] = field(default_factory=dict)
    migrated: dict[int, int] = field(default_factory=dict)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{id(object()):x}"[:64]


class Dispatcher:
    def __init__(
        self,
        services: Services,
        bot: ExtBot[Any],
        *,
        worker: str | None = None,
        batch_size: int = 200,
        concurrency: int = 16,
        idle_wait: float = 1.0,
        lease: timedelta = timedelta(seconds=60),
        max_attempts: int = 5,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.services = services
        self.bot = bot
        self.worker = worker or default_worker_id()
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.idle_wait = idle_wait
        self.lease = lease
        self.max_attempts = max_attempts
        self.clock = clock
        self.sleep = sleep  # tests move the clock instead of waiting out Telegram's retry_after
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._send_kwargs: dict[str, Any] = {}
        if bot.rate_limiter is not None:
            self._send_kwargs["rate_limit_args"] = OUTBOX_RATE_CLASS
        if services.settings.paid_broadcast:
            self._send_kwargs["allow_paid_broadcast"] = True

    # Lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="psgbot-dispatcher")

    def wake(self) -> None:
        """Makes an idle dispatcher look at the outbox now (new rows were just written)."""
        self._wake.set()

    async def stop(self, grace: float = 10.0) -> None:
        """Lets the batch in flight finish (up to ``grace`` s); unsent rows stay for next time."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), grace)
            except TimeoutError:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        async with self.services.sessions.begin() as session:
            await release_claims(session, self.worker)

    async def _run(self) -> None:
        while not self._stopping:
            # Cleared before looking, so a wake() during the batch is not lost.
            self._wake.clear()
            try:
                claimed = await self.run_once()
            except Exception:  # the loop must outlive any one batch's trouble (e.g. DB down)
                log.exception("dispatcher batch failed; retrying shortly")
                claimed = 0
            if claimed == 0 and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.idle_wait)

    async def drain(self, max_batches: int = 1_000_000) -> int:
        """Sends until nothing is due (tests and tools); returns how many rows were handled."""
        total = 0
        for _batch in range(max_batches):
            handled = await self.run_once()
            if handled == 0:
                break
            total += handled
        return total

    # One batch -------------------------------------------------------------------------------

    async def run_once(self) -> int:
        now = self.clock()
        async with self.services.sessions.begin() as session:
            await release_due(session, now)
            claimed = await claim_due(session, self.worker, self.batch_size, now, self.lease)
        if not claimed:
            return 0
        async with self.services.sessions() as session:
            sends, outcomes, stored_at = await self._prepare(session, claimed)
        effects = Effects()
        semaphore = asyncio.Semaphore(self.concurrency)

        async def guarded(send: Send) -> list[Outcome]:
            async with semaphore:
                return await self._deliver(send, effects)

        keeper = asyncio.create_task(self._keep_claims())
        try:
            for result in await asyncio.gather(*(guarded(send) for send in sends)):
                outcomes.extend(result)
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
        settled_at = self.clock()
        async with self.services.sessions.begin() as session:
            await settle(session, self.worker, outcomes, settled_at)
            await self._apply(session, effects)
        self._count(claimed, outcomes, stored_at, settled_at)
        return len(claimed)

    async def _keep_claims(self) -> None:
        """Renews this batch's lease while it sends, so a slow batch (flood limits, many
        groups) is never taken over, and repeated, by another dispatcher."""
        interval = max(1.0, self.lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(interval)
            async with self.services.sessions.begin() as session:
                await renew_claims(session, self.worker, self.clock())

    def _count(
        self,
        claimed: Sequence[Claimed],
        outcomes: Sequence[Outcome],
        stored_at: dict[int, datetime],
        now: datetime,
    ) -> None:
        """Feeds the Prometheus counters and the item-to-message latency histogram."""
        rows = {row.id: row for row in claimed}
        for outcome in outcomes:
            row = rows.get(outcome.delivery_id)
            if row is None:
                continue
            if outcome.status == SENT:
                metrics.ALERTS_SENT.labels(kind=row.kind).inc()
                if row.item_id in stored_at:
                    metrics.DELIVERY_LATENCY.observe(
                        max(0.0, (now - stored_at[row.item_id]).total_seconds())
                    )
            elif outcome.status == FAILED:
                metrics.ALERTS_FAILED.labels(
                    kind=row.kind, reason=metrics.failure_reason(outcome.error)
                ).inc()

    async def _prepare(
        self, session: AsyncSession, claimed: Sequence[Claimed]
    ) -> tuple[list[Send], list[Outcome], dict[int, datetime]]:
        """Renders the batch: alerts per chat (a digest past the threshold), notices as they are."""
        item_ids = {row.item_id for row in claimed if row.item_id is not None}
        items = (
            {
                item.id: item
                for item in await session.scalars(select(Item).where(Item.id.in_(item_ids)))
            }
            if item_ids
            else {}
        )
        chat_ids = {row.chat_id for row in claimed if row.kind == "alert"}
        followed: dict[int, set[str]] = defaultdict(set)
        if chat_ids:
            subscriptions = await session.execute(
                select(Subscription.chat_id, Subscription.topic).where(
                    Subscription.chat_id.in_(chat_ids)
                )
            )
            for chat_id, topic in subscriptions:
                followed[chat_id].add(topic)
        broadcast_ids = {row.broadcast_id for row in claimed if row.broadcast_id is not None}
        broadcasts = (
            {
                broadcast.id: broadcast
                for broadcast in await session.scalars(
                    select(Broadcast).where(Broadcast.id.in_(broadcast_ids))
                )
            }
            if broadcast_ids
            else {}
        )
        sends: list[Send] = []
        outcomes: list[Outcome] = []
        alerts_by_chat: dict[int, list[Claimed]] = defaultdict(list)
        for row in claimed:
            if row.kind == "broadcast":
                broadcast = broadcasts.get(row.broadcast_id or 0)
                if broadcast is None or broadcast.status == STOPPED:
                    outcomes.append(Outcome(row.id, CANCELLED, error="broadcast stopped"))
                else:
                    sends.append(broadcast_send(row, broadcast))
            elif row.kind == "alert":
                if row.item_id in items:
                    alerts_by_chat[row.chat_id].append(row)
                else:
                    outcomes.append(Outcome(row.id, CANCELLED, error="item no longer stored"))
            elif row.text and reminder_too_late(row.key, self.clock()):
                outcomes.append(Outcome(row.id, CANCELLED, error="event already started"))
            elif row.text:
                sends.append(Send(row.chat_id, [row], row.text))
            else:
                outcomes.append(Outcome(row.id, FAILED, error="nothing to send"))
        # A fan-out sends one item to many chats: render each (item, topic) once per batch.
        rendered: dict[tuple[int, str | None], tuple[str, InlineKeyboardMarkup | None]] = {}
        for chat_id, rows in alerts_by_chat.items():
            chat_items = [items[row.item_id] for row in rows if row.item_id is not None]
            if len(rows) > DIGEST_THRESHOLD:
                text = digest_message(chat_items, self.services.taxonomy)
                sends.append(Send(chat_id, rows, text))
                continue
            for row, item in zip(rows, chat_items, strict=True):
                matched = next((s for s in item.topic_slugs if s in followed[chat_id]), None)
                if matched is None and ALL_NEWS in followed[chat_id]:
                    matched = ALL_NEWS
                key = (item.id, matched)
                if key not in rendered:
                    rendered[key] = self._render_alert(item, matched)
                text, markup = rendered[key]
                sends.append(Send(chat_id, [row], text, markup))
        stored_at = {item.id: item.first_seen_at for item in items.values()}
        return sends, outcomes, stored_at

    def _render_alert(
        self, item: Item, matched: str | None
    ) -> tuple[str, InlineKeyboardMarkup | None]:
        """The alert text and its buttons: Read more, and Unsubscribe from what brought it."""
        taxonomy = self.services.taxonomy
        topic = taxonomy.get(matched) if matched else None
        text = alert_message(item, taxonomy, self.services.settings.zone, topic)
        buttons = []
        if item.link and item.link.startswith(("http://", "https://")):
            buttons.append(InlineKeyboardButton(_("Read more"), url=item.link))
        if topic:
            label = _("Unsubscribe from {topic}").format(topic=topic.name)
            buttons.append(
                InlineKeyboardButton(shorten(label, 60), callback_data=f"unsub:{topic.slug}")
            )
        elif matched == ALL_NEWS:
            buttons.append(
                InlineKeyboardButton(_("Stop all news"), callback_data=f"unsub:{ALL_NEWS}")
            )
        return text, InlineKeyboardMarkup([buttons]) if buttons else None

    async def _deliver(self, send: Send, effects: Effects) -> list[Outcome]:
        """Sends one message under the error policy; returns the outcome of each row it covers."""
        chat_id = send.chat_id
        text: str = send.text
        parse_mode: str | None = "HTML"
        waits = 0
        if send.entities is not None:
            parse_mode = None
        while True:
            try:
                message: Message
                if send.photo:
                    message = await self.bot.send_photo(
                        chat_id,
                        send.photo,
                        caption=text or None,
                        parse_mode=parse_mode,
                        caption_entities=send.entities,
                        reply_markup=send.markup,
                        **self._send_kwargs,
                    )
                else:
                    message = await self.bot.send_message(
                        chat_id,
                        text,
                        parse_mode=parse_mode,
                        entities=send.entities,
                        reply_markup=send.markup,
                        **self._send_kwargs,
                    )
                return [Outcome(row.id, SENT, message_id=message.message_id) for row in send.rows]
            except RetryAfter as exc:
                waits += 1
                seconds = _seconds(exc.retry_after)
                if waits > MAX_RETRY_AFTER_WAITS:
                    later = self.clock() + timedelta(seconds=seconds)
                    return [Outcome(row.id, PENDING, due_at=later) for row in send.rows]
                await self.sleep(seconds)
            except ChatMigrated as exc:
                effects.migrated[chat_id] = exc.new_chat_id
                chat_id = exc.new_chat_id
            except Forbidden as exc:
                effects.deactivated[chat_id] = exc.message
                return [
                    Outcome(row.id, FAILED, error=f"blocked: {exc.message}") for row in send.rows
                ]
            except BadRequest as exc:
                reason = exc.message.lower()
                if "chat not found" in reason:
                    effects.deactivated[chat_id] = exc.message
                    return [Outcome(row.id, FAILED, error=exc.message) for row in send.rows]
                if "parse entities" in reason and parse_mode is not None:
                    text, parse_mode = html_to_text(text), None
                    continue
                return [Outcome(row.id, FAILED, error=exc.message) for row in send.rows]
            except (NetworkError, TimeoutError) as exc:
                return [self._retry_later(row, str(exc) or type(exc).__name__) for row in send.rows]
            except TelegramError as exc:
                return [Outcome(row.id, FAILED, error=exc.message) for row in send.rows]
            except Exception as exc:  # never let one message take the process down
                log.exception("unexpected error sending to %s", chat_id)
                return [Outcome(row.id, FAILED, error=f"{type(exc).__name__}") for row in send.rows]

    def _retry_later(self, row: Claimed, reason: str) -> Outcome:
        attempts = row.attempts + 1
        if attempts >= self.max_attempts:
            return Outcome(
                row.id,
                FAILED,
                error=f"gave up after {attempts} attempts: {reason}",
                attempts=attempts,
            )
        backoff = timedelta(seconds=min(2**attempts, 300))
        return Outcome(
            row.id, PENDING, error=reason, due_at=self.clock() + backoff, attempts=attempts
        )

    async def _apply(self, session: AsyncSession, effects: Effects) -> None:
        for old_id, new_id in effects.migrated.items():
            await migrate(session, old_id, new_id)
        for chat_id, reason in effects.deactivated.items():
            await deactivate(session, chat_id, reason)


def broadcast_send(row: Claimed, broadcast: Broadcast) -> Send:
    """A broadcast exactly as its author wrote it: their entities, or HTML from scripts."""
    entities = (
        [MessageEntity.de_json(entity, None) for entity in json.loads(broadcast.entities)]
        if broadcast.entities
        else None
    )
    if broadcast.parse_mode is None and entities is None:
        entities = []  # plain text: nothing to parse
    return Send(
        row.chat_id, [row], broadcast.text, entities=entities, photo=broadcast.photo_file_id
    )


def reminder_too_late(key: str | None, now: datetime) -> bool:
    """A reminder held up (the bot was down) past its event's start is no use any more.

    Reminder keys carry the start they were written for: "reminder:<id>:<start>:<n>h".
    """
    if not key or not key.startswith("reminder:"):
        return False
    try:
        start = datetime.fromisoformat(key.split(":", 2)[2].rsplit(":", 1)[0])
    except (IndexError, ValueError):
        return False
    return now >= start


def _seconds(value: object) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)  # type: ignore[arg-type]
