"""Callback data: what a button carries back, as a prefix plus at most one typed field.

Every button the bot makes is built here and read back here. The wire form is the one the
bot has always sent (``sub:t:justice``, ``ev:rem:12``, ``stop:undo``), so buttons already in
chats keep working; anything else (an old format, forged data, a field of the wrong type) is
refused by :meth:`Action.decode` and answered by the catch-all in psgbot.bot.fallback.

Telegram allows 1 to 64 *bytes* of callback data; :meth:`encode` refuses to build more.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from telegram import CallbackQuery, InlineKeyboardButton

from psgbot.i18n import Language
from psgbot.numbers import parse_number

DATA_LIMIT = 64  # bytes, Telegram's limit for callback_data
SEPARATOR = ":"
TOKEN = re.compile(r"[A-Za-z0-9_*-]{1,40}")  # a topic slug, "*" (all news), a short word

Value = TypeVar("Value")


class BadCallback(ValueError):
    """Callback data that no button of this bot carries (stale, foreign or forged)."""


@dataclass(frozen=True)
class Field(Generic[Value]):
    """How one typed value is written in callback data and read back, strictly."""

    name: str
    read: Callable[[str], Value | None]
    write: Callable[[Value], str]


def _read_token(text: str) -> str | None:
    return text if TOKEN.fullmatch(text) else None


def _write_token(value: str) -> str:
    if not TOKEN.fullmatch(value):
        raise BadCallback(f"not a token: {value!r}")
    return value


def _write_id(value: int) -> str:
    if parse_number(str(value)) != value:
        raise BadCallback(f"not a row id: {value!r}")
    return str(value)


def _read_language(text: str) -> Language | None:
    return Language(text) if text in set(Language) else None


CHAT_ID_PATTERN = re.compile(r"-?[0-9]{1,16}")


def _read_chat_id(text: str) -> int | None:
    return int(text) if CHAT_ID_PATTERN.fullmatch(text) else None


def _write_chat_id(value: int) -> str:
    text = str(value)
    if not CHAT_ID_PATTERN.fullmatch(text):
        raise BadCallback(f"not a chat id: {value!r}")
    return text


ID: Field[int] = Field("id", parse_number, _write_id)
# A Telegram chat id: a channel's is negative (-100…), 52 significant bits at most.
CHAT_ID: Field[int] = Field("chat id", _read_chat_id, _write_chat_id)
SLUG: Field[str] = Field("slug", _read_token, _write_token)
LANGUAGE_CODE: Field[Language] = Field("language", _read_language, lambda value: value.value)

# A stored search's token (psgbot.search: 16 hex digits) and a page of its results.
_SEARCH_PAGE = re.compile(r"([0-9a-f]{16})\.([1-9][0-9]{0,3})")


def _read_search_page(text: str) -> tuple[str, int] | None:
    match = _SEARCH_PAGE.fullmatch(text)
    return (match.group(1), int(match.group(2))) if match else None


def _write_search_page(value: tuple[str, int]) -> str:
    token, page = value
    data = f"{token}.{page}"
    if _read_search_page(data) != (token, page):
        raise BadCallback(f"not a search page: {value!r}")
    return data


PAGE_OF_SEARCH: Field[tuple[str, int]] = Field("search page", _read_search_page, _write_search_page)

# A chat and a language for it: a channel's id and the language to post there in (-1001….es).
_CHAT_LANGUAGE = re.compile(r"(-?[0-9]{1,16})\.([a-z]{2})")


def _read_chat_language(text: str) -> tuple[int, Language] | None:
    match = _CHAT_LANGUAGE.fullmatch(text)
    language = _read_language(match.group(2)) if match else None
    return (int(match.group(1)), language) if match and language else None


def _write_chat_language(value: tuple[int, Language]) -> str:
    chat_id, language = value
    data = f"{chat_id}.{language.value}"
    if _read_chat_language(data) != (chat_id, language):
        raise BadCallback(f"not a chat and a language: {value!r}")
    return data


CHAT_LANGUAGE: Field[tuple[int, Language]] = Field(
    "chat and language", _read_chat_language, _write_chat_language
)


@dataclass(frozen=True)
class Action:
    """A button with no field: the data is the prefix itself (``sub:done``)."""

    prefix: str

    def __post_init__(self) -> None:
        if not 1 <= len(self.prefix.encode()) <= DATA_LIMIT:
            raise BadCallback(f"prefix out of bounds: {self.prefix!r}")

    def encode(self) -> str:
        return self.prefix

    def matches(self, data: object) -> bool:
        """Whether ``data`` is exactly this button."""
        return data == self.prefix

    # A button is its own CallbackQueryHandler pattern (PTB calls a callable pattern with the
    # data); str() shows it as the equivalent regular expression.
    __call__ = matches

    def __str__(self) -> str:
        return f"^{re.escape(self.prefix)}$"

    def button(self, text: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text, callback_data=self.encode())


@dataclass(frozen=True)
class Keyed(Generic[Value]):
    """A button about one thing: the prefix, a colon and a typed field (``ev:rem:12``)."""

    prefix: str
    field: Field[Value]

    def encode(self, value: Value) -> str:
        data = f"{self.prefix}{SEPARATOR}{self.field.write(value)}"
        if len(data.encode()) > DATA_LIMIT:
            raise BadCallback(f"over {DATA_LIMIT} bytes: {data!r}")
        return data

    def decode(self, data: object) -> Value:
        """The field of ``data``; BadCallback unless ``data`` is exactly such a button."""
        if not isinstance(data, str) or len(data.encode()) > DATA_LIMIT:
            raise BadCallback("not callback data of this bot")
        head, separator, tail = data.rpartition(SEPARATOR)
        if separator != SEPARATOR or head != self.prefix:
            raise BadCallback(f"not a {self.prefix} button")
        value = self.field.read(tail)
        if value is None:
            raise BadCallback(f"bad {self.field.name} in a {self.prefix} button")
        return value

    def matches(self, data: object) -> bool:
        """Whether ``data`` is this button with a well-formed field."""
        try:
            self.decode(data)
        except BadCallback:
            return False
        return True

    __call__ = matches  # the CallbackQueryHandler pattern, as for Action

    def __str__(self) -> str:
        return f"^{re.escape(self.prefix + SEPARATOR)}"

    def button(self, text: str, value: Value) -> InlineKeyboardButton:
        return InlineKeyboardButton(text, callback_data=self.encode(value))

    def of(self, query: CallbackQuery) -> Value:
        """The field of a query its handler matched (so decoding cannot fail there)."""
        return self.decode(query.data)


# Every button of the bot, by feature. A test checks that no two of them read each other's data.

# The main menu (psgbot.bot.menu): menu:<action>.
MENU = Keyed("menu", SLUG)
# /language: the language to speak in this chat (psgbot.bot.language).
CHOOSE_LANGUAGE = Keyed("lang", LANGUAGE_CODE)
# The topic keyboard and what follows a subscription (psgbot.bot.topic_keyboard).
TOGGLE_TOPIC = Keyed("sub:t", SLUG)
TOGGLE_ALL_NEWS = Action("sub:all")
TOGGLE_ANNOUNCEMENTS = Action("sub:ann")
KEYBOARD_DONE = Action("sub:done")
LATEST_FOLLOWED = Action("sub:latest")
LATEST_OF_TOPIC = Keyed("latest", SLUG)
# Under one topic's latest items: subscribe to it (only adds).
SUBSCRIBE_TOPIC = Keyed("sub:add", SLUG)
# /unsubscribe's keyboard: each followed topic, to remove (never to add).
REMOVE_TOPIC = Keyed("unsub:k", SLUG)
# Under each alert (psgbot.render.news.alert_keyboard).
UNSUBSCRIBE = Keyed("unsub", SLUG)
# Under a page of search results (psgbot.bot.search): the next page of that search.
SEARCH_MORE = Keyed("search", PAGE_OF_SEARCH)
# Connecting a channel (psgbot.bot.channels, owners only): its topic keyboard, kept in the
# owner's draft, and the confirmation of /channel remove.
CHANNEL_TOGGLE_TOPIC = Keyed("adm:ch:t", SLUG)
CHANNEL_ALL_NEWS = Action("adm:ch:all")
CHANNEL_ANNOUNCEMENTS = Action("adm:ch:ann")
CHANNEL_DONE = Action("adm:ch:done")
CHANNEL_REMOVE = Keyed("adm:ch:rm", CHAT_ID)
CHANNEL_KEEP = Action("adm:ch:keep")
# Under /channel's list: the language a channel's posts are in, one button per channel.
CHANNEL_LANGUAGE = Keyed("adm:ch:lang", CHAT_LANGUAGE)
# /watches: each watch, to remove (psgbot.bot.watches).
REMOVE_WATCH = Keyed("watch:rm", ID)
# /stop's Undo; stop:yes and stop:no are the buttons of the confirmation /stop used to ask, still
# in chats' history.
STOP_UNDO = Action("stop:undo")
STOP_YES = Action("stop:yes")
STOP_NO = Action("stop:no")
# /settings (psgbot.bot.settings): how alerts come, quiet hours, the time zone, announcements.
SETTINGS_DELIVERY = Keyed("set:dm", SLUG)
SETTINGS_QUIET = Action("set:quiet")
SETTINGS_ZONE = Keyed("set:tz", SLUG)
SETTINGS_ANNOUNCEMENTS = Action("set:ann")
SETTINGS_DONE = Action("set:done")
SETTINGS_LANGUAGE = Keyed("set:lang", LANGUAGE_CODE)
# Under /timezone's reply: a suggested zone.
ZONE_PICK = Keyed("tz", SLUG)
# /privacy and /forget.
MY_DATA = Action("privacy:mydata")
FORGET = Action("privacy:forget")
FORGET_YES = Action("forget:yes")
FORGET_NO = Action("forget:no")
# Under each event.
EVENT_DETAILS = Keyed("ev:d", ID)
EVENT_CALENDAR = Keyed("ev:ics", ID)
EVENT_REMIND = Keyed("ev:rem", ID)
# One admin flow at a time (psgbot.bot.flows): abandon the open flow for the command typed, or not.
FLOW_ABANDON = Action("adm:flow:abandon")
FLOW_KEEP = Action("adm:flow:keep")
# Admin flows: events.
EVENT_WHEN_OK = Action("adm:ev:ok")
EVENT_WHEN_REDO = Action("adm:ev:redo")
EVENT_SAVE = Action("adm:ev:save")
EVENT_DISCARD = Action("adm:ev:discard")
# /editevent: the field to change, and "Done" (to the preview and Save).
EVENT_FIELD = Keyed("adm:ev:field", SLUG)
EVENT_FIELDS_DONE = Action("adm:ev:done")
EVENT_CANCEL = Keyed("adm:evcancel", ID)
EVENT_KEEP = Action("adm:evcancel:no")
# Admin flows: standing texts.
TEXT_SAVE = Action("adm:edit:save")
TEXT_DISCARD = Action("adm:edit:discard")
TEXT_RESET = Action("adm:edit:reset")
# Under /edit's confirmation of an English text, when its Spanish one is older: /edit <name> es.
TEXT_EDIT_SPANISH = Keyed("adm:edit:es", SLUG)
# Admin flows: broadcasts.
AUDIENCE_ALL = Action("adm:bc:aud:all")
AUDIENCE_TOPICS = Action("adm:bc:aud:topics")
AUDIENCE_ME = Action("adm:bc:aud:me")
AUDIENCE_TOPIC = Keyed("adm:bc:aud:topic", SLUG)
BROADCAST_SEND = Action("adm:bc:send")
# "Send to N chats?": the last check before a broadcast goes out, and back to the preview.
BROADCAST_CONFIRM = Action("adm:bc:confirm")
BROADCAST_BACK = Action("adm:bc:back")
BROADCAST_SCHEDULE = Action("adm:bc:schedule")
BROADCAST_URGENT = Action("adm:bc:urgent")
# "Pin in groups": offered only while Urgent is on.
BROADCAST_PIN = Action("adm:bc:pin")
# The same message in the other language (English or Spanish).
BROADCAST_TRANSLATE = Action("adm:bc:translate")
BROADCAST_CANCEL = Action("adm:bc:cancel")
AT_ONE_HOUR = Action("adm:bc:at:1h")
AT_TOMORROW = Action("adm:bc:at:tomorrow")
AT_TYPED = Action("adm:bc:at:typed")
BROADCAST_STOP = Keyed("adm:bcstop", ID)
BROADCAST_DROP = Keyed("adm:bcdrop", ID)
