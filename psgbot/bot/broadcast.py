"""/broadcast: audience, message, preview, send now or later; progress, Stop, final report.

Broadcasts go through the outbox and the dispatcher like alerts: this module only stores them
and reports on them. The guided flow is a ConversationHandler with /cancel at any step, and
every step (buttons included) checks the admin's role again.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from psgbot import broadcasts as store
from psgbot.admins import Role, audit
from psgbot.bot.access import admin_only
from psgbot.bot.admin import cancel
from psgbot.bot.fallback import answer_stale
from psgbot.bot.flows import conversation
from psgbot.bot.numbers import parse_number
from psgbot.dates import parse_when
from psgbot.db.models import Broadcast
from psgbot.db.types import utcnow
from psgbot.i18n import _
from psgbot.render.markup import escape, pack
from psgbot.services import Services, get_services

log = logging.getLogger(__name__)

AUDIENCE, MESSAGE, PREVIEW, SCHEDULE, SCHEDULE_TYPED = range(5)
PREFIX = "adm:bc:"
STOP_PREFIX = "adm:bcstop:"
DROP_PREFIX = "adm:bcdrop:"
PROGRESS_EVERY = 3.0  # seconds between edits of a progress message


def draft(context: ContextTypes.DEFAULT_TYPE) -> dict[str, Any]:
    assert context.user_data is not None
    value: dict[str, Any] = context.user_data.setdefault("broadcast", {})
    return value


def button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=PREFIX + data)


@admin_only(Role.EDITOR)
async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Step 1: who receives it."""
    chat = update.effective_chat
    if chat is None:
        return ConversationHandler.END
    assert context.user_data is not None
    context.user_data["broadcast"] = {}
    async with get_services(context).reads() as session:
        everyone = await store.audience_size(session, "all")
    keyboard = InlineKeyboardMarkup(
        [
            [button(_("Everyone ({count} chats)").format(count=everyone), "aud:all")],
            [button(_("Subscribers of one topic"), "aud:topics")],
            [button(_("Only me (a test)"), "aud:me")],
            [button(_("Cancel"), "cancel")],
        ]
    )
    await chat.send_message(
        _("📣 <b>New broadcast.</b> Who should receive it? (/cancel stops at any step)"),
        reply_markup=keyboard,
    )
    return AUDIENCE


@admin_only(Role.EDITOR)
async def choose_audience(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None:
        return ConversationHandler.END
    await query.answer()
    services = get_services(context)
    choice = query.data.removeprefix(PREFIX + "aud:")
    if choice == "topics":
        async with services.reads() as session:
            rows = [
                [
                    button(
                        f"{topic.emoji} {topic.name} "
                        f"({await store.audience_size(session, 'topic:' + topic.slug)})",
                        f"aud:topic:{topic.slug}",
                    )
                ]
                for topic in services.taxonomy.topics
            ]
        await query.edit_message_text(
            _("Which topic's subscribers?"), reply_markup=InlineKeyboardMarkup(rows)
        )
        return AUDIENCE
    if choice == "me":
        audience, label = f"chat:{user.id}", _("only you")
    elif choice == "all":
        audience, label = "all", _("everyone")
    else:
        slug = choice.removeprefix("topic:")
        topic = services.taxonomy.get(slug)
        if topic is None:
            await query.edit_message_text(_("That topic no longer exists. /broadcast again."))
            return ConversationHandler.END
        audience, label = f"topic:{slug}", _("subscribers of {topic}").format(topic=topic.name)
    async with services.reads() as session:
        count = await store.audience_size(session, audience)
    draft(context).update(audience=audience, label=label, count=count)
    await query.edit_message_text(
        _(
            "Audience: {label}, {count} chats.\n\nNow send the message: text (your bold, italic "
            "and links are kept) or a photo with a caption."
        ).format(label=escape(label), count=count)
    )
    return MESSAGE


@admin_only(Role.EDITOR)
async def receive_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Step 2: the message itself, then step 3: the preview, exactly as recipients see it."""
    message = update.effective_message
    if message is None:
        return ConversationHandler.END
    details = draft(context)
    if message.photo:
        details.update(
            photo=message.photo[-1].file_id,
            text=message.caption or "",
            entities=[e.to_dict() for e in message.caption_entities],
        )
    else:
        details.update(
            photo=None, text=message.text or "", entities=[e.to_dict() for e in message.entities]
        )
    details.setdefault("urgent", False)
    await send_preview(message, details)
    await message.chat.send_message(
        preview_caption(details), reply_markup=preview_keyboard(details)
    )
    return PREVIEW


async def send_preview(message: Message, details: dict[str, Any]) -> None:
    entities = list(message.caption_entities if details.get("photo") else message.entities)
    if details.get("photo"):
        await message.chat.send_photo(
            details["photo"],
            caption=details["text"] or None,
            caption_entities=entities,
            parse_mode=None,
        )
    else:
        await message.chat.send_message(details["text"], entities=entities, parse_mode=None)


def preview_caption(details: dict[str, Any]) -> str:
    urgent = _(" · marked urgent") if details.get("urgent") else ""
    return _("☝️ Preview. Audience: {label}, {count} chats{urgent}.").format(
        label=escape(details["label"]), count=details["count"], urgent=urgent
    )


def preview_keyboard(details: dict[str, Any]) -> InlineKeyboardMarkup:
    urgent = ("☑ " if details.get("urgent") else "☐ ") + _("Urgent")
    return InlineKeyboardMarkup(
        [
            [button(_("Send now"), "send"), button(_("Schedule"), "schedule")],
            [button(urgent, "urgent"), button(_("Cancel"), "cancel")],
        ]
    )


@admin_only(Role.EDITOR)
async def preview_choice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    if query is None or query.data is None:
        return ConversationHandler.END
    await query.answer()
    details = draft(context)
    choice = query.data.removeprefix(PREFIX)
    if "text" not in details:
        await query.edit_message_text(_("This draft is gone. /broadcast to start again."))
        return ConversationHandler.END
    if choice == "urgent":
        details["urgent"] = not details.get("urgent")
        await query.edit_message_text(
            preview_caption(details), reply_markup=preview_keyboard(details)
        )
        return PREVIEW
    if choice == "schedule":
        zone = get_services(context).settings.zone
        await query.edit_message_text(
            _("When should it go? ({zone} time)").format(zone=zone.key),
            reply_markup=InlineKeyboardMarkup(
                [
                    [button(_("In 1 hour"), "at:1h"), button(_("Tomorrow 09:00"), "at:tomorrow")],
                    [button(_("Type a date and time"), "at:typed"), button(_("Cancel"), "cancel")],
                ]
            ),
        )
        return SCHEDULE
    if choice == "send":
        await query.edit_message_text(_("Sending…"))
        shown = query.message if isinstance(query.message, Message) else None
        await release(update, context, utcnow(), progress_message=shown)
        return ConversationHandler.END
    await query.edit_message_text(_("Broadcast cancelled; nothing was sent."))
    context.user_data.pop("broadcast", None)  # type: ignore[union-attr]
    return ConversationHandler.END


@admin_only(Role.EDITOR)
async def schedule_choice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    if query is None or query.data is None:
        return ConversationHandler.END
    await query.answer()
    choice = query.data.removeprefix(PREFIX)
    zone = get_services(context).settings.zone
    now = utcnow()
    if choice == "at:1h":
        at = now + timedelta(hours=1)
    elif choice == "at:tomorrow":
        tomorrow = now.astimezone(zone).date() + timedelta(days=1)
        at = datetime.combine(tomorrow, time(9, 0), tzinfo=zone)
    elif choice == "at:typed":
        await query.edit_message_text(
            _("Send the date and time, e.g. 2026-12-01 18:30 ({zone} time), or /cancel.").format(
                zone=zone.key
            )
        )
        return SCHEDULE_TYPED
    else:
        await query.edit_message_text(_("Broadcast cancelled; nothing was sent."))
        return ConversationHandler.END
    await query.edit_message_text(await release(update, context, at))
    return ConversationHandler.END


@admin_only(Role.EDITOR)
async def schedule_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    message = update.effective_message
    if message is None or not message.text:
        return SCHEDULE_TYPED
    zone = get_services(context).settings.zone
    at = parse_when(message.text, zone, utcnow())
    if at is None or at <= utcnow():
        await message.reply_text(
            _(
                "I could not read that as a future date and time. Try "
                "2026-12-01 18:30 or 01/12/2026 18:30, or /cancel."
            )
        )
        return SCHEDULE_TYPED
    await message.reply_text(await release(update, context, at))
    return ConversationHandler.END


async def release(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    at: datetime,
    progress_message: Message | None = None,
) -> str:
    """Stores the draft as a broadcast due at ``at``; returns the confirmation text."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None and context.user_data is not None
    details = context.user_data.pop("broadcast")
    services = get_services(context)
    async with services.sessions.begin() as session:
        broadcast = await store.create(
            session,
            audience=details["audience"],
            text=details["text"],
            entities=json.dumps(details["entities"]),
            photo_file_id=details.get("photo"),
            urgent=bool(details.get("urgent")),
            scheduled_at=at,
            created_by=user.id,
            progress_chat_id=chat.id,
        )
        if progress_message is not None:
            broadcast.progress_message_id = progress_message.message_id
        await audit(
            session,
            user.id,
            "broadcast created",
            f"#{broadcast.id} to {details['audience']} at {at.isoformat()}"
            + (" (urgent)" if broadcast.urgent else ""),
        )
    services.wake_dispatcher()
    local = at.astimezone(services.settings.zone)
    return _(
        "🗓 Broadcast #{id} scheduled for {when}. /broadcasts lists it, with a Cancel button."
    ).format(id=broadcast.id, when=local.strftime("%d %b %Y %H:%M %Z"))


def report(broadcast: Broadcast, progress: store.Progress, now: datetime) -> str:
    """The progress or final report of a broadcast."""
    started = broadcast.started_at or now
    seconds = int(((broadcast.finished_at or now) - started).total_seconds())
    heading = {
        store.DONE: _("✅ <b>Broadcast #{id} finished</b> in {seconds} s"),
        store.STOPPED: _("⏹ <b>Broadcast #{id} stopped</b> after {seconds} s"),
    }.get(broadcast.status, _("📣 <b>Broadcast #{id} sending…</b> {seconds} s"))
    lines = [
        heading.format(id=broadcast.id, seconds=seconds),
        _("Delivered: {count}").format(count=progress.sent),
        _("Blocked (now inactive): {count}").format(count=progress.blocked),
        _("Failed: {count}").format(count=progress.failed),
    ]
    lines += [f"  · {escape(reason)}: {count}" for reason, count in progress.reasons.most_common(5)]
    if broadcast.status == store.SENDING_STATUS:
        lines.append(_("Remaining: {count}").format(count=progress.remaining))
    elif progress.cancelled:
        lines.append(_("Not sent (stopped): {count}").format(count=progress.cancelled))
    return "\n".join(lines)


async def update_progress(services: Services, bot: Any, now: datetime) -> None:
    """Edits each running broadcast's progress message; finishes those with nothing left."""
    async with services.sessions.begin() as session:
        running = list(
            await session.scalars(select(Broadcast).where(Broadcast.status == store.SENDING_STATUS))
        )
        for broadcast in running:
            progress = await store.progress_of(session, broadcast.id)
            finished = await store.finish_if_done(session, broadcast, progress, now)
            if broadcast.progress_chat_id is None:
                continue
            text = report(broadcast, progress, now)
            markup = (
                None
                if finished
                else InlineKeyboardMarkup(
                    [
                        [
                            InlineKeyboardButton(
                                _("⏹ Stop"), callback_data=f"{STOP_PREFIX}{broadcast.id}"
                            )
                        ]
                    ]
                )
            )
            try:
                if broadcast.progress_message_id is None:
                    sent = await bot.send_message(
                        broadcast.progress_chat_id, text, reply_markup=markup
                    )
                    broadcast.progress_message_id = sent.message_id
                else:
                    await bot.edit_message_text(
                        text,
                        broadcast.progress_chat_id,
                        broadcast.progress_message_id,
                        reply_markup=markup,
                    )
            except BadRequest as exc:
                if "not modified" not in exc.message:
                    log.warning("progress of broadcast %s: %s", broadcast.id, exc.message)
            if finished:
                await audit(
                    session,
                    None,
                    "broadcast sent",
                    f"#{broadcast.id}: {progress.sent} delivered, {progress.blocked} "
                    f"blocked, {progress.failed} failed",
                )


async def progress_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    await update_progress(get_services(context), context.bot, utcnow())


@admin_only(Role.EDITOR)
async def stop_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop: cancels what has not gone yet, and shows the report so far."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None:
        return
    broadcast_id = parse_number(query.data.removeprefix(STOP_PREFIX))
    if broadcast_id is None:
        await answer_stale(query)
        return
    now = utcnow()
    async with get_services(context).sessions.begin() as session:
        stopped = await store.stop(session, broadcast_id, now)
        if stopped:
            await audit(session, user.id, "broadcast stopped", f"#{broadcast_id}")
        broadcast = await session.get(Broadcast, broadcast_id)
        progress = await store.progress_of(session, broadcast_id)
    await query.answer(
        _("Stopped: nothing more will be sent.")
        if stopped
        else _("This broadcast had already finished.")
    )
    if broadcast is not None and isinstance(query.message, Message):
        await query.edit_message_text(report(broadcast, progress, now))


@admin_only(Role.EDITOR)
async def list_broadcasts(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Recent and scheduled broadcasts with their figures; scheduled ones can be cancelled."""
    chat = update.effective_chat
    if chat is None:
        return
    services = get_services(context)
    lines = [_("📣 <b>Broadcasts</b>")]
    buttons = []
    async with services.reads() as session:
        for broadcast in await store.recent(session):
            progress = await store.progress_of(session, broadcast.id)
            when = broadcast.scheduled_at.astimezone(services.settings.zone)
            lines.append(
                f"#{broadcast.id} · {broadcast.status} · {escape(broadcast.audience)} · "
                f"{when:%d %b %H:%M} · "
                + _("{sent} delivered, {failed} failed, {blocked} blocked").format(
                    sent=progress.sent, failed=progress.failed, blocked=progress.blocked
                )
                + (" · ⚡" if broadcast.urgent else "")
            )
            if broadcast.status == store.SCHEDULED:
                buttons.append(
                    [
                        InlineKeyboardButton(
                            _("Cancel #{id}").format(id=broadcast.id),
                            callback_data=f"{DROP_PREFIX}{broadcast.id}",
                        )
                    ]
                )
    if len(lines) == 1:
        lines.append(_("None yet. /broadcast sends one."))
    *first, last = pack(["\n".join(lines)])
    for message in first:
        await chat.send_message(message)
    await chat.send_message(last, reply_markup=InlineKeyboardMarkup(buttons) if buttons else None)


@admin_only(Role.EDITOR)
async def drop_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Cancels a scheduled broadcast from /broadcasts."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None:
        return
    broadcast_id = parse_number(query.data.removeprefix(DROP_PREFIX))
    if broadcast_id is None:
        await answer_stale(query)
        return
    async with get_services(context).sessions.begin() as session:
        stopped = await store.stop(session, broadcast_id, utcnow())
        if stopped:
            await audit(session, user.id, "broadcast cancelled", f"#{broadcast_id}")
    await query.answer(
        _("Broadcast #{id} cancelled.").format(id=broadcast_id)
        if stopped
        else _("Too late: it has already gone."),
        show_alert=True,
    )


def handlers() -> list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]]:
    flow = conversation(
        entry_points=[CommandHandler("broadcast", start)],
        states={
            AUDIENCE: [
                CallbackQueryHandler(choose_audience, pattern=r"^adm:bc:aud:"),
                CallbackQueryHandler(preview_choice, pattern=r"^adm:bc:cancel$"),
            ],
            MESSAGE: [
                MessageHandler((filters.TEXT & ~filters.COMMAND) | filters.PHOTO, receive_message)
            ],
            PREVIEW: [
                CallbackQueryHandler(
                    preview_choice, pattern=r"^adm:bc:(send|schedule|urgent|cancel)$"
                )
            ],
            SCHEDULE: [CallbackQueryHandler(schedule_choice, pattern=r"^adm:bc:(at:|cancel)")],
            SCHEDULE_TYPED: [MessageHandler(filters.TEXT & ~filters.COMMAND, schedule_typed)],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        name="broadcast",
    )
    return [
        flow,  # type: ignore[list-item]
        CommandHandler("broadcasts", list_broadcasts),
        CallbackQueryHandler(stop_button, pattern=f"^{STOP_PREFIX}"),
        CallbackQueryHandler(drop_button, pattern=f"^{DROP_PREFIX}"),
    ]
