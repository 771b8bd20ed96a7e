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

from psgbot.i18n import (
    DEFAULT_LANGUAGE,
    N_,
    Language,
    _,
    current_language,
    languages,
    using,
)

PUBLIC_COMMANDS: list[tuple[str, str]] = [
    ("start", N_("Welcome and main menu")),
    ("latest", N_("Latest news: /latest, /latest 10, /latest mining")),
    ("topics", N_("The topics news is tagged with")),
    ("search", N_("Search the news archive: /search Las Bambas")),
    ("subscribe", N_("Get alerts on topics: /subscribe, /subscribe mining")),
    ("unsubscribe", N_("Stop alerts on a topic: /unsubscribe mining, /unsubscribe all")),
    ("mysubs", N_("The topics this chat gets alerts on")),
    ("watch", N_("Alerts on items with these words: /watch Las Bambas")),
    ("unwatch", N_("Stop watching words: /unwatch Las Bambas")),
    ("watches", N_("The words this chat watches, to remove")),
    ("stop", N_("Stop everything: alerts, reminders and announcements")),
    ("settings", N_("Digests, quiet hours, time zone, language, announcements")),
    ("digest", N_("Alerts as a digest: /digest daily 08:00, /digest off")),
    ("quiet", N_("Quiet hours: /quiet 22:00-07:00, /quiet off")),
    ("timezone", N_("This chat's time zone: /timezone America/Lima")),
    ("announcements", N_("The PSG's messages to everyone: /announcements off")),
    ("events", N_("Upcoming PSG events; /events past for earlier ones")),
    ("event", N_("One event in full: /event 1")),
    ("aims", N_("What the Peru Support Group works for")),
    ("history", N_("Peru's recent history in brief")),
    ("humanrights", N_("Human rights in Peru")),
    ("join", N_("Why and how to join the PSG")),
    ("privacy", N_("What is stored about this chat, and for how long")),
    ("mydata", N_("Everything stored about this chat, as a file")),
    ("forget", N_("Delete everything stored about this chat")),
    ("language", N_("The language I use in this chat: English or Spanish")),
    ("help", N_("The commands you can use here")),
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
        "language",
    }
)

# Spanish names of commands: each does what its English name does (psgbot.bot.registry gives
# the English command's handler both), and Spanish menus and /help show it instead.
SPANISH_NAMES = {
    "help": "ayuda",
    "latest": "noticias",
    "topics": "temas",
    "search": "buscar",
    "events": "eventos",
    "subscribe": "suscribir",
    "unsubscribe": "baja",
    "language": "idioma",
    "privacy": "privacidad",
}
ALIASES = {spanish: english for english, spanish in SPANISH_NAMES.items()}


class Audience(Enum):
    """Who a command menu (and /help) is for."""

    PRIVATE = "private"
    GROUP_MEMBER = "group member"
    GROUP_ADMIN = "group admin"


def shown_name(command: str) -> str:
    """A command's name in the current language (its Spanish alias, in Spanish)."""
    if current_language() == Language.ES:
        return SPANISH_NAMES.get(command, command)
    return command


def commands_for(audience: Audience) -> list[tuple[str, str]]:
    """The public commands this audience may use, in menu order, in the current language."""
    return [
        (shown_name(name), _(description))
        for name, description in PUBLIC_COMMANDS
        if audience != Audience.GROUP_MEMBER or name not in GROUP_ADMIN_COMMANDS
    ]


def menu_commands(audience: Audience = Audience.PRIVATE) -> list[BotCommand]:
    return [BotCommand(name, description) for name, description in commands_for(audience)]


MENU_SCOPES: list[tuple[BotCommandScope, Audience]] = [
    (BotCommandScopeDefault(), Audience.PRIVATE),
    (BotCommandScopeAllPrivateChats(), Audience.PRIVATE),
    (BotCommandScopeAllGroupChats(), Audience.GROUP_MEMBER),
    (BotCommandScopeAllChatAdministrators(), Audience.GROUP_ADMIN),
]


def language_code(language: Language) -> str | None:
    """``language_code`` of setMyCommands and the like: none for everyone's default."""
    return None if language == DEFAULT_LANGUAGE else language.value


async def set_public_menus(bot: Bot) -> None:
    """The command menu of each scope: private chats, group members, group administrators
    (and the default, which Telegram falls back to), in each language: Telegram shows a user
    the menu of their app's language when there is one, else the default (English)."""
    for language in languages():
        with using(language):
            for scope, audience in MENU_SCOPES:
                await bot.set_my_commands(
                    menu_commands(audience),
                    scope=None if isinstance(scope, BotCommandScopeDefault) else scope,
                    language_code=language_code(language),
                )
