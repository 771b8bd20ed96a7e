"""The weights of tagging (``scoring:`` in ``data/topics.yaml``): how telling each kind of cue
is, what each place in an item weighs, and the bars a topic's score must pass."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Strength(Enum):
    """How telling a cue is: its list in ``data/topics.yaml``."""

    STRONG = "strong"
    KEYWORD = "keyword"
    WEAK = "weak"
    CATEGORY = "category"


class Place(Enum):
    """Where in an item a cue stands; the best place of a cue's occurrences is the one shown."""

    TITLE = "title"
    FIRST_SENTENCE = "first sentence"
    REST = "rest of the summary"
    CATEGORY = "category"


@dataclass(frozen=True)
class Scoring:
    """The weights of ``scoring:`` in ``data/topics.yaml``."""

    strengths: Mapping[Strength, float]
    places: Mapping[Place, float]
    repeat: float
    repeats_counted: int
    further: float
    threshold: float
    relative: float
    most: int
    # Topics that stand beside an item's subject (the PSG's own activity: "the topic of that
    # activity comes second"), so their score is not the best one that ``relative`` measures.
    companions: frozenset[str] = frozenset()
    # Topics the guide pairs with another ("an oil spill: extractives and environment";
    # "contamination and people's health: health and environment"): beside the best topic, one
    # paired with it needs only the threshold, as a consequence the item describes is no aside.
    paired: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Topics that a passing cue is apt to name in an item about something else ("indigenous
    # peoples" in a list of those affected, "women" among the victims): beside a leading topic,
    # such a topic needs this higher bar of its own, whatever else lets it through.
    secondary: Mapping[str, float] = field(default_factory=dict)

    def leader(self, ranked: Sequence[str]) -> str:
        """Of topics ranked by score (slugs, best first), the one whose score sets the relative
        bar: the best that is no companion, or the best when all are."""
        return next((slug for slug in ranked if slug not in self.companions), ranked[0])

    @classmethod
    def from_yaml(cls, raw: Mapping[str, Any]) -> Scoring:
        strengths = raw["strength"]
        places = raw["place"]
        return cls(
            strengths={strength: float(strengths[strength.value]) for strength in Strength},
            places={
                Place.TITLE: float(places["title"]),
                Place.FIRST_SENTENCE: float(places["first sentence"]),
                Place.REST: float(places["rest"]),
                Place.CATEGORY: 1.0,
            },
            repeat=float(raw["repeat"]),
            repeats_counted=int(raw["repeats counted"]),
            further=float(raw["further cues"]),
            threshold=float(raw["threshold"]),
            relative=float(raw["relative"]),
            most=int(raw["most"]),
            companions=frozenset(raw.get("companions") or ()),
            paired={slug: frozenset(others) for slug, others in (raw.get("paired") or {}).items()},
            secondary={slug: float(bar) for slug, bar in (raw.get("secondary") or {}).items()},
        )
