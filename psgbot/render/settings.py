"""A chat's settings as Telegram HTML: /settings with its buttons, and the replies of /digest,
/quiet and /timezone (each bad input answered with an example)."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from babel.dates import get_day_names
from telegram import InlineKeyboardMarkup

from psgbot.db.enums import DigestMode
from psgbot.db.models import Chat
from psgbot.i18n import _, babel_locale, current_language
from psgbot.preferences import DEFAULT_DIGEST_TIME, DEFAULT_QUIET, SUGGESTED_ZONES
from psgbot.render.buttons import (
    SETTINGS_ANNOUNCEMENTS,
    SETTINGS_DELIVERY,
    SETTINGS_DONE,
    SETTINGS_LANGUAGE,
    SETTINGS_QUIET,
    SETTINGS_ZONE,
    ZONE_PICK,
)
from psgbot.render.markup import escape
from psgbot.render.menu import LANGUAGE_NAMES


def clock(moment: time) -> str:
    return moment.strftime("%H:%M")


def weekday_name(weekday: int) -> str:
    return str(get_day_names("wide", locale=babel_locale())[weekday])


def window(start: time, end: time) -> str:
    return f"{clock(start)}–{clock(end)}"


def delivery_label(chat: Chat) -> str:
    """ "instant", "daily digest at 08:00", "weekly digest on Monday at 08:00"."""
    at = clock(chat.digest_time or DEFAULT_DIGEST_TIME)
    if chat.digest == DigestMode.DAILY:
        return _("daily digest at {time}").format(time=at)
    if chat.digest == DigestMode.WEEKLY and chat.digest_weekday is not None:
        return _("weekly digest on {day} at {time}").format(
            day=weekday_name(chat.digest_weekday), time=at
        )
    return _("instant: each alert as it comes")


def quiet_label(chat: Chat) -> str:
    if chat.quiet_from is None or chat.quiet_until is None:
        return _("off")
    return window(chat.quiet_from, chat.quiet_until)


def settings_message(chat: Chat, zone: ZoneInfo, now: datetime, watches: int) -> str:
    """Everything a chat may set, as it stands, and the typed forms."""
    on_off = _("on") if chat.announcements else _("off")
    lines = [
        _("⚙️ <b>Settings</b>"),
        "",
        _("📬 Alerts: <b>{delivery}</b>").format(delivery=escape(delivery_label(chat))),
        _("🌙 Quiet hours: <b>{quiet}</b>").format(quiet=quiet_label(chat)),
        _("🕰 Time zone: <b>{zone}</b> (now {time})").format(
            zone=escape(zone.key), time=clock(now.astimezone(zone).time())
        ),
        _("🌐 Language: <b>{language}</b>").format(language=LANGUAGE_NAMES[current_language()]),
        _("📣 Announcements from the PSG: <b>{state}</b>").format(state=on_off),
        _("👁 Keyword watches: <b>{count}</b> (/watches lists them, /watch adds one)").format(
            count=watches
        ),
        "",
        _(
            "Tap to change, or type: /digest daily 08:00 · /digest weekly mon 08:00 · "
            "/digest off · /quiet 22:00-07:00 · /quiet off · /timezone America/Lima · "
            "/language · /announcements off"
        ),
    ]
    return "\n".join(lines)


def settings_keyboard(chat: Chat, zone: ZoneInfo) -> InlineKeyboardMarkup:
    def mark(chosen: bool, text: str) -> str:
        return ("✓ " if chosen else "") + text

    at = clock(chat.digest_time or DEFAULT_DIGEST_TIME)
    weekday = chat.digest_weekday if chat.digest_weekday is not None else 0
    delivery = [
        SETTINGS_DELIVERY.button(
            mark(chat.digest == DigestMode.INSTANT, _("Instant")), DigestMode.INSTANT.value
        ),
        SETTINGS_DELIVERY.button(
            mark(chat.digest == DigestMode.DAILY, _("Daily {time}").format(time=at)),
            DigestMode.DAILY.value,
        ),
        SETTINGS_DELIVERY.button(
            mark(
                chat.digest == DigestMode.WEEKLY,
                _("Weekly, {day}").format(day=weekday_name(weekday)[:3]),
            ),
            DigestMode.WEEKLY.value,
        ),
    ]
    if chat.quiet_from is None:
        quiet = _("🌙 Quiet hours {window}").format(window=window(*DEFAULT_QUIET))
    else:
        quiet = _("🌙 Turn quiet hours off")
    zones = [
        SETTINGS_ZONE.button(mark(zone.key == name, name), token)
        for token, name in SUGGESTED_ZONES.items()
    ]
    announcements = (
        _("📣 Turn announcements off") if chat.announcements else _("📣 Turn announcements on")
    )
    return InlineKeyboardMarkup(
        [
            delivery,
            [SETTINGS_QUIET.button(quiet)],
            zones,
            [
                SETTINGS_LANGUAGE.button(mark(language == current_language(), name), language)
                for language, name in LANGUAGE_NAMES.items()
            ],
            [SETTINGS_ANNOUNCEMENTS.button(announcements)],
            [SETTINGS_DONE.button(_("Done"))],
        ]
    )


def digest_usage() -> str:
    return _(
        "Choose how alerts come:\n"
        "• /digest daily 08:00: one message a day\n"
        "• /digest weekly mon 08:00: one message a week (mon, tue, wed, thu, fri, sat, sun)\n"
        "• /digest off: each alert as it comes\n"
        "Times are in this chat's time zone (/timezone)."
    )


def digest_set_message(chat: Chat, next_at: datetime | None, zone: ZoneInfo) -> str:
    if chat.digest == DigestMode.INSTANT:
        return _("✓ Alerts now come one by one, as items are published.")
    when = next_at.astimezone(zone) if next_at else None
    reply = _("✓ Alerts now come as a {delivery}.").format(delivery=escape(delivery_label(chat)))
    if when is not None:
        reply += " " + _("The next is on {day} at {time} ({zone}).").format(
            day=weekday_name(when.weekday()), time=clock(when.time()), zone=escape(zone.key)
        )
    return reply + " " + _("Nothing is sent when there is nothing new.")


def quiet_usage() -> str:
    return _(
        "Quiet hours hold alerts and announcements, then send what came as one message when "
        "they end. For example:\n/quiet 22:00-07:00\n/quiet off\n"
        "Times are in this chat's time zone (/timezone); urgent announcements still come."
    )


def quiet_set_message(chat: Chat, zone: ZoneInfo) -> str:
    if chat.quiet_from is None or chat.quiet_until is None:
        return _("✓ Quiet hours are off: alerts come at any time.")
    return _(
        "✓ Quiet hours {window} ({zone}). Alerts that come then are held and sent as one "
        "message at {end}; urgent announcements still come."
    ).format(
        window=window(chat.quiet_from, chat.quiet_until),
        zone=escape(zone.key),
        end=clock(chat.quiet_until),
    )


def timezone_usage() -> str:
    return _(
        "Send /timezone with an IANA time zone name, for example:\n"
        "/timezone Europe/London\n/timezone America/Lima\n"
        "or tap one below. Quiet hours, digests and the times shown use it."
    )


def timezone_keyboard(zone: ZoneInfo) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                ZONE_PICK.button(("✓ " if zone.key == name else "") + name, token)
                for token, name in SUGGESTED_ZONES.items()
            ]
        ]
    )


def timezone_set_message(zone: ZoneInfo, now: datetime) -> str:
    return _("✓ Time zone: <b>{zone}</b>. It is {time} there now.").format(
        zone=escape(zone.key), time=clock(now.astimezone(zone).time())
    )


def bad_time_message(typed: str) -> str:
    return _(
        "“{typed}” is not a time of day. Use 24-hour HH:MM, for example 08:00 or 21:30."
    ).format(typed=escape(typed[:40]))


def time_missing_message() -> str:
    return _("Add the time, in 24-hour HH:MM: /digest daily 08:00 or /digest weekly mon 08:00.")


def bad_weekday_message(typed: str) -> str:
    return _(
        "“{typed}” is not a day. Use mon, tue, wed, thu, fri, sat or sun: /digest weekly mon 08:00"
    ).format(typed=escape(typed[:40]))


def bad_window_message(typed: str) -> str:
    return _(
        "“{typed}” is not a window. Give a start and an end in 24-hour HH:MM, for example "
        "/quiet 22:00-07:00 (it may cross midnight), or /quiet off."
    ).format(typed=escape(typed[:40]))


def bad_zone_message(typed: str) -> str:
    return _(
        "“{typed}” is not a time zone I know. Use an IANA name, for example "
        "/timezone Europe/London or /timezone America/Lima."
    ).format(typed=escape(typed[:64]))


def settings_closed_message() -> str:
    return _("✓ Settings saved. /settings shows them again.")


def announcements_usage() -> str:
    return _(
        "Announcements are the PSG's messages to everyone who has not turned them off:\n"
        "/announcements on\n/announcements off"
    )


def announcements_set_message(on: bool) -> str:
    if on:
        return _("✓ Announcements from the PSG: on.")
    return _("✓ Announcements from the PSG: off. Alerts on your topics and watches go on.")
