"""The dispatcher: claims due outbox rows, sends them through a continuous pool, records what
happened.

It runs as a task beside the Application (started and stopped with it). Sends run in a pool
whose size follows the flood budget times Telegram's round trip (or PSGBOT_SEND_CONCURRENCY):
each finished send frees its slot at once for the next row, and rows are claimed ahead, a batch
at a time, while the pool runs low (psgbot.alerts.pump). Outcomes are recorded in batches too.

Every send error has a policy (psgbot.alerts.sender), so the process never dies of one; a chat
that blocked or dropped the bot is marked inactive and its pending rows cancelled. A row is
marked sent only once Telegram accepted it, so a crash repeats at most the rows in flight and
never loses one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import ExtBot

from psgbot import metrics
from psgbot.alerts.limits import FloodLimiter
from psgbot.alerts.pump import ClaimedSends, Pump, Unsettled
from psgbot.alerts.sender import Effects, Sender
from psgbot.alerts.sends import Batch, Send, prepare
from psgbot.broadcasts import count_refused_pins, release_due
from psgbot.chats import clear_thread, deactivate, migrate
from psgbot.db.enums import DeliveryStatus
from psgbot.db.types import utcnow
from psgbot.news import record_refused_images
from psgbot.outbox import Outcome, claim_due, claim_held, release_claims, renew_claims, settle
from psgbot.preferences import roll_schedules
from psgbot.render.search import inline_mode_on
from psgbot.services import Services

log = logging.getLogger(__name__)

# Chats whose held alerts one claim gathers (each chat's all at once, as one message).
HELD_CHATS_PER_CLAIM = 50
# How often a claim moves on the schedules (next digest, next quiet window) that have passed.
ROLL_EVERY = timedelta(seconds=30)

MIN_CONCURRENCY, MAX_CONCURRENCY, UNLIMITED_CONCURRENCY = 4, 512, 32


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
        self._next_take_over: datetime | None = None
        self._next_roll: datetime | None = None
        # Tests move the clock (and sleep) instead of waiting out Telegram's retry_after.
        self.sender = Sender(bot, clock, sleep, max_attempts)
        if services.settings.paid_broadcast:
            self.sender.send_kwargs["allow_paid_broadcast"] = True
        self._wake = asyncio.Event()
        self.stopping = False
        self._task: asyncio.Task[None] | None = None
        self._round_trip = 0.05  # seconds; measured as sends complete

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.sender.clock

    @clock.setter
    def clock(self, clock: Callable[[], datetime]) -> None:
        self.sender.clock = clock

    # Lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        self.stopping = False
        self._task = asyncio.create_task(self._run(), name="psgbot-dispatcher")

    def wake(self) -> None:
        """Makes an idle dispatcher look at the outbox now (new rows were just written)."""
        self._wake.set()

    @property
    def woken(self) -> bool:
        return self._wake.is_set()

    def clear_wake(self) -> None:
        self._wake.clear()

    async def wait_for_wake(self) -> None:
        """Until woken, or for the idle wait at most."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.idle_wait)

    async def stop(self, grace: float = 10.0) -> None:
        """Lets the sends in flight finish (up to ``grace`` s); unsent rows stay for next time."""
        self.stopping = True
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
        while not self.stopping:
            try:
                await self.pump(until_idle=False)
            except Exception:  # the loop must outlive any one batch's trouble (e.g. DB down)
                log.exception("dispatcher failed; retrying shortly")
                await self.wait_for_wake()

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
        rate = limiter.paid.limit if self.sender.send_kwargs else limiter.overall.limit
        wanted = math.ceil(rate * self._round_trip * 1.5) + MIN_CONCURRENCY
        return max(MIN_CONCURRENCY, min(MAX_CONCURRENCY, wanted))

    async def pump(self, *, until_idle: bool) -> int:
        """Keeps the pool full of due rows until stopped (or, ``until_idle``, nothing is due);
        returns how many rows were handled."""
        return await Pump(self, until_idle=until_idle).run()

    async def run_once(self) -> int:
        """One batch, sent in full and recorded (tests step through batches with it)."""
        unsettled = Unsettled()
        claimed = await self.claim(self.batch_size, unsettled)
        semaphore = asyncio.Semaphore(self.target_concurrency)

        async def guarded(send: Send) -> list[Outcome]:
            async with semaphore:
                return await self.timed(send, unsettled.effects)

        keeper = asyncio.create_task(self.keep_claims())
        try:
            for outcomes in await asyncio.gather(*(guarded(send) for send in claimed.sends)):
                unsettled.outcomes.extend(outcomes)
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
        await self.settle(unsettled)
        return len(claimed.rows)

    def _take_over_due(self, now: datetime) -> bool:
        """Whether this claim also takes over rows whose lease lapsed: a dispatcher dies
        rarely, so that costs a query once per third of a lease, not on every batch."""
        if self._next_take_over is not None and now < self._next_take_over:
            return False
        self._next_take_over = now + self.lease / 3
        return True

    def _roll_due(self, now: datetime) -> bool:
        """Whether this claim also moves on the digests and quiet windows that passed: an
        indexed look at the chats whose time has come, twice a minute."""
        if self._next_roll is not None and now < self._next_roll:
            return False
        self._next_roll = now + ROLL_EVERY
        return True

    async def claim(self, limit: int, unsettled: Unsettled) -> ClaimedSends:
        """Claims up to ``limit`` due rows (releasing due broadcasts first) and renders them."""
        now = self.clock()
        zone = self.services.settings.zone
        async with self.services.sessions.begin() as session:
            await release_due(session, now, zone)
            rows = await claim_due(
                session, self.worker, limit, now, self.lease, take_over=self._take_over_due(now)
            )
            held = await claim_held(session, self.worker, HELD_CHATS_PER_CLAIM, now)
            gathered = sorted({row.chat_id for row in held})
            if gathered:
                # Their digest or quiet hours are over: hold what comes next until the next.
                await roll_schedules(session, zone, now, gathered)
            if self._roll_due(now):
                # And every chat's that passed with nothing held.
                await roll_schedules(session, zone, now)
            rows += held
        if not rows:
            return ClaimedSends([], [])
        async with self.services.reads() as session:
            batch: Batch = await prepare(
                session, self.services, rows, now, set(gathered), share=inline_mode_on(self.bot)
            )
        unsettled.rows.update((row.id, row) for row in rows)
        unsettled.stored_at.update(batch.stored_at)
        unsettled.outcomes.extend(batch.outcomes)
        return ClaimedSends(rows, batch.sends)

    async def settle(self, unsettled: Unsettled) -> int:
        """Records the outcomes so far; returns how many rows went back to pending.

        Outcomes arriving meanwhile wait for the next call; if recording fails, these are put
        back for it too.
        """
        outcomes, effects = unsettled.outcomes, unsettled.effects
        if not (outcomes or effects):
            return 0
        unsettled.outcomes, unsettled.effects = [], Effects()
        settled_at = self.clock()
        try:
            async with self.services.sessions.begin() as session:
                await settle(session, self.worker, outcomes, settled_at)
                await count_refused_pins(session, _refused_pins(unsettled, outcomes))
                await _apply(session, effects, settled_at)
        except BaseException:
            unsettled.outcomes[:0] = outcomes
            effects.merge(unsettled.effects)
            unsettled.effects = effects
            raise
        _count(unsettled, outcomes, settled_at)
        for outcome in outcomes:
            unsettled.rows.pop(outcome.delivery_id, None)
        return sum(1 for outcome in outcomes if outcome.status == DeliveryStatus.PENDING)

    async def keep_claims(self) -> None:
        """Renews this dispatcher's leases while it sends, so slow sends (flood limits, many
        groups) are never taken over, and repeated, by another dispatcher. Three renewals fit
        in a lease, so two may come late before another dispatcher could take the rows."""
        interval = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            async with self.services.sessions.begin() as session:
                await renew_claims(session, self.worker, self.clock())

    async def timed(self, send: Send, effects: Effects) -> list[Outcome]:
        """Sends one message, measuring Telegram's round trip for the pool's size."""
        started = time.monotonic()
        outcomes = await self.sender.deliver(send, effects)
        limiter = self.bot.rate_limiter
        if isinstance(limiter, FloodLimiter) and limiter.round_trip is not None:
            self._round_trip = limiter.round_trip
        else:
            self._round_trip = 0.8 * self._round_trip + 0.2 * (time.monotonic() - started)
        return outcomes


def _refused_pins(unsettled: Unsettled, outcomes: Sequence[Outcome]) -> Counter[int]:
    """Per broadcast, its messages delivered whose pin Telegram refused."""
    refused: Counter[int] = Counter()
    for outcome in outcomes:
        row = unsettled.rows.get(outcome.delivery_id)
        if outcome.pinned is False and row is not None and row.broadcast_id is not None:
            refused[row.broadcast_id] += 1
    return refused


def _count(unsettled: Unsettled, outcomes: Sequence[Outcome], now: datetime) -> None:
    """Feeds the Prometheus counters and the item-to-message latency histogram."""
    for outcome in outcomes:
        row = unsettled.rows.get(outcome.delivery_id)
        if row is None:
            continue
        if outcome.pinned is not None:
            metrics.PINS.labels(outcome="pinned" if outcome.pinned else "refused").inc()
        if outcome.status == DeliveryStatus.SENT:
            metrics.ALERTS_SENT.labels(kind=row.kind).inc()
            if row.item_id in unsettled.stored_at:
                stored = unsettled.stored_at[row.item_id]
                metrics.DELIVERY_LATENCY.observe(max(0.0, (now - stored).total_seconds()))
        elif outcome.status == DeliveryStatus.FAILED:
            metrics.ALERTS_FAILED.labels(
                kind=row.kind, reason=metrics.failure_reason(outcome.error)
            ).inc()


async def _apply(session: AsyncSession, effects: Effects, now: datetime) -> None:
    await record_refused_images(session, set(effects.refused_images), now)
    for old_id, new_id in effects.migrated.items():
        await migrate(session, old_id, new_id)
    for chat_id, reason in effects.deactivated.items():
        await deactivate(session, chat_id, reason)
    for chat_id, thread_id in effects.lost_threads:
        await clear_thread(session, chat_id, thread_id)
