"""/channel's list of the connected channels, for the bot's owners, with a button per channel
for the language its posts are in (nobody can send /language in a channel: an owner chooses
for it here). The list is drawn again after each choice."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackQueryHandler, ContextTypes

from psgbot.admins import AuditAction, Role, audit
from psgbot.bot.access import admin_only
from psgbot.bot.flows import Handler
from psgbot.channels import ConnectedChannel, connected_channels, set_channel_language
from psgbot.render import buttons as data
from psgbot.render.channels import (
    channel_gone_note,
    channel_name,
    channels_keyboard,
    channels_message,
    language_set_note,
)
from psgbot.services import get_services

log = logging.getLogger(__name__)


async def _named_channels(context: ContextTypes.DEFAULT_TYPE) -> list[tuple[str, ConnectedChannel]]:
    """The connected channels, named as Telegram names them now (names are never stored)."""
    async with get_services(context).reads() as session:
        channels = await connected_channels(session)
    named = []
    for channel in channels:
        try:
            found = await context.bot.get_chat(channel.id)
            name = channel_name(found.id, found.username, found.title)
        except TelegramError as exc:
            log.info("no name for channel %s: %s", channel.id, exc.message)
            name = str(channel.id)
        named.append((name, channel))
    return named


def _listing(
    context: ContextTypes.DEFAULT_TYPE, named: list[tuple[str, ConnectedChannel]]
) -> tuple[str, InlineKeyboardMarkup | None]:
    """/channel's list, with a language button per channel."""
    text = channels_message(named, get_services(context).taxonomy)
    return text, channels_keyboard(named) if named else None


async def send_list(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/channel alone: the list."""
    chat = update.effective_chat
    assert chat is not None
    text, keyboard = _listing(context, await _named_channels(context))
    await chat.send_message(text, reply_markup=keyboard)


@admin_only(Role.OWNER)
async def language_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A channel's language button under /channel's list: its posts are in that language from
    now on, and the list is drawn again."""
    query, user = update.callback_query, update.effective_user
    if query is None:
        return
    channel_id, language = data.CHANNEL_LANGUAGE.of(query)
    async with get_services(context).sessions.begin() as session:
        changed = await set_channel_language(session, channel_id, language)
        if changed:
            what = f"{channel_id}: {language.value}"
            await audit(session, user.id if user else None, AuditAction.CHANNEL_LANGUAGE, what)
    named = await _named_channels(context)
    if changed:
        name = next((name for name, each in named if each.id == channel_id), str(channel_id))
        await query.answer(language_set_note(name, language))
    else:
        await query.answer(channel_gone_note(), show_alert=True)
    text, keyboard = _listing(context, named)
    try:
        await query.edit_message_text(text, reply_markup=keyboard)
    except BadRequest as exc:
        # The list already said so (the same button pressed twice): nothing to redraw.
        if "message is not modified" not in exc.message.lower():
            raise


def handlers() -> list[Handler]:
    return [CallbackQueryHandler(language_chosen, pattern=data.CHANNEL_LANGUAGE)]
