"""Digests in each chat's language: an item written in the other language is marked in the
daily digest (and the weekly one and quiet hours', which share its lines) and in a burst's
headlines, as it is in an alert; an item in the chat's own language is not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from support.clock import fixed
from support.feeds import FeedItem, rss
from support.harness import BotHarness

from psgbot.db.models import Item
from psgbot.feeds.poll import poll_source
from psgbot.offline import ApiCall
from psgbot.outbox import enqueue_alerts

ESPANOL = {"language_code": "es"}
ENGLISH = {"language_code": "en"}
SPANISH_CHAT, ENGLISH_CHAT = 8101, 8102
IN_SPANISH, IN_ENGLISH = "🇪🇸 In Spanish", "🇬🇧 En inglés"
# Marks the other chat would show: neither may appear where the item is in the chat's language.
EVERY_MARK = ("🇪🇸 In Spanish", "🇬🇧 In English", "🇪🇸 En español", "🇬🇧 En inglés")
SPANISH_TITLES = ("La Corte anula el indulto", "Fiscalía abre una investigación")
ENGLISH_TITLES = ("Court annuls the pardon", "Prosecutors open an inquiry")


def story(guid: str, title: str, topic: str) -> FeedItem:
    published = datetime.now(UTC) - timedelta(hours=1)
    return FeedItem(guid, title, "", f"https://n.example/{guid}", published, categories=(topic,))


async def publish_in_both_languages(bot: BotHarness, folder: Path) -> list[int]:
    """Two items from a feed that declares Spanish and two from one that declares English,
    alerted to the chats that follow justice; returns their ids."""
    spanish, english = folder / "noticias.xml", folder / "news.xml"
    spanish.write_bytes(
        rss(
            [story(f"es-{n}", title, "justicia") for n, title in enumerate(SPANISH_TITLES)],
            language="es-PE",
        )
    )
    english.write_bytes(
        rss(
            [story(f"en-{n}", title, "justice") for n, title in enumerate(ENGLISH_TITLES)],
            language="en-GB",
        )
    )
    for feed in (spanish, english):
        await poll_source(bot.services, str(feed))  # a first read: stored, not alerted
    async with bot.services.sessions.begin() as session:
        ids = list(
            await session.scalars(select(Item.id).where(Item.guid.like("e_-%")).order_by(Item.id))
        )
        assert len(ids) == 4
        await enqueue_alerts(session, ids, datetime.now(UTC))
    return ids


def message_to(calls: list[ApiCall], chat_id: int) -> str:
    (call,) = [call for call in calls if call.chat_id == chat_id and call.method == "sendMessage"]
    return call.text or ""


def entry_of(text: str, title: str, separator: str) -> str:
    """The part of a digest about one item (its paragraph, or its line in a burst)."""
    (entry,) = [part for part in text.split(separator) if f">{title}</a>" in part]
    return entry


def assert_marked(text: str, separator: str, *, marked: tuple[str, ...], mark: str) -> None:
    for title in marked:
        assert mark in entry_of(text, title, separator), title
    for title in {*SPANISH_TITLES, *ENGLISH_TITLES} - set(marked):
        entry = entry_of(text, title, separator)
        assert not [other for other in EVERY_MARK if other in entry], title


async def test_a_daily_digest_marks_the_items_in_the_other_language(
    bot: BotHarness, tmp_path: Path
) -> None:
    await bot.send("/suscribir justicia", chat_id=SPANISH_CHAT, **ESPANOL)
    await bot.send("/digest diario 08:00", chat_id=SPANISH_CHAT, **ESPANOL)
    await bot.send("/subscribe justice", chat_id=ENGLISH_CHAT, **ENGLISH)
    await bot.send("/digest daily 08:00", chat_id=ENGLISH_CHAT, **ENGLISH)
    bot.api.clear()
    await publish_in_both_languages(bot, tmp_path)
    assert await bot.deliver() == [], "held for the digest"
    calls = await bot.deliver(clock=fixed(datetime.now(UTC) + timedelta(days=1, minutes=1)))

    spanish = message_to(calls, SPANISH_CHAT)
    assert "Tu resumen diario" in spanish
    assert_marked(spanish, "\n\n", marked=ENGLISH_TITLES, mark=IN_ENGLISH)
    english = message_to(calls, ENGLISH_CHAT)
    assert "Your daily digest" in english
    assert_marked(english, "\n\n", marked=SPANISH_TITLES, mark=IN_SPANISH)
    # The mark sits with the item's date and tags, under its title.
    line = entry_of(english, SPANISH_TITLES[0], "\n\n").splitlines()[1]
    assert line.strip().split(" · ")[1:] == [IN_SPANISH, "#justice"]


async def test_a_burst_of_alerts_marks_the_headlines_in_the_other_language(
    bot: BotHarness, tmp_path: Path
) -> None:
    await bot.send("/suscribir justicia", chat_id=SPANISH_CHAT, **ESPANOL)
    await bot.send("/subscribe justice", chat_id=ENGLISH_CHAT, **ENGLISH)
    bot.api.clear()
    await publish_in_both_languages(bot, tmp_path)
    calls = await bot.deliver()  # four at once: one message of headlines each

    spanish = message_to(calls, SPANISH_CHAT)
    assert "4 noticias nuevas" in spanish
    assert_marked(spanish, "\n", marked=ENGLISH_TITLES, mark=IN_ENGLISH)
    english = message_to(calls, ENGLISH_CHAT)
    assert "4 new items" in english
    assert_marked(english, "\n", marked=SPANISH_TITLES, mark=IN_SPANISH)
    assert entry_of(english, SPANISH_TITLES[0], "\n").endswith(f"</a> · {IN_SPANISH}")
