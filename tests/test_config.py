"""Settings: safe defaults, list parsing, and one clear line for a bad value."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from psgbot.config import PRODUCTION_FEED, ConfigError, load_settings

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"


def test_defaults_run_offline_on_sqlite_and_the_sample_feed() -> None:
    settings = load_settings(_env_file=None)
    assert settings.offline
    assert settings.sqlalchemy_url.startswith("sqlite+aiosqlite:///")
    assert settings.feed_sources[0].endswith("data/sample/psg-news.xml")
    assert settings.poll_interval == 300
    assert settings.timezone == "Europe/London"


def test_with_a_token_the_default_feed_is_the_psg_site(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSGBOT_TOKEN", TOKEN)
    settings = load_settings(_env_file=None)
    assert not settings.offline
    assert settings.feed_sources == [PRODUCTION_FEED]
    assert TOKEN not in repr(settings)


def test_comma_separated_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSGBOT_FEEDS", "https://a.example/feed, /tmp/b.xml,")
    monkeypatch.setenv("PSGBOT_ADMINS", "12, 34")
    settings = load_settings(_env_file=None)
    assert settings.feed_sources == ["https://a.example/feed", "/tmp/b.xml"]
    assert settings.admins == [12, 34]


def test_env_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("PSGBOT_POLL_INTERVAL=60\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings().poll_interval == 60


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PSGBOT_POLL_INTERVAL", "soon"),
        ("PSGBOT_TIMEZONE", "Mars/Olympus"),
        ("PSGBOT_ADMINS", "alice"),
        ("PSGBOT_LOG_LEVEL", "LOUD"),
        ("PSGBOT_TOKEN", "nonsense"),
        ("PSGBOT_API_BASE_URL", "localhost:8081"),
        ("PSGBOT_DELIVERY_RETENTION", "P6D"),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    message = str(caught.value)
    assert name in message
    assert "\n" not in message
    if name == "PSGBOT_TOKEN":
        assert value not in message


def test_delivery_retention_is_90_days_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(_env_file=None).delivery_retention == timedelta(days=90)
    monkeypatch.setenv("PSGBOT_DELIVERY_RETENTION", "P30D")
    assert load_settings(_env_file=None).delivery_retention == timedelta(days=30)
    monkeypatch.setenv("PSGBOT_DELIVERY_RETENTION", "P6D")
    with pytest.raises(ConfigError, match="PSGBOT_DELIVERY_RETENTION: expected at least 7 days"):
        load_settings(_env_file=None)


def test_env_example_lists_every_setting() -> None:
    from psgbot.config import PROJECT_ROOT, Settings

    example = (PROJECT_ROOT / ".env.example").read_text()
    readme = (PROJECT_ROOT / "README.md").read_text()
    for field in Settings.model_fields:
        variable = f"PSGBOT_{field.upper()}"
        assert variable in example, variable
        assert variable in readme, variable


def test_self_hosted_api_server_sets_both_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSGBOT_API_BASE_URL", "http://localhost:8081/bot")
    settings = load_settings(_env_file=None)
    assert settings.api_base_file_url == "http://localhost:8081/file/bot"


def test_console_serves_no_metrics_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(_env_file=None).effective_metrics_port == 0
    monkeypatch.setenv("PSGBOT_TOKEN", TOKEN)
    assert load_settings(_env_file=None).effective_metrics_port == 9090


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("sqlite:///var/x.db", "sqlite+aiosqlite:///var/x.db"),
        ("sqlite:////srv/psgbot/x.db", "sqlite+aiosqlite:////srv/psgbot/x.db"),
        ("sqlite+aiosqlite:///var/x.db", "sqlite+aiosqlite:///var/x.db"),
        ("postgresql://user:pw@db.example/psg", "postgresql+asyncpg://user:pw@db.example/psg"),
        (
            "postgres://user:pw@db.example:5433/psg",
            "postgresql+asyncpg://user:pw@db.example:5433/psg",
        ),
        (
            "postgresql+asyncpg://user:pw@db.example/psg",
            "postgresql+asyncpg://user:pw@db.example/psg",
        ),
        ("postgres://u:p%40ss@db.example/psg", "postgresql+asyncpg://u:p%40ss@db.example/psg"),
        (
            "postgres://u:pw@db.example/psg?sslmode=require",
            "postgresql+asyncpg://u:pw@db.example/psg?ssl=require",
        ),
    ],
)
def test_plain_database_urls_get_the_async_driver(
    monkeypatch: pytest.MonkeyPatch, given: str, used: str
) -> None:
    monkeypatch.setenv("PSGBOT_DATABASE_URL", given)
    settings = load_settings(_env_file=None)
    assert settings.sqlalchemy_url == used
    assert "pw" not in repr(settings)


@pytest.mark.parametrize(
    "url",
    [
        "mysql://psg:hunter2-secret@db.example/psg",
        "postgresql+psycopg2://psg:hunter2-secret@db.example/psg",
        "oracle://psg:hunter2-secret@db.example",
        "psg:hunter2-secret@db.example",
    ],
)
def test_unsupported_database_url_is_one_line_without_the_password(
    tmp_path: Path, url: str
) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PSGBOT_")}
    result = subprocess.run(
        [sys.executable, "-m", "psgbot", "db", "upgrade"],
        cwd=tmp_path,
        env={**env, "PSGBOT_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert output.count("\n") == 1
    assert "Traceback" not in output
    assert "PSGBOT_DATABASE_URL: expected sqlite:///" in output
    assert "postgresql://" in output
    assert "hunter2" not in output


def test_a_feed_source_too_long_to_store_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PSGBOT_FEEDS", "https://feeds.example/?" + "a" * 2000)
    with pytest.raises(ConfigError, match="PSGBOT_FEEDS: expected feed URLs or paths of at most"):
        load_settings(_env_file=None)
