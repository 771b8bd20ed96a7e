"""Builds the python-telegram-bot Application: transport, defaults, handlers, jobs, start-up.

Telegram, the offline console and the tests all run the Application built here; they differ only
in the ``request`` (the transport) passed in.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest

from psgbot.bot import events, fallback, info, menu, news
from psgbot.bot.commands import menu_commands
from psgbot.db.migrate import upgrade
from psgbot.events import add_new_events, read_events_file
from psgbot.feeds.poll import poll_all
from psgbot.services import Services, attach, get_services, services_of

log = logging.getLogger(__name__)

# PTB insists on a token; offline, the console transport answers for Telegram and ignores it.
OFFLINE_TOKEN = "1000000:offline-console-token-not-a-secret"
POLL_JOB = "poll-feeds"

BotApplication = Application[Any, ContextTypes.DEFAULT_TYPE, Any, Any, Any, Any]


def build_application(services: Services, *, request: BaseRequest | None = None) -> BotApplication:
    settings = services.settings
    token = settings.token.get_secret_value() if settings.token else OFFLINE_TOKEN
    builder = (
        ApplicationBuilder()
        .token(token)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                tzinfo=settings.zone,
            )
        )
        .post_init(on_start)
        .post_shutdown(on_stop)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    if settings.api_base_url:
        builder = builder.base_url(settings.api_base_url)
    application = builder.build()
    attach(application, services)
    # Feature handlers first; fallback last, so it only sees what no feature claimed.
    for module in (menu, news, info, events, fallback):
        application.add_handlers(module.handlers())
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


async def poll_feeds_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    await poll_all(get_services(context))


async def on_start(application: BotApplication) -> None:
    """Runs once the Application is initialised: storage, command menu, polling schedule."""
    services = services_of(application)
    await prepare_storage(services)
    await application.bot.set_my_commands(menu_commands())
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            poll_feeds_job,
            interval=services.settings.poll_interval,
            first=1,
            name=POLL_JOB,
            job_kwargs={"max_instances": 1, "coalesce": True},
        )


async def on_stop(application: BotApplication) -> None:
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
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)
