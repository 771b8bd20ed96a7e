"""Which instance polls the feeds when several run against one PostgreSQL database.

Every instance may dispatch (claims use SKIP LOCKED), but only one should poll, or each feed
would be fetched once per instance. The poller is whoever holds a PostgreSQL advisory lock on a
connection it keeps open; if that process dies, its connection closes, the server releases the
lock, and another instance takes it at its next attempt. With SQLite there is one instance,
which always polls.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

# Any constant shared by all instances; "psgbot" as a number.
POLL_LOCK_KEY = 0x7073_6762_6F74


class PollLeadership:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._connection: AsyncConnection | None = None
        self._asking = asyncio.Lock()
        self.single_instance = engine.dialect.name != "postgresql"

    @property
    def held(self) -> bool:
        return self.single_instance or self._connection is not None

    async def acquire(self) -> bool:
        """Takes the poller's role if it is free; True when this instance holds it."""
        # Each feed's job asks; jobs due together must not share the lock's connection (asyncpg
        # refuses two queries at once on one connection) nor open a second one.
        async with self._asking:
            return await self._acquire()

    async def _acquire(self) -> bool:
        if self.held:
            return await self._still_held()
        connection = await self.engine.connect()
        try:
            taken = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": POLL_LOCK_KEY}
            )
            await connection.commit()
        except Exception:
            await connection.close()
            raise
        if taken:
            self._connection = connection
            log.info("this instance now polls the feeds")
            return True
        await connection.close()
        return False

    async def _still_held(self) -> bool:
        """Checks the lock's connection is alive; a dropped one loses the role."""
        if self.single_instance or self._connection is None:
            return True
        try:
            await self._connection.scalar(text("SELECT 1"))
            await self._connection.commit()
            return True
        except Exception:
            log.warning("lost the poller's lock connection; another instance may take over")
            await self._drop()
            return False

    async def release(self) -> None:
        if self._connection is not None:
            try:
                await self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": POLL_LOCK_KEY}
                )
                await self._connection.commit()
            finally:
                await self._drop()

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await connection.close()
            except Exception:  # the connection is already gone; nothing to release
                log.debug("closing the lock connection failed", exc_info=True)
