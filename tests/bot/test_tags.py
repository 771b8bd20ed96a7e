"""/why shows the tagger's working; /tag corrects an item's topics and alerts the followers of
an added topic once, however often it is repeated."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from conftest import OWNER, make_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import select
from support.feed_server import FeedServer, Response
from support.feeds import HISTORY, FeedItem, recent, rss
from support.harness import BotHarness

from psgbot.config import Settings
from psgbot.db.models import AuditEntry, Item, ItemTopic
from psgbot.feeds.poll import poll_source

EDITOR, STRANGER = 222, 333
REFUSAL = "This command is for PSG administrators."
BAMBAS = FeedItem(
    "bambas-1",
    "Las Bambas road blockade lifted",
    "Communities near the Las Bambas mine lifted the blockade after talks. "
    "The government promised investment.",
    "https://n.example/bambas-1",
    recent(),
)


@pytest.fixture
def feed_url(feed_server: FeedServer) -> str:
    feed_server.routes["/feed"] = Response(rss(HISTORY))
    return feed_server.url("/feed")


@pytest.fixture
def settings(database_url: str, feed_url: str) -> Settings:
    return make_settings(database_url, feeds=[feed_url], admins=[OWNER])


async def publish(bot: BotHarness, feed_url: str, feed_server: FeedServer) -> None:
    """Puts the Las Bambas item at the top of the feed, as news (the feed was polled before)."""
    feed_server.routes["/feed"] = Response(rss([BAMBAS, *HISTORY]))
    await poll_source(bot.services, feed_url)


async def reply(bot: BotHarness, text: str, user: int = OWNER) -> str:
    """The bot's one answer to ``text`` from ``user`` in their private chat."""
    (answer,) = await bot.reply_texts(text, chat_id=user)
    return answer


async def tags_of(bot: BotHarness, title: str) -> dict[str, bool]:
    """The item's topics, each with whether its tag kept the item's sort time."""
    async with bot.services.reads() as session:
        item = await session.scalar(select(Item).where(Item.title == title))
        assert item is not None
        rows = await session.scalars(select(ItemTopic).where(ItemTopic.item_id == item.id))
        return {row.topic: row.sort_at == item.sort_at for row in rows}


async def test_why_shows_each_topics_score_and_cues(
    bot: BotHarness, feed_url: str, feed_server: FeedServer
) -> None:
    await publish(bot, feed_url, feed_server)
    text = await reply(bot, "/why 1")
    lines = text.split("\n")
    assert lines[:3] == [
        "🔎 <b>Why this item has its topics</b>",
        "Item 1: <b>Las Bambas road blockade lifted</b>",
        "Tagged: ⛏ Mining, oil and gas",
    ]
    extractives = lines.index("<b>⛏ Mining, oil and gas</b>: 11.3, tagged")
    # Most telling cue first: a strong name in the title, twice.
    assert lines[extractives + 1 : extractives + 3] == [
        "• “las bambas” (strong): title, ×2, 10.1 points",
        "• “mine” (keyword): first sentence, ×1, 1.2 points",
    ]
    # Topics that scored without being tagged, briefly, most salient first.
    assert "Also scored, not tagged: 🏛 Politics 0.3, 📈 Economy 0.3" in lines
    assert "from 1.5 points" in text

    # An older item, numbered as /latest numbers it: two topics, both tagged.
    older = await reply(bot, "/why 2")
    assert "Item 2: <b>Mining concession protest</b>" in older
    assert "<b>⛏ Mining, oil and gas</b>: 5.4, tagged" in older
    assert "Also scored, not tagged: 🕊 Human rights 1.2" in older


async def test_why_counts_the_feed_categories_tagging_counted(
    bot: BotHarness, feed_url: str, feed_server: FeedServer
) -> None:
    """The item's human rights come from its feed category alone: /why shows that cue, and
    the same topics as ingest gave."""
    round_up = FeedItem(
        "round-up",
        "Weekly round-up",
        "The court met. Later the government met.",
        "https://n.example/round-up",
        recent(),
        ("Derechos Humanos",),
    )
    feed_server.routes["/feed"] = Response(rss([round_up, *HISTORY]))
    await poll_source(bot.services, feed_url)
    lines = (await reply(bot, "/why 1")).split("\n")
    assert lines[2:10] == [
        "Tagged: ⚖️ Justice, 🕊 Human rights",
        "",
        "<b>🕊 Human rights</b>: 3.0, tagged",
        "• “Derechos Humanos” (category): feed category, ×1, 3.0 points",
        "",
        "<b>⚖️ Justice</b>: 1.5, tagged",
        "• “court*” (keyword): first sentence, ×1, 1.5 points",
        "",
    ]


async def test_why_explains_topics_tagged_under_the_relative_bar(
    bot: BotHarness, feed_url: str, feed_server: FeedServer
) -> None:
    """A topic the guide pairs with the subject, and the subject of a PSG activity, are tagged
    below a fifth of the best score: /why says why."""
    conga = FeedItem(
        "conga",
        "March against the Conga project",
        "Thousands marched in Cajamarca against Yanacocha's Conga gold project, which would "
        "drain four lakes.",
        "https://n.example/conga",
        recent(1),
    )
    delegation = FeedItem(
        "delegation",
        "PSG delegation visits Cajamarca",
        "A Peru Support Group delegation met human rights defenders facing criminal charges for "
        "opposing mining in Cajamarca.",
        "https://n.example/delegation",
        recent(2),
    )
    feed_server.routes["/feed"] = Response(rss([conga, delegation, *HISTORY]))
    await poll_source(bot.services, feed_url)

    paired = (await reply(bot, "/why 1")).split("\n")
    assert "<b>⛏ Mining, oil and gas</b>: 14.7, tagged" in paired
    assert "<b>🌳 Environment</b>: 1.5, tagged" in paired
    assert paired[-1].endswith(
        "repeats and further cues add less. The guide pairs 🌳 Environment with ⛏ Mining, oil "
        "and gas: it needs only 1.5 points."
    )
    beside = (await reply(bot, "/why 2")).split("\n")
    assert "<b>📣 PSG news and events</b>: 13.5, tagged" in beside
    assert "<b>⛏ Mining, oil and gas</b>: 1.5, tagged" in beside
    # Mining beside human rights defenders is also a pair the guide names, so /why says both.
    assert beside[-1].endswith(
        "add less. 📣 PSG news and events stands beside the item's subject, so the 20% bar is "
        "measured on the score of 🕊 Human rights. The guide pairs ⛏ Mining, oil and gas with "
        "🕊 Human rights: it needs only 1.5 points."
    )
    # An item that meets neither exception is told neither (Mining alone: nothing it pairs with).
    plain = await reply(bot, "/why 3")
    assert "Item 3: <b>Mining concession protest</b>" in plain
    assert plain.endswith("repeats and further cues add less.")
    await bot.send("/language es", chat_id=OWNER)
    spanish = await reply(bot, "/why 2")
    assert spanish.endswith(
        "📣 Noticias y eventos del PSG acompaña al asunto de la noticia: el umbral del 20% "
        "parte de la puntuación de 🕊 Derechos humanos. La guía empareja ⛏ Minería, petróleo y "
        "gas con 🕊 Derechos humanos: le bastan 1,5 puntos."
    )


async def test_why_names_the_higher_bar_of_a_topic_beside_another_subject(
    bot: BotHarness, feed_url: str, feed_server: FeedServer
) -> None:
    """Politics, named in passing beside a spill, must reach its own bar as a secondary topic
    (data/topics.yaml's ``secondary``): /why says so, in the reader's language."""
    spill = FeedItem(
        "spill",
        "Oil spill in the Marañón river",
        "Petroperú's pipeline leaked crude into the river, and Congress summoned the minister.",
        "https://n.example/spill",
        recent(1),
    )
    feed_server.routes["/feed"] = Response(rss([spill, *HISTORY]))
    await poll_source(bot.services, feed_url)
    text = await reply(bot, "/why 1")
    assert "🏛 Politics 2.0" in text, "scored, not tagged"
    assert text.endswith("Beside another subject, 🏛 Politics needs at least 2.0 points.")
    await bot.send("/language es", chat_id=OWNER)
    assert (await reply(bot, "/why 1")).endswith(
        "Junto a otro asunto, 🏛 Política necesita al menos 2,0 puntos."
    )


async def test_why_names_a_tag_without_cues_after_a_retag(bot: BotHarness) -> None:
    await reply(bot, "/tag 1 +women")
    text = await reply(bot, "/why 1")
    assert "Tagged: ⛏ Mining, oil and gas, ♀️ Women's rights" in text
    assert (
        "Tagged with no cue in the text (set with /tag or by a feed category): ♀️ Women's rights"
        in text
    )


async def test_retag_alerts_new_followers_once(
    bot: BotHarness, feed_url: str, feed_server: FeedServer
) -> None:
    follows = {
        1: ["extractives"],  # had the item when it came
        2: ["economy"],  # follows a topic /tag adds
        3: ["economy", "extractives"],  # follows both: had it already
        4: ["all"],  # all news: had it already
        5: ["health"],  # neither
        6: ["economy"],  # follows an added topic, but stopped everything
    }
    for chat, topics in follows.items():
        for topic in topics:
            await bot.send(f"/subscribe {topic}", chat_id=chat)
    await bot.send("/stop", chat_id=6)
    await publish(bot, feed_url, feed_server)
    first = await bot.deliver()
    assert sorted(int(call.chat_id or 0) for call in first) == [1, 3, 4]

    text = await reply(bot, "/tag 1 +economía +environment")  # an alias, accents and all
    assert "🏷 <b>Retagged</b>" in text
    assert "Added: 🌳 Environment, 📈 Economy" in text  # in the order /topics lists them
    assert "Alerts: 1 chat following the added topics will get it." in text
    alerts = await bot.deliver()
    assert [int(call.chat_id or 0) for call in alerts] == [2]
    (alert,) = alerts
    assert "Las Bambas road blockade lifted" in (alert.text or "")
    assert "#economy" in (alert.text or "")
    assert await tags_of(bot, BAMBAS.title) == {
        "extractives": True,
        "economy": True,
        "environment": True,
    }
    # The item is now among Economy's latest.
    latest = await bot.reply_texts("/latest economy", chat_id=2)
    assert any(BAMBAS.title in answer for answer in latest)

    # The same /tag again changes nothing and sends nothing.
    again = await reply(bot, "/tag 1 +economy")
    assert again.startswith("Nothing changed: the item already has these topics.")
    assert await bot.deliver() == []

    # Removed and added again: nobody is alerted a second time.
    removed = await reply(bot, "/tag 1 -economy")
    assert "Removed: 📈 Economy" in removed
    assert "Alerts" not in removed
    assert await tags_of(bot, BAMBAS.title) == {"extractives": True, "environment": True}
    readded = await reply(bot, "/tag 1 +economy")
    assert "No alerts: every chat following the added topics has had the item" in readded
    assert await bot.deliver() == []

    async with bot.services.reads() as session:
        audited = list(
            await session.scalars(
                select(AuditEntry.detail)
                .where(AuditEntry.action == "retag")
                .order_by(AuditEntry.id)
            )
        )
    assert [detail.split(": ", 1)[1] for detail in audited] == [
        "+economy +environment; alerts 1",
        "-economy; alerts 0",
        "+economy; alerts 0",
    ]
    assert all(f"“{BAMBAS.title}”" in detail for detail in audited)


async def test_retag_of_an_old_item_alerts_nobody(bot: BotHarness) -> None:
    await bot.send("/subscribe economy", chat_id=2)
    # Item 1 is "Mining concession protest", published 20 days ago.
    text = await reply(bot, "/tag 1 +economy")
    assert "Added: 📈 Economy" in text
    assert "No alerts: the item is too old to alert (more than 3 days ago)." in text
    assert await bot.deliver() == []
    assert await tags_of(bot, "Mining concession protest") == {"extractives": True, "economy": True}


async def test_a_publishers_edit_keeps_the_editors_topics(
    bot: BotHarness, feed_url: str, feed_server: FeedServer
) -> None:
    await reply(bot, "/tag 1 +economy -extractives")  # "Mining concession protest"
    congress, mining = HISTORY
    edited = [
        replace(congress, summary="The Congress met about the Las Bambas mine."),
        replace(mining, summary="Communities march against the mining concession."),
    ]
    feed_server.routes["/feed"] = Response(rss(edited))
    await poll_source(bot.services, feed_url)
    async with bot.services.reads() as session:
        summaries = set(await session.scalars(select(Item.summary)))
    assert {item.summary for item in edited} <= summaries
    assert await tags_of(bot, mining.title) == {"economy": True}
    # An item no editor touched is tagged anew from its new text.
    assert "extractives" in await tags_of(bot, congress.title)


async def test_an_editor_may_retag_and_others_may_not(bot: BotHarness) -> None:
    assert await reply(bot, "/tag 1 +economy", user=STRANGER) == REFUSAL
    assert await reply(bot, "/why 1", user=STRANGER) == REFUSAL
    assert await tags_of(bot, "Mining concession protest") == {"extractives": True}
    in_group = await bot.reply_texts(
        "/tag 1 +economy", chat_id=-100, user_id=OWNER, chat_type="supergroup"
    )
    assert in_group == ["Admin commands work only in a private chat with me."]
    await bot.send(f"/admins add {EDITOR}", chat_id=OWNER)
    assert "Retagged" in await reply(bot, "/tag 1 +economy", user=EDITOR)
    assert await tags_of(bot, "Mining concession protest") == {"extractives": True, "economy": True}


BAD_INPUT = [
    ("/why", "Usage: /why <n>"),
    ("/why 1 2", "Usage: /why <n>"),
    ("/why abc", "Items are numbered 1 to 20, as /latest shows them: try /why 1."),
    ("/why 0", "Items are numbered 1 to 20"),
    ("/why 21", "Items are numbered 1 to 20"),
    ("/why 3", "There is no item 3: /latest shows 2 at most now."),
    ("/tag", "Usage: /tag <n> +topic -topic"),
    ("/tag 1", "Usage: /tag <n> +topic -topic"),
    ("/tag 1 mining", "Usage: /tag <n> +topic -topic"),
    ("/tag 1 +", "Usage: /tag <n> +topic -topic"),
    ("/tag x +mining", "Items are numbered 1 to 20, as /latest shows them: try /tag 1."),
    ("/tag 5 +mining", "There is no item 5: /latest shows 2 at most now."),
    ("/tag 1 +atlantis", "I don't know the topic “atlantis”. Topics are: politics,"),
    ("/tag 1 +mining -extractives", "⛏ Mining, oil and gas is both added and removed"),
    ("/tag 1 -economy", "Nothing changed: the item already has these topics."),
]


async def test_bad_input_is_answered(bot: BotHarness) -> None:
    for command, expected in BAD_INPUT:
        text = await reply(bot, command)
        for markup, shown in (("&lt;", "<"), ("&gt;", ">"), ("<code>", ""), ("</code>", "")):
            text = text.replace(markup, shown)
        assert text.startswith(expected), (command, text)
    assert await tags_of(bot, "Mining concession protest") == {"extractives": True}
    assert await bot.deliver() == []


words = st.one_of(
    st.sampled_from(["1", "2", "0", "21", "+mining", "-economy", "+human", "rights", "−", "+"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40),
)


@examples(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(command=st.sampled_from(["why", "tag"]), args=st.lists(words, max_size=6))
async def test_any_why_or_tag_from_an_admin_is_answered(
    bot: BotHarness, caplog: pytest.LogCaptureFixture, command: str, args: list[str]
) -> None:
    """Whatever follows /why or /tag, the admin gets an answer (which Telegram accepts: the
    transport checks it) and nothing is logged as an error. Examples share the bot."""
    caplog.clear()
    text = " ".join(["/" + command, *args]).strip()
    calls = await bot.send(text, chat_id=OWNER)
    replies = [call for call in calls if call.method == "sendMessage"]
    assert replies, text
    assert {call.chat_id for call in replies} == {OWNER}
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
