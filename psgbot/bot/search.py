"""/search, words typed in a private chat, "More results", and inline mode (@bot words)."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from psgbot.bot.flows import Handler
from psgbot.db.types import utcnow
from psgbot.i18n import _
from psgbot.preferences import zone_of
from psgbot.render.buttons import SEARCH_MORE
from psgbot.render.search import (
    inline_mode_on,
    inline_results,
    no_words_message,
    search_keyboard,
    search_messages,
)
from psgbot.search import (
    TYPED_MAX,
    inline_items,
    recall_search,
    remember_search,
    search_page,
    search_terms,
)
from psgbot.services import get_services

log = logging.getLogger(__name__)

# Seconds Telegram may cache an inline answer (for everyone: the archive is public). Short, so
# a new item shows within a minute.
INLINE_CACHE_TIME = 60


async def send_search(
    chat_id: int, typed: str, context: ContextTypes.DEFAULT_TYPE, *, intro: bool = False
) -> None:
    """Sends the first page of results for what was typed."""
    terms = search_terms(typed)
    if not terms:
        await context.bot.send_message(chat_id, no_words_message())
        return
    services = get_services(context)
    async with services.sessions.begin() as session:
        page = await search_page(session, terms)
        # Only a search with a next page is remembered, for its More button.
        token = await remember_search(session, terms, utcnow()) if page.has_more else None
        zone = await zone_of(session, chat_id, services.settings.zone)
        messages = search_messages(page, typed[:TYPED_MAX], services.taxonomy, zone, intro=intro)
        keyboard = search_keyboard(page, token, share=inline_mode_on(context.bot))
    *first, last = messages
    for message in first:
        await context.bot.send_message(chat_id, message)
    await context.bot.send_message(chat_id, last, reply_markup=keyboard)


async def search(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Searches the archive for the words after /search."""
    if update.effective_chat is not None:
        await send_search(update.effective_chat.id, " ".join(context.args or []), context)


async def plain_words(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Words typed in a private chat that no open flow reads are taken as a search."""
    message = update.effective_message
    if message is not None and message.text and update.effective_chat is not None:
        await send_search(update.effective_chat.id, message.text, context, intro=True)


async def more_results(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The next page of a search, as a new message under the last."""
    query = update.callback_query
    if query is None or update.effective_chat is None:
        return
    token, number = SEARCH_MORE.of(query)
    chat_id = update.effective_chat.id
    services = get_services(context)
    async with services.sessions.begin() as session:
        terms = await recall_search(session, token, utcnow())
        if terms is not None:
            page = await search_page(session, terms, number)
            zone = await zone_of(session, chat_id, services.settings.zone)
            messages = search_messages(page, " ".join(terms), services.taxonomy, zone)
            keyboard = search_keyboard(page, token, share=inline_mode_on(context.bot))
    if terms is None:
        await query.answer(_("This search is over a day old. Please search again."))
        return
    await query.answer()
    *first, last = messages
    for message in first:
        await context.bot.send_message(chat_id, message)
    await context.bot.send_message(chat_id, last, reply_markup=keyboard)


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """@bot words: up to 10 matching headlines; the latest for no words; one item for the
    query of its Share button. Failures are answered too, with no results (psgbot.bot.fallback)."""
    query = update.inline_query
    if query is None:
        return
    services = get_services(context)
    async with services.reads() as session:
        items = await inline_items(session, query.query[:TYPED_MAX])
        results = inline_results(items, services.taxonomy, services.settings.zone)
    await query.answer(results, cache_time=INLINE_CACHE_TIME, is_personal=False)


def handlers() -> list[Handler]:
    return [
        CommandHandler("search", search),
        CallbackQueryHandler(more_results, pattern=SEARCH_MORE),
        InlineQueryHandler(inline_query),
    ]


def late_handlers() -> list[Handler]:
    """After every feature and flow: words nothing else read."""
    return [MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, plain_words)]
