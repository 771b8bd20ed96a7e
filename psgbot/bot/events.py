"""/events: what the PSG has coming up."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes

from psgbot.events import list_events
from psgbot.render import events_message
from psgbot.services import get_services


async def send_events(chat_id: int, context: ContextTypes.DEFAULT_TYPE) -> None:
    async with get_services(context).sessions() as session:
        listing = await list_events(session)
        text = events_message(listing)
    await context.bot.send_message(chat_id, text)


async def events(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Lists upcoming events, or the latest past ones when none is coming."""
    if update.effective_chat:
        await send_events(update.effective_chat.id, context)


def handlers() -> list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]]:
    return [CommandHandler("events", events)]
