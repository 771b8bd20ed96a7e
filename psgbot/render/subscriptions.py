"""Subscriptions as Telegram HTML: /subscribe, /unsubscribe, /mysubs and the topic keyboard's
replies."""

from __future__ import annotations

from psgbot.db.models import ALL_NEWS
from psgbot.i18n import _
from psgbot.render.markup import TITLE_LIMIT, escape, fit, shorten
from psgbot.topics import Taxonomy


def _bold(name: str) -> str:
    return f"<b>{escape(shorten(name, TITLE_LIMIT))}</b>"


def followed_names(followed: set[str], taxonomy: Taxonomy) -> str:
    """ "Justice and Politics" style list of what a chat follows, each name in bold."""
    names = [_("all news")] if ALL_NEWS in followed else []
    names += [topic.name for topic in taxonomy.topics if topic.slug in followed]
    return ", ".join(_bold(name) for name in names)


def topic_name(slug: str, taxonomy: Taxonomy) -> str:
    """A topic's name, "all news" for ALL_NEWS (plain text, for a button's answer)."""
    topic = taxonomy.get(slug)
    return topic.name if topic else _("all news")


def resumed_note() -> str:
    return _(
        "This chat had stopped everything: what it chose before /stop (topics, event "
        "reminders, announcements) starts again too."
    )


def subscribed_message(name: str, resumed: bool) -> str:
    """After ``/subscribe <topic>`` or a deep link."""
    reply = _(
        "✓ Subscribed to {topic}. New items will arrive here as they are published. "
        "/mysubs lists your topics, /unsubscribe stops them."
    ).format(topic=_bold(name))
    return f"{reply}\n{resumed_note()}" if resumed else reply


def unsubscribed_message(name: str, remaining: set[str], taxonomy: Taxonomy) -> str:
    """After ``/unsubscribe <topic>``: what is still followed."""
    reply = _("Unsubscribed from {topic}.").format(topic=_bold(name))
    if remaining:
        reply += " " + _("Still following: {topics}.").format(
            topics=followed_names(remaining, taxonomy)
        )
    return fit([reply])


def unsubscribed_by_button_message(name: str) -> str:
    """After an alert's Unsubscribe button."""
    return _("Unsubscribed from {topic}. /subscribe to choose again.").format(topic=_bold(name))


def _followed_message(template: str, followed: set[str], taxonomy: Taxonomy) -> str:
    return fit([template.format(topics=followed_names(followed, taxonomy))])


def my_subscriptions_message(followed: set[str], taxonomy: Taxonomy) -> str:
    """/mysubs."""
    if not followed:
        return _("No subscriptions yet. /subscribe to choose topics.")
    template = _("This chat gets alerts on: {topics}.")
    return _followed_message(
        template + "\n" + _("/subscribe to change them, /stop to end them all."), followed, taxonomy
    )


def keyboard_done_message(followed: set[str], taxonomy: Taxonomy) -> str:
    """The topic keyboard's Done."""
    if not followed:
        return _("No topics chosen, so no alerts. /subscribe any time.")
    return _followed_message(_("✓ Done. This chat gets alerts on: {topics}."), followed, taxonomy)


def keyboard_intro(intro: str, stopped: bool) -> str:
    """The text above the topic keyboard; a stopped chat hears that a choice starts it again."""
    if not stopped:
        return intro
    note = _("This chat has stopped everything (/stop): choosing a topic starts it all again.")
    return f"{note}\n{intro}"
