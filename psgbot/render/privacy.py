"""/privacy, /mydata and /stop as Telegram HTML."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from psgbot.i18n import _, ngettext
from psgbot.numbers import format_count
from psgbot.render.markup import CAPTION_LIMIT, escape, fit, shorten
from psgbot.topics import Taxonomy


def duration(value: timedelta) -> str:
    """A retention period in words: "90 days", "12 hours"."""
    if value >= timedelta(days=1):
        days = round(value / timedelta(days=1))
        return ngettext("{n} day", "{n} days", days).format(n=days)
    hours = max(0, round(value / timedelta(hours=1)))
    return ngettext("{n} hour", "{n} hours", hours).format(n=hours)


def privacy_notice(delivery_retention: timedelta, inactive_retention: timedelta) -> str:
    """/privacy: what is stored, why, for how long, who sees it, and how to see or delete it."""
    return "\n".join(
        [
            _("🔒 <b>Your privacy</b>"),
            "",
            _(
                "<b>What is stored about this chat:</b> its Telegram id and type (private chat "
                "or group), its language, the topics it follows, the words it watches (/watch), "
                "whether it wants announcements from the PSG, whether it stopped everything, its "
                "settings (time zone, digests, quiet hours), the events it asked to be reminded "
                "of, and a record of each message sent to it (when, and whether it arrived)."
            ),
            _(
                "<b>Never stored:</b> names, usernames, group titles, phone numbers, or anything "
                "you type other than commands."
            ),
            "",
            _(
                "<b>Why:</b> only to send what this chat asked for, once each, and to count how "
                "many messages went out."
            ),
            "",
            _("<b>How long:</b>"),
            _(
                "• the record of a message: {delivery} (PSGBOT_DELIVERY_RETENTION), then it "
                "becomes an anonymous daily count;"
            ).format(delivery=escape(duration(delivery_retention))),
            _("• a reminder: until its event is over;"),
            _(
                "• everything about a chat that blocks or removes the bot: {inactive} "
                "(PSGBOT_INACTIVE_RETENTION), then it is deleted;"
            ).format(inactive=escape(duration(inactive_retention))),
            _("• everything else: until you delete it with /forget."),
            "",
            _(
                "<b>Who sees it:</b> the Peru Support Group's administrators see counts only "
                "(how many chats, how many messages), never who follows what. Nothing is given "
                "or sold to anyone else."
            ),
            "",
            _(
                "/mydata sends you everything stored about this chat. /forget deletes it all. "
                "/stop ends every message without deleting your choices."
            ),
        ]
    )


def my_data_summary(record: dict[str, Any] | None, taxonomy: Taxonomy) -> str:
    """The caption of /mydata's file: the record in a few lines (at most a caption long)."""
    if record is None:
        return _("Nothing is stored about this chat.")
    chat = record["chat"] or {}
    topics = [
        _("all news") if entry["topic"] == "*" else _topic_name(entry["topic"], taxonomy)
        for entry in record["subscriptions"]
    ]
    lines = [_("<b>Everything stored about this chat</b> (in full in the file):")]
    lines.append(
        _("• Alerts on: {topics}").format(topics=escape(", ".join(topics)))
        if topics
        else _("• Alerts on: no topics")
    )
    watches = [entry["phrase"] for entry in record.get("watches", [])]
    lines.append(
        _("• Watching: {phrases}").format(phrases=escape(shorten(", ".join(watches), 300)))
        if watches
        else _("• Watching: no words")
    )
    lines.append(
        _("• Announcements from the PSG: on")
        if chat.get("announcements", True)
        else _("• Announcements from the PSG: off")
    )
    if chat.get("stopped_at"):
        lines.append(_("• Stopped: nothing is sent to this chat"))
    lines.append(
        ngettext(
            "• Reminders: {n} event", "• Reminders: {n} events", len(record["reminders"])
        ).format(n=format_count(len(record["reminders"])))
    )
    lines.append(
        ngettext(
            "• Messages on record: {n}", "• Messages on record: {n}", record["messages_stored"]
        ).format(n=format_count(record["messages_stored"]))
    )
    lines.append(_("/forget deletes all of it."))
    return fit(["\n".join(lines), "\n".join([lines[0], lines[-1]])], CAPTION_LIMIT)


def _topic_name(slug: str, taxonomy: Taxonomy) -> str:
    topic = taxonomy.get(slug)
    return topic.name if topic else slug


def stopped_message() -> str:
    return "\n".join(
        [
            _("⏹ <b>Stopped.</b> This chat will get nothing more from me:"),
            _("• no news alerts,"),
            _("• no event reminders,"),
            _("• no announcements from the PSG."),
            _("Messages that were waiting have been cancelled."),
            "",
            _(
                "Your topics, watches and reminders are kept (nothing is sent for them): tap "
                "Undo, or use /subscribe or /watch, to start again. /forget deletes them."
            ),
        ]
    )
