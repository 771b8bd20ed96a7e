"""Telegram's flood limits, applied to every message the bot sends, with replies first.

python-telegram-bot's AIORateLimiter falls short here: it has no limit per private chat
(Telegram asks for about one message a second), its leaky buckets let a fresh bucket burst to
twice the rate within one second, and it serves callers first come, first served, so a reply
waits behind a fan-out. This limiter keeps exact sliding windows (never more than ``overall``
messages in any second, ``group`` per minute in any group or channel, one a second in any
private chat for outbox sends) and hands each free slot of the overall window to the most
urgent waiter: replies to users, then urgent broadcasts, then alerts, reminders and notices,
then ordinary broadcasts. Bulk sending takes what replies leave. A RetryAfter from Telegram
pauses every send for the time asked.

Senders say what they are through ``rate_limit_args``, a :class:`~psgbot.db.enums.Priority`.
A call without one is a reply to a user (a command's answer, an edited keyboard), which never
waits on its chat's one-a-second window; it still counts in the overall budget and, in a
group, in the group's.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from psgbot.db.enums import Priority

JSONDict = dict[str, Any]
# A pin counts as a send: in a group it posts a message saying so.
_SENDING_PREFIXES = ("send", "copy", "forward", "edit", "pinChatMessage")
_TRACKED_CHATS = 10_000
# How far behind schedule spaced sends may catch up at once: a few sends at 1000/s, where timers
# fire late relative to the spacing, and never more than one at 30/s.
CATCH_UP = 0.02


class SlidingWindow:
    """At most ``limit`` sends in any ``period`` seconds (0 means no limit); the most urgent
    waiter gets the next free slot, and waiters of one priority go in arrival order.

    A slot counts from when Telegram received its send, not when it was granted: a send
    granted earlier can arrive later than one granted after it. That moment is taken as the
    send's completion less ``credit`` (half the shortest round trip seen), which keeps the window
    honest whatever a request's own delay, without losing a round trip per slot.

    Bulk sends (every priority but replies) are also spaced evenly, ``period / limit`` apart.
    A window filled in one burst frees in one burst a period later, so a reply arriving just
    after a burst would wait almost the whole period; with bulk spaced out, a slot frees every
    ``period / limit`` seconds and the most urgent waiter gets the next one.
    """

    def __init__(
        self, limit: int, period: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.period = period
        self.clock = clock
        self._in_flight = 0
        self._finished: deque[float] = deque()  # completion times, oldest first
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._spacing = period / limit if limit > 0 else 0.0
        # Seconds between Telegram receiving a send and its answer arriving here, at least
        # (half the shortest round trip seen); set by the limiter as it measures.
        self.credit = 0.0
        self._next_bulk_at = 0.0  # when bulk may next be granted

    @property
    def waiting(self) -> int:
        return sum(1 for *_, future in self._waiters if not future.done())

    def would_wait(self) -> bool:
        """Whether a send asking now would have to wait for a slot."""
        return self.limit > 0 and (bool(self._waiters) or not self._has_room())

    @contextlib.asynccontextmanager
    async def slot(self, priority: int = Priority.REPLY) -> AsyncIterator[None]:
        if self.limit <= 0:
            yield
            return
        await self._acquire(priority)
        try:
            yield
        finally:
            self._in_flight -= 1
            # When Telegram saw the send: its answer took at least ``credit`` to come back.
            seen = self.clock() - self.credit
            self._finished.append(max(seen, self._finished[-1]) if self._finished else seen)
            self._grant()

    async def _acquire(self, priority: int) -> None:
        if not self._waiters and self._has_room() and self._paced(priority):
            self._in_flight += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), future))
        self._grant()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                # Granted, then cancelled before use: give the slot to the next waiter.
                self._in_flight -= 1
                self._grant()
            raise

    def _has_room(self) -> bool:
        now = self.clock()
        while self._finished and now - self._finished[0] >= self.period:
            self._finished.popleft()
        return self._in_flight + len(self._finished) < self.limit

    def _paced(self, priority: int) -> bool:
        """Whether a send of ``priority`` may go now as far as spacing goes; if so, books the
        next bulk time."""
        if priority == Priority.REPLY:
            return True
        now = self.clock()
        if now < self._next_bulk_at:
            return False
        # From the booked time, so a late wake-up catches up rather than drifting below the
        # rate; but by CATCH_UP at most, so an idle spell never turns into a burst.
        catch_up = max(self._spacing, CATCH_UP)
        self._next_bulk_at = max(self._next_bulk_at, now - catch_up) + self._spacing
        return True

    def _grant(self) -> None:
        """Hands free slots to the most urgent waiters; otherwise wakes up when one frees."""
        while self._waiters:
            priority, _order, future = self._waiters[0]
            if future.done():  # cancelled while waiting
                heapq.heappop(self._waiters)
                continue
            if not self._has_room() or not self._paced(priority):
                break
            heapq.heappop(self._waiters)
            self._in_flight += 1
            future.set_result(None)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._waiters:
            return
        now = self.clock()
        if self._has_room():
            at = now
        elif self._finished:
            at = self._finished[0] + self.period  # the oldest finished send leaves the window
        else:
            return  # every slot is in flight: the next completion calls _grant
        if self._waiters[0][0] != Priority.REPLY:
            at = max(at, self._next_bulk_at)
        self._timer = asyncio.get_running_loop().call_later(max(at - now, 0.0), self._grant)


class FloodLimiter(BaseRateLimiter[int]):
    def __init__(
        self,
        *,
        overall_per_second: int = 30,
        group_per_minute: int = 20,
        private_per_second: int = 1,
        paid_per_second: int = 1000,
        group_period: float = 60.0,
    ) -> None:
        """Telegram's limits; ``group_period``: the seconds a group's (or channel's) window
        spans, a minute (shorter only in tests)."""
        self.overall = SlidingWindow(overall_per_second, 1.0)
        self.paid = SlidingWindow(paid_per_second, 1.0)
        self.group_per_minute = group_per_minute
        self.group_period = group_period
        self.private_per_second = private_per_second
        self._chats: OrderedDict[int | str, SlidingWindow] = OrderedDict()
        self._resume_at = 0.0
        self.round_trip: float | None = None  # seconds a send takes Telegram, averaged
        self._shortest: float | None = None  # the shortest round trip seen
        # No overall limit means no limits at all (tests, a self-hosted Bot API server).
        self.enabled = overall_per_second > 0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def pause(self, seconds: float) -> None:
        """Holds every send for ``seconds`` (Telegram's retry_after)."""
        self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    def chat_window(self, chat_id: int | str) -> SlidingWindow:
        window = self._chats.get(chat_id)
        if window is None:
            window = (
                SlidingWindow(self.group_per_minute, self.group_period)
                if _is_group(chat_id)
                else SlidingWindow(self.private_per_second, 1.0)
            )
            self._chats[chat_id] = window
            if len(self._chats) > _TRACKED_CHATS:
                self._chats.popitem(last=False)
        else:
            self._chats.move_to_end(chat_id)
        return window

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        chat_id = data.get("chat_id")
        if chat_id is None or not self.enabled or not endpoint.startswith(_SENDING_PREFIXES):
            return await self._call(callback, args, kwargs)
        if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
            chat_id = int(chat_id)
        priority = Priority.REPLY if rate_limit_args is None else rate_limit_args
        # Replies to a person's own command are not held to the chat's one-a-second window;
        # outbox sends and everything to groups are.
        per_chat = _is_group(chat_id) or priority != Priority.REPLY
        overall = self.paid if data.get("allow_paid_broadcast") else self.overall
        # The chat's window first: a send waiting on its own chat holds no overall slot.
        async with (
            self.chat_window(chat_id).slot(priority) if per_chat else contextlib.nullcontext(),
            overall.slot(priority),
        ):
            # A pause can be extended while we wait, hence the re-check.
            while (delay := self._resume_at - time.monotonic()) > 0:  # noqa: ASYNC110
                await asyncio.sleep(delay)
            return await self._call(callback, args, kwargs)

    async def _call(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
    ) -> bool | JSONDict | list[JSONDict]:
        started = time.monotonic()
        try:
            result = await callback(*args, **kwargs)
        except RetryAfter as exc:
            self.pause(
                exc.retry_after
                if isinstance(exc.retry_after, int | float)
                else exc.retry_after.total_seconds()
            )
            raise
        elapsed = time.monotonic() - started
        self.round_trip = (
            elapsed if self.round_trip is None else 0.9 * self.round_trip + 0.1 * elapsed
        )
        if self._shortest is None or elapsed < self._shortest:
            self._shortest = elapsed
            self.overall.credit = self.paid.credit = elapsed / 2
        return result


def _is_group(chat_id: int | str) -> bool:
    return isinstance(chat_id, str) or chat_id < 0
