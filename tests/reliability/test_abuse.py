"""Bad input and abuse: arbitrary commands and callback data, hostile feed text, floods, locks."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import make_settings, running_bot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.harness import BotHarness
from support.telegram_html import validate_telegram_html
from support.transport import check_call, utf16_units

from psgbot.alerts.limits import FloodLimiter  # noqa: F401  (import proves no cycle)
from psgbot.bot.throttle import THROTTLE_KEY, Throttle
from psgbot.config import DEFAULT_DATA_DIR
from psgbot.db.models import Item, ItemTopic
from psgbot.feeds.parse import ParsedItem
from psgbot.feeds.store import get_or_create_feed, store_items
from psgbot.render import MESSAGE_LIMIT, alert_message, digest_message
from psgbot.topics import Taxonomy

pytestmark = pytest.mark.reliability
TAXONOMY = Taxonomy.load(DEFAULT_DATA_DIR / "topics.yaml")
EXAMPLES = {"commands": 0, "buttons": 0, "renders": 0}

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


@pytest.fixture
def errors() -> Any:
    counter = ErrorCounter()
    logging.getLogger().addHandler(counter)
    yield counter
    logging.getLogger().removeHandler(counter)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(command=st.sampled_from(COMMANDS), args=hostile_text, private=st.booleans())
async def test_any_command_gets_a_reply_or_a_deliberate_silence(
    bot: BotHarness, errors: ErrorCounter, command: str, args: str, private: bool
) -> None:
    EXAMPLES["commands"] += 1
    bot.app.bot_data[THROTTLE_KEY] = Throttle(limit=10_000)
    chat = 4242 if private else -100777
    calls = await bot.send(
        f"/{command} {args}".strip(),
        chat_id=chat,
        chat_type="private" if private else "supergroup",
        user_id=4242,
    )
    assert errors.records == [], errors.records[0].getMessage()
    assert not bot.api.violations
    replies = [c for c in calls if c.method in {"sendMessage", "sendDocument", "sendVenue"}]
    assert replies or not private or command in {"cancel"}, (command, args)
    if private:
        assert replies, (command, args)
    await bot.press("stop:no", chat_id=chat)  # leave no flow half-open between examples
    await bot.send("/cancel", chat_id=chat, user_id=4242)


callback_data = st.one_of(
    st.builds(
        lambda p, s: p + s,
        st.sampled_from(
            [
                "menu:",
                "sub:t:",
                "sub:",
                "unsub:",
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
                "",
            ]
        ),
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789:-_*", max_size=30),
    ),
    st.text(max_size=64).filter(lambda text: 1 <= len(text.encode()) <= 64),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=callback_data)
async def test_forged_and_stale_buttons_never_break_the_bot(
    bot: BotHarness, errors: ErrorCounter, data: str
) -> None:
    EXAMPLES["buttons"] += 1
    bot.app.bot_data[THROTTLE_KEY] = Throttle(limit=10_000)
    calls = await bot.press(data or "x", user_id=5150, chat_id=5150)
    assert errors.records == [], (data, errors.records[0].getMessage())
    assert not bot.api.violations
    assert any(call.method == "answerCallbackQuery" for call in calls) or calls == [], data


@settings(max_examples=300, deadline=None)
@given(
    title=hostile_text,
    summary=st.text(max_size=5000) | st.just("x" * 100_000),
    link=st.one_of(st.none(), st.just('https://x.example/?a=1&b="2"<3>'), hostile_text),
)
def test_any_feed_text_renders_as_valid_html_within_limits(
    title: str, summary: str, link: str | None
) -> None:
    EXAMPLES["renders"] += 1
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


def test_report_hypothesis_examples() -> None:
    print(f"hypothesis examples so far: {EXAMPLES}")


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


async def test_error_replies_reveal_nothing_internal(bot: BotHarness) -> None:
    async def broken(update: Any, context: Any) -> None:
        raise RuntimeError("secret internal detail /srv/db password=hunter2")

    from telegram.ext import CommandHandler

    bot.app.add_handler(CommandHandler("boom", broken), group=-3)
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
