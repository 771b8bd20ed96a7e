"""Events in Spanish, through the real Application and the dispatcher: /event's details (with
Lima time where the event's zone is another, on Lima's own day), change and cancellation
notices, new-event announcements; and the welcome of a group whose adder speaks Spanish.
Reminders are in test_language_delivery.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import OWNER
from sqlalchemy import select
from support.harness import BotHarness

from psgbot.db.models import Chat, Event
from psgbot.events import announce, notify_change
from psgbot.events_file import event_from_yaml, import_events
from psgbot.i18n import Language
from psgbot.offline import ApiCall

ESPANOL = {"language_code": "es"}
SPANISH_CHAT, GROUP = 8201, -100777
# Saturday 7 June 2031, summer time in London (UTC+1); Lima is UTC-5 all year.
LONDON_EVENT = {
    "uid": "screening",
    "title": "Proyección: La teta asustada",
    "timezone": "Europe/London",
    "start": "2031-06-07 18:00",
    "end": "2031-06-07 20:00",
    "venue": "Sala A",
}
IN_SPANISH = "sábado 7 de junio de 2031, 18:00–20:00 hora de Londres (12:00–14:00 hora de Lima)"


async def add_event(bot: BotHarness, **fields: Any) -> Event:
    event = event_from_yaml(fields)
    async with bot.services.sessions.begin() as session:
        session.add(event)
    return event


def labels(call: ApiCall) -> list[str]:
    markup = call.params.get("reply_markup") or {"inline_keyboard": []}
    return [button["text"] for row in markup["inline_keyboard"] for button in row]


def messages(calls: list[ApiCall]) -> list[ApiCall]:
    return [call for call in calls if call.method == "sendMessage"]


@pytest.mark.parametrize(
    ("zone", "start", "end", "when"),
    [
        # The event's zone is another than Lima's: Lima time too.
        ("Europe/London", "2031-06-07 18:00", "2031-06-07 20:00", IN_SPANISH),
        # The event is in Lima: its time once, without a Lima time beside it.
        ("America/Lima", "2031-06-07 10:00", "2031-06-07 12:00", None),
        # 01:00 in London is still Friday evening in Lima: Lima's own day is named.
        (
            "Europe/London",
            "2031-06-07 01:00",
            "2031-06-07 03:00",
            "sábado 7 de junio de 2031, 01:00–03:00 hora de Londres "
            "(vie 6 jun, 19:00–21:00 hora de Lima)",
        ),
        # Tokyo is ahead: 09:00 on Saturday there is 19:00 on Friday in Lima.
        (
            "Asia/Tokyo",
            "2031-06-07 09:00",
            "2031-06-07 11:00",
            "sábado 7 de junio de 2031, 09:00–11:00 hora de Tokio "
            "(vie 6 jun, 19:00–21:00 hora de Lima)",
        ),
    ],
)
async def test_event_details_in_spanish_with_lima_time(
    bot: BotHarness, zone: str, start: str, end: str, when: str | None
) -> None:
    event = await add_event(
        bot,
        uid="details",
        title="Conferencia anual",
        timezone=zone,
        start=start,
        end=end,
        venue="Casa de la Cultura",
        address="Jr. Ucayali 391",
        online_url="https://meet.example/psg",
        description="Una jornada sobre derechos humanos.",
        programme="10:00 Apertura",
        prices="Gratis",
        registration_url="https://reg.example/psg",
        organiser="PSG",
    )
    (details,) = messages(await bot.send(f"/event {event.id}", chat_id=SPANISH_CHAT, **ESPANOL))
    text = details.text or ""
    if when is None:
        assert "🕰 sábado 7 de junio de 2031, 10:00–12:00 hora de Lima\n" in text
        assert text.count("Lima") == 1
    else:
        assert f"🕰 {when}\n" in text
    for framed in (
        "Mapa</a>",
        "Participar en línea</a>",
        "<b>Acerca del evento</b>\nUna jornada sobre derechos humanos.",
        "<b>Programa</b>",
        "<b>Precios</b>",
        "Inscríbete aquí</a>",
        "Organiza: PSG",
    ):
        assert framed in text, framed
    assert labels(details) == ["Detalles", "Agregar al calendario", "⏰ Recordármelo"]


async def test_change_and_cancellation_notices_in_spanish(bot: BotHarness) -> None:
    event = await add_event(bot, **LONDON_EVENT)
    await bot.press(f"ev:rem:{event.id}", chat_id=SPANISH_CHAT, **ESPANOL)
    # A change that names its fields (the editor's, or an import's).
    moved = {**LONDON_EVENT, "start": "2031-06-08 18:00", "end": "2031-06-08 20:00"}
    async with bot.services.sessions.begin() as session:
        _added, changed = await import_events(session, [{**moved, "venue": "Sala B"}])
        for stored, changes in changed:
            await notify_change(session, stored, [24], datetime.now(UTC), changes)
    (notice,) = await bot.deliver()
    assert notice.chat_id == SPANISH_CHAT
    lines = (notice.text or "").splitlines()
    assert lines[:4] == [
        "✏️ <b>Cambio:</b> Proyección: La teta asustada, un evento del que pediste un recordatorio.",
        "Hora: sáb 7 jun 18:00 → <b>dom 8 jun 18:00</b>",
        "Termina: sáb 7 jun 20:00 → <b>dom 8 jun 20:00</b>",
        "Lugar: Sala A → <b>Sala B</b>",
    ]
    moved_when = (
        "domingo 8 de junio de 2031, 18:00–20:00 hora de Londres (12:00–14:00 hora de Lima)"
    )
    assert f"🗓 {moved_when}" in lines
    # A change notice that does not say what changed (as queued before revision 0012).
    async with bot.services.sessions.begin() as session:
        stored_event = await session.get(Event, event.id)
        assert stored_event is not None
        await notify_change(session, stored_event, [24], datetime.now(UTC))
    (notice,) = await bot.deliver()
    assert (notice.text or "").startswith(
        "✏️ <b>Cambio:</b> cambiaron los detalles de un evento del que pediste un recordatorio."
    )
    assert f"🗓 {moved_when}" in (notice.text or "")

    await bot.send(f"/cancelevent {event.id}", chat_id=OWNER)
    await bot.press(f"adm:evcancel:{event.id}", chat_id=OWNER)
    (cancelled,) = await bot.deliver()
    assert cancelled.chat_id == SPANISH_CHAT
    assert cancelled.text == (
        f"❌ <b>Cancelado:</b> Proyección: La teta asustada ({moved_when}) no se realizará."
    )


async def test_new_events_are_announced_in_spanish(bot: BotHarness) -> None:
    await bot.send("/suscribir psg", chat_id=SPANISH_CHAT, **ESPANOL)
    await bot.send("/subscribe psg", chat_id=SPANISH_CHAT + 1, language_code="en")
    event = await add_event(bot, **LONDON_EVENT)
    async with bot.services.sessions.begin() as session:
        await announce(session, event, datetime.now(UTC))
    sent = {call.chat_id: call.text or "" for call in await bot.deliver()}
    assert sent[SPANISH_CHAT].splitlines() == [
        "📣 <b>Nuevo evento del PSG</b>",
        "<b>Proyección: La teta asustada</b>",
        f"🗓 {IN_SPANISH}",
        "📍 Sala A",
        "/eventos para ver detalles, un archivo de calendario y recordatorios.",
    ]
    assert sent[SPANISH_CHAT + 1].splitlines()[0] == "📣 <b>New PSG event</b>"
    assert "Saturday 7 June 2031, 18:00–20:00 London time" in sent[SPANISH_CHAT + 1]
    assert "Lima" not in sent[SPANISH_CHAT + 1]


async def test_a_group_added_by_a_spanish_speaker_is_welcomed_in_spanish(bot: BotHarness) -> None:
    await bot.app.process_update(
        bot.updates.membership_change(
            GROUP, old="left", new="member", chat_type="supergroup", language_code="es"
        )
    )
    (welcome,) = bot.api.texts(GROUP)
    assert welcome.startswith("👋 <b>¡Hola a todos!</b>")
    for framed in (
        "Soy el bot de Telegram del <b>Peru Support Group</b>",
        "<b>Para configurarme</b> (administradores del grupo):",
        "1. Envía /suscribir",
        "Todos pueden usar /noticias, /eventos y /temas. /ayuda muestra todos los comandos.",
    ):
        assert framed in welcome, framed
    async with bot.services.sessions() as session:
        group = await session.scalar(select(Chat).where(Chat.id == GROUP))
    assert group is not None
    assert group.speaks == Language.ES
    # An English speaker's group, for comparison.
    await bot.app.process_update(
        bot.updates.membership_change(
            GROUP - 1, old="left", new="member", chat_type="supergroup", language_code="en"
        )
    )
    (welcome,) = bot.api.texts(GROUP - 1)
    assert welcome.startswith("👋 <b>Hello, everyone!</b>")
