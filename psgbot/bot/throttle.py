"""Per-user rate limiting of what users send: one person cannot flood the bot.

Past ``LIMIT`` messages in ``WINDOW`` seconds, the user is told once to slow down, then ignored
until the window has room again. A button press counts as ``TAP_WEIGHT`` of a message: tapping
through a keyboard (toggling topics, stepping through a flow) is quick by design and costs the
bot little. It runs before anything else, the chat's language included, so that an update it
drops costs no database read. PSG admins are never held back: their work (editing an event, a
broadcast) comes in quick steps, and their role is checked (one read) only when they would be.
Alerts and broadcasts are not affected (they are not replies to users). Inline queries count as
taps, and one over the limit is answered with no results.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, ContextTypes, TypeHandler

from psgbot.admins import role_of
from psgbot.bot.language import apply_language
from psgbot.i18n import _
from psgbot.services import get_services

LIMIT = 20
WINDOW = 60.0
TAP_WEIGHT = 0.25
TRACKED_USERS = 50_000
THROTTLE_KEY = "throttle"


@dataclass
class UserWindow:
    # (when, weight) of each admitted message or press within the window, and their sum.
    times: deque[tuple[float, float]] = field(default_factory=deque)
    used: float = 0.0
    warned: bool = False
    # Over the limit, whether the user is a PSG admin: read once per flood, so that a flooding
    # supporter costs the database one read, not one per message.
    admin: bool | None = None


@dataclass
class Throttle:
    limit: int = LIMIT
    window: float = WINDOW
    clock: Callable[[], float] = time.monotonic
    users: OrderedDict[int, UserWindow] = field(default_factory=OrderedDict)

    def admit(self, user_id: int, weight: float = 1.0) -> tuple[bool, bool]:
        """Returns (allowed, warn now): warn is True once per flood, on the first refusal."""
        now = self.clock()
        state = self.users.get(user_id)
        if state is None:
            state = self.users[user_id] = UserWindow()
            if len(self.users) > TRACKED_USERS:
                self.users.popitem(last=False)
        self.users.move_to_end(user_id)
        while state.times and now - state.times[0][0] >= self.window:
            state.used -= state.times.popleft()[1]
        if not state.times:
            state.used = 0.0  # no float drift across windows
        if state.used + weight <= self.limit + 1e-9:
            state.times.append((now, weight))
            state.used += weight
            state.warned, state.admin = False, None
            return True, False
        warn = not state.warned
        state.warned = True
        return False, warn


async def is_admin(context: ContextTypes.DEFAULT_TYPE, user_id: int) -> bool:
    """Whether the user is one of the PSG's admins (owner or editor), as stored now."""
    async with get_services(context).reads() as session:
        return await role_of(session, user_id) is not None


async def check(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs before every feature; stops the update when its sender is over the limit."""
    user = update.effective_user
    if user is None or update.my_chat_member is not None:
        return
    throttle = context.bot_data.setdefault(THROTTLE_KEY, Throttle())
    # Inline queries come as the user types, a few per word: they weigh as a tap.
    tapped = update.callback_query is not None or update.inline_query is not None
    weight = TAP_WEIGHT if tapped else 1.0
    allowed, warn = throttle.admit(user.id, weight)
    if allowed:
        return
    state = throttle.users[user.id]
    if state.admin is None:
        state.admin = await is_admin(context, user.id)
    if state.admin:
        return
    if update.inline_query:
        # Answered all the same, with nothing: unanswered, the user's client keeps waiting.
        await update.inline_query.answer([], cache_time=0, is_personal=True)
        raise ApplicationHandlerStop
    if warn:
        # Told in the chat's language: the language is read here, once per flood, since the
        # throttle runs before bot.language so that the updates it drops cost no read.
        await apply_language(update, context)
        text = _("You are sending a lot very quickly. Please wait a minute, then try again.")
        if update.callback_query:
            await update.callback_query.answer(text, show_alert=True)
        elif update.effective_chat:
            await update.effective_chat.send_message(text)
    raise ApplicationHandlerStop


def handlers() -> list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]]:
    return [TypeHandler(Update, check)]
