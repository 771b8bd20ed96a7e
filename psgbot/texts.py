"""The PSG's standing texts (aims, history, human rights, why join) from ``data/texts.yaml``,
in English and, translated by the PSG's team, in Spanish; admins edit each language apart."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from psgbot.db.models import TextVersion
from psgbot.i18n import Language, current_language

TEXT_NAMES = ("aims", "history", "humanrights", "join")


@dataclass(frozen=True)
class StandingText:
    name: str
    title: str
    body: str
    link_label: str | None = None
    link_url: str | None = None
    # Under a translation: who translated it ("Traducción del equipo del PSG.").
    note: str | None = None
    spanish: StandingText | None = None

    def in_language(self, language: Language) -> StandingText | None:
        """The text in ``language``; None when it has no version in it."""
        return self if language == Language.EN else self.spanish


def load_texts(path: Path) -> dict[str, StandingText]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw = document["texts"]
    missing = [name for name in TEXT_NAMES if name not in raw]
    if missing:
        raise ValueError(f"{path}: missing texts {', '.join(missing)}")
    texts = {}
    for name, entry in raw.items():
        english = StandingText(
            name=name,
            title=entry["title"],
            body=entry["body"].strip(),
            link_label=entry.get("link_label"),
            link_url=entry.get("link_url"),
        )
        spanish = entry.get("es")
        texts[name] = replace(
            english,
            spanish=replace(
                english,
                title=spanish["title"],
                body=spanish["body"].strip(),
                link_label=spanish.get("link_label", english.link_label),
                note=document.get("translation_note"),
            )
            if spanish
            else None,
        )
    return texts


async def current_text(
    session: AsyncSession,
    name: str,
    defaults: dict[str, StandingText],
    language: Language | None = None,
) -> StandingText:
    """The text in ``language`` (the current one unless given) as admins last edited it, or
    the default from data/texts.yaml; a language with neither has the English text."""
    language = language or current_language()
    default = defaults[name].in_language(language)
    latest = await session.scalar(
        select(TextVersion)
        .where(TextVersion.name == name, TextVersion.language == language)
        .order_by(TextVersion.id.desc())
    )
    edited = latest is not None and not latest.reset and latest.body
    if default is None and not edited:
        return await current_text(session, name, defaults, Language.EN)
    base = default or defaults[name]
    if latest is None or latest.reset or not latest.body:
        return base
    return replace(base, body=latest.body)


async def save_text(
    session: AsyncSession,
    name: str,
    body: str | None,
    edited_by: int | None,
    language: Language = Language.EN,
) -> None:
    """Stores a new version of the text in ``language`` (``body`` None: back to the default);
    history is kept."""
    session.add(
        TextVersion(
            name=name, language=language, body=body, reset=body is None, edited_by=edited_by
        )
    )


async def translation_is_older(
    session: AsyncSession, name: str, defaults: dict[str, StandingText]
) -> bool:
    """Whether the Spanish text of ``name`` was written for an English text since changed: an
    admin's Spanish edit made before the latest English edit (or reset), or the PSG's original
    translation while the English text is an edit. False when there is no Spanish text."""
    latest = {
        language: await session.scalar(
            select(TextVersion)
            .where(TextVersion.name == name, TextVersion.language == language)
            .order_by(TextVersion.id.desc())
            .limit(1)
        )
        for language in (Language.EN, Language.ES)
    }
    english, spanish = latest[Language.EN], latest[Language.ES]
    spanish_edited = spanish is not None and not spanish.reset and bool(spanish.body)
    if spanish_edited:
        assert spanish is not None
        return english is not None and english.id > spanish.id
    if defaults[name].spanish is None:
        return False
    # The original translation, of the original English text.
    return english is not None and not english.reset and bool(english.body)
