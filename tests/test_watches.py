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


def test_matching_reads_the_first_tokens_of_an_item_title_first() -> None:
    index = PhraseIndex(["early", "late", "heading"])
    # The title's 1 token and the summary's first 4,999 are read: 5,000 in all.
    summary = " ".join(["x"] * 4_998 + ["early", "late"])
    assert index.found_in_item("Heading", summary) == {"heading", "early"}
    assert index.found("x " * 4_999 + "early late") == {"early"}
    assert index.found("x " * 4_999 + "early late", tokens=5_001) == {"early", "late"}


def test_a_phrase_must_end_within_the_tokens_read() -> None:
    assert PhraseIndex(["early late"]).found("x " * 4_999 + "early late") == set()
    assert PhraseIndex(["early late"]).found("x " * 4_998 + "early late") == {"early late"}


def test_nested_phrases_over_a_megabyte_of_one_word_are_all_found() -> None:
    """50 phrases "a", "a a", … over 1 MB of "a a a …" took 11.5 s (each token sliced the text
    for every phrase): the tokens read are bounded (above) and each token walks only as far as
    the text follows a phrase. This checks the answer on that input; its cost is
    bench-worthy, not test-worthy (no timing here)."""
    phrases = [" ".join(["a"] * length) for length in range(1, 51)] + ["las bambas"]
    index = PhraseIndex(phrases)
    summary = "las bambas " + "a " * 500_000
    assert index.found_in_item("Mining news", summary) == set(phrases)
