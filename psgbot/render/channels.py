"""Channels as Telegram HTML: /channel (connect, list, remove) and the channel's topic
keyboard, shown to an owner in their private chat."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardMarkup

from psgbot.channels import ConnectedChannel
from psgbot.i18n import Language, _
from psgbot.render import buttons as data
from psgbot.render.markup import ANSWER_LIMIT, TITLE_LIMIT, escape, fit, shorten, utf16_len
from psgbot.render.menu import language_label
from psgbot.render.subscriptions import followed_names, topic_choice_keyboard
from psgbot.topics import Taxonomy


def channel_name(chat_id: int, username: str | None, title: str | None) -> str:
    """How a channel is named to an owner (plain text): @name, else its title, else its id."""
    if username:
        return f"@{username}"
    return shorten(title, TITLE_LIMIT) if title else str(chat_id)


def _bold(name: str) -> str:
    return f"<b>{escape(name)}</b>"


def channel_usage() -> str:
    return _(
        "Connect a channel: /channel @name, or forward me a post from it. "
        "/channel lists the connected channels; /channel remove @name disconnects one."
    )


def channel_not_found_message(name: str) -> str:
    return _(
        "I can't find the channel {name}. Check the @name, or forward me a post from the channel."
    ).format(name=_bold(name))


def not_a_channel_message(name: str) -> str:
    return _("{name} is not a channel. /channel connects channels only.").format(name=_bold(name))


def cannot_post_message(name: str) -> str:
    return _(
        "Make the bot an administrator of {name} with the right to post, then try again."
    ).format(name=_bold(name))


def choose_topics_message(name: str) -> str:
    return _(
        "Which news should I post in {name}? Tap topics to choose them (✓), or “All news”, "
        "then Done."
    ).format(name=_bold(name))


def channel_keyboard(
    taxonomy: Taxonomy, chosen: set[str], announcements: bool
) -> InlineKeyboardMarkup:
    """The channel's choice, as the topic keyboard: a toggle per topic, "All news",
    "Announcements from the PSG", "Done"."""
    buttons = (
        data.CHANNEL_TOGGLE_TOPIC,
        data.CHANNEL_ALL_NEWS,
        data.CHANNEL_ANNOUNCEMENTS,
        data.CHANNEL_DONE,
    )
    return topic_choice_keyboard(taxonomy, chosen, announcements, buttons)


def nothing_chosen_note() -> str:
    return _("Choose at least one topic, or All news.")


def choice_closed_note() -> str:
    return _("This choice is no longer open: send /channel @name again.")


def connected_message(name: str, topics: set[str], taxonomy: Taxonomy, language: Language) -> str:
    text = _(
        "✓ {name} is connected. I'll post each new item on {topics} there as it arrives. "
        "/channel lists the connected channels."
    ).format(name=_bold(name), topics=followed_names(topics, taxonomy))
    if language == Language.ES:
        posts_in = _("Its posts are in <b>Spanish</b>; /channel changes that.")
    else:
        posts_in = _("Its posts are in <b>English</b>; /channel changes that.")
    return fit([f"{text}\n\n{posts_in}", text])


def channels_message(channels: Sequence[tuple[str, ConnectedChannel]], taxonomy: Taxonomy) -> str:
    """/channel: each connected channel by name (topics, announcements, language)."""
    if not channels:
        return _(
            "No channel is connected. Make the bot an administrator of a channel with the "
            "right to post, then send /channel @name (or forward me a post from it)."
        )
    lines = [_("📢 <b>Connected channels</b>"), ""]
    for name, channel in channels:
        topics = set(channel.topics)
        what = followed_names(topics, taxonomy) if topics else _("no topics")
        line = f"• {_bold(name)}: {what}"
        if channel.announcements:
            line += " " + _("(and the PSG's announcements)")
        lines.append(f"{line} · {language_label(channel.language)}")
    lines += [
        "",
        _("/channel remove @name disconnects one."),
        _("The buttons change the language a channel's posts are in."),
    ]
    return fit(["\n".join(lines)])


CHANNEL_BUTTON_NAME_LIMIT = 30


def channels_keyboard(channels: Sequence[tuple[str, ConnectedChannel]]) -> InlineKeyboardMarkup:
    """Under /channel's list: a button per channel that switches its posts to the other
    language."""
    rows = []
    for name, channel in channels:
        other = Language.EN if channel.language == Language.ES else Language.ES
        label = _("{channel}: switch to {language}").format(
            channel=shorten(name, CHANNEL_BUTTON_NAME_LIMIT), language=language_label(other)
        )
        rows.append([data.CHANNEL_LANGUAGE.button(label, (channel.id, other))])
    return InlineKeyboardMarkup(rows)


def channel_gone_note() -> str:
    return _("That channel is no longer connected.")


def language_set_note(name: str, language: Language) -> str:
    """The answer to a channel's language button (plain text, within a callback answer's 200
    characters: the channel's name is shortened to the room the sentence leaves)."""
    if language == Language.ES:
        sentence = _("Posts in {channel} are now in Spanish.")
    else:
        sentence = _("Posts in {channel} are now in English.")
    room = ANSWER_LIMIT - utf16_len(sentence.format(channel=""))
    return sentence.format(channel=shorten(name, room))


def remove_question(name: str) -> str:
    return _(
        "Disconnect {name}? I'll stop posting there and forget its topics. (To take the bot "
        "out of the channel too, remove it from the channel's administrators.)"
    ).format(name=_bold(name))


def remove_keyboard(chat_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                data.CHANNEL_REMOVE.button(_("Yes, disconnect"), chat_id),
                data.CHANNEL_KEEP.button(_("No, keep it")),
            ]
        ]
    )


def removed_message() -> str:
    return _("Disconnected: nothing more will be posted there.")


def kept_message() -> str:
    return _("Nothing changed: the channel stays connected.")


def not_connected_message(name: str) -> str:
    return _("{name} is not connected, so there is nothing to remove. /channel lists them.").format(
        name=_bold(name)
    )
