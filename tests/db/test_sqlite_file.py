"""The SQLite file holds who follows what: only its owner may read it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from psgbot.db.engine import create_engine


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most shells have (022), which leaves new files world-readable."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("usual_umask")
async def test_new_database_file_and_folder_are_private(tmp_path: Path) -> None:
    path = tmp_path / "var" / "psgbot.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (x INTEGER)"))
        await connection.execute(text("INSERT INTO t VALUES (1)"))
        assert mode(path) == 0o600
        assert mode(path.parent) == 0o700
        wal = path.with_name(path.name + "-wal")
        assert wal.exists()
        assert mode(wal) == 0o600
    await engine.dispose()


@pytest.mark.usefixtures("usual_umask")
async def test_existing_readable_database_file_is_tightened(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    path = folder / "psgbot.db"
    path.touch()
    path.chmod(0o644)
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    await engine.dispose()
    assert mode(path) == 0o600
    assert mode(folder) == 0o755, "a folder psgbot did not make is left as it was"
