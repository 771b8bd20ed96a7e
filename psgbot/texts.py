"""The PSG's standing texts (aims, history, human rights, why join) from ``data/texts.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from psgbot.db.models import TextVersion

TEXT_NAMES = ("aims", "history", "humanrights", "join")


@dataclass(frozen=True)
class StandingText:
    name: str
    title: str
    body: str
    link_label: str | None = None
    link_url: str | None = None


def load_texts(path: Path) -> dict[str, StandingText]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["texts"]
    missing = [name for name in TEXT_NAMES if name not in raw]
    if missing:
        raise ValueError(f"{path}: missing texts {', '.join(missing)}")
    return {
        name: StandingText(
            name=name,
            title=entry["title"],
            body=entry["body"].strip(),
            link_label=entry.get("link_label"),
            link_url=entry.get("link_url"),
        )
        for name, entry in raw.items()
    }


async def current_text(
    session: AsyncSession, name: str, defaults: dict[str, StandingText]
) -> StandingText:
    """The text as admins last edited it, or the default from data/texts.yaml."""
    default = defaults[name]
    latest = await session.scalar(
        select(TextVersion).where(TextVersion.name == name).order_by(TextVersion.id.desc())
    )
    if latest is None or latest.reset or not latest.body:
        return default
    return replace(default, body=latest.body)


async def save_text(
    session: AsyncSession, name: str, body: str | None, edited_by: int | None
) -> None:
    """Stores a new version (``body`` None: back to the default); history is kept."""
    session.add(TextVersion(name=name, body=body, reset=body is None, edited_by=edited_by))
