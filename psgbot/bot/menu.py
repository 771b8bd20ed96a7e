"""/start, /help and the main-menu buttons."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes

from psgbot.bot import events, info, news, privacy, subscribe
from psgbot.bot.commands import PUBLIC_COMMANDS
from psgbot.bot.fallback import answer_stale
from psgbot.chats import ensure_chat
from psgbot.i18n import _
from psgbot.render.markup import escape
from psgbot.services import get_services

MENU_PREFIX = "menu:"


def main_menu() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_("📰 Latest news"), callback_data="menu:latest"),
                InlineKeyboardButton(_("🗂 Topics"), callback_data="menu:topics"),
            ],
            [
                InlineKeyboardButton(_("🗓 Events"), callback_data="menu:events"),
                InlineKeyboardButton(_("🎯 Our aims"), callback_data="menu:aims"),
            ],
            [
                InlineKeyboardButton(_("🔔 Get alerts"), callback_data="menu:subscribe"),
                InlineKeyboardButton(_("🤝 Join the PSG"), callback_data="menu:join"),
            ],
            [InlineKeyboardButton(_("🔒 Privacy"), callback_data="menu:privacy")],
        ]
    )


def welcome_text(first_name: str | None) -> str:
    greeting = _("Hello {name}!").format(name=escape(first_name)) if first_name else _("Hello!")
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


def help_text() -> str:
    lines = [_("<b>What I can do</b>"), ""]
    lines += [f"/{name}: {description}" for name, description in PUBLIC_COMMANDS]
    return "\n".join(lines)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greets the supporter and offers the main actions; ``/start topic-<slug>`` subscribes."""
    chat = update.effective_chat
    if chat is None:
        return
    async with get_services(context).sessions.begin() as session:
        await ensure_chat(session, chat)
    if context.args and await subscribe.deep_link(update, context, context.args[0]):
        return
    user = update.effective_user
    await chat.send_message(
        welcome_text(user.first_name if user else None), reply_markup=main_menu()
    )


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Lists every command with one line each."""
    if update.effective_chat:
        await update.effective_chat.send_message(help_text())


MENU_ACTIONS = {
    "latest": news.send_latest,
    "topics": news.send_topics,
    "events": events.send_events,
    "aims": info.send_aims,
    "join": info.send_join,
    "subscribe": subscribe.send_keyboard,
    "privacy": privacy.send_privacy,
}


async def menu_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs the command behind a main-menu button."""
    query = update.callback_query
    if query is None or update.effective_chat is None:
        return
    action = MENU_ACTIONS.get((query.data or "").removeprefix(MENU_PREFIX))
    if action is None:
        await answer_stale(query)
        return
    await query.answer()
    await action(update.effective_chat.id, context)


def handlers() -> list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]]:
    return [
        CommandHandler("start", start),
        CommandHandler("help", help_command),
        CallbackQueryHandler(menu_button, pattern=f"^{MENU_PREFIX}"),
    ]
