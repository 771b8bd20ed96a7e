"""Health and metrics over HTTP on their own port: ``/healthz`` and ``/metrics`` (Prometheus).

Served by tornado (which python-telegram-bot's webhook mode already uses) on the bot's own event
loop, in polling and webhook mode alike.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypedDict

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import func, select, text
from tornado.httpserver import HTTPServer
from tornado.web import Application, RequestHandler

from psgbot.db.models import Chat, Feed, Subscription
from psgbot.db.types import utcnow
from psgbot.outbox import outbox_depth
from psgbot.services import Services

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
ALERTS_SENT = Counter(
    "psgbot_alerts_sent", "Messages Telegram accepted, by kind", ["kind"], registry=REGISTRY
)
ALERTS_FAILED = Counter(
    "psgbot_alerts_failed",
    "Messages that failed for good, by reason",
    ["kind", "reason"],
    registry=REGISTRY,
)
PINS = Counter(
    "psgbot_pins",
    "Urgent broadcasts pinned in groups, and pins Telegram refused (the bot may not pin there)",
    ["outcome"],
    registry=REGISTRY,
)
DELIVERY_LATENCY = Histogram(
    "psgbot_delivery_latency_seconds",
    "From an item being stored to its alert being sent",
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
    registry=REGISTRY,
)
FEED_FETCH = Histogram(
    "psgbot_feed_fetch_seconds", "Feed fetch and parse duration", ["feed"], registry=REGISTRY
)
FEED_ERRORS = Counter("psgbot_feed_errors", "Failed feed polls", ["feed"], registry=REGISTRY)
COMMANDS = Counter("psgbot_commands", "Commands handled, by name", ["command"], registry=REGISTRY)
OUTBOX_DEPTH = Gauge("psgbot_outbox_depth", "Rows waiting in the outbox", registry=REGISTRY)
ACTIVE_CHATS = Gauge("psgbot_active_chats", "Chats the bot may send to", registry=REGISTRY)
SUBSCRIBERS = Gauge(
    "psgbot_subscribers", "Active chats following a topic", ["topic"], registry=REGISTRY
)


def failure_reason(error: str | None) -> str:
    """A bounded label for a failure (Prometheus labels must not be free text)."""
    lowered = (error or "").lower()
    for reason in (
        "blocked",
        "chat not found",
        "gave up",
        "kicked",
        "deactivated",
        "stopped",
        "parse",
    ):
        if reason in lowered:
            return reason.replace(" ", "_")
    return "other"


class HealthReport(TypedDict, total=False):
    """The JSON /healthz answers with."""

    status: str
    reason: str
    database: str
    scheduler: str
    last_successful_poll: str | None


@dataclass
class HealthProbe:
    """What /healthz checks: the instance is the active one, the database answers, the
    scheduler runs, polls are recent.

    A standby instance is never healthy: a load balancer must send it nothing.
    """

    services: Services
    scheduler_running: Callable[[], bool]
    # Since when the instance has been active: its first poll is given time from then.
    started: float
    active: Callable[[], bool] = lambda: True

    async def check(self) -> tuple[bool, HealthReport]:
        if not self.active():
            return False, {"status": "standby"}
        report: HealthReport = {}
        try:
            async with self.services.sessions() as session:
                await session.execute(text("SELECT 1"))
                last_poll = await session.scalar(select(func.max(Feed.last_success_at)))
        except Exception as exc:  # any database failure is the answer here
            return False, {"status": "unhealthy", "reason": f"database: {type(exc).__name__}"}
        report["database"] = "ok"
        if not self.scheduler_running():
            return False, {"status": "unhealthy", "reason": "scheduler not running", **report}
        report["scheduler"] = "running"
        interval = self.services.settings.effective_poll_interval
        allowed = timedelta(seconds=max(3 * interval, 900))
        report["last_successful_poll"] = last_poll.isoformat() if last_poll else None
        warming_up = time.monotonic() - self.started < allowed.total_seconds()
        if (last_poll is None or utcnow() - last_poll > allowed) and not warming_up:
            return False, {"status": "unhealthy", "reason": "no successful poll recently", **report}
        return True, {"status": "ok", **report}


async def refresh_gauges(services: Services) -> None:
    async with services.reads() as session:
        OUTBOX_DEPTH.set(await outbox_depth(session))
        ACTIVE_CHATS.set(
            int(
                await session.scalar(
                    select(func.count()).select_from(Chat).where(Chat.active.is_(True))
                )
                or 0
            )
        )
        rows = await session.execute(
            select(Subscription.topic, func.count())
            .join(Chat, Chat.id == Subscription.chat_id)
            .where(Chat.active.is_(True))
            .group_by(Subscription.topic)
        )
        for topic, count in rows:
            SUBSCRIBERS.labels(topic=topic).set(count)


class HealthHandler(RequestHandler):
    def initialize(self, probe: HealthProbe) -> None:
        self.probe = probe

    async def get(self) -> None:
        healthy, report = await self.probe.check()
        self.set_status(200 if healthy else 503)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(report))


class MetricsHandler(RequestHandler):
    def initialize(self, services: Services) -> None:
        self.services = services

    async def get(self) -> None:
        try:
            await refresh_gauges(self.services)
        except Exception:  # stale gauges beat no metrics at all
            log.warning("could not refresh gauges", exc_info=True)
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest(REGISTRY))


def start_http(probe: HealthProbe, port: int, address: str = "0.0.0.0") -> HTTPServer:
    """Starts the health and metrics server on the running event loop."""
    app = Application(
        [
            (r"/healthz", HealthHandler, {"probe": probe}),
            (r"/metrics", MetricsHandler, {"services": probe.services}),
        ]
    )
    server = HTTPServer(app)
    server.listen(port, address)
    return server
