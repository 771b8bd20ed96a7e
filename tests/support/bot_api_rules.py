"""Telegram's rules for every call, and Telegram's answers when one is broken.

One checker for every fake Telegram in the tests: the in-process recording transport
(``support.transport``), the HTTP fake for the bot as a process (``support.fake_telegram``) and
the dispatch worker's transport (``support.dispatch_worker``).

Checked per call, from ``bot_api_spec.json`` (derived from the Bot API reference by
``derive_bot_api_spec.py``):
- the method exists; every required parameter is there; no unknown parameter;
- each value has one of the accepted types, objects field by field, recursively, subtypes by
  their tag (a BotCommandScope's ``type``);
- values the reference enumerates (``parse_mode``, a chat action, an entity's ``type``, ...);
- lengths the reference states (text 1-4096, captions 0-1024, callback_data 1-64 bytes, a
  callback answer 0-200, commands 1-32), text in UTF-16 units after entity parsing: HTML is
  parsed by a strict validator of Telegram's HTML (``support.telegram_html``);
- inline buttons with exactly one action field; entities inside their text;
- inline answers: at most 50 results, ids of 1-64 bytes and unique, articles with a title, each
  message text valid HTML of 1-4096 UTF-16 units once parsed, ``next_offset`` within 64 bytes,
  a results button of exactly one kind (``_inline_rules``).

A broken rule is a ``Violation``: what is wrong, and the error Telegram answers with (its status
and description). Unknown parameters Telegram silently ignores, so they are answered as a
success, but they are violations all the same: a misspelt parameter is a bug.

Telegram also refuses a second concurrent ``getUpdates`` on one token: the older request ends
with 409 Conflict. ``UpdatesGate`` does the same, and counts each conflict.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from support.telegram_html import TelegramHtmlError, validate_telegram_html

SPEC_PATH = Path(__file__).with_name("bot_api_spec.json")
# python-telegram-bot routes editMessageReplyMarkup and sendVenue through its generic send path,
# which fills in Defaults.parse_mode; Telegram ignores the extra parameter. Nothing else is let
# through.
TOLERATED_EXTRAS = {("editMessageReplyMarkup", "parse_mode"), ("sendVenue", "parse_mode")}
# A field with one allowed value is a subtype's tag: it decides which subtype an object is.
TAG_FIELDS = {"type", "status", "source"}
TELEGRAM_DESCRIPTIONS = {
    ("parse_mode", "values"): "Bad Request: unsupported parse_mode",
    ("action", "values"): "Bad Request: wrong parameter action in request",
    ("text", "too long"): "Bad Request: message is too long",
    ("text", "empty"): "Bad Request: message text is empty",
    ("caption", "too long"): "Bad Request: message caption is too long",
    ("callback_data", "too long"): "Bad Request: BUTTON_DATA_INVALID",
    ("callback_data", "empty"): "Bad Request: BUTTON_DATA_INVALID",
    ("InlineKeyboardButton", "no action"): (
        "Bad Request: text buttons are unallowed in the inline keyboard"
    ),
    ("InlineKeyboardButton", "several actions"): "Bad Request: BUTTON_TYPE_INVALID",
}
CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)


@dataclass(frozen=True)
class Violation:
    """A call Telegram would refuse (``status``), or accept while it is still wrong (None)."""

    method: str
    problem: str
    status: int | None = 400
    description: str = "Bad Request"

    def __str__(self) -> str:
        return f"{self.method}: {self.problem}"


@cache
def bot_api_spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return spec


def utf16_units(text: str) -> int:
    """Telegram measures text in UTF-16 code units: characters outside the BMP count 2."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def check_call(method: str, params: dict[str, Any]) -> list[Violation]:
    """Every rule ``params`` break for ``method``; the first refused one is Telegram's answer."""
    fields = bot_api_spec()["methods"].get(method)
    if fields is None:
        return [Violation(method, f"no such method {method!r}", 404, "Not Found")]
    problems = [
        Violation(method, f"missing required parameter {name}", 400, _empty(name))
        for name, rules in fields.items()
        if rules["required"] and params.get(name) is None
    ]
    for name, value in params.items():
        if value is None:
            continue
        rules = fields.get(name)
        if rules is None:
            if (method, name) not in TOLERATED_EXTRAS:
                problems.append(Violation(method, f"unknown parameter {name}", None, "ignored"))
            continue
        found = _field(rules, name, value, name)
        if found is None:
            kinds = " or ".join(rules["types"])
            problems.append(
                Violation(
                    method,
                    f"{name}={value!r:.80} is not {kinds}",
                    400,
                    f"Bad Request: can't parse {name}",
                )
            )
            continue
        problems += [Violation(method, problem, 400, description) for problem, description in found]
    problems += [
        Violation(method, problem, 400, description)
        for problem, description in _text_rules(method, fields, params)
    ]
    if method == "answerInlineQuery":
        problems += _inline_rules(params)
    return problems


def refusal(violations: list[Violation]) -> Violation | None:
    """The violation Telegram answers with (the first it refuses), if any."""
    return next((violation for violation in violations if violation.status), None)


Found = list[tuple[str, str]]  # (what is wrong, Telegram's description)


def _empty(name: str) -> str:
    return (
        "Bad Request: message text is empty" if name == "text" else f"Bad Request: {name} is empty"
    )


def _field(rules: dict[str, Any], name: str, value: Any, path: str) -> Found | None:
    """Problems of a value against its field's rules; None when it is none of the types."""
    for kind in rules["types"]:
        found = _match(kind, value, path)
        if found is not None:
            break
    else:
        return None
    allowed = rules.get("values")
    if allowed and isinstance(value, str) and value not in allowed:
        description = TELEGRAM_DESCRIPTIONS.get(
            (name, "values"), f"Bad Request: wrong parameter {name} in request"
        )
        found.append((f"{path}={value!r:.40} is not one of {allowed}", description))
    length = rules.get("length")
    if length and isinstance(value, str) and name not in MEASURED_AFTER_PARSING:
        low, high, unit = length
        size = len(value.encode()) if unit == "bytes" else utf16_units(value)
        if not low <= size <= high:
            problem = "empty" if size < low else "too long"
            description = TELEGRAM_DESCRIPTIONS.get(
                (name, problem), f"Bad Request: {name} is {problem}"
            )
            found.append(
                (f"{path} has {size} {unit}, not {low}-{high}: {value!r:.40}", description)
            )
    return found


# Texts whose length Telegram measures after entity parsing (checked by _text_rules and
# _inline_rules, not on the raw string).
MEASURED_AFTER_PARSING = {"text", "caption", "message_text"}
PRIMITIVES = {"Integer", "Float", "String", "Boolean", "True", "InputFile"}


def _primitive(kind: str, value: Any) -> bool:
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
    return True  # InputFile: uploads travel as multipart parts or attach:// references


def _match(kind: str, value: Any, path: str) -> Found | None:
    """Problems of ``value`` as a ``kind``; None when it is not one (wrong shape or tag)."""
    if kind.startswith("Array of "):
        if not isinstance(value, list):
            return None
        found: Found = []
        for index, item in enumerate(value):
            inner = _match(kind.removeprefix("Array of "), item, f"{path}[{index}]")
            if inner is None:
                return None
            found += inner
        return found
    if kind in PRIMITIVES:
        return [] if _primitive(kind, value) else None
    spec = bot_api_spec()["types"].get(kind)
    if spec is None:
        return None
    if spec["subtypes"]:
        matches = [m for sub in spec["subtypes"] if (m := _match(sub, value, path)) is not None]
        return min(matches, key=len) if matches else None
    if not isinstance(value, dict):
        return None
    fields = spec["fields"]
    if any(rules["required"] and name not in value for name, rules in fields.items()):
        return None
    if any(name not in fields for name in value):
        return None
    for name in TAG_FIELDS & fields.keys():
        tag = fields[name].get("values")
        if tag and len(tag) == 1 and value.get(name) not in (None, tag[0]):
            return None
    found = []
    for name, item in value.items():
        inner = _field(fields[name], name, item, f"{path}.{name}")
        if inner is None:
            return None
        found += inner
    actions = spec.get("exactly_one_of")
    if actions:
        used = [name for name in actions if value.get(name) is not None]
        if len(used) != 1:
            problem = "no action" if not used else "several actions"
            found.append(
                (
                    f"{path}: a {kind} needs exactly one of {actions}, has {used or 'none'}",
                    TELEGRAM_DESCRIPTIONS.get((kind, problem), "Bad Request: BUTTON_TYPE_INVALID"),
                )
            )
    return found


def _text_rules(method: str, fields: dict[str, Any], params: dict[str, Any]) -> Found:
    """Text and caption: valid HTML when sent as HTML; length after entity parsing; entities
    inside the text."""
    found: Found = []
    for key in ("text", "caption"):
        value = params.get(key)
        rules = fields.get(key)
        if not isinstance(value, str) or rules is None:
            continue
        visible = value
        if params.get("parse_mode") == "HTML":
            try:
                visible = validate_telegram_html(value)
            except TelegramHtmlError as exc:
                found.append(
                    (
                        f"{key} is not valid Telegram HTML: {exc}",
                        f"Bad Request: can't parse entities: {exc}",
                    )
                )
                continue
        low, high, _unit = rules.get("length") or (0, 4096, "characters")
        # Telegram strips a message's text before measuring; an all-blank text is empty.
        size = utf16_units(visible.strip() if key == "text" else visible)
        if not low <= size <= high:
            problem = "empty" if size < low else "too long"
            found.append(
                (
                    f"{key} has {size} UTF-16 units after entity parsing, not {low}-{high}",
                    TELEGRAM_DESCRIPTIONS.get((key, problem), f"Bad Request: {key} is {problem}"),
                )
            )
        entities = params.get("entities" if key == "text" else "caption_entities")
        if isinstance(entities, list):
            units = utf16_units(value)
            for entity in entities:
                if not isinstance(entity, dict):
                    continue
                end = int(entity.get("offset", 0)) + int(entity.get("length", 0))
                if end > units:
                    found.append(
                        (
                            f"entity {entity} ends at {end}, past the text's {units} units",
                            "Bad Request: can't parse entities: entity beyond the end of text",
                        )
                    )
    return found


# answerInlineQuery: "No more than 50 results per query are allowed"; result ids are "1-64
# Bytes" (the reference's capital B escapes the derived spec's pattern); the descriptions are
# Telegram's (its MTProto errors, as the Bot API passes them on).
INLINE_RESULTS_MAX = 50
INLINE_ID_BYTES = (1, 64)
NEXT_OFFSET_BYTES = 64
START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _inline_rules(params: dict[str, Any]) -> list[Violation]:
    """What Telegram refuses in an inline answer beyond the types: too many results, bad or
    repeated ids, an article without a title, a message text empty, too long or not valid
    HTML, an offset over 64 bytes, a results button that is not exactly one kind; a negative
    cache time is a bug Telegram does not report."""
    method = "answerInlineQuery"
    found: list[Violation] = []
    results = params.get("results")
    if not isinstance(results, list):
        return found
    if len(results) > INLINE_RESULTS_MAX:
        found.append(
            Violation(
                method, f"{len(results)} results, over 50", 400, "Bad Request: RESULTS_TOO_MUCH"
            )
        )
    seen: set[str] = set()
    for index, result in enumerate(results):
        if not isinstance(result, dict):
            continue
        where = f"results[{index}]"
        result_id = str(result.get("id", ""))
        low, high = INLINE_ID_BYTES
        if not low <= len(result_id.encode()) <= high:
            found.append(
                Violation(
                    method,
                    f"{where}.id has {len(result_id.encode())} bytes, not 1-64",
                    400,
                    "Bad Request: RESULT_ID_INVALID",
                )
            )
        if result_id in seen:
            found.append(
                Violation(
                    method,
                    f"{where}.id {result_id!r} repeats an earlier result's",
                    400,
                    "Bad Request: RESULT_ID_DUPLICATE",
                )
            )
        seen.add(result_id)
        if result.get("type") == "article" and not str(result.get("title", "")).strip():
            found.append(
                Violation(
                    method,
                    f"{where} is an article without a title",
                    400,
                    "Bad Request: ARTICLE_TITLE_EMPTY",
                )
            )
        content = result.get("input_message_content")
        if isinstance(content, dict) and isinstance(content.get("message_text"), str):
            found += _message_text_rules(method, where, content)
    offset = params.get("next_offset")
    if isinstance(offset, str) and len(offset.encode()) > NEXT_OFFSET_BYTES:
        found.append(
            Violation(
                method, "next_offset is over 64 bytes", 400, "Bad Request: NEXT_OFFSET_INVALID"
            )
        )
    cache_time = params.get("cache_time")
    if isinstance(cache_time, int) and cache_time < 0:
        found.append(Violation(method, f"cache_time={cache_time} is negative", None, "ignored"))
    button = params.get("button")
    if isinstance(button, dict):
        kinds = [name for name in ("web_app", "start_parameter") if button.get(name) is not None]
        if len(kinds) != 1:
            found.append(
                Violation(
                    method,
                    f"button needs exactly one of web_app, start_parameter, has {kinds}",
                    400,
                    "Bad Request: BUTTON_TYPE_INVALID",
                )
            )
        start = button.get("start_parameter")
        if isinstance(start, str) and not START_PARAMETER.fullmatch(start):
            found.append(
                Violation(
                    method,
                    f"button.start_parameter {start!r:.40} is not 1-64 of A-Za-z0-9_-",
                    400,
                    "Bad Request: START_PARAM_INVALID",
                )
            )
    return found


def _message_text_rules(method: str, where: str, content: dict[str, Any]) -> list[Violation]:
    """A result's message: valid HTML when sent as HTML, 1-4096 UTF-16 units once parsed."""
    text = content["message_text"]
    visible = text
    if content.get("parse_mode") == "HTML":
        try:
            visible = validate_telegram_html(text)
        except TelegramHtmlError as exc:
            return [
                Violation(
                    method,
                    f"{where} message_text is not valid Telegram HTML: {exc}",
                    400,
                    f"Bad Request: can't parse entities: {exc}",
                )
            ]
    size = utf16_units(visible.strip())
    if size == 0:
        return [
            Violation(method, f"{where} message_text is empty", 400, "Bad Request: MESSAGE_EMPTY")
        ]
    if size > 4096:
        return [
            Violation(
                method,
                f"{where} message_text has {size} UTF-16 units after entity parsing",
                400,
                "Bad Request: MESSAGE_TOO_LONG",
            )
        ]
    return []


@dataclass
class _Poll:
    terminated: bool = False


@dataclass
class UpdatesGate:
    """Telegram's one-poller rule: a new getUpdates ends the one in flight with 409 Conflict;
    while a webhook is set, getUpdates is refused with 409 too."""

    conflicts: list[str] = field(default_factory=list)
    _polls: dict[str, _Poll] = field(default_factory=dict)
    _webhooks: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def begin(self, token: str) -> _Poll | str:
        """Starts a getUpdates; returns the refusal's description if Telegram refuses it now."""
        with self._lock:
            if token in self._webhooks:
                self.conflicts.append(WEBHOOK_CONFLICT)
                return WEBHOOK_CONFLICT
            previous = self._polls.get(token)
            if previous is not None:
                previous.terminated = True
            poll = self._polls[token] = _Poll()
            return poll

    def end(self, token: str, poll: _Poll, *, caller_alive: bool = True) -> str | None:
        """Ends a getUpdates; returns the 409 description if a newer one terminated it.

        A conflict counts only when someone is there to hear it: a process killed mid-poll
        (the crash harness) leaves a request that its successor's poll ends, as on Telegram,
        but no bot sees that 409."""
        with self._lock:
            if self._polls.get(token) is poll:
                del self._polls[token]
            if poll.terminated:
                if caller_alive:
                    self.conflicts.append(CONFLICT)
                return CONFLICT
            return None

    def webhook(self, token: str, url: object) -> None:
        with self._lock:
            if url:
                self._webhooks.add(token)
            else:
                self._webhooks.discard(token)
