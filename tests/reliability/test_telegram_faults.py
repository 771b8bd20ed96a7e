"""Telegram misbehaving in every documented way while alerts and a broadcast fan out.

After each storm: every reachable chat got each message (duplicates only where Telegram accepted
a message and then the answer was lost: the in-flight bound), blocked chats are inactive, the
dispatcher is alive and the outbox is drained. Randomness is seeded; retry_after and backoff are
waited out by moving the clock, not by sleeping.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from support.chats import add_chats
from support.clock import fixed
from support.feed_server import FeedServer, Response
from support.feeds import HISTORY, FeedItem, recent, rss
from support.harness import BotHarness
from telegram.error import TimedOut

from psgbot import broadcasts
from psgbot.db.models import Chat, Delivery
from psgbot.db.types import utcnow
from psgbot.feeds.poll import poll_source
from psgbot.offline import ApiCall, ApiError
from psgbot.outbox import outbox_depth

pytestmark = pytest.mark.reliability

PRIVATE = list(range(1, 61))
GROUP, SUPERGROUP = -500, -100500
ITEMS = [
    FeedItem(f"f{n}", f"Court ruling {n}", "A ruling.", f"https://n.example/f{n}", recent())
    for n in range(3)
]
BROADCAST = "AGM on Saturday"
AFTER = "The storm is over"


class Storm:
    """Decides, call by call and with a fixed seed, how Telegram answers."""

    def __init__(self, scenario: str, seed: int) -> None:
        self.scenario = scenario
        self.random = random.Random(seed)
        self.blocked = set(PRIVATE[::13]) if scenario in {"403", "mixed"} else set()
        # Messages Telegram accepted although we never heard back: (chat, text) -> count.
        self.lost_answers: Counter[tuple[int, str]] = Counter()
        self.migrated = scenario in {"migrate", "mixed"}
        self.faults = 0

    def __call__(self, call: ApiCall) -> None:
        if call.method != "sendMessage":
            return
        chat = int(call.params["chat_id"])
        if chat in self.blocked:
            self.faults += 1
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if self.migrated and chat == GROUP:
            self.faults += 1
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": SUPERGROUP},
            )
        kinds = (
            ["429", "5xx", "timeout", "reset", "parse"]
            if self.scenario == "mixed"
            else [self.scenario]
        )
        if self.random.random() >= 0.3:
            return
        kind = self.random.choice(kinds)
        if kind == "parse" and call.params.get("parse_mode") != "HTML":
            return
        if kind not in {"429", "5xx", "timeout", "reset", "parse"}:
            return
        self.faults += 1
        if kind == "429":
            raise ApiError(429, "Too Many Requests: retry after 2", {"retry_after": 2})
        if kind == "5xx":
            raise ApiError(self.random.choice([500, 502]), "Internal Server Error")
        if kind == "timeout":
            if self.random.random() < 0.5:  # Telegram delivered it; only the answer was lost
                self.lost_answers[(chat, call.text or "")] += 1
            raise TimedOut("Timed out")
        if kind == "reset":
            raise ApiError(502, "Bad Gateway: connection reset by peer")
        raise ApiError(400, "Bad Request: can't parse entities: unexpected end tag")


async def populate(bot: BotHarness) -> None:
    async with bot.services.sessions.begin() as session:
        await add_chats(session, [*PRIVATE, GROUP], topic="justice")


SCENARIOS = ["429", "5xx", "timeout", "reset", "403", "parse", "migrate", "mixed"]


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_storm(bot: BotHarness, feed_server: FeedServer, scenario: str) -> None:
    await populate(bot)
    storm = Storm(scenario, seed=SCENARIOS.index(scenario) + 1)
    bot.api.faults.append(storm)
    # The real TimedOut is raised by the transport itself; the recording transport passes it on.
    feed_server.routes["/feed"] = Response(rss(HISTORY))
    await poll_source(bot.services, feed_server.url("/feed"))
    feed_server.routes["/feed"] = Response(rss(ITEMS + HISTORY))
    await poll_source(bot.services, feed_server.url("/feed"))
    async with bot.services.sessions.begin() as session:
        await broadcasts.create(
            session,
            audience="all",
            text=BROADCAST,
            parse_mode="HTML",
            scheduled_at=utcnow(),
            created_by=None,
        )
    moment = datetime.now(UTC)

    async def no_wait(seconds: float) -> None:
        return None

    dispatcher = bot.dispatcher(batch_size=25, max_attempts=50, sleep=no_wait, clock=lambda: moment)
    for _round in range(200):
        await dispatcher.drain()
        async with bot.services.sessions() as session:
            if await outbox_depth(session) == 0:
                break
        moment += timedelta(minutes=10)
        dispatcher.clock = fixed(moment)
    async with bot.services.sessions() as session:
        assert await outbox_depth(session) == 0, "outbox drained"
        inactive = set(await session.scalars(select(Chat.id).where(Chat.active.is_(False))))
        failed = list(
            await session.scalars(select(Delivery.error).where(Delivery.status == "failed"))
        )
    reachable = [chat for chat in PRIVATE if chat not in storm.blocked]
    reachable.append(SUPERGROUP if storm.migrated else GROUP)
    expected_messages = [f"Court ruling {n}" for n in range(3)] + [BROADCAST]
    received: Counter[tuple[int, str]] = Counter()
    deliveries = [
        (int(call.params["chat_id"]), call.text or "")
        for call in bot.api.calls
        if call.method == "sendMessage"
    ]
    deliveries += list(storm.lost_answers.elements())
    for chat, text in deliveries:
        for message in expected_messages:
            if message in text:
                received[(chat, message)] += 1
    lost = [
        (chat, message)
        for chat in reachable
        for message in expected_messages
        if received[(chat, message)] == 0
    ]
    duplicates = sum(count - 1 for count in received.values() if count > 1)
    in_flight_bound = sum(storm.lost_answers.values())
    print(
        f"storm {scenario}: {storm.faults} faults injected, {len(lost)} lost, "
        f"{duplicates} duplicated (bound: {in_flight_bound} answers lost in flight)"
    )
    assert lost == []
    assert duplicates <= in_flight_bound
    assert storm.blocked <= inactive
    assert [error for error in failed if "blocked" not in (error or "")] == []
    # The same dispatcher, storm over, still sends: a new broadcast reaches every reachable chat.
    bot.api.faults.clear()
    async with bot.services.sessions.begin() as session:
        await broadcasts.create(
            session,
            audience="all",
            text=AFTER,
            parse_mode="HTML",
            scheduled_at=moment,
            created_by=None,
        )
    before = len(bot.api.calls)
    await dispatcher.drain()
    after = [int(call.chat_id or 0) for call in bot.api.calls[before:] if call.text == AFTER]
    assert sorted(after) == sorted(reachable)
    assert not bot.api.violations
