"""The PSG's standing texts (aims, history, human rights, why join) from ``data/texts.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

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
