"""Running the bot: /admins, /stats, /feeds, /poll, /audit and /edit of the standing texts.

Every handler here is wrapped by ``admin_only``; the admin command menu is set per admin chat.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from psgbot.admins import Role, add_editor, all_admins, audit, latest_audit, remove_editor
from psgbot.bot.access import admin_only
from psgbot.bot.commands import menu_commands
from psgbot.bot.flows import choice, conversation
from psgbot.bot.numbers import MAX_USER_ID, parse_number
from psgbot.db.models import Feed, Item
from psgbot.db.types import utcnow
from psgbot.feeds.poll import poll_all
from psgbot.feeds.sources import display_source
from psgbot.feeds.store import find_feed
from psgbot.i18n import _
from psgbot.render.markup import escape, pack
from psgbot.render.news import standing_text_message
from psgbot.services import Services, get_services
from psgbot.stats import gather_stats
from psgbot.texts import TEXT_NAMES, current_text, save_text

log = logging.getLogger(__name__)

ADMIN_COMMANDS: list[tuple[str, str, Role]] = [
    ("broadcast", _("Send an announcement"), Role.EDITOR),
    ("broadcasts", _("Recent and scheduled broadcasts"), Role.EDITOR),
    ("stats", _("Chats, subscribers, deliveries"), Role.EDITOR),
    ("feeds", _("Feed health"), Role.EDITOR),
    ("poll", _("Poll every feed now"), Role.EDITOR),
    ("edit", _("Edit a standing text: /edit aims"), Role.EDITOR),
    ("addevent", _("Add an event"), Role.EDITOR),
    ("editevent", _("Change an event: /editevent 1"), Role.EDITOR),
    ("cancelevent", _("Cancel an event: /cancelevent 1"), Role.EDITOR),
    ("audit", _("The latest admin actions"), Role.EDITOR),
    ("admins", _("Owners and editors; /admins add|remove <id>"), Role.OWNER),
]
EDIT_WAITING, EDIT_CONFIRM = range(2)
EDIT_SAVE, EDIT_DISCARD = "adm:edit:save", "adm:edit:discard"


def admin_menu(role: Role) -> list[BotCommand]:
    """The public commands plus the admin ones this role may use."""
    extra = [
        BotCommand(name, text)
        for name, text, needed in ADMIN_COMMANDS
        if role == Role.OWNER or needed == Role.EDITOR
    ]
    return menu_commands() + extra


async def set_admin_menus(services: Services, bot: object) -> None:
    """Shows the admin commands in each admin's private chat only, never in the public menu."""
    from telegram import Bot

    assert isinstance(bot, Bot)
    async with services.reads() as session:
        admins = await all_admins(session)
    for admin in admins:
        try:
            await bot.set_my_commands(
                admin_menu(Role(admin.role)), scope=BotCommandScopeChat(admin.user_id)
            )
        except TelegramError as exc:  # an admin who never opened the bot has no chat yet
            log.info("no admin menu for %s: %s", admin.user_id, exc)


def when(moment: datetime | None, services: Services) -> str:
    if moment is None:
        return _("never")
    return moment.astimezone(services.settings.zone).strftime("%d %b %Y %H:%M %Z")


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
    topics = "\n".join(
        f"  {escape(topic.name)}: {figures.subscribers.get(topic.slug, 0)}"
        for topic in services.taxonomy.topics
    )
    text = "\n".join(
        [
            _("📊 <b>Statistics</b>"),
            _("Chats: {active} active ({groups} groups), {inactive} inactive").format(
                active=figures.active_chats,
                groups=figures.active_groups,
                inactive=figures.inactive_chats,
            ),
            _("Subscribers per topic:"),
            topics,
            _("  All news: {count}").format(count=figures.subscribers.get("*", 0)),
            _("Items stored: {count}").format(count=figures.items),
            _("Alerts, last 24 hours: {sent} sent, {failed} failed").format(
                sent=figures.alerts_sent_day, failed=figures.alerts_failed_day
            ),
            _("Alerts, last 7 days: {sent} sent, {failed} failed").format(
                sent=figures.alerts_sent_week, failed=figures.alerts_failed_week
            ),
            _("Alerts in all: {sent} sent, {failed} failed").format(
                sent=figures.sent_in_all.get("alert", 0),
                failed=figures.failed_in_all.get("alert", 0),
            ),
            _("Broadcast messages in all: {sent} sent, {failed} failed").format(
                sent=figures.sent_in_all.get("broadcast", 0),
                failed=figures.failed_in_all.get("broadcast", 0),
            ),
            _("Notices and reminders in all: {sent} sent, {failed} failed").format(
                sent=figures.sent_in_all.get("notice", 0),
                failed=figures.failed_in_all.get("notice", 0),
            ),
            _("Outbox: {count} waiting").format(count=figures.outbox),
            _("Broadcasts this month: {count}").format(count=figures.broadcasts_this_month),
        ]
    )
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
                    session, user.id if user else None, "feed enabled", display_source(feed.source)
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
    blocks = [_("📡 <b>Feeds</b>")]
    for feed, items in rows:
        state = "🛑" if feed.disabled else "✅" if feed.failures == 0 else "⚠️"
        lines = [
            f"{state} <code>{escape(display_source(feed.source))}</code>",
            _("Last success: {at}").format(at=when(feed.last_success_at, services)),
            _("Next check: {at}").format(at=when(feed.next_poll_at, services)),
            _("Items: {count}").format(count=items),
        ]
        if feed.disabled:
            lines.append(
                _("Disabled (410 Gone): /feeds enable {source}").format(
                    source=escape(display_source(feed.source))
                )
            )
        if feed.failures:
            lines.insert(
                2,
                _("Failing {count} times in a row; last error: {error}").format(
                    count=feed.failures, error=escape(feed.last_error or "")
                ),
            )
        blocks.append("\n".join(lines))
    if len(blocks) == 1:
        blocks.append(_("No feed has been polled yet."))
    for message in pack(blocks):
        await update.effective_chat.send_message(message)


@admin_only(Role.EDITOR)
async def poll_now(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Polls every feed now and says what it found."""
    if update.effective_chat is None:
        return
    await update.effective_chat.send_message(_("Polling every feed…"))
    outcomes = await poll_all(get_services(context))
    lines = []
    for outcome in outcomes:
        source = f"<code>{escape(display_source(outcome.source))}</code>"
        if outcome.error:
            lines.append(f"⚠️ {source}: {escape(outcome.error)}")
        elif outcome.not_modified:
            lines.append(_("✅ {source}: not modified").format(source=source))
        else:
            lines.append(
                _("✅ {source}: {seen} items, {new} new, {alerts} alerts").format(
                    source=source, seen=outcome.seen, new=outcome.new, alerts=outcome.alerts
                )
            )
    for message in pack(["\n".join(lines)]):
        await update.effective_chat.send_message(message)


@admin_only(Role.EDITOR)
async def audit_log(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The latest 20 admin actions."""
    if update.effective_chat is None:
        return
    services = get_services(context)
    async with services.reads() as session:
        entries = await latest_audit(session)
    lines = [_("🧾 <b>Latest admin actions</b>")]
    lines += [
        f"{when(entry.at, services)} · {entry.user_id} · <b>{escape(entry.action)}</b> "
        f"{escape(entry.detail[:150])}"
        for entry in entries
    ]
    if not entries:
        lines.append(_("Nothing yet."))
    for message in pack(["\n".join(lines)]):
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
        await chat.send_message(
            _(
                "Usage: /admins, /admins add &lt;user id&gt;, /admins remove "
                "&lt;user id&gt;. A user id is a number; users can find theirs "
                "with @userinfobot."
            )
        )
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
                await audit(session, user.id, f"admin {action}", str(target))
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
    lines = [_("👥 <b>Administrators</b>")]
    lines += [f"{admin.user_id}: {admin.role}" for admin in everyone]
    lines.append(_("Owners come from PSGBOT_ADMINS; /admins add &lt;id&gt; adds an editor."))
    await chat.send_message("\n".join(lines))


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


@admin_only(Role.EDITOR)
async def edit_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """``/edit <name>`` shows the text and waits for the new one; ``/edit <name> reset``."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return ConversationHandler.END
    args = [arg.lower() for arg in context.args or []]
    if not args or args[0] not in TEXT_NAMES or args[1:] not in ([], ["reset"]):
        await chat.send_message(
            _("Usage: /edit {names}, or /edit &lt;name&gt; reset.").format(
                names="|".join(TEXT_NAMES)
            )
        )
        return ConversationHandler.END
    name = args[0]
    services = get_services(context)
    if args[1:] == ["reset"]:
        async with services.sessions.begin() as session:
            await save_text(session, name, None, user.id)
            await audit(session, user.id, "text reset", name)
        await chat.send_message(
            _("/{name} is back to the text in data/texts.yaml.").format(name=name)
        )
        return ConversationHandler.END
    async with services.reads() as session:
        text = await current_text(session, name, services.texts)
    await chat.send_message(standing_text_message(text))
    await chat.send_message(
        _(
            "That is /{name} now. Send the new text (plain text; a line "
            "starting with • is a bullet), or /cancel."
        ).format(name=name)
    )
    assert context.user_data is not None
    context.user_data["edit"] = name
    return EDIT_WAITING


@admin_only(Role.EDITOR)
async def edit_receive(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Previews the new text with Save and Cancel buttons."""
    message, chat = update.effective_message, update.effective_chat
    assert context.user_data is not None
    name = context.user_data.get("edit")
    if message is None or chat is None or not message.text or name is None:
        return ConversationHandler.END
    services = get_services(context)
    body = message.text.strip()[:3500]
    context.user_data["edit_body"] = body
    async with services.reads() as session:
        text = await current_text(session, name, services.texts)
    preview = standing_text_message(replace(text, body=body))
    await chat.send_message(preview)
    await chat.send_message(
        _("Save this as /{name}?").format(name=name),
        reply_markup=choice((_("Save"), EDIT_SAVE), (_("Cancel"), EDIT_DISCARD)),
    )
    return EDIT_CONFIRM


@admin_only(Role.EDITOR)
async def edit_decide(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query, user = update.callback_query, update.effective_user
    assert context.user_data is not None
    name, body = context.user_data.pop("edit", None), context.user_data.pop("edit_body", None)
    if query is None or user is None:
        return ConversationHandler.END
    await query.answer()
    if query.data != EDIT_SAVE or name is None or body is None:
        await query.edit_message_text(_("Nothing changed."))
        return ConversationHandler.END
    async with get_services(context).sessions.begin() as session:
        await save_text(session, name, body, user.id)
        await audit(session, user.id, "text edited", name)
    await query.edit_message_text(_("Saved: /{name} shows the new text.").format(name=name))
    return ConversationHandler.END


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Leaves any admin flow; harmless for anyone to send."""
    if context.user_data is not None:
        for key in ("edit", "edit_body", "broadcast", "event"):
            context.user_data.pop(key, None)
    if update.effective_chat:
        await update.effective_chat.send_message(_("Cancelled."))
    return ConversationHandler.END


def handlers() -> list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]]:
    edit_flow = conversation(
        entry_points=[CommandHandler("edit", edit_start)],
        states={
            EDIT_WAITING: [MessageHandler(filters.TEXT & ~filters.COMMAND, edit_receive)],
            EDIT_CONFIRM: [CallbackQueryHandler(edit_decide, pattern=r"^adm:edit:")],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        name="edit",
    )
    return [
        CommandHandler("stats", stats),
        CommandHandler("feeds", feeds),
        CommandHandler("poll", poll_now),
        CommandHandler("audit", audit_log),
        CommandHandler("admins", admins),
        edit_flow,  # type: ignore[list-item]
    ]


async def nothing_to_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancel outside any flow."""
    if update.effective_chat:
        await update.effective_chat.send_message(_("Nothing to cancel."))


def late_handlers() -> list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]]:
    """After every flow: /cancel when no flow is running."""
    return [CommandHandler("cancel", nothing_to_cancel)]
