"""Telegram HTML's building blocks and budgets: escaping, links, lengths in UTF-16 units.

Everything that comes from outside (feed titles, summaries, links, event fields, admin texts) is
escaped by the psgbot.render modules, and every message is kept within Telegram's limits, so a
hostile feed cannot break a message or make Telegram refuse it. Telegram counts a message's length
after parsing its entities, in UTF-16 code units (an emoji outside the BMP counts 2). So text is
shortened *before* it is escaped, to a budget in those units, and markup is never sliced: a block
too long for one message is rebuilt shorter or split between its lines, never cut inside a tag or
an entity.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from html.parser import HTMLParser
from typing import ClassVar

MESSAGE_LIMIT = 4096  # UTF-16 units of visible text
CAPTION_LIMIT = 1024
TITLE_LIMIT = 250
ANSWER_LIMIT = 200  # a callback query's answer (a toast or alert)
SHORT_SUMMARY_LIMIT = 220  # about two lines on a phone
# Telegram documents no limit for a link's URL; an escaped href longer than the longest link we
# store (models.LINK_LIMIT) can only come from hostile input, and is shown as plain text.
HREF_LIMIT = 2000


def escape(text: str) -> str:
    """Escapes text for a Telegram HTML body (only <, > and & are special there)."""
    return html.escape(text, quote=False)


def link(label: str, url: str | None) -> str:
    """A link when ``url`` is a web address; otherwise just the escaped label."""
    if url and url.startswith(("http://", "https://")):
        href = html.escape(url, quote=True)
        if len(href) <= HREF_LIMIT:
            return f'<a href="{href}">{escape(label)}</a>'
    return escape(label)


def utf16_len(text: str) -> int:
    """The length Telegram counts: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _utf16_prefix(text: str, units: int) -> str:
    """The longest prefix of ``text`` within ``units`` UTF-16 units (never half a character)."""
    encoded = text.encode("utf-16-le", "surrogatepass")
    return encoded[: 2 * max(0, units)].decode("utf-16-le", "ignore")


def shorten(text: str, limit: int) -> str:
    """Folds whitespace and cuts ``text`` to ``limit`` UTF-16 units at a word, with an ellipsis."""
    return _cut(" ".join(text.split()), limit)


def shorten_lines(text: str, limit: int) -> str:
    """Like :func:`shorten` but keeps line breaks (for bodies of several paragraphs)."""
    lines = [" ".join(line.split()) for line in text.strip().splitlines()]
    return _cut("\n".join(lines), limit)


def _cut(text: str, limit: int) -> str:
    if utf16_len(text) <= limit:
        return text
    cut = _utf16_prefix(text, limit - 1)
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space > len(cut) // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—\n") + "…"


def visible_text(markup: str) -> str:
    """What a reader sees of Telegram HTML built here: the text, entities decoded, no tags."""
    return html_to_text(markup, links=False)


def visible_length(markup: str) -> int:
    """The length Telegram checks against its limits: visible text in UTF-16 units."""
    return utf16_len(visible_text(markup))


def fit(alternatives: Sequence[str], limit: int = MESSAGE_LIMIT) -> str:
    """The first of ``alternatives`` (fullest first) that fits ``limit``.

    When none does, the last one's visible text, shortened and escaped: formatting is lost, but
    the message stays valid.
    """
    for markup in alternatives:
        if visible_length(markup) <= limit:
            return markup
    return escape(shorten_lines(visible_text(alternatives[-1]), limit))


def pack(blocks: Sequence[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Joins blocks with blank lines into as few messages as fit ``limit`` each.

    Blocks are never cut. One that can't fit a message alone is split between its lines (each
    line of a block built here is whole markup), and a line still too long is rebuilt as plain
    text with :func:`fit`.
    """
    messages: list[str] = []
    current, used = "", 0
    for block in blocks:
        size = visible_length(block)
        if size > limit:
            lines = [fit([line], limit) for line in block.split("\n")]
            parts = _join_within(lines, "\n", limit)
        else:
            parts = [(block, size)]
        for part, part_size in parts:
            if current and used + 2 + part_size <= limit:
                current, used = f"{current}\n\n{part}", used + 2 + part_size
                continue
            if current:
                messages.append(current)
            current, used = part, part_size
    if current:
        messages.append(current)
    return messages


def _join_within(lines: Sequence[str], separator: str, limit: int) -> list[tuple[str, int]]:
    """Joins whole lines into runs within ``limit``; each run with its visible length."""
    runs: list[tuple[str, int]] = []
    current, used = "", 0
    for line in lines:
        size = visible_length(line)
        if current and used + utf16_len(separator) + size <= limit:
            current, used = current + separator + line, used + utf16_len(separator) + size
            continue
        if current:
            runs.append((current, used))
        current, used = line, size
    if current:
        runs.append((current, used))
    return runs


class _TelegramHtmlToText(HTMLParser):
    """Telegram HTML for a terminal: bold and italic as ANSI styles, links as "text (url)"."""

    STYLES: ClassVar[dict[str, str]] = {
        "b": "1",
        "strong": "1",
        "i": "3",
        "em": "3",
        "u": "4",
        "ins": "4",
        "code": "36",
        "pre": "36",
    }

    def __init__(self, color: bool, links: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.color = color
        self.links = links
        self.out: list[str] = []
        self._links: list[tuple[str, int]] = []
        self._styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._links.append((dict(attrs).get("href") or "", len(self.out)))
        elif tag in self.STYLES and self.color:
            self._styles.append(self.STYLES[tag])
            self.out.append(f"\033[{';'.join(self._styles)}m")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._links:
            href, start = self._links.pop()
            label = "".join(part for part in self.out[start:] if not part.startswith("\033"))
            if self.links and href and href != label.strip():
                self.out.append(f" ({href})")
        elif tag in self.STYLES and self.color and self._styles:
            self._styles.pop()
            self.out.append("\033[0m" + (f"\033[{';'.join(self._styles)}m" if self._styles else ""))

    def handle_data(self, data: str) -> None:
        self.out.append(data)


def html_to_text(markup: str, *, color: bool = False, links: bool = True) -> str:
    """A Telegram HTML message for a terminal: with ``color``, ANSI styles for bold etc.; with
    ``links``, each link's address after its text."""
    parser = _TelegramHtmlToText(color, links)
    parser.feed(markup)
    parser.close()
    return "".join(parser.out)
