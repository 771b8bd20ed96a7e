"""Active and standby in one process: a standby builds nothing, runs no job and takes no update
until it holds the lock; the active one steps down when it loses the lock's connection.

The same with real processes and a fake Telegram over HTTP: tests/production/test_instances.py.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import pytest
from conftest import make_settings
from sqlalchemy import text
from support.postgres import PostgresServer
from support.transport import RecordingBotApi

from psgbot.app import DISPATCHER_KEY, PRIVACY_JOB, RETENTION_JOB, BotApplication
from psgbot.db.engine import create_engine
from psgbot.services import Services
from psgbot.topology import Instance

pytestmark = pytest.mark.serial  # measures time, or starts whole instances

# Fast tries, so that the test takes seconds; production's default is 3 s.
RETRY = 0.5


class RecordedSource:
    """Updates from nowhere; records, in one list shared by the instances, when each started
    and stopped taking them."""

    polling = False

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    @property
    def events(self) -> list[str]:
        return [event for event in self.log if event.startswith(self.name)]

    async def start(self, application: BotApplication) -> None:
        self.log.append(f"{self.name} start")

    async def stop(self) -> None:
        self.log.append(f"{self.name} stop")


async def eventually(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def job_names(instance: Instance) -> set[str]:
    application = instance.application
    if application is None or application.job_queue is None:
        return set()
    return {job.name or "" for job in application.job_queue.jobs()}


async def terminate_lock_holder(url: str) -> int:
    """Ends the server session holding the active lock, as a dropped connection would."""
    engine = create_engine(url)
    async with engine.begin() as connection:
        ended = await connection.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory'"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )
    await engine.dispose()
    return int(ended or 0)


def start(
    url: str, name: str, log: list[str]
) -> tuple[Instance, RecordedSource, asyncio.Event, asyncio.Task[None]]:
    source = RecordedSource(name, log)
    services = Services.create(make_settings(url, standby_retry=RETRY))
    instance = Instance(services, source, request=RecordingBotApi())
    stop = asyncio.Event()
    return instance, source, stop, asyncio.create_task(instance.run(stop))


@pytest.mark.postgres
async def test_a_standby_runs_nothing_until_the_active_instance_lets_go(
    postgres_server: PostgresServer,
) -> None:
    url = await postgres_server.create_database(f"t_{uuid.uuid4().hex[:12]}")
    log: list[str] = []
    first, _first_source, first_stop, first_task = start(url, "first", log)
    await eventually(first.is_active, 30, "the first instance to become active")
    second, second_source, second_stop, second_task = start(url, "second", log)
    try:
        await asyncio.sleep(4 * RETRY)
        assert not second.is_active()
        assert second.application is None, "a standby builds no Application: no job, no update"
        assert second_source.events == []
        assert await second.probe.check() == (False, {"status": "standby"})
        healthy, report = await first.probe.check()
        assert healthy, report
        assert {RETENTION_JOB, PRIVACY_JOB} <= job_names(first)
        assert first.application is not None
        assert DISPATCHER_KEY in first.application.bot_data

        # The server ends the lock's session while its instance lives (a database restart, a
        # proxy dropping the connection): the standby takes the lock, and takes updates only
        # once the old holder has noticed and stopped taking them.
        assert await terminate_lock_holder(url) == 1
        await eventually(second.is_active, 10, "the standby to take over")
        assert not first.is_active()
        assert log == ["first start", "first stop", "second start"]
        assert {RETENTION_JOB, PRIVACY_JOB} <= job_names(second)
        assert job_names(first) == set()

        # A clean stop frees the lock once updates have stopped; the other takes over.
        second_stop.set()
        await asyncio.wait_for(second_task, 30)
        await eventually(first.is_active, 10, "the first instance to take over again")
        assert log[3:] == ["second stop", "first start"]
    finally:
        for instance, stop, task in (
            (first, first_stop, first_task),
            (second, second_stop, second_task),
        ):
            stop.set()
            await asyncio.wait_for(task, 30)
            await instance.services.close()


async def test_with_sqlite_the_one_instance_is_always_active(sqlite_url: str) -> None:
    log: list[str] = []
    instance, _source, stop, task = start(sqlite_url, "only", log)
    try:
        await eventually(instance.is_active, 30, "the instance to become active")
        assert log == ["only start"]
        healthy, report = await instance.probe.check()
        assert healthy, report
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await instance.services.close()
    assert log == ["only start", "only stop"]
