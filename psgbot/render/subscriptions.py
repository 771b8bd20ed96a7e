"""Subscriptions as Telegram HTML: /subscribe, /unsubscribe, /mysubs and the topic keyboard's
replies."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from psgbot.db.models import ALL_NEWS
from psgbot.i18n import _
from psgbot.render.buttons import KEYBOARD_DONE, REMOVE_TOPIC, Action, Keyed
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


def already_subscribed_message(name: str) -> str:
    """``/subscribe <topic>`` for a topic the chat already follows: nothing changed."""
    return _(
        "You're already subscribed to {topic}: new items arrive here as they are published. "
        "/mysubs lists your topics."
    ).format(topic=_bold(name))


def not_subscribed_message(name: str, followed: set[str], taxonomy: Taxonomy) -> str:
    """``/unsubscribe <topic>`` for a topic the chat does not follow: nothing changed."""
    reply = _("You weren't subscribed to {topic}, so nothing changed.").format(topic=_bold(name))
    if followed:
        reply += " " + _("You follow: {topics}.").format(topics=followed_names(followed, taxonomy))
    else:
        reply += " " + _("/subscribe to choose topics.")
    return fit([reply])


def nothing_to_unsubscribe_message() -> str:
    """``/unsubscribe`` (or ``/unsubscribe all``) in a chat that follows no topic."""
    return _("This chat has no topic alerts to stop. /subscribe to choose topics.")


def unsubscribe_intro() -> str:
    return _("Tap a topic to stop its alerts.")


def unsubscribe_keyboard(followed: set[str], taxonomy: Taxonomy) -> InlineKeyboardMarkup:
    """/unsubscribe's keyboard: only what the chat follows, each button removing it, then Done.
    Nothing here subscribes (that is /subscribe's keyboard)."""
    buttons = [
        REMOVE_TOPIC.button(f"✖ {topic.emoji} {topic.name}", topic.slug)
        for topic in taxonomy.topics
        if topic.slug in followed
    ]
    if ALL_NEWS in followed:
        buttons.append(REMOVE_TOPIC.button(_("✖ 📰 All news"), ALL_NEWS))
    rows = [buttons[start : start + 2] for start in range(0, len(buttons), 2)]
    rows.append([KEYBOARD_DONE.button(_("Done"))])
    return InlineKeyboardMarkup(rows)


def subscribed_note(name: str, *, already: bool) -> str:
    """The short answer to "Get alerts on <topic>" (plain text)."""
    if already:
        return _("You're already subscribed to {topic}.").format(topic=name)
    return _("✓ Subscribed to {topic}. /mysubs lists your topics.").format(topic=name)


def not_subscribed_note(name: str) -> str:
    """The short answer to an alert's Unsubscribe when the topic is no longer followed."""
    return _("You weren't subscribed to {topic}: nothing to stop.").format(topic=name)


def removed_note(name: str) -> str:
    """The short answer to a tap on /unsubscribe's keyboard (plain text)."""
    return _("Removed {topic}.").format(topic=name)


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


def topic_choice_keyboard(
    taxonomy: Taxonomy,
    chosen: set[str],
    announcements: bool,
    buttons: tuple[Keyed[str], Action, Action, Action],
) -> InlineKeyboardMarkup:
    """Every topic as a toggle (✓ when chosen), then "All news", "Announcements from the PSG"
    and "Done": a chat's topic keyboard and a channel's, each with its own ``buttons`` (topic,
    all news, announcements, done)."""
    toggle_topic, all_news, toggle_announcements, done = buttons

    def label(mark: bool, text: str) -> str:
        return f"✓ {text}" if mark else text

    toggles = [
        toggle_topic.button(label(topic.slug in chosen, f"{topic.emoji} {topic.name}"), topic.slug)
        for topic in taxonomy.topics
    ]
    rows = [toggles[start : start + 2] for start in range(0, len(toggles), 2)]
    rows.append([all_news.button(label(ALL_NEWS in chosen, _("📰 All news")))])
    rows.append(
        [toggle_announcements.button(label(announcements, _("📣 Announcements from the PSG")))]
    )
    rows.append([done.button(_("Done"))])
    return InlineKeyboardMarkup(rows)
