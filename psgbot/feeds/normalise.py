"""Feed text to plain text: tags dropped, entities decoded, whitespace folded."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_WHITESPACE = re.compile(r"\s+")
# Block-level tags end a run of words; without a space there "end.<p>Next" would glue together.
_BREAKING_TAGS = frozenset(
    {
        "p",
        "br",
        "div",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "td",
        "th",
        "blockquote",
        "pre",
        "hr",
        "section",
        "article",
        "figure",
        "figcaption",
        "table",
        "dd",
        "dt",
    }
)
_INVISIBLE_TAGS = frozenset({"script", "style", "template", "noscript"})


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE_TAGS:
            self._hidden_depth += 1
        elif tag in _BREAKING_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE_TAGS:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in _BREAKING_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.parts.append(data)


def plain_text(markup: str | None) -> str:
    """Returns the readable text of an HTML fragment (or of plain text with entities)."""
    if not markup:
        return ""
    collector = _TextCollector()
    collector.feed(markup)
    collector.close()
    text = "".join(collector.parts).replace("\u00a0", " ")
    return _WHITESPACE.sub(" ", text).strip()
