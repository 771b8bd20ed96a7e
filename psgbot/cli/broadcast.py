"""``psgbot broadcast``: queue an announcement for the running bot, and wait for its report."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from psgbot.cli.common import Commands, prepared
from psgbot.config import Settings
from psgbot.i18n import Language
from psgbot.logs import configure_logging

if TYPE_CHECKING:
    from psgbot.services import Services

POLL_EVERY = 0.5  # seconds between looks at the broadcast's progress


def add_commands(commands: Commands) -> None:
    send = commands.add_parser(
        "broadcast", help="queue an announcement for the running bot to deliver"
    )
    send.add_argument(
        "--audience", required=True, help="all, topic:<slug, name or alias> or chat:<id>"
    )
    text = send.add_mutually_exclusive_group()
    text.add_argument("--text", help="the message, in Telegram HTML (<b>, <i>, <a href>)")
    text.add_argument(
        "--text-file",
        type=argparse.FileType("r", encoding="utf-8"),
        help="a file holding the message",
    )
    spanish = send.add_mutually_exclusive_group()
    spanish.add_argument(
        "--text-es", help="the message in Spanish, for chats in Spanish (alone: for everyone)"
    )
    spanish.add_argument(
        "--text-file-es",
        type=argparse.FileType("r", encoding="utf-8"),
        help="a file holding the message in Spanish",
    )
    send.add_argument(
        "--at",
        help="send later, ISO 8601 (e.g. 2026-12-01T18:30); without a zone, the PSG's time zone",
    )
    send.add_argument(
        "--urgent",
        action="store_true",
        help="before alerts, with a notification sound (ordinary broadcasts arrive silently)",
    )
    send.add_argument(
        "--pin", action="store_true", help="pin it in the groups it reaches (needs --urgent)"
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


def _read(text: str | None, file: TextIO | None) -> str | None:
    if text is None and file is None:
        return None
    return (text if text is not None else file.read() if file else "").strip()


def _broadcast(settings: Settings, args: argparse.Namespace) -> int:
    configure_logging(logging.WARNING)
    if args.pin and not args.urgent:
        print(
            "psgbot: --pin needs --urgent (only an urgent broadcast is pinned in groups)",
            file=sys.stderr,
        )
        return 2
    english = _read(args.text, args.text_file)
    spanish = _read(args.text_es, args.text_file_es)
    if english is None and spanish is None:
        print(
            "psgbot: give the message: --text, --text-file, --text-es or --text-file-es",
            file=sys.stderr,
        )
        return 2
    if english == "" or spanish == "":
        print("psgbot: the message is empty", file=sys.stderr)
        return 2
    # The English version first when there are both; Spanish alone goes to everyone.
    versions = [(Language.EN, english), (Language.ES, spanish)]
    written = [(language, text) for language, text in versions if text is not None]
    return asyncio.run(_broadcast_async(settings, args, written))


async def _broadcast_async(
    settings: Settings, args: argparse.Namespace, versions: list[tuple[Language, str]]
) -> int:
    """Writes the broadcast for the running bot; unless ``--at``, waits and prints the report."""
    from psgbot import broadcasts
    from psgbot.db.types import utcnow
    from psgbot.topics import Taxonomy

    taxonomy = Taxonomy.load(settings.data_dir / "topics.yaml")
    try:
        audience = broadcasts.check_audience(args.audience, taxonomy)
        when = utcnow() if args.at is None else datetime.fromisoformat(args.at)
    except (broadcasts.AudienceError, ValueError) as exc:
        print(f"psgbot: {exc}", file=sys.stderr)
        return 2
    if when.tzinfo is None:
        when = when.replace(tzinfo=settings.zone)
    async with prepared(settings) as services:
        async with services.reads() as session:
            reach = await broadcasts.audience_size(session, audience)
        if reach == 0:
            # As in chat: a broadcast that would reach nobody is refused, now or scheduled.
            print(f"psgbot: {audience} is 0 chats now; nothing was queued", file=sys.stderr)
            return 2
        broadcast_id = await _queue(services, audience, versions, when, args)
        chats = "1 chat" if reach == 1 else f"{reach} chats"
        print(
            f"broadcast #{broadcast_id} queued for {audience} at {when.isoformat()}; "
            f"it would reach {chats} now"
        )
        if args.at:
            return 0
        return await _report(services, broadcast_id, args.wait, args.pickup_grace)


async def _queue(
    services: Services,
    audience: str,
    versions: list[tuple[Language, str]],
    when: datetime,
    args: argparse.Namespace,
) -> int:
    from psgbot import broadcasts
    from psgbot.admins import AuditAction, audit
    from psgbot.render.broadcasts import created_detail

    (language, text), *others = versions
    async with services.sessions.begin() as session:
        broadcast = await broadcasts.create(
            session,
            audience=audience,
            text=text,
            language=language,
            translation=others[0][1] if others else None,
            parse_mode="HTML",
            scheduled_at=when,
            created_by=None,
            urgent=args.urgent,
            pin=args.pin,
        )
        await audit(
            session,
            None,
            AuditAction.BROADCAST_CREATED,
            created_detail(broadcast, audience) + " (command line)",
        )
    return broadcast.id


async def _report(services: Services, broadcast_id: int, wait: float, grace: float) -> int:
    """Waits for the broadcast to finish and prints its figures: 0 when done, 1 when stopped,
    3 when no bot picked it up within ``grace`` seconds or it is still sending after ``wait``."""
    from psgbot import broadcasts
    from psgbot.db.models import Broadcast

    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        await asyncio.sleep(POLL_EVERY)
        elapsed = loop.time() - started
        async with services.sessions() as session:
            current = await session.get(Broadcast, broadcast_id, populate_existing=True)
            assert current is not None
            if current.status in (broadcasts.DONE, broadcasts.STOPPED):
                progress = await broadcasts.progress_of(session, broadcast_id)
                print(
                    f"broadcast #{broadcast_id} {current.status}: {progress.sent} delivered, "
                    f"{progress.blocked} blocked, {progress.failed} failed"
                    + (
                        f" ({current.pins_refused} not pinned: no right to pin there)"
                        if current.pins_refused
                        else ""
                    )
                    + "".join(
                        f"\n  {reason}: {count}" for reason, count in progress.reasons.most_common()
                    )
                )
                return 0 if current.status == broadcasts.DONE else 1
        if current.status == broadcasts.SCHEDULED and elapsed > grace:
            print(
                f"psgbot: no running bot has picked up broadcast #{broadcast_id} in {grace:g} s. "
                "It stays queued and goes out when the bot runs (make run).",
                file=sys.stderr,
            )
            return 3
        if elapsed > wait:
            print(
                f"psgbot: broadcast #{broadcast_id} is still sending; see /broadcasts.",
                file=sys.stderr,
            )
            return 3
