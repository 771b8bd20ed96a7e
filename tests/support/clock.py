"""A clock the test moves: time passes only when the test says so, never by waiting."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import types
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any


class VirtualClock:
    """``now()`` for code that reads the time, ``sleep()`` for code that waits; both follow
    ``advance()``. A sleep of 0 only yields to the loop, as asyncio.sleep(0) does."""

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start or datetime.now(UTC)
        self.elapsed = 0.0
        self.slept: list[float] = []  # every wait asked for, in order
        self.woken = 0  # sleepers woken by advance()
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)

    def monotonic(self) -> float:
        return self.elapsed

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        self.slept.append(seconds)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.elapsed + seconds, next(self._order), future))
        await future

    async def sleep_now(self, seconds: float) -> None:
        """A wait that is recorded and passes at once: time jumps by ``seconds``."""
        self.slept.append(seconds)
        self.elapsed += max(seconds, 0.0)
        await asyncio.sleep(0)

    @property
    def sleeping(self) -> int:
        return sum(1 for *_, future in self._sleepers if not future.done())

    async def advance(self, seconds: float) -> None:
        """Moves time on, waking every sleeper due by then (in order), and lets them run."""
        target = self.elapsed + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            due, _order, future = heapq.heappop(self._sleepers)
            self.elapsed = max(self.elapsed, due)
            if not future.done():
                future.set_result(None)
                self.woken += 1
            await asyncio.sleep(0)
        self.elapsed = target
        await asyncio.sleep(0)

    async def settled(self, woken: int, *, guard: float = 30.0) -> None:
        """Waits (in real time, at most ``guard`` s: a hang guard, not a measure) until
        ``woken`` sleepers have woken and one is asleep again: the woken code has done its round."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + guard
        while not (self.woken >= woken and self.sleeping > 0):
            if loop.time() > deadline:
                raise AssertionError(f"nothing went back to sleep: woken {self.woken}")
            await asyncio.sleep(0.01)


def fixed(moment: datetime) -> Callable[[], datetime]:
    """A clock stopped at ``moment``."""
    return lambda: moment


def with_sleep(sleep: Callable[[float], Awaitable[None]]) -> Any:
    """The asyncio module as one module sees it, with ``sleep`` replaced (monkeypatch it onto
    that module's ``asyncio``): only that module's waits follow the test's clock."""
    proxy = types.SimpleNamespace(**{name: getattr(asyncio, name) for name in dir(asyncio)})
    proxy.sleep = sleep
    return proxy
