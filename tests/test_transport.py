"""The test transport itself: it must catch what Telegram would refuse."""

from __future__ import annotations

from support.transport import check_call


def test_valid_call_passes() -> None:
    assert (
        check_call(
            "sendMessage",
            {
                "chat_id": 1,
                "text": "<b>hi</b>",
                "parse_mode": "HTML",
                "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "menu:a"}]]},
            },
        )
        == []
    )


def test_violations_are_reported() -> None:
    assert check_call("sendMesage", {"chat_id": 1})
    assert any(
        "missing required parameter text" in p for p in check_call("sendMessage", {"chat_id": 1})
    )
    assert any(
        "unknown parameter" in p
        for p in check_call("sendMessage", {"chat_id": 1, "text": "x", "colour": "red"})
    )
    assert check_call("sendMessage", {"chat_id": "1", "text": "x" * 4097})
    assert check_call("sendMessage", {"chat_id": 1, "text": "a < b", "parse_mode": "HTML"})
    assert check_call("sendMessage", {"chat_id": 1.5, "text": "x"})
    assert check_call(
        "sendMessage",
        {
            "chat_id": 1,
            "text": "x",
            "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "x" * 65}]]},
        },
    )
    assert check_call(
        "sendMessage",
        {"chat_id": 1, "text": "x", "reply_markup": {"inline_keyboard": [[{"label": "A"}]]}},
    )
