"""The database URLs operators and hosting providers hand out work as they are given."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def plain_forms(database_url: str) -> list[str]:
    """The test database's URL without psgbot's async driver, as a provider would write it."""
    if database_url.startswith("sqlite+aiosqlite://"):
        return [database_url.replace("sqlite+aiosqlite://", "sqlite://", 1)]
    rest = database_url.removeprefix("postgresql+asyncpg://")
    return [f"postgresql://{rest}", f"postgres://{rest}?sslmode=disable"]


def test_plain_url_migrates_the_database(database_url: str, tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PSGBOT_")}
    for url in plain_forms(database_url):
        result = subprocess.run(
            [sys.executable, "-m", "psgbot", "db", "upgrade"],
            cwd=tmp_path,
            env={**env, "PSGBOT_DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("database at revision 0"), result.stdout
        assert "Traceback" not in result.stderr


def test_sqlite_url_relative_to_the_working_folder(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PSGBOT_")}
    result = subprocess.run(
        [sys.executable, "-m", "psgbot", "db", "upgrade"],
        cwd=tmp_path,
        env={**env, "PSGBOT_DATABASE_URL": "sqlite:///var/x.db"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "var" / "x.db").is_file()
