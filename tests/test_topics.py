"""The taxonomy in data/topics.yaml and the salience classifier (data/topics.md is its guide)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from psgbot.config import DEFAULT_DATA_DIR
from psgbot.feeds.parse import parse_feed
from psgbot.topics import Place, Scoring, Strength, Taxonomy, Topic, Wording

TAXONOMY = Taxonomy.load(DEFAULT_DATA_DIR / "topics.yaml")
DEV_SET = DEFAULT_DATA_DIR / "topics-dev.yaml"
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


def score_of(slug: str, title: str, summary: str = "", categories: tuple[str, ...] = ()) -> float:
    """A topic's score for an item under the shipped weights (0 when no cue of it is found)."""
    for result in TAXONOMY.explain(title, summary, categories):
        if result.slug == slug:
            return result.score
    return 0.0


def toy_topic(
    slug: str,
    strong: tuple[str, ...] = (),
    weak: tuple[str, ...] = (),
    context: tuple[str, ...] = (),
    keywords: tuple[str, ...] = (),
) -> Topic:
    return Topic(
        slug=slug,
        english=Wording(slug.title(), slug, slug),
        aliases=(),
        emoji="•",
        keywords=(slug, *keywords),
        categories=(f"{slug} news",),
        strong=strong,
        weak=weak,
        context=context,
    )


def toy_taxonomy(
    *,
    threshold: float = 1.5,
    relative: float = 0.0,
    most: int = 3,
    companions: frozenset[str] = frozenset(),
    paired: dict[str, frozenset[str]] | None = None,
) -> Taxonomy:
    """Five topics whose only keyword is their own slug (and a few more cues of alpha's and beta's),
    under simple round weights."""
    topics = [
        toy_topic("alpha", strong=("alpha centauri",), weak=("first",), keywords=("metals",)),
        toy_topic("beta", context=("beta region",), keywords=("metal*",)),
        toy_topic("gamma"),
        toy_topic("delta"),
        toy_topic("epsilon"),
    ]
    scoring = Scoring(
        strengths={
            Strength.STRONG: 3.0,
            Strength.KEYWORD: 1.0,
            Strength.WEAK: 0.5,
            Strength.CATEGORY: 3.0,
        },
        places={Place.TITLE: 2.0, Place.FIRST_SENTENCE: 1.5, Place.REST: 1.0, Place.CATEGORY: 1.0},
        repeat=0.25,
        repeats_counted=2,
        further=1.0,
        threshold=threshold,
        relative=relative,
        most=most,
        companions=companions,
        paired=paired or {},
    )
    return Taxonomy(topics, scoring)


def test_the_required_topics_exist_with_descriptions_and_cues() -> None:
    assert TAXONOMY.slugs == REQUIRED_SLUGS
    for topic in TAXONOMY.topics:
        assert topic.name
        assert topic.description
        assert topic.keywords
        assert topic.strong


SEEDS = {
    item["title"]: tuple(item["topics"])
    for item in yaml.safe_load(DEV_SET.read_text(encoding="utf-8"))["items"]
    if item.get("source") == "seed"
}
# Seed items on which the tagger disagrees with the development set's labels today: title ->
# (labelled topics it misses, topics it tags beyond the labels). Listed, not fixed by tuning cues
# on this test; any change here, better or worse, fails the test and is to be reviewed.
KNOWN_MISSES: dict[str, tuple[set[str], set[str]]] = {
    "Indigenous organisations of the Amazon speak out against the Hydrocarbons bill": (
        {"politics"},
        {"human-rights"},
    ),
}


@pytest.mark.parametrize("title", list(SEEDS))
def test_seed_items_get_their_labelled_topics(title: str) -> None:
    """Each seed item, read from the sample feed as ingest reads it, gets exactly the topics the
    development set labels it with, but for the disagreements KNOWN_MISSES lists."""
    items = {
        item.title: item
        for item in parse_feed((DEFAULT_DATA_DIR / "sample" / "psg-news.xml").read_bytes()).items
    }
    item = items[title]
    found = set(TAXONOMY.classify(item.title, item.summary, item.categories))
    labelled = set(SEEDS[title])
    assert (labelled - found, found - labelled) == KNOWN_MISSES.get(title, (set(), set()))


def test_the_seed_items_and_their_known_misses_are_the_development_sets() -> None:
    assert len(SEEDS) == 10
    assert set(KNOWN_MISSES) <= set(SEEDS)


def test_a_passing_mention_does_not_tag_a_topic() -> None:
    found = TAXONOMY.classify(
        "Hospitals run out of oxygen",
        "Hospitals in Iquitos have run out of oxygen as Covid-19 cases climb. "
        "The government said the president would visit, and a party leader called for a vote.",
    )
    assert found == ["health"]


def test_generic_words_alone_are_weak_and_names_strong() -> None:
    assert score_of("politics", "x", "Fuerza Popular met.") > score_of(
        "politics", "x", "The government met."
    )
    assert score_of("extractives", "x", "Las Bambas is news.") > score_of(
        "extractives", "x", "Mining is news."
    )
    assert score_of("extractives", "x", "Mining is news.") > score_of(
        "extractives", "x", "Gas is news."
    )


def test_the_title_counts_more_than_the_first_sentence_and_that_more_than_the_rest() -> None:
    in_title = score_of("justice", "Court rules", "It was expected. Nothing else happened.")
    in_first = score_of("justice", "News", "The court ruled. Nothing else happened.")
    in_rest = score_of("justice", "News", "Something happened. Later the court ruled.")
    assert in_title > in_first > in_rest > 0


def test_distinct_cues_count_more_than_repeats() -> None:
    repeated = score_of("justice", "News", "The court, the court and the court.")
    distinct = score_of("justice", "News", "The court, the judge and the prosecutor.")
    once = score_of("justice", "News", "The court met.")
    assert distinct > repeated > once


def test_repeats_add_only_up_to_a_point() -> None:
    three = score_of("justice", "News", "Court. Court. Court.")
    ten = score_of("justice", "News", "Court. " * 10)
    assert ten == three


def test_a_topic_below_the_threshold_is_left_out() -> None:
    taxonomy = toy_taxonomy(threshold=1.5)
    # beta only in the rest of the summary: 1.0 point, under 1.5.
    assert taxonomy.classify("Alpha", "Nothing much. Then beta.") == ["alpha"]
    assert taxonomy.classify("Alpha", "Beta first.") == ["alpha", "beta"]


def test_a_topic_dwarfed_by_the_best_one_is_left_out() -> None:
    taxonomy = toy_taxonomy(threshold=1.0, relative=0.5)
    # alpha scores 2 (title) + 4.5 (strong, first sentence); beta 1.5: under half of alpha's.
    assert taxonomy.classify("Alpha", "Alpha Centauri and beta.") == ["alpha"]
    assert taxonomy.classify("Alpha", "Beta.") == ["alpha", "beta"]


def test_a_companion_topic_does_not_dwarf_the_topic_of_its_activity() -> None:
    title, summary = "Alpha", "Alpha Centauri and beta."
    # alpha scores 6.5, beta 1.5: under half of alpha's, unless alpha stands beside the subject.
    assert toy_taxonomy(threshold=1.2, relative=0.5).classify(title, summary) == ["alpha"]
    beside = toy_taxonomy(threshold=1.2, relative=0.5, companions=frozenset({"alpha"}))
    assert beside.classify(title, summary) == ["alpha", "beta"]
    # Still only over the threshold: a companion lowers the bar no further than that.
    assert beside.classify(title, "Alpha Centauri. Later beta.") == ["alpha"]


def test_the_psg_topic_leaves_room_for_what_its_activity_is_about() -> None:
    found = TAXONOMY.classify(
        "PSG delegation visits Cajamarca",
        "A Peru Support Group delegation met human rights defenders facing criminal charges for "
        "opposing mining in Cajamarca.",
    )
    assert found[0] == "psg"
    assert {"human-rights", "extractives"} <= set(found)


def test_a_topic_the_guide_pairs_with_the_best_one_needs_only_the_threshold() -> None:
    title, summary = "Alpha", "Alpha Centauri, beta and gamma."
    # alpha scores 6.5, beta and gamma 1.5 each: under half of alpha's, unless paired with it.
    assert toy_taxonomy(threshold=1.2, relative=0.5).classify(title, summary) == ["alpha"]
    pairs = toy_taxonomy(threshold=1.2, relative=0.5, paired={"alpha": frozenset({"beta"})})
    assert pairs.classify(title, summary) == ["alpha", "beta"]
    # Still only over the threshold (gamma, paired with nothing, stays out above).
    assert pairs.classify(title, "Alpha Centauri. Later beta.") == ["alpha"]
    # The guide: a mining conflict over water is extractives "plus environment".
    conga = TAXONOMY.classify(
        "March against the Conga project",
        "Thousands marched in Cajamarca against Yanacocha's Conga gold project, which would "
        "drain four lakes.",
    )
    assert conga == ["extractives", "environment"]


def test_dying_in_prison_is_the_setting_not_a_justice_story() -> None:
    died = TAXONOMY.classify(
        "Guzmán dies in prison",
        "Abimael Guzmán died in prison on 11 September; victims' groups called for memory.",
    )
    assert died == ["human-rights"]
    assert TAXONOMY.classify("Guzmán sent to prison", "") == ["justice"]


def test_lawyers_who_speak_do_not_make_an_item_about_justice() -> None:
    webinar = TAXONOMY.classify(
        "PSG webinar: Juliaca, a year on",
        "Join a PSG webinar with lawyers from Puno on the killings in Juliaca.",
    )
    assert webinar == ["psg", "human-rights"]
    assert "justice" in TAXONOMY.classify("Lawyers for the victims appeal the verdict", "")


def test_a_verb_strikes_is_no_labour_strike() -> None:
    assert "economy" not in TAXONOMY.classify("Earthquake strikes the south", "")
    assert "economy" in TAXONOMY.classify("Teachers on strike over pay", "")


def test_a_context_phrase_counts_for_no_topic() -> None:
    taxonomy = toy_taxonomy()
    assert taxonomy.classify("Gamma news", "Beta first.") == ["gamma", "beta"]
    assert taxonomy.classify("Gamma news", "In the beta region first.") == ["gamma"]
    assert taxonomy.explain("Beta region", "") == []
    # The phrase only: "beta" elsewhere in the item is still a cue.
    assert taxonomy.classify("Beta region", "Beta first.") == ["beta"]


def test_the_guides_context_phrases_do_not_tag_their_topics() -> None:
    killed = TAXONOMY.classify(
        "Defenders killed during the pandemic",
        "At least six environmental defenders were killed in the Amazon in 2020.",
    )
    assert "health" not in killed
    assert "human-rights" in killed
    assert "health" in TAXONOMY.classify("Pandemic reaches the defenders of the Amazon", "")
    vraem = TAXONOMY.classify(
        "Sixteen killed in the VRAEM",
        "Sixteen people were killed in an attack attributed to Shining Path, two weeks before "
        "the elections.",
    )
    assert vraem == ["human-rights"]


def test_a_word_serves_every_topic_with_a_cue_for_it() -> None:
    taxonomy = toy_taxonomy()
    # "metals" is alpha's exact cue and beta's as "metal*": the exact one does not hide the other.
    assert {r.slug for r in taxonomy.explain("Metals", "")} == {"alpha", "beta"}
    assert {r.slug for r in taxonomy.explain("Metallurgy", "")} == {"beta"}
    found = TAXONOMY.classify(
        "Heavy metals in Espinar",
        "People in Espinar have heavy metals in their blood, a study finds.",
    )
    assert {"health", "environment"} <= set(found)


def test_at_most_three_topics_the_highest_scoring_first() -> None:
    taxonomy = toy_taxonomy()
    found = taxonomy.classify("Epsilon and delta", "Gamma, beta and alpha. Alpha Centauri too.")
    assert found == ["alpha", "delta", "epsilon"]
    crowded = TAXONOMY.classify(
        "Congress, courts, mining, women and health",
        "Fuerza Popular, the Supreme Court, Las Bambas, femicides and dengue.",
    )
    assert len(crowded) == 3


def test_the_cap_takes_the_best_of_the_topics_that_pass_their_bars() -> None:
    title, summary = "Alpha", "Alpha Centauri, beta, gamma, delta. Later epsilon epsilon epsilon."
    # alpha scores 6.5, so the bar is 3.25; beta, gamma and delta score 1.5 each and fail it.
    # epsilon also scores 1.5 but is paired with alpha (its bar is the threshold, 1.2): ranked
    # fifth (ties go in the taxonomy's order), it is still one of the best three that pass.
    pairs = toy_taxonomy(threshold=1.2, relative=0.5, paired={"alpha": frozenset({"epsilon"})})
    assert [(r.slug, r.score) for r in pairs.explain(title, summary)] == [
        ("alpha", 6.5),
        ("beta", 1.5),
        ("gamma", 1.5),
        ("delta", 1.5),
        ("epsilon", 1.5),
    ]
    assert pairs.classify(title, summary) == ["alpha", "epsilon"]


def test_an_item_with_only_weak_cues_still_gets_its_best_topic() -> None:
    taxonomy = toy_taxonomy()
    assert taxonomy.classify("News", "Nothing. The first of many.") == ["alpha"]
    assert TAXONOMY.classify("Weekly round-up", "Nothing new. The government met.") == ["politics"]


def test_an_item_matching_nothing_has_no_topic() -> None:
    assert TAXONOMY.classify("Quarterly newsletter", "Read it online") == []
    assert toy_taxonomy().classify("Nothing", "Here.") == []


def test_feed_categories_map_to_topics() -> None:
    assert TAXONOMY.classify("Untitled", "", ["Minería"]) == ["extractives"]
    assert TAXONOMY.classify("Untitled", "", ["Uncategorised"]) == []


def test_a_category_is_strong_evidence() -> None:
    plain = TAXONOMY.classify("Weekly round-up", "The court met. Later the government met.")
    assert "human-rights" not in plain
    found = TAXONOMY.classify(
        "Weekly round-up", "The court met. Later the government met.", ["Derechos Humanos"]
    )
    assert found[0] == "human-rights"
    assert "justice" in found


def test_explain_gives_each_topics_cues_places_and_points() -> None:
    title = "Court annuls the pardon"
    summary = "The Supreme Court ruled on Monday. Relatives of the victims welcomed it."
    results = TAXONOMY.explain(title, summary, ["Justicia"])
    assert [r.slug for r in results if r.tagged] == TAXONOMY.classify(title, summary, ["Justicia"])
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    justice = results[0]
    assert justice.slug == "justice"
    cues = {hit.cue: hit for hit in justice.cues}
    assert cues["supreme court"].strength is Strength.STRONG
    assert cues["supreme court"].where == "first sentence"
    assert cues["court*"].where == "title"
    assert cues["pardon*"].count == 1
    assert cues["Justicia"].strength is Strength.CATEGORY
    assert all(hit.points > 0 for hit in justice.cues)
    assert sum(hit.points for hit in justice.cues) == pytest.approx(justice.score)
    human_rights = next(r for r in results if r.slug == "human-rights")
    assert {hit.cue: hit.where for hit in human_rights.cues}["victims"] == "rest of the summary"


def test_explain_of_an_item_matching_nothing_is_empty() -> None:
    assert TAXONOMY.explain("Quarterly newsletter", "Read it online") == []


def test_a_name_counts_once_not_also_as_the_words_in_it() -> None:
    results = TAXONOMY.explain("The Inter-American Court hears Peru", "")
    assert [r.slug for r in results] == ["human-rights"]
    assert [hit.cue for hit in results[0].cues] == ["inter-american court"]


def test_matching_ignores_case_and_accents() -> None:
    assert "justice" in TAXONOMY.classify("La FISCALÍA abre investigación", "")
    assert "extractives" in TAXONOMY.classify("Nueva ley de MINERIA", "")
    assert "indigenous" in TAXONOMY.classify("Comunidades indígenas exigen consulta previa", "")
    assert "justice" in TAXONOMY.classify("Fiscal de la Nacion suspended", "")


def test_matching_is_on_whole_words() -> None:
    assert "extractives" not in TAXONOMY.classify("This would undermine trust", "")
    assert "extractives" not in TAXONOMY.classify("Goldsmiths college", "")
    assert "economy" not in TAXONOMY.classify("An important day", "")


def test_a_trailing_star_matches_words_that_start_so() -> None:
    assert TAXONOMY.classify("Miners march", "") == ["extractives"]
    assert TAXONOMY.classify("Indígenas march", "") == ["indigenous"]


def test_each_match_is_read_as_the_cue_it_spells() -> None:
    (politics,) = TAXONOMY.explain("Congressman and congresses", "")
    assert {hit.cue: hit.strength for hit in politics.cues} == {
        "congressman": Strength.WEAK,
        "congress*": Strength.KEYWORD,
    }
    (extractives,) = TAXONOMY.explain("Las   Bambas\nclosed", "")
    assert [hit.cue for hit in extractives.cues] == ["las bambas"]


def test_spanish_and_english_forms() -> None:
    assert "women" in TAXONOMY.classify("Casos de esterilizaciones forzadas", "")
    assert "women" in TAXONOMY.classify("Forced sterilisations case reopened", "")
    assert "human-rights" in TAXONOMY.classify("Defensores de derechos humanos amenazados", "")


def test_the_development_set_is_labelled_by_the_guide() -> None:
    items = yaml.safe_load(DEV_SET.read_text(encoding="utf-8"))["items"]
    assert len(items) >= 100
    assert sum(1 for item in items if item.get("source") == "seed") == 10
    titles = [item["title"] for item in items]
    assert len(set(titles)) == len(titles)
    for item in items:
        assert 1 <= len(item["topics"]) <= 3, item["title"]
        assert len(set(item["topics"])) == len(item["topics"]), item["title"]
        assert set(item["topics"]) <= set(REQUIRED_SLUGS), item["title"]
    assert {slug for item in items for slug in item["topics"]} == set(REQUIRED_SLUGS)


def test_the_tagger_agrees_with_the_development_set() -> None:
    """A guard against a change to the weights that undoes the tuning: the issue's target is an
    F1 of at least 0.90 (bench/topics.py measures 0.927, precision 0.899, on this set)."""
    items = yaml.safe_load(DEV_SET.read_text(encoding="utf-8"))["items"]
    right = tagged = labelled = 0
    for item in items:
        found = set(TAXONOMY.classify(item["title"], item["summary"], item.get("categories", ())))
        gold = set(item["topics"])
        right += len(found & gold)
        tagged += len(found)
        labelled += len(gold)
    f1, precision = 2 * right / (tagged + labelled), right / tagged
    assert f1 >= 0.90, f"F1 {f1:.3f}"
    assert precision >= 0.85, f"precision {precision:.3f}"


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


def test_the_shipped_file_loads_its_scoring(tmp_path: Path) -> None:
    raw = yaml.safe_load((DEFAULT_DATA_DIR / "topics.yaml").read_text(encoding="utf-8"))
    raw["scoring"]["most"] = 1
    path = tmp_path / "topics.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    one = Taxonomy.load(path)
    assert one.scoring.most == 1
    assert len(one.classify("Court rules on mining", "Fuerza Popular and dengue.")) == 1


def test_a_wordpress_footer_naming_the_site_is_not_psg_news() -> None:
    summary = "The Supreme Court ruled. The post Court rules appeared first on Peru Support Group."
    assert TAXONOMY.classify("Court rules", summary) == ["justice"]
    assert "psg" in TAXONOMY.classify("Court rules", "The Peru Support Group wrote to the court.")


def test_a_topics_file_without_scoring_is_refused_by_name(tmp_path: Path) -> None:
    raw = yaml.safe_load((DEFAULT_DATA_DIR / "topics.yaml").read_text(encoding="utf-8"))
    del raw["scoring"]["threshold"]
    path = tmp_path / "topics.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="scoring"):
        Taxonomy.load(path)
