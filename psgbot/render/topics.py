"""An item's topics for editors as Telegram HTML: /why (the tagger's working) and /tag."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from psgbot.db.models import Item
from psgbot.i18n import _, ngettext
from psgbot.numbers import format_count, format_score
from psgbot.render.markup import TITLE_LIMIT, escape, fit, pack, shorten
from psgbot.render.privacy import duration
from psgbot.topics import CueHit, Place, Strength, Taxonomy, TopicScore

if TYPE_CHECKING:  # data in, HTML out: render depends on no feature at run time
    from psgbot.retag import Retagged

CUE_LIMIT = 80  # a cue as shown (a feed's category may be anything)
NAME_LIMIT = 60


def _places() -> dict[Place, str]:
    return {
        Place.TITLE: _("title"),
        Place.FIRST_SENTENCE: _("first sentence"),
        Place.REST: _("rest of the summary"),
        Place.CATEGORY: _("feed category"),
    }


def _strengths() -> dict[Strength, str]:
    return {
        Strength.STRONG: _("strong"),
        Strength.KEYWORD: _("keyword"),
        Strength.WEAK: _("weak"),
        Strength.CATEGORY: _("category"),
    }


def _points(value: float) -> str:
    return format_score(value)


def _name(slug: str, taxonomy: Taxonomy) -> str:
    """A topic's emoji and name (escaped), or its slug when the taxonomy no longer has it."""
    topic = taxonomy.get(slug)
    if topic is None:
        return f"<code>{escape(shorten(slug, NAME_LIMIT))}</code>"
    return f"{topic.emoji} {escape(topic.name)}"


def _in_order(slugs: Collection[str], taxonomy: Taxonomy) -> list[str]:
    """Slugs in the taxonomy's order (the order users see), unknown ones last."""
    order = {slug: index for index, slug in enumerate(taxonomy.slugs)}
    return sorted(slugs, key=lambda slug: (order.get(slug, len(order)), slug))


def _names(slugs: Collection[str], taxonomy: Taxonomy) -> str:
    if not slugs:
        return _("no topics")
    return ", ".join(_name(slug, taxonomy) for slug in _in_order(slugs, taxonomy))


def _item_line(position: int, item: Item) -> str:
    return _("Item {number}: <b>{title}</b>").format(
        number=position, title=escape(shorten(item.title, TITLE_LIMIT))
    )


def cue_line(hit: CueHit) -> str:
    """One cue: what it is, how strong, where it stands, how often, what it gave."""
    return _("• “{cue}” ({strength}): {place}, ×{count}, {points} points").format(
        cue=escape(shorten(hit.cue, CUE_LIMIT)),
        strength=_strengths()[hit.strength],
        place=_places()[hit.place],
        count=hit.count,
        points=_points(hit.points),
    )


def _status(stored: bool, by_rules: bool) -> str:
    if stored and by_rules:
        return _("tagged")
    if stored:
        return _("tagged, though the rules alone would not")
    if by_rules:
        return _("not tagged, though the rules would tag it")
    return _("not tagged")


def why_messages(
    position: int, item: Item, scores: Sequence[TopicScore], taxonomy: Taxonomy
) -> list[str]:
    """/why: each topic with cues in the item, most salient first, with its score and whether
    the item has it; then the cues behind it. Topics neither tagged nor tagged by the rules
    get one short line; a tag no cue supports (set with /tag, or by a feed category) is named."""
    stored = set(item.topic_slugs)
    head = "\n".join(
        [
            _("🔎 <b>Why this item has its topics</b>"),
            _item_line(position, item),
            _("Tagged: {topics}").format(topics=_names(stored, taxonomy)),
        ]
    )
    blocks = [head]
    brief: list[str] = []
    for score in scores:
        is_stored = score.slug in stored
        if not is_stored and not score.tagged:
            brief.append(f"{_name(score.slug, taxonomy)} {_points(score.score)}")
            continue
        header = _("{topic}: {score}, {status}").format(
            topic=f"<b>{_name(score.slug, taxonomy)}</b>",
            score=_points(score.score),
            status=_status(is_stored, score.tagged),
        )
        blocks.append("\n".join([header, *(cue_line(hit) for hit in score.cues)]))
    if brief:
        blocks.append(_("Also scored, not tagged: {topics}").format(topics=", ".join(brief)))
    scored = {score.slug for score in scores}
    if unsupported := stored - scored:
        blocks.append(
            _(
                "Tagged with no cue in the text (set with /tag or by a feed category): {topics}"
            ).format(topics=_names(unsupported, taxonomy))
        )
    if not scores:
        blocks.append(_("No cue of any topic is in the title or summary."))
    scoring = taxonomy.scoring
    rules = _(
        "The rules tag a topic from {threshold} points and {relative}% of the best topic's "
        "score, at most {most} topics (the best one whatever its score). Points: the cue's "
        "strength times where it stands; repeats and further cues add less."
    ).format(
        threshold=_points(scoring.threshold),
        relative=round(scoring.relative * 100),
        most=scoring.most,
    )
    blocks.append(" ".join([rules, *_exceptions(scores, taxonomy)]))
    return pack(blocks)


def _exceptions(scores: Sequence[TopicScore], taxonomy: Taxonomy) -> list[str]:
    """The guide's exceptions to the relative bar that this item's topics meet: a companion
    topic ahead of the subject (the bar is the subject's), and topics paired with the subject
    (they need only the threshold). Without them, such a topic would seem tagged below the bar."""
    if not scores:
        return []
    scoring = taxonomy.scoring
    ranked = [score.slug for score in scores]
    leader = scoring.leader(ranked)
    notes = []
    if beside := ranked[: ranked.index(leader)]:
        notes.append(
            ngettext(
                "{topics} stands beside the item's subject, so the {relative}% bar is measured "
                "on the score of {leader}.",
                "{topics} stand beside the item's subject, so the {relative}% bar is measured "
                "on the score of {leader}.",
                len(beside),
            ).format(
                topics=_names(beside, taxonomy),
                relative=round(scoring.relative * 100),
                leader=_name(leader, taxonomy),
            )
        )
    partners = [slug for slug in ranked if slug in scoring.paired.get(leader, ())]
    # A paired topic needs only the threshold, or its own bar as a secondary topic if higher.
    for bar, slugs in _by_bar(partners, lambda slug: scoring.secondary.get(slug, 0.0)).items():
        notes.append(
            ngettext(
                "The guide pairs {topics} with {leader}: it needs only {threshold} points.",
                "The guide pairs {topics} with {leader}: they need only {threshold} points.",
                len(slugs),
            ).format(
                topics=_names(slugs, taxonomy),
                leader=_name(leader, taxonomy),
                threshold=_points(max(bar, scoring.threshold)),
            )
        )
    beside_subject = [
        slug
        for slug in ranked
        if slug != leader and slug in scoring.secondary and slug not in partners
    ]
    for bar, slugs in _by_bar(beside_subject, lambda slug: scoring.secondary[slug]).items():
        notes.append(
            ngettext(
                "Beside another subject, {topics} needs at least {bar} points.",
                "Beside another subject, {topics} need at least {bar} points.",
                len(slugs),
            ).format(topics=_names(slugs, taxonomy), bar=_points(bar))
        )
    return notes


def _by_bar(slugs: Sequence[str], bar: Callable[[str], float]) -> dict[float, list[str]]:
    """Topics grouped by the bar each must reach, lowest bar first."""
    groups: dict[float, list[str]] = {}
    for slug in slugs:
        groups.setdefault(bar(slug), []).append(slug)
    return dict(sorted(groups.items()))


def why_usage() -> str:
    return _("Usage: /why &lt;n&gt;, where n is the item's number in /latest (1 is the newest).")


def tag_usage() -> str:
    return _(
        "Usage: /tag &lt;n&gt; +topic -topic, e.g. /tag 1 +mining -economy, where n is the "
        "item's number in /latest (1 is the newest). Topics by slug, name or alias, as /topics "
        "lists them."
    )


def position_out_of_range(command: str, most: int) -> str:
    return _("Items are numbered 1 to {most}, as /latest shows them: try /{command} 1.").format(
        most=most, command=escape(command)
    )


def no_such_item(position: int, count: int) -> str:
    """The archive has fewer items than ``position``."""
    if count == 0:
        return _("No news has arrived yet, so there is no item to show.")
    return _("There is no item {number}: /latest shows {count} at most now.").format(
        number=position, count=count
    )


def tag_unknown_topic(name: str, taxonomy: Taxonomy) -> str:
    """A /tag naming a topic that does not exist, with the ones that do."""
    names = ", ".join(f"<code>{escape(topic.slug)}</code>" for topic in taxonomy.topics)
    return fit(
        [
            _(
                "I don't know the topic “{name}”. Topics are: {names}.\n"
                "Try /tag 1 +mining -economy."
            ).format(name=escape(shorten(name, NAME_LIMIT)), names=names)
        ]
    )


def tag_contradiction(slug: str, taxonomy: Taxonomy) -> str:
    return _("{topic} is both added and removed: say which, e.g. /tag 1 +mining.").format(
        topic=_name(slug, taxonomy)
    )


def retag_message(
    position: int, item: Item, result: Retagged, taxonomy: Taxonomy, max_age: timedelta
) -> str:
    """/tag's answer: what changed, the item's topics now, and who will be alerted."""
    if not result.changed:
        return fit(
            [
                "\n".join(
                    [
                        _("Nothing changed: the item already has these topics."),
                        _item_line(position, item),
                        _("Tagged: {topics}").format(topics=_names(result.after, taxonomy)),
                    ]
                )
            ]
        )
    lines = [_("🏷 <b>Retagged</b>"), _item_line(position, item)]
    if result.added:
        lines.append(_("Added: {topics}").format(topics=_names(result.added, taxonomy)))
    if result.removed:
        lines.append(_("Removed: {topics}").format(topics=_names(result.removed, taxonomy)))
    lines.append(_("Tagged now: {topics}").format(topics=_names(result.after, taxonomy)))
    if result.added and not result.alerts_due:
        lines.append(
            _("No alerts: the item is too old to alert (more than {age} ago).").format(
                age=escape(duration(max_age))
            )
        )
    elif result.added and result.alerted:
        lines.append(
            ngettext(
                "Alerts: {count} chat following the added topics will get it.",
                "Alerts: {count} chats following the added topics will get it.",
                result.alerted,
            ).format(count=format_count(result.alerted))
        )
    elif result.added:
        lines.append(
            _("No alerts: every chat following the added topics has had the item, or none does.")
        )
    return fit(["\n".join(lines)])
