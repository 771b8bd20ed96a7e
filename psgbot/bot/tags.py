"""/why and /tag: why an item of /latest has its topics, and editors' corrections of them."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, ContextTypes

from psgbot.admins import Role
from psgbot.bot.access import admin_only
from psgbot.bot.flows import Handler
from psgbot.db.types import utcnow
from psgbot.news import MAX_LATEST, nth_latest
from psgbot.numbers import parse_number
from psgbot.render.topics import (
    no_such_item,
    position_out_of_range,
    retag_message,
    tag_contradiction,
    tag_unknown_topic,
    tag_usage,
    why_messages,
    why_usage,
)
from psgbot.retag import Contradiction, NoChanges, UnknownTopic, parse_changes, retag
from psgbot.services import get_services


def _position(word: str) -> int | None:
    return parse_number(word, high=MAX_LATEST)


@admin_only(Role.EDITOR)
async def why(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Item n of /latest: each topic's score, whether the item has it, and the cues behind it."""
    chat = update.effective_chat
    if chat is None:
        return
    args = context.args or []
    if len(args) != 1:
        await chat.send_message(why_usage())
        return
    position = _position(args[0])
    if position is None:
        await chat.send_message(position_out_of_range("why", MAX_LATEST))
        return
    services = get_services(context)
    async with services.reads() as session:
        item, count = await nth_latest(session, position)
        if item is None:
            messages = [no_such_item(position, count)]
        else:
            scores = services.taxonomy.explain(item.title, item.summary, item.categories or ())
            messages = why_messages(position, item, scores, services.taxonomy)
    for message in messages:
        await chat.send_message(message)


@admin_only(Role.EDITOR)
async def tag(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/tag <n> +mining -economy``: retags item n of /latest, audits it, and alerts the
    followers of the added topics who have not had the item."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return
    services = get_services(context)
    taxonomy = services.taxonomy
    args = context.args or []
    if len(args) < 2:
        await chat.send_message(tag_usage())
        return
    position = _position(args[0])
    if position is None:
        await chat.send_message(position_out_of_range("tag", MAX_LATEST))
        return
    try:
        changes = parse_changes(args[1:], taxonomy)
    except UnknownTopic as exc:
        await chat.send_message(tag_unknown_topic(exc.name, taxonomy))
        return
    except Contradiction as exc:
        await chat.send_message(tag_contradiction(exc.slug, taxonomy))
        return
    except NoChanges:
        await chat.send_message(tag_usage())
        return
    settings = services.settings
    alerted = 0
    async with services.sessions.begin() as session:
        item, count = await nth_latest(session, position)
        if item is None:
            reply = no_such_item(position, count)
        else:
            result = await retag(
                session,
                item,
                changes,
                user_id=user.id if user else None,
                now=utcnow(),
                max_age=settings.alert_max_age,
                retention=settings.delivery_retention,
                zone=settings.zone,
            )
            reply = retag_message(position, item, result, taxonomy, settings.alert_max_age)
            alerted = result.alerted
    if alerted:
        services.wake_dispatcher()
    await chat.send_message(reply)


def handlers() -> list[Handler]:
    return [CommandHandler("why", why), CommandHandler("tag", tag)]
