"""Keyword watches: /watch, /unwatch, /watches and the button that removes a watch.

As with topics, in groups only the group's administrators may change what the group watches
(checked on every change, buttons included); anyone may list it. Watching, like subscribing,
starts a chat that had stopped everything (/stop) again.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from psgbot.bot.access import chat_to_manage
from psgbot.bot.flows import Handler
from psgbot.chats import ensure_chat
from psgbot.db.types import utcnow
from psgbot.i18n import _
from psgbot.privacy import resume_chat
from psgbot.render.buttons import REMOVE_WATCH
from psgbot.render.subscriptions import resumed_note
from psgbot.render.watches import (
    not_watched_message,
    removed_note,
    unwatch_usage_message,
    unwatched_message,
    watch_added_message,
    watch_refused_message,
    watches_keyboard,
    watches_message,
)
from psgbot.services import get_services
from psgbot.watches import add_watch, remove_watch, watches_of


def refusal() -> str:
    return _("Only this group's administrators can change what it watches.")


def typed_phrase(context: ContextTypes.DEFAULT_TYPE) -> str:
    """What follows the command (psgbot.watches collapses its spacing anyway)."""
    return " ".join(context.args or [])


async def watch(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Adds a watch, or says why not (with an example)."""
    chat = update.effective_chat
    if chat is None or await chat_to_manage(update, context, refusal()) is None:
        return
    async with get_services(context).sessions.begin() as session:
        await ensure_chat(session, chat)
        change = await add_watch(session, chat.id, typed_phrase(context), utcnow())
        resumed = change.refusal is None and await resume_chat(session, chat.id)
    if change.refusal is not None:
        await chat.send_message(watch_refused_message(change))
        return
    await chat.send_message(watch_added_message(change, resumed_note() if resumed else None))


async def unwatch(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Removes a watch by its words (any case or accents); without any, lists the watches."""
    chat = update.effective_chat
    if chat is None or await chat_to_manage(update, context, refusal()) is None:
        return
    typed = typed_phrase(context)
    if not typed.strip():
        await send_watches(update, context, empty=unwatch_usage_message())
        return
    async with get_services(context).sessions.begin() as session:
        phrase = await remove_watch(session, chat.id, typed=typed)
        left = len(await watches_of(session, chat.id))
    if phrase is None:
        await chat.send_message(not_watched_message(typed))
    else:
        await chat.send_message(unwatched_message(phrase, left))


async def list_watches(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Lists the chat's watches, each with a button that removes it."""
    await send_watches(update, context)


async def send_watches(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, empty: str | None = None
) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    async with get_services(context).reads() as session:
        watches = await watches_of(session, chat.id)
    if not watches and empty is not None:
        await chat.send_message(empty)
        return
    await chat.send_message(watches_message(watches), reply_markup=watches_keyboard(watches))


async def remove_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A watch's button under /watches: removes it and redraws the list without it."""
    query = update.callback_query
    if query is None:
        return
    chat_id = await chat_to_manage(update, context, refusal())
    if chat_id is None:
        return
    async with get_services(context).sessions.begin() as session:
        # Only this chat's watch: an id from another chat's list (forged data) removes nothing.
        phrase = await remove_watch(session, chat_id, watch_id=REMOVE_WATCH.of(query))
        watches = await watches_of(session, chat_id)
    await query.answer(removed_note(phrase))
    if phrase is not None:
        await query.edit_message_text(
            watches_message(watches), reply_markup=watches_keyboard(watches)
        )


def handlers() -> list[Handler]:
    return [
        CommandHandler("watch", watch),
        CommandHandler("unwatch", unwatch),
        CommandHandler("watches", list_watches),
        CallbackQueryHandler(remove_button, pattern=REMOVE_WATCH),
    ]
