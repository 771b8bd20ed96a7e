"""Logging set-up, with the bot token redacted from every record, and no supporter's words or
name in any.

httpx and python-telegram-bot log request URLs, and Telegram's URLs contain the token
(``/bot<token>/sendMessage``), so a filter on the handler rewrites any record that carries it.
python-telegram-bot also puts the token in exception messages (``InvalidToken: The token
`...` was rejected``); :func:`route_uncaught_to_log` sends whatever would otherwise print a
bare traceback through the same handler.

At DEBUG, python-telegram-bot logs each update whole ("Processing update %s"), the parameters of
each Bot API call and Telegram's answers: names, usernames, message texts. :func:`keep_personal_
data_out` strips the arguments of the library's records as they are made, whatever handler (or
test) receives them: the message stays, numbers and short identifiers stay, the rest is omitted.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any

REDACTED = "<redacted>"
OMITTED = "<omitted>"
# What may stay in a python-telegram-bot record: numbers, and short plain strings (an endpoint
# name, a retry loop's description). Updates, API parameters and answers arrive as objects,
# dicts, lists or serialised JSON, and are omitted.
SAFE_TEXT = re.compile(r"[^{}\[\]\n]{0,100}")
LIBRARY_LOGGERS = ("telegram", "apscheduler")
_SCRUBBING = "__psgbot_scrubs_library_records__"


def _scrubbed(value: Any) -> Any:
    if value is None or isinstance(value, int | float):
        return value
    if isinstance(value, str) and SAFE_TEXT.fullmatch(value):
        return value
    if isinstance(value, list | tuple) and all(isinstance(item, int) for item in value):
        return value  # update ids
    return OMITTED


def keep_personal_data_out() -> None:
    """Makes every record of python-telegram-bot's (and APScheduler's) loggers keep only safe
    arguments; installed once, for the whole process."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, _SCRUBBING, False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.name.startswith(LIBRARY_LOGGERS) and record.args:
            if isinstance(record.args, Mapping):
                record.args = {key: _scrubbed(value) for key, value in record.args.items()}
            else:
                record.args = tuple(_scrubbed(value) for value in record.args)
        return record

    setattr(factory, _SCRUBBING, True)
    logging.setLogRecordFactory(factory)


class RedactSecrets(logging.Filter):
    """Replaces each secret in a record's formatted message (and exception text) by a marker."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        cleaned = self._clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        return True

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


class QuietRefusedToken(logging.Filter):
    """Drops python-telegram-bot's traceback for a token refused at start-up: ``psgbot run``
    reports it in one line that says what to fix. A token refused later is still logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not (record.exc_info and record.name.startswith("telegram")):
            return True
        from telegram.error import InvalidToken

        kind = record.exc_info[0]
        refused = kind is not None and issubclass(kind, InvalidToken)
        return not (refused and "Bootstrap" in record.getMessage())


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(
    level: int, *, secrets: list[str] | None = None, json_lines: bool = False
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    keep_personal_data_out()
    handler.addFilter(QuietRefusedToken())
    handler.addFilter(RedactSecrets(secrets or []))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Request lines at INFO are noise (and carry the token); keep them for DEBUG runs only.
    if level > logging.DEBUG:
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(max(level, logging.WARNING))


def route_uncaught_to_log() -> None:
    """Uncaught exceptions (in any thread) and warnings go to the log, and so through the
    redaction filter, instead of straight to stderr."""

    def excepthook(
        kind: type[BaseException], value: BaseException, traceback: TracebackType | None
    ) -> None:
        logging.getLogger("psgbot").critical(
            "uncaught exception", exc_info=(kind, value, traceback)
        )

    def thread_excepthook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            excepthook(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook
    logging.captureWarnings(True)
