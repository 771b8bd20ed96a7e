"""The PSG's standing texts: /aims, /history, /humanrights, /join."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, ContextTypes

from psgbot.bot.flows import Handler
from psgbot.render.news import standing_text_keyboard, standing_text_message
from psgbot.services import get_services
from psgbot.texts import TEXT_NAMES, current_text


async def send_text(chat_id: int, context: ContextTypes.DEFAULT_TYPE, name: str) -> None:
    services = get_services(context)
    async with services.reads() as session:
        text = await current_text(session, name, services.texts)
    await context.bot.send_message(
        chat_id, standing_text_message(text), reply_markup=standing_text_keyboard(name, text)
    )


async def send_aims(chat_id: int, context: ContextTypes.DEFAULT_TYPE) -> None:
    await send_text(chat_id, context, "aims")


async def send_join(chat_id: int, context: ContextTypes.DEFAULT_TYPE) -> None:
    await send_text(chat_id, context, "join")


async def standing_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sends the text named by the command itself (/aims sends "aims")."""
    message = update.effective_message
    if message is None or message.text is None or update.effective_chat is None:
        return
    name = message.text.split()[0].lstrip("/").split("@")[0].lower()
    await send_text(update.effective_chat.id, context, name)


def handlers() -> list[Handler]:
    return [CommandHandler(list(TEXT_NAMES), standing_text)]
