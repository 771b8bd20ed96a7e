"""``psgbot events import|export``: events in bulk, in the format of data/events.yaml."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from psgbot.cli.common import Commands, prepared
from psgbot.config import Settings
from psgbot.logs import configure_logging


def add_commands(commands: Commands) -> None:
    events = commands.add_parser("events", help="bulk work on events")
    event_commands = events.add_subparsers(required=True, metavar="ACTION")
    importing = event_commands.add_parser("import", help="add or update events from YAML")
    importing.add_argument("file", type=Path, help="YAML in the format of data/events.yaml")
    importing.set_defaults(handler=_events_import)
    exporting = event_commands.add_parser("export", help="print every stored event as YAML")
    exporting.set_defaults(handler=_events_export)


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
    from psgbot.admins import AuditAction, audit
    from psgbot.db.types import utcnow
    from psgbot.events import announce, is_upcoming, notify_change
    from psgbot.events_file import import_events

    try:
        async with prepared(settings) as services:
            now = utcnow()
            async with services.sessions.begin() as session:
                added, changed = await import_events(session, entries)
                for event in added:
                    if is_upcoming(event, now):
                        await announce(session, event, now)
                for event, changes in changed:
                    await notify_change(session, event, settings.reminder_hours, now, changes)
                await audit(
                    session,
                    None,
                    AuditAction.EVENTS_IMPORTED,
                    f"{path.name}: {len(added)} added, {len(changed)} updated",
                )
    except (KeyError, ValueError) as exc:
        print(f"psgbot: {path}: {exc}", file=sys.stderr)
        return 2
    print(f"{path}: {len(added)} added, {len(changed)} updated")
    return 0


def _events_export(settings: Settings, args: argparse.Namespace) -> int:
    configure_logging(logging.WARNING)
    return asyncio.run(_events_export_async(settings))


async def _events_export_async(settings: Settings) -> int:
    import yaml
    from sqlalchemy import select

    from psgbot.db.models import Event
    from psgbot.events_file import event_to_yaml

    async with prepared(settings) as services, services.sessions() as session:
        events = list(await session.scalars(select(Event).order_by(Event.starts_at)))
    print(
        yaml.safe_dump(
            {"events": [event_to_yaml(event) for event in events]},
            allow_unicode=True,
            sort_keys=False,
        ),
        end="",
    )
    return 0
