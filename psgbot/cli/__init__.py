"""The ``psgbot`` command: run the bot, ingest feeds, manage the database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from psgbot import __version__
from psgbot.cli import broadcast, events, feeds
from psgbot.config import ConfigError, Settings, load_settings
from psgbot.logs import configure_logging, route_uncaught_to_log

log = logging.getLogger("psgbot")
# What Telegram sends the bot (by polling or the webhook); inline queries for inline mode.
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member", "inline_query"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"psgbot: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        result: int = args.handler(settings, args)
    except BrokenPipeError:
        # The reader went away (`psgbot ingest … | head`): stop quietly, as Python advises.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="psgbot", description=__doc__)
    parser.add_argument("--version", action="version", version=f"psgbot {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="start the bot (offline console without a token)")
    run.set_defaults(handler=_run)

    feeds.add_commands(commands)
    broadcast.add_commands(commands)
    events.add_commands(commands)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(required=True, metavar="ACTION")
    db_upgrade = db_commands.add_parser("upgrade", help="apply the migrations")
    db_upgrade.set_defaults(handler=_db_upgrade)
    return parser


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from telegram.error import InvalidToken

    secrets = [
        secret.get_secret_value()
        for secret in (settings.token, settings.webhook_secret)
        if secret is not None
    ]
    if settings.token is not None:
        # The part after the colon is the secret; the bot id before it is public.
        secrets.append(settings.token.get_secret_value().partition(":")[2])
    level = settings.log_level_number
    if settings.offline and "log_level" not in settings.model_fields_set:
        # The terminal is the chat: routine log lines would drown the conversation.
        level = logging.WARNING
    configure_logging(level, secrets=secrets, json_lines=settings.log_format == "json")
    route_uncaught_to_log()
    try:
        return _serve(settings)
    except InvalidToken as exc:
        # 401 for a token Telegram does not know; 404 for a URL that is not a Bot API at all.
        if "not found" in str(exc.__cause__ or "").lower():
            log.critical(
                "Telegram answered 404 (not found): check PSGBOT_TOKEN and PSGBOT_API_BASE_URL"
            )
        else:
            log.critical("Telegram refused the token (401): check PSGBOT_TOKEN")
        return 2
    except Exception:
        # Logged, not printed: the log's filter takes the token out of the traceback.
        log.critical("psgbot stopped by an error", exc_info=True)
        return 1


def _serve(settings: Settings) -> int:
    from psgbot.services import Services

    services = Services.create(settings)
    if settings.offline:
        from psgbot.console import run_console

        asyncio.run(run_console(services))
        return 0
    from psgbot.topology import LongPolling, UpdateSource, serve

    source: UpdateSource
    if settings.webhook_url and settings.webhook_secret:
        from psgbot.webhook import Webhook

        log.info("starting psgbot %s with a webhook", __version__)
        source = Webhook(
            listen=settings.listen,
            port=settings.port,
            path=settings.webhook_path,
            url=settings.webhook_url,
            secret=settings.webhook_secret.get_secret_value(),
            allowed_updates=ALLOWED_UPDATES,
        )
    else:
        log.info("starting psgbot %s with long polling", __version__)
        source = LongPolling(ALLOWED_UPDATES)
    asyncio.run(serve(services, source))
    return 0


def _db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from psgbot.db.engine import create_engine
    from psgbot.db.migrate import current_revision, upgrade

    configure_logging(settings.log_level_number)

    async def go() -> str | None:
        engine = create_engine(settings.sqlalchemy_url)
        try:
            await upgrade(engine)
            return await current_revision(engine)
        finally:
            await engine.dispose()

    print(f"database at revision {asyncio.run(go())}")
    return 0
