"""Every handler of the bot's features, in the order they are tried (group 0).

Order matters where two could claim an update: a flow's buttons before the catch-all, the
features before the fallback (which answers what no feature claimed: an unknown command, words
in a private chat, a stale or forged button), and /cancel outside a flow after every flow. The
admin flows (/broadcast, /addevent, /editevent, /edit) are one conversation: one open at a time.
"""

from __future__ import annotations

from collections.abc import Collection

from psgbot.bot import (
    admin,
    broadcast,
    broadcast_flow,
    channels,
    event_admin,
    events,
    fallback,
    info,
    menu,
    news,
    privacy,
    settings,
    subscribe,
    tags,
    text_edit,
    watches,
)
from psgbot.bot.flows import Handler, one_at_a_time


def handlers(owners: Collection[int] = ()) -> list[Handler]:
    """Every feature's handlers; ``owners`` (PSGBOT_ADMINS) are those whose forwarded channel
    posts connect the channel."""
    features = (
        menu,
        subscribe,
        settings,
        watches,
        privacy,
        news,
        info,
        events,
        event_admin,
        admin,
        tags,
        broadcast,
    )
    admin_flows = one_at_a_time([broadcast_flow.flow(), event_admin.flow(), text_edit.flow()])
    return [
        *fallback.early_handlers(),
        # First: while an admin's flow is open, what they type is its answer, and another
        # flow's command asks whether to abandon it.
        admin_flows,
        # An owner's forward of a channel post (not taken by an open flow) connects it.
        *channels.handlers(owners),
        *(handler for module in features for handler in module.handlers()),
        *admin.late_handlers(),
        *fallback.handlers(),
    ]
