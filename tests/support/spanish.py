"""Finding English in what a Spanish chat was sent.

Three checks, each for what the others miss:

- ``english_fragments``: long English phrases of the catalog that the Spanish does not keep,
  anywhere in a text (a sentence left in English inside a Spanish message);
- ``english_lines``: a whole line, or a whole button label, that is an English message of the
  catalog, placeholders filled in with anything ("Done", "Cancel #3", "Failing 2 times in a
  row; last error: …"), however short;
- ``english_dates``: an English month or day name ("December", "Tue", "Sept") that the bot
  wrote: where the words around it are published content (an item's summary says "on 21
  September"), it is content, and content stays as published.
"""

from __future__ import annotations

import html
import re
from functools import cache

from babel.messages.pofile import read_po

from psgbot.config import DEFAULT_DATA_DIR
from psgbot.i18n import LOCALES_DIR
from psgbot.offline import ApiCall

PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
TAG = re.compile(r"<[^>]+>")
# English month and day names, and their abbreviations as Babel and strftime write them. Case
# matters: Spanish writes its own in lower case ("mar 1 dic"), English capitalises.
MONTHS_AND_DAYS = re.compile(
    r"\b(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|Jan|Feb|Mar|Apr|Jun|"
    r"Jul|Aug|Sept?|Oct|Nov|Dec|Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b"
)
CONTEXT = 12  # characters either side of a month name that must be published for it to be content


def published_text() -> str:
    """The sample feed's and the events' texts, one space between words (their content)."""
    texts = " ".join(
        (DEFAULT_DATA_DIR / name).read_text(encoding="utf-8")
        for name in ("sample/psg-news.xml", "events.yaml")
    )
    # Items' dates are not content: the bot writes them, in the chat's language.
    texts = re.sub(r"<pubDate>.*?</pubDate>", " ", texts)
    return " ".join(html.unescape(texts).split())


@cache
def _catalog() -> list[tuple[list[str], list[str]]]:
    """Each message of the Spanish catalog: its English forms and its Spanish forms."""
    with (LOCALES_DIR / "es" / "LC_MESSAGES" / "psgbot.po").open("rb") as file:
        catalog = read_po(file)
    messages = []
    for message in catalog:
        if not message.id:
            continue
        english = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = message.string
        spanish = [strings] if isinstance(strings, str) else [s for s in strings or () if s]
        messages.append((english, spanish))
    return messages


@cache
def english_fragments() -> list[str]:
    """Words of the English messages that their Spanish translation does not keep: none of
    them may reach a Spanish chat. Placeholders, tags and command names split them. Words the
    news and events say too are left out: their content stays as published."""
    published = published_text().lower()
    fragments = set()
    for originals, translations in _catalog():
        spanish = " ".join(translations)
        for original in originals:
            for part in re.split(r"\{[a-z_]*\}|<[^>]+>|/[a-z]+|\n|[.:;,()?!]", original):
                part = part.strip(" “”•–-")
                if len(part) >= 14 and part not in spanish and part.lower() not in published:
                    fragments.add(part)
    return sorted(fragments)


def english_in(texts: list[str]) -> list[str]:
    return [fragment for fragment in english_fragments() for text in texts if fragment in text]


@cache
def _english_line_pattern() -> re.Pattern[str]:
    """One pattern for every line of an English message that no Spanish message has, its
    placeholders standing for anything. A line with no English word of its own ("{title}",
    "• {topic}") could be anything, and is left out."""
    spanish_lines = {
        line.strip() for _, translations in _catalog() for text in translations
        for line in text.split("\n")
    }  # fmt: skip
    alternatives = set()
    for originals, _translations in _catalog():
        for original in originals:
            for line in original.split("\n"):
                line = line.strip()
                words = PLACEHOLDER.sub(" ", TAG.sub(" ", html.unescape(line)))
                if line in spanish_lines or not re.search(r"[A-Za-z]{2,}", words):
                    continue
                parts = PLACEHOLDER.split(line)
                alternatives.add(".*".join(re.escape(part) for part in parts))
    return re.compile("|".join(sorted(alternatives)))


def english_lines(texts: list[str]) -> list[str]:
    """The lines (and button labels) of ``texts`` that are English messages of the catalog."""
    pattern = _english_line_pattern()
    return [
        line.strip()
        for text in texts
        for line in text.split("\n")
        if line.strip() and pattern.fullmatch(line.strip())
    ]


def english_dates(texts: list[str]) -> list[str]:
    """English month and day names the bot wrote in ``texts`` (not those of published
    content), each with the words around it."""
    published = published_text()
    found = []
    for text in texts:
        for line in text.split("\n"):
            # Content is shown between tags and may be cut short: its context ends there.
            for piece in re.split(r"<[^>]+>|…", line):
                plain = " ".join(html.unescape(piece).split())
                for hit in MONTHS_AND_DAYS.finditer(plain):
                    around = plain[max(0, hit.start() - CONTEXT) : hit.end() + CONTEXT]
                    if around.strip() not in published:
                        found.append(around)
    return found


def untranslated(texts: list[str]) -> list[str]:
    """Everything English in ``texts``, by all three checks."""
    return english_in(texts) + english_lines(texts) + english_dates(texts)


def texts_of(calls: list[ApiCall]) -> list[str]:
    """What a user sees: messages, captions, buttons and answers to presses."""
    seen = []
    for call in calls:
        for key in ("text", "caption"):
            if isinstance(call.params.get(key), str):
                seen.append(call.params[key])
        markup = call.params.get("reply_markup")
        if isinstance(markup, dict):
            seen += [b["text"] for row in markup.get("inline_keyboard", []) for b in row]
    return seen


def buttons(call: ApiCall) -> list[str]:
    """The callback data of a message's inline buttons."""
    markup = call.params.get("reply_markup") or {}
    return [
        b["callback_data"]
        for row in markup.get("inline_keyboard", [])
        for b in row
        if "callback_data" in b
    ]
