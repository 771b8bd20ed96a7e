"""The topic keyboard and the buttons around subscriptions: a toggle per topic, "All news",
"Announcements from the PSG", "Done", "See the latest now", an alert's Unsubscribe, and /stop's
Undo. One handler per button; each one in a group checks that the presser may manage it.
"""

from __future__ import annotations

from telegram import Chat, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from psgbot.bot.access import chat_to_manage, tell
from psgbot.bot.fallback import answer_stale
from psgbot.bot.flows import Confirmation, Handler
from psgbot.bot.news import send_latest
from psgbot.chats import ensure_chat, follow, follow_in_thread, followed_topics, unfollow
from psgbot.db.models import ALL_NEWS
from psgbot.db.types import utcnow
from psgbot.i18n import _
from psgbot.privacy import (
    is_stopped,
    resume_chat,
    set_announcements,
    stop_chat,
    wants_announcements,
)
from psgbot.render import buttons as data
from psgbot.render.privacy import stopped_message
from psgbot.render.subscriptions import (
    keyboard_done_message,
    keyboard_intro,
    not_subscribed_note,
    removed_note,
    resumed_note,
    subscribed_note,
    topic_choice_keyboard,
    topic_name,
    unsubscribe_keyboard,
    unsubscribed_by_button_message,
)
from psgbot.services import get_services
from psgbot.topics import Taxonomy


def topic_keyboard(
    taxonomy: Taxonomy, followed: set[str], announcements: bool = True
) -> InlineKeyboardMarkup:
    """Every topic as a toggle (✓ when followed), then "All news", "Announcements from the
    PSG" (messages to everyone) and "Done"."""
    buttons = (
        data.TOGGLE_TOPIC,
        data.TOGGLE_ALL_NEWS,
        data.TOGGLE_ANNOUNCEMENTS,
        data.KEYBOARD_DONE,
    )
    return topic_choice_keyboard(taxonomy, followed, announcements, buttons)


def see_latest_button(slug: str | None = None) -> InlineKeyboardMarkup:
    """Under a subscription: one topic's newest items, or those of every followed topic."""
    text = _("📰 See the latest now")
    button = data.LATEST_OF_TOPIC.button(text, slug) if slug else data.LATEST_FOLLOWED.button(text)
    return InlineKeyboardMarkup([[button]])


def undo_button() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[data.STOP_UNDO.button(_("↩ Undo"))]])


def forum_thread(update: Update) -> tuple[bool, int | None]:
    """Whether the update comes from a forum, and the thread (None: the General topic) its
    message was typed in, or its button pressed under."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or not chat.is_forum:
        return False, None
    if message is None or not message.is_topic_message:
        return True, None
    return True, message.message_thread_id


async def send_keyboard(
    chat_id: int,
    context: ContextTypes.DEFAULT_TYPE,
    intro: str | None = None,
    *,
    thread_id: int | None = None,
) -> None:
    """The topic keyboard under ``intro`` (also the main menu's "Get alerts"), in a forum's
    thread when ``thread_id`` names one."""
    services = get_services(context)
    async with services.reads() as session:
        followed = await followed_topics(session, chat_id)
        announcements = await wants_announcements(session, chat_id)
        stopped = await is_stopped(session, chat_id)
    intro = intro or _("Choose the topics you want alerts for; tap again to remove one.")
    await context.bot.send_message(
        chat_id,
        keyboard_intro(intro, stopped),
        reply_markup=topic_keyboard(services.taxonomy, followed, announcements),
        message_thread_id=thread_id,
    )


def refusal() -> str:
    return _("Only this group's administrators can change its subscriptions.")


async def refuse(update: Update) -> None:
    await tell(update, refusal())


async def managed_chat(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, answer: bool = False
) -> int | None:
    """The chat whose subscriptions a button changes, or None (the presser was told why)."""
    if update.callback_query is None:
        return None
    return await chat_to_manage(update, context, refusal(), answer=answer)


async def _redraw(
    update: Update, context: ContextTypes.DEFAULT_TYPE, followed: set[str], resumed: bool
) -> None:
    """Answers a toggle (with a note when it started a stopped chat again) and redraws the
    keyboard."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    async with get_services(context).reads() as session:
        announcements = await wants_announcements(session, chat.id)
    await query.answer(resumed_note() if resumed else None, show_alert=resumed)
    taxonomy = get_services(context).taxonomy
    await query.edit_message_reply_markup(topic_keyboard(taxonomy, followed, announcements))


async def _toggle(update: Update, context: ContextTypes.DEFAULT_TYPE, slug: str) -> None:
    """Follows or drops a topic; in a forum, one followed goes to the keyboard's thread."""
    chat = update.effective_chat
    assert chat is not None
    forum, thread = forum_thread(update)
    resumed = False
    async with get_services(context).sessions.begin() as session:
        await ensure_chat(session, chat)
        followed = await followed_topics(session, chat.id)
        if slug in followed:
            await unfollow(session, chat.id, [slug])
            followed.discard(slug)
        else:
            if forum:
                await follow_in_thread(session, chat.id, slug, thread)
            else:
                await follow(session, chat.id, [slug])
            followed.add(slug)
            resumed = await resume_chat(session, chat.id)
    await _redraw(update, context, followed, resumed)


async def toggle_topic(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A topic's toggle."""
    if await managed_chat(update, context) is None:
        return
    assert update.callback_query is not None
    slug = data.TOGGLE_TOPIC.of(update.callback_query)
    if get_services(context).taxonomy.get(slug) is None:
        await answer_stale(update.callback_query)
        return
    await _toggle(update, context, slug)


async def toggle_all_news(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "All news"."""
    if await managed_chat(update, context) is not None:
        await _toggle(update, context, ALL_NEWS)


async def toggle_announcements(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Announcements from the PSG": on until turned off."""
    chat = update.effective_chat
    if await managed_chat(update, context) is None or chat is None:
        return
    async with get_services(context).sessions.begin() as session:
        await ensure_chat(session, chat)
        announcements = not await wants_announcements(session, chat.id)
        await set_announcements(session, chat.id, announcements)
        resumed = announcements and await resume_chat(session, chat.id)
        followed = await followed_topics(session, chat.id)
    await _redraw(update, context, followed, resumed)


async def keyboard_done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Done": what the chat now follows, with "See the latest now"."""
    chat_id = await managed_chat(update, context, answer=True)
    if chat_id is None or update.callback_query is None:
        return
    services = get_services(context)
    async with services.reads() as session:
        followed = await followed_topics(session, chat_id)
    await update.callback_query.edit_message_text(
        keyboard_done_message(followed, services.taxonomy),
        reply_markup=see_latest_button() if followed else None,
    )


async def latest_followed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "See the latest now" after Done: the newest items of the followed topics (anyone)."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    await query.answer()
    async with get_services(context).reads() as session:
        followed = await followed_topics(session, chat.id)
    topics = None if not followed or ALL_NEWS in followed else followed
    await send_latest(chat.id, context, topics=topics)


async def unsubscribe_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An alert's "Unsubscribe from <topic>" (or "Stop all news")."""
    chat = update.effective_chat
    if await managed_chat(update, context) is None or chat is None:
        return
    assert update.callback_query is not None
    slug = data.UNSUBSCRIBE.of(update.callback_query)
    taxonomy = get_services(context).taxonomy
    if slug != ALL_NEWS and taxonomy.get(slug) is None:
        await answer_stale(update.callback_query)
        return
    async with get_services(context).sessions.begin() as session:
        followed = slug in await followed_topics(session, chat.id)
        await unfollow(session, chat.id, [slug])
    name = topic_name(slug, taxonomy)
    if not followed:  # pressed twice, or after /unsubscribe: nothing to stop
        await update.callback_query.answer(not_subscribed_note(name))
        return
    await update.callback_query.answer(_("Unsubscribed from {topic}.").format(topic=name))
    await chat.send_message(unsubscribed_by_button_message(name))


async def subscribe_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Get alerts on <topic>" under its latest items: follows it (never unfollows)."""
    chat, query = update.effective_chat, update.callback_query
    if await managed_chat(update, context) is None or chat is None or query is None:
        return
    topic = get_services(context).taxonomy.get(data.SUBSCRIBE_TOPIC.of(query))
    if topic is None:
        await answer_stale(query)
        return
    async with get_services(context).sessions.begin() as session:
        await ensure_chat(session, chat)
        already = topic.slug in await followed_topics(session, chat.id)
        await follow(session, chat.id, [topic.slug])
        resumed = await resume_chat(session, chat.id)
    if resumed:
        await query.answer(resumed_note(), show_alert=True)
    else:
        await query.answer(subscribed_note(topic.name, already=already))


async def remove_topic(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A topic on /unsubscribe's keyboard: stops it and redraws the keyboard without it."""
    chat, query = update.effective_chat, update.callback_query
    if await managed_chat(update, context) is None or chat is None or query is None:
        return
    slug = data.REMOVE_TOPIC.of(query)
    taxonomy = get_services(context).taxonomy
    if slug != ALL_NEWS and taxonomy.get(slug) is None:
        await answer_stale(query)
        return
    async with get_services(context).sessions.begin() as session:
        await unfollow(session, chat.id, [slug])
        remaining = await followed_topics(session, chat.id)
    await query.answer(removed_note(topic_name(slug, taxonomy)))
    if remaining:
        await query.edit_message_reply_markup(unsubscribe_keyboard(remaining, taxonomy))
    else:
        await query.edit_message_text(keyboard_done_message(remaining, taxonomy))


async def stop_undo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stop's Undo: starts again what the chat had chosen."""
    chat_id = await managed_chat(update, context, answer=True)
    if chat_id is None or update.callback_query is None:
        return
    async with get_services(context).sessions.begin() as session:
        resumed = await resume_chat(session, chat_id)
    await update.callback_query.edit_message_text(
        _(
            "↩ Undone: this chat gets its alerts, event reminders and announcements again "
            "(messages cancelled by /stop are not sent)."
        )
        if resumed
        else _("Nothing to undo: this chat was not stopped.")
    )


async def stop_now(
    chat: Chat, context: ContextTypes.DEFAULT_TYPE
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Stops everything sent to the chat; the text saying so, with Undo."""
    async with get_services(context).sessions.begin() as session:
        await ensure_chat(session, chat)
        await stop_chat(session, chat.id, utcnow())
    return stopped_message(), undo_button()


# The confirmation /stop used to ask: its buttons are still in chats' history.
OLD_STOP_QUESTION = Confirmation(
    yes=data.STOP_YES,
    no=data.STOP_NO,
    act=stop_now,
    declined=lambda: _("Nothing changed: your alerts continue."),
    refusal=refusal,
)


def handlers() -> list[Handler]:
    return [
        CallbackQueryHandler(toggle_topic, pattern=data.TOGGLE_TOPIC),
        CallbackQueryHandler(toggle_all_news, pattern=data.TOGGLE_ALL_NEWS),
        CallbackQueryHandler(toggle_announcements, pattern=data.TOGGLE_ANNOUNCEMENTS),
        CallbackQueryHandler(keyboard_done, pattern=data.KEYBOARD_DONE),
        CallbackQueryHandler(latest_followed, pattern=data.LATEST_FOLLOWED),
        CallbackQueryHandler(unsubscribe_button, pattern=data.UNSUBSCRIBE),
        CallbackQueryHandler(remove_topic, pattern=data.REMOVE_TOPIC),
        CallbackQueryHandler(subscribe_button, pattern=data.SUBSCRIBE_TOPIC),
        CallbackQueryHandler(stop_undo, pattern=data.STOP_UNDO),
        *OLD_STOP_QUESTION.handlers(),
    ]
