"""Rendering: whatever a feed sends, messages are valid Telegram HTML within the limits."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from support.telegram_html import validate_telegram_html

from psgbot.config import DEFAULT_DATA_DIR
from psgbot.db.models import Item, ItemTopic
from psgbot.render import MESSAGE_LIMIT, latest_messages, pack, shorten
from psgbot.topics import Taxonomy

TAXONOMY = Taxonomy.load(DEFAULT_DATA_DIR / "topics.yaml")
LONDON = ZoneInfo("Europe/London")


def hostile_item(number: int) -> Item:
    return Item(
        id=number,
        title=f"<script>alert({number})</script> & <b>bold</b> “quotes” \u202eRTL\u200b " * 20,
        link='https://x.example/a?b=1&c="2"<3>',
        summary="Tom & Jerry <i>unclosed " * 2000,
        published_at=datetime(2024, 3, 31, 0, 30, tzinfo=UTC),
        sort_at=datetime(2024, 3, 31, 0, 30, tzinfo=UTC),
        topics=[ItemTopic(topic="justice"), ItemTopic(topic="human-rights")],
    )


def test_hostile_items_render_as_valid_html_within_limits() -> None:
    messages = latest_messages([hostile_item(n) for n in range(20)], TAXONOMY, LONDON)
    assert len(messages) > 1
    for message in messages:
        visible = validate_telegram_html(message)
        assert len(message) <= MESSAGE_LIMIT and visible.strip()
    assert "#justice #human_rights" in messages[0]
    assert "31 March 2024" in messages[0]


def test_non_web_links_are_not_linked() -> None:
    item = hostile_item(1)
    item.link = "javascript:alert(1)"
    (message,) = latest_messages([item], TAXONOMY, LONDON)[:1]
    assert "javascript:" not in message


def test_shorten_cuts_at_a_word() -> None:
    assert shorten("one two three four", 12) == "one two…"
    assert shorten("short", 12) == "short"
    assert len(shorten("x" * 500, 100)) <= 100


def test_pack_never_exceeds_the_limit() -> None:
    blocks = ["a" * 1000] * 9
    messages = pack(blocks)
    assert all(len(message) <= MESSAGE_LIMIT for message in messages)
    assert sum(message.count("a") for message in messages) == 9000
