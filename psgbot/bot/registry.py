"""Every handler of the bot's features, in the order they are tried (group 0).

Order matters where two could claim an update: a flow's buttons before the catch-all, the
features before the fallback (which answers what no feature claimed: an unknown command, a
stale or forged button), words in a private chat taken as a search only after every flow has
had them, and /cancel outside a flow after every flow. The admin flows (/broadcast, /addevent,
/editevent, /edit) are one conversation: one open at a time.
"""

from __future__ import annotations

from collections.abc import Collection

from telegram.ext import CommandHandler

from psgbot.bot import (
    admin,
    broadcast,
    broadcast_flow,
    channels,
    event_admin,
    events,
    fallback,
    info,
    language,
    menu,
    news,
    privacy,
    search,
    settings,
    subscribe,
    tags,
    text_edit,
    watches,
)
from psgbot.bot.commands import SPANISH_NAMES
from psgbot.bot.flows import Handler, one_at_a_time


def handlers(owners: Collection[int] = ()) -> list[Handler]:
    """Every feature's handlers; ``owners`` (PSGBOT_ADMINS) are those whose forwarded channel
    posts connect the channel."""
    features = (
        menu,
        language,
        subscribe,
        settings,
        watches,
        privacy,
        news,
        search,
        info,
        events,
        event_admin,
        admin,
        tags,
        broadcast,
    )
    admin_flows = one_at_a_time([broadcast_flow.flow(), event_admin.flow(), text_edit.flow()])
    handlers = [
        *fallback.early_handlers(),
        # First: while an admin's flow is open, what they type is its answer, and another
        # flow's command asks whether to abandon it.
        admin_flows,
        # An owner's forward of a channel post (not taken by an open flow) connects it.
        *channels.handlers(owners),
        *(handler for module in features for handler in module.handlers()),
        *admin.late_handlers(),
        # Words typed in a private chat are a search, once no flow has read them.
        *search.late_handlers(),
        *fallback.handlers(),
    ]
    for handler in handlers:
        answer_spanish_names(handler)
    return handlers


def answer_spanish_names(handler: Handler) -> None:
    """A command's Spanish name (psgbot.bot.commands.SPANISH_NAMES) reaches the handler of its
    English one: ``/noticias 10`` is ``/latest 10``, with one handler and one list of names."""
    if isinstance(handler, CommandHandler):
        spanish = {SPANISH_NAMES[name] for name in handler.commands if name in SPANISH_NAMES}
        handler.commands = handler.commands | spanish
