"""Admins: every admin path refuses others, roles, stats and feeds, texts, audit."""

from __future__ import annotations

import re
from typing import Any

from conftest import OWNER, PUBLIC_MENU
from sqlalchemy import select
from support.harness import BotHarness
from telegram.ext import (
    BaseHandler,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
)

from psgbot.bot.commands import ALIASES, PUBLIC_COMMANDS
from psgbot.db.models import AuditEntry, TextVersion
from psgbot.i18n import Language
from psgbot.offline import ApiError
from psgbot.render.buttons import CHAT_LANGUAGE, Keyed

EDITOR, STRANGER = 222, 333
REFUSAL = "This command is for PSG administrators."
NOT_ADMIN_COMMANDS = {name for name, _ in PUBLIC_COMMANDS} | set(ALIASES) | {"cancel"}


def every_handler(handlers: list[BaseHandler[Any, Any, Any]]) -> list[BaseHandler[Any, Any, Any]]:
    """All handlers, including those inside guided flows (entry points, states, fallbacks)."""
    found: list[BaseHandler[Any, Any, Any]] = []
    for handler in handlers:
        if isinstance(handler, ConversationHandler):
            inner = [*handler.entry_points, *handler.fallbacks]
            for state in handler.states.values():
                inner += state
            found += every_handler(inner)
        else:
            found.append(handler)
    return found


def example_data(pattern: re.Pattern[str] | str | object) -> str:
    """Callback data matching a handler's pattern, e.g. ^adm:bc:(send|cancel)$ -> adm:bc:send."""
    if isinstance(pattern, Keyed) and pattern.field is CHAT_LANGUAGE:
        return pattern.encode((-1001234567890, Language.ES))
    text = pattern.pattern if isinstance(pattern, re.Pattern) else str(pattern)
    anchored = text.endswith("$")
    text = re.sub(r"\(([^)|]*)(\|[^)]*)?\)", r"\1", text).strip("^$")
    return text if anchored else text + "1"


async def test_every_admin_handler_refuses_a_non_admin(bot: BotHarness) -> None:
    handlers = every_handler([h for group in bot.app.handlers.values() for h in group])
    admin_commands = [
        h
        for h in handlers
        if isinstance(h, CommandHandler) and not set(h.commands) <= NOT_ADMIN_COMMANDS
    ]
    admin_buttons = [
        h
        for h in handlers
        if isinstance(h, CallbackQueryHandler) and example_data(h.pattern).startswith("adm:")
    ]
    assert {"broadcast", "broadcasts", "stats", "feeds", "poll", "edit", "audit", "admins"} <= {
        c for h in admin_commands for c in h.commands
    }
    assert len(admin_buttons) >= 6
    for handler in admin_commands:
        command = sorted(handler.commands)[0]
        update = bot.updates.message(f"/{command} add 5", chat_id=STRANGER)
        before = len(bot.api.calls)
        await handler.callback(update, CallbackContext.from_update(update, bot.app))
        replies = [call.text for call in bot.api.calls[before:]]
        assert replies == [REFUSAL], (command, replies)
    for button in admin_buttons:
        data = example_data(button.pattern)
        assert button.check_update(bot.updates.button_press(data)), data
        update = bot.updates.button_press(data, chat_id=STRANGER)
        before = len(bot.api.calls)
        await button.callback(update, CallbackContext.from_update(update, bot.app))
        (answer,) = bot.api.calls[before:]
        assert answer.method == "answerCallbackQuery", data
        assert answer.params["text"] == REFUSAL, data


async def test_admin_commands_are_not_in_the_public_menu(bot: BotHarness) -> None:
    # Each language's menus (the Spanish ones are tests/bot/test_language.py's).
    menus = [
        call
        for call in bot.api.calls
        if call.method == "setMyCommands" and "language_code" not in call.params
    ]
    public = [call for call in menus if "scope" not in call.params]
    names = {command["command"] for call in public for command in call.params["commands"]}
    assert names == set(PUBLIC_MENU)
    (owner_menu,) = [call for call in menus if call.params.get("scope", {}).get("chat_id") == OWNER]
    owner_names = {command["command"] for command in owner_menu.params["commands"]}
    assert {"broadcast", "stats", "admins"} <= owner_names


async def texts(bot: BotHarness, text: str, user: int) -> list[str]:
    return await bot.reply_texts(text, chat_id=user)


async def test_owner_manages_editors_and_editors_cannot(bot: BotHarness) -> None:
    (listing,) = await texts(bot, "/admins", OWNER)
    # By name, fetched live (the offline Telegram calls every user "Supporter"), with the id.
    assert f"Supporter ({OWNER}): owner" in listing
    (added,) = await texts(bot, f"/admins add {EDITOR}", OWNER)
    assert "is now an editor" in added
    menus = [
        c
        for c in bot.api.calls
        if c.method == "setMyCommands" and c.params.get("scope", {}).get("chat_id") == EDITOR
    ]
    assert menus
    assert "admins" not in {c["command"] for c in menus[-1].params["commands"]}
    (stats,) = await texts(bot, "/stats", EDITOR)
    assert "Statistics" in stats
    (refused,) = await texts(bot, f"/admins remove {EDITOR}", EDITOR)
    assert refused == "Only the bot's owners can do this."
    (removed,) = await texts(bot, f"/admins remove {EDITOR}", OWNER)
    assert "no longer an editor" in removed
    assert any(c.method == "deleteMyCommands" for c in bot.api.calls)
    assert await texts(bot, "/stats", EDITOR) == [REFUSAL]
    (owner_removal,) = await texts(bot, f"/admins remove {OWNER}", OWNER)
    assert "owners are set in PSGBOT_ADMINS" in owner_removal
    (usage,) = await texts(bot, "/admins add bob", OWNER)
    assert "Usage" in usage
    async with bot.services.sessions() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["admin add", "admin remove"]


async def test_stats_feeds_poll_and_audit(bot: BotHarness) -> None:
    await bot.send("/subscribe justice", chat_id=5)
    (stats,) = await texts(bot, "/stats", OWNER)
    assert "1 active" in stats
    assert "Justice: 1" in stats
    assert "Items stored: 10" in stats
    (feeds,) = await texts(bot, "/feeds", OWNER)
    assert "psg-news.xml" in feeds
    assert "Items: 10" in feeds
    replies = await texts(bot, "/poll", OWNER)
    # The feed's body has not changed since the fixture's poll: it is not parsed again.
    assert "psg-news.xml</code>: not modified" in replies[-1]
    (audit,) = await texts(bot, "/audit", OWNER)
    assert "Latest admin actions" in audit


async def test_edit_a_standing_text_and_reset_it(bot: BotHarness) -> None:
    shown = await texts(bot, "/edit aims", OWNER)
    assert "PSG Aims" in shown[0]
    assert "Send the new text" in shown[1]
    calls = await bot.send("The PSG works for rights & justice.", chat_id=OWNER)
    assert "rights &amp; justice" in (calls[0].text or "")
    assert calls[1].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == (
        "adm:edit:save"
    )
    await bot.press("adm:edit:save", chat_id=OWNER)
    (aims,) = await texts(bot, "/aims", STRANGER)
    assert "The PSG works for rights &amp; justice." in aims
    assert "PSG Aims" in aims
    await texts(bot, "/edit aims reset", OWNER)
    await bot.press("adm:edit:reset", chat_id=OWNER)  # reset asks first (issue 19)
    (aims,) = await texts(bot, "/aims", STRANGER)
    assert "promote social inclusion" in aims
    async with bot.services.sessions() as session:
        versions = list(await session.scalars(select(TextVersion).order_by(TextVersion.id)))
    assert [(v.name, v.reset) for v in versions] == [("aims", False), ("aims", True)]
    (usage,) = await texts(bot, "/edit nonsense", OWNER)
    assert "Usage" in usage


async def test_edit_reset_asks_first_in_plain_words(bot: BotHarness) -> None:
    """Issue 19, point 14: /edit aims reset asks, and names no file."""
    await bot.send("/edit aims", chat_id=OWNER)
    await bot.send("New aims", chat_id=OWNER)
    await bot.press("adm:edit:save", chat_id=OWNER)
    (question,) = await bot.send("/edit aims reset", chat_id=OWNER)
    assert "Put /aims back to the PSG's original text?" in (question.text or "")
    assert "texts.yaml" not in (question.text or "")
    (aims,) = await texts(bot, "/aims", STRANGER)
    assert "New aims" in aims
    kept = await bot.press("adm:edit:discard", chat_id=OWNER)
    assert kept[-1].text == "Nothing changed."
    await bot.send("/edit aims reset", chat_id=OWNER)
    done = await bot.press("adm:edit:reset", chat_id=OWNER)
    assert done[-1].text == "Done: /aims shows the PSG's original text again."
    (aims,) = await texts(bot, "/aims", STRANGER)
    assert "promote social inclusion" in aims


async def test_audit_in_plain_words_with_names(bot: BotHarness) -> None:
    """Issue 19, point 14: no "None", no ISO times; admins by name where Telegram gives one."""
    await texts(bot, f"/admins add {EDITOR}", OWNER)
    await bot.send("/broadcast", chat_id=OWNER)
    await bot.press("adm:bc:aud:me", chat_id=OWNER)
    await bot.send("Test", chat_id=OWNER)
    await bot.press("adm:bc:schedule", chat_id=OWNER)
    await bot.press("adm:bc:at:1h", chat_id=OWNER)
    async with bot.services.sessions.begin() as session:
        session.add(AuditEntry(user_id=None, action="broadcast sent", detail="#9: 1 delivered"))
        session.add(
            AuditEntry(
                user_id=EDITOR, action="broadcast created", detail="#8 at 2026-12-01T18:30:00+00:00"
            )
        )

    def unknown_user(call: Any) -> None:
        if call.method == "getChat" and int(call.params["chat_id"]) == EDITOR:
            raise ApiError(400, "Bad Request: chat not found")

    bot.api.faults.append(unknown_user)
    (audit,) = await texts(bot, "/audit", OWNER)
    assert "None" not in audit
    assert not re.search(r"\d{4}-\d{2}-\d{2}T", audit)
    assert "· Supporter · <b>editor added</b> 222" in audit
    assert "→ only you, " in audit
    assert "· the bot · <b>broadcast sent</b>" in audit
    assert f"· {EDITOR} · <b>broadcast created</b> #8 at 1 Dec 2026 18:30 GMT" in audit


async def test_edit_can_be_cancelled(bot: BotHarness) -> None:
    await texts(bot, "/edit join", OWNER)
    assert await texts(bot, "/cancel", OWNER) == ["Cancelled."]
    assert await texts(bot, "/cancel", OWNER) == ["Nothing to cancel."]
    (join,) = await texts(bot, "/join", OWNER)
    assert "Why join the PSG?" in join


async def test_a_gone_feed_can_be_enabled_again(bot: BotHarness) -> None:
    from sqlalchemy import update

    from psgbot.db.models import Feed

    async with bot.services.sessions.begin() as session:
        await session.execute(update(Feed).values(disabled=True, failures=1))
    (listing,) = await texts(bot, "/feeds", OWNER)
    assert "Disabled (410 Gone)" in listing
    source = bot.services.settings.feed_sources[0]
    (done,) = await texts(bot, f"/feeds enable {source}", OWNER)
    assert "enabled" in done
    async with bot.services.sessions() as session:
        feed = await session.scalar(select(Feed))
    assert feed is not None
    assert not feed.disabled
    assert feed.failures == 0
    (unknown,) = await texts(bot, "/feeds enable nowhere", OWNER)
    assert "No feed has that source" in unknown
