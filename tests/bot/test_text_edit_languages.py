"""/edit in two languages: once an English standing text changes, its Spanish text is older,
and the admin is told so with a button that opens /edit <name> es."""

from __future__ import annotations

from typing import Any

from conftest import OWNER
from support.harness import BotHarness

from psgbot.offline import ApiCall

ESPANOL = {"language_code": "es"}
STRANGER = 4321
OLDER = "The Spanish version of /aims is older than this change, so it may no longer say the same."


def buttons(call: ApiCall) -> list[dict[str, Any]]:
    markup = call.params.get("reply_markup") or {"inline_keyboard": []}
    return [button for row in markup["inline_keyboard"] for button in row]


async def edit(bot: BotHarness, text: str, *args: str, **user: Any) -> ApiCall:
    """/edit aims [es] with ``text``, saved; returns the confirmation."""
    await bot.send(" ".join(["/edit aims", *args]), chat_id=OWNER, **user)
    await bot.send(text, chat_id=OWNER, **user)
    return (await bot.press("adm:edit:save", chat_id=OWNER, **user))[-1]


async def test_an_english_change_says_the_spanish_text_is_older_and_opens_it(
    bot: BotHarness,
) -> None:
    saved = await edit(bot, "The PSG works for rights.")
    assert saved.text == f"Saved: /aims shows the new text.\n\n{OLDER} Edit it too?"
    assert buttons(saved) == [
        {"text": "✏️ Edit the Spanish version", "callback_data": "adm:edit:es:aims"}
    ]
    # The button is /edit aims es: the Spanish text as it is, and the question for the new one.
    calls = await bot.press("adm:edit:es:aims", chat_id=OWNER)
    shown, question = [call.text or "" for call in calls if call.method == "sendMessage"]
    assert shown.startswith("<b>Objetivos del PSG</b>")
    assert "That is /aims now. Send the new text" in question
    await bot.send("El PSG trabaja por los derechos.", chat_id=OWNER)
    saved = (await bot.press("adm:edit:save", chat_id=OWNER))[-1]
    assert saved.text == "Saved: /aims shows the new text."
    assert buttons(saved) == []
    (spanish,) = await bot.reply_texts("/aims", chat_id=STRANGER, **ESPANOL)
    assert "El PSG trabaja por los derechos." in spanish
    (english,) = await bot.reply_texts("/aims", chat_id=STRANGER + 1, language_code="en")
    assert "The PSG works for rights." in english

    # The Spanish text is now the newer: a Spanish change says nothing of the English one…
    saved = await edit(bot, "El PSG trabaja por la justicia.", "es")
    assert buttons(saved) == []
    # …and the next English change makes it older again, told in the admin's language.
    saved = await edit(bot, "The PSG works for justice.", "en", **ESPANOL)
    assert saved.text == (
        "Guardado: /aims muestra el texto nuevo.\n\nLa versión en español de /aims es anterior "
        "a este cambio, así que puede que ya no diga lo mismo. ¿La editas también?"
    )
    assert buttons(saved) == [
        {"text": "✏️ Editar la versión en español", "callback_data": "adm:edit:es:aims"}
    ]


async def test_a_reset_tells_when_the_spanish_text_was_written_for_an_edit(
    bot: BotHarness,
) -> None:
    # The PSG's original texts, in both languages: nothing to tell.
    await bot.send("/edit aims reset", chat_id=OWNER)
    done = (await bot.press("adm:edit:reset", chat_id=OWNER))[-1]
    assert done.text == "Done: /aims shows the PSG's original text again."
    assert buttons(done) == []
    # A Spanish text written for an English edit is older than the English text put back.
    await edit(bot, "The PSG works for rights.")
    await edit(bot, "El PSG trabaja por los derechos.", "es")
    await bot.send("/edit aims reset", chat_id=OWNER)
    done = (await bot.press("adm:edit:reset", chat_id=OWNER))[-1]
    assert OLDER in (done.text or "")
    assert [button["callback_data"] for button in buttons(done)] == ["adm:edit:es:aims"]


async def test_the_button_asks_first_while_another_flow_is_open(bot: BotHarness) -> None:
    await edit(bot, "The PSG works for rights.")
    await bot.send("/broadcast", chat_id=OWNER)
    calls = await bot.press("adm:edit:es:aims", chat_id=OWNER)
    (question,) = [call for call in calls if call.method == "sendMessage"]
    assert "You are still writing a broadcast. Abandon it and start /edit?" in (question.text or "")
    calls = await bot.press("adm:flow:abandon", chat_id=OWNER)
    assert any((call.text or "").startswith("<b>Objetivos del PSG</b>") for call in calls)
    await bot.send("Nuevo texto.", chat_id=OWNER)
    await bot.press("adm:edit:save", chat_id=OWNER)
    (spanish,) = await bot.reply_texts("/aims", chat_id=STRANGER, **ESPANOL)
    assert "Nuevo texto." in spanish
    # Only admins: anyone else's press is refused.
    calls = await bot.press("adm:edit:es:aims", chat_id=STRANGER)
    (answer,) = [call for call in calls if call.method == "answerCallbackQuery"]
    assert answer.params["text"] == "This command is for PSG administrators."
