"""Builds the python-telegram-bot Application: transport, defaults, handlers, jobs, start-up.

Telegram, the offline console and the tests all run the Application built here; they differ only
in the ``request`` (the transport) passed in.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from psgbot import metrics
from psgbot.admins import sync_owners
from psgbot.alerts.dispatcher import Dispatcher
from psgbot.alerts.limits import FloodLimiter
from psgbot.bot import admin, broadcast, fallback, language, menu, registry, throttle
from psgbot.bot.commands import ALIASES, PUBLIC_COMMANDS, set_public_menus
from psgbot.bot.processor import PerChatProcessor
from psgbot.db.migrate import upgrade
from psgbot.db.types import utcnow
from psgbot.events_file import add_new_events, read_events_file
from psgbot.feeds.poll import first_poll_delay, poll_source
from psgbot.feeds.sources import display_source
from psgbot.logs import keep_personal_data_out
from psgbot.privacy import purge_inactive
from psgbot.retention import purge_settled
from psgbot.search import purge_searches
from psgbot.services import Services, attach, get_services, services_of

log = logging.getLogger(__name__)

# PTB insists on a token; offline, the console transport answers for Telegram and ignores it.
OFFLINE_TOKEN = "1000000:offline-console-token-not-a-secret"
POLL_JOB_PREFIX = "poll:"
DISPATCHER_KEY = "dispatcher"
PROGRESS_JOB = "broadcast-progress"
RETENTION_JOB = "delivery-retention"
# Hourly: each run has at most an hour's expired rows to do, after the first (which may have
# a backlog, and works through it in batches).
RETENTION_EVERY = 3600
RETENTION_FIRST = 120
PRIVACY_JOB = "inactive-chats-purge"
PRIVACY_FIRST = 180
KNOWN_COMMANDS = (
    {name for name, _ in PUBLIC_COMMANDS}
    | {name for name, _, _ in admin.ADMIN_COMMANDS}
    | {"cancel"}
)

NO_PREVIEWS = LinkPreviewOptions(is_disabled=True)

BotApplication = Application[Any, ContextTypes.DEFAULT_TYPE, Any, Any, Any, Any]


def build_application(
    services: Services,
    *,
    request: BaseRequest | None = None,
    polling: bool = True,
    owns_services: bool = True,
) -> BotApplication:
    """``polling=False`` builds no Updater: the webhook server (psgbot.webhook) puts updates
    on the queue itself. ``owns_services=False`` leaves the services open at shutdown, for a
    process that outlives the Application (a standby instance, psgbot.topology)."""
    keep_personal_data_out()
    settings = services.settings
    token = settings.token.get_secret_value() if settings.token else OFFLINE_TOKEN
    builder = (
        ApplicationBuilder()
        .token(token)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                # Link previews: off for everything the bot says (replies, /latest, /events,
                # digests, notices, broadcasts), where a list's first link would take the
                # preview; on for alerts only, whose sends name their article's preview
                # (psgbot.alerts.sends, render.news.article_preview).
                link_preview_options=NO_PREVIEWS,
                tzinfo=settings.zone,
            )
        )
        .rate_limiter(
            FloodLimiter(
                overall_per_second=settings.rate_limit,
                paid_per_second=1000 if settings.rate_limit else 0,
            )
        )
        .concurrent_updates(PerChatProcessor(settings.concurrent_updates))
        .post_init(on_start)
        .post_stop(on_stop)
    )
    if owns_services:
        builder = builder.post_shutdown(on_shutdown)
    if not polling:
        builder = builder.updater(None)
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    if settings.api_base_url:
        builder = builder.base_url(settings.api_base_url)
        builder = builder.base_file_url(settings.api_base_file_url or "")
    application = builder.build()
    attach(application, services)
    # Group -3 sets the language the update is answered in; group -2 may stop an update (a
    # user over the rate limit); group -1 only counts commands; the features are in group 0.
    application.add_handlers(throttle.handlers(), group=-3)
    application.add_handlers(language.early_handlers(), group=-2)
    application.add_handler(MessageHandler(filters.COMMAND, count_command, block=False), group=-1)
    # Feature handlers first; fallback last, so it only sees what no feature claimed.
    application.add_handlers(registry.handlers(settings.admins))
    application.add_error_handler(fallback.on_error)
    return application


async def prepare_storage(services: Services) -> None:
    """Migrates the database and loads the events file; safe to run on every start."""
    await upgrade(services.engine)
    async with services.sessions.begin() as session:
        entries = read_events_file(services.settings.data_dir / "events.yaml")
        added = await add_new_events(session, entries)
    if added:
        log.info("loaded %d events from data/events.yaml", added)


async def count_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text:
        name = message.text.split(maxsplit=1)[0].split("@")[0].lstrip("/").lower()
        name = ALIASES.get(name, name)
        known = name in KNOWN_COMMANDS
        metrics.COMMANDS.labels(command=name if known else "unknown").inc()


async def poll_feed_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """One feed's scheduled poll; skipped inside while the feed backs off or its cache holds."""
    assert context.job is not None
    await poll_source(get_services(context), str(context.job.data), force=False)


async def retention_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Rolls up and deletes expired outbox rows (one purge at a time: only the active instance
    schedules jobs)."""
    services = get_services(context)
    purged = await purge_settled(
        services.sessions, utcnow(), services.settings.delivery_retention, rest=1.0
    )
    if purged.rows:
        log.info(
            "retention: %d settled deliveries counted and deleted in %d batches",
            purged.rows,
            purged.batches,
        )


async def privacy_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Forgets chats inactive for longer than PSGBOT_INACTIVE_RETENTION, deletes reminders
    of events that are over, and the words of searches unused for a day."""
    services = get_services(context)
    purged = await purge_inactive(services.sessions, utcnow(), services.settings.inactive_retention)
    async with services.sessions.begin() as session:
        searches = await purge_searches(session, utcnow())
    if searches:
        log.info("privacy: %d searches unused for a day forgotten", searches)
    if purged.chats or purged.reminders:
        log.info(
            "privacy: %d inactive chats forgotten, %d reminders of past events deleted",
            purged.chats,
            purged.reminders,
        )


def schedule_polls(application: BotApplication, services: Services) -> None:
    """One repeating job per feed, first runs spread over a few seconds, never overlapping."""
    if application.job_queue is None:
        raise RuntimeError("python-telegram-bot was installed without its job-queue extra")
    interval = services.settings.effective_poll_interval
    for source in services.settings.feed_sources:
        application.job_queue.run_repeating(
            poll_feed_job,
            interval=interval,
            first=first_poll_delay(interval),
            data=source,
            # The name shows in APScheduler's log lines: no credentials in it.
            name=f"{POLL_JOB_PREFIX}{display_source(source)}",
            # max_instances=1: a slow fetch is never overlapped by the feed's next run; jitter
            # spreads the feeds' runs so they do not all fire together.
            job_kwargs={
                "max_instances": 1,
                "coalesce": True,
                "misfire_grace_time": None,
                "jitter": max(1, interval // 10),
            },
        )


async def on_start(application: BotApplication) -> None:
    """Runs once the Application is initialised: storage, command menu, polls, hourly jobs,
    dispatcher. Only the active instance builds an Application, so only it runs these."""
    services = services_of(application)
    await prepare_storage(services)
    await set_public_menus(application.bot)
    await menu.set_descriptions(application.bot)
    async with services.sessions.begin() as session:
        await sync_owners(session, services.settings.admins)
    await admin.set_admin_menus(services, application.bot)
    schedule_polls(application, services)
    assert application.job_queue is not None
    for callback, interval, first, name in (
        (broadcast.progress_job, broadcast.PROGRESS_EVERY, broadcast.PROGRESS_EVERY, PROGRESS_JOB),
        (retention_job, RETENTION_EVERY, RETENTION_FIRST, RETENTION_JOB),
        (privacy_job, RETENTION_EVERY, PRIVACY_FIRST, PRIVACY_JOB),
    ):
        application.job_queue.run_repeating(
            callback,
            interval=interval,
            first=first,
            name=name,
            job_kwargs={"max_instances": 1, "coalesce": True},
        )
    dispatcher = Dispatcher(
        services, application.bot, lease=timedelta(seconds=services.settings.claim_lease)
    )
    application.bot_data[DISPATCHER_KEY] = dispatcher
    services.wake_dispatcher = dispatcher.wake
    dispatcher.start()
    # What is alive now (modules, the application) lives as long as the process: leave it out
    # of the collector's full passes, which otherwise stall the loop for ~100 ms while a large
    # feed's objects come and go.
    gc.freeze()


async def on_stop(application: BotApplication) -> None:
    """Stops the dispatcher: in-flight sends finish, unsent rows wait for the next start."""
    dispatcher = application.bot_data.pop(DISPATCHER_KEY, None)
    if isinstance(dispatcher, Dispatcher):
        await dispatcher.stop()


async def on_shutdown(application: BotApplication) -> None:
    await services_of(application).close()


@asynccontextmanager
async def running(application: BotApplication) -> AsyncIterator[BotApplication]:
    """Runs the Application without Telegram's update fetching, as the console and tests do.

    ``run_polling`` would call the start and stop hooks itself; here they are called explicitly
    so that start-up and shutdown are the same as in production.
    """
    await application.initialize()
    if application.post_init:
        await application.post_init(application)
    await application.start()
    try:
        yield application
    finally:
        await application.stop()
        if application.post_stop:
            await application.post_stop(application)
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)
