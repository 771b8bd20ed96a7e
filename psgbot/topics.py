"""The topic taxonomy from ``data/topics.yaml`` and the classifier that tags items with it.

Matching is on whole words, case- and accent-insensitive, because the PSG writes in English with
many Spanish names ("Chávarry", "Fiscal de la Nación") and feeds are not consistent about accents.
A keyword ending in ``*`` matches any word starting with it (``indigen*``: indigenous, indígenas).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml


def fold(text: str) -> str:
    """Lower-cases and strips accents, so "Chávarry" and "CHAVARRY" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return stripped.casefold().replace("’", "'")


def _pattern(keywords: Iterable[str]) -> re.Pattern[str] | None:
    alternatives = []
    for keyword in keywords:
        folded = fold(keyword).strip()
        if not folded:
            continue
        prefix = folded.endswith("*")
        words = folded.rstrip("*").split()
        body = r"\s+".join(re.escape(word) for word in words)
        alternatives.append(body + (r"\w*" if prefix else ""))
    if not alternatives:
        return None
    # Longest first so a phrase wins over a word it starts with; \b keeps matches to whole words.
    alternatives.sort(key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)")


@dataclass(frozen=True)
class Topic:
    slug: str
    name: str
    description: str
    aliases: tuple[str, ...]
    emoji: str
    keywords: tuple[str, ...]
    categories: tuple[str, ...]

    @property
    def hashtag(self) -> str:
        return "#" + self.slug.replace("-", "_")


class Taxonomy:
    """The topics in their display order, with lookup by any name a user might type."""

    def __init__(self, topics: list[Topic]) -> None:
        self.topics = topics
        self._by_name: dict[str, Topic] = {}
        for topic in topics:
            for name in (topic.slug, topic.name, *topic.aliases):
                self._by_name[fold(name).replace("-", " ").strip()] = topic
        self._patterns = {topic.slug: _pattern(topic.keywords) for topic in topics}
        self._categories = {
            fold(category): topic.slug for topic in topics for category in topic.categories
        }

    @classmethod
    def load(cls, path: Path) -> Taxonomy:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        topics = [
            Topic(
                slug=entry["slug"],
                name=entry["name"],
                description=entry["description"],
                aliases=tuple(entry.get("aliases") or ()),
                emoji=entry.get("emoji", "•"),
                keywords=tuple(entry.get("keywords") or ()),
                categories=tuple(entry.get("categories") or ()),
            )
            for entry in raw["topics"]
        ]
        return cls(topics)

    @property
    def slugs(self) -> list[str]:
        return [topic.slug for topic in self.topics]

    def get(self, slug: str) -> Topic | None:
        return next((topic for topic in self.topics if topic.slug == slug), None)

    def resolve(self, name: str) -> Topic | None:
        """Finds a topic by slug, display name or alias, however it is cased or accented."""
        return self._by_name.get(fold(name).replace("-", " ").replace("_", " ").strip())

    def classify(self, title: str, summary: str, categories: Iterable[str] = ()) -> list[str]:
        """Returns the slugs of the topics an item is about, in taxonomy order."""
        text = fold(f"{title}\n{summary}")
        found = {
            slug for slug, pattern in self._patterns.items() if pattern and pattern.search(text)
        }
        found.update(
            slug for category in categories if (slug := self._categories.get(fold(category)))
        )
        return [slug for slug in self.slugs if slug in found]
