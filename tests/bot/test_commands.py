"""The public commands, through the real Application and the recording transport."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import OWNER, PUBLIC_MENU
from sqlalchemy import delete
from support.harness import BotHarness
from support.transport import RecordingBotApi

from psgbot.db.models import Item
from psgbot.feeds.parse import ParsedItem
from psgbot.feeds.store import get_or_create_feed, store_items
from psgbot.offline import ApiCall

NEWEST_SEED_TITLE = "Fujimoristas vote may save Hinostroza from prosecution"


async def test_start_welcomes_with_main_menu(bot: BotHarness) -> None:
    (call,) = await bot.send("/start")
    assert "Peru Support Group" in (call.text or "")
    buttons = [
        b["callback_data"] for row in call.params["reply_markup"]["inline_keyboard"] for b in row
    ]
    assert buttons == [
        "menu:latest",
        "menu:topics",
        "menu:events",
        "menu:aims",
        "menu:subscribe",
        "menu:join",
        "menu:privacy",  # added with /privacy (issue 13)
    ]


UNKNOWN_COMMAND = "I don't know"


async def test_public_menu_offers_each_supporter_command_and_each_one_answers(
    bot: BotHarness,
) -> None:
    (public,) = [
        call
        for call in bot.api.calls
        if call.method == "setMyCommands"
        and "scope" not in call.params
        and "language_code" not in call.params
    ]
    assert [command["command"] for command in public.params["commands"]] == PUBLIC_MENU
    # A chat each: one user typing every command at once would meet the rate limit (bot.throttle).
    for offset, name in enumerate(PUBLIC_MENU):
        replies = await bot.reply_texts(f"/{name}", chat_id=4300 + offset * 100)
        assert replies, name
        assert not any(UNKNOWN_COMMAND in reply for reply in replies), name


# What a group's members may not do (their group's administrators may): written out here.
GROUP_ADMINS_ONLY = {
    "subscribe",
    "unsubscribe",
    "watch",
    "unwatch",
    "stop",
    "settings",
    "digest",
    "quiet",
    "timezone",
    "announcements",
    "mydata",
    "forget",
    "language",
}
GROUP = -100700800


def menus(bot: BotHarness, language: str | None = None) -> dict[str, list[str]]:
    """Each command menu set on start for users of ``language`` (None: everyone's default), by
    its scope's type (a chat's scope by its chat id)."""
    found = {}
    for call in bot.api.calls:
        if call.method == "setMyCommands" and call.params.get("language_code") == language:
            scope = call.params.get("scope", {"type": "default"})
            key = f"chat {scope['chat_id']}" if scope["type"] == "chat" else scope["type"]
            found[key] = [command["command"] for command in call.params["commands"]]
    return found


async def test_each_scope_has_its_menu_and_each_command_answers_there(bot: BotHarness) -> None:
    found = menus(bot)
    assert found["all_private_chats"] == PUBLIC_MENU
    assert found["all_chat_administrators"] == PUBLIC_MENU
    members = [name for name in PUBLIC_MENU if name not in GROUP_ADMINS_ONLY]
    assert found["all_group_chats"] == members
    # The owner's private chat also offers the admin commands.
    assert {"broadcast", "admins", "stats"} <= set(found[f"chat {OWNER}"])
    # A group member is never refused a command the group's menu offers them.
    bot.api.chat_members[(GROUP, 7)] = "member"
    for name in members:
        replies = await bot.reply_texts(
            f"/{name}", chat_id=GROUP, chat_type="supergroup", user_id=7
        )
        assert replies, name
        assert not any("Only this group's administrators" in reply for reply in replies), name


README = Path(__file__).resolve().parents[2] / "README.md"


def readme_table(heading: str) -> dict[str, str]:
    """The commands of the first table under ``heading`` with their row's second column."""
    section = README.read_text(encoding="utf-8").split(heading + "\n", 1)[1].split("\n## ")[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `/"):
            for name in re.findall(r"`/([a-z]+)", cells[0]):
                rows[name] = cells[1]
    return rows


async def test_readme_command_tables_match_each_scopes_menu(bot: BotHarness) -> None:
    found = menus(bot)
    public = readme_table("## Commands")
    assert sorted(public) == sorted(found["all_private_chats"])
    assert sorted(public) == sorted(found["all_chat_administrators"])
    everyone = [name for name, menu in public.items() if menu == "everyone"]
    assert sorted(everyone) == sorted(found["all_group_chats"])
    staff = readme_table("## Administering the bot")
    assert sorted(staff) == sorted(set(found[f"chat {OWNER}"]) - set(public))


def named_commands(text: str) -> set[str]:
    return set(re.findall(r"(?<![<\w/])/([a-z]+)\b", text))


async def test_help_shows_what_the_asker_may_use(bot: BotHarness) -> None:
    bot.api.chat_members[(GROUP, 7)] = "member"
    bot.api.chat_members[(GROUP, 8)] = "administrator"
    (member,) = await bot.reply_texts("/help", chat_id=GROUP, chat_type="supergroup", user_id=7)
    assert not named_commands(member) & GROUP_ADMINS_ONLY
    assert "latest" in named_commands(member)
    (admin,) = await bot.reply_texts("/help", chat_id=GROUP, chat_type="supergroup", user_id=8)
    assert named_commands(admin) >= GROUP_ADMINS_ONLY
    assert "broadcast" not in named_commands(admin)
    (supporter,) = await bot.reply_texts("/help")
    assert "broadcast" not in named_commands(supporter)
    (owner,) = await bot.reply_texts("/help", chat_id=OWNER)
    assert {"broadcast", "addevent", "admins", "subscribe"} <= named_commands(owner)


async def test_help_names_every_menu_command_and_each_named_command_answers(
    bot: BotHarness,
) -> None:
    (text,) = await bot.reply_texts("/help")
    named = sorted(set(re.findall(r"(?<![<\w/])/([a-z]+)\b", text)))
    assert set(PUBLIC_MENU) <= set(named)
    for offset, name in enumerate(named):
        replies = await bot.reply_texts(f"/{name}", chat_id=4301 + offset * 100)
        assert replies, name
        assert not any(UNKNOWN_COMMAND in reply for reply in replies), name


async def test_commands_addressed_to_other_bots_are_ignored(bot: BotHarness) -> None:
    group = -100500600
    assert await bot.send("/weather@OtherBot", chat_id=group, chat_type="supergroup") == []
    assert await bot.send("/latest@OtherBot") == []
    # Addressed to this bot (any case), they are answered as usual.
    (text,) = await bot.reply_texts("/latest@PSG_News_Bot 1")
    assert text.count("<b><a href=") == 1
    (text,) = await bot.reply_texts("/weather@psg_news_bot", chat_id=group, chat_type="group")
    assert UNKNOWN_COMMAND in text


async def test_latest_shows_five_newest_first(bot: BotHarness) -> None:
    (text,) = await bot.reply_texts("/latest")
    assert text.count("<b><a href=") == 5
    first_title = text.split("<b><a href=")[1]
    assert NEWEST_SEED_TITLE in first_title
    assert "29 September 2018" in text
    assert "#justice" in text


async def test_latest_with_count(bot: BotHarness) -> None:
    (text,) = await bot.reply_texts("/latest 10")
    assert text.count("<b><a href=") == 10
    (text,) = await bot.reply_texts("/latest 1")
    assert text.count("<b><a href=") == 1


async def test_latest_by_topic_alias(bot: BotHarness) -> None:
    (text,) = await bot.reply_texts("/latest mining")
    assert "Mining, oil and gas" in text
    assert "Lower copper prices take their toll" in text
    assert "Chavarry fights back" not in text


async def test_latest_topic_and_count_in_either_order(bot: BotHarness) -> None:
    (first,) = await bot.reply_texts("/latest justice 2")
    (second,) = await bot.reply_texts("/latest 2 Justice")
    assert first == second
    assert first.count("<b><a href=") == 2


async def test_latest_unknown_topic_names_the_right_command(bot: BotHarness) -> None:
    (text,) = await bot.reply_texts("/latest abc")
    assert "abc" in text
    assert "/latest mining" in text
    assert "Mining, oil and gas" in text  # the topics, by the names the chat reads


async def test_latest_count_out_of_range(bot: BotHarness) -> None:
    for argument in ("500", "0", "-3"):
        (text,) = await bot.reply_texts(f"/latest {argument}")
        assert "1 to 20" in text
        assert "/latest 20" in text


async def test_latest_with_nothing_stored_says_nothing_yet(bot: BotHarness) -> None:
    async with bot.services.sessions.begin() as session:
        await session.execute(delete(Item))
    (text,) = await bot.reply_texts("/latest")
    assert "Nothing yet" in text


async def test_topics_lists_every_topic(bot: BotHarness) -> None:
    (text,) = await bot.reply_texts("/topics")
    for slug in bot.services.taxonomy.slugs:
        assert f"<code>{slug}</code>" in text


async def test_standing_texts_come_from_the_seed(bot: BotHarness) -> None:
    expectations = {
        "/aims": ("PSG Aims", "promote social inclusion, sustainable development"),
        "/history": ("Historical Overview", "nearly 70,000 people died"),
        "/humanrights": ("Human Rights", "armed conflict in 1980"),
        "/join": ("Why join the PSG?", "Become a member"),
    }
    for command, fragments in expectations.items():
        (text,) = await bot.reply_texts(command)
        for fragment in fragments:
            assert fragment in text, (command, fragment)
    (join,) = await bot.reply_texts("/join")
    assert '<a href="https://perusupportgroup.org.uk/">Become a member</a>' in join


async def test_events_shows_the_conference_as_past(bot: BotHarness) -> None:
    # One message now, heading and events together (issue 19); the date without a time said
    # "(all day; time to be announced, Europe/London time)".
    (text,) = await bot.reply_texts("/events")
    assert "No upcoming events" in text
    assert "Peru Support Group Annual Conference" in text
    assert "Saturday 15 December 2018, time to be announced" in text
    assert "UCL Global Governance Institute" in text
    assert "Tavistock Square" in text


async def test_unknown_command_names_help(bot: BotHarness) -> None:
    (text,) = await bot.reply_texts("/frobnicate now")
    assert "/frobnicate" in text
    assert "/help" in text


async def test_plain_text_in_private_chat_is_a_search_that_names_help(bot: BotHarness) -> None:
    (text,) = await bot.reply_texts("zzyzx quux")
    assert "Searching the archive for “zzyzx quux”" in text
    assert "/help" in text
    assert "/latest" in text  # nothing matched: the newest items are a command away


async def test_plain_text_in_group_is_ignored(bot: BotHarness) -> None:
    calls = await bot.send("hello everyone", chat_id=-100123, chat_type="supergroup", user_id=7)
    assert calls == []


async def test_command_addressed_to_the_bot_in_a_group(bot: BotHarness) -> None:
    texts = await bot.reply_texts(
        "/latest@psg_news_bot 1", chat_id=-100123, chat_type="supergroup", user_id=7
    )
    assert len(texts) == 1
    assert NEWEST_SEED_TITLE in texts[0]


async def test_menu_buttons_run_their_commands(bot: BotHarness) -> None:
    calls = await bot.press("menu:latest")
    assert calls[0].method == "answerCallbackQuery"
    assert NEWEST_SEED_TITLE in (calls[1].text or "")
    calls = await bot.press("menu:join")
    assert "Why join the PSG?" in (calls[1].text or "")


async def test_stale_or_forged_button_gets_an_answer(bot: BotHarness) -> None:
    for data in ("menu:nonsense", "zz:1", "x" * 64):
        (call,) = await bot.press(data)
        assert call.method == "answerCallbackQuery"
        assert "no longer active" in call.params["text"]


async def test_undated_item_sorts_by_when_first_seen(bot: BotHarness) -> None:
    """An item without a date, stored now through the feed path, is the newest of all."""
    undated = ParsedItem(
        key="guid:undated",
        guid="undated",
        title="Undated but new",
        link="https://n.example/undated",
        published=None,
        summary="",
    )
    async with bot.services.sessions.begin() as session:
        feed = await get_or_create_feed(session, "undated-feed")
        await store_items(session, feed, [undated], bot.services.taxonomy)
    (text,) = await bot.reply_texts("/latest 2")
    assert text.index("Undated but new") < text.index(NEWEST_SEED_TITLE)


def button_data(call: ApiCall) -> list[str]:
    markup = call.params.get("reply_markup") or {"inline_keyboard": []}
    return [
        b.get("callback_data", b.get("url", "")) for row in markup["inline_keyboard"] for b in row
    ]


async def test_topics_and_standing_texts_lead_somewhere(bot: BotHarness) -> None:
    (topics,) = await bot.send("/topics")
    data = button_data(topics)
    assert [d for d in data if d.startswith("latest:")] == [
        f"latest:{slug}" for slug in bot.services.taxonomy.slugs
    ]
    assert "menu:subscribe" in data
    calls = await bot.press("latest:justice")
    assert "Latest on Justice" in (calls[-1].text or "")
    # One topic's latest ends with a way to follow it; pressed twice, it says so.
    assert button_data(calls[-1]) == ["sub:add:justice"]
    (answer,) = await bot.press("sub:add:justice")
    assert answer.params["text"] == "✓ Subscribed to Justice. /mysubs lists your topics."
    (answer,) = await bot.press("sub:add:justice")
    assert answer.params["text"] == "You're already subscribed to Justice."
    assert "Justice" in (await bot.reply_texts("/mysubs"))[0]
    for command in ("/aims", "/history", "/humanrights"):
        (text,) = await bot.send(command)
        assert {"menu:subscribe", "menu:events", "menu:join"} <= set(button_data(text)), command
    (join,) = await bot.send("/join")
    assert {"menu:aims", "menu:events", "menu:subscribe"} <= set(button_data(join))


def profile_calls(api: RecordingBotApi) -> dict[tuple[str, str | None], str]:
    """What setMyDescription and setMyShortDescription set, by method and language."""
    return {
        (call.method, call.params.get("language_code")): str(
            call.params.get("description", call.params.get("short_description"))
        )
        for call in api.calls
        if call.method in {"setMyDescription", "setMyShortDescription"}
    }


async def test_the_profile_is_set_on_start_in_each_language(bot: BotHarness) -> None:
    profile = profile_calls(bot.api)
    assert "Peru Support Group" in profile["setMyDescription", None]
    assert "Peru Support Group" in profile["setMyShortDescription", None]
    assert profile["setMyShortDescription", "es"] == (
        "Noticias, alertas y eventos del Peru Support Group: derechos humanos en el Perú."
    )
    assert "la red del Reino Unido" in profile["setMyDescription", "es"]
