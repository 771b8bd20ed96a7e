"""A chat's settings: /settings (one message whose buttons edit it in place), and the typed
forms /digest, /quiet and /timezone. In groups only the group's administrators change them."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from telegram import Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from psgbot.admins import role_of
from psgbot.bot.access import chat_to_manage
from psgbot.bot.flows import Handler
from psgbot.bot.language import set_chat_menus
from psgbot.chats import choose_language, ensure_chat
from psgbot.db.enums import DigestMode
from psgbot.db.models import Chat
from psgbot.i18n import _, set_language
from psgbot.preferences import (
    DAILY_WORDS,
    DEFAULT_QUIET,
    OFF_WORDS,
    ON_WORDS,
    SUGGESTED_ZONES,
    WEEKLY_WORDS,
    Change,
    change,
    chat_zone,
    parse_clock,
    parse_weekday,
    parse_window,
    unaccented,
    zone_named,
)
from psgbot.privacy import resume_chat
from psgbot.render import buttons as data
from psgbot.render import settings as render
from psgbot.services import get_services
from psgbot.watches import watches_of


def refusal() -> str:
    return _("Only this group's administrators can change its settings.")


async def _apply(update: Update, context: ContextTypes.DEFAULT_TYPE, what: Change) -> Chat | None:
    """Stores a change for the chat (once the user may make it); the chat as it now stands."""
    chat = update.effective_chat
    if chat is None or await chat_to_manage(update, context, refusal()) is None:
        return None
    services = get_services(context)
    async with services.sessions.begin() as session:
        stored = await ensure_chat(session, chat)
        await change(session, stored, what, services.settings.zone, services.clock())
    return stored


async def settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Everything the chat may set, with buttons."""
    chat = update.effective_chat
    if chat is None or await chat_to_manage(update, context, refusal()) is None:
        return
    services = get_services(context)
    async with services.sessions.begin() as session:
        stored = await ensure_chat(session, chat)
        watches = len(await watches_of(session, chat.id))
    zone = chat_zone(stored, services.settings.zone)
    await chat.send_message(
        render.settings_message(stored, zone, services.clock(), watches),
        reply_markup=render.settings_keyboard(stored, zone),
    )


async def digest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/digest daily HH:MM, /digest weekly <day> HH:MM, /digest off."""
    message, args = update.effective_message, [unaccented(arg) for arg in context.args or []]
    if message is None:
        return
    if not args or args[0] not in DAILY_WORDS | WEEKLY_WORDS | OFF_WORDS:
        await message.reply_text(render.digest_usage())
        return
    what: Change
    if args[0] in OFF_WORDS:
        what = Change(digest=DigestMode.INSTANT)
    elif args[0] in DAILY_WORDS:
        if len(args) < 2:
            await message.reply_text(render.time_missing_message())
            return
        if len(args) != 2 or (at := parse_clock(args[1])) is None:
            await message.reply_text(render.bad_time_message(" ".join(args[1:])))
            return
        what = Change(digest=DigestMode.DAILY, digest_time=at)
    else:
        if len(args) < 2 or (weekday := parse_weekday(args[1])) is None:
            await message.reply_text(render.bad_weekday_message(args[1] if len(args) > 1 else ""))
            return
        if len(args) < 3:
            await message.reply_text(render.time_missing_message())
            return
        if len(args) != 3 or (at := parse_clock(args[2])) is None:
            await message.reply_text(render.bad_time_message(" ".join(args[2:])))
            return
        what = Change(digest=DigestMode.WEEKLY, digest_time=at, digest_weekday=weekday)
    stored = await _apply(update, context, what)
    if stored is not None:
        zone = chat_zone(stored, get_services(context).settings.zone)
        await message.reply_text(render.digest_set_message(stored, stored.digest_at, zone))


async def quiet(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/quiet HH:MM-HH:MM (it may cross midnight), /quiet off."""
    message, typed = update.effective_message, " ".join(context.args or []).strip()
    if message is None:
        return
    if not typed:
        await message.reply_text(render.quiet_usage())
        return
    if unaccented(typed) in OFF_WORDS:
        what = Change(quiet_off=True)
    elif (window := parse_window(typed)) is None:
        await message.reply_text(render.bad_window_message(typed))
        return
    else:
        what = Change(quiet=window)
    stored = await _apply(update, context, what)
    if stored is not None:
        zone = chat_zone(stored, get_services(context).settings.zone)
        await message.reply_text(render.quiet_set_message(stored, zone))


async def timezone(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/timezone <IANA name>; without one, the suggested zones as buttons."""
    message, typed = update.effective_message, " ".join(context.args or []).strip()
    chat = update.effective_chat
    if message is None or chat is None:
        return
    services = get_services(context)
    if not typed:
        async with services.reads() as session:
            stored = await session.get(Chat, chat.id)
        zone = chat_zone(stored, services.settings.zone)
        await message.reply_text(
            render.timezone_usage(), reply_markup=render.timezone_keyboard(zone)
        )
        return
    zone_ = zone_named(typed)
    if zone_ is None:
        await message.reply_text(render.bad_zone_message(typed))
        return
    if await _apply(update, context, Change(timezone=zone_.key)) is not None:
        await message.reply_text(render.timezone_set_message(zone_, services.clock()))


async def announcements(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/announcements on, /announcements off."""
    message, chat = update.effective_message, update.effective_chat
    typed = unaccented(" ".join(context.args or []).strip())
    if message is None or chat is None:
        return
    if typed not in ON_WORDS | OFF_WORDS:
        await message.reply_text(render.announcements_usage())
        return
    if await chat_to_manage(update, context, refusal()) is None:
        return
    async with get_services(context).sessions.begin() as session:
        stored = await ensure_chat(session, chat)
        stored.announcements = typed in ON_WORDS
        if stored.announcements:
            await resume_chat(session, chat.id)
    await message.reply_text(render.announcements_set_message(stored.announcements))


async def _redraw(update: Update, context: ContextTypes.DEFAULT_TYPE, stored: Chat) -> None:
    """The /settings message again, as the chat now stands."""
    query = update.callback_query
    assert query is not None
    services = get_services(context)
    zone = chat_zone(stored, services.settings.zone)
    async with services.reads() as session:
        watches = len(await watches_of(session, stored.id))
    await query.answer()
    try:
        await query.edit_message_text(
            render.settings_message(stored, zone, services.clock(), watches),
            reply_markup=render.settings_keyboard(stored, zone),
        )
    except BadRequest as exc:
        # The button pressed was the one already ticked: nothing changed, nothing to redraw.
        if "message is not modified" not in exc.message.lower():
            raise


async def delivery_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Instant, daily or weekly, at the chat's digest time (08:00 until typed otherwise)."""
    assert update.callback_query is not None
    try:
        mode = DigestMode(data.SETTINGS_DELIVERY.of(update.callback_query))
    except ValueError:
        await update.callback_query.answer(_("That button is out of date: /settings"))
        return
    # Weekly keeps the day the chat chose before (the button names it), Monday at first.
    chat = update.effective_chat
    async with get_services(context).reads() as session:
        current = await session.get(Chat, chat.id) if chat is not None else None
    weekday = current.digest_weekday if current and current.digest_weekday is not None else 0
    what = Change(digest=mode, digest_weekday=weekday if mode == DigestMode.WEEKLY else None)
    if (stored := await _apply(update, context, what)) is not None:
        await _redraw(update, context, stored)


async def quiet_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Quiet hours on (22:00-07:00) or off."""
    chat = update.effective_chat
    if chat is None:
        return
    async with get_services(context).reads() as session:
        stored = await session.get(Chat, chat.id)
    on = stored is not None and stored.quiet_from is not None
    what = Change(quiet_off=True) if on else Change(quiet=DEFAULT_QUIET)
    if (stored := await _apply(update, context, what)) is not None:
        await _redraw(update, context, stored)


async def zone_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A suggested zone, from /settings."""
    assert update.callback_query is not None
    name = SUGGESTED_ZONES.get(data.SETTINGS_ZONE.of(update.callback_query))
    if name is None:
        await update.callback_query.answer(_("That button is out of date: /settings"))
        return
    if (stored := await _apply(update, context, Change(timezone=name))) is not None:
        await _redraw(update, context, stored)


async def pick_zone(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A suggested zone, under /timezone's reply: the reply says what is set now."""
    query = update.callback_query
    assert query is not None
    name = SUGGESTED_ZONES.get(data.ZONE_PICK.of(query))
    if name is None:
        await query.answer(_("That button is out of date: /timezone"))
        return
    if await _apply(update, context, Change(timezone=name)) is not None:
        await query.answer()
        now = get_services(context).clock()
        await query.edit_message_text(render.timezone_set_message(ZoneInfo(name), now))


async def announcements_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Announcements from the PSG to everyone: on or off."""
    chat = update.effective_chat
    if chat is None or await chat_to_manage(update, context, refusal()) is None:
        return
    async with get_services(context).sessions.begin() as session:
        stored = await ensure_chat(session, chat)
        stored.announcements = not stored.announcements
        if stored.announcements:
            await resume_chat(session, chat.id)
    await _redraw(update, context, stored)


async def language_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """English or Español, as /language chooses; the settings are shown again in it."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    chosen = data.SETTINGS_LANGUAGE.of(query)
    if await chat_to_manage(update, context, refusal()) is None:
        return
    async with get_services(context).sessions.begin() as session:
        await choose_language(session, chat, chosen)
        stored = await ensure_chat(session, chat)
        role = await role_of(session, query.from_user.id) if chat.type == ChatType.PRIVATE else None
    set_language(chosen)
    await set_chat_menus(context.bot, chat, chosen, role)
    await _redraw(update, context, stored)


async def done_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Closes the settings: the message stays, without its buttons."""
    query = update.callback_query
    if query is None or await chat_to_manage(update, context, refusal(), answer=True) is None:
        return
    await query.edit_message_text(render.settings_closed_message())


def handlers() -> list[Handler]:
    return [
        CommandHandler("settings", settings),
        CommandHandler("digest", digest),
        CommandHandler("quiet", quiet),
        CommandHandler("timezone", timezone),
        CommandHandler("announcements", announcements),
        CallbackQueryHandler(delivery_button, pattern=data.SETTINGS_DELIVERY),
        CallbackQueryHandler(quiet_button, pattern=data.SETTINGS_QUIET),
        CallbackQueryHandler(zone_button, pattern=data.SETTINGS_ZONE),
        CallbackQueryHandler(pick_zone, pattern=data.ZONE_PICK),
        CallbackQueryHandler(announcements_button, pattern=data.SETTINGS_ANNOUNCEMENTS),
        CallbackQueryHandler(language_button, pattern=data.SETTINGS_LANGUAGE),
        CallbackQueryHandler(done_button, pattern=data.SETTINGS_DONE),
    ]
