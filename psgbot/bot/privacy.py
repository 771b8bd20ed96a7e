"""/privacy, /mydata and /forget: what the bot keeps about a chat, a copy of it, and erasure.

In groups, /mydata and /forget are for the group's administrators (as changing its
subscriptions is); /privacy is for anyone.
"""

from __future__ import annotations

import json
import logging

from telegram import Chat, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from psgbot.bot.access import chat_to_manage
from psgbot.bot.flows import Confirmation, Handler, choice
from psgbot.i18n import _
from psgbot.privacy import chat_record, forget_chat
from psgbot.render.buttons import FORGET, FORGET_NO, FORGET_YES, MY_DATA
from psgbot.render.privacy import my_data_summary, privacy_notice
from psgbot.services import get_services

log = logging.getLogger(__name__)


def privacy_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[MY_DATA.button(_("📄 See my data")), FORGET.button(_("🗑 Delete my data"))]]
    )


async def send_privacy(chat_id: int, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The privacy notice with its two buttons (also the main menu's "Privacy")."""
    settings = get_services(context).settings
    await context.bot.send_message(
        chat_id,
        privacy_notice(settings.delivery_retention, settings.inactive_retention),
        reply_markup=privacy_keyboard(),
    )


async def privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Says what is stored about the chat, why, for how long, and how to see or delete it."""
    if update.effective_chat is not None:
        await send_privacy(update.effective_chat.id, context)


def refusal() -> str:
    return _("Only this group's administrators can see or delete its data.")


async def send_my_data(chat_id: int, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = get_services(context)
    async with services.reads() as session:
        record = await chat_record(session, chat_id)
    document = json.dumps(record or {}, indent=2, ensure_ascii=False).encode()
    await context.bot.send_document(
        chat_id,
        InputFile(document, filename="psgbot-my-data.json"),
        caption=my_data_summary(record, services.taxonomy),
    )


async def my_data(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sends a JSON file with everything stored about the chat, with a short summary."""
    chat_id = await chat_to_manage(update, context, refusal())
    if chat_id is not None:
        await send_my_data(chat_id, context)


async def ask_forget(chat_id: int, context: ContextTypes.DEFAULT_TYPE) -> None:
    keyboard = choice(FORGET_YES.button(_("Yes, delete")), FORGET_NO.button(_("No")))
    await context.bot.send_message(
        chat_id,
        _(
            "Delete everything stored about this chat: its topics, settings, event reminders "
            "and the record of messages sent to it? Nothing more will be sent here until you "
            "start again with /start. This cannot be undone."
        ),
        reply_markup=keyboard,
    )


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Asks before deleting every row about the chat."""
    chat_id = await chat_to_manage(update, context, refusal())
    if chat_id is not None:
        await ask_forget(chat_id, context)


async def forget_now(
    chat: Chat, context: ContextTypes.DEFAULT_TYPE
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Deletes every row about the chat; the text saying so."""
    async with get_services(context).sessions.begin() as session:
        await forget_chat(session, chat.id)
    # Whatever the bot held in memory for the chat (a conversation half way) goes too.
    context.application.drop_chat_data(chat.id)
    log.info("a chat was forgotten at its request")
    return (
        _(
            "✓ Deleted. Nothing about this chat is stored any more, and nothing more will "
            "be sent here. /start begins again."
        ),
        None,
    )


FORGET_QUESTION = Confirmation(
    yes=FORGET_YES,
    no=FORGET_NO,
    act=forget_now,
    declined=lambda: _("Nothing was deleted."),
    refusal=refusal,
)


async def my_data_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The privacy notice's "See my data"."""
    if (chat_id := await chat_to_manage(update, context, refusal(), answer=True)) is not None:
        await send_my_data(chat_id, context)


async def forget_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The privacy notice's "Delete my data": asks first."""
    if (chat_id := await chat_to_manage(update, context, refusal(), answer=True)) is not None:
        await ask_forget(chat_id, context)


def handlers() -> list[Handler]:
    return [
        CommandHandler("privacy", privacy),
        CommandHandler("mydata", my_data),
        CommandHandler("forget", forget),
        CallbackQueryHandler(my_data_button, pattern=MY_DATA),
        CallbackQueryHandler(forget_button, pattern=FORGET),
        *FORGET_QUESTION.handlers(),
    ]
