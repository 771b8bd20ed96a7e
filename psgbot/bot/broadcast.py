"""Broadcasts once stored: progress, Stop, final report, and /broadcasts with Cancel.

Broadcasts go through the outbox and the dispatcher like alerts: this module only reports on
them (the /broadcast flow that stores them is psgbot.bot.broadcast_flow, wired with the other
admin flows in psgbot.bot.registry).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from psgbot import broadcasts as store
from psgbot.admins import AuditAction, Role, audit
from psgbot.bot.access import admin_only
from psgbot.bot.flows import Handler
from psgbot.db.models import Broadcast
from psgbot.db.types import utcnow
from psgbot.i18n import _, using
from psgbot.render.broadcasts import broadcasts_messages, figures, report_message
from psgbot.render.buttons import BROADCAST_DROP, BROADCAST_STOP
from psgbot.services import Services, get_services

log = logging.getLogger(__name__)

PROGRESS_EVERY = 3.0  # seconds between edits of a progress message


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
            # In the language its admin wrote it in (the language of their chat then).
            with using(broadcast.language):
                text = report_message(broadcast, progress, now)
                stop = BROADCAST_STOP.button(_("⏹ Stop"), broadcast.id)
                outcome = f"#{broadcast.id}: {figures(progress)}"
            markup = None if finished else InlineKeyboardMarkup([[stop]])
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
                await audit(session, None, AuditAction.BROADCAST_SENT, outcome)


async def progress_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    await update_progress(get_services(context), context.bot, utcnow())


@admin_only(Role.EDITOR)
async def stop_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop: cancels what has not gone yet, and shows the report so far."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None:
        return
    broadcast_id = BROADCAST_STOP.of(query)
    now = utcnow()
    async with get_services(context).sessions.begin() as session:
        stopped = await store.stop(session, broadcast_id, now)
        if stopped:
            await audit(session, user.id, AuditAction.BROADCAST_STOPPED, f"#{broadcast_id}")
        broadcast = await session.get(Broadcast, broadcast_id)
        progress = await store.progress_of(session, broadcast_id)
    await query.answer(
        _("Stopped: nothing more will be sent.")
        if stopped
        else _("This broadcast had already finished.")
    )
    if broadcast is not None and isinstance(query.message, Message):
        await query.edit_message_text(report_message(broadcast, progress, now))


@admin_only(Role.EDITOR)
async def list_broadcasts(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Recent and scheduled broadcasts with their figures; scheduled ones can be cancelled."""
    chat = update.effective_chat
    if chat is None:
        return
    services = get_services(context)
    listed = []
    async with services.reads() as session:
        for broadcast in await store.recent(session):
            listed.append((broadcast, await store.progress_of(session, broadcast.id)))
    buttons = [
        [BROADCAST_DROP.button(_("Cancel #{id}").format(id=broadcast.id), broadcast.id)]
        for broadcast, _progress in listed
        if broadcast.status == store.SCHEDULED
    ]
    *first, last = broadcasts_messages(listed, services.settings.zone, services.taxonomy)
    for message in first:
        await chat.send_message(message)
    await chat.send_message(last, reply_markup=InlineKeyboardMarkup(buttons) if buttons else None)


@admin_only(Role.EDITOR)
async def drop_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Cancels a scheduled broadcast from /broadcasts."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None:
        return
    broadcast_id = BROADCAST_DROP.of(query)
    async with get_services(context).sessions.begin() as session:
        stopped = await store.stop(session, broadcast_id, utcnow())
        if stopped:
            await audit(session, user.id, AuditAction.BROADCAST_CANCELLED, f"#{broadcast_id}")
    await query.answer(
        _("Broadcast #{id} cancelled.").format(id=broadcast_id)
        if stopped
        else _("Too late: it has already gone."),
        show_alert=True,
    )


def handlers() -> list[Handler]:
    return [
        CommandHandler("broadcasts", list_broadcasts),
        CallbackQueryHandler(stop_button, pattern=BROADCAST_STOP),
        CallbackQueryHandler(drop_button, pattern=BROADCAST_DROP),
    ]
