"""psgbot: the Peru Support Group's Telegram bot."""

import os

__version__ = "0.1.0"

# Opt in to python-telegram-bot's coming behaviour (durations as timedelta, e.g. RetryAfter's
# retry_after) now, instead of reading deprecated int attributes.
os.environ.setdefault("PTB_TIMEDELTA", "1")
