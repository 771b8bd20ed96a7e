"""Numbers typed in commands or carried in callback data, read strictly; counts written in the
current language.

``str.isdigit`` accepts '²' and other Unicode digits that ``int`` refuses, and ``int`` accepts
any number of digits: a user's "number" is read only as a few ASCII digits within a range.
"""

from __future__ import annotations

import re

from babel.numbers import format_decimal

from psgbot.i18n import babel_locale

MAX_ID = 2**31 - 1  # row ids are 32-bit INTEGER columns on SQLite and PostgreSQL
MAX_USER_ID = 2**52  # Telegram: user ids have at most 52 significant bits


def parse_number(text: str | None, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """``text`` as an int in ``low..high``; None unless it is plain ASCII digits in range."""
    if text is None or not 1 <= len(text) <= len(str(high)) or not text.isascii():
        return None
    if not text.isdigit():
        return None
    value = int(text)
    return value if low <= value <= high else None


def format_count(count: int) -> str:
    """A count as the current language writes it: "20,000" in English, "20.000" in Spanish."""
    return format_decimal(count, locale=babel_locale())


def format_score(value: float) -> str:
    """A score to one decimal place as the current language writes it: "12.7", "12,7"."""
    return format_decimal(value, "0.0", locale=babel_locale())


def looks_like_number(text: str) -> bool:
    """Whether the user meant a number (digits of any kind, signed), right or wrong."""
    return bool(re.fullmatch(r"[+-]?\d+", text))
