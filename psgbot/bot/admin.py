"""Running the bot: /admins, /stats, /feeds, /poll, /audit; /edit lives in psgbot.bot.text_edit.

Every handler here is wrapped by ``admin_only``; the admin command menu is set per admin chat.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import func, select
from telegram import Bot, BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import CommandHandler, ContextTypes

from psgbot.admins import (
    AuditAction,
    Role,
    add_editor,
    all_admins,
    allows,
    audit,
    latest_audit,
    remove_editor,
)
from psgbot.bot.access import admin_only
from psgbot.bot.commands import language_code, menu_commands
from psgbot.bot.flows import Handler
from psgbot.db.models import Feed, Item
from psgbot.db.types import utcnow
from psgbot.feeds.poll import poll_all
from psgbot.feeds.sources import display_source
from psgbot.feeds.store import find_feed
from psgbot.i18n import N_, _, languages, using
from psgbot.numbers import MAX_USER_ID, parse_number
from psgbot.render.admin import (
    admins_message,
    admins_usage,
    audit_messages,
    feeds_messages,
    poll_messages,
    stats_message,
)
from psgbot.services import Services, get_services
from psgbot.stats import gather_stats

log = logging.getLogger(__name__)

ADMIN_COMMANDS: list[tuple[str, str, Role]] = [
    ("broadcast", N_("Send an announcement"), Role.EDITOR),
    ("broadcasts", N_("Recent and scheduled broadcasts"), Role.EDITOR),
    ("stats", N_("Chats, subscribers, deliveries"), Role.EDITOR),
    ("feeds", N_("Feed health"), Role.EDITOR),
    ("poll", N_("Poll every feed now"), Role.EDITOR),
    ("edit", N_("Edit a standing text: /edit aims"), Role.EDITOR),
    ("addevent", N_("Add an event"), Role.EDITOR),
    ("editevent", N_("Change an event: /editevent 1"), Role.EDITOR),
    ("cancelevent", N_("Cancel an event: /cancelevent 1"), Role.EDITOR),
    ("audit", N_("The latest admin actions"), Role.EDITOR),
    ("why", N_("Why item n of /latest has its topics: /why 1"), Role.EDITOR),
    ("tag", N_("Correct an item's topics: /tag 1 +mining -economy"), Role.EDITOR),
    ("admins", N_("Owners and editors; /admins add|remove <id>"), Role.OWNER),
    (
        "channel",
        N_("Channels the bot posts to: /channel @name, /channel remove @name"),
        Role.OWNER,
    ),
]


def admin_commands(role: Role | None) -> list[tuple[str, str]]:
    """The admin commands this role may use, described in the current language."""
    return [(name, _(text)) for name, text, needed in ADMIN_COMMANDS if allows(role, needed)]


def admin_menu(role: Role) -> list[BotCommand]:
    """The public commands plus the admin ones this role may use."""
    return menu_commands() + [BotCommand(name, text) for name, text in admin_commands(role)]


async def set_admin_menus(services: Services, bot: object) -> None:
    """Shows the admin commands in each admin's private chat only, never in the public menu."""
    from telegram import Bot

    assert isinstance(bot, Bot)
    async with services.reads() as session:
        admins = await all_admins(session)
    for admin in admins:
        try:
            for language in languages():
                with using(language):
                    await bot.set_my_commands(
                        admin_menu(Role(admin.role)),
                        scope=BotCommandScopeChat(admin.user_id),
                        language_code=language_code(language),
                    )
        except TelegramError as exc:  # an admin who never opened the bot has no chat yet
            log.info("no admin menu for %s: %s", admin.user_id, exc)


async def names_of(bot: Bot, user_ids: Iterable[int | None]) -> dict[int, str]:
    """Admins' names as Telegram gives them now, for admin views; never stored. A user
    Telegram will not describe (one who never opened the bot) is left out: shown by number."""
    names: dict[int, str] = {}
    for user_id in {user_id for user_id in user_ids if user_id is not None}:
        try:
            chat = await bot.get_chat(user_id)
        except TelegramError as exc:
            log.info("no name for %s: %s", user_id, exc)
            continue
        name = " ".join(part for part in (chat.first_name, chat.last_name) if part)
        if chat.username:
            name = f"{name} (@{chat.username})" if name else f"@{chat.username}"
        if name:
            names[user_id] = name
    return names


@admin_only(Role.EDITOR)
async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Chats, subscribers per topic, items, messages sent and failed (recent and in all),
    outbox, broadcasts."""
    if update.effective_chat is None:
        return
    services = get_services(context)
    now = utcnow()
    local = now.astimezone(services.settings.zone)
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    async with services.reads() as session:
        figures = await gather_stats(session, now, month_start)
    text = stats_message(figures, services.taxonomy)
    await update.effective_chat.send_message(text)


@admin_only(Role.EDITOR)
async def feeds(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Each feed's health: last success and error, failures in a row, next check, items.

    ``/feeds enable <source>`` polls again a feed disabled after answering 410 Gone.
    """
    if update.effective_chat is None:
        return
    services = get_services(context)
    args = context.args or []
    if args[:1] == ["enable"] and len(args) == 2:
        user = update.effective_user
        async with services.sessions.begin() as session:
            feed = await find_feed(session, args[1])
            if feed is not None:
                feed.disabled, feed.failures, feed.next_poll_at = False, 0, None
                await audit(
                    session,
                    user.id if user else None,
                    AuditAction.FEED_ENABLED,
                    display_source(feed.source),
                )
        await update.effective_chat.send_message(
            _("Feed enabled; it is polled again from now.")
            if feed is not None
            else _("No feed has that source; /feeds lists them.")
        )
        return
    async with services.reads() as session:
        rows = (
            await session.execute(
                select(Feed, func.count(Item.id))
                .outerjoin(Item)
                .group_by(Feed.id)
                .order_by(Feed.id)
            )
        ).all()
    for message in feeds_messages(rows, services.settings.zone):
        await update.effective_chat.send_message(message)


@admin_only(Role.EDITOR)
async def poll_now(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Polls every feed now and says what it found."""
    if update.effective_chat is None:
        return
    await update.effective_chat.send_message(_("Polling every feed…"))
    outcomes = await poll_all(get_services(context))
    for message in poll_messages(outcomes):
        await update.effective_chat.send_message(message)


@admin_only(Role.EDITOR)
async def audit_log(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The latest 20 admin actions."""
    if update.effective_chat is None:
        return
    services = get_services(context)
    async with services.reads() as session:
        entries = await latest_audit(session)
    names = await names_of(context.bot, (entry.user_id for entry in entries))
    for message in audit_messages(entries, services.settings.zone, names):
        await update.effective_chat.send_message(message)


@admin_only(Role.OWNER)
async def admins(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Lists owners and editors; ``add <id>`` and ``remove <id>`` manage editors."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    services = get_services(context)
    args = context.args or []
    target = parse_number(args[1], high=MAX_USER_ID) if len(args) == 2 else None
    if args and (args[0] not in {"add", "remove"} or target is None):
        await chat.send_message(admins_usage())
        return
    if args and target is not None:
        action = args[0]
        async with services.sessions.begin() as session:
            changed = (
                await add_editor(session, target, user.id)
                if action == "add"
                else await remove_editor(session, target)
            )
            if changed:
                done = AuditAction.ADMIN_ADDED if action == "add" else AuditAction.ADMIN_REMOVED
                await audit(session, user.id, done, str(target))
        if not changed:
            await chat.send_message(
                _("Nothing changed: {id} is already an admin.").format(id=target)
                if action == "add"
                else _(
                    "Nothing changed: {id} is not an editor (owners are set in PSGBOT_ADMINS)."
                ).format(id=target)
            )
            return
        await chat.send_message(
            _("Done: {id} is now an editor.").format(id=target)
            if action == "add"
            else _("Done: {id} is no longer an editor.").format(id=target)
        )
        await _refresh_menu(context, target, Role.EDITOR if action == "add" else None)
        return
    async with services.reads() as session:
        everyone = await all_admins(session)
    names = await names_of(context.bot, (admin.user_id for admin in everyone))
    await chat.send_message(admins_message(everyone, names))


async def _refresh_menu(
    context: ContextTypes.DEFAULT_TYPE, user_id: int, role: Role | None
) -> None:
    scope = BotCommandScopeChat(user_id)
    try:
        if role is None:
            await context.bot.delete_my_commands(scope=scope)
        else:
            await context.bot.set_my_commands(admin_menu(role), scope=scope)
    except TelegramError as exc:
        log.info("could not update the menu of %s: %s", user_id, exc)


def handlers() -> list[Handler]:
    return [
        CommandHandler("stats", stats),
        CommandHandler("feeds", feeds),
        CommandHandler("poll", poll_now),
        CommandHandler("audit", audit_log),
        CommandHandler("admins", admins),
    ]


async def nothing_to_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancel outside any flow."""
    if update.effective_chat:
        await update.effective_chat.send_message(_("Nothing to cancel."))


def late_handlers() -> list[Handler]:
    """After every flow: /cancel when no flow is running."""
    return [CommandHandler("cancel", nothing_to_cancel)]
