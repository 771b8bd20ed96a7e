"""What the commands share: a type for argparse's sub-command table, and storage made ready."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeAlias

from psgbot.config import Settings

if TYPE_CHECKING:
    from psgbot.services import Services

# argparse's own name for the table that add_parser fills
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


@asynccontextmanager
async def prepared(settings: Settings) -> AsyncIterator[Services]:
    """The bot's services with the database migrated, closed at the end."""
    from psgbot.app import prepare_storage
    from psgbot.services import Services

    services = Services.create(settings)
    try:
        await prepare_storage(services)
        yield services
    finally:
        await services.close()
