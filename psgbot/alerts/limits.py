"""Telegram's flood limits, applied to every message the bot sends.

python-telegram-bot's AIORateLimiter falls short in two ways here: it has no limit per private
chat (Telegram asks for about one message a second), and its leaky buckets let a fresh bucket
burst to twice the rate within one second. This limiter keeps exact sliding windows instead:
never more than ``overall`` messages in any second, ``group`` per minute in any group or
channel, one a second in any private chat. A RetryAfter from Telegram pauses every send for the
time asked.

The one-a-second limit for private chats applies to outbox sends (alerts, broadcasts), which
pass ``rate_limit_args``; a reply to a supporter's own command goes at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

JSONDict = dict[str, Any]
_SENDING_PREFIXES = ("send", "copy", "forward", "edit")
_TRACKED_CHATS = 10_000


class SlidingWindow:
    """At most ``limit`` sends in any ``period`` seconds (0 means no limit).

    A slot counts from when its send *finished*, not when it was granted: Telegram counts a
    message when it arrives, and a send granted earlier can arrive later than one granted after
    it. Measuring from completion keeps the window honest whatever the request's own delay.
    """

    _IN_FLIGHT = float("inf")

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self._slots: deque[list[float]] = deque()
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self.limit <= 0:
            yield
            return
        cell = await self._acquire()
        try:
            yield
        finally:
            cell[0] = time.monotonic()

    async def _acquire(self) -> list[float]:
        async with self._lock:
            while True:
                now = time.monotonic()
                while self._slots and now - self._slots[0][0] >= self.period:
                    self._slots.popleft()
                if len(self._slots) < self.limit:
                    cell = [self._IN_FLIGHT]
                    self._slots.append(cell)
                    return cell
                oldest = self._slots[0][0]
                wait = self.period - (now - oldest) if oldest != self._IN_FLIGHT else 0.005
                await asyncio.sleep(wait)


class FloodLimiter(BaseRateLimiter[int]):
    def __init__(
        self,
        *,
        overall_per_second: int = 30,
        group_per_minute: int = 20,
        private_per_second: int = 1,
        paid_per_second: int = 1000,
    ) -> None:
        self.overall = SlidingWindow(overall_per_second, 1.0)
        self.paid = SlidingWindow(paid_per_second, 1.0)
        self.group_per_minute = group_per_minute
        self.private_per_second = private_per_second
        self._chats: OrderedDict[int | str, SlidingWindow] = OrderedDict()
        self._resume_at = 0.0
        # No overall limit means no limits at all (tests, a self-hosted Bot API server).
        self.enabled = overall_per_second > 0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def pause(self, seconds: float) -> None:
        """Holds every send for ``seconds`` (Telegram's retry_after)."""
        self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    def _chat_window(self, chat_id: int | str) -> SlidingWindow:
        window = self._chats.get(chat_id)
        if window is None:
            is_group = isinstance(chat_id, str) or chat_id < 0
            window = (
                SlidingWindow(self.group_per_minute, 60.0)
                if is_group
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
        if chat_id is not None and self.enabled and endpoint.startswith(_SENDING_PREFIXES):
            if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
                chat_id = int(chat_id)
            is_group = isinstance(chat_id, str) or chat_id < 0
            # Replies to a person's own command are not held back; outbox sends
            # (rate_limit_args set) and everything to groups are.
            per_chat = is_group or rate_limit_args is not None
            overall = self.paid if data.get("allow_paid_broadcast") else self.overall
            async with (
                self._chat_window(chat_id).slot() if per_chat else contextlib.nullcontext(),
                overall.slot(),
            ):
                # A pause can be extended while we wait, hence the re-check.
                while (delay := self._resume_at - time.monotonic()) > 0:  # noqa: ASYNC110
                    await asyncio.sleep(delay)
                return await self._call(callback, args, kwargs)
        return await self._call(callback, args, kwargs)

    async def _call(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
    ) -> bool | JSONDict | list[JSONDict]:
        try:
            return await callback(*args, **kwargs)
        except RetryAfter as exc:
            self.pause(
                exc.retry_after
                if isinstance(exc.retry_after, int | float)
                else exc.retry_after.total_seconds()
            )
            raise
