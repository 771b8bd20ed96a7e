"""Guided flows (ConversationHandler) as the admin features use them."""

from __future__ import annotations

import warnings
from typing import Any

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
