"""Who may do what: the PSG admin check on every admin command and button, on every use, and
the group-admin check for changing a group's settings.

Buttons are checked as carefully as commands: callback data can be forged or replayed from an
old message, so holding a keyboard proves nothing.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from telegram import ChatMember, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from psgbot.admins import Role, allows, role_of
from psgbot.i18n import _
from psgbot.services import get_services

log = logging.getLogger(__name__)
MANAGING_STATUSES = {ChatMember.OWNER, ChatMember.ADMINISTRATOR}

Result = TypeVar("Result")
Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, Result]]
REQUIRED_ROLE = "__psgbot_required_role__"


async def may_manage(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """True in private chats; in groups, only for the group's administrators."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    message = update.effective_message
    if (
        message is not None
        and message.sender_chat is not None
        and message.sender_chat.id == chat.id
    ):
        return True  # an anonymous administrator posting as the group
    if user is None:
        return False
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in MANAGING_STATUSES


def refusal(held: Role | None) -> str:
    """What a refused user is told: non-admins and editors hear different things."""
    if held is None:
        return _("This command is for PSG administrators.")
    return _("Only the bot's owners can do this.")


async def tell(update: Update, text: str) -> None:
    """A refusal: an alert on the button pressed, or a reply to the message."""
    if update.callback_query:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message:
        await update.effective_message.reply_text(text)


async def chat_to_manage(
    update: Update, context: ContextTypes.DEFAULT_TYPE, refusal: str, *, answer: bool = False
) -> int | None:
    """The chat a button or command changes, once the user may manage it (with ``answer``, the
    button press is answered); else None, and the user is told ``refusal``."""
    chat = update.effective_chat
    if chat is None:
        return None
    if not await may_manage(update, context):
        await tell(update, refusal)
        return None
    if answer and update.callback_query:
        await update.callback_query.answer()
    return chat.id


def admin_only(
    required: Role = Role.EDITOR,
) -> Callable[[Callback[Result]], Callback[Result | None]]:
    """Wraps a handler so that it runs only for admins holding ``required`` (or more)."""

    def wrap(callback: Callback[Result]) -> Callback[Result | None]:
        @functools.wraps(callback)
        async def checked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Result | None:
            user, chat = update.effective_user, update.effective_chat
            if chat is not None and chat.type != ChatType.PRIVATE:
                # Admin views show admins' ids and feed details: never in front of a group.
                await tell(update, _("Admin commands work only in a private chat with me."))
                return None
            held = None
            if user is not None:
                async with get_services(context).reads() as session:
                    held = await role_of(session, user.id)
            if allows(held, required):
                return await callback(update, context)
            log.warning(
                "refused %s to user %s (role %s)",
                callback.__name__,
                user.id if user else None,
                held,
            )
            await tell(update, refusal(held))
            return None

        setattr(checked, REQUIRED_ROLE, required)
        return checked

    return wrap
