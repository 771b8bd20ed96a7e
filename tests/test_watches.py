"""Matching watches: literal text in whole words, folded like topics' cues (no database)."""

from __future__ import annotations

import pytest

from psgbot.watches import PhraseIndex, clean_phrase, normalise


def found(phrase: str, title: str, summary: str = "") -> bool:
    words = normalise(clean_phrase(phrase))
    return words in PhraseIndex([words]).found_in_item(title, summary)


@pytest.mark.parametrize(
    ("phrase", "text", "matches"),
    [
        ("Tía María", "TÍA MARÍA protest", True),
        ("Tía María", "protest at tia\u00a0maria", True),
        ("Tía María", "tiamaria", False),
        ("Tía María", "Tía-María", False),
        ("Las Bambas (mine)+", "the Las Bambas (mine)+ report", True),
        ("Las Bambas (mine)+", "Las Bambas mine", False),
        ("Las Bambas (mine)+", "Las Bambas minemine", False),
        ("a|b", "a|b", True),
        ("a|b", "a or b", False),
        ("fiscal.", "Fiscal. Nación", True),
        ("fiscal.", "fiscalia", False),
        ("Chávarry", "Chavarry's", True),
        ("bambas", "Cotabambas", False),
        ("“Conga”", "Conga mine", True),
    ],
)
def test_a_phrase_matches_its_text_literally_in_whole_words(
    phrase: str, text: str, matches: bool
) -> None:
    assert found(phrase, text) is matches


def test_a_phrase_does_not_span_title_and_summary() -> None:
    assert not found("pardon court", "Annulled pardon", "Court ruling")
    assert found("court ruling", "Annulled pardon", "Court ruling")


def test_control_characters_are_not_kept() -> None:
    assert clean_phrase("Las\x00 Bambas\x07") == "Las Bambas"
    assert clean_phrase("\x00") == ""
