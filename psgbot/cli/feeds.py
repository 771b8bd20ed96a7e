"""``psgbot ingest``: fetch, parse and classify feeds; print them or store them."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys

from psgbot.cli.common import Commands, prepared
from psgbot.config import Settings
from psgbot.logs import configure_logging


def add_commands(commands: Commands) -> None:
    ingest = commands.add_parser("ingest", help="fetch, parse and classify feeds")
    ingest.add_argument("sources", nargs="+", metavar="SOURCE", help="feed URL or file path")
    mode = ingest.add_mutually_exclusive_group()
    mode.add_argument("--json", action="store_true", help="print one JSON object per item")
    mode.add_argument("--store", action="store_true", help="store the items in the database")
    ingest.set_defaults(handler=_ingest)


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
    from psgbot.feeds.poll import poll_source
    from psgbot.feeds.sources import display_source

    failed = False
    async with prepared(settings) as services:
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
    return 1 if failed else 0
