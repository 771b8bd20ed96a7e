"""The taxonomy in data/topics.yaml and the classifier, tuned on the seed's items."""

from __future__ import annotations

import pytest

from psgbot.config import DEFAULT_DATA_DIR
from psgbot.feeds.parse import parse_feed
from psgbot.topics import Taxonomy

TAXONOMY = Taxonomy.load(DEFAULT_DATA_DIR / "topics.yaml")
REQUIRED_SLUGS = [
    "politics",
    "justice",
    "human-rights",
    "indigenous",
    "extractives",
    "environment",
    "economy",
    "women",
    "health",
    "psg",
]


def test_the_required_topics_exist_with_descriptions() -> None:
    assert TAXONOMY.slugs == REQUIRED_SLUGS
    for topic in TAXONOMY.topics:
        assert topic.name
        assert topic.description
        assert topic.keywords


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Fujimoristas vote may save Hinostroza from prosecution", {"politics", "justice"}),
        ("Peru Support Group Annual Conference", {"psg", "human-rights"}),
        ("Judges assess legality of Alberto Fujimori's pardon", {"justice", "human-rights"}),
        ("Chavarry fights back", {"justice"}),
        ("Lower copper prices take their toll", {"economy", "extractives"}),
        (
            "Indigenous organisations of the Amazon speak out against the Hydrocarbons bill",
            {"indigenous", "extractives", "environment", "politics"},
        ),
        ("Apurimac women study their rights", {"women"}),
        ("Women pallaqueras achieve recognition", {"women", "extractives"}),
        ("Chavarry digs in", {"justice", "politics"}),
        (
            "BBC highlights child poisoning in Cerro de Pasco",
            {"health", "environment", "extractives"},
        ),
    ],
)
def test_seed_items_get_their_topics(title: str, expected: set[str]) -> None:
    items = {
        item.title: item
        for item in parse_feed((DEFAULT_DATA_DIR / "sample" / "psg-news.xml").read_bytes()).items
    }
    item = items[title]
    found = set(TAXONOMY.classify(item.title, item.summary, item.categories))
    assert expected <= found, (title, found)


def test_matching_ignores_case_and_accents() -> None:
    assert "justice" in TAXONOMY.classify("La FISCALÍA abre investigación", "")
    assert "extractives" in TAXONOMY.classify("Nueva ley de MINERIA", "")
    assert "indigenous" in TAXONOMY.classify("Comunidades indígenas exigen consulta previa", "")


def test_matching_is_on_whole_words() -> None:
    assert "extractives" not in TAXONOMY.classify("This would undermine trust", "")
    assert "extractives" not in TAXONOMY.classify("Goldsmiths college", "")
    assert "economy" not in TAXONOMY.classify("An important day", "")


def test_spanish_and_english_forms() -> None:
    assert "women" in TAXONOMY.classify("Casos de esterilizaciones forzadas", "")
    assert "women" in TAXONOMY.classify("Forced sterilisations case reopened", "")
    assert "human-rights" in TAXONOMY.classify("Defensores de derechos humanos amenazados", "")


def test_feed_categories_map_to_topics() -> None:
    assert TAXONOMY.classify("Untitled", "", ["Minería"]) == ["extractives"]


def test_item_matching_nothing_has_no_topic() -> None:
    assert TAXONOMY.classify("Quarterly newsletter", "Read it online") == []


@pytest.mark.parametrize(
    ("typed", "slug"),
    [
        ("mining", "extractives"),
        ("Minería", "extractives"),
        ("human rights", "human-rights"),
        ("HUMAN-RIGHTS", "human-rights"),
        ("human_rights", "human-rights"),
        ("Derechos Humanos", "human-rights"),
        ("psg", "psg"),
        ("Mujeres", "women"),
    ],
)
def test_resolve_by_slug_name_or_alias(typed: str, slug: str) -> None:
    topic = TAXONOMY.resolve(typed)
    assert topic is not None
    assert topic.slug == slug


def test_resolve_unknown_is_none() -> None:
    assert TAXONOMY.resolve("abc") is None
