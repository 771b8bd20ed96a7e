"""What the dispatcher sends, in each recipient's language: broadcasts in two versions (or one,
with a note), alerts' and reminders' frames, dates. (Events' other notices, /event and a
group's welcome in Spanish: test_language_events.py; digests: test_language_digests.py.)"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from conftest import OWNER
from sqlalchemy import select, update
from support.chats import add_chats
from support.clock import fixed
from support.feeds import FeedItem, rss
from support.harness import BotHarness

from psgbot.bot.broadcast import update_progress
from psgbot.cli import main
from psgbot.db.models import Chat, Item
from psgbot.db.types import utcnow
from psgbot.events_file import event_from_yaml
from psgbot.feeds.poll import poll_source
from psgbot.i18n import Language
from psgbot.offline import ApiCall
from psgbot.outbox import enqueue_alerts

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
    # Its report speaks the admin's language.
    bot.api.clear()
    await update_progress(bot.services, bot.app.bot, utcnow())
    (report,) = bot.api.calls
    assert "<b>Anuncio #1 terminado</b>" in (report.text or "")
    # A Spanish admin's preview offers the English version.
    await compose(bot, "Otra vez", **ESPANOL)
    calls = await bot.press("adm:bc:translate", chat_id=OWNER, **ESPANOL)
    assert "Envía la versión en inglés" in (calls[-1].text or "")


def labels(call: ApiCall) -> list[str]:
    markup = call.params.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_alerts_are_framed_in_the_chats_language_and_items_stay_as_published(
    bot: BotHarness, tmp_path: Path
) -> None:
    await bot.send("/suscribir justicia", chat_id=7001, **ESPANOL)
    await bot.send("/subscribe justice", chat_id=7002, language_code="en")
    feed = tmp_path / "noticias.xml"
    published = datetime(2018, 9, 29, 12, tzinfo=UTC)
    item = FeedItem(
        "es-1",
        "La Corte anula el indulto",
        "El tribunal resolvió el caso.",
        "https://n.example/es-1",
        published,
        categories=("justicia",),
    )
    feed.write_bytes(rss([item], language="es-PE"))
    await poll_source(bot.services, str(feed))
    async with bot.services.sessions.begin() as session:
        stored = await session.scalar(select(Item).where(Item.guid == "es-1"))
        assert stored is not None
        assert stored.language == Language.ES
        await enqueue_alerts(session, [stored.id], datetime.now(UTC))
    sent = by_chat(await bot.deliver())
    spanish, english = sent[7001], sent[7002]
    for call in (spanish, english):
        assert "La Corte anula el indulto" in (call.text or "")
        assert "El tribunal resolvió el caso." in (call.text or "")
    assert "29 de septiembre de 2018" in (spanish.text or "")
    assert "#justicia" in (spanish.text or "")
    assert "En español" not in (spanish.text or "")
    assert labels(spanish) == [
        "Leer más",
        "Cancelar suscripción a Justicia",
        "📰 Lo último sobre Justicia",
    ]
    assert "29 September 2018" in (english.text or "")
    assert "#justice" in (english.text or "")
    assert "🇪🇸 In Spanish" in (english.text or "")
    assert labels(english)[:2] == ["Read more", "Unsubscribe from Justice"]


async def test_events_in_spanish_with_lima_time(bot: BotHarness) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    event = event_from_yaml(
        {
            "uid": "conference-es",
            "title": "Annual Conference",
            "timezone": "Europe/London",
            "start": start.astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m-%d 10:00"),
            "end": start.astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m-%d 17:00"),
        }
    )
    async with bot.services.sessions.begin() as session:
        session.add(event)
    (listing,) = await bot.reply_texts("/eventos", **ESPANOL)
    london = start.astimezone(ZoneInfo("Europe/London"))
    lima_offset = 5 if london.utcoffset() == timedelta(0) else 6
    day = format_date(london.date(), "EEEE d 'de' MMMM 'de' y", locale="es")
    lima_times = f"{10 - lima_offset:02d}:00–{17 - lima_offset:02d}:00 hora de Lima"
    assert f"{day}, 10:00–17:00 hora de Londres ({lima_times})" in listing
    assert "Próximos eventos" in listing
    (english,) = await bot.reply_texts("/events", chat_id=7003, language_code="en")
    assert "10:00–17:00 London time" in english
    assert "Lima" not in english


async def test_reminders_come_in_each_chats_language(bot: BotHarness) -> None:
    # Saturday 7 June 2031, 18:00 in London (summer time): 17:00 UTC, 12:00 in Lima.
    start = datetime(2031, 6, 7, 17, tzinfo=UTC)
    event = event_from_yaml(
        {
            "uid": "vigil",
            "title": "Vigilia por la memoria",
            "timezone": "Europe/London",
            "start": "2031-06-07 18:00",
            "venue": "Plaza",
        }
    )
    async with bot.services.sessions.begin() as session:
        session.add(event)
    answer, edit = await bot.press(f"ev:rem:{event.id}", chat_id=7007, **ESPANOL)
    assert answer.params["text"] == (
        "✓ Recordatorio activado: 24 horas, 1 hora antes. Toca de nuevo para deshacerlo."
    )
    assert labels(edit)[-1] == "✓ Recordatorio activado"
    await bot.press(f"ev:rem:{event.id}", chat_id=7008, language_code="en")

    sent = by_chat(await bot.deliver(clock=fixed(start - timedelta(hours=23, minutes=59))))
    assert (sent[7007].text or "").splitlines() == [
        "⏰ <b>Recordatorio:</b> Vigilia por la memoria empieza dentro de 24 horas.",
        "<b>Vigilia por la memoria</b>",
        "🗓 sábado 7 de junio de 2031, 18:00 hora de Londres (12:00 hora de Lima)",
        "📍 Plaza",
    ]
    assert labels(sent[7007]) == ["Detalles", "Agregar al calendario"]
    assert (sent[7008].text or "").splitlines()[:3] == [
        "⏰ <b>Reminder:</b> Vigilia por la memoria is in 24 hours.",
        "<b>Vigilia por la memoria</b>",
        "🗓 Saturday 7 June 2031, 18:00 London time",
    ]
    assert labels(sent[7008]) == ["Details", "Add to calendar"]
    sent = by_chat(await bot.deliver(clock=fixed(start - timedelta(minutes=59))))
    assert "Vigilia por la memoria empieza dentro de 1 hora." in (sent[7007].text or "")
    assert "Vigilia por la memoria is in 1 hour." in (sent[7008].text or "")


async def test_topics_and_standing_texts_in_spanish(bot: BotHarness) -> None:
    (topics,) = await bot.send("/temas", **ESPANOL)
    assert "⚖️ <b>Justicia</b>" in (topics.text or "")
    assert "Tribunales, fiscales y jueces" in (topics.text or "")
    assert "🕊 Derechos humanos" in labels(topics)
    assert not [label for label in labels(topics) if label.endswith(("Justice", "Politics"))]
    (done,) = await bot.reply_texts("/suscribir derechos humanos", **ESPANOL)
    assert "Suscripción a <b>Derechos humanos</b> activada" in done
    (aims,) = await bot.reply_texts("/aims", **ESPANOL)
    assert aims.startswith("<b>Objetivos del PSG</b>")
    assert aims.endswith("<i>Traducción del equipo del PSG.</i>")
    (english,) = await bot.reply_texts("/aims", chat_id=7004, language_code="en")
    assert english.startswith("<b>PSG Aims</b>")
    assert "Traducción" not in english


async def test_an_admin_edits_each_language_apart(bot: BotHarness) -> None:
    await bot.send("/edit history es", chat_id=OWNER)
    await bot.send("Nueva historia del Perú.", chat_id=OWNER)
    await bot.press("adm:edit:save", chat_id=OWNER)
    (spanish,) = await bot.reply_texts("/history", chat_id=7005, **ESPANOL)
    assert "Nueva historia del Perú." in spanish
    (english,) = await bot.reply_texts("/history", chat_id=7006, language_code="en")
    assert "Over the past century" in english
    # Without a language, the admin's own: an owner whose Telegram is in Spanish.
    await bot.send("/edit history", chat_id=OWNER, **ESPANOL)
    await bot.send("Otra versión.", chat_id=OWNER, **ESPANOL)
    await bot.press("adm:edit:save", chat_id=OWNER, **ESPANOL)
    (spanish,) = await bot.reply_texts("/history", chat_id=7005, **ESPANOL)
    assert "Otra versión." in spanish
    (english,) = await bot.reply_texts("/history", chat_id=7006, language_code="en")
    assert "Over the past century" in english


async def test_the_command_line_takes_a_spanish_version(
    bot: BotHarness, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with bot.services.sessions.begin() as session:
        await add_chats(session, [1, 2])
        await session.execute(
            update(Chat).where(Chat.id == 2).values(telegram_language=Language.ES)
        )
    monkeypatch.setenv("PSGBOT_DATABASE_URL", database_url)
    later = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    both = ["--text", "<b>AGM</b> on Saturday", "--text-es", "<b>Asamblea</b> el sábado"]
    spanish_only = ["--text-es", "Solo en español"]
    for versions in (both, spanish_only):
        args = ["broadcast", "--audience", "all", *versions, "--at", later.isoformat()]
        assert await asyncio.to_thread(main, args) == 0
    assert await asyncio.to_thread(main, ["broadcast", "--audience", "all"]) == 2

    assert await bot.deliver(clock=fixed(later - timedelta(minutes=1))) == []
    calls = [call for call in await bot.deliver(clock=fixed(later)) if call.text]
    received = {
        chat: [(call.text, call.params.get("parse_mode")) for call in calls if call.chat_id == chat]
        for chat in (1, 2)
    }
    assert received == {
        1: [
            ("<b>AGM</b> on Saturday", "HTML"),
            ("Solo en español\n\n<i>This announcement is only in Spanish.</i>", "HTML"),
        ],
        2: [("<b>Asamblea</b> el sábado", "HTML"), ("Solo en español", "HTML")],
    }


async def test_a_photos_other_version_must_fit_a_caption(bot: BotHarness) -> None:
    await chats_in_both_languages(bot)
    await bot.send("/broadcast", chat_id=OWNER)
    await bot.press("adm:bc:aud:all", chat_id=OWNER)
    await bot.send("Our banner", chat_id=OWNER, photo="photo-file-1")
    await bot.press("adm:bc:translate", chat_id=OWNER)
    # 1,025 units: one past a caption's limit. Refused with what to do, and nothing kept.
    (refused,) = await bot.reply_texts("ñ" * 1025, chat_id=OWNER)
    assert "at most 1024 characters: this one has 1025" in refused
    calls = await bot.send("Nuestra pancarta", chat_id=OWNER)
    shown, control = calls[-2:]
    assert shown.method == "sendPhoto"
    assert shown.params["caption"] == "Nuestra pancarta"
    assert "Preview" in (control.text or "")
    sent = {
        int(call.chat_id or 0): call
        for call in await send_photo_broadcast(bot)
        if call.method == "sendPhoto"
    }
    assert sent[4].params["caption"] == "Nuestra pancarta"
    assert sent[1].params["caption"] == "Our banner"


async def send_photo_broadcast(bot: BotHarness) -> list[ApiCall]:
    await bot.press("adm:bc:send", chat_id=OWNER)
    await bot.press("adm:bc:confirm", chat_id=OWNER)
    return await bot.deliver()
