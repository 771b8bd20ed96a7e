"""Every send error has its policy: Telegram's answers injected through the test transport."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from support.clock import VirtualClock, with_sleep
from support.feed_server import FeedServer, Response
from support.feeds import HISTORY, FeedItem, recent, rss
from support.harness import BotHarness

from psgbot.alerts import dispatcher as dispatcher_module
from psgbot.chats import followed_topics
from psgbot.db.models import Chat, Delivery
from psgbot.feeds.poll import poll_source
from psgbot.offline import ApiCall, ApiError
from psgbot.outbox import claim_due

ITEMS = [
    FeedItem(f"e{n}", f"Court ruling {n}", "A ruling.", f"https://n.example/e{n}", recent())
    for n in range(2)
]


async def setup_alerts(
    bot: BotHarness, server: FeedServer, chats: list[int], items: list[FeedItem] = ITEMS[:1]
) -> None:
    for chat_id in chats:
        await bot.send("/subscribe justice", chat_id=chat_id)
    server.routes["/feed"] = Response(rss(items + HISTORY))
    await poll_source(bot.services, server.url("/feed"))
    bot.api.clear()


def fail_for(chat_id: int, error: ApiError, times: int = 1) -> Callable[[ApiCall], None]:
    remaining = [times]

    def fault(call: ApiCall) -> None:
        if call.method == "sendMessage" and call.chat_id == chat_id and remaining[0] > 0:
            remaining[0] -= 1
            raise error

    return fault


async def statuses(bot: BotHarness) -> dict[int, tuple[str, str | None, int]]:
    async with bot.services.sessions() as session:
        rows = await session.execute(
            select(Delivery.chat_id, Delivery.status, Delivery.error, Delivery.attempts)
        )
        return {chat_id: (status, error, attempts) for chat_id, status, error, attempts in rows}


async def test_retry_after_pauses_then_resends_the_same_alert(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await setup_alerts(bot, feed_server, [1, 2])
    bot.api.faults.append(
        fail_for(1, ApiError(429, "Too Many Requests: retry after 7", {"retry_after": 7}))
    )
    clock = VirtualClock()
    calls = await bot.deliver(sleep=clock.sleep_now)
    assert clock.slept == [7], "waited out exactly Telegram's retry_after"
    assert sorted(call.chat_id or 0 for call in calls) == [1, 2]
    (refused,) = bot.api.failed_calls
    assert refused[0].chat_id == 1
    assert [call.chat_id for call in calls].count(1) == 1, "the same alert, sent once"
    assert (await statuses(bot))[1][0] == "sent"


async def test_network_errors_retry_with_backoff_then_fail(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await setup_alerts(bot, feed_server, [1])
    bot.api.faults.append(fail_for(1, ApiError(502, "Bad Gateway"), times=2))
    assert await bot.deliver() == []
    status, error, attempts = (await statuses(bot))[1]
    assert (status, attempts) == ("pending", 1)
    assert "Bad Gateway" in (error or "")
    assert await bot.deliver() == [], "not due before its backoff"
    later = datetime.now(UTC) + timedelta(minutes=10)
    assert await bot.deliver(clock=lambda: later) == []
    even_later = later + timedelta(minutes=10)
    (sent,) = await bot.deliver(clock=lambda: even_later)
    assert sent.chat_id == 1
    assert (await statuses(bot))[1][0] == "sent"


async def test_network_errors_give_up_after_max_attempts(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await setup_alerts(bot, feed_server, [1])
    bot.api.faults.append(fail_for(1, ApiError(500, "Internal Server Error"), times=99))
    start = datetime.now(UTC)
    for hours in range(1, 6):
        moment = start + timedelta(hours=hours)
        await bot.deliver(clock=lambda moment=moment: moment, max_attempts=3)
    status, error, attempts = (await statuses(bot))[1]
    assert status == "failed"
    assert attempts == 3
    assert "gave up after 3 attempts" in (error or "")


async def test_blocked_chat_is_deactivated_and_its_rows_cancelled(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await setup_alerts(bot, feed_server, [1, 2], items=ITEMS)
    bot.api.faults.append(fail_for(1, ApiError(403, "Forbidden: bot was blocked by the user")))
    calls = await bot.deliver(batch_size=1)
    assert {call.chat_id for call in calls} == {2}
    async with bot.services.sessions() as session:
        chat = await session.get(Chat, 1)
        assert chat is not None
        assert not chat.active
        assert "blocked" in (chat.inactive_reason or "")
        rows = list(
            await session.execute(
                select(Delivery.status).where(Delivery.chat_id == 1).order_by(Delivery.id)
            )
        )
    assert sorted(status for (status,) in rows) == ["cancelled", "failed"]


async def test_chat_not_found_is_deactivated(bot: BotHarness, feed_server: FeedServer) -> None:
    await setup_alerts(bot, feed_server, [1])
    bot.api.faults.append(fail_for(1, ApiError(400, "Bad Request: chat not found")))
    await bot.deliver()
    async with bot.services.sessions() as session:
        chat = await session.get(Chat, 1)
    assert chat is not None
    assert not chat.active


async def test_migrated_group_moves_and_gets_the_alert(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    group, supergroup = -555, -100555
    bot.api.chat_members[(group, 8)] = "administrator"
    await bot.send("/subscribe justice", chat_id=group, chat_type="group", user_id=8)
    feed_server.routes["/feed"] = Response(rss(ITEMS[:1] + HISTORY))
    await poll_source(bot.services, feed_server.url("/feed"))
    bot.api.faults.append(
        fail_for(
            group,
            ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": supergroup},
            ),
        )
    )
    calls = await bot.deliver()
    assert [call.chat_id for call in calls] == [supergroup]
    async with bot.services.sessions() as session:
        assert await followed_topics(session, supergroup) == {"justice"}
        old = await session.get(Chat, group)
        assert old is not None
        assert not old.active


async def test_html_parse_error_resends_as_plain_text(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await setup_alerts(bot, feed_server, [1])
    bot.api.faults.append(
        fail_for(1, ApiError(400, "Bad Request: can't parse entities: unsupported start tag"))
    )
    (call,) = await bot.deliver()
    assert call.params.get("parse_mode") is None
    assert "<b>" not in (call.text or "")
    assert "Court ruling 0" in (call.text or "")


async def test_unexpected_transport_failure_does_not_kill_the_dispatcher(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await setup_alerts(bot, feed_server, [1, 2])

    def explode(call: ApiCall) -> None:
        if call.chat_id == 1:
            raise RuntimeError("socket exploded")

    bot.api.faults.append(explode)
    calls = await bot.deliver()
    assert [call.chat_id for call in calls] == [2]
    assert (await statuses(bot))[1][0] == "pending"


async def test_stopping_gives_unsent_claims_back(bot: BotHarness, feed_server: FeedServer) -> None:
    await setup_alerts(bot, feed_server, [1, 2])
    async with bot.services.sessions.begin() as session:
        claimed = await claim_due(session, "stopping", 10, datetime.now(UTC), timedelta(hours=1))
    assert len(claimed) == 2
    await bot.dispatcher(worker="stopping").stop()
    assert {status for status, _e, _a in (await statuses(bot)).values()} == {"pending"}
    assert len(await bot.deliver()) == 2


async def test_a_slow_batch_keeps_its_claims(
    bot: BotHarness, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a batch sends, its lease is renewed: another dispatcher cannot take it over."""
    await setup_alerts(bot, feed_server, [1])
    clock = VirtualClock()
    # The dispatcher's own waits (the lease keeper's) follow the test's clock.
    monkeypatch.setattr(dispatcher_module, "asyncio", with_sleep(clock.sleep))
    started = asyncio.Event()
    release = asyncio.Event()
    original = bot.api.answer

    async def answer(call: ApiCall) -> object:
        if call.method == "sendMessage":
            started.set()
            await release.wait()
        return await original(call)

    bot.api.answer = answer  # type: ignore[method-assign]
    slow_dispatcher = bot.dispatcher(worker="slow", lease=timedelta(seconds=2), clock=clock.now)
    batch = asyncio.create_task(slow_dispatcher.run_once())
    await started.wait()
    for _second in range(3):  # past the 2 s lease, one keeper's round at a time
        renewals = clock.woken
        await clock.advance(1.0)
        await clock.settled(renewals + 1)
    async with bot.services.sessions.begin() as session:
        taken = await claim_due(session, "other", 10, clock.now(), timedelta(seconds=2))
    release.set()
    assert await batch == 1
    assert taken == []
    assert clock.woken >= 3, "the keeper renewed the lease each second"
