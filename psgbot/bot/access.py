"""The admin check, applied to every admin command and button on every use.

Buttons are checked as carefully as commands: callback data can be forged or replayed from an
old message, so holding a keyboard proves nothing.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from telegram import Update
from telegram.ext import ContextTypes

from psgbot.admins import Role, allows, role_of
from psgbot.i18n import _
from psgbot.services import get_services

log = logging.getLogger(__name__)

Result = TypeVar("Result")
Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, Result]]
REQUIRED_ROLE = "__psgbot_required_role__"


def refusal(held: Role | None) -> str:
    """What a refused user is told: non-admins and editors hear different things."""
    if held is None:
        return _("This command is for PSG administrators.")
    return _("Only the bot's owners can do this.")


def admin_only(
    required: Role = Role.EDITOR,
) -> Callable[[Callback[Result]], Callback[Result | None]]:
    """Wraps a handler so that it runs only for admins holding ``required`` (or more)."""

    def wrap(callback: Callback[Result]) -> Callback[Result | None]:
        @functools.wraps(callback)
        async def checked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Result | None:
            user = update.effective_user
            held = None
            if user is not None:
                async with get_services(context).sessions() as session:
                    held = await role_of(session, user.id)
            if allows(held, required):
                return await callback(update, context)
            log.warning(
                "refused %s to user %s (role %s)",
                callback.__name__,
                user.id if user else None,
                held,
            )
            if update.callback_query:
                await update.callback_query.answer(refusal(held), show_alert=True)
            elif update.effective_message:
                await update.effective_message.reply_text(refusal(held))
            return None

        setattr(checked, REQUIRED_ROLE, required)
        return checked

    return wrap
