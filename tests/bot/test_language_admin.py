"""The admins' commands and flows in Spanish, every step and button: dates, counts, statuses and
audit actions in the admin's language, and dates typed the Spanish way."""

from __future__ import annotations

from conftest import OWNER
from sqlalchemy import update
from support.harness import BotHarness
from support.spanish import buttons, texts_of, untranslated

from psgbot.bot.throttle import THROTTLE_KEY, Throttle
from psgbot.db.models import Feed

ADMIN = {"chat_id": OWNER, "language_code": "es-PE"}


class Walk:
    """An admin's messages and presses, and everything the bot showed in answer."""

    def __init__(self, bot: BotHarness) -> None:
        self.bot = bot
        self.seen: list[str] = []

    async def send(self, text: str) -> str:
        """Sends ``text``; returns what the bot showed (messages and buttons), one string."""
        shown = texts_of(await self.bot.send(text, **ADMIN))
        assert shown, text
        self.seen += shown
        return "\n".join(shown)

    async def press(self, data: str) -> str:
        shown = texts_of(await self.bot.press(data, **ADMIN))
        self.seen += shown
        return "\n".join(shown)


async def test_an_admin_writing_in_spanish_is_answered_in_spanish(bot: BotHarness) -> None:
    bot.app.bot_data[THROTTLE_KEY] = Throttle(limit=10_000)
    await bot.send("/suscribir mineria", chat_id=7, language_code="es")
    walk = Walk(bot)

    # /addevent, every field, dates typed the Spanish way, to its confirmation.
    await walk.send("/addevent")
    await walk.send("Conversatorio sobre Las Bambas")
    check = await walk.send("15 de diciembre de 2030 10:30")
    assert "domingo 15 de diciembre de 2030" in check
    await walk.press("adm:ev:redo")
    check = await walk.send("15 diciembre 2030 11:00")
    assert "11:00" in check
    await walk.press("adm:ev:ok")
    check = await walk.send("17:00")
    assert "17:00" in check
    await walk.press("adm:ev:ok")
    for answer in ("Casa del Perú", "-", "-", "Un conversatorio abierto.", "-"):
        await walk.send(answer)
    preview = await walk.send("Gratis")
    assert "¿Guardar este evento?" in preview
    saved = await walk.press("adm:ev:save")
    assert "evento #2" in saved
    # /editevent shows the dates as the flow does.
    fields = await walk.send("/editevent 2")
    assert "15 de diciembre de 2030" in fields
    await walk.press("adm:ev:field:starts_at")
    await walk.send(".")
    await walk.press("adm:ev:done")
    await walk.press("adm:ev:discard")

    # /broadcast to everyone, scheduled at a typed Spanish date, then /broadcasts.
    await walk.send("/broadcast")
    await walk.press("adm:bc:aud:all")
    await walk.send("Hola a todas y todos")
    await walk.press("adm:bc:urgent")
    await walk.press("adm:bc:pin")
    await walk.press("adm:bc:schedule")
    asked = await walk.press("adm:bc:at:typed")
    assert "mañana" in asked
    assert "hora de Londres" in asked
    unread = await walk.send("algún día")
    assert "mañana" in unread
    scheduled = await walk.send("1 de diciembre de 2035 18:30")
    assert "1 dic 2035 18:30" in scheduled
    await walk.send("/broadcast")
    await walk.press("adm:bc:aud:me")
    await walk.send("Prueba")
    await walk.press("adm:bc:schedule")
    await walk.press("adm:bc:at:tomorrow")
    (listing,) = [call for call in await bot.send("/broadcasts", **ADMIN) if call.text]
    walk.seen += texts_of([listing])
    assert "programado" in (listing.text or "")
    assert "todos" in (listing.text or "")
    for data in buttons(listing)[:1]:
        await walk.press(data)

    # The views, with a feed failing once, and their buttons.
    await walk.send("/poll")
    async with bot.services.sessions.begin() as session:
        await session.execute(update(Feed).values(failures=1, last_error="HTTP 503"))
    feeds = await walk.send("/feeds")
    assert "Falló una vez" in feeds
    stats = await walk.send("/stats")
    assert "activo" in stats
    audit = await walk.send("/audit")
    assert "anuncio creado" in audit
    assert "evento agregado" in audit
    for command in ("/admins", "/why 1", "/edit", "/edit aims reset", "/channel"):
        for call in await bot.send(command, **ADMIN):
            walk.seen += texts_of([call])
            for data in buttons(call):
                await walk.press(data)

    assert untranslated(walk.seen) == []
