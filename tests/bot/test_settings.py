"""/settings and its typed forms, through the real Application, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from support.broadcasts import compose, send_now
from support.clock import fixed
from support.feed_server import FeedServer, Response
from support.feeds import HISTORY, FeedItem, rss
from support.harness import BotHarness

from psgbot.db.enums import DigestMode
from psgbot.db.models import Chat
from psgbot.events_file import event_from_yaml
from psgbot.feeds.poll import poll_source
from psgbot.offline import ApiCall, ApiError

GROUP = -100300400
# The commands read the services' clock, stopped here for every test: a Wednesday, 12:00 in
# London (on winter time, as UTC), so no test meets a clock change by the calendar's chance.
NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def stopped_clock(bot: BotHarness) -> None:
    bot.services.clock = fixed(NOW)


async def stored(bot: BotHarness, chat_id: int = 4242) -> Chat:
    async with bot.services.reads() as session:
        chat = await session.get(Chat, chat_id)
    assert chat is not None
    return chat


def buttons(params: dict) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [
        (button["text"], button.get("callback_data", ""))
        for row in params["reply_markup"]["inline_keyboard"]
        for button in row
    ]


async def test_settings_shows_everything_and_its_buttons_edit_it_in_place(
    bot: BotHarness,
) -> None:
    (shown,) = await bot.send("/settings")
    text = shown.text or ""
    assert "Alerts: <b>instant: each alert as it comes</b>" in text
    assert "Quiet hours: <b>off</b>" in text
    assert "Time zone: <b>Europe/London</b>" in text
    assert "Announcements from the PSG: <b>on</b>" in text
    assert "Keyword watches: <b>0</b>" in text
    assert "/digest daily 08:00" in text
    assert [data for _, data in buttons(shown.params)] == [
        "set:dm:instant",
        "set:dm:daily",
        "set:dm:weekly",
        "set:quiet",
        "set:tz:london",
        "set:tz:lima",
        "set:lang:en",
        "set:lang:es",
        "set:ann",
        "set:done",
    ]
    assert ("✓ Instant", "set:dm:instant") in buttons(shown.params)

    answer, edit = await bot.press("set:dm:daily", message_id=shown.result["message_id"])
    assert answer.method == "answerCallbackQuery"
    assert edit.method == "editMessageText"
    assert "daily digest at 08:00" in (edit.text or "")
    assert ("✓ Daily 08:00", "set:dm:daily") in buttons(edit.params)
    assert (await stored(bot)).digest == DigestMode.DAILY

    *_, edit = await bot.press("set:quiet", message_id=shown.result["message_id"])
    assert "Quiet hours: <b>22:00–07:00</b>" in (edit.text or "")
    *_, edit = await bot.press("set:tz:lima", message_id=shown.result["message_id"])
    assert "Time zone: <b>America/Lima</b>" in (edit.text or "")
    *_, edit = await bot.press("set:ann", message_id=shown.result["message_id"])
    assert "Announcements from the PSG: <b>off</b>" in (edit.text or "")
    chat = await stored(bot)
    assert (chat.quiet_from, chat.quiet_until) == (time(22), time(7))
    assert chat.timezone == "America/Lima"
    assert chat.announcements is False
    # The digest moved with the zone: 08:00 in Lima is 13:00 UTC.
    assert chat.digest_at is not None
    assert chat.digest_at.astimezone(UTC).hour == 13

    # Español: the settings are shown again, in Spanish, and the chat speaks it from now on.
    *_, edit = await bot.press("set:lang:es", message_id=shown.result["message_id"])
    assert "Idioma: <b>Español</b>" in (edit.text or "")
    assert (await stored(bot)).language == "es"

    *_, closed = await bot.press("set:done", message_id=shown.result["message_id"])
    assert "/settings" in (closed.text or "")
    assert "reply_markup" not in closed.params


async def test_typed_forms_set_each_setting_and_say_what_comes_next(bot: BotHarness) -> None:
    (reply,) = await bot.reply_texts("/digest weekly fri 18:30")
    assert "weekly digest on Friday at 18:30" in reply
    assert "The next is on Friday at 18:30 (Europe/London)" in reply
    chat = await stored(bot)
    assert (chat.digest, chat.digest_weekday, chat.digest_time) == (
        DigestMode.WEEKLY,
        4,
        time(18, 30),
    )
    assert chat.digest_at == datetime(2026, 11, 6, 18, 30, tzinfo=UTC)

    (reply,) = await bot.reply_texts("/quiet 23:00 - 06:30")
    assert "Quiet hours 23:00–06:30 (Europe/London)" in reply
    assert "sent as one message at 06:30" in reply

    (reply,) = await bot.reply_texts("/timezone america/lima")
    assert "Time zone: <b>America/Lima</b>" in reply
    chat = await stored(bot)
    assert chat.timezone == "America/Lima"

    (reply,) = await bot.reply_texts("/digest off")
    assert "one by one" in reply
    (reply,) = await bot.reply_texts("/quiet off")
    assert "Quiet hours are off" in reply
    chat = await stored(bot)
    assert chat.digest == DigestMode.INSTANT
    assert chat.digest_at is None
    assert chat.quiet_from is None
    assert chat.quiet_ends_at is None


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("/digest daily 25:00", "“25:00” is not a time of day. Use 24-hour HH:MM"),
        ("/digest daily", "Add the time, in 24-hour HH:MM"),
        ("/digest weekly someday 08:00", "“someday” is not a day. Use mon, tue"),
        ("/digest weekly mon 8am", "“8am” is not a time of day"),
        ("/digest hourly", "/digest daily 08:00"),
        ("/digest", "/digest weekly mon 08:00"),
        ("/quiet 22:00", "is not a window"),
        ("/quiet 22:00-22:00", "is not a window"),
        ("/quiet 21:00-24:30", "/quiet 22:00-07:00"),
        ("/quiet", "/quiet 22:00-07:00"),
        ("/timezone Mars/Olympus", "“Mars/Olympus” is not a time zone I know"),
        ("/timezone <b>", "“&lt;b&gt;” is not a time zone I know"),
    ],
)
async def test_bad_input_gets_a_clear_reply_with_an_example(
    bot: BotHarness, typed: str, answer: str
) -> None:
    (reply,) = await bot.reply_texts(typed)
    assert answer in reply
    async with bot.services.reads() as session:
        chat = await session.get(Chat, 4242)
    # Nothing was changed.
    assert chat is None or (chat.digest, chat.quiet_from, chat.timezone) == (
        DigestMode.INSTANT,
        None,
        None,
    )


async def test_timezone_without_a_name_offers_the_two_zones(bot: BotHarness) -> None:
    (reply,) = await bot.send("/timezone")
    assert "/timezone Europe/London" in (reply.text or "")
    assert buttons(reply.params) == [
        ("✓ Europe/London", "tz:london"),
        ("America/Lima", "tz:lima"),
    ]
    answer, edit = await bot.press("tz:lima", message_id=reply.result["message_id"])
    assert answer.method == "answerCallbackQuery"
    assert "Time zone: <b>America/Lima</b>" in (edit.text or "")
    assert (await stored(bot)).timezone == "America/Lima"


async def test_in_a_group_only_its_administrators_change_settings(bot: BotHarness) -> None:
    bot.api.chat_members[(GROUP, 7)] = "member"
    bot.api.chat_members[(GROUP, 8)] = "administrator"
    for typed in (
        "/settings",
        "/digest daily 08:00",
        "/quiet 22:00-07:00",
        "/timezone Europe/Paris",
    ):
        (reply,) = await bot.reply_texts(typed, chat_id=GROUP, chat_type="supergroup", user_id=7)
        assert "Only this group's administrators can change its settings" in reply, typed
    calls = await bot.press("set:dm:daily", chat_id=GROUP, chat_type="supergroup", user_id=7)
    (refused,) = [call for call in calls if call.method == "answerCallbackQuery"]
    assert "Only this group's administrators" in refused.params["text"]
    assert refused.params["show_alert"] is True
    async with bot.services.reads() as session:
        chat = await session.get(Chat, GROUP)
    assert chat is None or chat.digest == DigestMode.INSTANT

    (reply,) = await bot.reply_texts(
        "/quiet 22:00-07:00", chat_id=GROUP, chat_type="supergroup", user_id=8
    )
    assert "Quiet hours 22:00–07:00" in reply
    assert (await stored(bot, GROUP)).quiet_from == time(22)


async def test_forged_settings_buttons_are_answered(bot: BotHarness) -> None:
    for data in ("set:dm:hourly", "set:tz:paris", "tz:mars"):
        (answer,) = await bot.press(data)
        assert answer.method == "answerCallbackQuery"
        assert "out of date" in answer.params["text"]


async def test_settings_count_the_watches_and_announcements_have_a_typed_form(
    bot: BotHarness,
) -> None:
    await bot.send("/watch Las Bambas")
    await bot.send("/watch Tía María")
    (shown,) = await bot.send("/settings")
    assert "Keyword watches: <b>2</b>" in (shown.text or "")

    (reply,) = await bot.reply_texts("/announcements off")
    assert "Announcements from the PSG: off" in reply
    assert (await stored(bot)).announcements is False
    (shown,) = await bot.send("/settings")
    assert "Announcements from the PSG: <b>off</b>" in (shown.text or "")
    (reply,) = await bot.reply_texts("/announcements on")
    assert "Announcements from the PSG: on" in reply
    assert (await stored(bot)).announcements is True
    (reply,) = await bot.reply_texts("/announcements maybe")
    assert "/announcements off" in reply


async def test_the_weekly_button_keeps_the_day_chosen_and_a_missing_time_is_asked_for(
    bot: BotHarness,
) -> None:
    await bot.send("/digest weekly fri 18:00")
    await bot.send("/digest off")
    (shown,) = await bot.send("/settings")
    assert ("Weekly, Fri", "set:dm:weekly") in buttons(shown.params)
    *_, edit = await bot.press("set:dm:weekly", message_id=shown.result["message_id"])
    assert "weekly digest on Friday at 18:00" in (edit.text or "")
    for typed in ("/digest weekly mon", "/digest daily"):
        (reply,) = await bot.reply_texts(typed)
        assert "Add the time, in 24-hour HH:MM" in reply, typed
        assert "“" not in reply, typed  # nothing the user did not type is quoted back


async def test_pressing_the_setting_already_ticked_changes_nothing_and_says_nothing(
    bot: BotHarness,
) -> None:
    (shown,) = await bot.send("/settings")

    def not_modified(call: ApiCall) -> None:
        # What Telegram answers an edit that would leave the message as it is.
        if call.method == "editMessageText":
            raise ApiError(400, "Bad Request: message is not modified: specified new message")

    bot.api.faults.append(not_modified)
    calls = await bot.press("set:dm:instant", message_id=shown.result["message_id"])
    assert [call.method for call in calls] == ["answerCallbackQuery"]
    assert not any("went wrong" in (call.text or "") for call in bot.api.calls)


@pytest.mark.parametrize("name", ["localtime", "Factory", "posix/Europe/London"])
async def test_zone_names_that_are_not_places_are_refused(bot: BotHarness, name: str) -> None:
    (reply,) = await bot.reply_texts(f"/timezone {name}")
    assert "is not a time zone I know" in reply


# What the commands do, as a chat sees it: a feed publishes news, the dispatcher delivers on the
# test's clock, and the commands read the services' clock (NOW, unless a test moves it).

# Court rulings the tagger files under justice, each its own story.
RULINGS = (
    "Supreme Court annuls the pardon of the former president",
    "Constitutional Tribunal strikes down the amnesty law",
    "Judge orders the arrest of the former mayor for corruption",
    "Prosecutor charges police officers over the killings in Puno",
)
ESPANOL = {"language_code": "es"}


class News:
    """A live feed, read once (its first read alerts nothing), then publishing one ruling at a
    time, read at the test's time."""

    def __init__(self, bot: BotHarness, server: FeedServer) -> None:
        self.bot, self.server, self.items = bot, server, list[FeedItem]()

    async def start(self) -> News:
        self.server.routes["/feed"] = Response(rss(HISTORY))
        await poll_source(self.bot.services, self.server.url("/feed"))
        return self

    async def publish(self, n: int, now: datetime) -> str:
        title = RULINGS[n]
        self.items.insert(
            0, FeedItem(f"ruling-{n}", title, "The court ruled.", f"https://n.example/r{n}", now)
        )
        self.server.routes["/feed"] = Response(rss(self.items + HISTORY))
        await poll_source(self.bot.services, self.server.url("/feed"), now=now)
        return title


@pytest.fixture
async def news(bot: BotHarness, feed_server: FeedServer) -> News:
    return await News(bot, feed_server).start()


def received(calls: list[ApiCall], chat_id: int) -> list[str]:
    return [call.text or "" for call in calls if call.chat_id == chat_id and call.text]


async def test_a_weekly_digest_set_by_command_gathers_the_news_on_its_day(
    bot: BotHarness, news: News
) -> None:
    await bot.send("/subscribe justice", chat_id=1)
    await bot.send("/subscribe justice", chat_id=2)  # instant, for comparison
    (reply,) = await bot.reply_texts("/digest weekly fri 18:30", chat_id=1)
    assert "weekly digest on Friday at 18:30" in reply
    assert "The next is on Friday at 18:30 (Europe/London)" in reply
    due = datetime(2026, 11, 6, 18, 30, tzinfo=UTC)  # Friday 18:30 in London

    title = await news.publish(0, NOW)
    calls = await bot.deliver(clock=fixed(NOW))
    assert received(calls, 1) == [], "held for the digest"
    (alert,) = received(calls, 2)
    assert title in alert
    assert received(await bot.deliver(clock=fixed(due - timedelta(minutes=1))), 1) == []
    (digest,) = received(await bot.deliver(clock=fixed(due)), 1)
    assert "<b>Your weekly digest</b>: 1 new item" in digest
    assert title in digest
    assert received(await bot.deliver(clock=fixed(due + timedelta(minutes=1))), 1) == []


async def test_quiet_hours_set_by_command_hold_the_news_until_they_end(
    bot: BotHarness, news: News
) -> None:
    await bot.send("/subscribe justice", chat_id=1)
    await bot.send("/subscribe justice", chat_id=2)  # no quiet hours, for comparison
    # A window that holds NOW (12:00 in London): from an hour before to two hours on.
    (reply,) = await bot.reply_texts("/quiet 11:00-14:00", chat_id=1)
    assert "sent as one message at 14:00" in reply
    ends = NOW + timedelta(hours=2)

    first = await news.publish(0, NOW)
    calls = await bot.deliver(clock=fixed(NOW))
    assert received(calls, 1) == [], "held: quiet hours"
    assert len(received(calls, 2)) == 1
    later = NOW + timedelta(minutes=30)
    second = await news.publish(1, later)
    assert received(await bot.deliver(clock=fixed(later)), 1) == []
    assert received(await bot.deliver(clock=fixed(ends - timedelta(minutes=1))), 1) == []
    (folded,) = received(await bot.deliver(clock=fixed(ends)), 1)
    assert "<b>During your quiet hours</b>: 2 new items" in folded
    assert folded.index(first) < folded.index(second)
    assert received(await bot.deliver(clock=fixed(ends + timedelta(minutes=1))), 1) == []


async def everyone_hears(bot: BotHarness, text: str) -> list[ApiCall]:
    """An ordinary broadcast to everyone, composed and sent by the owner, delivered."""
    await compose(bot, text=text)
    await send_now(bot)
    return await bot.deliver()


async def test_announcements_off_stops_broadcasts_not_topic_alerts(
    bot: BotHarness, news: News
) -> None:
    # Chat 1 types the command, chat 2 uses the /settings button, chat 3 keeps them on.
    for chat in (1, 2, 3):
        await bot.send("/subscribe justice", chat_id=chat)
    (reply,) = await bot.reply_texts("/announcements off", chat_id=1)
    assert "Announcements from the PSG: off" in reply
    (shown,) = await bot.send("/settings", chat_id=2)
    *_, edit = await bot.press("set:ann", chat_id=2, message_id=shown.result["message_id"])
    assert "Announcements from the PSG: <b>off</b>" in (edit.text or "")

    calls = await everyone_hears(bot, "AGM on Saturday")
    assert [received(calls, chat) for chat in (1, 2, 3)] == [[], [], ["AGM on Saturday"]]
    now = datetime.now(UTC)
    title = await news.publish(0, now)
    calls = await bot.deliver(clock=fixed(now))
    for chat in (1, 2, 3):
        (alert,) = received(calls, chat)
        assert title in alert, chat

    (reply,) = await bot.reply_texts("/announcements on", chat_id=1)
    assert "Announcements from the PSG: on" in reply
    *_, edit = await bot.press("set:ann", chat_id=2, message_id=shown.result["message_id"])
    assert "Announcements from the PSG: <b>on</b>" in (edit.text or "")
    calls = await everyone_hears(bot, "Vigil tonight")
    assert [received(calls, chat) for chat in (1, 2, 3)] == [["Vigil tonight"]] * 3


async def test_spanish_words_set_digests_in_a_spanish_chat(bot: BotHarness, news: News) -> None:
    await bot.send("/subscribe justice", chat_id=1, **ESPANOL)
    (reply,) = await bot.reply_texts("/digest diario 08:00", chat_id=1, **ESPANOL)
    assert "Ahora las alertas llegan en un resumen diario a las 08:00" in reply
    assert "El próximo será el jueves a las 08:00" in reply
    eight = datetime(2026, 11, 5, 8, 0, tzinfo=UTC)  # Thursday 08:00 in London
    first = await news.publish(0, NOW)
    assert received(await bot.deliver(clock=fixed(NOW)), 1) == []
    assert received(await bot.deliver(clock=fixed(eight - timedelta(minutes=1))), 1) == []
    (digest,) = received(await bot.deliver(clock=fixed(eight)), 1)
    assert "<b>Tu resumen diario</b>: 1 noticia nueva" in digest
    assert first in digest

    later = eight + timedelta(hours=1)
    bot.services.clock = fixed(later)
    (reply,) = await bot.reply_texts("/digest semanal vie 18:30", chat_id=1, **ESPANOL)
    assert "resumen semanal el viernes a las 18:30" in reply
    assert "El próximo será el viernes a las 18:30 (Europe/London)" in reply
    friday = datetime(2026, 11, 6, 18, 30, tzinfo=UTC)
    second = await news.publish(1, later)
    assert received(await bot.deliver(clock=fixed(later)), 1) == []
    assert received(await bot.deliver(clock=fixed(friday - timedelta(minutes=1))), 1) == []
    (digest,) = received(await bot.deliver(clock=fixed(friday)), 1)
    assert "<b>Tu resumen semanal</b>: 1 noticia nueva" in digest
    assert second in digest


async def test_spanish_words_turn_quiet_hours_and_announcements_off(
    bot: BotHarness, news: News
) -> None:
    await bot.send("/subscribe justice", chat_id=1, **ESPANOL)
    (reply,) = await bot.reply_texts("/quiet 11:00-14:00", chat_id=1, **ESPANOL)
    assert "se envían en un solo mensaje a las 14:00" in reply
    held = await news.publish(0, NOW)
    assert received(await bot.deliver(clock=fixed(NOW)), 1) == []

    later = NOW + timedelta(minutes=10)
    bot.services.clock = fixed(later)
    (reply,) = await bot.reply_texts("/quiet no", chat_id=1, **ESPANOL)
    assert reply == "✓ Horas de silencio desactivadas: las alertas llegan a cualquier hora."
    # What was held comes now (as of the command), and so does what comes next.
    (released,) = received(await bot.deliver(clock=fixed(later)), 1)
    assert held in released
    fresh = await news.publish(1, later)
    (alert,) = received(await bot.deliver(clock=fixed(later)), 1)
    assert fresh in alert

    (reply,) = await bot.reply_texts("/announcements no", chat_id=1, **ESPANOL)
    assert reply.startswith("✓ Anuncios del PSG: desactivados.")
    await bot.send("/start", chat_id=2)
    calls = await everyone_hears(bot, "AGM on Saturday")
    assert (received(calls, 1), received(calls, 2)) == ([], ["AGM on Saturday"])
    (reply,) = await bot.reply_texts("/announcements sí", chat_id=1, **ESPANOL)
    assert reply == "✓ Anuncios del PSG: activados."
    # The owner wrote in English only: the Spanish chat is told so, in Spanish.
    calls = await everyone_hears(bot, "Vigil tonight")
    assert received(calls, 1) == ["Vigil tonight\n\nEste anuncio solo está en inglés."]


async def test_a_zone_may_be_named_by_its_place_alone(bot: BotHarness) -> None:
    (reply,) = await bot.reply_texts("/timezone lima")
    assert "Time zone: <b>America/Lima</b>" in reply
    (reply,) = await bot.reply_texts("/timezone LONDON")
    assert "Time zone: <b>Europe/London</b>" in reply


async def test_event_times_are_also_shown_in_the_chats_own_zone(bot: BotHarness) -> None:
    # Saturday 7 June 2031, 18:00 in London (summer time): 17:00 UTC; 02:00 on Sunday in Tokyo.
    event = event_from_yaml(
        {"uid": "talk", "title": "Talk", "timezone": "Europe/London", "start": "2031-06-07 18:00"}
    )
    async with bot.services.sessions.begin() as session:
        session.add(event)
    london = "Saturday 7 June 2031, 18:00 London time"
    assert f"🕰 {london}" in lines(await bot.reply_texts(f"/event {event.id}", chat_id=31))
    await bot.send("/timezone Asia/Tokyo", chat_id=32)
    await bot.send("/timezone Europe/London", chat_id=33)
    await bot.send("/timezone Europe/Madrid", chat_id=34, language_code="es")
    tokyo = lines(await bot.reply_texts(f"/event {event.id}", chat_id=32))
    assert f"🕰 {london} (Sun 8 Jun, 02:00 Tokyo time)" in tokyo
    assert (
        f"🗓 {london} (Sun 8 Jun, 02:00 Tokyo time)"
        in (await bot.reply_texts("/events", chat_id=32))[0]
    )
    same = lines(await bot.reply_texts(f"/event {event.id}", chat_id=33))
    assert f"🕰 {london}" in same, "a chat on the event's clock sees it once"
    # A Spanish chat in Madrid: its own time, then Lima's.
    madrid = lines(await bot.reply_texts(f"/event {event.id}", chat_id=34, language_code="es"))
    assert (
        "🕰 sábado 7 de junio de 2031, 18:00 hora de Londres "
        "(19:00 hora de Madrid · 12:00 hora de Lima)"
    ) in madrid
    # Reminders, rendered by the dispatcher for each chat, show the chat's time too.
    await bot.press(f"ev:rem:{event.id}", chat_id=32)
    start = datetime(2031, 6, 7, 17, tzinfo=UTC)
    sent = await bot.deliver(clock=fixed(start - timedelta(hours=23, minutes=59)))
    (reminder,) = [call for call in sent if call.params.get("chat_id") == 32]
    assert f"🗓 {london} (Sun 8 Jun, 02:00 Tokyo time)" in (reminder.text or "")
    # A chat the bot has not stored yet, right after the Tokyo chat: no zone carries over.
    await bot.send("/help", chat_id=32)
    assert f"🕰 {london}" in lines(await bot.reply_texts(f"/event {event.id}", chat_id=36))


def lines(replies: list[str]) -> list[str]:
    return [line for reply in replies for line in reply.splitlines()]


async def test_digest_off_sends_what_the_digest_held_under_a_plain_heading(
    bot: BotHarness, news: News
) -> None:
    await bot.send("/subscribe justice", chat_id=1)
    await bot.send("/digest daily 08:00", chat_id=1)
    first = await news.publish(0, NOW)
    second = await news.publish(1, NOW)
    assert received(await bot.deliver(clock=fixed(NOW)), 1) == []

    (reply,) = await bot.reply_texts("/digest off", chat_id=1)
    assert "one by one" in reply
    (released,) = received(await bot.deliver(clock=fixed(NOW)), 1)
    # Neither a digest nor quiet hours (the chat has none) brought them now.
    assert released.startswith("📬 <b>Held for you</b>: 2 new items")
    assert released.index(first) < released.index(second)


async def test_latest_dates_each_item_in_the_chats_zone(bot: BotHarness, news: News) -> None:
    # Published at 23:30 UTC on 20 November: the 21st in Tokyo, the 20th in London.
    title = await news.publish(2, datetime(2026, 11, 20, 23, 30, tzinfo=UTC))
    await bot.send("/timezone Asia/Tokyo", chat_id=1)
    (tokyo,) = await bot.reply_texts("/latest 1", chat_id=1)
    (london,) = await bot.reply_texts("/latest 1", chat_id=2)
    assert title in tokyo
    assert "21 November 2026" in tokyo
    assert "20 November 2026" not in tokyo
    assert title in london
    assert "20 November 2026" in london
