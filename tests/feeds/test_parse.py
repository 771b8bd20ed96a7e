"""Parsing and normalising feeds, from the bundled sample and from awkward hand-made ones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from support import feeds

from psgbot.config import DEFAULT_DATA_DIR
from psgbot.db.models import ITEM_CATEGORIES_MAX, ITEM_CATEGORY_MAX, Item
from psgbot.feeds.normalise import plain_text
from psgbot.feeds.parse import SUMMARY_MAX, TITLE_MAX, FeedParseError, parse_feed
from psgbot.feeds.store import get_or_create_feed, store_items
from psgbot.services import Services

SAMPLE = DEFAULT_DATA_DIR / "sample" / "psg-news.xml"


def rss(*items: str, encoding: str = "UTF-8") -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel>'
        f"<title>T</title><link>https://x.example/</link>{''.join(items)}</channel></rss>"
    )


def test_sample_feed_has_the_ten_seed_items() -> None:
    feed = parse_feed(SAMPLE.read_bytes())
    assert len(feed.items) == 10
    first = feed.items[0]
    assert first.title == "Fujimoristas vote may save Hinostroza from prosecution"
    assert first.published == datetime(2018, 9, 29, 12, tzinfo=UTC)
    assert first.summary.startswith("The permanent commission in Congress")
    assert all(item.published for item in feed.items)


def test_html_and_entities_become_plain_text() -> None:
    body = rss(
        "<item><title>Tom &amp;amp; Jerry &lt;3</title><guid>a</guid>"
        "<description><![CDATA[<p>One&nbsp;<b>bold</b>&hellip;</p><p>Two"
        "<script>alert(1)</script></p>\n\n  three &eacute;t&eacute;]]></description>"
        "</item>"
    )
    (item,) = parse_feed(body.encode()).items
    assert item.title == "Tom & Jerry <3"
    assert item.summary == "One bold… Two three été"


def test_plain_text_folds_whitespace_and_decodes() -> None:
    assert plain_text("  a\n\n b&#233;  <br/>c ") == "a bé c"
    assert plain_text(None) == ""


def test_missing_title_link_or_date_are_kept() -> None:
    body = rss(
        "<item><description>Only a summary here about mining</description></item>",
        "<item><title>No link</title><guid>g2</guid></item>",
        "<item><title>No date</title><link>https://x.example/3</link></item>",
    )
    items = parse_feed(body.encode()).items
    assert [item.title for item in items] == [
        "Only a summary here about mining",
        "No link",
        "No date",
    ]
    assert items[0].key.startswith("hash:")
    assert items[1].key == "guid:g2"
    assert items[1].link is None
    assert items[2].key == "link:https://x.example/3"
    assert items[2].published is None


def test_listing_links_shared_by_different_titles_key_on_link_and_title() -> None:
    body = rss(
        "<item><title>A</title><link>https://x.example/news.php</link></item>",
        "<item><title>B</title><link>https://x.example/news.php</link></item>",
    )
    keys = [item.key for item in parse_feed(body.encode()).items]
    assert keys == [
        "link+title:https://x.example/news.php\nA",
        "link+title:https://x.example/news.php\nB",
    ]


async def test_duplicate_items_within_a_feed_are_stored_once(services: Services) -> None:
    body = rss(
        *["<item><title>Same</title><guid>dup</guid></item>"] * 3,
        "<item><title>Other</title><guid>other</guid></item>",
    )
    parsed = parse_feed(body.encode())
    async with services.sessions.begin() as session:
        feed = await get_or_create_feed(session, "dup-feed")
        await store_items(session, feed, parsed.items, services.taxonomy)
    async with services.sessions() as session:
        keys = list(await session.scalars(select(Item.key).where(Item.feed_id == feed.id)))
    assert sorted(keys) == ["guid:dup", "guid:other"]


def test_non_utf8_feed_is_decoded() -> None:
    body = rss(
        "<item><title>Chávarry y la corrupción</title><guid>1</guid></item>", encoding="ISO-8859-1"
    ).encode("iso-8859-1")
    (item,) = parse_feed(body).items
    assert item.title == "Chávarry y la corrupción"


def test_atom_feed_is_read() -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>A</title><id>urn:a</id><updated>2024-01-02T03:04:05Z</updated>"
        "<entry><title>Entry</title><id>urn:e1</id><link href='https://x.example/e1'/>"
        "<updated>2024-01-02T03:04:05Z</updated><summary>Hi</summary></entry></feed>"
    )
    (item,) = parse_feed(body.encode()).items
    assert (item.key, item.link, item.published) == (
        "guid:urn:e1",
        "https://x.example/e1",
        datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    "body", [b"<html><body><p>Not a feed</p></body></html>", b"\x00\x01\x02garbage\xff\xfe", b""]
)
def test_non_feeds_are_refused(body: bytes) -> None:
    with pytest.raises(FeedParseError):
        parse_feed(body)


def test_categories_are_read() -> None:
    body = rss("<item><title>X</title><guid>1</guid><category>Minería</category></item>")
    (item,) = parse_feed(body.encode()).items
    assert item.categories == ("Minería",)


def test_categories_are_bounded_in_number_and_length() -> None:
    """Repeats go, the feed's order stays, each is cut at a word, and only the first twenty
    distinct ones are kept (of the sixty a hostile item lists)."""
    long = "Derechos humanos " * 10
    listed = ("Minería", "Salud", "Minería", long, *(f"tag {n}" for n in range(60)))
    (item,) = parse_feed(feeds.rss([feeds.FeedItem("c", "X", categories=listed)])).items
    assert len(item.categories) == ITEM_CATEGORIES_MAX
    assert item.categories[:3] == ("Minería", "Salud", "Derechos humanos " * 5 + "Derechos…")
    assert item.categories[3:] == tuple(f"tag {n}" for n in range(17))
    assert all(len(category) <= ITEM_CATEGORY_MAX for category in item.categories)


def test_long_titles_and_summaries_are_cut_at_a_word() -> None:
    title = "Las Bambas " * 200  # 2,200 characters
    summary = "🇵🇪 " * 15_000  # flags: two code points each, four UTF-16 units
    body = feeds.rss([feeds.FeedItem("long", title, summary, "https://n.example/long")])
    (item,) = parse_feed(body).items
    assert len(item.title) <= TITLE_MAX
    assert item.title.endswith(("Las…", "Bambas…")), "cut at a word's end"
    assert len(item.summary) <= SUMMARY_MAX
    assert item.summary.endswith("🇵🇪…")
