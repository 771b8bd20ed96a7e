"""Subscriptions by topic: /subscribe, /unsubscribe, /mysubs, /stop, the topic keyboard, deep
links, and noticing when the bot is blocked, kicked or added.

In groups only the group's administrators may change what the group receives; that is checked
with getChatMember on every change, buttons included (anyone in a group can press them).
"""

from __future__ import annotations

import logging

from telegram import (
    ChatMember,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
)

from psgbot.bot.access import may_manage, tell
from psgbot.bot.fallback import answer_stale
from psgbot.bot.news import send_latest
from psgbot.chats import ensure_chat, follow, followed_topics, set_active, unfollow
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
from psgbot.render.markup import escape
from psgbot.render.news import unknown_topic_message
from psgbot.render.privacy import stopped_message
from psgbot.services import get_services
from psgbot.topics import Taxonomy

log = logging.getLogger(__name__)

TOGGLE = "sub:t:"
TOGGLE_ALL = "sub:all"
DONE = "sub:done"
LATEST_FOLLOWED = "sub:latest"
UNSUBSCRIBE_BUTTON = "unsub:"
TOGGLE_ANNOUNCEMENTS = "sub:ann"
# stop:yes and stop:no are the buttons of the confirmation /stop used to ask; old messages in
# chats still carry them.
STOP_YES, STOP_NO, STOP_UNDO = "stop:yes", "stop:no", "stop:undo"
DEEP_LINK_PREFIX = "topic-"


def topic_keyboard(
    taxonomy: Taxonomy, followed: set[str], announcements: bool = True
) -> InlineKeyboardMarkup:
    """Every topic as a toggle (✓ when followed), then "All news", "Announcements from the
    PSG" (messages to everyone) and "Done"."""

    def label(mark: bool, text: str) -> str:
        return f"✓ {text}" if mark else text

    buttons = [
        InlineKeyboardButton(
            label(topic.slug in followed, f"{topic.emoji} {topic.name}"),
            callback_data=TOGGLE + topic.slug,
        )
        for topic in taxonomy.topics
    ]
    rows = [buttons[start : start + 2] for start in range(0, len(buttons), 2)]
    rows.append(
        [
            InlineKeyboardButton(
                label(ALL_NEWS in followed, _("📰 All news")), callback_data=TOGGLE_ALL
            )
        ]
    )
    rows.append(
        [
            InlineKeyboardButton(
                label(announcements, _("📣 Announcements from the PSG")),
                callback_data=TOGGLE_ANNOUNCEMENTS,
            )
        ]
    )
    rows.append([InlineKeyboardButton(_("Done"), callback_data=DONE)])
    return InlineKeyboardMarkup(rows)


def describe(followed: set[str], taxonomy: Taxonomy) -> str:
    """ "Justice and Politics" style list of what a chat follows, for replies."""
    names = [_("all news")] if ALL_NEWS in followed else []
    names += [topic.name for topic in taxonomy.topics if topic.slug in followed]
    return ", ".join(f"<b>{escape(name)}</b>" for name in names)


def see_latest_button(slug: str | None = None) -> InlineKeyboardMarkup:
    data = f"latest:{slug}" if slug else LATEST_FOLLOWED
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("📰 See the latest now"), callback_data=data)]]
    )


async def refuse(update: Update) -> None:
    await tell(update, _("Only this group's administrators can change its subscriptions."))


async def subscribe_to(update: Update, context: ContextTypes.DEFAULT_TYPE, name: str) -> None:
    """Follows one topic (or all news) by any name the user typed, and says so."""
    chat = update.effective_chat
    assert chat is not None
    services = get_services(context)
    if name.strip().lower() in {"all", "everything", "all news"}:
        slug, shown = ALL_NEWS, _("all news")
    else:
        topic = services.taxonomy.resolve(name)
        if topic is None:
            await chat.send_message(
                unknown_topic_message(name, services.taxonomy).replace("/latest", "/subscribe")
            )
            return
        slug, shown = topic.slug, topic.name
    async with services.sessions.begin() as session:
        await ensure_chat(session, chat)
        await follow(session, chat.id, [slug])
        resumed = await resume_chat(session, chat.id)
    reply = _(
        "✓ Subscribed to {topic}. New items will arrive here as they are published. "
        "/mysubs lists your topics, /unsubscribe stops them."
    ).format(topic=f"<b>{escape(shown)}</b>")
    if resumed:
        reply += "\n" + resumed_note()
    await chat.send_message(
        reply, reply_markup=see_latest_button(None if slug == ALL_NEWS else slug)
    )


def resumed_note() -> str:
    return _(
        "This chat had stopped everything: what it chose before /stop (topics, event "
        "reminders, announcements) starts again too."
    )


async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """With a topic, subscribes to it; without, shows the topic keyboard."""
    if update.effective_chat is None:
        return
    if not await may_manage(update, context):
        await refuse(update)
        return
    if context.args:
        await subscribe_to(update, context, " ".join(context.args))
        return
    await show_keyboard(
        update,
        context,
        _(
            "Choose the topics you want alerts for; tap again to remove one. "
            "“All news” sends every item."
        ),
    )


async def unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """With a topic (or "all"), stops it; without, shows the topic keyboard."""
    chat = update.effective_chat
    if chat is None:
        return
    if not await may_manage(update, context):
        await refuse(update)
        return
    if not context.args:
        await show_keyboard(update, context, _("Tap a ✓ topic to stop its alerts."))
        return
    services = get_services(context)
    name = " ".join(context.args)
    if name.strip().lower() == "all":
        async with services.sessions.begin() as session:
            await unfollow(session, chat.id, None)
        await chat.send_message(unsubscribed_all_text())
        return
    topic = services.taxonomy.resolve(name)
    if topic is None:
        await chat.send_message(
            unknown_topic_message(name, services.taxonomy).replace("/latest", "/unsubscribe")
        )
        return
    async with services.sessions.begin() as session:
        await unfollow(session, chat.id, [topic.slug])
        remaining = await followed_topics(session, chat.id)
    reply = _("Unsubscribed from {topic}.").format(topic=f"<b>{escape(topic.name)}</b>")
    if remaining:
        reply += " " + _("Still following: {topics}.").format(
            topics=describe(remaining, services.taxonomy)
        )
    await chat.send_message(reply)


def unsubscribed_all_text() -> str:
    return _(
        "All topic alerts stopped. Event reminders and announcements from the PSG continue: "
        "/stop ends everything. /subscribe starts alerts again."
    )


def stopped_note() -> str:
    return _("This chat has stopped everything (/stop): choosing a topic starts it all again.")


async def show_keyboard(update: Update, context: ContextTypes.DEFAULT_TYPE, intro: str) -> None:
    chat = update.effective_chat
    assert chat is not None
    services = get_services(context)
    async with services.sessions.begin() as session:
        await ensure_chat(session, chat)
        followed = await followed_topics(session, chat.id)
        announcements = await wants_announcements(session, chat.id)
        stopped = await is_stopped(session, chat.id)
    await chat.send_message(
        f"{stopped_note()}\n{intro}" if stopped else intro,
        reply_markup=topic_keyboard(services.taxonomy, followed, announcements),
    )


async def send_keyboard(chat_id: int, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The topic keyboard for the main menu's "Get alerts" button."""
    services = get_services(context)
    async with services.reads() as session:
        followed = await followed_topics(session, chat_id)
        announcements = await wants_announcements(session, chat_id)
        stopped = await is_stopped(session, chat_id)
    intro = _("Choose the topics you want alerts for; tap again to remove one.")
    await context.bot.send_message(
        chat_id,
        f"{stopped_note()}\n{intro}" if stopped else intro,
        reply_markup=topic_keyboard(services.taxonomy, followed, announcements),
    )


async def my_subscriptions(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Lists what this chat follows."""
    chat = update.effective_chat
    if chat is None:
        return
    services = get_services(context)
    async with services.reads() as session:
        followed = await followed_topics(session, chat.id)
    if not followed:
        await chat.send_message(_("No subscriptions yet. /subscribe to choose topics."))
        return
    await chat.send_message(
        _("This chat gets alerts on: {topics}.").format(
            topics=describe(followed, services.taxonomy)
        )
        + "\n"
        + _("/subscribe to change them, /stop to end them all.")
    )


async def stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stops everything sent to the chat at once (alerts, reminders, announcements), with Undo."""
    chat = update.effective_chat
    if chat is None:
        return
    if not await may_manage(update, context):
        await refuse(update)
        return
    async with get_services(context).sessions.begin() as session:
        await ensure_chat(session, chat)
        await stop_chat(session, chat.id, utcnow())
    await chat.send_message(stopped_message(), reply_markup=undo_button())


def undo_button() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(_("↩ Undo"), callback_data=STOP_UNDO)]])


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every subscription button: toggles, Done, See latest, Unsubscribe, Stop yes/no."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None or query.data is None:
        return
    data = query.data
    services = get_services(context)
    if data == LATEST_FOLLOWED:
        await query.answer()
        async with services.reads() as session:
            followed = await followed_topics(session, chat.id)
        topics = None if not followed or ALL_NEWS in followed else followed
        await send_latest(chat.id, context, topics=topics)
        return
    if not await may_manage(update, context):
        await refuse(update)
        return
    taxonomy = services.taxonomy
    if data.startswith((TOGGLE, TOGGLE_ALL)):
        slug = ALL_NEWS if data == TOGGLE_ALL else data.removeprefix(TOGGLE)
        if slug != ALL_NEWS and taxonomy.get(slug) is None:
            await answer_stale(query)
            return
        resumed = False
        async with services.sessions.begin() as session:
            await ensure_chat(session, chat)
            followed = await followed_topics(session, chat.id)
            if slug in followed:
                await unfollow(session, chat.id, [slug])
                followed.discard(slug)
            else:
                await follow(session, chat.id, [slug])
                followed.add(slug)
                resumed = await resume_chat(session, chat.id)
            announcements = await wants_announcements(session, chat.id)
        await query.answer(resumed_note() if resumed else None, show_alert=resumed)
        await query.edit_message_reply_markup(topic_keyboard(taxonomy, followed, announcements))
    elif data == TOGGLE_ANNOUNCEMENTS:
        async with services.sessions.begin() as session:
            await ensure_chat(session, chat)
            announcements = not await wants_announcements(session, chat.id)
            await set_announcements(session, chat.id, announcements)
            resumed = announcements and await resume_chat(session, chat.id)
            followed = await followed_topics(session, chat.id)
        await query.answer(resumed_note() if resumed else None, show_alert=resumed)
        await query.edit_message_reply_markup(topic_keyboard(taxonomy, followed, announcements))
    elif data == DONE:
        await query.answer()
        async with services.reads() as session:
            followed = await followed_topics(session, chat.id)
        if followed:
            text = _("✓ Done. This chat gets alerts on: {topics}.").format(
                topics=describe(followed, taxonomy)
            )
            await query.edit_message_text(text, reply_markup=see_latest_button())
        else:
            await query.edit_message_text(_("No topics chosen, so no alerts. /subscribe any time."))
    elif data.startswith(UNSUBSCRIBE_BUTTON):
        slug = data.removeprefix(UNSUBSCRIBE_BUTTON)
        if slug != ALL_NEWS and taxonomy.get(slug) is None:
            await answer_stale(query)
            return
        async with services.sessions.begin() as session:
            await unfollow(session, chat.id, [slug])
        topic = taxonomy.get(slug)
        name = topic.name if topic else _("all news")
        await query.answer(_("Unsubscribed from {topic}.").format(topic=name))
        await chat.send_message(
            _("Unsubscribed from {topic}. /subscribe to choose again.").format(
                topic=f"<b>{escape(name)}</b>"
            )
        )
    elif data == STOP_YES:
        await query.answer()
        async with services.sessions.begin() as session:
            await ensure_chat(session, chat)
            await stop_chat(session, chat.id, utcnow())
        await query.edit_message_text(stopped_message(), reply_markup=undo_button())
    elif data == STOP_NO:
        await query.answer()
        await query.edit_message_text(_("Nothing changed: your alerts continue."))
    elif data == STOP_UNDO:
        await query.answer()
        async with services.sessions.begin() as session:
            resumed = await resume_chat(session, chat.id)
        await query.edit_message_text(
            _(
                "↩ Undone: this chat gets its alerts, event reminders and announcements again "
                "(messages cancelled by /stop are not sent)."
            )
            if resumed
            else _("Nothing to undo: this chat was not stopped.")
        )
    else:
        await answer_stale(query)


async def deep_link(update: Update, context: ContextTypes.DEFAULT_TYPE, payload: str) -> bool:
    """Handles ``/start topic-<slug>``; returns False when the payload is not a topic link."""
    if not payload.startswith(DEEP_LINK_PREFIX):
        return False
    if not await may_manage(update, context):
        await refuse(update)
        return True
    await subscribe_to(update, context, payload.removeprefix(DEEP_LINK_PREFIX))
    return True


async def membership_changed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Marks the chat active or inactive as the bot is added, unblocked, blocked or kicked."""
    change: ChatMemberUpdated | None = update.my_chat_member
    if change is None:
        return
    status = change.new_chat_member.status
    active = status in {
        ChatMember.MEMBER,
        ChatMember.ADMINISTRATOR,
        ChatMember.OWNER,
        ChatMember.RESTRICTED,
    }
    # The status only ("kicked", "left"): never who did it.
    reason = "" if active else str(status)
    async with get_services(context).sessions.begin() as session:
        await set_active(session, change.chat, active, reason)
    log.info("chat %s is now %s (%s)", change.chat.id, "active" if active else "inactive", status)


def handlers() -> list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]]:
    return [
        CommandHandler("subscribe", subscribe),
        CommandHandler("unsubscribe", unsubscribe),
        CommandHandler("mysubs", my_subscriptions),
        CommandHandler("stop", stop),
        CallbackQueryHandler(button, pattern=r"^(sub:|unsub:|stop:)"),
        ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER),
    ]
