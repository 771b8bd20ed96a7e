"""The language of each chat: set for every update before any feature runs, and /language
(/idioma) to choose it.

A chat speaks the language chosen with /language; until someone chooses, a private chat speaks
its user's Telegram language (``language_code``: ``es…`` is Spanish, anything else English) and
a group the language of whoever first brought the bot in. In groups only the group's
administrators choose.
"""

from __future__ import annotations

import logging

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeChat,
    BotCommandScopeChatAdministrators,
    Chat,
    Update,
)
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, TypeHandler

from psgbot.admins import Role, role_of
from psgbot.bot.access import chat_to_manage
from psgbot.bot.admin import admin_menu
from psgbot.bot.commands import Audience, language_code, menu_commands
from psgbot.bot.flows import Handler
from psgbot.chats import choose_language, note_telegram_language, stored_reader
from psgbot.i18n import (
    Language,
    _,
    language_of_code,
    languages,
    set_language,
    set_zone,
    using,
)
from psgbot.preferences import unaccented
from psgbot.render.buttons import CHOOSE_LANGUAGE
from psgbot.render.menu import language_chosen_message, language_keyboard, language_message
from psgbot.services import get_services

log = logging.getLogger(__name__)


async def apply_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sets the language everything this update renders is in, and the zone its reader chose
    (psgbot.i18n's context)."""
    chat, user = update.effective_chat, update.effective_user
    code = user.language_code if user is not None else None
    spoken = language_of_code(code)
    set_zone(None)  # until the chat's own is read: none carries over from another update
    if chat is None:
        set_language(spoken)
        return
    services = get_services(context)
    async with services.reads() as session:
        stored = await stored_reader(session, chat.id)
    if stored is None:  # a new chat: psgbot.chats.ensure_chat stores this language with it
        set_language(spoken)
        return
    chosen, telegram, zone = stored
    set_zone(zone)
    if chosen is not None:
        set_language(chosen)
    elif chat.type == ChatType.PRIVATE and code is not None:
        set_language(spoken)
        if telegram != spoken:  # the user switched their app's language: alerts follow
            async with services.sessions.begin() as session:
                await note_telegram_language(session, chat.id, spoken)
    else:
        set_language(telegram or spoken)


# /language's typed form: a language by its code or its name, in English or Spanish.
TYPED_LANGUAGES = {
    **dict.fromkeys(("en", "english", "ingles"), Language.EN),
    **dict.fromkeys(("es", "spanish", "espanol", "castellano"), Language.ES),
}


async def language_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offers English and Español (in groups, to its administrators); ``/language es`` (or
    ``/idioma inglés``) chooses at once."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or await chat_to_manage(update, context, refusal()) is None:
        return
    typed = unaccented(" ".join(context.args or []).strip())
    chosen = TYPED_LANGUAGES.get(typed)
    if chosen is None:
        await chat.send_message(language_message(), reply_markup=language_keyboard())
        return
    async with get_services(context).sessions.begin() as session:
        await choose_language(session, chat, chosen)
        private = chat.type == ChatType.PRIVATE and user is not None
        role = await role_of(session, user.id) if private and user is not None else None
    set_language(chosen)
    await set_chat_menus(context.bot, chat, chosen, role)
    await chat.send_message(language_chosen_message())


async def language_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stores the language pressed and answers in it."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    chosen: Language = CHOOSE_LANGUAGE.of(query)
    if await chat_to_manage(update, context, refusal(), answer=True) is None:
        return
    async with get_services(context).sessions.begin() as session:
        await choose_language(session, chat, chosen)
        role = await role_of(session, query.from_user.id) if chat.type == ChatType.PRIVATE else None
    set_language(chosen)
    await set_chat_menus(context.bot, chat, chosen, role)
    await query.edit_message_text(language_chosen_message())


async def set_chat_menus(bot: Bot, chat: Chat, language: Language, role: Role | None) -> None:
    """The chat's command menu in the language it chose, whatever its users' apps speak (a
    menu of the chat's own scope, for every app language): a private chat's (an admin's with
    the admin commands), or a group's for its members and for its administrators."""
    with using(language):
        if chat.type == ChatType.PRIVATE:
            commands = admin_menu(role) if role else menu_commands(Audience.PRIVATE)
            menus: list[tuple[BotCommandScope, list[BotCommand]]] = [
                (BotCommandScopeChat(chat.id), commands)
            ]
        else:
            menus = [
                (BotCommandScopeChat(chat.id), menu_commands(Audience.GROUP_MEMBER)),
                (BotCommandScopeChatAdministrators(chat.id), menu_commands(Audience.GROUP_ADMIN)),
            ]
    try:
        for scope, commands in menus:
            for spoken in languages():
                await bot.set_my_commands(
                    commands, scope=scope, language_code=language_code(spoken)
                )
    except TelegramError as exc:  # the menu is a convenience: the choice is stored anyway
        log.info("no menu for chat %s: %s", chat.id, exc)


def refusal() -> str:
    return _("Only this group's administrators can choose its language.")


def early_handlers() -> list[Handler]:
    """Before every feature, after the throttle: an update it drops costs no read (its one
    warning reads the language itself)."""
    return [TypeHandler(Update, apply_language)]


def handlers() -> list[Handler]:
    return [
        CommandHandler("language", language_command),
        CallbackQueryHandler(language_button, pattern=CHOOSE_LANGUAGE),
    ]
