"""Finding cues in text: folding case and accents, one trie-shaped pattern for every cue, and the
parts of a summary (its first sentence, the rest) without a feed's boilerplate footer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any


def fold(text: str) -> str:
    """Lower-cases and strips accents, so "Chávarry" and "CHAVARRY" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return stripped.casefold().replace("’", "'")


def trie_regex(cues: Iterable[str]) -> str:
    """One regex for folded cues (words, with a trailing ``*`` for a prefix), as a trie.

    Cues sharing a start share its test ("minister*", "mining", "mines": ``mi(?:n(?:...))``), so
    a scan tries a handful of branches at each word rather than every cue in turn. At each step
    a longer cue is tried before a shorter one ends, so a name wins over the words it starts
    with ("las bambas" over "las"); words of a cue match across any run of spaces.
    """
    root: dict[str, Any] = {}
    for cue in cues:
        node = root
        for char in " ".join(cue.rstrip("*").split()):
            node = node.setdefault(char, {})
        node["*" if cue.endswith("*") else ""] = {}
    return _branches(root)


def _branches(node: Mapping[str, Any]) -> str:
    alternatives = [
        (r"\s+" if char == " " else re.escape(char)) + _branches(child)
        for char, child in sorted(node.items())
        if char not in ("", "*")
    ]
    if "*" in node:
        alternatives.append(r"\w*")
    if not alternatives:
        return ""
    body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
    if "" in node and "*" not in node:
        body = f"(?:{body})?"
    return body


# The end of the first sentence: a full stop, question or exclamation mark before a space. Good
# enough for the PSG's summaries, where abbreviations with a stop ("Mr.") are rare.
SENTENCE_END = re.compile(r"[.!?]+[\"')\]’”]*\s+")


def without_feed_footer(text: str) -> str:
    """The folded summary without WordPress's "The post <title> appeared first on <site>."

    WordPress feeds (the PSG's among them) may end every summary so; the site's name there says
    nothing about the item, and would tag every item with ``psg``.
    """
    end = text.rfind(" appeared first on ")
    start = text.rfind("the post ", 0, end) if end != -1 else -1
    return text[:start].rstrip() if start != -1 else text
