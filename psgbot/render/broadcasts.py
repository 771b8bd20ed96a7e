"""Broadcasts as Telegram HTML: /broadcast's prompts and preview, the progress report, and
/broadcasts.

The announcement itself is the admin's own message, sent with its entities (never as HTML).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup

from psgbot import broadcasts as store
from psgbot.dates import format_moment, format_short_moment
from psgbot.db.enums import BroadcastStatus
from psgbot.db.models import Broadcast
from psgbot.i18n import N_, Language, _, ngettext
from psgbot.numbers import format_count
from psgbot.render import buttons as data
from psgbot.render.markup import CAPTION_LIMIT, TITLE_LIMIT, escape, pack, shorten
from psgbot.topics import Taxonomy

REASON_LIMIT = 200  # a failure's reason as Telegram gave it


def language_note(written_in: Language) -> str:
    """Under a broadcast sent to a chat in the other language (it has no version in the
    chat's): plain text, in the chat's language."""
    if written_in == Language.ES:
        return _("This announcement is only in Spanish.")
    return _("This announcement is only in English.")


def translate_label(other: Language) -> str:
    if other == Language.ES:
        return _("🇪🇸 Add a Spanish version")
    return _("🇬🇧 Add an English version")


def translation_prompt(other: Language) -> str:
    if other == Language.ES:
        return _(
            "Send the Spanish version: the same message in Spanish (text; with a photo, its "
            "caption). Chats in Spanish get it; the others get yours."
        )
    return _(
        "Send the English version: the same message in English (text; with a photo, its "
        "caption). Chats in English get it; the others get yours."
    )


def new_broadcast_prompt() -> str:
    return _("📣 <b>New broadcast.</b> Who should receive it? (/cancel stops at any step)")


def audience_chosen_message(label: str, count: int) -> str:
    return _(
        "Audience: {label}, {chats}.\n\nNow send the message: text (your bold, italic "
        "and links are kept) or a photo with a caption."
    ).format(label=escape(shorten(label, TITLE_LIMIT)), chats=chats(count))


def preview_caption(label: str, count: int, urgent: bool, pin: bool = False) -> str:
    """The line under the preview, above Send now, Schedule, Urgent (and Pin in groups) and
    Cancel. An ordinary broadcast arrives without a sound, an urgent one with it."""
    return _("☝️ Preview. Audience: {label}, {chats}{urgent}.").format(
        label=escape(shorten(label, TITLE_LIMIT)),
        chats=chats(count),
        urgent=_urgency(urgent, pin),
    )


def _urgency(urgent: bool, pin: bool) -> str:
    if urgent and pin:
        return _(" · urgent (with a sound), pinned in groups")
    if urgent:
        return _(" · urgent (with a sound)")
    return _(" · without a sound")


def chats(count: int) -> str:
    """The number of chats, in words: 1 chat, 2 chats (plain text)."""
    return ngettext("{count} chat", "{count} chats", count).format(count=format_count(count))


def send_question(label: str, count: int, urgent: bool, pin: bool = False) -> str:
    """Send now's last check, with the audience counted as the button was pressed."""
    if urgent and pin:
        marked = _(", marked urgent and pinned in groups")
    else:
        marked = _(", marked urgent") if urgent else ""
    return _("📣 Send this to {label}: <b>{chats}</b>{urgent}? It goes out at once.").format(
        label=escape(shorten(label, TITLE_LIMIT)), chats=chats(count), urgent=marked
    )


def send_keyboard(count: int) -> InlineKeyboardMarkup:
    """Yes (naming the number of chats) or back to the preview's buttons."""
    yes = ngettext("Yes, send to {count} chat", "Yes, send to {count} chats", count)
    return InlineKeyboardMarkup(
        [
            [data.BROADCAST_CONFIRM.button(yes.format(count=format_count(count)))],
            [data.BROADCAST_BACK.button(_("No, back to the preview"))],
        ]
    )


def empty_audience_message(label: str) -> str:
    """A broadcast that would reach nobody is refused."""
    return _(
        "Nobody would receive this: the audience ({label}) is 0 chats right now, so nothing "
        "was sent. Cancel, then /broadcast to choose another audience."
    ).format(label=escape(shorten(label, TITLE_LIMIT)))


def scheduled_message(broadcast_id: int, at: datetime, count: int) -> str:
    """A broadcast stored for later (``at`` in the PSG's zone), with the chats it would reach
    now."""
    return _(
        "🗓 Broadcast #{id} scheduled for {when}. It would reach {chats} now (the audience is "
        "counted again when it goes). /broadcasts lists it, with a Cancel button."
    ).format(id=broadcast_id, when=escape(format_moment(at)), chats=chats(count))


def created_detail(broadcast: Broadcast, label: str) -> str:
    """The audit log's words for a new broadcast, in its writer's language as its audience's
    label is: number, audience, time (ISO 8601 in UTC, which /audit shows in its reader's
    language and the PSG's zone), urgent and pinned (plain text)."""
    at = broadcast.scheduled_at.astimezone(UTC).isoformat(timespec="minutes")
    marks = [_("urgent")] if broadcast.urgent else []
    marks += [_("pinned in groups")] if broadcast.pin else []
    return f"#{broadcast.id} → {label}, {at}" + (f" ({', '.join(marks)})" if marks else "")


def report_message(broadcast: Broadcast, progress: store.Progress, now: datetime) -> str:
    """The progress or final report of a broadcast."""
    started = broadcast.started_at or now
    seconds = int(((broadcast.finished_at or now) - started).total_seconds())
    heading = {
        store.DONE: _("✅ <b>Broadcast #{id} finished</b> in {seconds} s"),
        store.STOPPED: _("⏹ <b>Broadcast #{id} stopped</b> after {seconds} s"),
    }.get(broadcast.status, _("📣 <b>Broadcast #{id} sending…</b> {seconds} s"))
    lines = [
        heading.format(id=broadcast.id, seconds=seconds),
        _("Delivered: {count}").format(count=format_count(progress.sent)),
        _("Blocked (now inactive): {count}").format(count=format_count(progress.blocked)),
        _("Failed: {count}").format(count=format_count(progress.failed)),
    ]
    lines += [
        f"  · {escape(shorten(reason, REASON_LIMIT))}: {format_count(count)}"
        for reason, count in progress.reasons.most_common(5)
    ]
    if broadcast.pins_refused:
        # Delivered all the same: these groups did not give the bot the right to pin.
        lines.append(
            _("Delivered but not pinned (no right to pin there): {count}").format(
                count=format_count(broadcast.pins_refused)
            )
        )
    if broadcast.status == store.SENDING_STATUS:
        lines.append(_("Remaining: {count}").format(count=format_count(progress.remaining)))
    elif progress.cancelled:
        lines.append(
            _("Not sent (stopped): {count}").format(count=format_count(progress.cancelled))
        )
    return "\n".join(lines)


# What each status of a broadcast is called in /broadcasts, translated where shown.
STATUSES = {
    BroadcastStatus.SCHEDULED: N_("scheduled"),
    BroadcastStatus.SENDING: N_("sending"),
    BroadcastStatus.DONE: N_("sent"),
    BroadcastStatus.CANCELLED: N_("cancelled"),
}


def audience_label(audience: str, taxonomy: Taxonomy) -> str:
    """A stored audience in words: everyone, a topic's subscribers, one chat (plain text)."""
    try:
        kind, value = store.audience_of(audience)
    except store.AudienceError:
        return audience
    if kind == store.AudienceKind.ALL:
        return _("everyone")
    if kind == store.AudienceKind.TOPIC:
        topic = taxonomy.get(value)
        return _("subscribers of {topic}").format(topic=topic.name if topic else value)
    return _("chat {id}").format(id=value)


def figures(progress: store.Progress) -> str:
    """What became of a broadcast's messages: "3 delivered, 1 failed, 0 blocked" (plain
    text)."""
    counts = [
        ngettext("{count} delivered", "{count} delivered", progress.sent),
        ngettext("{count} failed", "{count} failed", progress.failed),
        ngettext("{count} blocked", "{count} blocked", progress.blocked),
    ]
    numbers = [progress.sent, progress.failed, progress.blocked]
    return ", ".join(
        form.format(count=format_count(number))
        for form, number in zip(counts, numbers, strict=True)
    )


def broadcast_line(
    broadcast: Broadcast, progress: store.Progress, zone: ZoneInfo, taxonomy: Taxonomy
) -> str:
    """One broadcast in /broadcasts: number, status, audience, when, figures."""
    parts = [
        f"#{broadcast.id}",
        _(STATUSES[broadcast.status]),
        shorten(audience_label(broadcast.audience, taxonomy), TITLE_LIMIT),
        format_short_moment(broadcast.scheduled_at.astimezone(zone)),
        figures(progress),
    ]
    if broadcast.urgent:
        parts.append(_("urgent"))
    if broadcast.pin:
        parts.append(_("pinned in groups"))
    return escape(" · ".join(parts))


def broadcasts_messages(
    listed: Sequence[tuple[Broadcast, store.Progress]], zone: ZoneInfo, taxonomy: Taxonomy
) -> list[str]:
    """/broadcasts: recent and scheduled broadcasts, in as many messages as needed."""
    lines = [_("📣 <b>Broadcasts</b>")]
    lines += [broadcast_line(broadcast, progress, zone, taxonomy) for broadcast, progress in listed]
    if len(lines) == 1:
        lines.append(_("None yet. /broadcast sends one."))
    return pack(["\n".join(lines)])


def caption_too_long_message(length: int) -> str:
    """A version for a photo's caption past Telegram's limit (the admin sends it again)."""
    return _(
        "This version goes out as the photo's caption, and a caption holds at most {limit} "
        "characters: this one has {length}. Send a shorter version, or /cancel."
    ).format(limit=CAPTION_LIMIT, length=length)
