"""Subscriptions by topic: /subscribe, /unsubscribe, /mysubs, /stop, the topic keyboard, deep
links, and noticing when the bot is blocked, kicked or added.

In groups only the group's administrators may change what the group receives; that is checked
with getChatMember on every change, buttons included (anyone in a group can press them).

In a supergroup with topics (a forum), ``/subscribe <topic>`` typed inside a thread sends that
topic's alerts to the thread; typed in the General topic, to the General topic. The reply goes
to the thread it was typed in; so does ``/subscribe``'s keyboard, whose topics go to its thread.
"""

from __future__ import annotations

import logging

from telegram import ChatMember, ChatMemberUpdated, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import ChatMemberHandler, CommandHandler, ContextTypes

from psgbot.bot import topic_keyboard
from psgbot.bot.access import chat_to_manage, may_manage
from psgbot.bot.channels import can_post
from psgbot.bot.commands import SPANISH_NAMES
from psgbot.bot.flows import Handler
from psgbot.bot.topic_keyboard import (
    forum_thread,
    refusal,
    refuse,
    see_latest_button,
    send_keyboard,
    stop_now,
)
from psgbot.chats import (
    ensure_chat,
    follow,
    follow_in_thread,
    followed_threads,
    followed_topics,
    set_active,
    unfollow,
)
from psgbot.db.models import ALL_NEWS
from psgbot.i18n import _
from psgbot.privacy import resume_chat
from psgbot.render.menu import group_welcome_message
from psgbot.render.news import unknown_topic_message
from psgbot.render.subscriptions import (
    already_subscribed_message,
    my_subscriptions_message,
    not_subscribed_message,
    nothing_to_unsubscribe_message,
    subscribed_message,
    unsubscribe_intro,
    unsubscribe_keyboard,
    unsubscribed_message,
)
from psgbot.services import get_services

log = logging.getLogger(__name__)


def typed(update: Update, command: str) -> str:
    """The name the user typed ``command`` by (its Spanish name: /suscribir, /baja…), for the
    examples in a reply; ``command`` itself otherwise (a deep link, a button)."""
    text = update.effective_message.text if update.effective_message else None
    name = text.split()[0][1:].split("@")[0].lower() if text and text.startswith("/") else ""
    return name if name == SPANISH_NAMES.get(command) else command


DEEP_LINK_PREFIX = "topic-"
# What stands for every topic, in English and Spanish: /subscribe all, /suscribir todo.
ALL_WORDS = {"all", "todo", "todos", "todas"}
ALL_NEWS_WORDS = ALL_WORDS | {"everything", "all news", "todas las noticias"}
# The statuses in which the bot is in a chat and may write to it.
JOINED = {ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER, ChatMember.RESTRICTED}


async def _reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Answers in the chat, in the forum thread the command was typed in."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None
    if message is not None and message.is_topic_message:
        await message.reply_text(text, reply_markup=markup, do_quote=False)
    else:
        await chat.send_message(text, reply_markup=markup)


async def subscribe_to(update: Update, context: ContextTypes.DEFAULT_TYPE, name: str) -> None:
    """Follows one topic (or all news) by any name the user typed, and says so; in a forum,
    in the thread it was typed in."""
    chat = update.effective_chat
    assert chat is not None
    services = get_services(context)
    forum, thread = forum_thread(update)
    if name.strip().lower() in ALL_NEWS_WORDS:
        slug, shown = ALL_NEWS, _("all news")
    else:
        topic = services.taxonomy.resolve(name)
        if topic is None:
            await _reply(
                update, unknown_topic_message(name, services.taxonomy, typed(update, "subscribe"))
            )
            return
        slug, shown = topic.slug, topic.name
    async with services.sessions.begin() as session:
        await ensure_chat(session, chat)
        threads = await followed_threads(session, chat.id)
        already = slug in threads and (not forum or threads[slug] == thread)
        if forum:
            await follow_in_thread(session, chat.id, slug, thread)
        else:
            await follow(session, chat.id, [slug])
        resumed = await resume_chat(session, chat.id)
    await _reply(
        update,
        already_subscribed_message(shown)
        if already and not resumed
        else subscribed_message(shown, resumed),
        see_latest_button(None if slug == ALL_NEWS else slug),
    )


async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """With a topic, subscribes to it; without, shows the topic keyboard."""
    if await chat_to_manage(update, context, refusal()) is None:
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
    if chat is None or await chat_to_manage(update, context, refusal()) is None:
        return
    services = get_services(context)
    async with services.reads() as session:
        followed = await followed_topics(session, chat.id)
    if not context.args:
        if followed:
            await chat.send_message(
                unsubscribe_intro(), reply_markup=unsubscribe_keyboard(followed, services.taxonomy)
            )
        else:
            await chat.send_message(nothing_to_unsubscribe_message())
        return
    name = " ".join(context.args)
    if name.strip().lower() in ALL_WORDS:
        if not followed:
            await chat.send_message(nothing_to_unsubscribe_message())
            return
        async with services.sessions.begin() as session:
            await unfollow(session, chat.id, None)
        await chat.send_message(
            _(
                "All topic alerts stopped. Event reminders and announcements from the PSG "
                "continue: /stop ends everything. /subscribe starts alerts again."
            )
        )
        return
    topic = services.taxonomy.resolve(name)
    if topic is None:
        await chat.send_message(
            unknown_topic_message(name, services.taxonomy, typed(update, "unsubscribe"))
        )
        return
    if topic.slug not in followed:
        await chat.send_message(not_subscribed_message(topic.name, followed, services.taxonomy))
        return
    async with services.sessions.begin() as session:
        await unfollow(session, chat.id, [topic.slug])
        remaining = await followed_topics(session, chat.id)
    await chat.send_message(unsubscribed_message(topic.name, remaining, services.taxonomy))


async def show_keyboard(update: Update, context: ContextTypes.DEFAULT_TYPE, intro: str) -> None:
    """The topic keyboard in reply to a command (the chat is recorded first); in a forum, in
    the thread the command was typed in, whose thread the topics chosen on it then go to."""
    chat = update.effective_chat
    assert chat is not None
    async with get_services(context).sessions.begin() as session:
        await ensure_chat(session, chat)
    await send_keyboard(chat.id, context, intro, thread_id=forum_thread(update)[1])


async def my_subscriptions(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Lists what this chat follows."""
    chat = update.effective_chat
    if chat is None:
        return
    services = get_services(context)
    async with services.reads() as session:
        followed = await followed_topics(session, chat.id)
    await chat.send_message(my_subscriptions_message(followed, services.taxonomy))


async def stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stops everything sent to the chat at once (alerts, reminders, announcements), with Undo."""
    chat = update.effective_chat
    if chat is None or await chat_to_manage(update, context, refusal()) is None:
        return
    text, undo = await stop_now(chat, context)
    await chat.send_message(text, reply_markup=undo)


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
    active = status in JOINED
    if change.chat.type == ChatType.CHANNEL:
        # In a channel the bot can only post as an administrator allowed to: anything less
        # (demoted, removed) and nothing more can be posted there.
        active = can_post(change.new_chat_member)
    # The status only ("kicked", "left"): never who did it.
    reason = "" if active else str(status)
    async with get_services(context).sessions.begin() as session:
        await set_active(session, change.chat, active, reason)
    log.info("chat %s is now %s (%s)", change.chat.id, "active" if active else "inactive", status)
    added = status in {ChatMember.MEMBER, ChatMember.ADMINISTRATOR}
    was_in = change.old_chat_member.status in JOINED
    if added and not was_in and change.chat.type in {ChatType.GROUP, ChatType.SUPERGROUP}:
        # Added to a group (not promoted, not a private chat unblocking: /start greets there).
        await context.bot.send_message(change.chat.id, group_welcome_message())


def handlers() -> list[Handler]:
    return [
        CommandHandler("subscribe", subscribe),
        CommandHandler("unsubscribe", unsubscribe),
        CommandHandler("mysubs", my_subscriptions),
        CommandHandler("stop", stop),
        *topic_keyboard.handlers(),
        ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER),
    ]
