"""Keyword watches: a chat asks for alerts on items that contain words or a phrase (/watch),
whatever the items' topics.

A watch matches as a topic's cue does (psgbot.topics.fold): whole words, any case, any accents,
in the item's title or summary (plain text). Nothing in a phrase is a pattern: "(mine)+" matches
those characters in that order, and spaces match any run of spaces. So "Tía María" matches
"TIA MARIA" and "tía  maría" but not "tiamaria", and "Bambas" not "Bambasco".

Matching scales with the items, not with the watchers. For a batch of new items the distinct
phrases watched are read once; the start of each item's text is cut into tokens (words, and
each other character but space) and from every position a trie of the phrases' tokens is
walked as far as the text follows a phrase, so an item costs the same however many phrases are
watched, and no more than its first SCANNED_TOKENS tokens. Then one INSERT … SELECT per
few hundred (phrase, item) pairs joins them to the watches of active chats, as
psgbot.outbox.enqueue_alerts does for topics, in the item's transaction and with the same
unique (chat, item) row: an item a chat's topic and its watch both match alerts it once.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from itertools import islice

from sqlalchemy import and_, delete, literal, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from psgbot.db.engine import dialect_insert
from psgbot.db.models import WATCH_PHRASE_MAX as WATCH_PHRASE_MAX
from psgbot.db.models import WATCH_WORDS_MAX, Chat, Delivery, Item, Watch, receiving
from psgbot.outbox import ALERT_COLUMNS, alert_values
from psgbot.topics.matching import fold, without_feed_footer

WATCH_LIMIT = 20
"""Watches one chat may have."""

# A word, or any one character that is neither a word's nor a space.
_TOKEN = re.compile(r"\w+|[^\w\s]")
# Quotes around a whole phrase are the user's way of saying "this phrase", not part of it.
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "„": "“"}
SCANNED_TOKENS = 5_000
"""Tokens of an item (title, then summary) that watches are matched in: every token of the
longest summary a feed keeps is not, but a story names what it is about early, and a bound
keeps one item from stalling the event loop whatever is stored."""
# Characters of a title or summary read at all: a token takes at least one and most are words,
# so this holds SCANNED_TOKENS tokens of any real text, and spares folding a stored megabyte.
SCANNED_CHARS = 100_000
# Items read, and (phrase, item) pairs written, per statement: well under SQLite's limits on
# parameters and on the SELECTs of one UNION (500).
_ITEM_CHUNK = 500
_PAIR_CHUNK = 400


def normalise(text: str) -> str:
    """The form watches are compared in: folded (no case, no accents), spaces collapsed."""
    return " ".join(fold(text).split())


def clean_phrase(typed: str) -> str:
    """The phrase as it is kept and shown: spaces collapsed, enclosing quotes and control
    characters dropped (PostgreSQL refuses NUL in text, and none of them is ever in an item)."""
    visible = "".join(c for c in typed if c.isspace() or unicodedata.category(c) != "Cc")
    phrase = " ".join(visible.split())
    if len(phrase) >= 2 and _QUOTES.get(phrase[0]) == phrase[-1]:
        phrase = " ".join(phrase[1:-1].split())
    return phrase


class PhraseIndex:
    """Normalised phrases as a trie of their tokens, to find the ones an item contains.

    Each step of the trie is a token and what separates it from the one before ("" or " "
    in normalised text), so a match is the same string as the phrase. From each token of a
    text the walk goes only as far as the text goes on as some phrase does: a text costs its
    tokens times at most the longest phrase's, whatever the number of phrases.
    """

    def __init__(self, phrases: Iterable[str]) -> None:
        self._root: _Node = _Node()
        self._count = 0
        for phrase in phrases:
            steps = _steps(phrase)
            if not steps:
                continue
            node = self._root
            for index, (gap, token) in enumerate(steps):
                node = node.children.setdefault(("" if index == 0 else gap, token), _Node())
            if node.phrase is None:
                node.phrase = phrase
                self._count += 1

    def __bool__(self) -> bool:
        return self._count > 0

    def found(self, normalised: str, tokens: int = SCANNED_TOKENS) -> set[str]:
        """The phrases that occur, as whole tokens, in the first ``tokens`` tokens of
        ``normalised`` text (a phrase must end within them)."""
        return self._found(_steps(normalised, tokens))

    def found_in_item(self, title: str, summary: str) -> set[str]:
        """The phrases in an item's title or summary (not across them, nor in WordPress's
        "The post … appeared first on …" footer, which names the site in every item), within
        the first SCANNED_TOKENS tokens of the two, title first."""
        in_title = _steps(normalise(title[:SCANNED_CHARS]), SCANNED_TOKENS)
        left = SCANNED_TOKENS - len(in_title)
        body = without_feed_footer(normalise(summary[:SCANNED_CHARS])) if left else ""
        return self._found(in_title) | self._found(_steps(body, left))

    def _found(self, steps: list[tuple[str, str]]) -> set[str]:
        # Words are maximal runs, so a phrase's tokens matched in a row with the same
        # separators are a whole-word match of the phrase.
        found: set[str] = set()
        for start, (_gap, token) in enumerate(steps):
            node = self._root.children.get(("", token))
            index = start
            while node is not None:
                if node.phrase is not None:
                    found.add(node.phrase)
                index += 1
                if index == len(steps) or not node.children:
                    break
                node = node.children.get(steps[index])
        return found


class _Node:
    __slots__ = ("children", "phrase")

    def __init__(self) -> None:
        self.children: dict[tuple[str, str], _Node] = {}
        self.phrase: str | None = None


def _steps(text: str, limit: int | None = None) -> list[tuple[str, str]]:
    """The text's tokens (the first ``limit``), each with what separates it from the one
    before."""
    steps: list[tuple[str, str]] = []
    end = 0
    for match in islice(_TOKEN.finditer(text), limit):
        steps.append((text[end : match.start()], match.group()))
        end = match.end()
    return steps


class Refusal(Enum):
    """Why a /watch changed nothing."""

    EMPTY = "empty"
    NO_WORDS = "no words"
    TOO_LONG = "too long"
    TOO_MANY = "too many"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class WatchChange:
    """What /watch did: the phrase (as stored, for a duplicate) and the chat's count after."""

    phrase: str
    count: int
    refusal: Refusal | None = None


async def watches_of(session: AsyncSession, chat_id: int) -> list[Watch]:
    """The chat's watches, oldest first."""
    return list(
        await session.scalars(select(Watch).where(Watch.chat_id == chat_id).order_by(Watch.id))
    )


async def add_watch(session: AsyncSession, chat_id: int, typed: str, now: datetime) -> WatchChange:
    """Adds a watch, unless the phrase is empty, too long, has no word, is watched already
    (in any case or accents) or the chat has WATCH_LIMIT; the chat must be stored."""
    phrase = clean_phrase(typed)
    words = normalise(phrase)
    existing = await watches_of(session, chat_id)
    refusal = None
    if not phrase:
        refusal = Refusal.EMPTY
    elif len(phrase) > WATCH_PHRASE_MAX or len(words) > WATCH_WORDS_MAX:
        refusal = Refusal.TOO_LONG
    elif not re.search(r"\w", words):
        refusal = Refusal.NO_WORDS
    elif same := next((watch for watch in existing if watch.words == words), None):
        return WatchChange(same.phrase, len(existing), Refusal.DUPLICATE)
    elif len(existing) >= WATCH_LIMIT:
        refusal = Refusal.TOO_MANY
    if refusal is not None:
        return WatchChange(phrase, len(existing), refusal)
    session.add(Watch(chat_id=chat_id, phrase=phrase, words=words, created_at=now))
    await session.flush()
    return WatchChange(phrase, len(existing) + 1)


async def remove_watch(
    session: AsyncSession, chat_id: int, *, typed: str | None = None, watch_id: int | None = None
) -> str | None:
    """Removes the chat's watch of this phrase (in any case or accents) or with this id; its
    phrase as it was kept, or None when the chat had no such watch."""
    if typed is not None:
        which = Watch.words == normalise(clean_phrase(typed))
    elif watch_id is not None:
        which = Watch.id == watch_id
    else:
        raise ValueError("a phrase or a watch id is needed")
    statement = delete(Watch).where(Watch.chat_id == chat_id, which).returning(Watch.phrase)
    return (await session.execute(statement)).scalar()


async def enqueue_watch_alerts(
    session: AsyncSession, item_ids: Sequence[int], now: datetime
) -> int:
    """Writes one alert row per (active chat watching a phrase, new item containing it).

    A chat that already has the item's row (its topic matched too, or it was enqueued before)
    keeps that one: the conflict on (chat, item) is skipped.
    """
    if not item_ids:
        return 0
    index = PhraseIndex(await session.scalars(select(Watch.words).distinct()))
    if not index:
        return 0
    pairs: list[tuple[str, int]] = []
    for start in range(0, len(item_ids), _ITEM_CHUNK):
        chunk = list(item_ids[start : start + _ITEM_CHUNK])
        rows = await session.execute(
            select(Item.id, Item.title, Item.summary).where(Item.id.in_(chunk))
        )
        for item_id, title, summary in rows:
            pairs += [(words, item_id) for words in sorted(index.found_in_item(title, summary))]
    written = 0
    for start in range(0, len(pairs), _PAIR_CHUNK):
        written += await _insert_alerts(session, pairs[start : start + _PAIR_CHUNK], now)
    return written


async def _insert_alerts(session: AsyncSession, pairs: list[tuple[str, int]], now: datetime) -> int:
    # The pairs as a derived table of SELECTs: SQLite names no VALUES columns in FROM, and a
    # WITH before the INSERT hides the rows written from its driver.
    found = union_all(
        *(
            select(literal(words).label("words"), literal(item_id).label("item_id"))
            for words, item_id in pairs
        )
    ).subquery("found")
    matched = (
        select(Watch.chat_id, found.c.item_id, *alert_values(now))
        .select_from(Watch)
        .join(found, found.c.words == Watch.words)
        .join(Chat, and_(Chat.id == Watch.chat_id, receiving()))
        # WHERE true: SQLite reads "… JOIN x ON … ON CONFLICT" wrongly without a WHERE.
        .where(true())
    )
    statement = (
        dialect_insert(session)(Delivery)
        .from_select(ALERT_COLUMNS, matched)
        .on_conflict_do_nothing(index_elements=["chat_id", "item_id"])
    )
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


class WatchedPhrases:
    """The watches of some chats (a batch's), to say which one brought an alert."""

    def __init__(self, watches: dict[int, list[tuple[str, str]]]) -> None:
        self._watches = watches  # chat -> (phrase, words), oldest first
        self._index = PhraseIndex(words for rows in watches.values() for _p, words in rows)
        self._found: dict[int, set[str]] = {}

    @classmethod
    async def load(cls, session: AsyncSession, chat_ids: set[int]) -> WatchedPhrases:
        watches: dict[int, list[tuple[str, str]]] = defaultdict(list)
        if chat_ids:
            rows = await session.execute(
                select(Watch.chat_id, Watch.phrase, Watch.words)
                .where(Watch.chat_id.in_(chat_ids))
                .order_by(Watch.id)
            )
            for chat_id, phrase, words in rows:
                watches[chat_id].append((phrase, words))
        return cls(watches)

    def phrase(self, chat_id: int, item: Item) -> str | None:
        """The chat's first watch the item contains, as the chat typed it."""
        if not self._watches.get(chat_id):
            return None
        if item.id not in self._found:
            self._found[item.id] = self._index.found_in_item(item.title, item.summary)
        found = self._found[item.id]
        return next((phrase for phrase, words in self._watches[chat_id] if words in found), None)
