"""Which instance is active when several share one PostgreSQL database.

The active instance is whoever holds a PostgreSQL session advisory lock, on a connection it keeps
open for as long as it is active. A process that dies (a crash, SIGKILL, the OOM killer) has its
connection closed by the kernel, the server ends the session and frees the lock, and a standby
takes it at its next try. A host that vanishes without closing anything (power loss, a network
partition) is noticed by the server's TCP keepalive, set short on this connection only. With
SQLite there is one instance, which is always active.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

# Any constant shared by all instances; "psgbot" as a number. The key that chose the feed poller
# in earlier versions, so that old and new instances exclude each other during an upgrade.
ACTIVE_LOCK_KEY = 0x7073_6762_6F74
# The server drops the lock's connection after idle + interval x count seconds of silence from a
# vanished host (13 s), instead of the operating system's two hours. Longer than an active
# instance needs to notice the same silence and stop (its check interval, at most 5 s, plus the
# statement timeout, 5 s), so that a partition never leaves two instances taking updates.
KEEPALIVE = ("tcp_keepalives_idle = 5", "tcp_keepalives_interval = 2", "tcp_keepalives_count = 4")
TAKE = text("SELECT pg_try_advisory_lock(:key)").bindparams(key=ACTIVE_LOCK_KEY)
FREE = text("SELECT pg_advisory_unlock(:key)").bindparams(key=ACTIVE_LOCK_KEY)
# A short statement on the lock's connection: an answer proves the session, and the lock, live.
PING = text("SELECT 1")


class ActiveLock:
    """The active role. One task at a time asks (asyncpg refuses two queries on one connection).

    ``timeout`` bounds every statement on the lock's connection: a connection that does not
    answer within it counts as lost.
    """

    def __init__(self, engine: AsyncEngine, *, timeout: float = 5.0) -> None:
        self.engine = engine
        self.timeout = timeout
        self.single_instance = engine.dialect.name != "postgresql"
        self._connection: AsyncConnection | None = None
        self._held = False

    @property
    def held(self) -> bool:
        return self.single_instance or self._held

    async def try_take(self) -> bool:
        """Takes the lock if it is free; True while this instance holds it."""
        if self.held:
            return await self.still_held()
        try:
            connection = self._connection or await self._connect()
            taken = bool(await self._ask(connection, TAKE))
        except Exception as exc:  # the database is unreachable: still standby, try again later
            log.warning("could not ask for the active lock: %s", type(exc).__name__)
            await self._drop()
            return False
        if taken:
            self._held = True
            log.info("this instance is now active")
        return taken

    async def still_held(self) -> bool:
        """Whether the lock's connection still answers; a lost or silent one loses the role."""
        if self.single_instance:
            return True
        if self._connection is None or not self._held:
            return False
        try:
            await self._ask(self._connection, PING)
            return True
        except Exception as exc:  # whatever broke, the server may have freed the lock
            log.warning("lost the active lock's connection (%s)", type(exc).__name__)
            await self._drop()
            return False

    async def release(self) -> None:
        """Frees the lock (if held) and closes its connection."""
        connection = self._connection
        if connection is None:
            return
        try:
            if self._held:
                await self._ask(connection, FREE)
        finally:
            await self._drop()

    async def _connect(self) -> AsyncConnection:
        connection = await self.engine.connect()
        try:
            async with asyncio.timeout(self.timeout):
                for setting in KEEPALIVE:
                    await connection.execute(text(f"SET {setting}"))
                await connection.commit()
        except BaseException:
            await connection.close()
            raise
        self._connection = connection
        return connection

    async def _ask(self, connection: AsyncConnection, statement: TextClause) -> object:
        async with asyncio.timeout(self.timeout):
            value = await connection.scalar(statement)
            await connection.commit()
        return value

    async def _drop(self) -> None:
        connection, self._connection, self._held = self._connection, None, False
        if connection is None:
            return
        try:
            # Never back to the pool: its session may still hold the lock, or be half-broken.
            await connection.invalidate()
            await connection.close()
        except Exception:  # the connection is already gone; nothing to release
            log.debug("closing the lock connection failed", exc_info=True)
