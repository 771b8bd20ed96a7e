"""What every handler and job shares, created once per process and closed at shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram.ext import Application, CallbackContext

from psgbot.config import Settings
from psgbot.db.engine import (
    create_engine,
    create_read_session_factory,
    create_session_factory,
)
from psgbot.db.types import utcnow
from psgbot.feeds.fetch import FeedClient, http_client
from psgbot.leader import ActiveLock
from psgbot.texts import StandingText, load_texts
from psgbot.topics import Taxonomy

SERVICES_KEY = "services"


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # For reading only: on SQLite these never wait for (or hold) the write lock.
    reads: async_sessionmaker[AsyncSession]
    taxonomy: Taxonomy
    texts: dict[str, StandingText]
    http: FeedClient
    # Whether this instance is the active one (psgbot.topology); always, on SQLite.
    leadership: ActiveLock
    # Longest a whole feed fetch may take (a server dripping bytes stays under read timeouts).
    fetch_deadline: float = 60.0
    # Polls of one feed never overlap (scheduled job, /poll, CLI in the same process).
    feed_locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    # Called after outbox rows are committed, so an idle dispatcher sends them at once.
    wake_dispatcher: Callable[[], None] = lambda: None
    # The time as chats' settings are changed and shown (tests set it instead of waiting).
    clock: Callable[[], datetime] = utcnow

    def feed_lock(self, source: str) -> asyncio.Lock:
        return self.feed_locks.setdefault(source, asyncio.Lock())

    @classmethod
    def create(cls, settings: Settings) -> Services:
        engine = create_engine(settings.sqlalchemy_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=create_session_factory(engine),
            reads=create_read_session_factory(engine),
            taxonomy=Taxonomy.load(settings.data_dir / "topics.yaml"),
            texts=load_texts(settings.data_dir / "texts.yaml"),
            http=http_client(proxy=settings.http_proxy, allow_private=settings.feeds_allow_private),
            leadership=ActiveLock(engine),
        )

    async def close(self) -> None:
        await self.leadership.release()
        await self.http.aclose()
        await self.engine.dispose()


def services_of(application: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    return cast(Services, application.bot_data[SERVICES_KEY])


def get_services(context: CallbackContext[Any, Any, Any, Any]) -> Services:
    """The process's services, from handlers and jobs alike."""
    return services_of(context.application)


def attach(application: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    application.bot_data[SERVICES_KEY] = services
