"""The scheduled purge of inactive chats: registered at start (on the active instance only:
tests/test_topology.py)."""

from __future__ import annotations

from datetime import timedelta

from conftest import make_settings
from sqlalchemy import select
from support.transport import RecordingBotApi

from psgbot.app import PRIVACY_JOB, build_application, running
from psgbot.db.models import Chat, Subscription
from psgbot.db.types import utcnow
from psgbot.services import Services


async def add_inactive_chat(services: Services, chat_id: int, days: int) -> None:
    async with services.sessions.begin() as session:
        since = utcnow() - timedelta(days=days)
        session.add(
            Chat(
                id=chat_id,
                type="private",
                active=False,
                inactive_reason="blocked",
                inactive_since=since,
            )
        )
        await session.flush()
        session.add(Subscription(chat_id=chat_id, topic="justice"))


async def stored_chats(services: Services) -> set[int]:
    async with services.reads() as session:
        return set(await session.scalars(select(Chat.id)))


async def test_the_running_bot_forgets_inactive_chats_from_its_job(database_url: str) -> None:
    services = Services.create(make_settings(database_url, inactive_retention="P30D"))
    app = build_application(services, request=RecordingBotApi())
    async with running(app):
        assert app.job_queue is not None
        (job,) = app.job_queue.get_jobs_by_name(PRIVACY_JOB)
        await add_inactive_chat(services, 1, days=31)
        await add_inactive_chat(services, 2, days=29)
        await job.run(app)
        assert await stored_chats(services) == {2}
