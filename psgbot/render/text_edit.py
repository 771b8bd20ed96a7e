"""/edit's answers once a standing text is saved or reset, as Telegram HTML: what it shows
now and, after an English change, that the Spanish text is older, with a button to edit it."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from psgbot.i18n import _
from psgbot.render import buttons as data
from psgbot.render.markup import escape


def translation_older_note(name: str) -> str:
    """Under the confirmation of an English text's change, when its Spanish one predates it."""
    return _(
        "The Spanish version of /{name} is older than this change, so it may no longer say "
        "the same. Edit it too?"
    ).format(name=escape(name))


def saved_message(name: str, translation_older: bool) -> str:
    text = _("Saved: /{name} shows the new text.").format(name=escape(name))
    if translation_older:
        text += "\n\n" + translation_older_note(name)
    return text


def translation_keyboard(name: str, translation_older: bool) -> InlineKeyboardMarkup | None:
    """A button that opens ``/edit <name> es``, when the Spanish text is older."""
    if not translation_older:
        return None
    button = data.TEXT_EDIT_SPANISH.button(_("✏️ Edit the Spanish version"), name)
    return InlineKeyboardMarkup([[button]])
