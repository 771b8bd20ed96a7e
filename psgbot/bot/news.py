"""/latest and /topics."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from psgbot.bot.fallback import answer_stale
from psgbot.bot.flows import Handler
from psgbot.i18n import _
from psgbot.news import DEFAULT_LATEST, MAX_LATEST, latest_items
from psgbot.numbers import looks_like_number, parse_number
from psgbot.preferences import zone_of
from psgbot.render.buttons import LATEST_OF_TOPIC
from psgbot.render.news import (
    latest_keyboard,
    latest_messages,
    topics_keyboard,
    topics_message,
    unknown_topic_message,
)
from psgbot.render.search import inline_mode_on
from psgbot.services import get_services
from psgbot.topics import Taxonomy, Topic


class CountOutOfRange(ValueError):
    """A count outside 1 to MAX_LATEST was asked for."""


class UnknownTopic(ValueError):
    """No topic has the name the user typed."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def parse_latest_args(args: list[str], taxonomy: Taxonomy) -> tuple[int, Topic | None]:
    """Reads ``/latest [topic] [count]`` in either order: "10", "mining", "mining 10"."""
    words = list(args)
    count = DEFAULT_LATEST
    number = next((word for word in words if looks_like_number(word)), None)
    if number is not None:
        words.remove(number)
        parsed = parse_number(number, high=MAX_LATEST)
        if parsed is None:
            raise CountOutOfRange(number)
        count = parsed
    if not words:
        return count, None
    name = " ".join(words)
    topic = taxonomy.resolve(name)
    if topic is None:
        raise UnknownTopic(name)
    return count, topic


async def send_latest(
    chat_id: int,
    context: ContextTypes.DEFAULT_TYPE,
    *,
    count: int = DEFAULT_LATEST,
    topic: Topic | None = None,
    topics: set[str] | None = None,
) -> None:
    """Sends the newest items: all, one topic's, or those of any of ``topics``."""
    services = get_services(context)
    async with services.reads() as session:
        items = await latest_items(
            session, limit=count, topic=topic.slug if topic else None, topics=topics
        )
        zone = await zone_of(session, chat_id, services.settings.zone)
        messages = latest_messages(items, services.taxonomy, zone, topic)
        # Share buttons for the items (with inline mode on); one topic's news ends with a way
        # to follow it.
        keyboard = latest_keyboard(topic, items, share=inline_mode_on(context.bot))
    *first, last = messages
    for message in first:
        await context.bot.send_message(chat_id, message)
    await context.bot.send_message(chat_id, last, reply_markup=keyboard)


async def latest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Shows the newest items: all, a number of them, or one topic's."""
    if update.effective_chat is None:
        return
    taxonomy = get_services(context).taxonomy
    try:
        count, topic = parse_latest_args(context.args or [], taxonomy)
    except CountOutOfRange:
        await update.effective_chat.send_message(
            _("I can show 1 to {max} items at a time. Try /latest {max}.").format(max=MAX_LATEST)
        )
        return
    except UnknownTopic as exc:
        await update.effective_chat.send_message(unknown_topic_message(exc.name, taxonomy))
        return
    await send_latest(update.effective_chat.id, context, count=count, topic=topic)


async def send_topics(chat_id: int, context: ContextTypes.DEFAULT_TYPE) -> None:
    taxonomy = get_services(context).taxonomy
    await context.bot.send_message(
        chat_id, topics_message(taxonomy), reply_markup=topics_keyboard(taxonomy)
    )


async def topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Lists the topics with one line on each."""
    if update.effective_chat:
        await send_topics(update.effective_chat.id, context)


async def latest_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """One topic's newest items: "See the latest now" under a subscription, a topic of
    /topics, "Latest on <topic>" under an alert."""
    query = update.callback_query
    if query is None or update.effective_chat is None:
        return
    topic = get_services(context).taxonomy.get(LATEST_OF_TOPIC.of(query))
    if topic is None:
        await answer_stale(query)
        return
    await query.answer()
    await send_latest(update.effective_chat.id, context, topic=topic)


def handlers() -> list[Handler]:
    return [
        CommandHandler("latest", latest),
        CommandHandler("topics", topics),
        CallbackQueryHandler(latest_button, pattern=LATEST_OF_TOPIC),
    ]
