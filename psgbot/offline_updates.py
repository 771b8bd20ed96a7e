"""Updates as Telegram sends them (JSON decoded by python-telegram-bot), for the console and the
tests: messages, button presses, inline queries, membership changes and forwarded posts."""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING, Any

from telegram import Update

if TYPE_CHECKING:
    from psgbot.offline import OfflineBotApi

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
            "chat": chat_json(chat_id, chat_type, first_name),
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
            "chat": chat_json(chat_id, chat_type, first_name),
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
            "from": user_json(user_id, "Ana"),
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
        language_code: str | None = None,
    ) -> Update:
        """The my_chat_member update Telegram sends when the bot is blocked, kicked or added
        (in a channel, as an administrator that ``can_post`` or not), by a user whose Telegram
        speaks ``language_code``."""
        bot_member = {"user": BOT_USER}
        rights: JSON = {}
        if chat_type == "channel" and new == "administrator":
            rights = {"can_post_messages": can_post, "can_edit_messages": can_post}
        change: JSON = {
            "chat": chat_json(chat_id, chat_type, "Ana"),
            "from": self._user(user_id, "Ana", language_code),
            "date": int(time.time()),
            "old_chat_member": member_json(bot_member, old),
            "new_chat_member": member_json(bot_member, new) | rights,
        }
        return self.decode({"update_id": next(self._update_ids), "my_chat_member": change})

    def _user(self, user_id: int, first_name: str, language_code: str | None) -> JSON:
        user = user_json(user_id, first_name)
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
            "chat": chat_json(chat_id, "private", "Ana"),
            "from": user_json(user_id or chat_id, "Ana"),
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


def member_json(base: JSON, status: str) -> JSON:
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


def user_json(user_id: int, first_name: str) -> JSON:
    return {"id": user_id, "is_bot": False, "first_name": first_name}


def chat_json(chat_id: int, chat_type: str, first_name: str) -> JSON:
    if chat_type == "private":
        return {"id": chat_id, "type": chat_type, "first_name": first_name}
    return {"id": chat_id, "type": chat_type, "title": f"Group {chat_id}"}
