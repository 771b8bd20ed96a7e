"""The public commands: one list feeds the Telegram command menus (per scope) and ``/help``.

Telegram shows a chat the menu of the narrowest scope set for it: private chats, group members
and group administrators each get their own, so a group member is not offered what only the
group's administrators may do. PSG admins' menus (per admin chat) are psgbot.bot.admin's.
"""

from __future__ import annotations

from enum import Enum

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeDefault,
)

from psgbot.i18n import _

PUBLIC_COMMANDS: list[tuple[str, str]] = [
    ("start", _("Welcome and main menu")),
    ("latest", _("Latest news: /latest, /latest 10, /latest mining")),
    ("topics", _("The topics news is tagged with")),
    ("search", _("Search the news archive: /search Las Bambas")),
    ("subscribe", _("Get alerts on topics: /subscribe, /subscribe mining")),
    ("unsubscribe", _("Stop alerts on a topic: /unsubscribe mining, /unsubscribe all")),
    ("mysubs", _("The topics this chat gets alerts on")),
    ("watch", _("Alerts on items with these words: /watch Las Bambas")),
    ("unwatch", _("Stop watching words: /unwatch Las Bambas")),
    ("watches", _("The words this chat watches, to remove")),
    ("stop", _("Stop everything: alerts, reminders and announcements")),
    ("settings", _("Digests, quiet hours, time zone, announcements")),
    ("digest", _("Alerts as a digest: /digest daily 08:00, /digest off")),
    ("quiet", _("Quiet hours: /quiet 22:00-07:00, /quiet off")),
    ("timezone", _("This chat's time zone: /timezone America/Lima")),
    ("announcements", _("The PSG's messages to everyone: /announcements off")),
    ("events", _("Upcoming PSG events; /events past for earlier ones")),
    ("event", _("One event in full: /event 1")),
    ("aims", _("What the Peru Support Group works for")),
    ("history", _("Peru's recent history in brief")),
    ("humanrights", _("Human rights in Peru")),
    ("join", _("Why and how to join the PSG")),
    ("privacy", _("What is stored about this chat, and for how long")),
    ("mydata", _("Everything stored about this chat, as a file")),
    ("forget", _("Delete everything stored about this chat")),
    ("help", _("The commands you can use here")),
]

# What changes a group's settings or data: for the group's administrators only
# (psgbot.bot.access.may_manage), so not in the menu of a group's other members.
GROUP_ADMIN_COMMANDS = frozenset(
    {
        "subscribe",
        "unsubscribe",
        "watch",
        "unwatch",
        "stop",
        "settings",
        "digest",
        "quiet",
        "timezone",
        "announcements",
        "mydata",
        "forget",
    }
)


class Audience(Enum):
    """Who a command menu (and /help) is for."""

    PRIVATE = "private"
    GROUP_MEMBER = "group member"
    GROUP_ADMIN = "group admin"


def commands_for(audience: Audience) -> list[tuple[str, str]]:
    """The public commands this audience may use, in menu order."""
    if audience == Audience.GROUP_MEMBER:
        return [entry for entry in PUBLIC_COMMANDS if entry[0] not in GROUP_ADMIN_COMMANDS]
    return list(PUBLIC_COMMANDS)


def menu_commands(audience: Audience = Audience.PRIVATE) -> list[BotCommand]:
    return [BotCommand(name, description) for name, description in commands_for(audience)]


MENU_SCOPES: list[tuple[BotCommandScope, Audience]] = [
    (BotCommandScopeDefault(), Audience.PRIVATE),
    (BotCommandScopeAllPrivateChats(), Audience.PRIVATE),
    (BotCommandScopeAllGroupChats(), Audience.GROUP_MEMBER),
    (BotCommandScopeAllChatAdministrators(), Audience.GROUP_ADMIN),
]


async def set_public_menus(bot: Bot) -> None:
    """The command menu of each scope: private chats, group members, group administrators
    (and the default, which Telegram falls back to)."""
    for scope, audience in MENU_SCOPES:
        if isinstance(scope, BotCommandScopeDefault):
            await bot.set_my_commands(menu_commands(audience))
        else:
            await bot.set_my_commands(menu_commands(audience), scope=scope)
