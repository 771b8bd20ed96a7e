"""The admin views as Telegram HTML: /stats, /feeds, /poll, /audit, /admins and /edit's
prompts."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup

from psgbot.dates import format_moment
from psgbot.db.enums import AuditAction
from psgbot.db.models import Admin, AuditEntry, Feed
from psgbot.feeds.sources import display_source
from psgbot.i18n import N_, _, ngettext
from psgbot.numbers import format_count
from psgbot.render import buttons as data
from psgbot.render.markup import escape, fit, pack, shorten
from psgbot.topics import Taxonomy

if TYPE_CHECKING:  # data in, HTML out: render depends on no feature at run time
    from psgbot.feeds.poll import PollOutcome
    from psgbot.stats import Stats

SOURCE_LIMIT = 300  # a feed's address as shown; the full one is in the configuration
ERROR_LIMIT = 500
DETAIL_LIMIT = 300  # UTF-16 units: about 150 characters, as many emoji as letters


def moment(at: datetime | None, zone: ZoneInfo) -> str:
    """A date and time in the PSG's zone and the current language, "never" for none (plain
    text)."""
    if at is None:
        return _("never")
    try:
        local = at.astimezone(zone)
    except (OverflowError, ValueError):  # near year 1 or 9999: the zone's time cannot hold it
        local = at.astimezone(UTC)
    return format_moment(local)


# What each action of the audit log is called, translated where shown.
AUDIT_ACTIONS = {
    AuditAction.BROADCAST_CREATED: N_("broadcast created"),
    AuditAction.BROADCAST_SENT: N_("broadcast sent"),
    AuditAction.BROADCAST_STOPPED: N_("broadcast stopped"),
    AuditAction.BROADCAST_CANCELLED: N_("broadcast cancelled"),
    AuditAction.EVENT_ADDED: N_("event added"),
    AuditAction.EVENT_CHANGED: N_("event changed"),
    AuditAction.EVENT_CANCELLED: N_("event cancelled"),
    AuditAction.EVENTS_IMPORTED: N_("events imported"),
    AuditAction.TEXT_EDITED: N_("text edited"),
    AuditAction.TEXT_RESET: N_("text reset"),
    AuditAction.ADMIN_ADDED: N_("editor added"),
    AuditAction.ADMIN_REMOVED: N_("editor removed"),
    AuditAction.FEED_ENABLED: N_("feed enabled"),
    AuditAction.CHANNEL_CONNECTED: N_("channel connected"),
    AuditAction.CHANNEL_REMOVED: N_("channel removed"),
    AuditAction.CHANNEL_LANGUAGE: N_("channel language changed"),
    AuditAction.RETAG: N_("topics corrected"),
}


# A time as older audit entries wrote it (2026-12-01T18:30:00+00:00): shown in plain words.
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[+-]\d{2}:\d{2}|Z)?")


def _plain_times(text: str, zone: ZoneInfo) -> str:
    def readable(match: re.Match[str]) -> str:
        try:
            at = datetime.fromisoformat(match.group())
        except ValueError:
            return match.group()
        return moment(at if at.tzinfo else at.replace(tzinfo=zone), zone)

    return ISO_TIME.sub(readable, text)


def who(user_id: int | None, names: Mapping[int, str]) -> str:
    """An admin by name where Telegram gave one, else by number; the bot for its own actions
    (plain text)."""
    if user_id is None:
        return _("the bot")
    return names.get(user_id) or str(user_id)


def _source(source: str) -> str:
    return f"<code>{escape(shorten(display_source(source), SOURCE_LIMIT))}</code>"


def _counted(form: str, count: int) -> str:
    """``count`` in ``form``, the ngettext form it needs ("1 sent", "1 envío", "2 envíos")."""
    return form.format(count=format_count(count))


def _sent_and_failed(line: str, sent: int, failed: int) -> str:
    return line.format(
        sent=_counted(ngettext("{count} sent", "{count} sent", sent), sent),
        failed=_counted(ngettext("{count} failed", "{count} failed", failed), failed),
    )


def stats_message(figures: Stats, taxonomy: Taxonomy) -> str:
    """/stats: chats, subscribers per topic, items, messages sent and failed, outbox."""
    topics = "\n".join(
        f"  {escape(topic.name)}: {format_count(figures.subscribers.get(topic.slug, 0))}"
        for topic in taxonomy.topics
    )
    lines = [
        _("📊 <b>Statistics</b>"),
        _("Chats: {active} ({groups}), {inactive}").format(
            active=_counted(
                ngettext("{count} active", "{count} active", figures.active_chats),
                figures.active_chats,
            ),
            groups=_counted(
                ngettext("{count} group", "{count} groups", figures.active_groups),
                figures.active_groups,
            ),
            inactive=_counted(
                ngettext("{count} inactive", "{count} inactive", figures.inactive_chats),
                figures.inactive_chats,
            ),
        ),
        _("Subscribers per topic:"),
        topics,
        _("  All news: {count}").format(count=format_count(figures.subscribers.get("*", 0))),
        _("Items stored: {count}").format(count=format_count(figures.items)),
        _sent_and_failed(
            _("Alerts, last 24 hours: {sent}, {failed}"),
            figures.alerts_sent_day,
            figures.alerts_failed_day,
        ),
        _sent_and_failed(
            _("Alerts, last 7 days: {sent}, {failed}"),
            figures.alerts_sent_week,
            figures.alerts_failed_week,
        ),
    ]
    in_all = [
        (_("Alerts in all: {sent}, {failed}"), "alert"),
        (_("Broadcast messages in all: {sent}, {failed}"), "broadcast"),
        (_("Notices and reminders in all: {sent}, {failed}"), "notice"),
    ]
    lines += [
        _sent_and_failed(line, figures.sent_in_all.get(kind, 0), figures.failed_in_all.get(kind, 0))
        for line, kind in in_all
    ]
    lines.append(
        _counted(
            ngettext("Outbox: {count} waiting", "Outbox: {count} waiting", figures.outbox),
            figures.outbox,
        )
    )
    lines.append(
        _("Broadcasts this month: {count}").format(
            count=format_count(figures.broadcasts_this_month)
        )
    )
    return fit(["\n".join(lines)])


def feed_block(feed: Feed, items: int, zone: ZoneInfo) -> str:
    """One feed's health: state, last success and error, next check, items."""
    state = "🛑" if feed.disabled else "✅" if feed.failures == 0 else "⚠️"
    lines = [
        f"{state} {_source(feed.source)}",
        _("Last success: {at}").format(at=moment(feed.last_success_at, zone)),
        _("Next check: {at}").format(at=moment(feed.next_poll_at, zone)),
        _("Items: {count}").format(count=format_count(items)),
    ]
    if feed.disabled:
        lines.append(
            _("Disabled (410 Gone): /feeds enable {source}").format(
                source=escape(shorten(display_source(feed.source), SOURCE_LIMIT))
            )
        )
    if feed.failures:
        lines.insert(
            2,
            ngettext(
                "Failed once; last error: {error}",
                "Failing {count} times in a row; last error: {error}",
                feed.failures,
            ).format(
                count=format_count(feed.failures),
                error=escape(shorten(feed.last_error or "", ERROR_LIMIT)),
            ),
        )
    return "\n".join(lines)


def feeds_messages(feeds: Sequence[tuple[Feed, int]], zone: ZoneInfo) -> list[str]:
    """/feeds: a block per feed, in as many messages as needed."""
    blocks = [_("📡 <b>Feeds</b>")]
    blocks += [feed_block(feed, items, zone) for feed, items in feeds]
    if len(blocks) == 1:
        blocks.append(_("No feed has been polled yet."))
    return pack(blocks)


def poll_messages(outcomes: Sequence[PollOutcome]) -> list[str]:
    """/poll: what each feed gave."""
    lines = []
    for outcome in outcomes:
        source = _source(outcome.source)
        if outcome.error:
            lines.append(f"⚠️ {source}: {escape(shorten(outcome.error, ERROR_LIMIT))}")
        elif outcome.not_modified:
            lines.append(_("✅ {source}: not modified").format(source=source))
        else:
            lines.append(
                _("✅ {source}: {items}, {new}, {alerts}").format(
                    source=source,
                    items=_counted(
                        ngettext("{count} item", "{count} items", outcome.seen), outcome.seen
                    ),
                    new=_counted(ngettext("{count} new", "{count} new", outcome.new), outcome.new),
                    alerts=_counted(
                        ngettext("{count} alert", "{count} alerts", outcome.alerts), outcome.alerts
                    ),
                )
            )
    return pack(["\n".join(lines)]) if lines else []


def audit_messages(
    entries: Sequence[AuditEntry], zone: ZoneInfo, names: Mapping[int, str] | None = None
) -> list[str]:
    """/audit: the latest admin actions: when (in the PSG's zone), who (by name where
    ``names`` has one), what."""
    names = names or {}
    lines = [_("🧾 <b>Latest admin actions</b>")]
    for entry in entries:
        detail = _plain_times(entry.detail or "", zone)
        lines.append(
            f"{moment(entry.at, zone)} · {escape(shorten(who(entry.user_id, names), 100))} · "
            f"<b>{escape(_(AUDIT_ACTIONS[entry.action]))}</b>"
            + (f" {escape(shorten(detail, DETAIL_LIMIT))}" if detail else "")
        )
    if not entries:
        lines.append(_("Nothing yet."))
    return pack(["\n".join(lines)])


def admins_message(admins: Sequence[Admin], names: Mapping[int, str] | None = None) -> str:
    """/admins: owners and editors, by name where ``names`` has one, with their ids."""
    names = names or {}
    roles = {"owner": _("owner"), "editor": _("editor")}
    lines = [_("👥 <b>Administrators</b>")]
    for admin in admins:
        name = names.get(admin.user_id)
        shown = f"{escape(shorten(name, 100))} ({admin.user_id})" if name else str(admin.user_id)
        lines.append(f"{shown}: {escape(roles.get(admin.role, admin.role))}")
    lines.append(_("Owners come from PSGBOT_ADMINS; /admins add &lt;id&gt; adds an editor."))
    return fit(["\n".join(lines)])


def admins_usage() -> str:
    return _(
        "Usage: /admins, /admins add &lt;user id&gt;, /admins remove "
        "&lt;user id&gt;. A user id is a number; users can find theirs "
        "with @userinfobot."
    )


def reset_question(name: str) -> str:
    """/edit <name> reset asks first."""
    return _(
        "Put /{name} back to the PSG's original text? The edited versions stay in the history."
    ).format(name=escape(shorten(name, 32)))


def reset_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[data.TEXT_RESET.button(_("Reset")), data.TEXT_DISCARD.button(_("Cancel"))]]
    )


def reset_done(name: str) -> str:
    return _("Done: /{name} shows the PSG's original text again.").format(
        name=escape(shorten(name, 32))
    )


def edit_usage(names: Sequence[str]) -> str:
    usage = _(
        "Usage: /edit {names}, or /edit &lt;name&gt; reset. Each language is edited apart: "
        "/edit aims es (or en); without one, the language of this chat."
    )
    return fit([usage.format(names=escape("|".join(names)))])


def abandon_question(doing: str, command: str) -> str:
    """Asked when an admin starts a flow while another is open (``doing``: what it is)."""
    return _("You are still {doing}. Abandon it and start /{command}?").format(
        doing=escape(shorten(doing, 200)), command=escape(shorten(command, 32))
    )


def abandon_keyboard(command: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [data.FLOW_ABANDON.button(_("Abandon and start /{command}").format(command=command))],
            [data.FLOW_KEEP.button(_("Keep editing"))],
        ]
    )


def kept_message(doing: str) -> str:
    return _("Carry on {doing}: answer the last question above, or /cancel.").format(
        doing=escape(shorten(doing, 200))
    )


def abandoned_message(doing: str) -> str:
    return _("Stopped {doing}; nothing of it was saved or sent.").format(
        doing=escape(shorten(doing, 200))
    )
