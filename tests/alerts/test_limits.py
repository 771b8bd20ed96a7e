"""The flood limiter: exact windows, per-chat spacing for outbox sends, RetryAfter pauses.

Windows are scaled down (tens of milliseconds) so the tests stay quick. Only the limiter's own
guarantee is checked: it waits at least as long as a window demands (a lower bound, which load
on the machine cannot break); nothing asserts how fast anything runs.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
from telegram.error import RetryAfter

from psgbot.alerts.limits import FloodLimiter, SlidingWindow
from psgbot.db.enums import Priority

pytestmark = pytest.mark.serial  # measures time, or starts whole instances


async def test_sliding_window_never_exceeds_its_limit() -> None:
    window = SlidingWindow(5, 0.05)
    finished: list[float] = []

    async def send() -> None:
        async with window.slot():
            await asyncio.sleep(0.001)
        finished.append(time.monotonic())

    await asyncio.gather(*(send() for _ in range(20)))
    finished.sort()
    for index in range(len(finished) - 5):
        assert finished[index + 5] - finished[index] >= 0.05 * 0.99


async def record(limiter: FloodLimiter, chat_id: int, *, outbox: bool) -> float:
    async def callback() -> bool:
        return True

    await limiter.process_request(
        callback, (), {}, "sendMessage", {"chat_id": chat_id}, 1 if outbox else None
    )
    return time.monotonic()


async def test_outbox_sends_to_one_private_chat_are_spaced_but_replies_are_not() -> None:
    limiter = FloodLimiter(overall_per_second=1000)
    for window_chat in (1, 2):
        limiter.chat_window(window_chat).period = 0.05
    started = time.monotonic()
    await record(limiter, 1, outbox=True)
    second = await record(limiter, 1, outbox=True)
    assert second - started >= 0.05 * 0.99
    limiter._chats.pop(2)
    await asyncio.gather(*(record(limiter, 2, outbox=False) for _ in range(5)))
    assert 2 not in limiter._chats, "a reply to a command never waits on the chat's window"


async def test_a_channel_has_its_own_window_as_a_group_does() -> None:
    """Posts to a channel (id -100…) count in the channel's own window, of the groups' size
    (20 a minute; 3 per 50 ms here): a fourth post waits for the first to leave it."""
    channel = -1001234567890
    limiter = FloodLimiter(overall_per_second=1000, group_per_minute=3, group_period=0.05)
    started = time.monotonic()
    for _ in range(3):
        await record(limiter, channel, outbox=True)
    fourth = await record(limiter, channel, outbox=True)
    assert fourth - started >= 0.05 * 0.99
    # A group's window, not a private chat's (one a second); another channel's is its own.
    assert limiter.chat_window(channel).limit == 3
    assert limiter.chat_window(-1009876543210) is not limiter.chat_window(channel)


async def test_retry_after_pauses_every_send() -> None:
    limiter = FloodLimiter(overall_per_second=1000)

    async def flooded() -> Any:
        raise RetryAfter(timedelta(seconds=0.05))

    with pytest.raises(RetryAfter):
        await limiter.process_request(flooded, (), {}, "sendMessage", {"chat_id": 5}, None)
    started = time.monotonic()
    await record(limiter, 6, outbox=False)
    assert time.monotonic() - started >= 0.04


async def test_zero_rate_means_no_limits() -> None:
    limiter = FloodLimiter(overall_per_second=0)
    await asyncio.gather(*(record(limiter, 1, outbox=True) for _ in range(50)))
    assert not limiter.enabled
    assert limiter._chats == {}


async def test_a_free_slot_goes_to_the_most_urgent_waiter() -> None:
    window = SlidingWindow(2, 0.05)
    served: list[str] = []

    async def send(name: str, priority: Priority) -> None:
        async with window.slot(priority):
            served.append(name)
            await asyncio.sleep(0)

    # Fill the window, then queue bulk and alert sends before one reply arrives.
    await asyncio.gather(send("first", Priority.BULK), send("second", Priority.BULK))
    waiting = [asyncio.create_task(send(f"bulk{n}", Priority.BULK)) for n in range(3)] + [
        asyncio.create_task(send("alert", Priority.ALERT))
    ]
    await asyncio.sleep(0)
    waiting.append(asyncio.create_task(send("reply", Priority.REPLY)))
    await asyncio.gather(*waiting)
    assert served[2:] == ["reply", "alert", "bulk0", "bulk1", "bulk2"]


async def test_the_overall_budget_holds_whatever_the_priorities() -> None:
    window = SlidingWindow(5, 0.05)
    finished: list[float] = []

    async def send(priority: Priority) -> None:
        async with window.slot(priority):
            await asyncio.sleep(0.001)
        finished.append(time.monotonic())

    await asyncio.gather(*(send(Priority(n % 4)) for n in range(24)))
    finished.sort()
    for index in range(len(finished) - 5):
        assert finished[index + 5] - finished[index] >= 0.05 * 0.99


async def test_a_cancelled_waiter_gives_its_turn_away() -> None:
    window = SlidingWindow(1, 0.02)
    async with window.slot():
        cancelled = asyncio.create_task(_hold(window, Priority.REPLY))
        later = asyncio.create_task(_hold(window, Priority.BULK))
        await asyncio.sleep(0)
        cancelled.cancel()
    await asyncio.wait_for(later, 1.0)
    assert window.waiting == 0


async def _hold(window: SlidingWindow, priority: Priority) -> None:
    async with window.slot(priority):
        await asyncio.sleep(0)
