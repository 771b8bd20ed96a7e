"""Spanish and English per chat: the default from Telegram's language, /language, the menus of
each language, and every command and button answering in Spanish."""

from __future__ import annotations

from conftest import OWNER, PUBLIC_MENU
from support.harness import BotHarness
from support.spanish import buttons, texts_of, untranslated

from psgbot.bot.throttle import THROTTLE_KEY, Throttle

GROUP = -100900900
SPANISH_USER = {"language_code": "es-PE"}

# The public menu of Spanish users: the Spanish name of each command that has one.
SPANISH_MENU = [
    {
        "help": "ayuda",
        "latest": "noticias",
        "topics": "temas",
        "search": "buscar",
        "events": "eventos",
        "subscribe": "suscribir",
        "unsubscribe": "baja",
        "language": "idioma",
        "privacy": "privacidad",
    }.get(name, name)
    for name in PUBLIC_MENU
]


async def test_a_spanish_speaker_is_answered_in_spanish_from_the_first_message(
    bot: BotHarness,
) -> None:
    (welcome,) = await bot.reply_texts("/start", **SPANISH_USER)
    assert "¡Hola, Ana!" in welcome
    assert "Peru Support Group" in welcome
    (english,) = await bot.reply_texts("/start", chat_id=5151, language_code="en-GB")
    assert "Hello Ana!" in english
    (nobody_said,) = await bot.reply_texts("/start", chat_id=5152)
    assert "Hello Ana!" in nobody_said


async def test_language_switches_a_private_chat_and_the_choice_holds(bot: BotHarness) -> None:
    (ask,) = await bot.send("/idioma", **SPANISH_USER)
    assert "Idioma de este chat: <b>Español</b>" in (ask.text or "")
    assert buttons(ask) == ["lang:en", "lang:es"]
    calls = await bot.press("lang:en", **SPANISH_USER)
    assert calls[0].method == "answerCallbackQuery"
    assert "From now on I will write to this chat in <b>English</b>" in (calls[-1].text or "")
    # Chosen: it holds whatever the user's Telegram says.
    (help_text,) = await bot.reply_texts("/ayuda", **SPANISH_USER)
    assert "<b>What I can do</b>" in help_text
    assert "/latest:" in help_text
    await bot.press("lang:es", **SPANISH_USER)
    (help_text,) = await bot.reply_texts("/help", language_code="en")
    assert "<b>Lo que puedo hacer</b>" in help_text
    assert "/noticias:" in help_text


async def test_in_a_group_only_its_administrators_choose_the_language(bot: BotHarness) -> None:
    bot.api.chat_members[(GROUP, 7)] = "member"
    bot.api.chat_members[(GROUP, 8)] = "administrator"
    group = {"chat_id": GROUP, "chat_type": "supergroup"}
    # Whoever brings the bot in sets the group's language until an administrator chooses.
    await bot.send("/start", user_id=8, **group, **SPANISH_USER)
    (refused,) = await bot.reply_texts("/language", user_id=7, language_code="en", **group)
    assert "Solo los administradores de este grupo pueden elegir su idioma" in refused
    calls = await bot.press("lang:en", user_id=7, **group)
    assert [call.method for call in calls] == ["getChatMember", "answerCallbackQuery"]
    assert calls[-1].params["show_alert"] is True
    (still,) = await bot.reply_texts("/help", user_id=7, language_code="en", **group)
    assert "Lo que puedo hacer" in still
    await bot.press("lang:en", user_id=8, **group)
    (now,) = await bot.reply_texts("/ayuda", user_id=7, **group, **SPANISH_USER)
    assert "What I can do" in now


def menus(bot: BotHarness, language: str | None) -> dict[str, list[tuple[str, str]]]:
    found = {}
    for call in bot.api.calls:
        if call.method == "setMyCommands" and call.params.get("language_code") == language:
            scope = call.params.get("scope", {"type": "default"})
            key = f"chat {scope['chat_id']}" if scope["type"] == "chat" else scope["type"]
            found[key] = [(c["command"], c["description"]) for c in call.params["commands"]]
    return found


async def test_each_scope_has_a_spanish_menu(bot: BotHarness) -> None:
    english, spanish = menus(bot, None), menus(bot, "es")
    assert set(spanish) == set(english)
    for scope in ("default", "all_private_chats", "all_chat_administrators"):
        assert [name for name, _ in spanish[scope]] == SPANISH_MENU
    assert [name for name, _ in spanish["all_group_chats"]] == [
        "start", "noticias", "temas", "buscar", "mysubs", "watches", "eventos", "event", "aims",
        "history", "humanrights", "join", "privacidad", "ayuda",
    ]  # fmt: skip
    assert ("noticias", "Últimas noticias: /noticias, /noticias 10, /noticias mineria") in (
        spanish["all_private_chats"]
    )
    owner = dict(spanish[f"chat {OWNER}"])
    assert owner["broadcast"] == "Enviar un anuncio"
    assert owner["ayuda"] == "Los comandos que puedes usar aquí"
    for menu in spanish.values():
        assert untranslated([description for _, description in menu]) == []


async def test_every_command_and_button_answers_in_spanish(bot: BotHarness) -> None:
    # Every command and button of the bot, from one person, in a minute: past the flood limit.
    bot.app.bot_data[THROTTLE_KEY] = Throttle(limit=10_000)
    user = {"chat_id": 6161, **SPANISH_USER}
    seen: list[str] = []
    pressed: set[str] = set()
    for name in SPANISH_MENU:
        calls = await bot.send(f"/{name}", **user)
        assert calls, name
        seen += texts_of(calls)
        # Each button of the reply, once (not "Yes, delete", which forgets the chat, nor English:
        # /language's and /settings').
        for call in calls:
            for data in buttons(call):
                if data in pressed or data in {"forget:yes", "lang:en", "set:lang:en"}:
                    continue
                pressed.add(data)
                seen += texts_of(await bot.press(data, **user))
    assert {"menu:latest", "sub:done", "privacy:forget", "lang:es"} <= pressed
    assert not any("No conozco" in text for text in seen)
    assert untranslated(seen) == []
    # The admins' commands and flows: tests/bot/test_language_admin.py.


async def test_a_chosen_language_brings_the_chats_menu_in_it(bot: BotHarness) -> None:
    # An English app, Spanish chosen: the chat's own menu is Spanish, for every app language.
    await bot.send("/language", chat_id=6262)
    bot.api.clear()
    await bot.press("lang:es", chat_id=6262)
    menus = [call for call in bot.api.calls if call.method == "setMyCommands"]
    assert {(c.params["scope"]["type"], c.params.get("language_code")) for c in menus} == {
        ("chat", None),
        ("chat", "es"),
    }
    for call in menus:
        assert call.params["scope"]["chat_id"] == 6262
        names = [command["command"] for command in call.params["commands"]]
        assert "noticias" in names
        assert "latest" not in names
    # In a group: its members' menu and its administrators', in the group's language.
    bot.api.chat_members[(GROUP, 8)] = "administrator"
    bot.api.clear()
    await bot.press("lang:es", chat_id=GROUP, chat_type="supergroup", user_id=8)
    scopes = {c.params["scope"]["type"] for c in bot.api.calls if c.method == "setMyCommands"}
    assert scopes == {"chat", "chat_administrators"}


async def test_the_language_may_be_typed(bot: BotHarness) -> None:
    (reply,) = await bot.reply_texts("/language es", chat_id=6363)
    assert "español" in reply.lower()
    (help_text,) = await bot.reply_texts("/help", chat_id=6363)
    assert "Lo que puedo hacer" in help_text
    (reply,) = await bot.reply_texts("/idioma inglés", chat_id=6363)
    (help_text,) = await bot.reply_texts("/help", chat_id=6363)
    assert "What I can do" in help_text
    # Anything else: the buttons, as without a word.
    (question,) = await bot.send("/language klingon", chat_id=6363)
    assert [b["callback_data"] for row in question.params["reply_markup"]["inline_keyboard"]
            for b in row] == ["lang:en", "lang:es"]  # fmt: skip
