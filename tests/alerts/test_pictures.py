"""Alerts with pictures and previews: a photo with its caption, else text with a large preview of
the article; a picture Telegram cannot fetch falls back to text, once. Lists have no previews."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from support.feed_server import FeedServer, Response
from support.feeds import ADMIN, HISTORY, FeedItem, recent, rss
from support.harness import BotHarness
from support.telegram_html import validate_telegram_html
from support.transport import PHOTO_NOT_FETCHED, WRONG_PHOTO, utf16_units

from psgbot.db.models import Delivery, Item
from psgbot.feeds.poll import poll_source
from psgbot.offline import ApiCall, ApiError

PICTURE = "https://img.example/vigil.jpg"
# Refusals that are the picture's own fault, as Telegram words them.
PICTURE_REFUSALS = [WRONG_PHOTO, PHOTO_NOT_FETCHED, "Bad Request: IMAGE_PROCESS_FAILED"]
VIGIL = FeedItem(
    "pic-1",
    "Vigil for the victims of the protests",
    "Families gathered in Lima.",
    "https://n.example/vigil",
    recent(),
    enclosure=(PICTURE, "image/jpeg"),
)
LONG = FeedItem(
    "pic-2",
    "Court annuls the pardon",
    "The Supreme Court ruled. " * 60,  # cut to the alert's summary: no caption holds it
    "https://n.example/pardon",
    recent(),
    media_content=("https://img.example/court.jpg", "image"),
)
PLAIN = FeedItem(
    "plain-1", "Court hears the appeal", "A hearing.", "https://n.example/appeal", recent()
)


async def publish(bot: BotHarness, server: FeedServer, items: list[FeedItem]) -> None:
    server.routes["/feed"] = Response(rss(items + HISTORY))
    await poll_source(bot.services, server.url("/feed"))


async def subscribed(bot: BotHarness, server: FeedServer, *chats: int) -> None:
    """Chats following all news, and the feed's history stored (its first poll alerts nothing)."""
    for chat_id in chats:
        await bot.send("/subscribe all", chat_id=chat_id)
    await publish(bot, server, [])
    bot.api.clear()


def buttons(call: ApiCall) -> list[dict[str, str]]:
    return [button for row in call.params["reply_markup"]["inline_keyboard"] for button in row]


async def outbox(bot: BotHarness) -> list[tuple[int, str, int | None]]:
    async with bot.services.sessions() as session:
        rows = await session.execute(
            select(Delivery.chat_id, Delivery.status, Delivery.message_id).order_by(
                Delivery.chat_id
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_an_alert_with_a_picture_arrives_as_a_photo_with_its_caption(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await subscribed(bot, feed_server, 1)
    await publish(bot, feed_server, [VIGIL])
    (call,) = await bot.deliver()
    assert call.method == "sendPhoto"
    assert call.params["photo"] == PICTURE
    caption = call.params["caption"]
    assert call.params["parse_mode"] == "HTML"
    assert '<b><a href="https://n.example/vigil">Vigil for the victims of the protests</a></b>' in (
        caption
    )
    assert "Families gathered in Lima." in caption
    assert utf16_units(validate_telegram_html(caption)) <= 1024
    assert buttons(call)[0] == {"text": "Read more", "url": "https://n.example/vigil"}
    assert [status for _chat, status, _id in await outbox(bot)] == ["sent"]


async def test_a_long_item_goes_as_text_with_a_large_preview_of_its_article(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await subscribed(bot, feed_server, 1)
    await publish(bot, feed_server, [LONG])
    (call,) = await bot.deliver()
    assert call.method == "sendMessage"
    text = call.params["text"]
    assert utf16_units(validate_telegram_html(text)) > 1024, "too long for a caption"
    assert "Court annuls the pardon" in text
    assert call.params["link_preview_options"] == {
        "url": "https://n.example/pardon",
        "prefer_large_media": True,
        "show_above_text": True,
    }


async def test_an_alert_without_a_picture_previews_its_article_below_the_text(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await subscribed(bot, feed_server, 1)
    await publish(bot, feed_server, [PLAIN])
    (call,) = await bot.deliver()
    assert call.method == "sendMessage"
    assert call.params["link_preview_options"] == {
        "url": "https://n.example/appeal",
        "prefer_large_media": True,
    }


async def test_a_picture_telegram_refuses_falls_back_to_text_once_and_is_not_tried_again(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await subscribed(bot, feed_server, 1, 2, 3)
    bot.api.unreachable_photos[PICTURE] = PHOTO_NOT_FETCHED
    await publish(bot, feed_server, [VIGIL])
    # One send at a time: the first refusal is known before the next chat's send.
    calls = await bot.deliver(concurrency=1)

    (refused,) = bot.api.failed_calls
    assert refused[0].method == "sendPhoto"
    assert refused[1].description == PHOTO_NOT_FETCHED
    assert sorted(call.chat_id or 0 for call in calls) == [1, 2, 3], "each chat gets it once"
    for call in calls:
        assert call.method == "sendMessage"
        assert "Vigil for the victims of the protests" in call.params["text"]
        assert call.params["link_preview_options"]["url"] == "https://n.example/vigil"
    sent = await outbox(bot)
    assert [status for _chat, status, _id in sent] == ["sent", "sent", "sent"]
    assert None not in [message_id for _chat, _status, message_id in sent]
    async with bot.services.sessions() as session:
        item = await session.scalar(select(Item).where(Item.guid == "pic-1"))
    assert item is not None
    assert item.image_refused_at is not None, "recorded: later alerts go as text"

    # A chat that subscribes later and gets the item (an editor adds its topic) gets text.
    bot.api.unreachable_photos.clear()
    bot.api.clear()
    await bot.send("/subscribe justice", chat_id=4)
    await bot.send("/tag 1 +justice", chat_id=ADMIN)
    (later,) = [call for call in await bot.deliver() if call.chat_id == 4]
    assert later.method == "sendMessage"
    assert bot.api.failed_calls == []


async def picture_refused(bot: BotHarness) -> bool:
    async with bot.services.sessions() as session:
        item = await session.scalar(select(Item).where(Item.guid == "pic-1"))
    assert item is not None
    return item.image_refused_at is not None


@pytest.mark.parametrize(
    "refusal",
    [
        WRONG_PHOTO,
        "Bad Request: WEBPAGE_CURL_FAILED",
        "Bad Request: PHOTO_EXT_INVALID",
        "Bad Request: WEBPAGE_MEDIA_EMPTY",
        "Bad Request: IMAGE_PROCESS_FAILED",
    ],
)
async def test_any_refusal_of_the_picture_falls_back_to_text(
    bot: BotHarness, feed_server: FeedServer, refusal: str
) -> None:
    await subscribed(bot, feed_server, 1)
    bot.api.unreachable_photos[PICTURE] = refusal
    await publish(bot, feed_server, [VIGIL])
    (call,) = await bot.deliver()
    assert call.method == "sendMessage"
    assert "Vigil for the victims of the protests" in call.params["text"]
    assert [status for _chat, status, _id in await outbox(bot)] == ["sent"]
    assert await picture_refused(bot)


async def test_a_chat_that_takes_no_photos_gets_text_and_the_others_the_picture(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await subscribed(bot, feed_server, 1, 2)

    def no_photos_in_chat_1(call: ApiCall) -> None:
        if call.method == "sendPhoto" and call.chat_id == 1:
            raise ApiError(400, "Bad Request: not enough rights to send photos to the chat")

    bot.api.faults.append(no_photos_in_chat_1)
    await publish(bot, feed_server, [VIGIL])
    calls = await bot.deliver(concurrency=1)
    assert sorted((call.chat_id or 0, call.method) for call in calls) == [
        (1, "sendMessage"),
        (2, "sendPhoto"),
    ]
    assert not await picture_refused(bot), "the picture is good: chat 1 takes none"


async def test_a_refusal_about_the_chat_is_no_reason_to_send_text(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await subscribed(bot, feed_server, 1)

    def chat_gone(call: ApiCall) -> None:
        if call.method == "sendPhoto":
            raise ApiError(400, "Bad Request: chat not found")

    bot.api.faults.append(chat_gone)
    await publish(bot, feed_server, [VIGIL])
    await bot.deliver()
    assert [call.method for call, _error in bot.api.failed_calls] == ["sendPhoto"]
    assert [status for _chat, status, _id in await outbox(bot)] == ["failed"]
    assert not await picture_refused(bot)


async def test_a_digest_has_no_picture_and_no_preview(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await subscribed(bot, feed_server, 1)
    many = [
        FeedItem(
            f"d{n}",
            f"Court ruling number {n}",
            "",
            f"https://n.example/d{n}",
            recent(),
            enclosure=(f"https://img.example/d{n}.jpg", "image/jpeg"),
        )
        for n in range(5)
    ]
    await publish(bot, feed_server, many)
    (call,) = await bot.deliver()
    assert call.method == "sendMessage"
    assert "5 new items" in call.params["text"]
    assert call.params["link_preview_options"] == {"is_disabled": True}


async def test_previews_are_off_for_latest(bot: BotHarness, feed_server: FeedServer) -> None:
    await subscribed(bot, feed_server, 1)
    await publish(bot, feed_server, [PLAIN, VIGIL])
    await bot.deliver()
    (reply,) = await bot.send("/latest", chat_id=1)
    assert "Court hears the appeal" in reply.params["text"]
    assert reply.params["link_preview_options"] == {"is_disabled": True}
    (events,) = await bot.send("/events", chat_id=1)
    assert events.params["link_preview_options"] == {"is_disabled": True}


def vigil(part: int, summary: str) -> FeedItem:
    """Items alike but for their summary (titles of one length, one picture each)."""
    return FeedItem(
        f"vigil-{part}",
        f"Vigil for the victims, part {part}",
        summary,
        f"https://n.example/vigil-{part}",
        recent(),
        enclosure=(f"https://img.example/vigil-{part}.jpg", "image/jpeg"),
    )


def units(call: ApiCall) -> int:
    """The call's text as Telegram measures it: visible, in UTF-16 units."""
    return utf16_units(validate_telegram_html(call.text or ""))


def padding(count: int) -> str:
    """``count`` UTF-16 units of words with emoji (two units each) and ampersands (escaped
    as &amp;: five characters of markup, one unit seen)."""
    word = "Lima&Cusco🕯 "  # 12 characters, 13 units
    text = (word * (count // utf16_units(word))).rstrip()  # a space at the end is not kept
    return text + "x" * (count - utf16_units(text))


async def test_a_caption_of_exactly_1024_units_goes_with_its_picture_one_more_goes_as_text(
    bot: BotHarness, feed_server: FeedServer
) -> None:
    await subscribed(bot, feed_server, 1)
    short = "Families & friends 🕯 gathered."
    await publish(bot, feed_server, [vigil(1, short)])
    (probe,) = await bot.deliver()
    assert probe.method == "sendPhoto"
    # What the same alert holds besides its summary's extra words, as Telegram counts it.
    room = 1024 - units(probe) - 1  # the extra words follow a space

    await publish(bot, feed_server, [vigil(2, f"{short} {padding(room)}")])
    (boundary,) = await bot.deliver()
    assert boundary.method == "sendPhoto"
    assert boundary.params["photo"] == "https://img.example/vigil-2.jpg"
    assert units(boundary) == 1024
    assert "&amp;" in boundary.params["caption"]
    assert "🕯" in boundary.params["caption"]

    await publish(bot, feed_server, [vigil(3, f"{short} {padding(room + 1)}")])
    (over,) = await bot.deliver()
    assert over.method == "sendMessage"
    assert units(over) == 1025
    assert "Vigil for the victims, part 3" in over.params["text"]
    assert over.params["link_preview_options"]["url"] == "https://n.example/vigil-3"
    assert bot.api.failed_calls == [], "neither was refused: each went in the form it fits"


def reason(error: str) -> str:
    """Telegram's description as python-telegram-bot words it, in lower case."""
    return error.removeprefix("Bad Request: ").lower()


async def errors(bot: BotHarness) -> list[tuple[int, str, str | None]]:
    """Each row's chat, status and error (in lower case)."""
    async with bot.services.sessions() as session:
        rows = await session.execute(
            select(Delivery.chat_id, Delivery.status, Delivery.error).order_by(Delivery.chat_id)
        )
        return [(chat, status, error and error.lower()) for chat, status, error in rows]


@pytest.mark.parametrize(
    "error",
    [
        "Bad Request: PEER_ID_INVALID",
        "Bad Request: CHANNEL_PRIVATE",
        "Bad Request: USER_BANNED_IN_CHANNEL",
    ],
)
async def test_an_error_about_one_chat_refuses_no_picture_and_the_others_get_the_photo(
    bot: BotHarness, feed_server: FeedServer, error: str
) -> None:
    await subscribed(bot, feed_server, 1, 2)

    def chat_1_unknown(call: ApiCall) -> None:
        if call.method in ("sendPhoto", "sendMessage") and call.chat_id == 1:
            raise ApiError(400, error)

    bot.api.faults.append(chat_1_unknown)
    await publish(bot, feed_server, [VIGIL])
    calls = await bot.deliver(concurrency=1)
    # Chat 1's photo, then its text (which tells whether the picture was at fault), refused.
    assert [(call.method, call.chat_id) for call, _error in bot.api.failed_calls] == [
        ("sendPhoto", 1),
        ("sendMessage", 1),
    ]
    assert [(call.chat_id, call.method) for call in calls] == [(2, "sendPhoto")]
    assert await errors(bot) == [(1, "failed", reason(error)), (2, "sent", None)]
    assert not await picture_refused(bot), "the chat's error, not the picture's"


@pytest.mark.parametrize(
    "error", ["Bad Request: MEDIA_CAPTION_TOO_LONG", "Bad Request: message caption is too long"]
)
async def test_a_caption_telegram_refuses_goes_as_text_and_refuses_no_picture(
    bot: BotHarness, feed_server: FeedServer, error: str
) -> None:
    await subscribed(bot, feed_server, 1, 2)

    def caption_too_long(call: ApiCall) -> None:
        if call.method == "sendPhoto":
            raise ApiError(400, error)

    bot.api.faults.append(caption_too_long)
    await publish(bot, feed_server, [VIGIL])
    calls = await bot.deliver(concurrency=1)
    assert sorted((call.chat_id or 0, call.method) for call in calls) == [
        (1, "sendMessage"),
        (2, "sendMessage"),
    ], "each chat tried the photo, then got the text, once"
    assert [call.method for call, _error in bot.api.failed_calls] == ["sendPhoto", "sendPhoto"]
    for call in calls:
        assert "Vigil for the victims of the protests" in call.params["text"]
    assert await errors(bot) == [(1, "sent", None), (2, "sent", None)]
    assert not await picture_refused(bot), "the caption's fault: the text needs none"


@pytest.mark.parametrize("refusal", PICTURE_REFUSALS)
async def test_a_refused_picture_is_not_recorded_when_the_text_fails_too(
    bot: BotHarness, feed_server: FeedServer, refusal: str
) -> None:
    await subscribed(bot, feed_server, 1)
    bot.api.unreachable_photos[PICTURE] = refusal

    def text_refused(call: ApiCall) -> None:
        if call.method == "sendMessage":
            raise ApiError(400, "Bad Request: PEER_ID_INVALID")

    bot.api.faults.append(text_refused)
    await publish(bot, feed_server, [VIGIL])
    assert await bot.deliver() == []
    assert [call.method for call, _error in bot.api.failed_calls] == ["sendPhoto", "sendMessage"]
    assert await errors(bot) == [(1, "failed", "peer_id_invalid")]
    assert not await picture_refused(bot), "unproven: the text failed as well"


@pytest.mark.parametrize("refusal", PICTURE_REFUSALS)
async def test_a_picture_refused_beside_a_chat_error_is_recorded_once_by_the_chat_it_reached(
    bot: BotHarness, feed_server: FeedServer, refusal: str
) -> None:
    await subscribed(bot, feed_server, 1, 2, 3)
    bot.api.unreachable_photos[PICTURE] = refusal

    def chat_1_unknown(call: ApiCall) -> None:
        if call.chat_id == 1 and call.method in ("sendPhoto", "sendMessage"):
            raise ApiError(400, "Bad Request: PEER_ID_INVALID")

    bot.api.faults.append(chat_1_unknown)
    await publish(bot, feed_server, [VIGIL])
    calls = await bot.deliver(concurrency=1)
    # Chat 1 proves nothing; chat 2's text shows the picture refused; chat 3 goes straight to text.
    assert [(call.method, call.chat_id) for call, _error in bot.api.failed_calls] == [
        ("sendPhoto", 1),
        ("sendMessage", 1),
        ("sendPhoto", 2),
    ]
    assert [(call.chat_id, call.method) for call in calls] == [
        (2, "sendMessage"),
        (3, "sendMessage"),
    ]
    assert [status for _chat, status, _error in await errors(bot)] == ["failed", "sent", "sent"]
    assert await picture_refused(bot)
