"""The dispatcher: claims due outbox rows, sends them through a continuous pool, records what
happened.

It runs as a task beside the Application (started and stopped with it). Sends run in a pool
whose size follows the flood budget times Telegram's round trip (or PSGBOT_SEND_CONCURRENCY):
each finished send frees its slot at once for the next row, and rows are claimed ahead, a batch
at a time, while the pool runs low. Outcomes are recorded in batches too.

Every send error has a policy, so the process never dies of one: Telegram's RetryAfter pauses
and retries the same message; network errors retry with backoff, then fail with their reason; a
chat that blocked or dropped the bot is marked inactive and its pending rows cancelled; a
migrated group moves to its new id; an HTML parse error resends as plain text. A row is marked
sent only once Telegram accepted it, so a crash repeats at most the rows in flight and never
loses one.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import math
import os
import socket
import time
import warnings
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ExtBot
from telegram.warnings import PTBUserWarning

from psgbot import metrics
from psgbot.alerts.limits import FloodLimiter
from psgbot.alerts.sends import Batch, Send, prepare
from psgbot.broadcasts import release_due
from psgbot.chats import deactivate, migrate
from psgbot.db.enums import DeliveryStatus
from psgbot.db.types import utcnow
from psgbot.outbox import Claimed, Outcome, claim_due, release_claims, renew_claims, settle
from psgbot.render.markup import html_to_text
from psgbot.services import Services

log = logging.getLogger(__name__)
# _send_text calls sendMessage through do_api_request on purpose (see there).
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.sendMessage'", category=PTBUserWarning)

PENDING, SENT = DeliveryStatus.PENDING, DeliveryStatus.SENT
FAILED, CANCELLED = DeliveryStatus.FAILED, DeliveryStatus.CANCELLED
MAX_RETRY_AFTER_WAITS = 10
SETTLE_EVERY = 0.25  # seconds between recordings of outcomes while sending
MIN_CONCURRENCY, MAX_CONCURRENCY, UNLIMITED_CONCURRENCY = 4, 512, 32


@dataclass
class Effects:
    """Changes to chats that sends revealed, applied with the outcomes."""

    deactivated: dict[int, str] = field(default_factory=dict)
    migrated: dict[int, int] = field(default_factory=dict)


@dataclass
class _Unsettled:
    """Outcomes waiting to be recorded, with what is needed to count them."""

    outcomes: list[Outcome] = field(default_factory=list)
    rows: dict[int, Claimed] = field(default_factory=dict)
    stored_at: dict[int, datetime] = field(default_factory=dict)
    effects: Effects = field(default_factory=Effects)

    @property
    def pending(self) -> bool:
        return bool(self.outcomes or self.effects.migrated or self.effects.deactivated)


def _result_or_log(task: asyncio.Task[Any], what: str) -> Any:
    """A finished task's result; its failure is logged (the dispatcher goes on) as None."""
    try:
        return task.result()
    except Exception:  # e.g. the database is down: sends in flight go on, and so do we
        log.exception("%s; retrying shortly", what)
        return None


@dataclass
class _ClaimedSends:
    rows: list[Claimed]
    sends: list[Send]


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
        concurrency: int | None = None,
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
        configured = concurrency or services.settings.send_concurrency
        self.concurrency = configured or None  # None: follow rate x round trip
        self.idle_wait = idle_wait
        self.lease = lease
        self.max_attempts = max_attempts
        self.clock = clock
        self.sleep = sleep  # tests move the clock instead of waiting out Telegram's retry_after
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._round_trip = 0.05  # seconds; measured as sends complete
        self._send_kwargs: dict[str, Any] = {}
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
        """Lets the sends in flight finish (up to ``grace`` s); unsent rows stay for next time."""
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
            try:
                await self.pump(until_idle=False)
            except Exception:  # the loop must outlive any one batch's trouble (e.g. DB down)
                log.exception("dispatcher failed; retrying shortly")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.idle_wait)

    async def drain(self) -> int:
        """Sends until nothing is due (tests and tools); returns how many rows were handled."""
        return await self.pump(until_idle=True)

    # The pool --------------------------------------------------------------------------------

    @property
    def target_concurrency(self) -> int:
        """Sends in flight: enough to keep the flood budget busy over Telegram's round trip."""
        if self.concurrency:
            return self.concurrency
        limiter = self.bot.rate_limiter
        if not isinstance(limiter, FloodLimiter) or not limiter.enabled:
            return UNLIMITED_CONCURRENCY
        rate = limiter.paid.limit if self._send_kwargs else limiter.overall.limit
        wanted = math.ceil(rate * self._round_trip * 1.5) + MIN_CONCURRENCY
        return max(MIN_CONCURRENCY, min(MAX_CONCURRENCY, wanted))

    async def pump(self, *, until_idle: bool) -> int:
        """Keeps the pool full of due rows until stopped (or, ``until_idle``, nothing is due);
        returns how many rows were handled.

        Claiming ahead and recording outcomes run as tasks beside the sends, so the pool never
        waits on the database.
        """
        queue = _SendQueue()
        in_flight: dict[asyncio.Task[list[Outcome]], int] = {}  # each send's chat
        claiming: asyncio.Task[_ClaimedSends] | None = None
        settling: asyncio.Task[int] | None = None
        unsettled = _Unsettled()
        handled, exhausted_at, last_settle = 0, -math.inf, time.monotonic()
        keeper = asyncio.create_task(self._keep_claims())
        try:
            while True:
                wanted = self.target_concurrency
                recently_empty = (
                    time.monotonic() - exhausted_at < self.idle_wait and not self._wake.is_set()
                )
                low = len(queue) < max(wanted, self.batch_size // 2)
                if claiming is None and low and not recently_empty and not self._stopping:
                    self._wake.clear()  # cleared before looking: a wake() meanwhile is kept
                    size = max(self.batch_size, 2 * wanted)
                    claiming = asyncio.create_task(self._claim(size, unsettled))
                while queue.ready and len(in_flight) < wanted and not self._stopping:
                    send = queue.pop()
                    task = asyncio.create_task(self._timed(send, unsettled.effects))
                    in_flight[task] = send.chat_id
                due_to_settle = len(unsettled.outcomes) >= self.batch_size or (
                    time.monotonic() - last_settle >= SETTLE_EVERY
                )
                idle = not (in_flight or claiming or queue.ready)
                if settling is None and unsettled.pending and (due_to_settle or idle):
                    settling = asyncio.create_task(self._settle(unsettled))
                    last_settle = time.monotonic()
                tasks: set[asyncio.Task[Any]] = set(in_flight)
                tasks.update(task for task in (claiming, settling) if task is not None)
                if not tasks:
                    if self._stopping or (until_idle and exhausted_at > -math.inf):
                        return handled
                    if not until_idle and not self._wake.is_set():
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), self.idle_wait)
                    exhausted_at = -math.inf
                    continue
                done, _pending = await asyncio.wait(
                    tasks, timeout=SETTLE_EVERY, return_when=asyncio.FIRST_COMPLETED
                )
                for finished in done:
                    if finished is claiming:
                        claiming = None
                        claimed = _result_or_log(finished, "could not claim outbox rows")
                        rows = claimed.rows if claimed else []
                        handled += len(rows)
                        for send in claimed.sends if claimed else []:
                            queue.push(send)
                        if not rows:
                            exhausted_at = time.monotonic()
                    elif finished is settling:
                        settling = None
                        if _result_or_log(finished, "could not record outcomes"):
                            exhausted_at = -math.inf  # rows went back to pending: look again
                    else:
                        queue.finished(in_flight.pop(finished))
                        unsettled.outcomes.extend(finished.result())
                for chat_id, reason in unsettled.effects.deactivated.items():
                    for send in queue.drop(chat_id):
                        unsettled.outcomes.extend(
                            Outcome(row.id, CANCELLED, error=f"chat gone: {reason}")
                            for row in send.rows
                        )
        finally:
            keeper.cancel()
            for unfinished in (*in_flight, claiming):
                if unfinished is not None:
                    unfinished.cancel()
            await asyncio.gather(keeper, *in_flight, return_exceptions=True)
            if claiming is not None:
                await asyncio.gather(claiming, return_exceptions=True)
            # Whatever finished is recorded; rows still queued go back when the claims are
            # released (stop) or their lease ends.
            with contextlib.suppress(Exception):
                if settling is not None:
                    await asyncio.shield(settling)
                await asyncio.shield(self._settle(unsettled))

    async def run_once(self) -> int:
        """One batch, sent in full and recorded (tests step through batches with it)."""
        unsettled = _Unsettled()
        claimed = await self._claim(self.batch_size, unsettled)
        semaphore = asyncio.Semaphore(self.target_concurrency)

        async def guarded(send: Send) -> list[Outcome]:
            async with semaphore:
                return await self._timed(send, unsettled.effects)

        keeper = asyncio.create_task(self._keep_claims())
        try:
            for outcomes in await asyncio.gather(*(guarded(send) for send in claimed.sends)):
                unsettled.outcomes.extend(outcomes)
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
        await self._settle(unsettled)
        return len(claimed.rows)

    async def _claim(self, limit: int, unsettled: _Unsettled) -> _ClaimedSends:
        now = self.clock()
        async with self.services.sessions.begin() as session:
            await release_due(session, now)
            rows = await claim_due(session, self.worker, limit, now, self.lease)
        if not rows:
            return _ClaimedSends([], [])
        async with self.services.reads() as session:
            batch: Batch = await prepare(session, self.services, rows, now)
        unsettled.rows.update((row.id, row) for row in rows)
        unsettled.stored_at.update(batch.stored_at)
        unsettled.outcomes.extend(batch.outcomes)
        return _ClaimedSends(rows, batch.sends)

    async def _settle(self, unsettled: _Unsettled) -> int:
        """Records the outcomes so far; returns how many rows went back to pending.

        Outcomes arriving meanwhile wait for the next call; if recording fails, these are put
        back for it too.
        """
        outcomes, effects = unsettled.outcomes, unsettled.effects
        if not (outcomes or effects.migrated or effects.deactivated):
            return 0
        unsettled.outcomes, unsettled.effects = [], Effects()
        settled_at = self.clock()
        try:
            async with self.services.sessions.begin() as session:
                await settle(session, self.worker, outcomes, settled_at)
                await self._apply(session, effects)
        except BaseException:
            unsettled.outcomes[:0] = outcomes
            unsettled.effects.migrated = {**effects.migrated, **unsettled.effects.migrated}
            unsettled.effects.deactivated = {
                **effects.deactivated,
                **unsettled.effects.deactivated,
            }
            raise
        self._count(unsettled, outcomes, settled_at)
        for outcome in outcomes:
            unsettled.rows.pop(outcome.delivery_id, None)
        return sum(1 for outcome in outcomes if outcome.status == PENDING)

    async def _keep_claims(self) -> None:
        """Renews this dispatcher's leases while it sends, so slow sends (flood limits, many
        groups) are never taken over, and repeated, by another dispatcher."""
        interval = max(1.0, self.lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(interval)
            async with self.services.sessions.begin() as session:
                await renew_claims(session, self.worker, self.clock())

    def _count(self, unsettled: _Unsettled, outcomes: Sequence[Outcome], now: datetime) -> None:
        """Feeds the Prometheus counters and the item-to-message latency histogram."""
        for outcome in outcomes:
            row = unsettled.rows.get(outcome.delivery_id)
            if row is None:
                continue
            if outcome.status == SENT:
                metrics.ALERTS_SENT.labels(kind=row.kind).inc()
                if row.item_id in unsettled.stored_at:
                    stored = unsettled.stored_at[row.item_id]
                    metrics.DELIVERY_LATENCY.observe(max(0.0, (now - stored).total_seconds()))
            elif outcome.status == FAILED:
                metrics.ALERTS_FAILED.labels(
                    kind=row.kind, reason=metrics.failure_reason(outcome.error)
                ).inc()

    # One message -----------------------------------------------------------------------------

    async def _timed(self, send: Send, effects: Effects) -> list[Outcome]:
        started = time.monotonic()
        outcomes = await self._deliver(send, effects)
        limiter = self.bot.rate_limiter
        if isinstance(limiter, FloodLimiter) and limiter.round_trip is not None:
            self._round_trip = limiter.round_trip
        else:
            self._round_trip = 0.8 * self._round_trip + 0.2 * (time.monotonic() - started)
        return outcomes

    async def _deliver(self, send: Send, effects: Effects) -> list[Outcome]:
        """Sends one message under the error policy; returns the outcome of each row it covers."""
        chat_id = send.chat_id
        text: str = send.text
        parse_mode: str | None = None if send.entities is not None else "HTML"
        kwargs = dict(self._send_kwargs)
        if self.bot.rate_limiter is not None:
            kwargs["rate_limit_args"] = send.priority
        waits = 0
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
                        **kwargs,
                    )
                    message_id = message.message_id
                else:
                    message_id = await self._send_text(chat_id, text, parse_mode, send)
                return [Outcome(row.id, SENT, message_id=message_id) for row in send.rows]
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

    async def _send_text(self, chat_id: int, text: str, parse_mode: str | None, send: Send) -> int:
        """Sends a text message; returns Telegram's id for it.

        The outbox keeps the message id alone, so Telegram's answer is not parsed into a
        Message: at a fan-out's pace that parsing was a third of the dispatcher's CPU
        (bench/scale.py). Everything else (flood limiter, errors raised) is as send_message's.
        """
        params: dict[str, Any] = {
            "chat_id": chat_id,
            "text": text,
            "link_preview_options": {"is_disabled": True},
        }
        if parse_mode:
            params["parse_mode"] = parse_mode
        if send.entities is not None:
            params["entities"] = [entity.to_dict() for entity in send.entities]
        if send.markup is not None:
            params["reply_markup"] = send.markup_json or send.markup.to_dict()
        if self._send_kwargs:
            params.update(self._send_kwargs)
        result = await self.bot.do_api_request(
            "sendMessage",
            params,
            rate_limit_args=send.priority if self.bot.rate_limiter is not None else None,
        )
        return int(result["message_id"])

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


class _SendQueue:
    """Claimed sends waiting for the pool: most urgent, then oldest, first, and one at a time
    per chat, so a chat's messages arrive in order and a chat found blocked gets no more."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Send]] = []  # the next send of each idle chat
        self._later: dict[int, deque[Send]] = {}  # per busy chat, its other sends in order
        self._order = itertools.count()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def ready(self) -> bool:
        return bool(self._heap)

    def push(self, send: Send) -> None:
        self._size += 1
        if send.chat_id in self._later:
            self._later[send.chat_id].append(send)
        else:
            self._later[send.chat_id] = deque()
            heapq.heappush(self._heap, (send.priority, next(self._order), send))

    def pop(self) -> Send:
        self._size -= 1
        return heapq.heappop(self._heap)[2]

    def finished(self, chat_id: int) -> None:
        """The chat's send in flight is done: its next one may go."""
        later = self._later.get(chat_id)
        if later:
            send = later.popleft()
            heapq.heappush(self._heap, (send.priority, next(self._order), send))
        else:
            self._later.pop(chat_id, None)

    def drop(self, chat_id: int) -> list[Send]:
        """Takes every waiting send to ``chat_id`` off the queue."""
        dropped = list(self._later.get(chat_id) or ())
        if chat_id in self._later:
            self._later[chat_id] = deque()  # still busy if a send is in flight
        kept = [entry for entry in self._heap if entry[2].chat_id != chat_id]
        if len(kept) != len(self._heap):
            # Its next send was waiting, so none is in flight: the chat is idle again.
            dropped += [entry[2] for entry in self._heap if entry[2].chat_id == chat_id]
            heapq.heapify(kept)
            self._heap = kept
            self._later.pop(chat_id, None)
        self._size -= len(dropped)
        return dropped


def _seconds(value: object) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)  # type: ignore[arg-type]
