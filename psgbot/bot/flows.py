"""Guided flows (ConversationHandler) as the admin features use them."""

from __future__ import annotations

import warnings
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import ContextTypes, ConversationHandler
from telegram.warnings import PTBUserWarning


def conversation(**kwargs: Any) -> ConversationHandler[ContextTypes.DEFAULT_TYPE]:
    """A flow tracked per chat and user, mixing typed messages and button presses.

    PTB warns that buttons are then not tracked per message; that is the intent here (a flow
    is one admin's, in one chat), so the warning is silenced for this construction only.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
        return ConversationHandler(per_chat=True, per_user=True, **kwargs)


def choice(yes: tuple[str, str], no: tuple[str, str]) -> InlineKeyboardMarkup:
    """A two-button question: (label, callback data) for yes, then for no."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(yes[0], callback_data=yes[1]),
                InlineKeyboardButton(no[0], callback_data=no[1]),
            ]
        ]
    )
