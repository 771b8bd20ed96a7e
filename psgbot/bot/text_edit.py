"""/edit: an admin changes one of the standing texts (/aims, /join…), with a preview first.

Each language's text is edited apart: ``/edit aims es`` edits the Spanish one; without a
language, the one of the admin's chat. Once an English text changes, an admin is told when its
Spanish one is older, with a button that opens ``/edit <name> es``.

The flow's state is one :class:`TextEdit` under one key of the admin's user_data.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from psgbot.admins import AuditAction, Role, audit
from psgbot.bot.access import admin_only
from psgbot.bot.flows import Flow, FlowButton, FlowState, choice
from psgbot.i18n import Language, _, current_language
from psgbot.render.admin import edit_usage, reset_done, reset_keyboard, reset_question
from psgbot.render.buttons import TEXT_DISCARD, TEXT_EDIT_SPANISH, TEXT_RESET, TEXT_SAVE
from psgbot.render.news import standing_text_message
from psgbot.render.text_edit import saved_message, translation_keyboard, translation_older_note
from psgbot.services import get_services
from psgbot.texts import (
    TEXT_NAMES,
    StandingText,
    current_text,
    save_text,
    translation_is_older,
)

WAITING, CONFIRM, CONFIRM_RESET = range(20, 23)  # apart from the other admin flows' steps
BODY_LIMIT = 3500  # characters of a new text; the message built from it stays within 4096


@dataclass
class TextEdit:
    """Which text is being edited, and the new body once the admin has sent it."""

    name: str
    language: Language = Language.EN
    body: str | None = None


STATE = FlowState("edit", TextEdit)


@admin_only(Role.EDITOR)
async def edit_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """``/edit <name>`` shows the text and waits for the new one; ``/edit <name> reset`` asks
    before going back to the PSG's original text."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return ConversationHandler.END
    args = [arg.lower() for arg in context.args or []]
    language = current_language()
    if len(args) > 1 and args[1] in set(Language):
        language = Language(args.pop(1))
    if not args or args[0] not in TEXT_NAMES or args[1:] not in ([], ["reset"]):
        await chat.send_message(edit_usage(TEXT_NAMES))
        return ConversationHandler.END
    name = args[0]
    services = get_services(context)
    if args[1:] == ["reset"]:
        STATE.start(context, TextEdit(name, language))
        await chat.send_message(reset_question(name), reply_markup=reset_keyboard())
        return CONFIRM_RESET
    async with services.reads() as session:
        text = await current_text(session, name, services.texts, language)
    await chat.send_message(standing_text_message(text))
    await chat.send_message(
        _(
            "That is /{name} now. Send the new text (plain text; a line "
            "starting with • is a bullet), or /cancel."
        ).format(name=name)
    )
    STATE.start(context, TextEdit(name, language))
    return WAITING


@admin_only(Role.EDITOR)
async def edit_receive(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Previews the new text with Save and Cancel buttons."""
    message, chat = update.effective_message, update.effective_chat
    edit = STATE.get(context)
    if message is None or chat is None or not message.text or edit is None:
        return ConversationHandler.END
    services = get_services(context)
    edit.body = message.text.strip()[:BODY_LIMIT]
    async with services.reads() as session:
        text = await current_text(session, edit.name, services.texts, edit.language)
    await chat.send_message(standing_text_message(replace(text, body=edit.body)))
    await chat.send_message(
        _("Save this as /{name}?").format(name=edit.name),
        reply_markup=choice(TEXT_SAVE.button(_("Save")), TEXT_DISCARD.button(_("Cancel"))),
    )
    return CONFIRM


@admin_only(Role.EDITOR)
async def edit_decide(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Save or Cancel under the preview."""
    query, user = update.callback_query, update.effective_user
    edit = STATE.drop(context)
    if query is None or user is None:
        return ConversationHandler.END
    await query.answer()
    if not TEXT_SAVE.matches(query.data) or edit is None or edit.body is None:
        await query.edit_message_text(_("Nothing changed."))
        return ConversationHandler.END
    services = get_services(context)
    async with services.sessions.begin() as session:
        await save_text(session, edit.name, edit.body, user.id, edit.language)
        await audit(session, user.id, AuditAction.TEXT_EDITED, f"{edit.name} ({edit.language})")
        older = await _translation_older(session, edit, services.texts)
    await query.edit_message_text(
        saved_message(edit.name, older), reply_markup=translation_keyboard(edit.name, older)
    )
    return ConversationHandler.END


async def _translation_older(
    session: AsyncSession, edit: TextEdit, defaults: dict[str, StandingText]
) -> bool:
    """After a change of an English text: whether its Spanish text is older."""
    if edit.language != Language.EN:
        return False
    await session.flush()
    return await translation_is_older(session, edit.name, defaults)


@admin_only(Role.EDITOR)
async def reset_confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Reset, under /edit <name> reset's question: the original text is shown again."""
    query, user, edit = update.callback_query, update.effective_user, STATE.drop(context)
    if query is None or user is None:
        return ConversationHandler.END
    await query.answer()
    if edit is None:
        await query.edit_message_text(_("Nothing changed."))
        return ConversationHandler.END
    services = get_services(context)
    async with services.sessions.begin() as session:
        await save_text(session, edit.name, None, user.id, edit.language)
        await audit(session, user.id, AuditAction.TEXT_RESET, f"{edit.name} ({edit.language})")
        older = await _translation_older(session, edit, services.texts)
    text = reset_done(edit.name)
    if older:
        text += "\n\n" + translation_older_note(edit.name)
    await query.edit_message_text(text, reply_markup=translation_keyboard(edit.name, older))
    return ConversationHandler.END


def flow() -> Flow:
    """/edit, a part of the admins' one conversation (psgbot.bot.flows)."""
    return Flow(
        doing=lambda: _("editing a standing text"),
        state=STATE,
        commands={"edit": edit_start},
        buttons=[FlowButton(TEXT_EDIT_SPANISH, "edit", lambda name: [name, Language.ES.value])],
        states={
            WAITING: [MessageHandler(filters.TEXT & ~filters.COMMAND, edit_receive)],
            CONFIRM: [
                CallbackQueryHandler(edit_decide, pattern=TEXT_SAVE),
                CallbackQueryHandler(edit_decide, pattern=TEXT_DISCARD),
            ],
            CONFIRM_RESET: [
                CallbackQueryHandler(reset_confirmed, pattern=TEXT_RESET),
                CallbackQueryHandler(edit_decide, pattern=TEXT_DISCARD),
            ],
        },
    )
