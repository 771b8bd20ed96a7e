"""An item's picture, from each place feeds put one; hostile addresses dropped, the item kept."""

from __future__ import annotations

import pytest
from support.feeds import FeedItem, rss

from psgbot.feeds.images import image_url
from psgbot.feeds.parse import parse_feed

PICTURE = "https://img.example/vigil.jpg"
LINK = "https://n.example/vigil"


def parsed_image(**pictures: object) -> str | None:
    """The picture parse_feed finds in one item carrying ``pictures`` (FeedItem's fields)."""
    item = FeedItem("g1", "Vigil for the victims", "A vigil.", LINK, **pictures)  # type: ignore[arg-type]
    (parsed,) = parse_feed(rss([item])).items
    assert parsed.title == "Vigil for the victims"
    return parsed.image


def test_an_image_enclosure_is_the_picture() -> None:
    assert parsed_image(enclosure=(PICTURE, "image/jpeg")) == PICTURE


def test_an_enclosure_that_is_no_image_is_not() -> None:
    assert parsed_image(enclosure=("https://n.example/talk.mp3", "audio/mpeg")) is None


def test_media_content_of_an_image_type_or_medium() -> None:
    assert parsed_image(media_content=(PICTURE, "image/png")) == PICTURE
    assert parsed_image(media_content=(PICTURE, "image")) == PICTURE
    assert parsed_image(media_content=("https://n.example/v.mp4", "video/mp4")) is None


def test_a_media_thumbnail_is_a_picture() -> None:
    assert parsed_image(media_thumbnail=PICTURE) == PICTURE
    # media:content of an image wins over the thumbnail.
    both = parsed_image(media_content=(PICTURE, "image"), media_thumbnail="https://img.example/t")
    assert both == PICTURE


def test_the_first_img_of_the_content() -> None:
    content = f'<p>Text</p><img src="{PICTURE}" alt="A vigil"><img src="https://img.example/2.jpg">'
    assert parsed_image(content_html=content) == PICTURE


def test_a_relative_img_is_read_against_the_items_link() -> None:
    assert parsed_image(content_html='<img src="/media/v.jpg">') == "https://n.example/media/v.jpg"


def test_an_enclosure_comes_before_the_contents_img() -> None:
    content = '<img src="https://img.example/inline.jpg">'
    assert parsed_image(enclosure=(PICTURE, "image/jpeg"), content_html=content) == PICTURE


@pytest.mark.parametrize(
    "hostile",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "data:image/png;base64,iVBORw0KGgo=",
        "file:///etc/passwd",
        "https://img.example/" + "a" * 10_000,
        "https://img.example/a b.jpg",
        "https://",
    ],
)
def test_hostile_pictures_are_dropped_and_the_item_kept(hostile: str) -> None:
    for where in (
        {"enclosure": (hostile, "image/jpeg")},
        {"media_content": (hostile, "image")},
        {"media_thumbnail": hostile},
        {"content_html": f'<p>Text</p><img src="{hostile}">'},
    ):
        assert parsed_image(**where) is None, where


def test_a_hostile_img_does_not_hide_a_good_one_after_it() -> None:
    content = f'<img src="javascript:alert(1)"><img src="{PICTURE}">'
    assert parsed_image(content_html=content) == PICTURE


def test_picture_addresses() -> None:
    assert image_url("  https://img.example/a.jpg ") == "https://img.example/a.jpg"
    assert image_url("http://img.example/a.jpg") == "http://img.example/a.jpg"
    assert image_url("//cdn.example/a.jpg", "https://n.example/1") == "https://cdn.example/a.jpg"
    assert image_url("a.jpg") is None, "relative, and no link to read it against"
    assert image_url("https://img.example/a\x00.jpg") is None
    assert image_url(None) is None
