"""/start, /help and the reply to an unknown command as Telegram HTML."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from telegram import InlineKeyboardMarkup

from psgbot.i18n import Language, _, current_language, gettext_
from psgbot.render.buttons import CHOOSE_LANGUAGE
from psgbot.render.markup import escape, fit, shorten

NAME_LIMIT = 64  # Telegram's first names are at most 64 characters


def welcome_message(first_name: str | None) -> str:
    """/start: a greeting by first name and what the bot offers."""
    greeting = (
        _("Hello {name}!").format(name=escape(shorten(first_name, NAME_LIMIT)))
        if first_name
        else _("Hello!")
    )
    return "\n".join(
        [
            f"👋 <b>{greeting}</b>",
            "",
            _(
                "This is the Telegram bot of the <b>Peru Support Group</b>, the UK network that "
                "has worked since 1983 for human rights, social inclusion and sustainable "
                "development in Peru."
            ),
            "",
            _(
                "Here you can read our latest news, get alerts on the topics you care about as "
                "soon as we publish, find our events, and learn about our aims and how to join us."
            ),
            "",
            _("Choose below, or send /help for every command."),
        ]
    )


# The bot's profile (setMyDescription, setMyShortDescription), in each language: ``_`` is the
# language's gettext, passed in, so that the strings are still extracted for the catalog.
DESCRIPTION_LIMIT = 512
SHORT_DESCRIPTION_LIMIT = 120


def bot_description(_: Callable[[str], str] = gettext_) -> str:
    """What an empty chat with the bot shows, before /start (plain text, 0-512 characters)."""
    text = _(
        "The Telegram bot of the Peru Support Group, the UK network working since 1983 for "
        "human rights, social inclusion and sustainable development in Peru.\n\n"
        "Read our latest news, get alerts on the topics you follow as soon as we publish, find "
        "our events with reminders, and learn about our aims and how to join us. "
        "Tap Start to begin."
    )
    return shorten(text, DESCRIPTION_LIMIT)


def bot_short_description(_: Callable[[str], str] = gettext_) -> str:
    """The bot's profile line, also sent with links to it (plain text, 0-120 characters)."""
    text = _("News, alerts and events from the Peru Support Group: human rights in Peru.")
    return shorten(text, SHORT_DESCRIPTION_LIMIT)


def group_welcome_message() -> str:
    """What the bot says when added to a group: what it does there, and the steps to set it
    up (only the group's administrators choose its topics)."""
    return "\n".join(
        [
            _("👋 <b>Hello, everyone!</b>"),
            "",
            _(
                "I am the Telegram bot of the <b>Peru Support Group</b>. I can post the PSG's "
                "news here as it is published, remind the group of events, and answer anyone "
                "who asks for the latest news."
            ),
            "",
            _("<b>To set me up</b> (group administrators):"),
            _("1. Send /subscribe and choose the topics this group should get alerts on."),
            _("2. Send /mysubs at any time to see them, /unsubscribe to drop one."),
            _("3. /stop ends every message to the group; /privacy says what I keep."),
            "",
            _("Everyone can use /latest, /events and /topics. /help lists every command."),
        ]
    )


def help_message(commands: Sequence[tuple[str, str]], staff: Sequence[tuple[str, str]] = ()) -> str:
    """/help: each command the asker may use with its one-line description; ``staff``, the
    admin commands, under a heading of their own."""
    lines = [_("<b>What I can do</b>"), ""]
    lines += [f"/{name}: {escape(description)}" for name, description in commands]
    if staff:
        lines += ["", _("<b>For PSG administrators</b>"), ""]
        lines += [f"/{name}: {escape(description)}" for name, description in staff]
    return fit(["\n".join(lines)])


def unknown_command_message(command: str) -> str:
    """The reply to a command no feature knows, naming it."""
    return _(
        "I don't know {command}. Try /latest for the news, or /help for every command."
    ).format(command=escape(shorten(command, 64)))


# /language: each language named in itself, so that anyone can find their own.
LANGUAGE_NAMES = {Language.EN: "English", Language.ES: "Español"}
LANGUAGE_FLAGS = {Language.EN: "🇬🇧", Language.ES: "🇪🇸"}


def language_label(language: Language) -> str:
    """A language named in itself with its flag: "🇬🇧 English", "🇪🇸 Español"."""
    return f"{LANGUAGE_FLAGS[language]} {LANGUAGE_NAMES[language]}"


def language_message() -> str:
    """/language: the question, in the chat's language and, for who cannot read it, in both."""
    current = current_language()
    return "\n".join(
        [
            _("This chat is in <b>{language}</b>. Choose the language I should use here:").format(
                language=LANGUAGE_NAMES[current]
            ),
            "",
            "🇬🇧 Choose a language · 🇪🇸 Elige un idioma",
        ]
    )


def language_keyboard() -> InlineKeyboardMarkup:
    current = current_language()
    return InlineKeyboardMarkup(
        [
            [
                CHOOSE_LANGUAGE.button(("✓ " if language == current else "") + name, language)
                for language, name in LANGUAGE_NAMES.items()
            ]
        ]
    )


def language_chosen_message() -> str:
    """After a choice, in the language chosen."""
    return _(
        "From now on I will write to this chat in <b>English</b>. Send /language to change it."
    )
