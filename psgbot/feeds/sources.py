"""How a feed source is shown: never with the secrets its URL may carry.

A feed URL can hold credentials (``https://user:pw@host/feed``) or a key in its query
(``?api_key=K``). Logs, /metrics (served without authentication), admins' notices, /feeds, /poll
and ``psgbot ingest`` show a source through :func:`display_source`; metrics label it with
:func:`feed_label`; error text that may quote a URL goes through :func:`hide_secrets`.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

HIDDEN = "…"
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
# Shorter values are no secret worth garbling a message for (a "1" would hide every digit 1).
_MIN_SECRET = 4


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def display_source(source: str) -> str:
    """The source without userinfo, query values or fragment: ``https://host/feed?api_key=…``."""
    if not is_url(source):
        return source
    parts = _split(source)
    if parts is None:
        return source.partition("://")[0] + "://" + HIDDEN
    query = "&".join(
        name + ("=" + HIDDEN if has_value else "")
        for name, has_value, _value in (field.partition("=") for field in parts.query.split("&"))
        if name or has_value
    )
    return urlunsplit((parts.scheme, _host(parts), parts.path, query, ""))


def feed_label(source: str) -> str:
    """A short, stable name for metrics labels: host and path of a URL, a file's path."""
    if not is_url(source):
        return source
    parts = _split(source)
    return _host(parts) + parts.path if parts else HIDDEN


def hide_secrets(text: str, source: str | None = None) -> str:
    """The text with every URL in it shown by :func:`display_source`, and the source's password
    and query values hidden wherever else they appear (an error may quote them bare)."""
    text = _URL_IN_TEXT.sub(lambda match: display_source(match.group(0)), text)
    for secret in _secrets(source):
        text = text.replace(secret, HIDDEN)
    return text


class HideUrlSecrets(logging.Filter):
    """Shows the URLs in a record's arguments without their secrets.

    httpx logs every request's URL (``HTTP Request: GET https://user:pw@host/feed?key=K``), at
    INFO, which a DEBUG run shows. A filter on that logger rewrites the record before any handler
    (or test capture) sees it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                hide_secrets(str(arg)) if "://" in str(arg) else arg for arg in record.args
            )
        elif isinstance(record.msg, str) and "://" in record.msg and not record.args:
            record.msg = hide_secrets(record.msg)
        return True


def _split(source: str) -> SplitResult | None:
    try:
        return urlsplit(source)
    except ValueError:  # e.g. an unbalanced [ in the host
        return None


def _host(parts: SplitResult) -> str:
    return parts.netloc.rpartition("@")[2]


def _secrets(source: str | None) -> list[str]:
    parts = _split(source) if source and is_url(source) else None
    if parts is None:
        return []
    userinfo = parts.netloc.rpartition("@")[0]
    found = [userinfo, userinfo.partition(":")[2]] if userinfo else []
    found += [value for field in parts.query.split("&") if (value := field.partition("=")[2])]
    found += [unquote(value) for value in found]
    # Longest first, so a secret containing another is hidden whole.
    return sorted({value for value in found if len(value) >= _MIN_SECRET}, key=len, reverse=True)
