"""Reading /tag's changes, and when a retag may still alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from psgbot.config import DEFAULT_DATA_DIR
from psgbot.db.models import Item
from psgbot.retag import (
    Contradiction,
    NoChanges,
    TagChanges,
    UnknownTopic,
    alerts_due,
    parse_changes,
)
from psgbot.topics import Taxonomy

TAXONOMY = Taxonomy.load(DEFAULT_DATA_DIR / "topics.yaml")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def changes(text: str) -> TagChanges:
    return parse_changes(text.split(), TAXONOMY)


def test_changes_take_slugs_names_and_aliases() -> None:
    assert changes("+mining -economía") == TagChanges(
        frozenset({"extractives"}), frozenset({"economy"})
    )
    # A name of several words, and the dashes a phone puts for a minus.
    assert changes("+human rights −economy –politics") == TagChanges(
        frozenset({"human-rights"}), frozenset({"economy", "politics"})
    )
    assert changes("+ mining") == TagChanges(frozenset({"extractives"}), frozenset())


@pytest.mark.parametrize("text", ["", "mining", "1 +mining", "+", "+ -mining"])
def test_changes_need_a_sign_and_a_name(text: str) -> None:
    with pytest.raises(NoChanges):
        changes(text)


def test_unknown_and_contradictory_topics_are_refused() -> None:
    with pytest.raises(UnknownTopic) as unknown:
        changes("+mining +atlantis")
    assert unknown.value.name == "atlantis"
    with pytest.raises(Contradiction) as both:
        changes("+mining -extractives")
    assert both.value.slug == "extractives"


def item(published: datetime | None, first_seen: datetime) -> Item:
    return Item(published_at=published, first_seen_at=first_seen, sort_at=published or first_seen)


def test_only_a_recent_item_whose_alert_rows_are_all_kept_alerts() -> None:
    due = [
        (item(NOW - DAY, NOW - DAY), True),
        (item(NOW - 4 * DAY, NOW - DAY), False),  # published too long ago, as at ingest
        (item(None, NOW - 2 * DAY), True),  # undated: by when it was first seen
        (item(None, NOW - 4 * DAY), False),
        # Dated recent but first seen before the retention: its old rows may be purged.
        (item(NOW - DAY, NOW - 91 * DAY), False),
    ]
    for stored, expected in due:
        assert alerts_due(stored, NOW, 3 * DAY, 90 * DAY) is expected, stored.first_seen_at
