"""The stored world: feeds, their items and topic tags, events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from psgbot.db.types import UtcDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Feed(Base):
    """A source the bot polls: an http(s) URL or a local file path."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(2000), unique=True)
    title: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    items: Mapped[list[Item]] = relationship(back_populates="feed")


class Item(Base):
    """One news item, stored once per feed under its key (see ``psgbot.feeds.keys``)."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("feed_id", "key", name="uq_items_feed_key"),
        Index("ix_items_sort", "sort_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(512))
    guid: Mapped[str | None] = mapped_column(String(2000))
    title: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(2000))
    summary: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Newest first means: by publication date, or by first sight for undated items.
    sort_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    feed: Mapped[Feed] = relationship(back_populates="items")
    topics: Mapped[list[ItemTopic]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ItemTopic.topic"
    )

    @property
    def topic_slugs(self) -> list[str]:
        return [tag.topic for tag in self.topics]


class ItemTopic(Base):
    """A topic tag on an item; a table (not a column) so topic queries are plain joins."""

    __tablename__ = "item_topics"
    __table_args__ = (Index("ix_item_topics_topic", "topic", "item_id"),)

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(64), primary_key=True)


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
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
