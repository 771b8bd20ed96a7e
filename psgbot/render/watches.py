"""Keyword watches as Telegram HTML: /watch, /unwatch, /watches and their buttons' answers."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardMarkup

from psgbot.db.models import Watch
from psgbot.i18n import _, ngettext
from psgbot.render.buttons import REMOVE_WATCH
from psgbot.render.markup import escape, shorten
from psgbot.watches import WATCH_LIMIT, WATCH_PHRASE_MAX, Refusal, WatchChange

# A phrase on a button: Telegram shows about this much of a button's text on a phone.
BUTTON_PHRASE = 40
WATCH_EXAMPLE = "/watch Las Bambas"
UNWATCH_EXAMPLE = "/unwatch Las Bambas"


def quoted(phrase: str) -> str:
    """A phrase in a message: quoted and bold, escaped (it is what the user typed)."""
    return f"“<b>{escape(phrase)}</b>”"


def how_watches_match() -> str:
    return _(
        "Items whose title or summary contain these words alert this chat, whatever their "
        "topics: whole words, in any case, with or without accents."
    )


def watch_usage_message() -> str:
    """/watch with nothing after it."""
    return "\n".join(
        [
            _("Send the words or phrase to watch after the command, e.g. {example}.").format(
                example=WATCH_EXAMPLE
            ),
            how_watches_match(),
        ]
    )


def watch_refused_message(change: WatchChange) -> str:
    """Why /watch changed nothing, with an example of what works."""
    refusal = change.refusal
    if refusal == Refusal.EMPTY:
        return watch_usage_message()
    if refusal == Refusal.TOO_LONG:
        return _(
            "A watch may have at most {most} characters. Try a shorter phrase, e.g. {example}."
        ).format(most=WATCH_PHRASE_MAX, example=WATCH_EXAMPLE)
    if refusal == Refusal.NO_WORDS:
        return _("A watch needs at least one word (letters or digits), e.g. {example}.").format(
            example=WATCH_EXAMPLE
        )
    if refusal == Refusal.DUPLICATE:
        return _("This chat already watches {phrase}. /watches lists its watches.").format(
            phrase=quoted(change.phrase)
        )
    return _(
        "This chat already has {most} watches, the most it may have. Remove one with "
        "/watches (or {example}) first."
    ).format(most=WATCH_LIMIT, example=UNWATCH_EXAMPLE)


def watch_added_message(change: WatchChange, resumed_note: str | None) -> str:
    """After /watch: what is watched now, how it matches, and how many watches are left."""
    lines = [
        _("👁 Watching {phrase}. New items containing it will alert this chat.").format(
            phrase=quoted(change.phrase)
        ),
        ngettext(
            "{n} of {most} watches used; /watches lists them.",
            "{n} of {most} watches used; /watches lists them.",
            change.count,
        ).format(n=change.count, most=WATCH_LIMIT),
    ]
    if resumed_note:
        lines.append(resumed_note)
    return "\n".join(lines)


def unwatch_usage_message() -> str:
    """/unwatch with nothing after it, in a chat that watches nothing."""
    return _("This chat watches nothing. Add a watch with {example}.").format(example=WATCH_EXAMPLE)


def not_watched_message(typed: str) -> str:
    """/unwatch of a phrase the chat does not watch."""
    return _(
        "This chat doesn't watch {phrase}, so nothing changed. /watches lists its watches; "
        "remove one with e.g. {example}."
    ).format(phrase=quoted(shorten(typed, BUTTON_PHRASE * 3)), example=UNWATCH_EXAMPLE)


def unwatched_message(phrase: str, left: int) -> str:
    """After /unwatch."""
    reply = _("Stopped watching {phrase}.").format(phrase=quoted(phrase))
    more = ngettext(
        "This chat still watches {n} phrase: /watches.",
        "This chat still watches {n} phrases: /watches.",
        left,
    ).format(n=left)
    return f"{reply} {more}" if left else reply


def watches_message(watches: Sequence[Watch]) -> str:
    """/watches: each phrase, how they match, and how to remove one."""
    if not watches:
        return "\n".join([_("This chat watches nothing yet."), watch_usage_message()])
    lines = [
        ngettext(
            "👁 <b>This chat watches {n} phrase</b> (of {most}):",
            "👁 <b>This chat watches {n} phrases</b> (of {most}):",
            len(watches),
        ).format(n=len(watches), most=WATCH_LIMIT)
    ]
    lines += [f"• {escape(watch.phrase)}" for watch in watches]
    lines += ["", how_watches_match(), _("Tap one to stop watching it; /watch adds another.")]
    return "\n".join(lines)


def watches_keyboard(watches: Sequence[Watch]) -> InlineKeyboardMarkup | None:
    """A button per watch, each removing it."""
    if not watches:
        return None
    return InlineKeyboardMarkup(
        [
            [REMOVE_WATCH.button(f"✖ {shorten(watch.phrase, BUTTON_PHRASE)}", watch.id)]
            for watch in watches
        ]
    )


def removed_note(phrase: str | None) -> str:
    """The answer to a watch's remove button (plain text, at most 200 characters)."""
    if phrase is None:
        return _("That watch was already removed.")
    return _("Stopped watching “{phrase}”.").format(phrase=shorten(phrase, BUTTON_PHRASE * 3))


def watching_line(phrase: str) -> str:
    """Under an alert that a watch brought: which."""
    return _("👁 Watching: {phrase}").format(phrase=escape(phrase))
