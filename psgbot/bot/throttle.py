"""Per-user rate limiting of what users send: one person cannot flood the bot.

Past ``LIMIT`` messages and button presses in ``WINDOW`` seconds, the user is told once to slow
down, then ignored until the window has room again. Alerts and broadcasts are not affected
(they are not replies to users).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, ContextTypes, TypeHandler

from psgbot.i18n import _

LIMIT = 20
WINDOW = 60.0
TRACKED_USERS = 50_000
THROTTLE_KEY = "throttle"


@dataclass
class UserWindow:
    times: deque[float] = field(default_factory=deque)
    warned: bool = False


@dataclass
class Throttle:
    limit: int = LIMIT
    window: float = WINDOW
    clock: Callable[[], float] = time.monotonic
    users: OrderedDict[int, UserWindow] = field(default_factory=OrderedDict)

    def admit(self, user_id: int) -> tuple[bool, bool]:
        """Returns (allowed, warn now): warn is True once per flood, on the first refusal."""
        now = self.clock()
        state = self.users.get(user_id)
        if state is None:
            state = self.users[user_id] = UserWindow()
            if len(self.users) > TRACKED_USERS:
                self.users.popitem(last=False)
        self.users.move_to_end(user_id)
        while state.times and now - state.times[0] >= self.window:
            state.times.popleft()
        if len(state.times) < self.limit:
            state.times.append(now)
            state.warned = False
            return True, False
        warn = not state.warned
        state.warned = True
        return False, warn


async def check(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs before every feature; stops the update when its sender is over the limit."""
    user = update.effective_user
    if user is None or update.my_chat_member is not None:
        return
    throttle = context.bot_data.setdefault(THROTTLE_KEY, Throttle())
    allowed, warn = throttle.admit(user.id)
    if allowed:
        return
    if warn:
        text = _("You are sending a lot very quickly. Please wait a minute, then try again.")
        if update.callback_query:
            await update.callback_query.answer(text, show_alert=True)
        elif update.effective_chat:
            await update.effective_chat.send_message(text)
    raise ApplicationHandlerStop


def handlers() -> list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]]:
    return [TypeHandler(Update, check)]
