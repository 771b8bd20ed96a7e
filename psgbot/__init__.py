"""psgbot: the Peru Support Group's Telegram bot."""

__version__ = "0.1.0"
