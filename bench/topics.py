"""The tagger against a labelled set: per-topic and micro-averaged precision, recall and F1.

    python bench/topics.py [--set data/topics-dev.yaml] [--misses [--show-held-out]]

Each item of the set (labelled by data/topics.md) is classified as a feed item is; an item's
topics count as a set (order is not scored). The default set is the development set, with
figures for seven parts: the items the weights were first tuned on; the items written after that
first round (``added: after tuning``), scored unseen once and then tuned on in a second round;
those written for the thinner topics after that (``added: third round``), scored unseen once and
then tuned on in a third; those written for the kinds of miss found on real PSG items (``added:
fourth round``), scored unseen once and then tuned on in a fourth; those written for the kinds of
miss fixed in a fifth round on both halves of the real PSG items (``added: fifth round``), written
after that round's cues and tuned on with them; those written for the kinds of over-tagging fixed
in a sixth round on all three real sets (``added: sixth round``: a topic named in passing beside
the subject), written the same way; and every third of the items written first (the 3rd, 6th,
...), held out from every round.
``--set data/topics-heldout.yaml`` scores the held-out set, which nobody tunes on (its file says
``held out: true``, and it has no parts). ``--misses`` lists each item whose topics differ: the
topics missed and those tagged wrongly, with the cues that scored. It lists those of the items
tuned on only: a held-out item's misses are what tuning would chase, so they are listed only with
``--show-held-out`` (a held-out set's not at all without it). The last line sums it up over the
whole set.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from psgbot.config import DEFAULT_DATA_DIR
from psgbot.topics import Taxonomy

HELD_OUT_EVERY = 3
SPEED_ROUNDS = 20
PARTS = (
    "tuned on first",
    "added, tuned on second",
    "added, tuned on third",
    "added, tuned on fourth",
    "added, tuned on fifth",
    "added, tuned on sixth",
    "held out",
)


@dataclass(frozen=True)
class Labelled:
    number: int
    title: str
    summary: str
    categories: tuple[str, ...]
    topics: tuple[str, ...]
    after_tuning: bool
    in_held_out_set: bool = False
    third_round: bool = False
    fourth_round: bool = False
    fifth_round: bool = False
    sixth_round: bool = False

    @property
    def held_out(self) -> bool:
        if self.in_held_out_set:
            return True
        later = (self.third_round, self.fourth_round, self.fifth_round, self.sixth_round)
        first = not (self.after_tuning or any(later))
        return first and self.number % HELD_OUT_EVERY == 0

    @property
    def part(self) -> str:
        if self.in_held_out_set:
            return "held-out set"
        if self.sixth_round:
            return "added, tuned on sixth"
        if self.fifth_round:
            return "added, tuned on fifth"
        if self.fourth_round:
            return "added, tuned on fourth"
        if self.third_round:
            return "added, tuned on third"
        if self.after_tuning:
            return "added, tuned on second"
        return "held out" if self.held_out else "tuned on first"


@dataclass
class Counts:
    correct: int = 0
    tagged: int = 0
    gold: int = 0

    @property
    def precision(self) -> float:
        return self.correct / self.tagged if self.tagged else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.gold if self.gold else 1.0

    @property
    def f1(self) -> float:
        total = self.tagged + self.gold
        return 2 * self.correct / total if total else 1.0


def load_set(path: Path) -> tuple[list[Labelled], bool]:
    """The labelled items, numbered from 1 in file order, and whether the whole set is held out."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    held_out = bool(raw.get("held out"))
    return [
        Labelled(
            number=number,
            title=entry["title"],
            summary=entry.get("summary") or "",
            categories=tuple(entry.get("categories") or ()),
            topics=tuple(entry["topics"]),
            after_tuning=entry.get("added") == "after tuning",
            in_held_out_set=held_out,
            third_round=entry.get("added") == "third round",
            fourth_round=entry.get("added") == "fourth round",
            fifth_round=entry.get("added") == "fifth round",
            sixth_round=entry.get("added") == "sixth round",
        )
        for number, entry in enumerate(raw["items"], start=1)
    ], held_out


def score(
    taxonomy: Taxonomy, items: Sequence[Labelled], tagged: Sequence[Sequence[str]]
) -> tuple[Counts, dict[str, Counts]]:
    """Micro-averaged counts over all topics, and counts per topic."""
    per_topic = {slug: Counts() for slug in taxonomy.slugs}
    for item, found in zip(items, tagged, strict=True):
        gold, got = set(item.topics), set(found)
        for slug in gold:
            per_topic[slug].gold += 1
        for slug in got:
            per_topic[slug].tagged += 1
        for slug in gold & got:
            per_topic[slug].correct += 1
    micro = Counts(
        correct=sum(c.correct for c in per_topic.values()),
        tagged=sum(c.tagged for c in per_topic.values()),
        gold=sum(c.gold for c in per_topic.values()),
    )
    return micro, per_topic


def summary_line(label: str, micro: Counts, items: int) -> str:
    return (
        f"{label}: micro-F1 {micro.f1:.3f} (precision {micro.precision:.3f}, "
        f"recall {micro.recall:.3f}) on {items} items"
    )


def print_errors(
    taxonomy: Taxonomy, items: Sequence[Labelled], tagged: Sequence[list[str]]
) -> None:
    for item, found in zip(items, tagged, strict=True):
        if set(found) == set(item.topics):
            continue
        missed = [slug for slug in item.topics if slug not in found]
        wrong = [slug for slug in found if slug not in item.topics]
        print(f"#{item.number} ({item.part}) {item.title}")
        print(f"    labelled {', '.join(item.topics)}; tagged {', '.join(found) or '-'}")
        print(f"    missed {', '.join(missed) or '-'}; wrongly tagged {', '.join(wrong) or '-'}")
        for result in taxonomy.explain(item.title, item.summary, item.categories):
            cues = ", ".join(f"{cue.cue} ({cue.where}, {cue.points:.2f})" for cue in result.cues)
            print(f"    {result.slug} {result.score:.2f}: {cues}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set",
        "--dev-set",
        dest="labelled",
        type=Path,
        default=DEFAULT_DATA_DIR / "topics-dev.yaml",
        help="the labelled set to score (data/topics-heldout.yaml: the held-out set)",
    )
    parser.add_argument("--topics", type=Path, default=DEFAULT_DATA_DIR / "topics.yaml")
    parser.add_argument(
        "--misses",
        "--errors",
        dest="errors",
        action="store_true",
        help="list the items tagged wrongly: topics missed, topics tagged wrongly, cues",
    )
    parser.add_argument(
        "--show-held-out",
        action="store_true",
        help="with --misses, list held-out items' misses too (read them, then tune on nothing)",
    )
    args = parser.parse_args()

    taxonomy = Taxonomy.load(args.topics)
    items, held_out = load_set(args.labelled)
    if args.errors and held_out and not args.show_held_out:
        parser.error(
            f"{args.labelled} is held out: its misses are listed only with --show-held-out"
        )
    tagged = [taxonomy.classify(item.title, item.summary, item.categories) for item in items]

    if args.errors:
        shown = [
            (i, t)
            for i, t in zip(items, tagged, strict=True)
            if args.show_held_out or not i.held_out
        ]
        print_errors(taxonomy, [i for i, _ in shown], [t for _, t in shown])
        hidden = sum(
            1
            for i, t in zip(items, tagged, strict=True)
            if i.held_out and set(t) != set(i.topics) and not args.show_held_out
        )
        if hidden:
            items_word = "item" if hidden == 1 else "items"
            print(f"({hidden} held-out {items_word} tagged wrongly not listed: --show-held-out)")
        print()

    micro, per_topic = score(taxonomy, items, tagged)
    print(
        f"{'topic':<14}{'labelled':>9}{'tagged':>8}{'right':>7}{'precision':>11}{'recall':>8}{'F1':>7}"
    )
    for slug, counts in per_topic.items():
        print(
            f"{slug:<14}{counts.gold:>9}{counts.tagged:>8}{counts.correct:>7}"
            f"{counts.precision:>11.3f}{counts.recall:>8.3f}{counts.f1:>7.3f}"
        )
    per_item = sum(len(found) for found in tagged) / len(items)
    print(
        f"topics per item: {per_item:.2f} tagged, "
        f"{sum(len(item.topics) for item in items) / len(items):.2f} labelled"
    )
    for label in () if held_out else PARTS:
        part = [(i, t) for i, t in zip(items, tagged, strict=True) if i.part == label]
        part_micro, _ = score(taxonomy, [i for i, _ in part], [t for _, t in part])
        print(summary_line(label, part_micro, len(part)))

    # The best of several rounds: the machine may be busy with other work.
    fastest = float("inf")
    for _ in range(SPEED_ROUNDS):
        started = time.perf_counter()
        for item in items:
            taxonomy.classify(item.title, item.summary, item.categories)
        fastest = min(fastest, time.perf_counter() - started)
    print(f"speed: {len(items) / fastest:,.0f} items classified a second (best of {SPEED_ROUNDS})")
    print(summary_line("topics", micro, len(items)))


if __name__ == "__main__":
    main()
