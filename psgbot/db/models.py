"""The stored world: feeds, their items and topic tags, events, chats and what they follow,
admins, broadcasts, texts and the audit log. The outbox's tables are in psgbot.db.deliveries,
the search's in psgbot.db.search (both re-exported here)."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    and_,
    event,
    false,
    true,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from psgbot.config import FEED_SOURCE_MAX
from psgbot.db.base import Base as Base
from psgbot.db.deliveries import Delivery as Delivery
from psgbot.db.deliveries import DeliveryRollup as DeliveryRollup
from psgbot.db.enums import AuditAction, BroadcastStatus, DigestMode, Role
from psgbot.db.search import ItemSearch as ItemSearch
from psgbot.db.search import SearchQuery as SearchQuery
from psgbot.db.types import StringLines, UtcDateTime, str_enum, utcnow
from psgbot.i18n import Language

# Sizes of the columns that hold what a feed's server sends. psgbot.feeds bounds those values to
# these when it reads a feed, so no item or header can hand PostgreSQL a value its column refuses
# (which would fail the feed's every poll).
FEED_TITLE_MAX = 500
ETAG_MAX = 500
LAST_MODIFIED_MAX = 100
ITEM_KEY_MAX = 512
ITEM_GUID_MAX = 2000
ITEM_LINK_MAX = 2000
# An item's picture (psgbot.feeds.images): an http(s) URL Telegram fetches itself.
ITEM_IMAGE_MAX = 2000
# An item's folded title (psgbot.feeds.duplicates); a longer one is stored as its hash.
TITLE_KEY_MAX = 200
# An item's feed categories: how many are kept, and the characters of each.
ITEM_CATEGORIES_MAX = 20
ITEM_CATEGORY_MAX = 100


class Feed(Base):
    """A source the bot polls: an http(s) URL or a local file path."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(FEED_SOURCE_MAX), unique=True)
    title: Mapped[str | None] = mapped_column(String(FEED_TITLE_MAX))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Conditional GET validators from the last 200 answer.
    etag: Mapped[str | None] = mapped_column(String(ETAG_MAX))
    last_modified: Mapped[str | None] = mapped_column(String(LAST_MODIFIED_MAX))
    # SHA-256 of the last body stored: a 200 with the same body costs a hash, nothing parsed.
    body_hash: Mapped[str | None] = mapped_column(String(64))
    # Health: a feed's first successful fetch sets `initialized` (its items are not alerted).
    initialized: Mapped[bool] = mapped_column(Boolean, default=False)
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_poll_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # A feed that answered 410 Gone is not polled again until an admin re-enables it.
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The language the feed declares (RSS <language>), when it is one the bot speaks.
    language: Mapped[Language | None] = mapped_column(str_enum(Language, 8))

    items: Mapped[list[Item]] = relationship(back_populates="feed")


class Item(Base):
    """One news item, stored once per feed under its key (see ``psgbot.feeds.keys``)."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("feed_id", "key", name="uq_items_feed_key"),
        Index("ix_items_sort", "sort_at"),
        # A new item's earlier copies (the same story under another guid or link) are one
        # range of this index: its title key, within days of its date.
        Index("ix_items_title_key", "title_key", "sort_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(ITEM_KEY_MAX))
    guid: Mapped[str | None] = mapped_column(String(ITEM_GUID_MAX))
    title: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(ITEM_LINK_MAX))
    summary: Mapped[str] = mapped_column(Text, default="")
    # Its categories in the feed, which tagging counts as evidence (so /why shows them too);
    # None for an item stored before they were kept, until its feed is read again.
    categories: Mapped[tuple[str, ...] | None] = mapped_column(
        StringLines(ITEM_CATEGORIES_MAX, ITEM_CATEGORY_MAX)
    )
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Newest first means: by publication date, or by first sight for undated items.
    sort_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # When an editor last set the topics by hand (/tag, psgbot.retag): an edit of the item in
    # its feed then refreshes its text but keeps those topics.
    topics_edited_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The language the item is written in, as its feed declares it; None when unknown.
    language: Mapped[Language | None] = mapped_column(str_enum(Language, 8))
    # Its picture, from the feed (an image enclosure, media:content or media:thumbnail, or the
    # first <img> of its content): alerts carry it as a photo. When Telegram refused to fetch
    # it, ``image_refused_at`` says so and later alerts of the item go as text.
    image_url: Mapped[str | None] = mapped_column(String(ITEM_IMAGE_MAX))
    image_refused_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The title folded for comparison (case, accents, punctuation, spaces), None for titles too
    # short to name a story. An item whose title matches an earlier one within days is a copy:
    # ``duplicate_of`` names that one, and the copy has no topics and is never alerted.
    title_key: Mapped[str | None] = mapped_column(String(TITLE_KEY_MAX))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))

    feed: Mapped[Feed] = relationship(back_populates="items")
    topics: Mapped[list[ItemTopic]] = relationship(
        back_populates="item",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="ItemTopic.topic",
    )

    @property
    def topic_slugs(self) -> list[str]:
        return [tag.topic for tag in self.topics]


class ItemTopic(Base):
    """A topic tag on an item; a table (not a column) so topic queries are plain joins.

    It repeats its item's ``sort_at``, so one topic's newest items are one index range
    (topic, sort_at, item_id), however many items the archive holds.
    """

    __tablename__ = "item_topics"
    __table_args__ = (
        Index("ix_item_topics_topic", "topic", "item_id"),
        Index("ix_item_topics_newest", "topic", "sort_at", "item_id"),
    )

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(64), primary_key=True)
    sort_at: Mapped[datetime] = mapped_column(UtcDateTime)

    item: Mapped[Item] = relationship(back_populates="topics")


@event.listens_for(Session, "before_flush")
def _tags_sort_like_their_items(session: Session, _context: object, _instances: object) -> None:
    """A tag takes its item's sort time when it is written (items never change theirs)."""
    for tag in session.new:
        if isinstance(tag, ItemTopic) and tag.item is not None:
            tag.sort_at = tag.item.sort_at


class Event(Base):
    """Something the PSG runs: a conference, a talk, a meeting."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    subtitle: Mapped[str | None] = mapped_column(String(500))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # When only the day is known the bot says so instead of inventing a time.
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str] = mapped_column(String(64))
    venue: Mapped[str | None] = mapped_column(String(500))
    address: Mapped[str | None] = mapped_column(String(1000))
    online_url: Mapped[str | None] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(Text)
    registration_url: Mapped[str | None] = mapped_column(String(2000))
    prices: Mapped[str | None] = mapped_column(Text)
    programme: Mapped[str | None] = mapped_column(Text)
    organiser: Mapped[str | None] = mapped_column(String(500))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


ALL_NEWS = "*"
"""The subscription topic that stands for every item, tagged or not."""


class Chat(Base):
    """A private chat, group or channel the bot talks to; inactive once it blocks or drops us.

    Only what the bot needs to serve the chat is kept: no names, usernames or titles (see
    PRIVACY.md). An inactive chat's data is deleted after PSGBOT_INACTIVE_RETENTION
    (psgbot.privacy); a stopped one (/stop) is in no audience until it subscribes again.
    """

    __tablename__ = "chats"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A short fixed word ("blocked", "kicked", "left", "migrated", ...): never who did it.
    inactive_reason: Mapped[str | None] = mapped_column(String(500))
    inactive_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Set by /stop: nothing at all is sent (alerts, reminders, announcements) until cleared.
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Announcements from the PSG to everyone ("all" broadcasts); the /subscribe keyboard's toggle.
    announcements: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Preferences (/settings, psgbot.preferences), as the chat set them in its own time zone
    # (None: the PSG's, PSGBOT_TIMEZONE): digests at a time (weekly: on a weekday, 0 is Monday)
    # and a quiet window, which may cross midnight.
    timezone: Mapped[str | None] = mapped_column(String(64))
    digest: Mapped[DigestMode] = mapped_column(
        str_enum(DigestMode), default=DigestMode.INSTANT, server_default=DigestMode.INSTANT.value
    )
    digest_time: Mapped[time | None] = mapped_column(Time)
    digest_weekday: Mapped[int | None] = mapped_column(SmallInteger)
    quiet_from: Mapped[time | None] = mapped_column(Time)
    quiet_until: Mapped[time | None] = mapped_column(Time)
    # The same as instants (UTC) the outbox compares with: the next digest, and the current or
    # next quiet window. psgbot.preferences moves them on as they pass.
    digest_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    quiet_starts_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    quiet_ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    # The language chosen with /language; None until someone chooses (psgbot.bot.language).
    language: Mapped[Language | None] = mapped_column(str_enum(Language, 8))
    # Until then: the language of the user's Telegram app in a private chat, or of whoever
    # first brought the bot into a group; what is sent unasked (alerts, broadcasts) uses it.
    telegram_language: Mapped[Language | None] = mapped_column(str_enum(Language, 8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    subscriptions: Mapped[list[Subscription]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="Subscription.topic"
    )

    @property
    def is_group(self) -> bool:
        return self.type in {"group", "supergroup", "channel"}

    @property
    def speaks(self) -> Language:
        return speaks(self.language, self.telegram_language)


def speaks(chosen: Language | None, telegram: Language | None) -> Language:
    """The language of what a chat is sent: chosen, else Telegram's, else English."""
    return chosen or telegram or Language.EN


def receiving() -> ColumnElement[bool]:
    """The chats anything may be sent to: active (not blocked or removed) and not stopped."""
    return and_(Chat.active.is_(True), Chat.stopped_at.is_(None))


class Subscription(Base):
    """A chat follows a topic (or ``ALL_NEWS``).

    In a supergroup with topics (a forum), ``thread_id`` is the forum thread the topic's alerts
    go to: the one its ``/subscribe`` was typed in (None: the General topic). The dispatcher
    reads it when it sends, so an alert waiting in the outbox goes where the topic goes then.
    """

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_topic", "topic", "chat_id"),)

    chat_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)


# A watch's phrase as typed (/watch) is at most this many characters. Its folded form may be
# longer (folding spells "ß" as "ss", "ﬁ" as "fi"): psgbot.watches refuses one past its column.
WATCH_PHRASE_MAX = 100
WATCH_WORDS_MAX = 400


class Watch(Base):
    """A chat watches words or a phrase (/watch): items containing them alert it, whatever their
    topics. ``words`` is the phrase folded as psgbot.watches matches it, one per chat; its index
    lets a fan-out find every chat watching a phrase."""

    __tablename__ = "watches"
    __table_args__ = (
        UniqueConstraint("chat_id", "words", name="uq_watches_chat_words"),
        Index("ix_watches_words", "words", "chat_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("chats.id", ondelete="CASCADE"))
    phrase: Mapped[str] = mapped_column(String(WATCH_PHRASE_MAX))
    words: Mapped[str] = mapped_column(String(WATCH_WORDS_MAX))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Admin(Base):
    """Someone who may speak in the PSG's name: an owner (PSGBOT_ADMINS) or an editor."""

    __tablename__ = "admins"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    role: Mapped[Role] = mapped_column(str_enum(Role))
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Broadcast(Base):
    """An announcement to many chats; its messages go through the outbox like alerts.

    ``audience`` is "all", "topic:<slug>" or "chat:<id>". The message is either HTML text
    (``parse_mode`` "HTML", from the command line) or text with the admin's own Telegram
    ``entities`` (JSON), or a photo (``photo_file_id``) with that text as caption. It is written
    in ``language``; ``translation`` (with ``translation_entities``), when given, is the same
    message in the other language, for the chats that speak it.
    """

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_status", "status", "scheduled_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    audience: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text, default="")
    entities: Mapped[str | None] = mapped_column(Text)
    parse_mode: Mapped[str | None] = mapped_column(String(20))
    photo_file_id: Mapped[str | None] = mapped_column(String(500))
    language: Mapped[Language] = mapped_column(
        str_enum(Language, 8), default=Language.EN, server_default=Language.EN.value
    )
    translation: Mapped[str | None] = mapped_column(Text)
    translation_entities: Mapped[str | None] = mapped_column(Text)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # Pin it in the groups it reaches (urgent broadcasts only); pins Telegram refused (the bot
    # may not pin there) are counted, the messages themselves counting as delivered.
    pin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    pins_refused: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status: Mapped[BroadcastStatus] = mapped_column(
        str_enum(BroadcastStatus), default=BroadcastStatus.SCHEDULED
    )
    scheduled_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    # Outcomes of this broadcast's messages whose outbox rows the retention purge deleted
    # (psgbot.retention): its figures are these plus the rows still stored.
    rolled_up_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rolled_up_failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rolled_up_blocked: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rolled_up_cancelled: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class TextVersion(Base):
    """An admin's edit of a standing text in one language; the newest version of each language
    wins, ``reset`` means the default."""

    __tablename__ = "text_versions"
    __table_args__ = (Index("ix_text_versions_name", "name", "language", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    language: Mapped[Language] = mapped_column(
        str_enum(Language, 8), default=Language.EN, server_default=Language.EN.value
    )
    body: Mapped[str | None] = mapped_column(Text)
    reset: Mapped[bool] = mapped_column(Boolean, default=False)
    edited_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class AuditEntry(Base):
    """One admin action, kept for accountability."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[AuditAction] = mapped_column(str_enum(AuditAction, length=50))
    detail: Mapped[str] = mapped_column(Text, default="")


class Reminder(Base):
    """A chat asked to be reminded of an event (and told if it changes)."""

    __tablename__ = "reminders"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
