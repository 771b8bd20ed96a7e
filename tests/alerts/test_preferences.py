"""Digests, quiet hours and time zones, end to end: a feed over HTTP, the outbox, the dispatcher
on an injected clock, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from support.clock import fixed
from support.feed_server import FeedServer, Response
from support.feeds import HISTORY, FeedItem, rss
from support.harness import BotHarness
from support.telegram_html import validate_telegram_html
from support.transport import RecordingBotApi, utf16_units

from psgbot import broadcasts
from psgbot.alerts.dispatcher import Dispatcher
from psgbot.app import build_application, running
from psgbot.config import Settings
from psgbot.db.enums import DeliveryStatus, DigestMode
from psgbot.db.models import Chat, Delivery, Item
from psgbot.feeds.poll import poll_source
from psgbot.offline import ApiCall
from psgbot.preferences import Change, change
from psgbot.retag import TagChanges, retag
from psgbot.services import Services

JUSTICE = "Court annuls the pardon of {n}"


def item(n: int, published: datetime) -> FeedItem:
    return FeedItem(
        f"pref-{n}",
        JUSTICE.format(n=n),
        "The Supreme Court ruled on the pardon.",
        f"https://n.example/pref-{n}",
        published,
    )


class Feed:
    """The test feed, growing one item at a time, polled at the test's time."""

    def __init__(self, bot: BotHarness, server: FeedServer) -> None:
        self.bot, self.server, self.items = bot, server, list[FeedItem]()

    async def publish(self, n: int, now: datetime) -> None:
        self.items.insert(0, item(n, now - timedelta(minutes=5)))
        self.server.routes["/feed"] = Response(rss(self.items + HISTORY))
        await poll_source(self.bot.services, self.server.url("/feed"), now=now)


async def follow_justice(bot: BotHarness, chat_id: int, what: Change, now: datetime) -> None:
    await bot.send("/subscribe justice", chat_id=chat_id)
    async with bot.services.sessions.begin() as session:
        chat = await session.get(Chat, chat_id)
        assert chat is not None
        await change(session, chat, what, bot.services.settings.zone, now)


def sent(calls: list[ApiCall]) -> list[tuple[int, str]]:
    return [(int(call.chat_id or 0), call.text or "") for call in calls if call.text]


async def test_a_daily_digest_comes_at_its_hour_across_a_clock_change(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    # London leaves summer time on Sunday 25 October 2026: 08:00 is 07:00 UTC on the Saturday
    # and 08:00 UTC on the Sunday.
    feed = Feed(bot, feed_server)
    friday = datetime(2026, 10, 23, 12, 0, tzinfo=UTC)
    await follow_justice(bot, 1, Change(digest=DigestMode.DAILY, digest_time=time(8)), friday)
    await bot.send("/subscribe justice", chat_id=2)  # instant, for comparison
    bot.api.clear()

    await feed.publish(1, friday)
    # Published at 23:30 UTC on Friday: 00:30 on Saturday in London.
    late = datetime(2026, 10, 23, 23, 35, tzinfo=UTC)
    await feed.publish(2, late)
    calls = sent(await bot.deliver(clock=fixed(late)))
    assert [chat for chat, _ in calls] == [2, 2], "only the instant chat hears at once"
    assert sent(await bot.deliver(clock=fixed(datetime(2026, 10, 24, 6, 59, tzinfo=UTC)))) == []

    ((chat, digest),) = sent(
        await bot.deliver(clock=fixed(datetime(2026, 10, 24, 7, 0, tzinfo=UTC)))
    )
    assert chat == 1
    assert "Your daily digest</b>: 2 new items" in digest
    assert digest.index(JUSTICE.format(n=1)) < digest.index(JUSTICE.format(n=2))
    # Each item's lines: its linked title, then its own date in the chat's zone, and its tags.
    first, second = digest.split("\n\n")[1:]
    assert first.startswith('• <a href="https://n.example/pref-1">Court annuls the pardon of 1</a>')
    assert "   23 October 2026 · #justice" in first
    assert second.startswith('• <a href="https://n.example/pref-2">Court annuls the pardon of 2')
    assert "   24 October 2026 · #justice" in second

    # Saturday afternoon's item waits for Sunday 08:00 London, which is now 08:00 UTC: not
    # 07:00 UTC, Saturday's hour.
    saturday = datetime(2026, 10, 24, 15, 0, tzinfo=UTC)
    await feed.publish(3, saturday)
    assert [chat for chat, _ in sent(await bot.deliver(clock=fixed(saturday)))] == [2]
    for moment in (
        datetime(2026, 10, 25, 7, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 7, 59, tzinfo=UTC),
    ):
        assert sent(await bot.deliver(clock=fixed(moment))) == [], moment
    ((chat, digest),) = sent(
        await bot.deliver(clock=fixed(datetime(2026, 10, 25, 8, 0, tzinfo=UTC)))
    )
    assert chat == 1
    assert "1 new item" in digest
    assert JUSTICE.format(n=3) in digest
    assert "</a>\n   24 October 2026 · #justice" in digest

    # Nothing new by Monday 08:00: nothing is sent then, and an item of Monday afternoon waits
    # for Tuesday's digest (the dispatcher moved the chat's next digest on as it passed).
    monday = datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
    assert sent(await bot.deliver(clock=fixed(monday))) == []
    afternoon = monday + timedelta(hours=6)
    await feed.publish(4, afternoon)
    assert [chat for chat, _ in sent(await bot.deliver(clock=fixed(afternoon)))] == [2]
    tuesday = datetime(2026, 10, 27, 8, 0, tzinfo=UTC)
    assert sent(await bot.deliver(clock=fixed(tuesday - timedelta(minutes=1)))) == []
    ((chat, digest),) = sent(await bot.deliver(clock=fixed(tuesday)))
    assert chat == 1
    assert JUSTICE.format(n=4) in digest
    assert JUSTICE.format(n=3) not in digest, "Sunday's was sent on Sunday"


async def test_news_just_after_a_digest_hour_waits_for_the_next_digest(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    # Nothing is held at the digest hour, and the dispatcher moves a chat's next digest on
    # only every 30 s: what comes seconds later still waits a day, not goes as a digest of one.
    feed = Feed(bot, feed_server)
    monday = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    await follow_justice(bot, 1, Change(digest=DigestMode.DAILY, digest_time=time(8)), monday)
    bot.api.clear()

    tuesday = datetime(2026, 11, 3, 8, 0, 10, tzinfo=UTC)
    await feed.publish(1, tuesday)
    assert sent(await bot.deliver(clock=fixed(tuesday))) == []
    ((chat, digest),) = sent(
        await bot.deliver(clock=fixed(datetime(2026, 11, 4, 8, 0, tzinfo=UTC)))
    )
    assert chat == 1
    assert "Your daily digest</b>: 1 new item" in digest
    assert JUSTICE.format(n=1) in digest

    # An ordinary announcement released just after Thursday's hour waits for Friday's.
    thursday = datetime(2026, 11, 5, 8, 0, 20, tzinfo=UTC)
    async with bot.services.sessions.begin() as session:
        await broadcasts.create(
            session, audience="all", text="Ordinary news", scheduled_at=thursday, created_by=1
        )
    assert sent(await bot.deliver(clock=fixed(thursday))) == []
    friday = datetime(2026, 11, 6, 8, 0, tzinfo=UTC)
    assert sent(await bot.deliver(clock=fixed(friday - timedelta(minutes=1)))) == []
    assert sent(await bot.deliver(clock=fixed(friday))) == [(1, "Ordinary news")]


async def test_a_retag_just_after_a_digest_hour_waits_for_the_next_digest(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    feed = Feed(bot, feed_server)
    monday = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    await feed.publish(1, monday)
    await bot.send("/subscribe women", chat_id=3)
    async with bot.services.sessions.begin() as session:
        chat = await session.get(Chat, 3)
        assert chat is not None
        daily = Change(digest=DigestMode.DAILY, digest_time=time(8))
        await change(session, chat, daily, bot.services.settings.zone, monday)
    bot.api.clear()
    # An editor adds the chat's topic to the item at 08:00:10, before the digest was moved on.
    tuesday = datetime(2026, 11, 3, 8, 0, 10, tzinfo=UTC)
    settings = bot.services.settings
    async with bot.services.sessions.begin() as session:
        stored = await session.scalar(select(Item).where(Item.key == "guid:pref-1"))
        assert stored is not None
        result = await retag(
            session,
            stored,
            TagChanges(frozenset({"women"}), frozenset()),
            user_id=None,
            now=tuesday,
            max_age=settings.alert_max_age,
            retention=settings.delivery_retention,
            zone=settings.zone,
        )
    assert result.alerted == 1
    assert sent(await bot.deliver(clock=fixed(tuesday))) == []
    ((chat_id, digest),) = sent(
        await bot.deliver(clock=fixed(datetime(2026, 11, 4, 8, 0, tzinfo=UTC)))
    )
    assert chat_id == 3
    assert JUSTICE.format(n=1) in digest


LIMA_QUIET = Change(timezone="America/Lima", quiet=(time(22, 0), time(7, 0)))


def lima(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of December 2026 in Lima (UTC-5, no summer time), in UTC."""
    return datetime(2026, 12, day, hour, minute, tzinfo=ZoneInfo("America/Lima")).astimezone(UTC)


async def test_quiet_hours_across_midnight_hold_alerts_and_fold_them_at_the_end(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    feed = Feed(bot, feed_server)
    await follow_justice(bot, 1, LIMA_QUIET, lima(1, 20))
    bot.api.clear()

    await feed.publish(1, lima(1, 21, 30))  # before the window: at once
    ((chat, alert),) = sent(await bot.deliver(clock=fixed(lima(1, 21, 30))))
    assert chat == 1
    assert JUSTICE.format(n=1) in alert
    assert "quiet hours" not in alert
    # Published at 21:25 in Lima, 02:25 UTC the next day: dated in the chat's zone.
    assert "1 December 2026" in alert

    await feed.publish(2, lima(1, 23, 0))  # in the window, before midnight
    await feed.publish(3, lima(2, 2, 0))  # in the window, after midnight
    for moment in (lima(1, 23, 0), lima(2, 2, 0), lima(2, 6, 59)):
        assert sent(await bot.deliver(clock=fixed(moment))) == [], moment

    ((chat, folded),) = sent(await bot.deliver(clock=fixed(lima(2, 7, 0))))
    assert chat == 1
    assert "During your quiet hours</b>: 2 new items" in folded
    assert JUSTICE.format(n=2) in folded
    assert JUSTICE.format(n=3) in folded
    assert sent(await bot.deliver(clock=fixed(lima(2, 7, 1)))) == [], "folded once"

    await feed.publish(4, lima(2, 8, 0))  # the window is over: at once again
    ((chat, alert),) = sent(await bot.deliver(clock=fixed(lima(2, 8, 0))))
    assert JUSTICE.format(n=4) in alert
    async with bot.services.reads() as session:
        rows = list(await session.scalars(select(Delivery.status).where(Delivery.chat_id == 1)))
    assert rows == [DeliveryStatus.SENT] * 4


async def test_what_a_digest_held_comes_under_a_plain_heading_when_digests_are_turned_off(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    # Chat 1 also has quiet hours, which hold nothing at 15:00; chat 2 has none. Neither gets
    # what its digest held as "During your quiet hours".
    feed = Feed(bot, feed_server)
    now = lima(11, 15)
    digest = Change(digest=DigestMode.DAILY, digest_time=time(8))
    await follow_justice(bot, 1, Change(digest=DigestMode.DAILY, quiet=(time(22), time(7))), now)
    await follow_justice(bot, 2, digest, now)
    await feed.publish(1, now)
    await feed.publish(2, now)
    assert sent(await bot.deliver(clock=fixed(now))) == []

    later = now + timedelta(minutes=1)
    async with bot.services.sessions.begin() as session:
        for chat_id in (1, 2):
            chat = await session.get(Chat, chat_id)
            assert chat is not None
            instant = Change(digest=DigestMode.INSTANT)
            await change(session, chat, instant, bot.services.settings.zone, later)
    calls = sent(await bot.deliver(clock=fixed(later)))
    assert sorted(chat for chat, _ in calls) == [1, 2]
    for _chat, text in calls:
        assert text.startswith("📬 <b>Held for you</b>: 2 new items")
        assert JUSTICE.format(n=2) in text


async def test_urgent_announcements_bypass_digests_and_quiet_hours_ordinary_ones_wait(
    bot: BotHarness,
) -> None:
    now = lima(3, 23, 0)
    await follow_justice(bot, 1, Change(digest=DigestMode.DAILY, digest_time=time(8)), now)
    await follow_justice(bot, 2, LIMA_QUIET, now)
    await bot.send("/subscribe justice", chat_id=3)
    bot.api.clear()
    async with bot.services.sessions.begin() as session:
        for text, urgent in (("Ordinary news", False), ("Urgent action", True)):
            await broadcasts.create(
                session, audience="all", text=text, scheduled_at=now, created_by=1, urgent=urgent
            )
    calls = sent(await bot.deliver(clock=fixed(now)))
    urgent_to = sorted(chat for chat, text in calls if text == "Urgent action")
    ordinary_to = sorted(chat for chat, text in calls if text == "Ordinary news")
    assert urgent_to == [1, 2, 3]
    assert ordinary_to == [3]

    # The digest chat's comes with its digest (08:00 London, 08:00 UTC in December), the quiet
    # chat's when its window ends (07:00 Lima, 12:00 UTC).
    london_eight = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    assert sent(await bot.deliver(clock=fixed(london_eight - timedelta(minutes=1)))) == []
    assert sent(await bot.deliver(clock=fixed(london_eight))) == [(1, "Ordinary news")]
    assert sent(await bot.deliver(clock=fixed(lima(4, 6, 59)))) == []
    assert sent(await bot.deliver(clock=fixed(lima(4, 7, 0)))) == [(2, "Ordinary news")]


async def test_a_restart_in_the_middle_of_a_held_window_loses_nothing(
    bot: BotHarness, feed_server: FeedServer, settings: Settings
) -> None:
    feed = Feed(bot, feed_server)
    await follow_justice(bot, 1, LIMA_QUIET, lima(5, 20))
    await feed.publish(1, lima(5, 23, 0))
    await feed.publish(2, lima(6, 1, 0))
    assert sent(await bot.deliver(clock=fixed(lima(6, 1, 0)))) == []

    # A restart: another Application on the same database sends what was held.
    api = RecordingBotApi()
    app = build_application(Services.create(settings), request=api)
    async with running(app):
        await app.bot_data["dispatcher"].stop()
        dispatcher = Dispatcher(app.bot_data["services"], app.bot, worker="after-restart")
        dispatcher.clock = fixed(lima(6, 6, 0))
        await dispatcher.drain()
        assert sent(api.calls) == []
        dispatcher.clock = fixed(lima(6, 7, 0))
        await dispatcher.drain()
        ((chat, folded),) = sent(api.calls)
    assert chat == 1
    assert JUSTICE.format(n=1) in folded
    assert JUSTICE.format(n=2) in folded


async def test_watch_alerts_are_held_like_topic_alerts(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    feed = Feed(bot, feed_server)
    await bot.send("/watch pardon", chat_id=7)  # a watch, no topic
    async with bot.services.sessions.begin() as session:
        chat = await session.get(Chat, 7)
        assert chat is not None
        await change(session, chat, LIMA_QUIET, bot.services.settings.zone, lima(7, 20))
    bot.api.clear()
    await feed.publish(1, lima(7, 23, 0))
    assert sent(await bot.deliver(clock=fixed(lima(7, 23, 0)))) == []
    ((chat_id, folded),) = sent(await bot.deliver(clock=fixed(lima(8, 7, 0))))
    assert chat_id == 7
    assert JUSTICE.format(n=1) in folded


async def test_what_quiet_hours_held_comes_in_the_chats_language(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    feed = Feed(bot, feed_server)
    await bot.send("/suscribir justicia", chat_id=8, language_code="es-PE")
    async with bot.services.sessions.begin() as session:
        chat = await session.get(Chat, 8)
        assert chat is not None
        await change(session, chat, LIMA_QUIET, bot.services.settings.zone, lima(9, 20))
    bot.api.clear()
    await feed.publish(1, lima(9, 23, 0))
    await feed.publish(2, lima(10, 1, 0))
    assert sent(await bot.deliver(clock=fixed(lima(10, 1, 0)))) == []
    ((chat_id, folded),) = sent(await bot.deliver(clock=fixed(lima(10, 7, 0))))
    assert chat_id == 8
    assert "Durante tus horas de silencio</b>: 2 noticias nuevas" in folded
    assert "#justicia" in folded
    assert "#justice" not in folded


async def test_a_digest_longer_than_a_message_is_split_each_item_once(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    monday = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    await follow_justice(bot, 1, Change(digest=DigestMode.DAILY, digest_time=time(8)), monday)
    bot.api.clear()
    rulings = [
        FeedItem(
            f"long-{n}",
            f"Ruling {n:02d}: the Supreme Court annuls the pardon granted to the former "
            "president and orders the lower courts to reopen the case of the killings in "
            "Barrios Altos and La Cantuta, a decision the victims' families welcomed",
            "The Supreme Court ruled on the pardon.",
            f"https://n.example/long-{n}",
            monday + timedelta(minutes=n),
        )
        for n in range(60)
    ]
    feed_server.routes["/feed"] = Response(rss(rulings[::-1] + HISTORY))
    await poll_source(bot.services, feed_server.url("/feed"), now=monday + timedelta(hours=1))
    assert sent(await bot.deliver(clock=fixed(monday + timedelta(hours=1)))) == []

    digest = sent(await bot.deliver(clock=fixed(datetime(2026, 11, 3, 8, 0, tzinfo=UTC))))
    assert len(digest) > 1, "60 long items do not fit one message"
    assert {chat for chat, _ in digest} == {1}
    assert "Your daily digest</b>: 60 new items" in digest[0][1]
    # Each message was accepted by Telegram's rules (the transport refuses one over 4,096).
    assert bot.api.failed_calls == []
    text = "\n".join(message for _, message in digest)
    assert [text.count(f"Ruling {n:02d}:") for n in range(60)] == [1] * 60
    positions = [text.index(f"Ruling {n:02d}:") for n in range(60)]
    assert positions == sorted(positions), "oldest first, as published"
    for _, message in digest:
        assert utf16_units(validate_telegram_html(message)) <= 4096
