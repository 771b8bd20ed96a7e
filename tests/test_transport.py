"""The fakes' Telegram rules: they refuse what Telegram refuses, and answer as Telegram does."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from support.bot_api_rules import CONFLICT, UpdatesGate, check_call, refusal
from support.bot_process import http
from support.fake_telegram import FakeTelegram
from support.transport import WATCHED, RecordingBotApi

from psgbot.offline import ApiCall, ApiError
from psgbot.offline_updates import BOT_USER, UpdateFactory

BUTTON = {"text": "A", "callback_data": "menu:a"}


def message(**params: Any) -> dict[str, Any]:
    return {"chat_id": 1, "text": "x", **params}


def answer(method: str, params: dict[str, Any]) -> tuple[int | None, str] | None:
    """Telegram's answer to the call: (status, description), or None when it is accepted."""
    refused = refusal(check_call(method, params))
    return None if refused is None else (refused.status, refused.description)


def test_a_valid_call_passes() -> None:
    assert (
        check_call(
            "sendMessage",
            message(
                text="<b>hi</b> &amp; 😀",
                parse_mode="HTML",
                reply_markup={
                    "inline_keyboard": [[BUTTON, {"text": "B", "url": "https://x.example/"}]]
                },
            ),
        )
        == []
    )
    assert check_call("sendChatAction", {"chat_id": 1, "action": "typing"}) == []
    assert check_call("setMyCommands", {"commands": [{"command": "a", "description": "b"}]}) == []


def test_methods_parameters_and_types() -> None:
    assert answer("sendMesage", {"chat_id": 1}) == (404, "Not Found")
    assert answer("sendMessage", {"chat_id": 1}) == (400, "Bad Request: message text is empty")
    assert answer("sendMessage", message(chat_id=1.5)) == (400, "Bad Request: can't parse chat_id")
    assert answer("sendMessage", {"text": "x"}) == (400, "Bad Request: chat_id is empty")


def test_an_unknown_parameter_is_ignored_by_telegram_but_still_a_violation() -> None:
    (violation,) = check_call("sendMessage", message(colour="red"))
    assert violation.status is None
    assert "unknown parameter colour" in violation.problem


def test_enumerated_values() -> None:
    assert answer("sendMessage", message(parse_mode="HTM")) == (
        400,
        "Bad Request: unsupported parse_mode",
    )
    for mode in ("HTML", "MarkdownV2", "Markdown"):
        assert answer("sendMessage", message(parse_mode=mode)) is None, mode
    assert answer("sendChatAction", {"chat_id": 1, "action": "dancing"}) == (
        400,
        "Bad Request: wrong parameter action in request",
    )
    entity = {"type": "shouting", "offset": 0, "length": 1}
    assert answer("sendMessage", message(entities=[entity]))


def test_inline_buttons_need_exactly_one_action() -> None:
    only_text = {"inline_keyboard": [[{"text": "A"}]]}
    assert answer("sendMessage", message(reply_markup=only_text)) == (
        400,
        "Bad Request: text buttons are unallowed in the inline keyboard",
    )
    both = {"inline_keyboard": [[{"text": "A", "url": "https://x.example/", "callback_data": "a"}]]}
    assert answer("sendMessage", message(reply_markup=both)) == (
        400,
        "Bad Request: BUTTON_TYPE_INVALID",
    )
    unknown_field = {"inline_keyboard": [[{"label": "A"}]]}
    assert answer("sendMessage", message(reply_markup=unknown_field))


@pytest.mark.parametrize(("data", "accepted"), [("x" * 64, True), ("x" * 65, False), ("", False)])
def test_callback_data_is_one_to_64_bytes(data: str, accepted: bool) -> None:
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": data}]]}
    result = answer("sendMessage", message(reply_markup=markup))
    assert (result is None) is accepted
    if not accepted:
        assert result == (400, "Bad Request: BUTTON_DATA_INVALID")
    # Bytes, not characters: 22 three-byte characters are 66 bytes.
    wide = {"inline_keyboard": [[{"text": "A", "callback_data": "€" * 22}]]}
    assert answer("sendMessage", message(reply_markup=wide))


def test_lengths_are_utf16_units_after_entity_parsing() -> None:
    assert answer("sendMessage", message(text="😀" * 2048)) is None
    assert answer("sendMessage", message(text="😀" * 2049)) == (
        400,
        "Bad Request: message is too long",
    )
    assert answer("sendMessage", message(text="😀" * 4000)) is not None
    # Tags are not counted, entities count as one character.
    tagged = "<b>" + "x" * 4090 + "</b>&amp;"
    assert answer("sendMessage", message(text=tagged, parse_mode="HTML")) is None
    assert answer("sendMessage", message(text=tagged)) is not None
    assert answer("sendMessage", message(text="   ")) == (400, "Bad Request: message text is empty")
    caption = {"chat_id": 1, "photo": "https://img.example/a.jpg", "caption": "😀" * 513}
    assert answer("sendPhoto", caption) == (400, "Bad Request: message caption is too long")
    assert answer("answerCallbackQuery", {"callback_query_id": "1", "text": "x" * 201})


def test_html_is_parsed_as_telegram_does() -> None:
    for markup in ("a < b", "Q&A", "<p>x</p>", "<b>x", "<a href=''>x</a>", "<b><i>x</b></i>"):
        result = answer("sendMessage", message(text=markup, parse_mode="HTML"))
        assert result is not None, markup
        assert result[1].startswith("Bad Request: can't parse entities"), markup
    assert answer("sendMessage", message(text="a < b")) is None, "plain text is not parsed"


def test_entities_must_lie_inside_the_text() -> None:
    bold = {"type": "bold", "offset": 0, "length": 3}
    assert answer("sendMessage", message(text="😀x", entities=[bold])) is None
    assert answer("sendMessage", message(text="xx", entities=[bold]))


async def test_a_broken_call_is_answered_as_telegram_answers_it() -> None:
    api = RecordingBotApi()
    with pytest.raises(ApiError) as refused:
        await api.answer(ApiCall("sendMessage", message(parse_mode="HTM")))
    assert (refused.value.status, refused.value.description) == (
        400,
        "Bad Request: unsupported parse_mode",
    )
    assert [violation.problem for violation in api.violations] == [
        "parse_mode='HTM' is not one of ['HTML', 'MarkdownV2', 'Markdown']"
    ]
    api.violations.clear()  # seen: the point of this test
    WATCHED.discard(api)


async def sent_to(api: RecordingBotApi, chat_id: int) -> int:
    """Sends a message to the chat as the bot does; its id."""
    sent = ApiCall("sendMessage", message(chat_id=chat_id))
    sent.result = await api.answer(sent)
    api.on_call(sent)
    return int(sent.result["message_id"])


async def refused_pin(api: RecordingBotApi, chat_id: int, message_id: int) -> str | None:
    """Telegram's refusal of the pin (all are 400 Bad Request), None when it pins."""
    try:
        assert await api.answer(
            ApiCall("pinChatMessage", {"chat_id": chat_id, "message_id": message_id})
        )
    except ApiError as error:
        return f"{error.status} {error.description}"
    return None


async def test_only_a_message_sent_to_the_chat_is_pinned_where_the_bot_may_pin() -> None:
    api = RecordingBotApi()
    message_id = await sent_to(api, -5)
    api.chat_members[(-5, BOT_USER["id"])] = "administrator"
    api.chat_members[(-6, BOT_USER["id"])] = "administrator"
    for chat_id, pinned in ((-6, message_id), (-5, message_id + 1)):
        assert (
            await refused_pin(api, chat_id, pinned) == "400 Bad Request: message to pin not found"
        )
    no_rights = "400 Bad Request: not enough rights to manage pinned messages in the chat"
    # A member bot (the default in a group) may not pin; nor an administrator without the right.
    for status in ("member", "left"):
        api.chat_members[(-5, BOT_USER["id"])] = status
        assert await refused_pin(api, -5, message_id) == no_rights, status
    api.chat_members[(-5, BOT_USER["id"])] = "administrator"
    api.cannot_pin.add(-5)
    assert await refused_pin(api, -5, message_id) == no_rights
    bot_member = ApiCall("getChatMember", {"chat_id": -5, "user_id": BOT_USER["id"]})
    assert (await api.answer(bot_member))["can_pin_messages"] is False
    assert api.pinned == {}
    api.cannot_pin.clear()
    assert (await api.answer(bot_member))["can_pin_messages"] is True
    assert await refused_pin(api, -5, message_id) is None
    assert api.pinned == {-5: message_id}
    # A group the bot never joined as administrator: refused, though the message is there.
    unknown_group = await sent_to(api, -9)
    assert await refused_pin(api, -9, unknown_group) == no_rights
    # In a private chat the bot pins without rights.
    private = await sent_to(api, 7)
    assert await refused_pin(api, 7, private) is None
    # In a channel: as an administrator allowed to edit messages.
    channel = -1001234567890
    api.chat_types[channel] = "channel"
    api.chat_members[(channel, BOT_USER["id"])] = "administrator"
    post = await sent_to(api, channel)
    api.cannot_post.add(channel)
    assert await refused_pin(api, channel, post) == no_rights
    api.cannot_post.clear()
    assert await refused_pin(api, channel, post) is None
    assert api.pinned == {-5: message_id, 7: private, channel: post}


async def refused_send(api: RecordingBotApi, **params: Any) -> tuple[int, str] | None:
    """How Telegram answers a sendMessage of these parameters: None when it is sent."""
    try:
        await api.answer(ApiCall("sendMessage", message(**params)))
    except ApiError as error:
        return error.status, error.description
    return None


async def test_a_thread_is_sent_to_only_in_a_forum_that_has_it() -> None:
    api = RecordingBotApi()
    api.forums[-7] = {5}
    assert await refused_send(api, chat_id=-7, message_thread_id=5) is None
    not_found = (400, "Bad Request: message thread not found")
    assert await refused_send(api, chat_id=-7, message_thread_id=6) == not_found  # deleted
    assert await refused_send(api, chat_id=-8, message_thread_id=5) == not_found  # no forum
    assert await refused_send(api, chat_id=-8) is None


async def test_a_channel_is_posted_to_only_by_an_admin_allowed_to_post() -> None:
    api = RecordingBotApi()
    channel = -1001234567890
    api.chat_types[channel] = "channel"
    api.usernames["psgnews"] = channel
    assert await refused_send(api, chat_id=channel) == (
        403,
        "Forbidden: bot is not a member of the channel chat",
    )
    bot_member = ApiCall("getChatMember", {"chat_id": "@psgnews", "user_id": BOT_USER["id"]})
    assert (await api.answer(bot_member))["status"] == "left"
    api.chat_members[(channel, BOT_USER["id"])] = "administrator"
    api.cannot_post.add(channel)
    assert await refused_send(api, chat_id=channel) == (
        400,
        "Bad Request: need administrator rights in the channel chat",
    )
    assert (await api.answer(bot_member))["can_post_messages"] is False
    api.cannot_post.clear()
    assert await refused_send(api, chat_id=channel) is None
    assert (await api.answer(bot_member))["can_post_messages"] is True
    found = await api.answer(ApiCall("getChat", {"chat_id": "@PSGNews"}))
    assert (found["id"], found["type"], found["username"]) == (channel, "channel", "psgnews")
    with pytest.raises(ApiError) as unknown:
        await api.answer(ApiCall("getChat", {"chat_id": "@nosuchchannel"}))
    assert (unknown.value.status, unknown.value.description) == (400, "Bad Request: chat not found")


async def test_a_photo_url_is_fetched_by_telegram_which_may_fail() -> None:
    api = RecordingBotApi()
    photo = {"chat_id": 1, "caption": "<b>x</b>", "parse_mode": "HTML"}
    sent = await api.answer(ApiCall("sendPhoto", photo | {"photo": "https://img.example/a.jpg"}))
    (issued,) = {size["file_id"] for size in sent["photo"]}
    again = await api.answer(ApiCall("sendPhoto", photo | {"photo": issued}))
    assert [size["file_id"] for size in again["photo"]] == [issued], "sent again by its id"
    uploaded = await api.answer(ApiCall("sendPhoto", photo | {"photo": "attach://photo"}))
    assert uploaded["photo"]
    # A photo a user sent the bot: its file id is Telegram's from the update on.
    from_user = "AgACAgQAAxkBAAIBQ2from-a-user"
    by_user = photo | {"photo": from_user}
    with pytest.raises(ApiError):
        await api.answer(ApiCall("sendPhoto", by_user))
    UpdateFactory(None, telegram=api).message("Banner", photo=from_user)
    assert await api.answer(ApiCall("sendPhoto", by_user))
    api.unreachable_photos["https://img.example/gone.jpg"] = (
        "Bad Request: failed to get HTTP URL content"
    )
    for url, description in (
        ("https://img.example/gone.jpg", "Bad Request: failed to get HTTP URL content"),
        ("ftp://img.example/a.jpg", "Bad Request: wrong file identifier/HTTP URL specified"),
        ("javascript://alert(1)", "Bad Request: wrong file identifier/HTTP URL specified"),
        # A file id Telegram never gave out, and a URL without its scheme.
        ("AgACAgQAAxkBAAIBQ2made-up", "Bad Request: wrong file identifier/HTTP URL specified"),
        ("img.example/a.jpg", "Bad Request: wrong file identifier/HTTP URL specified"),
    ):
        with pytest.raises(ApiError) as refused:
            await api.answer(ApiCall("sendPhoto", photo | {"photo": url}))
        assert (refused.value.status, refused.value.description) == (400, description)
    long_caption = photo | {
        "photo": "https://img.example/a.jpg",
        "caption": "<b>" + "x" * 1025 + "</b>",
    }
    assert answer("sendPhoto", long_caption) == (400, "Bad Request: message caption is too long")
    WATCHED.discard(api)


def test_link_preview_options_are_checked_field_by_field() -> None:
    large = {"url": "https://n.example/1", "prefer_large_media": True, "show_above_text": True}
    assert answer("sendMessage", message(link_preview_options=large)) is None
    assert answer("sendMessage", message(link_preview_options={"is_disabled": True})) is None
    assert answer("sendMessage", message(link_preview_options={"large": True})) == (
        400,
        "Bad Request: can't parse link_preview_options",
    )
    assert answer("sendMessage", message(link_preview_options={"is_disabled": "yes"})) is not None


async def test_a_second_getupdates_ends_the_first_with_409() -> None:
    api = RecordingBotApi()
    first = asyncio.create_task(api.answer(ApiCall("getUpdates", {"timeout": 10})))
    await asyncio.sleep(0)
    second = await api.answer(ApiCall("getUpdates", {"timeout": 10}))
    assert second == []
    with pytest.raises(ApiError) as conflict:
        await first
    assert (conflict.value.status, conflict.value.description) == (409, CONFLICT)
    assert api.gate.conflicts == [CONFLICT]
    api.gate.conflicts.clear()  # seen: the point of this test
    assert await api.answer(ApiCall("getUpdates", {})) == [], "one poller at a time is fine"


def test_getupdates_is_refused_while_a_webhook_is_set() -> None:
    gate = UpdatesGate()
    gate.webhook("t", "https://bot.example/hook")
    refused = gate.begin("t")
    assert isinstance(refused, str)
    assert refused.startswith("Conflict: can't use getUpdates method while webhook is active")
    gate.webhook("t", "")
    assert not isinstance(gate.begin("t"), str)


def test_the_http_fake_telegram_holds_calls_to_the_same_rules() -> None:
    telegram = FakeTelegram().start()
    try:
        body = json.dumps({"chat_id": 1, "text": "x", "parse_mode": "HTM"}).encode()
        status, answer = http(
            "POST",
            f"{telegram.base_url}123:abc/sendMessage",
            body,
            {"Content-Type": "application/json"},
        )
        assert status == 400
        assert json.loads(answer)["description"] == "Bad Request: unsupported parse_mode"
        assert [violation.problem for violation in telegram.violations] == [
            "parse_mode='HTM' is not one of ['HTML', 'MarkdownV2', 'Markdown']"
        ]
        telegram.violations.clear()  # seen: the point of this test
    finally:
        telegram.stop()


def test_the_dispatch_workers_fake_reports_to_the_test(tmp_path: Path) -> None:
    from support.dispatch_worker import LoggingBotApi

    api = LoggingBotApi(str(tmp_path / "sent.log"), "w1", 0)
    with pytest.raises(ApiError):
        asyncio.run(api.answer(ApiCall("sendChatAction", {"chat_id": 1, "action": "dancing"})))
    rules_log = Path(os.environ["TELEGRAM_RULES_LOG"])
    assert "sendChatAction: action='dancing' is not one of" in rules_log.read_text()
    rules_log.unlink()  # seen: the point of this test


def article(result_id: str = "1", title: str = "A", text: str = "<b>x</b>") -> dict[str, Any]:
    return {
        "type": "article",
        "id": result_id,
        "title": title,
        "input_message_content": {"message_text": text, "parse_mode": "HTML"},
    }


def inline(results: list[dict[str, Any]], **params: Any) -> tuple[int | None, str] | None:
    return answer("answerInlineQuery", {"inline_query_id": "1", "results": results, **params})


def test_inline_answers_are_held_to_telegrams_rules() -> None:
    assert inline([article(str(n)) for n in range(50)], cache_time=60) is None
    assert inline([]) is None
    assert inline([article(str(n)) for n in range(51)]) == (400, "Bad Request: RESULTS_TOO_MUCH")
    assert inline([article("1"), article("1")]) == (400, "Bad Request: RESULT_ID_DUPLICATE")
    assert inline([article("x" * 65)]) == (400, "Bad Request: RESULT_ID_INVALID")
    assert inline([article("")]) == (400, "Bad Request: RESULT_ID_INVALID")
    assert inline([article(title=" ")]) == (400, "Bad Request: ARTICLE_TITLE_EMPTY")
    assert inline([article(text="<b>x")]) == (
        400,
        "Bad Request: can't parse entities: unclosed tags: ['b']",
    )
    assert inline([article(text="<b> </b>")]) == (400, "Bad Request: MESSAGE_EMPTY")
    # Measured once parsed: 4096 visible units pass however much markup surrounds them.
    assert inline([article(text=f"<b>{'x' * 4096}</b>")]) is None
    assert inline([article(text="x" * 4097)]) == (400, "Bad Request: MESSAGE_TOO_LONG")
    assert inline([article()], next_offset="x" * 65) == (400, "Bad Request: NEXT_OFFSET_INVALID")
    assert inline([article()], button={"text": "Go"}) == (400, "Bad Request: BUTTON_TYPE_INVALID")
    assert inline([article()], button={"text": "Go", "start_parameter": "a b"}) == (
        400,
        "Bad Request: START_PARAM_INVALID",
    )
    (negative,) = check_call(
        "answerInlineQuery", {"inline_query_id": "1", "results": [], "cache_time": -1}
    )
    assert negative.status is None
