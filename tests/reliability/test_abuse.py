"""Bad input and abuse: arbitrary commands and callback data, hostile feed text, floods, locks."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import OWNER, FreshDatabases, make_settings, running_bot
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from support.harness import BotHarness
from support.telegram_html import validate_telegram_html
from support.transport import check_call, utf16_units

from psgbot.bot.throttle import THROTTLE_KEY, Throttle
from psgbot.config import DEFAULT_DATA_DIR
from psgbot.db.models import Item, ItemTopic
from psgbot.feeds.parse import ParsedItem
from psgbot.feeds.store import get_or_create_feed, store_items
from psgbot.render.markup import MESSAGE_LIMIT
from psgbot.render.news import alert_message, digest_message
from psgbot.topics import Taxonomy

pytestmark = pytest.mark.reliability
TAXONOMY = Taxonomy.load(DEFAULT_DATA_DIR / "topics.yaml")
# Each example runs a bot of its own on a new database: fewer examples than a pure function
# gets, each one independent.
EXAMPLES = 40

COMMANDS = [
    "start",
    "help",
    "latest",
    "topics",
    "events",
    "event",
    "aims",
    "join",
    "subscribe",
    "unsubscribe",
    "mysubs",
    "watch",
    "unwatch",
    "watches",
    "stop",
    "broadcast",
    "stats",
    "edit",
    "admins",
    "addevent",
    "cancelevent",
    "cancel",
    "nonsense",
]
hostile_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300
)


class ErrorCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@asynccontextmanager
async def fresh_bot(databases: FreshDatabases) -> AsyncIterator[tuple[BotHarness, ErrorCounter]]:
    """A bot of its own for one example (on a new database), and the errors it logs."""
    counter = ErrorCounter()
    logging.getLogger().addHandler(counter)
    try:
        async with running_bot(make_settings(await databases.new(), admins=[OWNER])) as bot:
            bot.app.bot_data[THROTTLE_KEY] = Throttle(limit=10_000)
            yield bot, counter
    finally:
        logging.getLogger().removeHandler(counter)


REPLIES = {"sendMessage", "sendDocument", "sendVenue", "sendPhoto"}


@settings(max_examples=EXAMPLES, deadline=None)
@given(command=st.sampled_from(COMMANDS), args=hostile_text, private=st.booleans())
async def test_any_command_gets_a_reply_in_private_chats_and_groups(
    fresh_databases: FreshDatabases, command: str, args: str, private: bool
) -> None:
    """Every command, known or not, with any arguments, from a supporter (not an admin) in a
    private chat or a group, is answered; nothing is logged as an error."""
    async with fresh_bot(fresh_databases) as (bot, errors):
        chat = 4242 if private else -100777
        calls = await bot.send(
            f"/{command} {args}".strip(),
            chat_id=chat,
            chat_type="private" if private else "supergroup",
            user_id=4242,
        )
        assert errors.records == [], errors.records[0].getMessage()
        replies = [call for call in calls if call.method in REPLIES]
        assert replies, (command, args, private)
        assert {call.chat_id for call in replies} == {chat}, (command, args)


callback_data = st.one_of(
    st.builds(
        lambda p, s: p + s,
        st.sampled_from(
            [
                "menu:",
                "sub:t:",
                "sub:",
                "unsub:",
                "unsub:k:",
                "sub:add:",
                "latest:",
                "ev:d:",
                "ev:ics:",
                "ev:rem:",
                "adm:bc:",
                "adm:bcstop:",
                "adm:bcdrop:",
                "adm:edit:",
                "adm:ev:",
                "adm:evcancel:",
                "stop:",
                "watch:rm:",
                "",
            ]
        ),
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789:-_*", max_size=30),
    ),
    st.text(max_size=64).filter(lambda text: 1 <= len(text.encode()) <= 64),
)


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=callback_data)
@example(data="")  # offered by python-telegram-bot to every button handler
@example(data="menu:")
async def test_every_forged_or_stale_button_is_answered(
    fresh_databases: FreshDatabases, data: str
) -> None:
    """Whatever a button's data, the press is answered exactly once (Telegram shows a spinner
    until it is) and nothing is logged as an error."""
    async with fresh_bot(fresh_databases) as (bot, errors):
        calls = await bot.press(data, user_id=5150, chat_id=5150)
        assert errors.records == [], (data, errors.records[0].getMessage())
        answers = [call for call in calls if call.method == "answerCallbackQuery"]
        assert len(answers) == 1, (data, [call.method for call in calls])


@settings(max_examples=300, deadline=None)
@given(
    title=hostile_text,
    summary=st.text(max_size=5000) | st.just("x" * 100_000),
    link=st.one_of(st.none(), st.just('https://x.example/?a=1&b="2"<3>'), hostile_text),
)
def test_any_feed_text_renders_as_valid_html_within_limits(
    title: str, summary: str, link: str | None
) -> None:
    item = Item(
        id=1, title=title or "x", summary=summary, link=link, topics=[ItemTopic(topic="justice")]
    )
    for text in (
        alert_message(item, TAXONOMY, ZoneInfo("Europe/London"), TAXONOMY.get("justice")),
        digest_message([item] * 30, TAXONOMY),
    ):
        visible = validate_telegram_html(text)
        assert utf16_units(visible) <= MESSAGE_LIMIT
        assert visible.strip()
        assert check_call("sendMessage", {"chat_id": 1, "text": text, "parse_mode": "HTML"}) == []


async def test_a_flooding_user_is_told_once_then_ignored(bot: BotHarness) -> None:
    now = [1000.0]
    bot.app.bot_data[THROTTLE_KEY] = Throttle(limit=20, window=60, clock=lambda: now[0])
    answered = [len(await bot.send("/help", chat_id=7)) for _ in range(25)]
    assert answered[:20] == [1] * 20
    warnings = await bot.reply_texts("/help", chat_id=7)
    assert answered[20] == 1
    assert answered[21:] == [0] * 4
    assert warnings == []
    other = await bot.reply_texts("/help", chat_id=8)
    assert other, "other users are unaffected"
    assert "What I can do" in other[0], "other users are unaffected"
    now[0] += 61
    assert "What I can do" in (await bot.reply_texts("/help", chat_id=7))[0]


async def test_a_flood_is_told_once_in_its_language_and_costs_no_reads(bot: BotHarness) -> None:
    now = [1000.0]
    bot.app.bot_data[THROTTLE_KEY] = Throttle(limit=20, window=60, clock=lambda: now[0])
    for _ in range(20):
        await bot.send("/help", chat_id=9, language_code="es")
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = bot.services.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        warning = await bot.reply_texts("/help", chat_id=9, language_code="es")
        read_for_the_warning = len(statements)
        dropped = [await bot.send("/help", chat_id=9, language_code="es") for _ in range(5)]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert warning == [
        "Estás enviando demasiados mensajes muy rápido. Espera un minuto y vuelve a intentarlo."
    ]
    assert read_for_the_warning > 0, "the warning reads the chat's language"
    assert dropped == [[]] * 5
    assert len(statements) == read_for_the_warning, "a dropped update reads nothing"


async def test_error_replies_reveal_nothing_internal(bot: BotHarness) -> None:
    async def broken(update: Any, context: Any) -> None:
        raise RuntimeError("secret internal detail /srv/db password=hunter2")

    from telegram.ext import CommandHandler

    # A group of its own, before every group the bot uses (each group runs one handler).
    bot.app.add_handler(CommandHandler("boom", broken), group=-10)
    replies = await bot.reply_texts("/boom")
    assert "went wrong on our side" in replies[0]
    assert not any("hunter2" in reply or "RuntimeError" in reply for reply in replies)


async def test_sqlite_lock_held_by_another_writer_is_waited_out(sqlite_url: str) -> None:
    async with running_bot(make_settings(sqlite_url)) as bot:
        await store_while_another_writer_holds_the_lock(bot)


async def store_while_another_writer_holds_the_lock(bot: BotHarness) -> None:
    path = Path(bot.services.settings.sqlalchemy_url.split("///", 1)[1])
    holder = sqlite3.connect(path, timeout=30, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE feeds SET title = 'locked' WHERE id = 1")
    # The bot's write must wait for the other writer (about a second), then succeed.
    released = threading.Timer(1.0, holder.commit)
    released.start()
    item = ParsedItem(
        key="guid:lock", guid="lock", title="Court", link=None, published=None, summary=""
    )
    try:
        async with bot.services.sessions.begin() as session:
            feed = await get_or_create_feed(session, "locked-test")
            result = await store_items(session, feed, [item], TAXONOMY)
        assert len(result.new_items) == 1
    finally:
        released.join()
        holder.close()
    await asyncio.sleep(0)
