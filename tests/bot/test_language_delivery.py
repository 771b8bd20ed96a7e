"""What the dispatcher sends, in each recipient's language: broadcasts in two versions (or one,
with a note), alerts' and reminders' frames, dates."""

from __future__ import annotations

from conftest import OWNER
from sqlalchemy import update
from support.chats import add_chats
from support.harness import BotHarness

from psgbot.db.models import Chat
from psgbot.i18n import Language
from psgbot.offline import ApiCall

ENGLISH_CHATS, SPANISH_CHATS = range(1, 4), range(4, 7)
BOLD = [{"type": "bold", "offset": 0, "length": 5}]
ESPANOL = {"language_code": "es"}


async def chats_in_both_languages(bot: BotHarness) -> None:
    """Three chats whose users run Telegram in English, three in Spanish (one chose it)."""
    async with bot.services.sessions.begin() as session:
        await add_chats(session, [*ENGLISH_CHATS, *SPANISH_CHATS])
        await session.execute(
            update(Chat)
            .where(Chat.id.in_(list(SPANISH_CHATS)))
            .values(telegram_language=Language.ES)
        )
        await session.execute(update(Chat).where(Chat.id == 6).values(language=Language.ES))
        await session.execute(update(Chat).where(Chat.id == 3).values(language=Language.EN))


def by_chat(calls: list[ApiCall]) -> dict[int, ApiCall]:
    return {int(call.chat_id or 0): call for call in calls if call.method == "sendMessage"}


async def compose(bot: BotHarness, text: str, **user: object) -> None:
    await bot.send("/broadcast", chat_id=OWNER, **user)
    await bot.press("adm:bc:aud:all", chat_id=OWNER, **user)
    await bot.send(text, chat_id=OWNER, entities=BOLD, **user)


async def send(bot: BotHarness, **user: object) -> dict[int, ApiCall]:
    await bot.press("adm:bc:send", chat_id=OWNER, **user)
    await bot.press("adm:bc:confirm", chat_id=OWNER, **user)
    return by_chat(await bot.deliver())


async def test_each_chat_gets_the_version_in_its_language(bot: BotHarness) -> None:
    await chats_in_both_languages(bot)
    await compose(bot, "Hello supporters: the AGM is on Saturday.")
    ask = await bot.press("adm:bc:translate", chat_id=OWNER)
    assert "Send the Spanish version" in (ask[-1].text or "")
    calls = await bot.send("Hola a todos: la asamblea es el sábado.", chat_id=OWNER, entities=BOLD)
    shown, control = calls[-2:]
    assert shown.params["text"] == "Hola a todos: la asamblea es el sábado."
    assert "Preview" in (control.text or "")
    sent = await send(bot)
    for chat in ENGLISH_CHATS:
        assert sent[chat].params["text"] == "Hello supporters: the AGM is on Saturday."
    for chat in SPANISH_CHATS:
        assert sent[chat].params["text"] == "Hola a todos: la asamblea es el sábado."
        assert sent[chat].params["entities"] == BOLD
    assert len(sent) == len(ENGLISH_CHATS) + len(SPANISH_CHATS)


async def test_without_its_version_a_chat_gets_the_other_with_a_note(bot: BotHarness) -> None:
    await chats_in_both_languages(bot)
    await compose(bot, "Hello supporters")
    sent = await send(bot)
    english = sent[1].params
    assert english["text"] == "Hello supporters"
    assert english["entities"] == BOLD
    spanish = sent[4].params
    note = "Este anuncio solo está en inglés."
    assert spanish["text"] == f"Hello supporters\n\n{note}"
    # The author's formatting where it was; the note in italics after it.
    assert spanish["entities"] == [
        *BOLD,
        {"type": "italic", "offset": len("Hello supporters\n\n"), "length": len(note)},
    ]


async def test_a_spanish_admin_writes_in_spanish_and_english_chats_are_told(
    bot: BotHarness,
) -> None:
    await chats_in_both_languages(bot)
    await compose(bot, "Hola a todos", **ESPANOL)
    control = (await bot.press("adm:bc:send", chat_id=OWNER, **ESPANOL))[-1]
    assert "¿Enviar esto a todos" in (control.text or "")
    await bot.press("adm:bc:confirm", chat_id=OWNER, **ESPANOL)
    sent = by_chat(await bot.deliver())
    assert sent[5].params["text"] == "Hola a todos"
    assert sent[1].params["text"] == "Hola a todos\n\nThis announcement is only in Spanish."
    # A Spanish admin's preview offers the English version.
    await compose(bot, "Otra vez", **ESPANOL)
    calls = await bot.press("adm:bc:translate", chat_id=OWNER, **ESPANOL)
    assert "Envía la versión en inglés" in (calls[-1].text or "")
