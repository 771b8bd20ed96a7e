"""The tests' Bot API: records every call, holds it to Telegram's rules, injects faults.

Every call goes through ``support.bot_api_rules.check_call``. A broken rule is recorded in
``violations`` and answered as Telegram answers it (400 with Telegram's description; 404 for no
such method). Every transport made during a test is watched (``WATCHED``): the ``telegram_rules``
fixture in conftest.py fails the test if any of them saw a violation or a 409 conflict, whether
or not the test looks.

Pins are held to Telegram's rules too: ``pinChatMessage`` pins only a message the bot sent to
that chat ("message to pin not found" otherwise); in a group, only when the bot is an
administrator there (``chat_members`` for the bot's id) with the right to pin, which an
administrator has unless the group took it away (``cannot_pin``); in a channel, only as an
administrator allowed to edit messages (not in ``cannot_post``). Else: "not enough rights to
manage pinned messages". In a private chat the bot pins freely. ``pinned`` holds each chat's
pinned message.

Sends are held to a chat's state as Telegram holds them: ``message_thread_id`` only in a forum
(``forums``) and for a thread it has ("message thread not found" otherwise, as for a deleted
topic); in a channel, only by an administrator allowed to post (403 "bot is not a member of the
channel chat" when it is not one; 400 "need administrator rights in the channel chat" without the
right to post, ``cannot_post``).

A photo is sent by the id of a file Telegram holds, by URL or as an upload (attach://). A file
id is accepted only when this fake gave it out (``file_ids``: in an update UpdateFactory built
with ``telegram=`` this fake, or in a message it returned); any other string, a URL without
http(s) among them, is refused as Telegram refuses it ("wrong file identifier/HTTP URL
specified"). Photos sent by URL are fetched by Telegram: one a test put in
``unreachable_photos`` is refused with the description given there (e.g. "failed to get HTTP
URL content": the picture's server failed, or what it served is no picture).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any, Protocol

from psgbot.offline import SENDING_METHODS, ApiCall, ApiError, OfflineBotApi
from psgbot.offline_updates import BOT_USER
from support.bot_api_rules import UpdatesGate, Violation, check_call, refusal, utf16_units

__all__ = ["WATCHED", "RecordingBotApi", "Watched", "check_call", "utf16_units"]

Fault = Callable[[ApiCall], None]
PIN_NOT_FOUND = "Bad Request: message to pin not found"
NO_PIN_RIGHTS = "Bad Request: not enough rights to manage pinned messages in the chat"
THREAD_NOT_FOUND = "Bad Request: message thread not found"
NOT_IN_CHANNEL = "Forbidden: bot is not a member of the channel chat"
NO_POST_RIGHTS = "Bad Request: need administrator rights in the channel chat"
WRONG_PHOTO = "Bad Request: wrong file identifier/HTTP URL specified"
PHOTO_NOT_FETCHED = "Bad Request: failed to get HTTP URL content"
# How long the in-process getUpdates holds a request open, as long polling does (seconds).
LONG_POLL = 0.05


class Watched(Protocol):
    violations: list[Violation]
    gate: UpdatesGate
    reported: tuple[int, int]  # violations and conflicts already reported by telegram_rules


WATCHED: weakref.WeakSet[Watched] = weakref.WeakSet()
"""Every fake Telegram alive, checked after each test by the ``telegram_rules`` fixture."""


class RecordingBotApi(OfflineBotApi):
    def __init__(self, *, inline_mode: bool = False) -> None:
        super().__init__(inline_mode=inline_mode)
        self.calls: list[ApiCall] = []
        self.failed_calls: list[tuple[ApiCall, ApiError]] = []
        self.violations: list[Violation] = []
        self.gate = UpdatesGate()
        self.reported = (0, 0)
        # Each fault sees every call first and may raise ApiError to make Telegram refuse it.
        self.faults: list[Fault] = []
        # Messages sent, by (chat, message id); what is pinned in each chat.
        self.messages: set[tuple[int | str, int]] = set()
        self.pinned: dict[int | str, int] = {}
        # Photo URLs Telegram cannot fetch, with the description it answers.
        self.unreachable_photos: dict[str, str] = {}
        WATCHED.add(self)

    async def answer(self, call: ApiCall) -> Any:
        violations = check_call(call.method, call.params)
        self.violations += violations
        refused = refusal(violations)
        if refused is not None:
            raise ApiError(refused.status or 400, refused.description)
        for fault in list(self.faults):
            fault(call)
        if call.method == "getUpdates":
            return await self._long_poll()
        if call.method == "setWebhook":
            self.gate.webhook("bot", call.params.get("url"))
        if call.method == "deleteWebhook":
            self.gate.webhook("bot", None)
        if call.method == "pinChatMessage":
            return self._pin(call)
        if call.method in SENDING_METHODS:
            self._check_destination(call)
        if call.method == "sendPhoto":
            self._fetch_photo(call.params.get("photo"))
        return await super().answer(call)

    def _check_destination(self, call: ApiCall) -> None:
        """Refuses a send to a thread the chat does not have, or to a channel the bot may not
        post in, as Telegram does."""
        chat_id = self.chat_id_of(call.params["chat_id"])
        thread = call.params.get("message_thread_id")
        if thread is not None and int(thread) not in self.forums.get(chat_id, set()):
            raise ApiError(400, THREAD_NOT_FOUND)
        if self.chat_types.get(chat_id) == "channel":
            status = self.chat_members.get((chat_id, BOT_USER["id"]), "left")
            if status != "administrator":
                raise ApiError(403, NOT_IN_CHANNEL)
            if chat_id in self.cannot_post:
                raise ApiError(400, NO_POST_RIGHTS)

    def _fetch_photo(self, photo: object) -> None:
        """Accepts an upload, a file id Telegram gave out, or an http(s) URL it can fetch."""
        if not isinstance(photo, str) or photo.startswith("attach://") or photo in self.file_ids:
            return
        if not photo.lower().startswith(("http://", "https://")):
            raise ApiError(400, WRONG_PHOTO)
        if photo in self.unreachable_photos:
            raise ApiError(400, self.unreachable_photos[photo])

    def _pin(self, call: ApiCall) -> bool:
        chat_id = self.chat_id_of(call.params["chat_id"])
        message_id = int(call.params["message_id"])
        if (call.params["chat_id"], message_id) not in self.messages:
            raise ApiError(400, PIN_NOT_FOUND)
        if not self.may_pin(chat_id):
            raise ApiError(400, NO_PIN_RIGHTS)
        self.pinned[call.params["chat_id"]] = message_id
        return True

    def may_pin(self, chat_id: int) -> bool:
        """Whether the bot may pin in the chat: anywhere in a private chat; in a group as an
        administrator with the right to pin; in a channel as one allowed to edit messages."""
        kind = self.chat_types.get(chat_id) or ("private" if chat_id > 0 else "group")
        if kind == "private":
            return True
        if self.chat_members.get((chat_id, BOT_USER["id"])) != "administrator":
            return False
        if kind == "channel":
            return chat_id not in self.cannot_post
        return chat_id not in self.cannot_pin

    async def _long_poll(self) -> Any:
        poll = self.gate.begin("bot")
        if isinstance(poll, str):
            raise ApiError(409, poll)
        await asyncio.sleep(LONG_POLL)
        conflict = self.gate.end("bot", poll)
        if conflict is not None:
            raise ApiError(409, conflict)
        return []

    def on_call(self, call: ApiCall) -> None:
        self.calls.append(call)
        if call.method in SENDING_METHODS and isinstance(call.result, dict):
            self.messages.add((call.params["chat_id"], int(call.result["message_id"])))

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
