"""Every handler of the bot's features, in the order they are tried (group 0).

Order matters where two could claim an update: a flow's buttons before the catch-all, the
features before the fallback (which answers what no feature claimed: an unknown command, words
in a private chat, a stale or forged button), and /cancel outside a flow after every flow.
"""

from __future__ import annotations

from psgbot.bot import (
    admin,
    broadcast,
    event_admin,
    events,
    fallback,
    info,
    menu,
    news,
    privacy,
    subscribe,
    tags,
)
from psgbot.bot.flows import Handler


def handlers() -> list[Handler]:
    features = (menu, subscribe, privacy, news, info, events, event_admin, admin, tags, broadcast)
    return [
        *fallback.early_handlers(),
        *(handler for module in features for handler in module.handlers()),
        *admin.late_handlers(),
        *fallback.handlers(),
    ]
