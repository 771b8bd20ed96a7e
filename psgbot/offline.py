"""An in-process stand-in for Telegram's Bot API server, and updates as Telegram would send them.

python-telegram-bot talks to Telegram through a ``BaseRequest``; replacing only that object keeps
everything else (Application, handlers, Bot, serialisation) the real code path. The console
prints what arrives here; the tests record it, check it against the Bot API reference, and inject
Telegram's errors.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.request import BaseRequest, RequestData

from psgbot.render.markup import html_to_text

JSON = dict[str, Any]

BOT_USER: JSON = {
    "id": 1000000,
    "is_bot": True,
    "first_name": "PSG News",
    "username": "psg_news_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

# Methods that send something into a chat and return the sent Message.
SENDING_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVenue",
        "sendLocation",
        "copyMessage",
        "forwardMessage",
    }
)
EDITING_METHODS = frozenset(
    {"editMessageText", "editMessageCaption", "editMessageReplyMarkup", "editMessageMedia"}
)


class ApiError(Exception):
    """An error answer from the (simulated) Bot API, e.g. 403 "bot was blocked by the user"."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


@dataclass
class ApiCall:
    """One call the bot made: the method name and its parameters as sent."""

    method: str
    params: JSON
    files: dict[str, bytes] = field(default_factory=dict)
    result: Any = None
    at: float = field(default_factory=time.monotonic)

    @property
    def chat_id(self) -> int | str | None:
        value = self.params.get("chat_id")
        return value if isinstance(value, int | str) else None

    @property
    def text(self) -> str | None:
        value = self.params.get("text", self.params.get("caption"))
        return value if isinstance(value, str) else None


class OfflineBotApi(BaseRequest):
    """Answers Bot API calls in-process, as Telegram would when every call succeeds.

    Subclasses observe calls in :meth:`on_call` and may raise :class:`ApiError` from
    :meth:`answer` to simulate Telegram's failures.
    """

    def __init__(self, *, inline_mode: bool = False) -> None:
        self._message_ids = itertools.count(1)
        self.chat_types: dict[int, str] = {}
        self.chat_members: dict[tuple[int, int], str] = {}
        # Whether BotFather's inline mode is on (/setinline): getMe says so.
        self.inline_mode = inline_mode
        # Public chats' @names (without the @), as getChat and getChatMember resolve them.
        self.usernames: dict[str, int] = {}
        # Supergroups with topics (forums), each with the threads it has.
        self.forums: dict[int, set[int]] = {}
        # Channels where the bot is an administrator without the right to post.
        self.cannot_post: set[int] = set()
        # Groups where the bot is an administrator without the right to pin messages (an
        # administrator has it unless the group takes it away).
        self.cannot_pin: set[int] = set()
        # Files Telegram holds, by the ids it gave them: in updates (see UpdateFactory) and in
        # the messages it returned. Telegram accepts no other file id.
        self.file_ids: set[str] = set()
        self._file_numbers = itertools.count(1)

    def file_id(self, kind: str, given: object = None) -> str:
        """The id of a file in a message just sent: ``given`` when it is already one of
        Telegram's files (sent again by its id), else a new one."""
        if isinstance(given, str) and given in self.file_ids:
            return given
        issued = f"{kind}-{next(self._file_numbers)}"
        self.file_ids.add(issued)
        return issued

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        # Timeouts are PTB's private ODVInput[float]; an override may accept more.
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params: JSON = dict(request_data.parameters) if request_data else {}
        files: dict[str, bytes] = {}
        if request_data is not None and request_data.contains_files:
            # Uploads travel as multipart parts, not parameters; name them as Telegram would.
            for name, part in (request_data.multipart_data or {}).items():
                filename, content = part[0], part[1]
                params.setdefault(name, f"attach://{filename}")
                files[name] = content if isinstance(content, bytes) else content.read()
        call = ApiCall(api_method, params, files=files)
        try:
            call.result = await self.answer(call)
        except ApiError as error:
            body: JSON = {"ok": False, "error_code": error.status, "description": error.description}
            if error.parameters:
                body["parameters"] = error.parameters
            self.on_error(call, error)
            return error.status, json.dumps(body).encode()
        self.on_call(call)
        return 200, json.dumps({"ok": True, "result": call.result}).encode()

    def on_call(self, call: ApiCall) -> None:
        """Sees every successful call; the console prints it, tests record it."""

    def on_error(self, call: ApiCall, error: ApiError) -> None:
        """Sees every call answered with an error."""

    async def answer(self, call: ApiCall) -> Any:
        """The ``result`` Telegram would return for ``call``."""
        if call.method == "getMe":
            return BOT_USER | {"supports_inline_queries": self.inline_mode}
        if call.method == "getUpdates":
            return []
        if call.method in SENDING_METHODS:
            return self.sent_message(call)
        if call.method in EDITING_METHODS:
            if "inline_message_id" in call.params:
                return True
            return self.sent_message(call, message_id=int(call.params["message_id"]))
        if call.method == "getChatMember":
            chat_id, user_id = self.chat_id_of(call.params["chat_id"]), int(call.params["user_id"])
            channel = self.chat_types.get(chat_id) == "channel"
            # Nobody is in a channel unless they were put there; the bot only as an admin.
            status = self.chat_members.get((chat_id, user_id), "left" if channel else "member")
            rights: JSON = {}
            if channel and status == "administrator":
                rights = {
                    "can_post_messages": chat_id not in self.cannot_post,
                    "can_edit_messages": chat_id not in self.cannot_post,
                }
            elif status == "administrator":
                rights = {"can_pin_messages": chat_id not in self.cannot_pin}
            return _member({"user": _user_json(user_id, "Member")}, status) | rights
        if call.method == "getChat":
            chat_id = self.chat_id_of(call.params["chat_id"])
            return self.chat_json(chat_id) | {"accent_color_id": 0, "max_reaction_count": 11}
        return True

    def chat_id_of(self, chat_id: object) -> int:
        """A chat's id, from its id or its @name (400 "chat not found" for an unknown one)."""
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            known = self.usernames.get(chat_id[1:].lower())
            if known is None:
                raise ApiError(400, "Bad Request: chat not found")
            return known
        return int(str(chat_id))

    def chat_json(self, chat_id: int | str) -> JSON:
        numeric = int(chat_id)
        kind = self.chat_types.get(numeric) or ("private" if numeric > 0 else "group")
        chat: JSON = {"id": numeric, "type": kind}
        if kind == "private":
            chat["first_name"] = "Supporter"
        else:
            chat["title"] = f"{'Channel' if kind == 'channel' else 'Group'} {numeric}"
        username = next((name for name, known in self.usernames.items() if known == numeric), None)
        if username is not None:
            chat["username"] = username
        if numeric in self.forums:
            chat["is_forum"] = True
        return chat

    def sent_message(self, call: ApiCall, *, message_id: int | None = None) -> JSON:
        params = call.params
        chat_id = params.get("chat_id") or params.get("from_chat_id") or 0
        message: JSON = {
            "message_id": message_id or next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat_json(chat_id),
            "from": BOT_USER,
        }
        if "text" in params:
            message["text"] = _visible_text(str(params["text"]), params.get("parse_mode"))
        if "caption" in params:
            message["caption"] = _visible_text(str(params["caption"]), params.get("parse_mode"))
        if (
            isinstance(params.get("reply_markup"), dict)
            and "inline_keyboard" in (params["reply_markup"])
        ):
            message["reply_markup"] = params["reply_markup"]
        if call.method == "sendDocument":
            document = self.file_id("doc", params.get("document"))
            message["document"] = {"file_id": document, "file_unique_id": document}
        if call.method == "sendPhoto":
            photo = self.file_id("photo", params.get("photo"))
            message["photo"] = [
                {"file_id": photo, "file_unique_id": photo, "width": 1, "height": 1}
            ]
        if call.method == "sendVenue":
            message["venue"] = {
                "location": {"latitude": params["latitude"], "longitude": params["longitude"]},
                "title": params["title"],
                "address": params["address"],
            }
        return message


def _visible_text(text: str, parse_mode: object) -> str:
    return html_to_text(text) if parse_mode == "HTML" else text


class UpdateFactory:
    """Builds updates as Telegram delivers them (JSON, decoded by PTB): commands, button presses,
    inline queries.

    ``telegram``: the Bot API the bot talks to, told of the files these updates carry (a photo's
    file id), since Telegram accepts only the file ids it gave out."""

    def __init__(
        self,
        bot: Any,
        *,
        language_code: str | None = None,
        telegram: OfflineBotApi | None = None,
    ) -> None:
        self.bot = bot
        self.telegram = telegram
        # The language of the users' Telegram app (``es`` for Spanish), unless a call says.
        self.language_code = language_code
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1_000_000)

    def message(
        self,
        text: str,
        *,
        chat_id: int = 4242,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Ana",
        entities: list[JSON] | None = None,
        photo: str | None = None,
        language_code: str | None = None,
        forum: bool = False,
        thread_id: int | None = None,
    ) -> Update:
        """A text message (``entities`` as Telegram sends them), or a photo with ``text`` as
        its caption. In a ``forum`` (a supergroup with topics), ``thread_id`` is the topic it
        is sent in (None: the General topic); elsewhere, the chain of replies it is part of."""
        message: JSON = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": _chat_json(chat_id, chat_type, first_name),
            "from": self._user(user_id or abs(chat_id), first_name, language_code),
        }
        if forum:
            message["chat"]["is_forum"] = True
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            if forum:
                message["is_topic_message"] = True
        if photo:
            if self.telegram is not None:
                self.telegram.file_ids.add(photo)
            message["photo"] = [
                {"file_id": photo, "file_unique_id": photo, "width": 640, "height": 480}
            ]
            message["caption"] = text
            if entities:
                message["caption_entities"] = entities
            return self.decode({"update_id": next(self._update_ids), "message": message})
        message["text"] = text
        if entities:
            message["entities"] = entities
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self.decode({"update_id": next(self._update_ids), "message": message})

    def button_press(
        self,
        data: str,
        *,
        message_id: int = 1,
        chat_id: int = 4242,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Ana",
        text: str = "…",
        language_code: str | None = None,
        forum: bool = False,
        thread_id: int | None = None,
    ) -> Update:
        """A press of a button under the bot's message; in a ``forum``, a message in the
        thread ``thread_id`` (None: the General topic)."""
        message: JSON = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": _chat_json(chat_id, chat_type, first_name),
            "from": BOT_USER,
            "text": text,
        }
        if forum:
            message["chat"]["is_forum"] = True
            if thread_id is not None:
                message["message_thread_id"] = thread_id
                message["is_topic_message"] = True
        query: JSON = {
            "id": str(next(self._update_ids)),
            "from": self._user(user_id or abs(chat_id), first_name, language_code),
            "chat_instance": str(chat_id),
            "message": message,
            "data": data,
        }
        return self.decode({"update_id": next(self._update_ids), "callback_query": query})

    def inline_query(
        self, query: str, *, user_id: int = 4242, chat_type: str = "sender", offset: str = ""
    ) -> Update:
        """An inline query (``@bot words``) as the user types it, from a chat of ``chat_type``."""
        inline: JSON = {
            "id": str(next(self._update_ids)),
            "from": _user_json(user_id, "Ana"),
            "query": query,
            "offset": offset,
            "chat_type": chat_type,
        }
        return self.decode({"update_id": next(self._update_ids), "inline_query": inline})

    def membership_change(
        self,
        chat_id: int,
        *,
        old: str,
        new: str,
        chat_type: str = "private",
        user_id: int = 1,
        can_post: bool = True,
    ) -> Update:
        """The my_chat_member update Telegram sends when the bot is blocked, kicked or added
        (in a channel, as an administrator that ``can_post`` or not)."""
        bot_member = {"user": BOT_USER}
        rights: JSON = {}
        if chat_type == "channel" and new == "administrator":
            rights = {"can_post_messages": can_post, "can_edit_messages": can_post}
        change: JSON = {
            "chat": _chat_json(chat_id, chat_type, "Ana"),
            "from": _user_json(user_id, "Ana"),
            "date": int(time.time()),
            "old_chat_member": _member(bot_member, old),
            "new_chat_member": _member(bot_member, new) | rights,
        }
        return self.decode({"update_id": next(self._update_ids), "my_chat_member": change})

    def _user(self, user_id: int, first_name: str, language_code: str | None) -> JSON:
        user = _user_json(user_id, first_name)
        if language_code or self.language_code:
            user["language_code"] = language_code or self.language_code
        return user

    def forwarded_post(
        self,
        text: str,
        *,
        channel_id: int,
        username: str | None = None,
        chat_id: int = 4242,
        user_id: int | None = None,
    ) -> Update:
        """A post of a channel, forwarded into a private chat: its origin names the channel."""
        channel: JSON = {"id": channel_id, "type": "channel", "title": f"Channel {channel_id}"}
        if username:
            channel["username"] = username
        message: JSON = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": _chat_json(chat_id, "private", "Ana"),
            "from": _user_json(user_id or chat_id, "Ana"),
            "forward_origin": {
                "type": "channel",
                "date": int(time.time()) - 60,
                "chat": channel,
                "message_id": 77,
            },
            "text": text,
        }
        return self.decode({"update_id": next(self._update_ids), "message": message})

    def decode(self, data: JSON) -> Update:
        update = Update.de_json(data, self.bot)
        assert update is not None
        return update


def _member(base: JSON, status: str) -> JSON:
    member = dict(base, status=status)
    if status == "kicked":
        member["until_date"] = 0
    if status == "administrator":
        member.update(
            can_be_edited=False,
            is_anonymous=False,
            can_manage_chat=True,
            can_delete_messages=False,
            can_manage_video_chats=False,
            can_restrict_members=False,
            can_promote_members=False,
            can_change_info=False,
            can_invite_users=False,
            can_post_stories=False,
            can_edit_stories=False,
            can_delete_stories=False,
        )
    return member


def _user_json(user_id: int, first_name: str) -> JSON:
    return {"id": user_id, "is_bot": False, "first_name": first_name}


def _chat_json(chat_id: int, chat_type: str, first_name: str) -> JSON:
    if chat_type == "private":
        return {"id": chat_id, "type": chat_type, "first_name": first_name}
    return {"id": chat_id, "type": chat_type, "title": f"Group {chat_id}"}
