"""The async engine and session factory, with SQLite tuned for a bot that writes from tasks."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000
READ_ONLY_OPTION = "psgbot_read_only"


def create_engine(url: str, *, immediate_transactions: bool = True) -> AsyncEngine:
    """Creates the engine; for SQLite, makes the file (owner only) and turns on WAL and a busy
    timeout.

    WAL lets readers (commands) go on while the poller writes; the busy timeout makes a writer
    wait for the lock instead of failing at once with "database is locked". Transactions begin
    IMMEDIATE (taking the write lock up front, waiting for it within the busy timeout): a
    transaction that started as a read cannot later upgrade to a write while another writer
    is active, and SQLite would fail it at once instead of waiting. Read-only sessions (see
    :func:`create_read_session_factory`) begin none.
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        # aiosqlite logs every call at DEBUG with its parameters (feed URLs with their
        # credentials, supporters' chat ids): a DEBUG run must not print those.
        logging.getLogger("aiosqlite").setLevel(logging.INFO)
        if parsed.database and parsed.database != ":memory:":
            create_private_file(Path(parsed.database))
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs["pool_pre_ping"] = True
    # Errors quote no parameters: they reach the logs, and a parameter can be a feed URL with its
    # credentials, or a supporter's chat id.
    engine = create_async_engine(url, hide_parameters=True, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
        if immediate_transactions:
            event.listen(engine.sync_engine, "connect", _driver_leaves_transactions_to_us)
            event.listen(engine.sync_engine, "begin", _begin_immediate)
    return engine


def create_private_file(path: Path) -> None:
    """Creates the SQLite file readable by its owner only (0600; a new folder 0700), or
    tightens an existing one: it holds who follows what.

    SQLite gives its -wal and -shm files the mode of the database file.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT, 0o600))
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        try:
            path.chmod(mode & 0o700)
        except OSError as exc:
            log.warning("cannot make %s private (mode %o): %s", path, mode, exc)


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _driver_leaves_transactions_to_us(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def _begin_immediate(connection: Any) -> None:
    # Readers (see create_read_session_factory) begin no transaction: each statement reads on
    # its own, never taking the write lock, so a long write (a large fan-out) does not hold
    # up /latest.
    if not connection.get_execution_options().get(READ_ONLY_OPTION):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def create_read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for reading only, each statement on its own (autocommit): no BEGIN and no
    ROLLBACK round trips, and on SQLite never the write lock (WAL lets them read beside a
    writer). Statements of one session may see different moments; nothing here needs more.
    A write in one is a bug (on SQLite it may fail at once with "database is locked")."""
    options: dict[str, Any] = {READ_ONLY_OPTION: True}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "AUTOCOMMIT"
    return async_sessionmaker(engine.execution_options(**options), expire_on_commit=False)


def dialect_insert(session: AsyncSession) -> Any:
    """The dialect's INSERT construct, for ON CONFLICT DO NOTHING on SQLite and PostgreSQL alike."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"
