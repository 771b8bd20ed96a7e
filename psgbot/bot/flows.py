"""Guided flows (ConversationHandler) as the admin features use them, their typed state, and
the confirm-then-act question the features share."""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
)
from telegram.warnings import PTBUserWarning

from psgbot.bot.access import chat_to_manage
from psgbot.i18n import _
from psgbot.render.buttons import Action

# What a feature module's handlers() returns. The return type is object: a ConversationHandler's
# callbacks return the next state, the others None, and the application ignores both.
Handler = BaseHandler[Update, ContextTypes.DEFAULT_TYPE, object]
Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, object]]
State = TypeVar("State")


@dataclass(frozen=True)
class FlowState(Generic[State]):
    """Where one flow keeps its state: one typed value under one key of user_data.

    A flow is one admin's, in one chat (the conversation is tracked per chat and user); user_data
    is that admin's, so two admins never share a draft.
    """

    key: str
    kind: type[State]

    def start(self, context: ContextTypes.DEFAULT_TYPE, value: State) -> State:
        assert context.user_data is not None
        context.user_data[self.key] = value
        return value

    def get(self, context: ContextTypes.DEFAULT_TYPE) -> State | None:
        value = (context.user_data or {}).get(self.key)
        return value if isinstance(value, self.kind) else None

    def drop(self, context: ContextTypes.DEFAULT_TYPE) -> State | None:
        value = self.get(context)
        if context.user_data is not None:
            context.user_data.pop(self.key, None)
        return value

    async def cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        """/cancel inside the flow: forgets its state and says so."""
        self.drop(context)
        if update.effective_chat:
            await update.effective_chat.send_message(_("Cancelled."))
        return ConversationHandler.END


def conversation(
    *,
    state: FlowState[State],
    entry_points: Sequence[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, object]],
    states: dict[object, list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, object]]],
) -> ConversationHandler[ContextTypes.DEFAULT_TYPE]:
    """A flow tracked per chat and user, mixing typed messages and button presses, that
    /cancel leaves at any step (dropping the flow's state).

    PTB warns that buttons are then not tracked per message; that is the intent here (a flow
    is one admin's, in one chat), so the warning is silenced for this construction only.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
        return ConversationHandler(
            entry_points=list(entry_points),
            states=states,
            fallbacks=[CommandHandler("cancel", state.cancel)],
            per_chat=True,
            per_user=True,
            name=state.key,
        )


def choice(yes: InlineKeyboardButton, no: InlineKeyboardButton) -> InlineKeyboardMarkup:
    """A two-button question: yes, then no, side by side."""
    return InlineKeyboardMarkup([[yes, no]])


@dataclass(frozen=True)
class Confirmation:
    """The answers to a yes/no question whose yes acts on the chat: a handler for each button.

    ``act`` does the work and returns the text that replaces the question (with an optional
    keyboard); ``declined`` is the text for no. Both buttons are for whoever may manage the chat
    (anyone in a private chat, a group's administrators), checked on every press as old
    messages and forged data can press them; ``refusal`` is what anyone else hears.
    """

    yes: Action
    no: Action
    act: Callable[
        [Chat, ContextTypes.DEFAULT_TYPE], Awaitable[tuple[str, InlineKeyboardMarkup | None]]
    ]
    declined: Callable[[], str]
    refusal: Callable[[], str]

    async def _chat(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> Chat | None:
        """The chat, once the press is answered; None when refused."""
        if update.callback_query is None:
            return None
        if await chat_to_manage(update, context, self.refusal(), answer=True) is None:
            return None
        return update.effective_chat

    async def accept(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if (chat := await self._chat(update, context)) and update.callback_query:
            text, markup = await self.act(chat, context)
            await update.callback_query.edit_message_text(text, reply_markup=markup)

    async def decline(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if await self._chat(update, context) and update.callback_query:
            await update.callback_query.edit_message_text(self.declined())

    def handlers(self) -> list[Handler]:
        return [
            CallbackQueryHandler(self.accept, pattern=self.yes),
            CallbackQueryHandler(self.decline, pattern=self.no),
        ]
