"""Latency benchmark: how fast the bot answers while news breaks.

    python bench/latency.py [--subscribers 20000] [--seconds 60] [--database-url URL]

Runs the real Application (python-telegram-bot's update queue, the bot's update processor,
handlers, flood limiter and dispatcher) on the in-process transport, and measures:

R: during a fan-out of one item to --subscribers chats at 30 messages/s, 200 chats send /latest,
   /events and /subscribe, 10 commands a second in all for --seconds: the 99th percentile of the
   time from an update entering the queue to the bot's first message to that chat.
G: a group that has used up its 20 messages a minute gets one more command; then one private
   /latest: the time to that private reply.
P: paid broadcasts (up to 1000/s) through a transport with a 50 ms round trip that answers 429
   above 1000 messages in any second: sends per second over the run, as a fraction of 1000.

The last line is the summary the issue asks for. The database must be fresh (a temporary SQLite
file by default; for PostgreSQL the URL of an empty database).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

from common import add_subscribers, fan_out
from telegram import Update
from telegram.ext import ExtBot

from psgbot.alerts.dispatcher import Dispatcher
from psgbot.alerts.limits import FloodLimiter
from psgbot.app import OFFLINE_TOKEN, build_application, prepare_storage, running
from psgbot.config import DEFAULT_DATA_DIR, Settings, load_settings
from psgbot.offline import ApiCall, ApiError, OfflineBotApi
from psgbot.offline_updates import UpdateFactory
from psgbot.services import Services

ASKERS = range(1, 201)
GROUP, LONER = -100_555, 999
COMMANDS = ("/latest", "/events", "/subscribe")


class TimingBotApi(OfflineBotApi):
    """Accepts every call, after an optional round trip, and notes when each chat got its
    messages; with ``limit``, answers 429 above that many sends in any second."""

    def __init__(self, *, round_trip: float = 0.0, limit: int = 0) -> None:
        super().__init__()
        self.round_trip = round_trip
        self.limit = limit
        self.window: deque[float] = deque()
        self.received: dict[int, list[float]] = {}
        self.sends: list[float] = []
        self.flood_errors = 0

    async def answer(self, call: ApiCall) -> Any:
        if call.method in {"sendMessage", "sendDocument"}:
            now = time.monotonic()
            if self.limit:
                while self.window and now - self.window[0] >= 1.0:
                    self.window.popleft()
                if len(self.window) >= self.limit:
                    self.flood_errors += 1
                    raise ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
                self.window.append(now)
            self.sends.append(now)
            self.received.setdefault(int(call.chat_id or 0), []).append(now)
        if self.round_trip:
            await asyncio.sleep(self.round_trip)
        return await super().answer(call)


def settings_for(url: str, **overrides: object) -> Settings:
    return load_settings(
        database_url=url,
        feeds=[str(DEFAULT_DATA_DIR / "sample" / "psg-news.xml")],
        poll_interval=86_400,
        metrics_port=0,
        _env_file=None,
        **overrides,
    )


def first_reply_after(api: TimingBotApi, chat: int, asked: float) -> float | None:
    return next((at for at in api.received.get(chat, []) if at >= asked), None)


async def replies_during_fan_out(
    url: str, subscribers: int, seconds: float
) -> tuple[list[float], float]:
    """R and G, on the real Application with its own dispatcher sending the fan-out."""
    api = TimingBotApi()
    services = Services.create(settings_for(url, rate_limit=30))
    app = build_application(services, request=api)
    async with running(app):
        assert app.job_queue is not None
        for job in app.job_queue.jobs():
            job.schedule_removal()  # no feed polls during the measurement
        updates = UpdateFactory(app.bot)
        await add_subscribers(services, subscribers)
        await fan_out(services, "latency")
        services.wake_dispatcher()
        await asyncio.sleep(2)  # the fan-out is under way
        asked: list[tuple[int, float]] = []
        total = int(seconds * 10)
        started = time.monotonic()
        for number in range(total):
            await asyncio.sleep(max(0.0, started + number / 10 - time.monotonic()))
            chat = ASKERS[number % len(ASKERS)]
            command = COMMANDS[(number // len(ASKERS)) % len(COMMANDS)]
            asked.append((chat, time.monotonic()))
            await app.update_queue.put(updates.message(command, chat_id=chat))
        latencies = await collect(api, asked)
        busy = await busy_group(app, api, updates)
    await services.close()
    return latencies, busy


async def collect(api: TimingBotApi, asked: list[tuple[int, float]]) -> list[float]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        answered = [first_reply_after(api, chat, at) for chat, at in asked]
        if all(at is not None for at in answered):
            return [reply - at for (_chat, at), reply in zip(asked, answered, strict=True) if reply]
        await asyncio.sleep(0.1)
    raise SystemExit("some commands were never answered")


async def busy_group(app: Any, api: TimingBotApi, updates: UpdateFactory) -> float:
    """G: a group over its 20 a minute, then one private /latest."""
    for user in range(21):
        update: Update = updates.message(
            "/help", chat_id=GROUP, chat_type="supergroup", user_id=5000 + user
        )
        await app.update_queue.put(update)
    while len(api.received.get(GROUP, [])) < 20:  # noqa: ASYNC110 (polling what the transport saw)
        await asyncio.sleep(0.01)
    asked = time.monotonic()
    await app.update_queue.put(updates.message("/latest", chat_id=LONER))
    while (reply := first_reply_after(api, LONER, asked)) is None:  # noqa: ASYNC110
        await asyncio.sleep(0.001)
    return reply - asked


async def paid_broadcast(url: str, subscribers: int) -> tuple[float, int]:
    """P: sends per second of a paid fan-out over a 50 ms round trip, as a fraction of 1000."""
    services = Services.create(settings_for(url, rate_limit=30, paid_broadcast=True))
    await prepare_storage(services)
    api = TimingBotApi(round_trip=0.05, limit=1000)
    bot: ExtBot[Any] = ExtBot(OFFLINE_TOKEN, request=api, rate_limiter=FloodLimiter())
    await bot.initialize()
    await fan_out(services, "paid")
    services.wake_dispatcher()
    dispatcher = Dispatcher(services, bot)
    await dispatcher.drain()
    await bot.shutdown()
    await services.close()
    sent = len(api.sends)
    elapsed = api.sends[-1] - api.sends[0]
    return sent / elapsed / 1000, api.flood_errors


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        latencies, busy = await replies_during_fan_out(url, args.subscribers, args.seconds)
        cuts = statistics.quantiles(latencies, n=100)
        replies_p99 = cuts[98]
        print(
            f"R: {len(latencies)} replies: p50 {cuts[49]:.3f} s, p90 {cuts[89]:.3f} s, "
            f"p99 {replies_p99:.3f} s, max {max(latencies):.3f} s; G: {busy:.3f} s"
        )
        paid, flood_errors = await paid_broadcast(url, args.subscribers)
        print(f"P: {paid:.3f} of 1000/s; {flood_errors} flood errors (429)")
    print(
        f"latency: replies p99 {replies_p99:.2f} s during a {args.subscribers}-subscriber "
        f"fan-out at 30/s; busy group delays others {busy:.2f} s; "
        f"paid {paid:.2f} of 1000/s at 50 ms round trip"
    )


if __name__ == "__main__":
    asyncio.run(main())
