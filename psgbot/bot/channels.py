"""Channels, for the bot's owners: ``/channel @name`` (or a post forwarded from the channel)
connects one once the bot may post there, with the channel's topic keyboard; ``/channel`` lists
them, with a button per channel for the language of its posts; ``/channel remove @name``
disconnects one, after asking.

The choice is kept in the owner's draft until Done, when the channel is stored as a chat of
type "channel" with its subscriptions; from then on the outbox posts its alerts like any
chat's. Every command and button checks the owner's role on each use.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from dataclasses import dataclass

from telegram import ChatMember, ChatMemberAdministrator, Message, MessageOriginChannel, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from psgbot.admins import AuditAction, Role, audit
from psgbot.bot import channel_list
from psgbot.bot.access import admin_only
from psgbot.bot.flows import FlowState, Handler
from psgbot.channels import (
    connect_channel,
    connected_channels,
    current_choice,
    disconnect_channel,
)
from psgbot.db.models import ALL_NEWS
from psgbot.i18n import current_language
from psgbot.render import buttons as data
from psgbot.render.channels import (
    cannot_post_message,
    channel_keyboard,
    channel_name,
    channel_not_found_message,
    channel_usage,
    choice_closed_note,
    choose_topics_message,
    connected_message,
    kept_message,
    not_a_channel_message,
    not_connected_message,
    nothing_chosen_note,
    remove_keyboard,
    remove_question,
    removed_message,
)
from psgbot.services import get_services

log = logging.getLogger(__name__)


@dataclass
class ChannelDraft:
    """A channel being connected: what the owner has chosen so far."""

    chat_id: int
    name: str
    topics: set[str]
    announcements: bool


DRAFT = FlowState("channel_draft", ChannelDraft)


def can_post(member: ChatMember) -> bool:
    """Whether a channel member (the bot) may post there: an administrator with that right."""
    return isinstance(member, ChatMemberAdministrator) and bool(member.can_post_messages)


CHANNEL_ID = re.compile(r"-?[0-9]{1,19}")


def _target(text: str) -> str | int | None:
    """What the owner typed as a channel: @name, or its numeric id (-100…)."""
    if text.startswith("@") and len(text) > 1:
        return text
    if CHANNEL_ID.fullmatch(text):
        return int(text)
    return None


@admin_only(Role.OWNER)
async def channel_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/channel: lists; /channel @name: connects; /channel remove @name: asks, then removes."""
    chat = update.effective_chat
    if chat is None:
        return
    args = context.args or []
    if not args:
        await channel_list.send_list(update, context)
        return
    remove = args[0].lower() == "remove"
    target = _target(args[1]) if remove and len(args) == 2 else None
    if not remove and len(args) == 1:
        target = _target(args[0])
    if target is None:
        await chat.send_message(channel_usage())
        return
    if remove:
        await _ask_remove(update, context, target)
        return
    try:
        found = await context.bot.get_chat(target)
    except TelegramError as exc:
        log.info("no channel %s: %s", target, exc.message)
        await chat.send_message(channel_not_found_message(str(target)))
        return
    name = channel_name(found.id, found.username, found.title)
    if found.type != ChatType.CHANNEL:
        await chat.send_message(not_a_channel_message(name))
        return
    await _offer_topics(update, context, found.id, name)


@admin_only(Role.OWNER)
async def forwarded_post(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A post forwarded from a channel: connects that channel, as /channel @name does."""
    message = update.effective_message
    if message is None or not isinstance(message.forward_origin, MessageOriginChannel):
        return
    origin = message.forward_origin.chat
    name = channel_name(origin.id, origin.username, origin.title)
    await _offer_topics(update, context, origin.id, name)


async def _offer_topics(
    update: Update, context: ContextTypes.DEFAULT_TYPE, channel_id: int, name: str
) -> None:
    """Checks the bot may post in the channel, then shows its topic keyboard."""
    chat = update.effective_chat
    assert chat is not None
    try:
        member = await context.bot.get_chat_member(channel_id, context.bot.id)
        allowed = can_post(member)
    except TelegramError as exc:  # not a member: Telegram will not say more
        log.info("cannot check channel %s: %s", channel_id, exc.message)
        allowed = False
    if not allowed:
        await chat.send_message(cannot_post_message(name))
        return
    services = get_services(context)
    async with services.reads() as session:
        topics, announcements = await current_choice(session, channel_id)
    draft = DRAFT.start(context, ChannelDraft(channel_id, name, topics, announcements))
    await chat.send_message(
        choose_topics_message(name),
        reply_markup=channel_keyboard(services.taxonomy, draft.topics, draft.announcements),
    )


async def _redraw(update: Update, context: ContextTypes.DEFAULT_TYPE, draft: ChannelDraft) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    taxonomy = get_services(context).taxonomy
    await query.edit_message_reply_markup(
        channel_keyboard(taxonomy, draft.topics, draft.announcements)
    )


async def _draft(update: Update, context: ContextTypes.DEFAULT_TYPE) -> ChannelDraft | None:
    """The owner's open choice, or None (the press is answered: it is no longer open)."""
    draft = DRAFT.get(context)
    if draft is None and update.callback_query is not None:
        await update.callback_query.answer(choice_closed_note(), show_alert=True)
    return draft


def _toggled(chosen: set[str], slug: str) -> set[str]:
    return chosen - {slug} if slug in chosen else chosen | {slug}


@admin_only(Role.OWNER)
async def toggle_topic(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A topic's toggle on the channel's keyboard."""
    query = update.callback_query
    if query is None or (draft := await _draft(update, context)) is None:
        return
    slug = data.CHANNEL_TOGGLE_TOPIC.of(query)
    if get_services(context).taxonomy.get(slug) is None:
        await query.answer(choice_closed_note(), show_alert=True)
        return
    draft.topics = _toggled(draft.topics, slug)
    await _redraw(update, context, draft)


@admin_only(Role.OWNER)
async def toggle_all_news(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "All news" on the channel's keyboard."""
    if (draft := await _draft(update, context)) is not None:
        draft.topics = _toggled(draft.topics, ALL_NEWS)
        await _redraw(update, context, draft)


@admin_only(Role.OWNER)
async def toggle_announcements(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Announcements from the PSG" on the channel's keyboard."""
    if (draft := await _draft(update, context)) is not None:
        draft.announcements = not draft.announcements
        await _redraw(update, context, draft)


@admin_only(Role.OWNER)
async def done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Done: stores the channel with what was chosen (at least one topic, or all news)."""
    query, user = update.callback_query, update.effective_user
    if query is None or (draft := await _draft(update, context)) is None:
        return
    if not draft.topics:
        await query.answer(nothing_chosen_note(), show_alert=True)
        return
    services = get_services(context)
    async with services.sessions.begin() as session:
        # The owner's language (their private chat's, this update's) unless the channel had one.
        language = await connect_channel(
            session, draft.chat_id, draft.topics, draft.announcements, current_language()
        )
        topics = " ".join(sorted(draft.topics))
        await audit(
            session,
            user.id if user else None,
            AuditAction.CHANNEL_CONNECTED,
            f"{draft.chat_id}: {topics}",
        )
    DRAFT.drop(context)
    await query.answer()
    await query.edit_message_text(
        connected_message(draft.name, draft.topics, services.taxonomy, language)
    )


async def _ask_remove(
    update: Update, context: ContextTypes.DEFAULT_TYPE, target: str | int
) -> None:
    chat = update.effective_chat
    assert chat is not None
    channel_id, name = (target, str(target)) if isinstance(target, int) else (None, target)
    if channel_id is None:
        try:
            found = await context.bot.get_chat(target)
        except TelegramError as exc:
            log.info("no channel %s: %s", target, exc.message)
            await chat.send_message(channel_not_found_message(name))
            return
        channel_id, name = found.id, channel_name(found.id, found.username, found.title)
    async with get_services(context).reads() as session:
        connected = {channel.id for channel in await connected_channels(session)}
    if channel_id not in connected:
        await chat.send_message(not_connected_message(name))
        return
    await chat.send_message(remove_question(name), reply_markup=remove_keyboard(channel_id))


@admin_only(Role.OWNER)
async def remove_confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Yes, disconnect": forgets the channel (every row about it)."""
    query, user = update.callback_query, update.effective_user
    if query is None:
        return
    channel_id = data.CHANNEL_REMOVE.of(query)
    async with get_services(context).sessions.begin() as session:
        removed = await disconnect_channel(session, channel_id)
        if removed:
            await audit(
                session, user.id if user else None, AuditAction.CHANNEL_REMOVED, str(channel_id)
            )
    await query.answer()
    await query.edit_message_text(
        removed_message() if removed else not_connected_message(str(channel_id))
    )


@admin_only(Role.OWNER)
async def remove_declined(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "No, keep it"."""
    if update.callback_query is not None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text(kept_message())


class ChannelPost(filters.MessageFilter):
    """A message forwarded from a channel."""

    def filter(self, message: Message) -> bool:
        return isinstance(message.forward_origin, MessageOriginChannel)


def handlers(owners: Collection[int] = ()) -> list[Handler]:
    """The owners' ids pick the forwards taken as connections: anyone else's forwarded post
    goes on to the handlers after these, as any message would."""
    forwards = filters.ChatType.PRIVATE & filters.User(user_id=list(owners)) & ChannelPost()
    return [
        CommandHandler("channel", channel_command),
        MessageHandler(forwards, forwarded_post),
        CallbackQueryHandler(toggle_topic, pattern=data.CHANNEL_TOGGLE_TOPIC),
        CallbackQueryHandler(toggle_all_news, pattern=data.CHANNEL_ALL_NEWS),
        CallbackQueryHandler(toggle_announcements, pattern=data.CHANNEL_ANNOUNCEMENTS),
        CallbackQueryHandler(done, pattern=data.CHANNEL_DONE),
        CallbackQueryHandler(remove_confirmed, pattern=data.CHANNEL_REMOVE),
        CallbackQueryHandler(remove_declined, pattern=data.CHANNEL_KEEP),
        *channel_list.handlers(),
    ]
