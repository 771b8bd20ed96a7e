"""The public commands: one list feeds both the Telegram command menu and ``/help``."""

from __future__ import annotations

from telegram import BotCommand

from psgbot.i18n import _

PUBLIC_COMMANDS: list[tuple[str, str]] = [
    ("start", _("Welcome and main menu")),
    ("latest", _("Latest news: /latest, /latest 10, /latest mining")),
    ("topics", _("The topics news is tagged with")),
    ("subscribe", _("Get alerts on topics: /subscribe, /subscribe mining")),
    ("unsubscribe", _("Stop alerts on a topic: /unsubscribe mining, /unsubscribe all")),
    ("mysubs", _("The topics this chat gets alerts on")),
    ("stop", _("Stop everything: alerts, reminders and announcements")),
    ("events", _("Upcoming PSG events; /events past for earlier ones")),
    ("event", _("One event in full: /event 1")),
    ("aims", _("What the Peru Support Group works for")),
    ("history", _("Peru's recent history in brief")),
    ("humanrights", _("Human rights in Peru")),
    ("join", _("Why and how to join the PSG")),
    ("privacy", _("What is stored about this chat, and for how long")),
    ("mydata", _("Everything stored about this chat, as a file")),
    ("forget", _("Delete everything stored about this chat")),
    ("help", _("Every command, one line each")),
]


def menu_commands() -> list[BotCommand]:
    return [BotCommand(name, description) for name, description in PUBLIC_COMMANDS]
