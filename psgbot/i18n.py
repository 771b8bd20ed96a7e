"""Gettext for every user-facing string, in the language of the chat being answered.

Catalogs live in ``psgbot/locales/<lang>/LC_MESSAGES/psgbot.po`` (extracted with Babel, see the
Makefile's ``locales`` target). English is the source language, so a missing catalog falls back
to the strings as written.

The language is a context variable, not an argument: python-telegram-bot runs each update in a
task of its own, so a language set for one update (psgbot.bot.language) holds for everything
that update's handlers render, and for nothing else; the dispatcher sets it per message it
renders (``using``). ``_`` and ``ngettext`` read it, so no call site names a language.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum
from functools import cache
from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "psgbot"


class Language(StrEnum):
    """A language the bot speaks (stored per chat: psgbot.db.models.Chat.language)."""

    EN = "en"
    ES = "es"


DEFAULT_LANGUAGE = Language.EN
# Babel's locale for dates and numbers: en_GB because the PSG is a UK organisation ("29
# September 2018"); es for neutral Spanish ("29 de septiembre de 2018").
BABEL_LOCALES = {Language.EN: "en_GB", Language.ES: "es"}
BABEL_LOCALE = BABEL_LOCALES[DEFAULT_LANGUAGE]

_current: ContextVar[Language] = ContextVar("psgbot_language", default=DEFAULT_LANGUAGE)
# The time zone the reader chose (/timezone), or None: times are then shown in their own zone.
_zone: ContextVar[str | None] = ContextVar("psgbot_zone", default=None)


@cache
def _catalog(language: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, localedir=LOCALES_DIR, languages=[language], fallback=True)


def current_language() -> Language:
    return _current.get()


def set_language(language: Language) -> None:
    """The language of what the current task renders from now on (an update's handlers)."""
    _current.set(language)


@contextmanager
def using(language: Language) -> Iterator[None]:
    """Renders in ``language`` inside the block, and as before after it."""
    token = _current.set(language)
    try:
        yield
    finally:
        _current.reset(token)


def current_zone() -> str | None:
    """The IANA name of the zone the reader chose with /timezone, or None."""
    return _zone.get()


def set_zone(zone: str | None) -> None:
    """The reader's chosen zone for what the current task renders (an update's handlers)."""
    _zone.set(zone)


@contextmanager
def in_zone(zone: str | None) -> Iterator[None]:
    """Renders for a reader who chose ``zone`` inside the block."""
    token = _zone.set(zone)
    try:
        yield
    finally:
        _zone.reset(token)


def language_of_code(code: str | None) -> Language:
    """The language for a Telegram ``language_code`` (an IETF tag): ``es``, ``es-PE``… are
    Spanish; anything else, or none, is English."""
    if code and code.split("-")[0].split("_")[0].lower() == Language.ES.value:
        return Language.ES
    return DEFAULT_LANGUAGE


def babel_locale() -> str:
    """Babel's locale for the current language."""
    return BABEL_LOCALES[_current.get()]


def gettext_(message: str) -> str:
    return _catalog(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return _catalog(_current.get()).ngettext(singular, plural, count)


_ = gettext_


def N_(message: str) -> str:
    """Marks a string for the catalog without translating it: for module-level tables, whose
    entries are translated where they are shown (``_(entry)``), in that moment's language."""
    return message


def languages() -> list[Language]:
    """The languages the bot speaks: the source language, then each with a compiled catalog."""
    found = {path.parents[1].name for path in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")}
    return [DEFAULT_LANGUAGE, *(each for each in Language if each in found - {DEFAULT_LANGUAGE})]


def translator(language: str) -> Callable[[str], str]:
    """``gettext`` in one language (for texts every language needs at once, like the bot's
    profile), whatever the language of the rest."""
    return _catalog(language).gettext
