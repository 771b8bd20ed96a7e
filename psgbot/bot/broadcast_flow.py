"""/broadcast: audience, message, preview, then send now or later (psgbot.bot.broadcast_draft).

A ConversationHandler with /cancel at any step; every step (buttons included) checks the admin's
role again. Storing the draft hands it to the outbox and the dispatcher (psgbot.bot.broadcast
reports on it).
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from psgbot import broadcasts as store
from psgbot.admins import Role
from psgbot.bot.access import admin_only
from psgbot.bot.broadcast_draft import (
    AUDIENCE,
    CONFIRM,
    MESSAGE,
    PREVIEW,
    SCHEDULE,
    SCHEDULE_TYPED,
    STATE,
    TRANSLATION,
    BroadcastDraft,
    ask_typed_time,
    ask_when,
    back_to_preview,
    confirm_send,
    draft_of,
    in_one_hour,
    schedule_typed,
    send_now,
    tomorrow_morning,
)
from psgbot.bot.flows import Callback, Flow, Handler
from psgbot.i18n import _, current_language
from psgbot.render import buttons as data
from psgbot.render.broadcasts import (
    audience_chosen_message,
    caption_too_long_message,
    chats,
    new_broadcast_prompt,
    translation_prompt,
)
from psgbot.render.markup import CAPTION_LIMIT, utf16_len
from psgbot.services import get_services


@admin_only(Role.EDITOR)
async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Step 1: who receives it."""
    chat = update.effective_chat
    if chat is None:
        return ConversationHandler.END
    STATE.start(context, BroadcastDraft(language=current_language()))
    async with get_services(context).reads() as session:
        everyone = await store.audience_size(session, "all")
    keyboard = InlineKeyboardMarkup(
        [
            [data.AUDIENCE_ALL.button(_("Everyone ({chats})").format(chats=chats(everyone)))],
            [data.AUDIENCE_TOPICS.button(_("Subscribers of one topic"))],
            [data.AUDIENCE_ME.button(_("Only me (a test)"))],
            [data.BROADCAST_CANCEL.button(_("Cancel"))],
        ]
    )
    await chat.send_message(new_broadcast_prompt(), reply_markup=keyboard)
    return AUDIENCE


@admin_only(Role.EDITOR)
async def choose_topic(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """ "Subscribers of one topic": a button per topic, with its audience."""
    query = update.callback_query
    if query is None:
        return ConversationHandler.END
    await query.answer()
    services = get_services(context)
    async with services.reads() as session:
        rows = [
            [
                data.AUDIENCE_TOPIC.button(
                    f"{topic.emoji} {topic.name} "
                    f"({chats(await store.audience_size(session, 'topic:' + topic.slug))})",
                    topic.slug,
                )
            ]
            for topic in services.taxonomy.topics
        ]
    await query.edit_message_text(
        _("Which topic's subscribers?"), reply_markup=InlineKeyboardMarkup(rows)
    )
    return AUDIENCE


async def _audience_chosen(
    update: Update, context: ContextTypes.DEFAULT_TYPE, audience: str, label: str
) -> int:
    """Step 2 begins: the draft's audience is set; the admin is asked for the message."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    async with get_services(context).reads() as session:
        count = await store.audience_size(session, audience)
    draft = STATE.get(context) or STATE.start(context, BroadcastDraft())
    draft.audience, draft.label, draft.count = audience, label, count
    await query.edit_message_text(audience_chosen_message(label, count))
    return MESSAGE


@admin_only(Role.EDITOR)
async def audience_all(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    return await _audience_chosen(update, context, "all", _("everyone"))


@admin_only(Role.EDITOR)
async def audience_me(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    user = update.effective_user
    assert user is not None
    return await _audience_chosen(update, context, f"chat:{user.id}", _("only you"))


@admin_only(Role.EDITOR)
async def audience_topic(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None
    slug = data.AUDIENCE_TOPIC.of(query)
    topic = get_services(context).taxonomy.get(slug)
    if topic is None:
        await query.answer()
        await query.edit_message_text(_("That topic no longer exists. /broadcast again."))
        STATE.drop(context)
        return ConversationHandler.END
    label = _("subscribers of {topic}").format(topic=topic.name)
    return await _audience_chosen(update, context, f"topic:{slug}", label)


@admin_only(Role.EDITOR)
async def receive_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Step 2: the message itself, then step 3: the preview, exactly as recipients see it."""
    message, draft = update.effective_message, STATE.get(context)
    if message is None or draft is None:
        return ConversationHandler.END
    if message.photo:
        draft.photo, draft.text = message.photo[-1].file_id, message.caption or ""
        draft.entities = [entity.to_dict() for entity in message.caption_entities]
        await message.chat.send_photo(
            draft.photo,
            caption=draft.text or None,
            caption_entities=list(message.caption_entities),
            parse_mode=None,
        )
    else:
        draft.photo, draft.text = None, message.text or ""
        draft.entities = [entity.to_dict() for entity in message.entities]
        await message.chat.send_message(
            draft.text, entities=list(message.entities), parse_mode=None
        )
    await message.chat.send_message(draft.caption(), reply_markup=draft.keyboard())
    return PREVIEW


@admin_only(Role.EDITOR)
async def ask_translation(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Add a Spanish (or English) version: the same message in the other language."""
    if (draft := await draft_of(update, context)) is None:
        return ConversationHandler.END
    assert update.callback_query is not None
    await update.callback_query.edit_message_text(translation_prompt(draft.other_language))
    return TRANSLATION


@admin_only(Role.EDITOR)
async def receive_translation(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """The other language's version, shown as its chats will see it; then the preview's
    buttons again."""
    message, draft = update.effective_message, STATE.get(context)
    if message is None or draft is None or message.text is None:
        return ConversationHandler.END
    if draft.photo and (length := utf16_len(message.text)) > CAPTION_LIMIT:
        # It goes out as the photo's caption, which Telegram bounds: ask again, keep nothing.
        await message.reply_text(caption_too_long_message(length))
        return TRANSLATION
    draft.translation = message.text
    draft.translation_entities = [entity.to_dict() for entity in message.entities]
    if draft.photo:
        await message.chat.send_photo(
            draft.photo, caption=message.text, caption_entities=message.entities, parse_mode=None
        )
    else:
        await message.chat.send_message(
            message.text, entities=list(message.entities), parse_mode=None
        )
    await message.chat.send_message(draft.caption(), reply_markup=draft.keyboard())
    return PREVIEW


@admin_only(Role.EDITOR)
async def toggle_urgent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Urgent broadcasts go before alerts, with a sound; turning Urgent off unpins."""
    if (draft := await draft_of(update, context)) is None:
        return ConversationHandler.END
    draft.toggle_urgent()
    assert update.callback_query is not None
    await update.callback_query.edit_message_text(draft.caption(), reply_markup=draft.keyboard())
    return PREVIEW


@admin_only(Role.EDITOR)
async def toggle_pin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Pin in groups, offered while Urgent is on; an older keyboard's press while it is off
    changes nothing (the preview stays as it is)."""
    if (draft := await draft_of(update, context)) is None:
        return ConversationHandler.END
    assert update.callback_query is not None
    if draft.toggle_pin():
        await update.callback_query.edit_message_text(
            draft.caption(), reply_markup=draft.keyboard()
        )
    return PREVIEW


@admin_only(Role.EDITOR)
async def discard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Cancel, at any step with buttons."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    STATE.drop(context)
    await query.edit_message_text(_("Broadcast cancelled; nothing was sent."))
    return ConversationHandler.END


def flow() -> Flow:
    """/broadcast, a part of the admins' one conversation (psgbot.bot.flows)."""

    def on(button: data.Action | data.Keyed[str], callback: Callback) -> Handler:
        return CallbackQueryHandler(callback, pattern=button)

    return Flow(
        doing=lambda: _("writing a broadcast"),
        state=STATE,
        commands={"broadcast": start},
        states={
            AUDIENCE: [
                on(data.AUDIENCE_ALL, audience_all),
                on(data.AUDIENCE_ME, audience_me),
                on(data.AUDIENCE_TOPICS, choose_topic),
                on(data.AUDIENCE_TOPIC, audience_topic),
                on(data.BROADCAST_CANCEL, discard),
            ],
            MESSAGE: [
                MessageHandler((filters.TEXT & ~filters.COMMAND) | filters.PHOTO, receive_message)
            ],
            PREVIEW: [
                on(data.BROADCAST_SEND, send_now),
                on(data.BROADCAST_SCHEDULE, ask_when),
                on(data.BROADCAST_URGENT, toggle_urgent),
                on(data.BROADCAST_PIN, toggle_pin),
                on(data.BROADCAST_TRANSLATE, ask_translation),
                on(data.BROADCAST_CANCEL, discard),
            ],
            TRANSLATION: [MessageHandler(filters.TEXT & ~filters.COMMAND, receive_translation)],
            SCHEDULE: [
                on(data.AT_ONE_HOUR, in_one_hour),
                on(data.AT_TOMORROW, tomorrow_morning),
                on(data.AT_TYPED, ask_typed_time),
                on(data.BROADCAST_CANCEL, discard),
            ],
            SCHEDULE_TYPED: [MessageHandler(filters.TEXT & ~filters.COMMAND, schedule_typed)],
            CONFIRM: [
                on(data.BROADCAST_CONFIRM, confirm_send),
                on(data.BROADCAST_BACK, back_to_preview),
                on(data.BROADCAST_CANCEL, discard),
            ],
        },
    )
