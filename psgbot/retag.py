"""Editors' corrections of an item's topics (/tag) and the alerts they owe.

A retag changes the item's tags (``item_topics``, each keeping its item's sort time, so
``/latest <topic>`` places the item where it belongs), records the change in the audit log and,
in the same transaction, queues an alert for the followers of each newly added topic who have
not had the item. "Once only" rests on the outbox's unique (chat, item) constraint: a chat that
was alerted for the item (at ingest, or by an earlier retag, even of a topic since removed and
added again) already has its row, and the INSERT skips it. Rows are deleted only by the
retention purge, so an item is alerted on a retag only while every row it ever had is kept,
and, as at ingest, only while it is recent (``PSGBOT_ALERT_MAX_AGE``). The item remembers that
an editor set its topics, so the publisher's later edits of its text do not undo them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from psgbot.admins import AuditAction, audit
from psgbot.db.engine import dialect_insert
from psgbot.db.models import Item, ItemTopic
from psgbot.outbox import enqueue_alerts
from psgbot.preferences import roll_schedules
from psgbot.topics import Taxonomy

# What a change may start with: "+" adds; "-" removes, and so do the dashes phones put in
# its place ("−" minus, "–" en dash, "—" em dash).
ADD_SIGNS = "+"
REMOVE_SIGNS = "-−–—"
AUDIT_TITLE_LIMIT = 120


class NoChanges(ValueError):
    """The words name no "+topic" or "-topic", or begin with something else."""


class UnknownTopic(ValueError):
    """No topic has the name typed after a sign."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class Contradiction(ValueError):
    """The same topic is both added and removed."""

    def __init__(self, slug: str) -> None:
        super().__init__(slug)
        self.slug = slug


@dataclass(frozen=True)
class TagChanges:
    """Topics to add to an item and to remove from it, by slug."""

    add: frozenset[str]
    remove: frozenset[str]


def parse_changes(words: Sequence[str], taxonomy: Taxonomy) -> TagChanges:
    """Reads "+mining -economy" (names, slugs or aliases, as /subscribe takes them).

    A word without a sign continues the name before it, so "+human rights" is one topic.
    """
    changes: list[tuple[bool, list[str]]] = []
    for word in words:
        if word[:1] in ADD_SIGNS or word[:1] in REMOVE_SIGNS:
            changes.append((word[0] in ADD_SIGNS, [word[1:]]))
        elif changes:
            changes[-1][1].append(word)
        else:
            raise NoChanges(word)
    if not changes:
        raise NoChanges("")
    add: set[str] = set()
    remove: set[str] = set()
    for adding, parts in changes:
        name = " ".join(part for part in parts if part)
        if not name:
            raise NoChanges("")
        topic = taxonomy.resolve(name)
        if topic is None:
            raise UnknownTopic(name)
        (add if adding else remove).add(topic.slug)
    if both := add & remove:
        raise Contradiction(sorted(both)[0])
    return TagChanges(frozenset(add), frozenset(remove))


@dataclass(frozen=True)
class Retagged:
    """What a retag did: the item's topics before and after, and the alerts it queued."""

    item_id: int
    title: str
    before: frozenset[str]
    after: frozenset[str]
    alerted: int
    # False when the item is too old to alert (see alerts_due); nothing was queued.
    alerts_due: bool

    @property
    def added(self) -> frozenset[str]:
        return self.after - self.before

    @property
    def removed(self) -> frozenset[str]:
        return self.before - self.after

    @property
    def changed(self) -> bool:
        return self.before != self.after


def alerts_due(item: Item, now: datetime, max_age: timedelta, retention: timedelta) -> bool:
    """Whether a retag may still alert for ``item``.

    As at ingest, only a recent item is alerted (published, or first seen when undated, within
    ``max_age``). And only while it was first seen within ``retention``: every alert row of the
    item was written after that, so none has been purged yet, and the (chat, item) constraint
    still knows everyone who had it.
    """
    return (
        item.published_at or item.first_seen_at
    ) >= now - max_age and item.first_seen_at > now - retention


async def retag(
    session: AsyncSession,
    item: Item,
    changes: TagChanges,
    *,
    user_id: int | None,
    now: datetime,
    max_age: timedelta,
    retention: timedelta,
    zone: ZoneInfo,
) -> Retagged:
    """Applies ``changes`` to the item's topics, audits them and queues the alerts they owe;
    the caller commits. A change that changes nothing writes nothing. ``zone`` is the PSG's,
    the zone of chats that chose none (their digests are moved on before alerts wait for
    them)."""
    before = frozenset(item.topic_slugs)
    after = (before | changes.add) - changes.remove
    due = alerts_due(item, now, max_age, retention)
    result = Retagged(item.id, item.title, before, after, alerted=0, alerts_due=due)
    if not result.changed:
        return result
    if result.removed:
        await session.execute(
            delete(ItemTopic).where(
                ItemTopic.item_id == item.id, ItemTopic.topic.in_(sorted(result.removed))
            )
        )
    if result.added:
        # Another editor's /tag of the same item may have added it meanwhile: skip, not fail.
        await session.execute(
            dialect_insert(session)(ItemTopic)
            .values(
                [
                    {"item_id": item.id, "topic": slug, "sort_at": item.sort_at}
                    for slug in sorted(result.added)
                ]
            )
            .on_conflict_do_nothing(index_elements=["item_id", "topic"])
        )
    # The feed's later edits of the item keep these topics (psgbot.feeds.store).
    item.topics_edited_at = now
    alerted = 0
    if result.added and due:
        await roll_schedules(session, zone, now)  # a digest just passed holds nothing more
        alerted = await enqueue_alerts(session, [item.id], now, topics=result.added)
    signed = [f"+{slug}" for slug in sorted(result.added)]
    signed += [f"-{slug}" for slug in sorted(result.removed)]
    title = item.title[:AUDIT_TITLE_LIMIT]
    await audit(
        session,
        user_id,
        AuditAction.RETAG,
        f"item {item.id} “{title}”: {' '.join(signed)}; alerts {alerted}",
    )
    return Retagged(item.id, item.title, before, after, alerted=alerted, alerts_due=due)
