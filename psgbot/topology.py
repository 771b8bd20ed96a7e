"""Active and standby: how ``psgbot run`` talks to Telegram when several instances share a database.

Exactly one instance is active: the one holding the active lock (:mod:`psgbot.leader`). Only it
builds the Application, so only it takes updates (long polling or the webhook), polls the feeds,
runs the scheduled jobs and sends from the outbox. The others stand by: they ask for the lock every
``PSGBOT_STANDBY_RETRY`` seconds, call nothing on Telegram, and answer ``/healthz`` with 503
``standby`` so that a load balancer sends them nothing.

Telegram ends a long poll when another begins on the same token (409 Conflict), so an instance
starts polling only once it holds the lock: the previous holder is dead, or stopped polling
before it freed the lock. An active instance checks its lock's connection as often as standbys
ask; losing it, it stops taking updates, winds down and stands by again. Because the server may
free the lock of a live instance (its connection broke) before that instance notices, a new
holder waits one check interval and a margin before it takes updates.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import Protocol

from telegram.ext import Updater
from telegram.request import BaseRequest
from tornado.httpserver import HTTPServer

from psgbot import metrics
from psgbot.app import BotApplication, build_application, running
from psgbot.services import Services

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGABRT)
# What an active instance that lost its lock needs, beyond its next check, to stop taking
# updates (the Updater's last getUpdates has a zero timeout).
HANDOVER_MARGIN = 1.0


class UpdateSource(Protocol):
    """How the active instance receives updates: started once it holds the lock, stopped
    before it lets go."""

    @property
    def polling(self) -> bool:
        """Whether the Application needs an Updater (long polling) or is fed by a listener."""
        ...

    async def start(self, application: BotApplication) -> None: ...

    async def stop(self) -> None: ...


class LongPolling:
    """Updates by ``getUpdates``, through python-telegram-bot's Updater."""

    polling = True

    def __init__(self, allowed_updates: list[str]) -> None:
        self.allowed_updates = allowed_updates
        self._updater: Updater | None = None

    async def start(self, application: BotApplication) -> None:
        assert application.updater is not None
        self._updater = application.updater
        # Also deletes a webhook left by an earlier run: Telegram refuses getUpdates beside one.
        await self._updater.start_polling(allowed_updates=self.allowed_updates)

    async def stop(self) -> None:
        updater, self._updater = self._updater, None
        if updater is not None and updater.running:
            # Returns once the last getUpdates (the one confirming the offset) has ended.
            await updater.stop()


class Instance:
    """One ``psgbot run`` process: standby until it holds the lock, then active until told to
    stop or until it loses the lock."""

    def __init__(
        self, services: Services, source: UpdateSource, *, request: BaseRequest | None = None
    ) -> None:
        self.services = services
        self.source = source
        self.request = request  # the transport to Telegram; tests pass a fake
        self.lock = services.leadership
        self.retry = services.settings.standby_retry
        self.handover = 0.0 if self.lock.single_instance else self.retry + HANDOVER_MARGIN
        self.application: BotApplication | None = None
        self.probe = metrics.HealthProbe(
            services, self.scheduler_running, time.monotonic(), active=self.is_active
        )
        self._active = False

    def is_active(self) -> bool:
        return self._active

    def scheduler_running(self) -> bool:
        application = self.application
        return bool(
            application and application.job_queue and application.job_queue.scheduler.running
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Stands by and serves in turn until ``stop`` is set."""
        try:
            while await self._wait_for_lock(stop):
                await self._serve(stop)
                # Stepped down (its connection to the database failed): a standby whose
                # connection held gets the first tries at the lock.
                await _wait(stop, 2 * self.retry)
        finally:
            # Last, once updates stopped and the Application is down: a standby may poll now.
            await self.lock.release()

    async def _wait_for_lock(self, stop: asyncio.Event) -> bool:
        """True once this instance holds the lock; False when told to stop first."""
        refused = False
        while not stop.is_set():
            if await self.lock.try_take():
                return True
            if not refused:
                log.info(
                    "standby: the active lock is held elsewhere or out of reach; asking every %g s",
                    self.retry,
                )
                refused = True
            await _wait(stop, self.retry)
        return False

    async def _serve(self, stop: asyncio.Event) -> None:
        """One term as the active instance: returns when told to stop or when the lock is lost,
        after updates stopped, in-flight work finished and the Application shut down."""
        # A previous holder still alive may not know yet that its lock is gone (the server ended
        # its session; its next check is up to one retry away, and stopping takes a moment):
        # updates wait until it has stopped taking them. Start-up runs meanwhile.
        handover = time.monotonic() + self.handover
        self.application = build_application(
            self.services, request=self.request, polling=self.source.polling, owns_services=False
        )
        try:
            async with running(self.application):
                if await _wait(stop, handover - time.monotonic()):
                    return
                await self.source.start(self.application)
                self.probe.started = time.monotonic()
                self._active = True
                try:
                    while not await _wait(stop, self.retry):
                        if not await self.lock.still_held():
                            log.error("lost the active lock: stepping down, no more updates")
                            break
                    else:
                        log.info("stopping: no new updates; finishing what is in hand")
                finally:
                    self._active = False
                    await self.source.stop()
        finally:
            self.application = None


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleeps ``seconds`` or until ``stop`` is set; whether it is set."""
    try:
        await asyncio.wait_for(stop.wait(), max(seconds, 0.0))
    except TimeoutError:
        return False
    return True


async def serve(services: Services, source: UpdateSource) -> None:
    """Runs this instance, active or standby, until SIGINT or SIGTERM; then stops as the Updater
    does: no new updates, queued ones handled, in-flight sends finished, the lock freed last."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in STOP_SIGNALS:
        loop.add_signal_handler(number, stop.set)
    instance = Instance(services, source)
    server = start_health(services, instance.probe)
    try:
        await instance.run(stop)
    finally:
        if server is not None:
            server.stop()
        await services.close()


def start_health(services: Services, probe: metrics.HealthProbe) -> HTTPServer | None:
    """/healthz and /metrics for the whole life of the process, standby included."""
    port = services.settings.effective_metrics_port
    if not port:
        return None
    return metrics.start_http(probe, port, services.settings.listen)
