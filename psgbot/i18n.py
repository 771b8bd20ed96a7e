"""Gettext for every user-facing string, so a second language is a catalog, not a rewrite.

Catalogs live in ``psgbot/locales/<lang>/LC_MESSAGES/psgbot.po`` (extracted with Babel, see the
Makefile's ``locales`` target). English is the source language, so a missing catalog falls back
to the strings as written.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "psgbot"
DEFAULT_LANGUAGE = "en"
# Babel's locale for dates; en_GB because the PSG is a UK organisation ("29 September 2018").
BABEL_LOCALE = "en_GB"

_translation: gettext.NullTranslations = gettext.translation(
    DOMAIN, localedir=LOCALES_DIR, languages=[DEFAULT_LANGUAGE], fallback=True
)


def gettext_(message: str) -> str:
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return _translation.ngettext(singular, plural, count)


_ = gettext_


def languages() -> list[str]:
    """The languages the bot speaks: the source language, then each with a compiled catalog
    (a new catalog under locales/ is picked up without a code change)."""
    found = sorted(path.parents[1].name for path in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))
    return [DEFAULT_LANGUAGE, *(language for language in found if language != DEFAULT_LANGUAGE)]


def translator(language: str) -> Callable[[str], str]:
    """``gettext`` in one language (for texts every language needs at once, like the bot's
    profile), whatever the language of the rest."""
    catalog = gettext.translation(
        DOMAIN, localedir=LOCALES_DIR, languages=[language], fallback=True
    )
    return catalog.gettext
