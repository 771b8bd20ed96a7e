"""The topic taxonomy from ``data/topics.yaml`` and the classifier that tags items with it.

Matching is on whole words, case- and accent-insensitive, because the PSG writes in English with
many Spanish names ("Chávarry", "Fiscal de la Nación") and feeds are not consistent about accents.
A cue ending in ``*`` matches any word starting with it (``indigen*``: indigenous, indígenas).

Tagging is by salience, not by any hit: an item that names the government in passing is not
about politics. Each topic scores the cues found for it, weighed by how telling the cue is (a
name such as "Las Bambas" is strong, "government" weak) and by where it stands (the title counts
more than the first sentence, which counts more than the rest); a cue repeated adds less than a
new cue. A phrase that names a topic only as the setting ("during the pandemic") counts for none.
Feed categories that map to a topic are strong evidence. The topics whose score passes the
threshold, and is not dwarfed by the best topic's (a companion topic such as the PSG's own
activity dwarfs none; a topic the guide pairs with the best one, such as environment beside
extractives, need only pass the threshold; a topic a passing word is apt to name, such as
indigenous or politics, needs a bar of its own beside the leading topic), are the item's, the
best three of them at most; an item whose cues all fall short still gets its best topic.
:meth:`Taxonomy.explain` shows the working, cue by cue. The weights are in
``data/topics.yaml``; ``data/topics.md`` is the labelling guide they are tuned to, on the
development set scored by ``bench/topics.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from psgbot.i18n import Language, current_language
from psgbot.topics.matching import SENTENCE_END, fold, trie_regex, without_feed_footer
from psgbot.topics.scoring import Place as Place
from psgbot.topics.scoring import Scoring as Scoring
from psgbot.topics.scoring import Strength as Strength


@dataclass(frozen=True)
class Wording:
    """A topic's words in one language: its name, description and hashtag (without ``#``)."""

    name: str
    description: str
    hashtag: str


@dataclass(frozen=True)
class Topic:
    """A topic; its ``name``, ``description`` and ``hashtag`` are in the current language
    (psgbot.i18n): ``spanish`` for chats in Spanish when the taxonomy has them."""

    slug: str
    english: Wording
    aliases: tuple[str, ...]
    emoji: str
    keywords: tuple[str, ...]
    categories: tuple[str, ...]
    strong: tuple[str, ...] = ()
    weak: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    spanish: Wording | None = None

    @property
    def words(self) -> Wording:
        if self.spanish is not None and current_language() == Language.ES:
            return self.spanish
        return self.english

    @property
    def name(self) -> str:
        return self.words.name

    @property
    def description(self) -> str:
        return self.words.description

    @property
    def hashtag(self) -> str:
        return "#" + self.words.hashtag

    @property
    def names(self) -> tuple[str, ...]:
        """Every name a user may type for it: slug, names in each language, aliases."""
        spanish = (self.spanish.name,) if self.spanish else ()
        return (self.slug, self.english.name, *spanish, *self.aliases)

    def cues(self) -> Iterable[tuple[str, Strength]]:
        """Every cue of the topic with its strength."""
        for strength, cues in (
            (Strength.STRONG, self.strong),
            (Strength.KEYWORD, self.keywords),
            (Strength.WEAK, self.weak),
        ):
            for cue in cues:
                yield cue, strength


@dataclass(frozen=True)
class CueHit:
    """One cue found in an item, and what it gave its topic."""

    cue: str
    strength: Strength
    place: Place
    count: int
    points: float

    @property
    def where(self) -> str:
        return self.place.value


@dataclass(frozen=True)
class TopicScore:
    """A topic's score for an item, the cues behind it, and whether the item got the topic."""

    slug: str
    score: float
    cues: tuple[CueHit, ...]
    tagged: bool


@dataclass(frozen=True)
class _Cue:
    text: str
    strength: Strength
    topic: int


class Taxonomy:
    """The topics in their display order, with lookup by any name a user might type."""

    def __init__(self, topics: list[Topic], scoring: Scoring) -> None:
        self.topics = topics
        self.scoring = scoring
        self._by_name: dict[str, Topic] = {}
        for topic in topics:
            for name in topic.names:
                self._by_name[fold(name).replace("-", " ").strip()] = topic
        self._categories = {
            fold(category): index
            for index, topic in enumerate(topics)
            for category in topic.categories
        }
        # One pattern for every cue of every topic, so a single scan of the text finds them all;
        # the cue a match stands for is then looked up by its text (named groups would say it
        # directly, but make the scan some fifty times slower). A cue in two topics
        # ("poisoning": environment and health) serves both.
        self._exact: dict[str, list[_Cue]] = {}
        self._prefixes: dict[str, list[_Cue]] = {}
        for index, topic in enumerate(topics):
            for text, strength in topic.cues():
                folded = fold(text).strip()
                words = " ".join(folded.rstrip("*").split())
                if not words:
                    continue
                table = self._prefixes if folded.endswith("*") else self._exact
                cues = table.setdefault(words, [])
                if all(cue.topic != index for cue in cues):
                    cues.append(_Cue(text, strength, index))
        # Phrases that name a topic only as the setting ("during the pandemic", "a mining region"):
        # matched like cues, so that they win over the words in them, and then counted for none.
        self._context = {
            " ".join(fold(phrase).split()) for topic in topics for phrase in topic.context
        }
        self._prefix_lengths = sorted({len(prefix) for prefix in self._prefixes}, reverse=True)
        written = [*self._exact, *self._context, *(prefix + "*" for prefix in self._prefixes)]
        # The lookarounds keep matches to whole words; within the trie a longer cue is tried
        # first, so a name wins over the words it is made of ("Inter-American Court" over
        # "court"), across topics too.
        self._pattern = (
            re.compile(r"(?<!\w)" + trie_regex(written) + r"(?!\w)") if written else None
        )

    def _cues_of(self, matched: str) -> list[_Cue]:
        """The cues a match of the pattern stands for: for each topic, its exact cue, else its
        longest prefix ("heavy metals" is a health cue and, as "heavy metal*", an environment one).
        """
        words = " ".join(matched.split())
        if words in self._context:
            return []
        cues = list(self._exact.get(words, ()))
        for length in self._prefix_lengths:
            if length <= len(words):
                covered = {cue.topic for cue in cues}
                prefixed = self._prefixes.get(words[:length], ())
                cues.extend(cue for cue in prefixed if cue.topic not in covered)
        return cues

    @classmethod
    def load(cls, path: Path) -> Taxonomy:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        topics = [
            Topic(
                slug=entry["slug"],
                english=Wording(
                    entry["name"], entry["description"], entry["slug"].replace("-", "_")
                ),
                spanish=(
                    Wording(entry["es"]["name"], entry["es"]["description"], entry["es"]["hashtag"])
                    if "es" in entry
                    else None
                ),
                aliases=tuple(entry.get("aliases") or ()),
                emoji=entry.get("emoji", "•"),
                keywords=tuple(entry.get("keywords") or ()),
                categories=tuple(entry.get("categories") or ()),
                strong=tuple(entry.get("strong") or ()),
                weak=tuple(entry.get("weak") or ()),
                context=tuple(entry.get("context") or ()),
            )
            for entry in raw["topics"]
        ]
        try:
            scoring = Scoring.from_yaml(raw["scoring"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: the scoring section is missing or incomplete") from error
        return cls(topics, scoring)

    @property
    def slugs(self) -> list[str]:
        return [topic.slug for topic in self.topics]

    def get(self, slug: str) -> Topic | None:
        return next((topic for topic in self.topics if topic.slug == slug), None)

    def _bar(self, index: int, leader: str, paired: frozenset[str], floor: float) -> float:
        """The score a topic must reach beside ``leader``: ``floor``, or only the threshold for a
        topic paired with the leader; a secondary topic's own bar when it is not the leader."""
        slug = self.topics[index].slug
        bar = self.scoring.threshold if slug in paired else floor
        if slug != leader:
            bar = max(bar, self.scoring.secondary.get(slug, 0.0))
        return bar

    def resolve(self, name: str) -> Topic | None:
        """Finds a topic by slug, display name or alias, however it is cased or accented."""
        return self._by_name.get(fold(name).replace("-", " ").replace("_", " ").strip())

    def classify(self, title: str, summary: str, categories: Iterable[str] = ()) -> list[str]:
        """The slugs of the topics an item is about, most salient first (at most ``most``)."""
        return [score.slug for score in self.explain(title, summary, categories) if score.tagged]

    def explain(self, title: str, summary: str, categories: Iterable[str] = ()) -> list[TopicScore]:
        """Every topic with any cue in the item, highest score first, with its cues and points.

        The topics marked ``tagged`` are what :meth:`classify` returns.
        """
        found: dict[tuple[int, str], list[Place]] = {}
        strengths: dict[tuple[int, str], Strength] = {}
        body = without_feed_footer(fold(summary).strip())
        sentences = SENTENCE_END.split(body, maxsplit=1)
        sections = [(Place.TITLE, fold(title))]
        sections.append((Place.FIRST_SENTENCE, sentences[0]))
        if len(sentences) > 1:
            sections.append((Place.REST, sentences[1]))
        if self._pattern is not None:
            for place, text in sections:
                for matched in self._pattern.findall(text):
                    for cue in self._cues_of(matched):
                        key = (cue.topic, cue.text)
                        found.setdefault(key, []).append(place)
                        strengths[key] = cue.strength
        for category in categories:
            index = self._categories.get(fold(category).strip())
            if index is not None:
                key = (index, category)
                found.setdefault(key, []).append(Place.CATEGORY)
                strengths[key] = Strength.CATEGORY
        if not found:
            return []

        scoring = self.scoring
        raw: dict[int, list[tuple[float, str, Place, int]]] = {}
        for (index, text), places in found.items():
            weights = sorted((scoring.places[place] for place in places), reverse=True)
            strength = scoring.strengths[strengths[(index, text)]]
            # The first occurrence counts in full, at its best place; repeats add a little each.
            extra = sum(weights[1 : 1 + scoring.repeats_counted]) * scoring.repeat
            best = max(places, key=scoring.places.__getitem__)
            raw.setdefault(index, []).append(
                (strength * (weights[0] + extra), text, best, len(places))
            )
        # A topic's best cue counts in full and each further one a share less, so that a topic
        # named five ways does not dwarf a second topic the item is also about. A cue's points
        # are what it adds to its topic's score: they sum to the score.
        hits: dict[int, list[CueHit]] = {}
        totals: dict[int, float] = {}
        for index, cues in raw.items():
            cues.sort(key=lambda cue: -cue[0])
            hits[index] = [
                CueHit(text, strengths[(index, text)], place, count, points * scoring.further**rank)
                for rank, (points, text, place, count) in enumerate(cues)
            ]
            totals[index] = sum(hit.points for hit in hits[index])
        ranked = sorted(totals, key=lambda index: (-totals[index], index))
        # The best topic sets the bar for the others, unless it is a companion topic (then the
        # best of the rest does): a PSG event on a mining conflict is also about mining.
        by_slug = {self.topics[index].slug: index for index in ranked}
        leader = scoring.leader(list(by_slug))
        floor = max(scoring.threshold, scoring.relative * totals[by_slug[leader]])
        paired = scoring.paired.get(leader, frozenset())
        # The bars first, then the cap: a topic that passes its bar is not crowded out by
        # higher-scoring ones that fail theirs (a paired topic's bar is lower than the rest's).
        passing = [
            index for index in ranked if totals[index] >= self._bar(index, leader, paired, floor)
        ]
        tagged = set(passing[: scoring.most]) or {ranked[0]}
        return [
            TopicScore(
                slug=self.topics[index].slug,
                score=totals[index],
                cues=tuple(hits[index]),
                tagged=index in tagged,
            )
            for index in ranked
        ]
