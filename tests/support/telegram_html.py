"""A strict validator of Telegram's HTML parse mode (https://core.telegram.org/bots/api#html-style).

Telegram accepts only a few tags, each properly nested and closed, and only the entities &lt;
&gt; &amp; &quot; and numeric ones; any other ``<``, ``>`` or ``&`` makes it refuse the message.
"""

from __future__ import annotations

import html
import re

ALLOWED_TAGS = {
    "b": set(),
    "strong": set(),
    "i": set(),
    "em": set(),
    "u": set(),
    "ins": set(),
    "s": set(),
    "strike": set(),
    "del": set(),
    "tg-spoiler": set(),
    "span": {"class"},
    "a": {"href"},
    "tg-emoji": {"emoji-id"},
    "tg-time": {"unix", "format"},
    "code": {"class"},
    "pre": set(),
    "blockquote": {"expandable"},
}
_TOKEN = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:=\"[^\"<>]*\")?)*)\s*>|<|>|&")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
_ATTRIBUTE = re.compile(r"([a-zA-Z-]+)(?:=\"([^\"]*)\")?")


class TelegramHtmlError(AssertionError):
    pass


def validate_telegram_html(markup: str) -> str:
    """Raises :class:`TelegramHtmlError` unless Telegram would accept ``markup``.

    Returns the visible text (what Telegram counts against the 4096-character limit).
    """
    stack: list[str] = []
    visible: list[str] = []
    position = 0
    for match in _TOKEN.finditer(markup):
        visible.append(markup[position : match.start()])
        token = match.group(0)
        if token == "&":
            entity = _ENTITY.match(markup, match.start())
            if entity is None:
                raise TelegramHtmlError(
                    f"unescaped & at {match.start()}: {markup[match.start() :][:20]!r}"
                )
            visible.append(html.unescape(entity.group(0)))
            position = entity.end()
            continue
        if token in {"<", ">"}:
            context = markup[max(0, match.start() - 20) :][:40]
            raise TelegramHtmlError(f"unescaped {token} at {match.start()}: {context!r}")
        closing, tag, attributes = match.group(1), match.group(2).lower(), match.group(3)
        if tag not in ALLOWED_TAGS:
            raise TelegramHtmlError(f"tag <{tag}> is not supported by Telegram")
        if closing:
            if not stack or stack[-1] != tag:
                raise TelegramHtmlError(f"</{tag}> closes {stack[-1] if stack else 'nothing'}")
            stack.pop()
        else:
            for name, value in _ATTRIBUTE.findall(attributes):
                if name not in ALLOWED_TAGS[tag]:
                    raise TelegramHtmlError(f"attribute {name} not allowed on <{tag}>")
                if tag == "a" and name == "href" and not html.unescape(value).strip():
                    raise TelegramHtmlError("empty link")
            if tag == "a" and "a" in stack:
                raise TelegramHtmlError("nested links")
            stack.append(tag)
        position = match.end()
    visible.append(markup[position:])
    if stack:
        raise TelegramHtmlError(f"unclosed tags: {stack}")
    return "".join(visible)
