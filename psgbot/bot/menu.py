"""/start, /help and the main-menu buttons."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import Bot, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from psgbot.admins import role_of
from psgbot.bot import events, info, news, privacy, subscribe, topic_keyboard
from psgbot.bot.access import may_manage
from psgbot.bot.admin import admin_commands
from psgbot.bot.commands import Audience, commands_for, language_code
from psgbot.bot.fallback import answer_stale
from psgbot.bot.flows import Handler
from psgbot.chats import ensure_chat, is_known
from psgbot.i18n import _, languages, translator
from psgbot.render.buttons import MENU
from psgbot.render.menu import (
    bot_description,
    bot_short_description,
    help_message,
    welcome_message,
)
from psgbot.services import get_services

log = logging.getLogger(__name__)


def main_menu() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [MENU.button(_("📰 Latest news"), "latest"), MENU.button(_("🗂 Topics"), "topics")],
            [MENU.button(_("🗓 Events"), "events"), MENU.button(_("🎯 Our aims"), "aims")],
            [
                MENU.button(_("🔔 Get alerts"), "subscribe"),
                MENU.button(_("🤝 Join the PSG"), "join"),
            ],
            [MENU.button(_("🔒 Privacy"), "privacy")],
        ]
    )


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greets the supporter and offers the main actions. Deep links: ``/start topic-<slug>``
    subscribes and ``/start event-<n>`` shows the event, each after the welcome for someone new
    (who would otherwise never see the menu)."""
    chat = update.effective_chat
    if chat is None:
        return
    async with get_services(context).sessions.begin() as session:
        new = not await is_known(session, chat.id)
        await ensure_chat(session, chat)
    payload = context.args[0] if context.args else ""
    linked = payload.startswith((subscribe.DEEP_LINK_PREFIX, events.DEEP_LINK_PREFIX))
    user = update.effective_user
    if new or not linked:
        await chat.send_message(
            welcome_message(user.first_name if user else None), reply_markup=main_menu()
        )
    if payload.startswith(subscribe.DEEP_LINK_PREFIX):
        await subscribe.deep_link(update, context, payload)
    elif payload.startswith(events.DEEP_LINK_PREFIX):
        await events.deep_link(chat.id, context, payload)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Lists the commands the asker may use here, one line each: a group's members do not see
    what only its administrators may do; a PSG admin (in private) sees the admin commands."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return
    staff: list[tuple[str, str]] = []
    if chat.type != ChatType.PRIVATE:
        manages = await may_manage(update, context)
        audience = Audience.GROUP_ADMIN if manages else Audience.GROUP_MEMBER
    else:
        audience = Audience.PRIVATE
        if user is not None:
            async with get_services(context).reads() as session:
                role = await role_of(session, user.id)
            staff = admin_commands(role)
    await chat.send_message(help_message(commands_for(audience), staff))


async def set_descriptions(bot: Bot) -> None:
    """The bot's description and short description in each language it speaks: the source
    language as everyone's default, the others for users of that language."""
    for language in languages():
        text = translator(language)
        code = language_code(language)
        try:
            await bot.set_my_description(bot_description(text), language_code=code)
            await bot.set_my_short_description(bot_short_description(text), language_code=code)
        except TelegramError as exc:  # the profile is not worth failing the start for
            log.warning("could not set the bot's description (%s): %s", language, exc)


MENU_ACTIONS: dict[str, Callable[[int, ContextTypes.DEFAULT_TYPE], Awaitable[None]]] = {
    "latest": news.send_latest,
    "topics": news.send_topics,
    "events": events.send_events,
    "aims": info.send_aims,
    "join": info.send_join,
    "subscribe": topic_keyboard.send_keyboard,
    "privacy": privacy.send_privacy,
}


async def menu_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs the command behind a main-menu button."""
    query = update.callback_query
    if query is None or update.effective_chat is None:
        return
    chosen = MENU.of(query)
    action = MENU_ACTIONS.get(chosen)
    if action is None:
        await answer_stale(query)
        return
    await query.answer()
    if chosen == "subscribe":
        # As /subscribe: in a forum, the keyboard (and the topics chosen on it) in the thread
        # the menu was pressed in.
        thread_id = topic_keyboard.forum_thread(update)[1]
        await topic_keyboard.send_keyboard(update.effective_chat.id, context, thread_id=thread_id)
        return
    await action(update.effective_chat.id, context)


def handlers() -> list[Handler]:
    return [
        CommandHandler("start", start),
        CommandHandler("help", help_command),
        CallbackQueryHandler(menu_button, pattern=MENU),
    ]
