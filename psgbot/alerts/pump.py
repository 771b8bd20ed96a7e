"""The dispatcher's loop: keeps the pool of sends full of due rows, with claiming ahead and
recording outcomes running as tasks beside the sends, so the pool never waits on the database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from psgbot.alerts.queue import SendQueue
from psgbot.alerts.sender import Effects
from psgbot.alerts.sends import Send
from psgbot.db.enums import DeliveryStatus
from psgbot.outbox import Claimed, Outcome

if TYPE_CHECKING:
    from psgbot.alerts.dispatcher import Dispatcher

log = logging.getLogger(__name__)

SETTLE_EVERY = 0.25  # seconds between recordings of outcomes while sending


@dataclass
class Unsettled:
    """Outcomes waiting to be recorded, with what is needed to count them."""

    outcomes: list[Outcome] = field(default_factory=list)
    rows: dict[int, Claimed] = field(default_factory=dict)
    stored_at: dict[int, datetime] = field(default_factory=dict)
    effects: Effects = field(default_factory=Effects)

    @property
    def pending(self) -> bool:
        return bool(self.outcomes or self.effects.pending)


@dataclass
class ClaimedSends:
    rows: list[Claimed]
    sends: list[Send]


def result_or_log(task: asyncio.Task[Any], what: str) -> Any:
    """A finished task's result; its failure is logged (the dispatcher goes on) as None."""
    try:
        return task.result()
    except Exception:  # e.g. the database is down: sends in flight go on, and so do we
        log.exception("%s; retrying shortly", what)
        return None


class Pump:
    """One run of the pool: until stopped or (``until_idle``) nothing is due."""

    def __init__(self, dispatcher: Dispatcher, *, until_idle: bool) -> None:
        self.dispatcher = dispatcher
        self.until_idle = until_idle
        self.queue = SendQueue()
        self.in_flight: dict[asyncio.Task[list[Outcome]], int] = {}  # each send's chat
        self.claiming: asyncio.Task[ClaimedSends] | None = None
        self.settling: asyncio.Task[int] | None = None
        self.unsettled = Unsettled()
        self.handled = 0
        self.exhausted_at = -math.inf  # when a claim last found nothing due
        self.last_settle = time.monotonic()

    async def run(self) -> int:
        """Sends until done; returns how many rows were handled."""
        keeper = asyncio.create_task(self.dispatcher.keep_claims())
        try:
            while True:
                self._fill()
                tasks: set[asyncio.Task[Any]] = set(self.in_flight)
                tasks.update(task for task in (self.claiming, self.settling) if task is not None)
                if not tasks:
                    if self.dispatcher.stopping or (
                        self.until_idle and self.exhausted_at > -math.inf
                    ):
                        return self.handled
                    await self._rest()
                    continue
                done, _pending = await asyncio.wait(
                    tasks, timeout=SETTLE_EVERY, return_when=asyncio.FIRST_COMPLETED
                )
                for finished in done:
                    self._collect(finished)
                self._drop_gone_chats()
        finally:
            await self._close(keeper)

    def _fill(self) -> None:
        """Starts what is wanted: a claim when the queue runs low, sends up to the pool's
        size, a recording of outcomes when due."""
        dispatcher, wanted = self.dispatcher, self.dispatcher.target_concurrency
        recently_empty = (
            time.monotonic() - self.exhausted_at < dispatcher.idle_wait and not dispatcher.woken
        )
        low = len(self.queue) < max(wanted, dispatcher.batch_size // 2)
        if self.claiming is None and low and not recently_empty and not dispatcher.stopping:
            dispatcher.clear_wake()  # cleared before looking: a wake() meanwhile is kept
            size = max(dispatcher.batch_size, 2 * wanted)
            self.claiming = asyncio.create_task(dispatcher.claim(size, self.unsettled))
        while self.queue.ready and len(self.in_flight) < wanted and not dispatcher.stopping:
            send = self.queue.pop()
            task = asyncio.create_task(dispatcher.timed(send, self.unsettled.effects))
            self.in_flight[task] = send.chat_id
        due_to_settle = len(self.unsettled.outcomes) >= dispatcher.batch_size or (
            time.monotonic() - self.last_settle >= SETTLE_EVERY
        )
        idle = not (self.in_flight or self.claiming or self.queue.ready)
        if self.settling is None and self.unsettled.pending and (due_to_settle or idle):
            self.settling = asyncio.create_task(dispatcher.settle(self.unsettled))
            self.last_settle = time.monotonic()

    async def _rest(self) -> None:
        """Nothing to do: waits for a wake (or the idle wait) before looking again."""
        if not self.until_idle and not self.dispatcher.woken:
            await self.dispatcher.wait_for_wake()
        self.exhausted_at = -math.inf

    def _collect(self, finished: asyncio.Task[Any]) -> None:
        if finished is self.claiming:
            self.claiming = None
            claimed = result_or_log(finished, "could not claim outbox rows")
            rows = claimed.rows if claimed else []
            self.handled += len(rows)
            for send in claimed.sends if claimed else []:
                self.queue.push(send)
            if not rows:
                self.exhausted_at = time.monotonic()
        elif finished is self.settling:
            self.settling = None
            if result_or_log(finished, "could not record outcomes"):
                self.exhausted_at = -math.inf  # rows went back to pending: look again
        else:
            self.queue.finished(self.in_flight.pop(finished))
            self.unsettled.outcomes.extend(finished.result())

    def _drop_gone_chats(self) -> None:
        """Sends queued for a chat found blocked or gone are cancelled, not tried."""
        for chat_id, reason in self.unsettled.effects.deactivated.items():
            for send in self.queue.drop(chat_id):
                self.unsettled.outcomes.extend(
                    Outcome(row.id, DeliveryStatus.CANCELLED, error=f"chat gone: {reason}")
                    for row in send.rows
                )

    async def _close(self, keeper: asyncio.Task[None]) -> None:
        keeper.cancel()
        for unfinished in (*self.in_flight, self.claiming):
            if unfinished is not None:
                unfinished.cancel()
        await asyncio.gather(keeper, *self.in_flight, return_exceptions=True)
        if self.claiming is not None:
            await asyncio.gather(self.claiming, return_exceptions=True)
        # Whatever finished is recorded; rows still queued go back when the claims are
        # released (stop) or their lease ends.
        with contextlib.suppress(Exception):
            if self.settling is not None:
                await asyncio.shield(self.settling)
            await asyncio.shield(self.dispatcher.settle(self.unsettled))
