"""The storage tests start from empty databases: they run the migrations themselves."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from support.postgres import PostgresServer


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, or a new database on the session's server."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'psgbot.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return await server.create_database(f"t_{uuid.uuid4().hex[:12]}")
