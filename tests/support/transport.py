"""The tests' Bot API: records every call, checks it against the Bot API reference, injects faults.

Checks per call: the method exists; every required parameter is present and no unknown one is;
each value has an accepted type (objects checked field by field, recursively); message text is
1-4096 UTF-16 units after entity parsing and valid Telegram HTML when sent as HTML; captions at most
1024; callback data 1-64 bytes. A violation is recorded (the ``bot`` fixture fails the test on
any) and answered with Telegram's 400, as the real server would refuse it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from psgbot.offline import ApiCall, ApiError, OfflineBotApi
from support.telegram_html import TelegramHtmlError, validate_telegram_html

SPEC_PATH = Path(__file__).with_name("bot_api_spec.json")
# python-telegram-bot routes editMessageReplyMarkup and sendVenue through its generic send path,
# which fills in
# Defaults.parse_mode; Telegram ignores the extra parameter. Nothing else is let through.
TOLERATED_EXTRAS = {("editMessageReplyMarkup", "parse_mode"), ("sendVenue", "parse_mode")}
Fault = Callable[[ApiCall], None]


@cache
def bot_api_spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return spec


class RecordingBotApi(OfflineBotApi):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[ApiCall] = []
        self.failed_calls: list[tuple[ApiCall, ApiError]] = []
        self.violations: list[str] = []
        # Each fault sees every call first and may raise ApiError to make Telegram refuse it.
        self.faults: list[Fault] = []

    async def answer(self, call: ApiCall) -> Any:
        problems = check_call(call.method, call.params)
        if problems:
            self.violations.extend(f"{call.method}: {problem}" for problem in problems)
            raise ApiError(400, "Bad Request: " + "; ".join(problems))
        for fault in list(self.faults):
            fault(call)
        return await super().answer(call)

    def on_call(self, call: ApiCall) -> None:
        self.calls.append(call)

    def on_error(self, call: ApiCall, error: ApiError) -> None:
        self.failed_calls.append((call, error))

    def sent(self, chat_id: int | None = None) -> list[ApiCall]:
        """Calls that put something in a chat (messages, documents, edits), in order."""
        return [
            call
            for call in self.calls
            if call.method.startswith(("send", "edit", "copy", "forward"))
            and call.method != "sendChatAction"
            and (chat_id is None or call.chat_id == chat_id)
        ]

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [call.text or "" for call in self.sent(chat_id)]

    def clear(self) -> None:
        self.calls.clear()
        self.failed_calls.clear()


def check_call(method: str, params: dict[str, Any]) -> list[str]:
    spec = bot_api_spec()
    fields = spec["methods"].get(method)
    if fields is None:
        return [f"no such method {method!r}"]
    problems = [
        f"missing required parameter {name}"
        for name, field in fields.items()
        if field["required"] and params.get(name) is None
    ]
    for name, value in params.items():
        if value is None:
            continue
        field = fields.get(name)
        if field is None and (method, name) in TOLERATED_EXTRAS:
            continue
        if field is None:
            problems.append(f"unknown parameter {name}")
            continue
        if not any(_accepts(kind, value) for kind in field["types"]):
            problems.append(f"{name}={value!r:.80} is not {' or '.join(field['types'])}")
    problems += _check_limits(params)
    return problems


def _check_limits(params: dict[str, Any]) -> list[str]:
    problems = []
    for key, (low, high) in {"text": (1, 4096), "caption": (0, 1024)}.items():
        value = params.get(key)
        if not isinstance(value, str):
            continue
        visible = value
        if params.get("parse_mode") == "HTML":
            try:
                visible = validate_telegram_html(value)
            except TelegramHtmlError as exc:
                problems.append(f"{key} is not valid Telegram HTML: {exc}")
                continue
        size = utf16_units(visible)
        if not low <= (utf16_units(visible.strip()) if key == "text" else size) <= high:
            problems.append(f"{key} has {size} UTF-16 units, not {low}-{high}")
    for button in _buttons(params.get("reply_markup")):
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode()) <= 64:
            problems.append(f"callback_data {data!r} is not 1-64 bytes")
    return problems


def utf16_units(text: str) -> int:
    """Telegram measures text in UTF-16 code units: characters outside the BMP count 2."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _buttons(markup: object) -> list[dict[str, Any]]:
    if not isinstance(markup, dict):
        return []
    rows = markup.get("inline_keyboard") or []
    return [button for row in rows for button in row if isinstance(button, dict)]


def _accepts(kind: str, value: Any) -> bool:
    if kind.startswith("Array of "):
        return isinstance(value, list) and all(_accepts(kind[9:], item) for item in value)
    match kind:
        case "Integer":
            return isinstance(value, int) and not isinstance(value, bool)
        case "Float":
            return isinstance(value, int | float) and not isinstance(value, bool)
        case "String":
            return isinstance(value, str)
        case "Boolean":
            return isinstance(value, bool)
        case "True":
            return value is True
        case "InputFile":
            return True  # uploads travel as multipart parts or attach:// references
    type_spec = bot_api_spec()["types"].get(kind)
    if type_spec is None:
        return False
    if type_spec["subtypes"]:
        return any(_accepts(subtype, value) for subtype in type_spec["subtypes"])
    if not isinstance(value, dict):
        return False
    fields = type_spec["fields"]
    if any(field["required"] and name not in value for name, field in fields.items()):
        return False
    return all(
        name in fields and any(_accepts(option, item) for option in fields[name]["types"])
        for name, item in value.items()
    )
