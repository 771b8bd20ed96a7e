"""/healthz says 503, with the reason, whenever the bot cannot do its job."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import update

from psgbot.db.engine import create_engine
from psgbot.db.models import Feed
from psgbot.db.types import utcnow
from psgbot.metrics import HealthProbe
from psgbot.services import Services


async def test_health_reports_each_failure(services: Services) -> None:
    long_ago = time.monotonic() - 100_000  # past the start-up grace
    probe = HealthProbe(services, lambda: True, long_ago)
    healthy, report = await probe.check()
    assert not healthy
    assert report["reason"] == "no successful poll recently"

    async with services.sessions.begin() as session:
        session.add(Feed(source="f", last_success_at=utcnow() - timedelta(minutes=1)))
    healthy, report = await probe.check()
    assert healthy
    assert report["status"] == "ok"

    healthy, report = await HealthProbe(services, lambda: False, long_ago).check()
    assert not healthy
    assert report["reason"] == "scheduler not running"

    async with services.sessions.begin() as session:
        await session.execute(update(Feed).values(last_success_at=utcnow() - timedelta(days=1)))
    healthy, report = await probe.check()
    assert not healthy
    assert "no successful poll" in report["reason"]

    assert (await HealthProbe(services, lambda: True, time.monotonic()).check())[0], (
        "a fresh start is given time for its first poll"
    )

    unreachable = create_engine("postgresql+asyncpg://psgbot@127.0.0.1:1/psgbot")
    services.sessions.configure(bind=unreachable)
    healthy, report = await probe.check()
    assert not healthy
    assert report["reason"].startswith("database:")
    await unreachable.dispose()


async def test_a_standby_instance_is_never_healthy(services: Services) -> None:
    """A load balancer must send a standby nothing, however well it is."""
    async with services.sessions.begin() as session:
        session.add(Feed(source="f", last_success_at=utcnow()))
    probe = HealthProbe(services, lambda: True, time.monotonic(), active=lambda: False)
    assert await probe.check() == (False, {"status": "standby"})
