"""The ``psgbot`` command: run the bot, ingest feeds, manage the database."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from psgbot import __version__
from psgbot.config import ConfigError, Settings, load_settings
from psgbot.logs import configure_logging, route_uncaught_to_log

log = logging.getLogger("psgbot")
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


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

    ingest = commands.add_parser("ingest", help="fetch, parse and classify feeds")
    ingest.add_argument("sources", nargs="+", metavar="SOURCE", help="feed URL or file path")
    mode = ingest.add_mutually_exclusive_group()
    mode.add_argument("--json", action="store_true", help="print one JSON object per item")
    mode.add_argument("--store", action="store_true", help="store the items in the database")
    ingest.set_defaults(handler=_ingest)

    send = commands.add_parser(
        "broadcast", help="queue an announcement for the running bot to deliver"
    )
    send.add_argument("--audience", required=True, help="all, topic:<slug> or chat:<id>")
    text = send.add_mutually_exclusive_group(required=True)
    text.add_argument("--text", help="the message, in Telegram HTML (<b>, <i>, <a href>)")
    text.add_argument(
        "--text-file",
        type=argparse.FileType("r", encoding="utf-8"),
        help="a file holding the message",
    )
    send.add_argument(
        "--at",
        help="send later, ISO 8601 (e.g. 2026-12-01T18:30); without a zone, the PSG's time zone",
    )
    send.add_argument(
        "--wait", type=float, default=600.0, help="seconds to wait for the report (default 600)"
    )
    send.add_argument(
        "--pickup-grace",
        type=float,
        default=15.0,
        help="seconds to wait for a running bot to start sending (default 15)",
    )
    send.set_defaults(handler=_broadcast)

    events = commands.add_parser("events", help="bulk work on events")
    event_commands = events.add_subparsers(required=True, metavar="ACTION")
    importing = event_commands.add_parser("import", help="add or update events from YAML")
    importing.add_argument("file", type=Path, help="YAML in the format of data/events.yaml")
    importing.set_defaults(handler=_events_import)
    exporting = event_commands.add_parser("export", help="print every stored event as YAML")
    exporting.set_defaults(handler=_events_export)

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
    from psgbot.app import build_application
    from psgbot.services import Services

    services = Services.create(settings)
    if settings.offline:
        from psgbot.console import run_console

        asyncio.run(run_console(services))
        return 0
    if settings.webhook_url and settings.webhook_secret:
        from psgbot.webhook import serve_webhook

        log.info("starting psgbot %s with a webhook", __version__)
        asyncio.run(
            serve_webhook(
                build_application(services, polling=False),
                listen=settings.listen,
                port=settings.port,
                path=settings.webhook_path,
                url=settings.webhook_url,
                secret=settings.webhook_secret.get_secret_value(),
                allowed_updates=ALLOWED_UPDATES,
            )
        )
    else:
        log.info("starting psgbot %s with long polling", __version__)
        build_application(services).run_polling(allowed_updates=ALLOWED_UPDATES)
    return 0


def _ingest(settings: Settings, args: argparse.Namespace) -> int:
    # Failures are reported on stderr one line per source; log lines would repeat them.
    configure_logging(logging.CRITICAL)
    return asyncio.run(_ingest_async(settings, args.sources, store=args.store))


async def _ingest_async(settings: Settings, sources: list[str], *, store: bool) -> int:
    if store:
        return await _ingest_and_store(settings, sources)
    from psgbot.feeds.fetch import http_client
    from psgbot.feeds.ingest import SourceError, read_source
    from psgbot.feeds.sources import display_source
    from psgbot.topics import Taxonomy

    taxonomy = Taxonomy.load(settings.data_dir / "topics.yaml")
    failed = False
    async with http_client(
        proxy=settings.http_proxy, allow_private=settings.feeds_allow_private
    ) as client:
        for source in sources:
            try:
                fetched = await read_source(source, client)
            except SourceError as exc:
                print(f"{display_source(source)}: {exc}", file=sys.stderr)
                failed = True
                continue
            for item in fetched.feed.items if fetched.feed else []:
                record = {
                    "source": display_source(source),
                    "guid": item.guid,
                    "title": item.title,
                    "link": item.link,
                    "published": item.published.isoformat() if item.published else None,
                    "summary": item.summary,
                    "topics": taxonomy.classify(item.title, item.summary, item.categories),
                }
                print(json.dumps(record, ensure_ascii=False))
    return 1 if failed else 0


async def _ingest_and_store(settings: Settings, sources: list[str]) -> int:
    """Stores through the bot's own poll path, so the CLI and the bot store alike."""
    from psgbot.app import prepare_storage
    from psgbot.feeds.poll import poll_source
    from psgbot.feeds.sources import display_source
    from psgbot.services import Services

    services = Services.create(settings)
    failed = False
    try:
        await prepare_storage(services)
        for source in sources:
            outcome = await poll_source(services, source, reread=True)
            shown = display_source(source)
            if outcome.error:
                print(f"{shown}: {outcome.error}", file=sys.stderr)
                failed = True
            else:
                print(
                    f"{shown}: {outcome.seen} items, {outcome.new} new, {outcome.updated} updated"
                )
    finally:
        await services.close()
    return 1 if failed else 0


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


def _broadcast(settings: Settings, args: argparse.Namespace) -> int:
    configure_logging(logging.WARNING)
    text = args.text if args.text is not None else args.text_file.read()
    return asyncio.run(
        _broadcast_async(
            settings, args.audience, text.strip(), args.at, args.wait, args.pickup_grace
        )
    )


async def _broadcast_async(
    settings: Settings, audience: str, text: str, at: str | None, wait: float, grace: float
) -> int:
    """Writes the broadcast for the running bot; unless ``at``, waits and prints the report."""
    from datetime import datetime

    from psgbot import broadcasts
    from psgbot.admins import audit
    from psgbot.app import prepare_storage
    from psgbot.db.models import Broadcast
    from psgbot.db.types import utcnow
    from psgbot.services import Services

    if not text:
        print("psgbot: the message is empty", file=sys.stderr)
        return 2
    services = Services.create(settings)
    try:
        checked = broadcasts.check_audience(audience, services.taxonomy.slugs)
        when = utcnow()
        if at:
            when = datetime.fromisoformat(at)
            if when.tzinfo is None:
                when = when.replace(tzinfo=settings.zone)
    except (broadcasts.AudienceError, ValueError) as exc:
        print(f"psgbot: {exc}", file=sys.stderr)
        await services.close()
        return 2
    try:
        await prepare_storage(services)
        async with services.sessions.begin() as session:
            broadcast = await broadcasts.create(
                session,
                audience=checked,
                text=text,
                parse_mode="HTML",
                scheduled_at=when,
                created_by=None,
            )
            await audit(
                session,
                None,
                "broadcast created",
                f"#{broadcast.id} to {checked} at {when.isoformat()} (command line)",
            )
        print(f"broadcast #{broadcast.id} queued for {checked} at {when.isoformat()}")
        if at:
            return 0
        started = asyncio.get_running_loop().time()
        while True:
            await asyncio.sleep(0.5)
            elapsed = asyncio.get_running_loop().time() - started
            async with services.sessions() as session:
                current = await session.get(Broadcast, broadcast.id, populate_existing=True)
                assert current is not None
                if current.status in (broadcasts.DONE, broadcasts.STOPPED):
                    progress = await broadcasts.progress_of(session, broadcast.id)
                    print(
                        f"broadcast #{broadcast.id} {current.status}: {progress.sent} "
                        f"delivered, {progress.blocked} blocked, {progress.failed} failed"
                        + "".join(
                            f"\n  {reason}: {count}"
                            for reason, count in progress.reasons.most_common()
                        )
                    )
                    return 0 if current.status == broadcasts.DONE else 1
            if current.status == broadcasts.SCHEDULED and elapsed > grace:
                print(
                    f"psgbot: no running bot has picked up broadcast #{broadcast.id} in "
                    f"{grace:g} s. It stays queued and goes out when the bot runs "
                    "(make run).",
                    file=sys.stderr,
                )
                return 3
            if elapsed > wait:
                print(
                    f"psgbot: broadcast #{broadcast.id} is still sending; see /broadcasts.",
                    file=sys.stderr,
                )
                return 3
    finally:
        await services.close()


def _events_import(settings: Settings, args: argparse.Namespace) -> int:
    import yaml

    configure_logging(logging.WARNING)
    path: Path = args.file
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        entries = list(loaded.get("events") or [])
    except (OSError, yaml.YAMLError, AttributeError) as exc:
        print(f"psgbot: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_events_import_async(settings, path, entries))


async def _events_import_async(settings: Settings, path: Path, entries: list[Any]) -> int:
    """Adds new events (announcing upcoming ones) and updates changed ones (telling those who
    asked for reminders), through the same outbox the bot sends from."""
    from psgbot.admins import audit
    from psgbot.app import prepare_storage
    from psgbot.db.types import utcnow
    from psgbot.events import announce, import_events, is_upcoming, notify_change
    from psgbot.services import Services

    services = Services.create(settings)
    try:
        await prepare_storage(services)
        now = utcnow()
        async with services.sessions.begin() as session:
            added, changed = await import_events(session, entries)
            for event in added:
                if is_upcoming(event, now):
                    await announce(session, event, now)
            for event in changed:
                await notify_change(session, event, settings.reminder_hours, now)
            await audit(
                session,
                None,
                "events imported",
                f"{path.name}: {len(added)} added, {len(changed)} updated",
            )
    except (KeyError, ValueError) as exc:
        print(f"psgbot: {path}: {exc}", file=sys.stderr)
        return 2
    finally:
        await services.close()
    print(f"{path}: {len(added)} added, {len(changed)} updated")
    return 0


def _events_export(settings: Settings, args: argparse.Namespace) -> int:
    configure_logging(logging.WARNING)
    return asyncio.run(_events_export_async(settings))


async def _events_export_async(settings: Settings) -> int:
    import yaml
    from sqlalchemy import select

    from psgbot.app import prepare_storage
    from psgbot.db.models import Event
    from psgbot.events import event_to_yaml
    from psgbot.services import Services

    services = Services.create(settings)
    try:
        await prepare_storage(services)
        async with services.sessions() as session:
            events = list(await session.scalars(select(Event).order_by(Event.starts_at)))
        print(
            yaml.safe_dump(
                {"events": [event_to_yaml(event) for event in events]},
                allow_unicode=True,
                sort_keys=False,
            ),
            end="",
        )
    finally:
        await services.close()
    return 0
