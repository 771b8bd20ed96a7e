"""Fixtures: settings on a temp database, the running bot on the recording transport, servers."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

sys.path.insert(0, str(Path(__file__).parent))

from support.feed_server import FeedServer
from support.harness import BotHarness
from support.postgres import PostgresServer
from support.transport import WATCHED, RecordingBotApi

from psgbot.app import DISPATCHER_KEY, build_application, prepare_storage, running
from psgbot.config import DEFAULT_DATA_DIR, Settings, load_settings
from psgbot.db.engine import create_engine
from psgbot.db.migrate import upgrade
from psgbot.feeds.poll import poll_all
from psgbot.offline_updates import UpdateFactory
from psgbot.services import Services

# CI replays the same examples on every run, so a landing never hangs on a lucky draw;
# developers' runs draw new ones and so keep finding new cases.
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

SAMPLE_FEED = DEFAULT_DATA_DIR / "sample" / "psg-news.xml"


def skips_allowed() -> bool:
    """A skipped test fails the run unless a developer allows skips (PSGBOT_ALLOW_SKIPS=1);
    never in CI (CI=true), where every test must have run."""
    return os.environ.get("PSGBOT_ALLOW_SKIPS") == "1" and not os.environ.get("CI")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped and not skips_allowed():
        terminalreporter.section("skipped tests fail this run", sep="=", red=True, bold=True)
        for report in skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
            terminalreporter.line(f"SKIPPED {report.nodeid}: {reason}")
        terminalreporter.line("(PSGBOT_ALLOW_SKIPS=1 allows skips on a developer's machine)")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and not skips_allowed() and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keeps a developer's PSGBOT_* variables and .env out of the tests."""
    for name in list(os.environ):
        if name.startswith("PSGBOT_") and name != "PSGBOT_REQUIRE_POSTGRES":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


RULES_LOG = "TELEGRAM_RULES_LOG"
"""Where fake Telegrams in other processes (the dispatch worker) write the violations they see."""


@pytest.fixture(autouse=True)
def telegram_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fails any test whose bot broke one of Telegram's rules (support/bot_api_rules.py) on any
    fake Telegram, in this process or another, or polled for updates twice at once (409)."""
    log = tmp_path / "telegram-rules.log"
    monkeypatch.setenv(RULES_LOG, str(log))
    yield
    broken = []
    # Every fake still alive: this test's, and longer-lived ones (test_webhook's module-wide bot,
    # whose start-up calls are reported with the first test that uses it).
    for api in list(WATCHED):
        violations, conflicts = api.reported
        broken += [str(violation) for violation in api.violations[violations:]]
        broken += [f"getUpdates: 409 {conflict}" for conflict in api.gate.conflicts[conflicts:]]
        api.reported = (len(api.violations), len(api.gate.conflicts))
    if log.exists():
        broken += log.read_text().splitlines()
    assert broken == [], "the bot broke Telegram's rules:\n" + "\n".join(broken[:20])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer()
    except FileNotFoundError as exc:
        if os.environ.get("PSGBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PSGBOT_REQUIRE_POSTGRES=1 but {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database with nothing stored, at the schema's head: a copy of one migrated once
    per test process (the same schema as migrating it here, without running 21 migrations per
    test). tests/db/ overrides it with empty databases, for the migrations themselves."""
    if request.param == "sqlite":
        path = tmp_path / "psgbot.db"
        template = await _sqlite_template(request.getfixturevalue("tmp_path_factory"))
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    template_name = await _postgres_template(server)
    return await server.create_database(f"t_{uuid.uuid4().hex[:12]}", template=template_name)


# The migrated databases copied from, per test process: SQLite's file, and per PostgreSQL
# server (by port) the template database's name.
_SQLITE_TEMPLATE: list[Path] = []
_POSTGRES_TEMPLATES: dict[int, str] = {}


async def _sqlite_template(factory: pytest.TempPathFactory) -> Path:
    if not _SQLITE_TEMPLATE:
        path = factory.mktemp("template") / "migrated.db"
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
        assert not path.with_name(path.name + "-wal").exists(), "copied whole: no WAL left"
        _SQLITE_TEMPLATE.append(path)
    return _SQLITE_TEMPLATE[0]


async def _postgres_template(server: PostgresServer) -> str:
    if server.port not in _POSTGRES_TEMPLATES:
        name = f"template_{uuid.uuid4().hex[:12]}"
        engine = create_engine(await server.create_database(name))
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()  # CREATE DATABASE … TEMPLATE needs it unconnected
        _POSTGRES_TEMPLATES[server.port] = name
    return _POSTGRES_TEMPLATES[server.port]


class FreshDatabases:
    """A new database with nothing stored per call, on one kind of database (a copy of the
    migrated template, as ``database_url``): for property tests, whose every example must
    start from nothing (examples share no state, so failures reproduce and shrink)."""

    def __init__(
        self, kind: str, factory: pytest.TempPathFactory, server: PostgresServer | None
    ) -> None:
        self.kind = kind
        self.factory = factory
        self.folder = factory.mktemp("examples")
        self.server = server

    async def new(self) -> str:
        name = f"e_{uuid.uuid4().hex[:12]}"
        if self.server is None:
            path = self.folder / f"{name}.db"
            shutil.copyfile(await _sqlite_template(self.factory), path)
            return f"sqlite+aiosqlite:///{path}"
        template = await _postgres_template(self.server)
        return await self.server.create_database(name, template=template)


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def fresh_databases(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> FreshDatabases:
    """Session-scoped (hypothesis allows it with @given), on each database in turn."""
    server = request.getfixturevalue("postgres_server") if request.param == "postgres" else None
    return FreshDatabases(request.param, tmp_path_factory, server)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file, for the few tests about SQLite itself (its file, its locks)."""
    return f"sqlite+aiosqlite:///{tmp_path / 'psgbot.db'}"


OWNER = 111
"""The owner (PSGBOT_ADMINS) in the ``settings`` every bot test runs with."""

# What supporters are offered, written out here rather than read from the list the bot builds
# its menu and /help from: a command dropped from that list must fail these tests.
PUBLIC_MENU = [
    "start",
    "latest",
    "topics",
    "search",
    "subscribe",
    "unsubscribe",
    "mysubs",
    "watch",
    "unwatch",
    "watches",
    "stop",
    "settings",
    "digest",
    "quiet",
    "timezone",
    "announcements",
    "events",
    "event",
    "aims",
    "history",
    "humanrights",
    "join",
    "privacy",
    "mydata",
    "forget",
    "language",
    "help",
]


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "feeds": [str(SAMPLE_FEED)],
        "poll_interval": 3600,
        "rate_limit": 0,
        "metrics_port": 0,
        # Test feeds are served from 127.0.0.1 (tests/support/feed_server.py).
        "feeds_allow_private": True,
        "_env_file": None,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings on each database in turn, with ``OWNER`` as the bot's owner."""
    return make_settings(database_url, admins=[OWNER])


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    services = Services.create(settings)
    await prepare_storage(services)
    yield services
    await services.close()


@asynccontextmanager
async def running_bot(
    settings: Settings, *, inline_mode: bool = False
) -> AsyncIterator[BotHarness]:
    """The real Application on the recording transport, storage ready, the feeds polled once.

    The polling jobs and the background dispatcher are stopped so that tests decide when feeds
    are read and when the outbox is sent (``harness.dispatcher.drain()``). ``inline_mode``: the
    bot's inline mode is on in BotFather (getMe says so).
    """
    api = RecordingBotApi(inline_mode=inline_mode)
    app = build_application(Services.create(settings), request=api)
    async with running(app):
        assert app.job_queue is not None
        for job in app.job_queue.jobs():
            job.schedule_removal()
        await app.bot_data[DISPATCHER_KEY].stop()
        harness = BotHarness(app, api, UpdateFactory(app.bot, telegram=api))
        await poll_all(harness.services)
        yield harness


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[BotHarness]:
    """The bot on each database in turn (see ``settings`` and ``running_bot``)."""
    async with running_bot(settings) as harness:
        yield harness


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    yield server
    server.stop()
