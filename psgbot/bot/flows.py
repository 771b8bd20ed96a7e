"""Guided flows (ConversationHandler) as the admin features use them, their typed state, and
the confirm-then-act question the features share.

An admin has one flow open at a time: every admin flow is a part of one ConversationHandler
(:func:`one_at_a_time`), so another flow's command while one is open asks whether to abandon it,
and /cancel ends the one open flow with one answer.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
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

from psgbot.admins import Role
from psgbot.bot.access import admin_only, chat_to_manage
from psgbot.i18n import _
from psgbot.render import buttons as data
from psgbot.render.admin import (
    abandon_keyboard,
    abandon_question,
    abandoned_message,
    kept_message,
)
from psgbot.render.buttons import Action, Keyed

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


def conversation(
    *,
    name: str,
    cancel: Callback,
    entry_points: Sequence[Handler],
    states: dict[object, list[Handler]],
    fallbacks: Sequence[Handler] = (),
) -> ConversationHandler[ContextTypes.DEFAULT_TYPE]:
    """A flow tracked per chat and user, mixing typed messages and button presses, that
    /cancel leaves at any step (``cancel`` drops the flow's state).

    PTB warns that buttons are then not tracked per message; that is the intent here (a flow
    is one admin's, in one chat), so the warning is silenced for this construction only.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
        return ConversationHandler(
            entry_points=list(entry_points),
            states=states,
            fallbacks=[CommandHandler("cancel", cancel), *fallbacks],
            per_chat=True,
            per_user=True,
            name=name,
        )


@dataclass(frozen=True)
class FlowButton:
    """A button that stands for one of a flow's commands with its arguments (``/edit aims es``):
    pressed, it starts the flow as the command would, or asks to abandon the open one."""

    button: Keyed[str]
    command: str
    args: Callable[[str], list[str]]


@dataclass(frozen=True)
class Flow:
    """One admin flow, as a part of the one conversation: the commands (and buttons) that start
    it, its steps (state numbers unique among the flows), where it keeps its state, and what an
    admin in it is doing, in words ("writing a broadcast")."""

    doing: Callable[[], str]
    state: FlowState[Any]
    commands: Mapping[str, Callback]
    states: Mapping[object, list[Handler]] = field(default_factory=dict)
    buttons: Sequence[FlowButton] = ()


@dataclass
class PendingCommand:
    """A flow's command typed while another flow was open, awaiting Abandon or Keep editing."""

    command: str
    args: list[str]
    during: str  # the key of the flow open when it was typed


PENDING = FlowState("pending", PendingCommand)


class _OneAtATime:
    """The conversation's own answers: /cancel, another flow's command, Abandon, Keep."""

    def __init__(self, flows: Sequence[Flow]) -> None:
        self.flows = list(flows)
        self.starts = {name: start for flow in flows for name, start in flow.commands.items()}
        self.buttons = [button for flow in flows for button in flow.buttons]

    def open_flow(self, context: ContextTypes.DEFAULT_TYPE) -> Flow | None:
        return next((flow for flow in self.flows if flow.state.get(context) is not None), None)

    def drop_all(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        for flow in self.flows:
            flow.state.drop(context)
        PENDING.drop(context)

    async def cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        """/cancel inside a flow: forgets its state and says so, once."""
        self.drop_all(context)
        if update.effective_chat:
            await update.effective_chat.send_message(_("Cancelled."))
        return ConversationHandler.END

    async def ask(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
        """A flow's command while a flow is open: abandon the open one, or keep editing?"""
        message, current = update.effective_message, self.open_flow(context)
        if message is None or not message.text:
            return None
        command = message.text.split()[0].lstrip("/").split("@")[0].lower()
        if current is None or command not in self.starts:
            # The conversation outlived its flow's state: nothing to abandon.
            return await self.starts[command](update, context) if command in self.starts else None
        PENDING.start(context, PendingCommand(command, list(context.args or []), current.state.key))
        await message.chat.send_message(
            abandon_question(current.doing(), command), reply_markup=abandon_keyboard(command)
        )
        return None

    async def pressed(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
        """A flow's button: its command with its arguments, started at once, or (while another
        flow is open) asked about as that command typed would be."""
        query, current = update.callback_query, self.open_flow(context)
        shown = next((b for b in self.buttons if query and b.button.matches(query.data)), None)
        if query is None or shown is None or query.message is None:
            return None
        await query.answer()
        args = shown.args(shown.button.of(query))
        if current is not None:
            PENDING.start(context, PendingCommand(shown.command, args, current.state.key))
            await query.message.chat.send_message(
                abandon_question(current.doing(), shown.command),
                reply_markup=abandon_keyboard(shown.command),
            )
            return None
        context.args = args
        return await self.starts[shown.command](update, context)

    async def abandon(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
        """Abandon and start: the open flow's state is dropped and the command typed starts."""
        query, pending, current = (
            update.callback_query,
            PENDING.get(context),
            self.open_flow(context),
        )
        if query is None:
            return None
        await query.answer()
        if (
            pending is None
            or current is None
            or pending.during != current.state.key
            or pending.command not in self.starts
        ):
            await query.edit_message_text(_("This question is no longer open."))
            return None
        self.drop_all(context)
        doing = current.doing()
        await query.edit_message_text(abandoned_message(doing))
        context.args = pending.args
        return await self.starts[pending.command](update, context)

    async def keep(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Keep editing: nothing changes; the open flow waits where it was."""
        query, current = update.callback_query, self.open_flow(context)
        PENDING.drop(context)
        if query is None:
            return
        await query.answer()
        await query.edit_message_text(kept_message(current.doing() if current else ""))


def one_at_a_time(flows: Sequence[Flow]) -> ConversationHandler[ContextTypes.DEFAULT_TYPE]:
    """Every admin flow as one conversation per chat and user: one flow open at a time.

    The steps are the flows' own; the fallbacks answer in any step: /cancel, the commands that
    start a flow (which ask whether to abandon the open one), and that question's buttons.
    """
    guard = _OneAtATime(flows)
    states: dict[object, list[Handler]] = {}
    for flow in flows:
        clash = set(states) & set(flow.states)
        assert not clash, f"two flows use the step numbers {clash}"
        states.update(flow.states)
    buttons = [
        CallbackQueryHandler(admin_only(Role.EDITOR)(guard.pressed), pattern=each.button)
        for each in guard.buttons
    ]
    return conversation(
        name="admin_flow",
        cancel=guard.cancel,
        entry_points=[
            *(CommandHandler(name, start) for name, start in guard.starts.items()),
            *buttons,
        ],
        states=states,
        fallbacks=[
            CommandHandler(list(guard.starts), admin_only(Role.EDITOR)(guard.ask)),
            *buttons,
            CallbackQueryHandler(admin_only(Role.EDITOR)(guard.abandon), pattern=data.FLOW_ABANDON),
            CallbackQueryHandler(admin_only(Role.EDITOR)(guard.keep), pattern=data.FLOW_KEEP),
        ],
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
