"""Applies the Alembic migrations from code, on start and by ``psgbot db upgrade``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from psgbot.db.engine import create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_KEY = 0x7073_6762_6F75


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Brings the database to ``revision`` over the engine's own connection."""

    def run(connection: Connection) -> None:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    if engine.dialect.name == "sqlite":
        # SQLite alters a table by copying it, dropping the old one and renaming the copy; with
        # foreign keys enforced, dropping a parent table would cascade-delete its children
        # (every item with its feed). The pragma only works outside a transaction, so this
        # engine leaves transactions to the driver (no BEGIN before the pragma).
        migrating = create_engine(
            engine.url.render_as_string(hide_password=False), immediate_transactions=False
        )
        try:
            async with migrating.connect() as connection:
                await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                await connection.run_sync(run)
                await connection.commit()
        finally:
            await migrating.dispose()
        return
    async with engine.begin() as connection:
        # Instances starting together migrate one after the other, not over each other.
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
        )
        await connection.run_sync(run)


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)
