"""Gettext for every user-facing string, so a second language is a catalog, not a rewrite.

Catalogs live in ``psgbot/locales/<lang>/LC_MESSAGES/psgbot.po`` (extracted with Babel, see the
Makefile's ``locales`` target). English is the source language, so a missing catalog falls back
to the strings as written.
"""

from __future__ import annotations

import gettext
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
