"""What the bot says to anything it does not understand, and to its own failures.

Registered last: a handler here only sees updates no feature claimed.
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Update
from telegram.ext import (
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from psgbot.bot.flows import Handler
from psgbot.i18n import _
from psgbot.render.menu import unknown_command_message

log = logging.getLogger(__name__)


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Names the commands that exist instead of staying silent; a command addressed to another
    bot (``/weather@OtherBot``, in a group or forwarded into a private chat) is not ours to
    answer."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    command, _at, addressee = message.text.split()[0].partition("@")
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        return
    await message.reply_text(unknown_command_message(command))


async def answer_stale(query: CallbackQuery) -> None:
    """The answer to a button whose data no longer means anything (old keyboard, forged data)."""
    await query.answer(_("This button is no longer active. Send /start for a fresh menu."))


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers presses of buttons no feature knows: old keyboards, forged or foreign data, and
    buttons of a flow that has ended. Every press gets an answer, or Telegram shows a spinner."""
    if update.callback_query:
        await answer_stale(update.callback_query)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Logs the failure for developers and tells the user, without internal details; an
    inline query gets an empty answer (unanswered, the user's client keeps waiting)."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.inline_query:
        try:
            await update.inline_query.answer([], cache_time=0, is_personal=True)
        except Exception:  # best effort, as the apology below
            log.warning("could not answer the inline query after the error", exc_info=True)
        return
    if isinstance(update, Update) and update.callback_query:
        try:  # a press left unanswered keeps its button spinning
            await update.callback_query.answer()
        except Exception:  # already answered, or too late: the apology below still goes
            log.debug("the failed press could not be answered", exc_info=True)
    if isinstance(update, Update) and update.effective_chat:
        try:
            await update.effective_chat.send_message(
                _("Sorry, something went wrong on our side. Please try again in a moment.")
            )
        except Exception:  # the apology is best effort; the error is already logged
            log.warning("could not tell the user about the error", exc_info=True)


class PressWithoutData(CallbackQueryHandler[ContextTypes.DEFAULT_TYPE, object]):
    """A press that carries no callback data. python-telegram-bot hands such a press to the
    first button handler whatever its pattern, so this one goes before them all."""

    def check_update(self, update: object) -> bool:
        return (
            isinstance(update, Update)
            and update.callback_query is not None
            and not update.callback_query.data
            and not update.callback_query.game_short_name
        )


def early_handlers() -> list[Handler]:
    """Before every feature's handlers."""
    return [PressWithoutData(stale_button)]


def handlers() -> list[Handler]:
    return [
        MessageHandler(filters.COMMAND, unknown_command),
        CallbackQueryHandler(stale_button),
    ]
