"""No alert lost, duplicates bounded: dispatchers killed mid-fan-out, and two at once."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from support.postgres import PostgresServer

from psgbot.chats import follow
from psgbot.db.engine import create_engine, create_session_factory
from psgbot.db.enums import DeliveryStatus
from psgbot.db.migrate import upgrade
from psgbot.db.models import Chat, Delivery, Feed, Item, ItemTopic
from psgbot.db.types import utcnow
from psgbot.outbox import (
    Outcome,
    claim_due,
    enqueue_alerts,
    outbox_depth,
    renew_claims,
    settle,
)

WORKER = Path(__file__).parents[1] / "support" / "dispatch_worker.py"
SUBSCRIBERS = 400
BATCH = 40


async def fan_out_one_item(database_url: str, subscribers: int) -> None:
    """Stores one item followed by every chat and writes its alert rows."""
    engine = create_engine(database_url)
    await upgrade(engine)
    sessions = create_session_factory(engine)
    now = utcnow()
    async with sessions.begin() as session:
        session.add_all(Chat(id=chat_id, type="private") for chat_id in range(1, subscribers + 1))
        await session.flush()
        for chat_id in range(1, subscribers + 1):
            await follow(session, chat_id, ["justice"])
        feed = Feed(source="crash-test")
        session.add(feed)
        await session.flush()
        item = Item(
            feed_id=feed.id,
            key="k",
            title="Court ruling",
            summary="",
            sort_at=now,
            topics=[ItemTopic(topic="justice")],
        )
        session.add(item)
        await session.flush()
        assert await enqueue_alerts(session, [item.id], now) == subscribers
    await engine.dispose()


def start_worker(
    database_url: str, log: Path, *, together: int = 1, lease: float = 0.5
) -> subprocess.Popen[bytes]:
    """A dispatcher process; the short default lease makes a killed worker's rows quick to take
    over."""
    errors = log.with_suffix(".stderr").open("ab")
    return subprocess.Popen(
        [
            sys.executable,
            str(WORKER),
            database_url,
            str(log),
            "--batch",
            str(BATCH),
            "--lease",
            str(lease),
            "--together",
            str(together),
        ],
        stdout=subprocess.DEVNULL,
        stderr=errors,
    )


def worker_errors(log: Path) -> str:
    return log.with_suffix(".stderr").read_text()


def received(log: Path) -> Counter[int]:
    return Counter(int(line.split()[0]) for line in log.read_text().splitlines())


async def pending(database_url: str) -> int:
    engine = create_engine(database_url)
    async with create_session_factory(engine)() as session:
        depth = await outbox_depth(session)
    await engine.dispose()
    return depth


@pytest.mark.reliability
async def test_killed_dispatcher_loses_nothing(database_url: str, tmp_path: Path) -> None:
    """Each worker is killed once it has sent some of its first batches; a kill counts as
    mid-send only if that worker had sent and rows were left, and most must be."""
    await fan_out_one_item(database_url, SUBSCRIBERS)
    log = tmp_path / "sent.log"
    log.touch()
    rng = random.Random(20261127)
    landed: list[str] = []
    for _trial in range(4):
        before = len(log.read_text().splitlines())
        worker = start_worker(database_url, log)
        some = before + rng.randint(1, BATCH * 2)
        for _wait in range(3000):  # a hang guard, not a measure
            await asyncio.sleep(0.01)
            if len(log.read_text().splitlines()) >= some or worker.poll() is not None:
                break
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        sent = len(log.read_text().splitlines()) - before
        if worker.returncode != -signal.SIGKILL:
            landed.append("finished")
        elif sent and await pending(database_url):
            landed.append("mid-send")
        else:
            landed.append("before sending" if not sent else "after the last send")
    final = start_worker(database_url, log)
    assert final.wait(timeout=120) == 0, worker_errors(log)
    counts = received(log)
    missing = [chat for chat in range(1, SUBSCRIBERS + 1) if counts[chat] == 0]
    duplicates = sum(count - 1 for count in counts.values())
    kills = sum(1 for where in landed if where != "finished")
    print(f"crash test: kills landed {landed}, {len(missing)} lost, {duplicates} duplicated")
    assert landed.count("mid-send") >= 3, landed
    assert missing == []
    assert duplicates <= kills * BATCH
    assert "Traceback" not in worker_errors(log)


async def test_two_dispatchers_deliver_each_alert_exactly_once(
    database_url: str, tmp_path: Path
) -> None:
    """Two dispatcher processes on one outbox: PostgreSQL's SKIP LOCKED and SQLite's single
    writer each give every row to one of them."""
    url = database_url
    await fan_out_one_item(url, SUBSCRIBERS)
    log = tmp_path / "sent.log"
    # Live workers renew their leases; a lease as short as the crash tests' (below the
    # PSGBOT_CLAIM_LEASE minimum) would let a busy machine's late renewal look like a death.
    workers = [start_worker(url, log, together=2, lease=5) for _ in range(2)]
    for worker in workers:
        assert worker.wait(timeout=120) == 0, worker_errors(log)
    counts = received(log)
    assert sorted(counts) == list(range(1, SUBSCRIBERS + 1))
    assert set(counts.values()) == {1}, "no row sent by both"
    senders = Counter(line.split()[1] for line in log.read_text().splitlines())
    assert len(senders) == 2, f"both dispatchers should have sent: {senders}"
    assert "Traceback" not in worker_errors(log)


async def test_renewing_leases_does_not_wait_for_rows_being_settled(
    postgres_server: PostgresServer,
) -> None:
    """PostgreSQL's row locks (SQLite has one writer, so no such wait): while a settle of one
    claimed row is still open, renewing the worker's other leases goes ahead. Waiting for that
    row instead let a renewal and a settle lock rows in opposite orders and deadlock (seen in
    bench/scale.py at a million alerts)."""
    url = await postgres_server.create_database("renew_skips_locked")
    await fan_out_one_item(url, 20)
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    claimed_at = utcnow()
    async with sessions.begin() as session:
        claimed = await claim_due(session, "w1", 20, claimed_at, timedelta(seconds=60))
    settling = sessions()
    try:
        await settling.begin()
        first = claimed[0].id
        await settle(settling, "w1", [Outcome(first, DeliveryStatus.SENT, message_id=1)], utcnow())

        renewed_at = claimed_at + timedelta(seconds=20)
        async with sessions.begin() as session:
            await asyncio.wait_for(renew_claims(session, "w1", renewed_at), timeout=30)
        await settling.commit()
    finally:
        await settling.close()

    async with sessions() as session:
        rows = {row.id: row for row in await session.scalars(select(Delivery))}
    await engine.dispose()
    assert rows[first].status == DeliveryStatus.SENT
    assert {rows[row.id].claimed_at for row in claimed[1:]} == {renewed_at}
