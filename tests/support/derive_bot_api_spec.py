"""Derives ``bot_api_spec.json`` from the full Bot API reference: methods, parameters, types, and
the rules the reference states in prose (allowed values, lengths, buttons), without the prose.

Run by hand when the Bot API reference changes:
    python tests/support/derive_bot_api_spec.py ../shared/telegram/bot-api.json
The tests read only the derived file, so a clone without ../shared tests the same.

Per field, besides its types and whether it is required:
- ``values``: the only values allowed, from "must be one of "a", "b"", "can be either "a" or
  "b"", "always "a"", "must be a" (a subtype's tag) and the chat actions' list;
  ``parse_mode`` gets the three modes of the reference's "Formatting options" section, which
  the machine-readable reference does not carry.
- ``length``: [low, high, unit] from "1-4096 characters" or "1-64 bytes"; ``after_entities``
  when the reference counts the text after entity parsing.
Per type, ``exactly_one_of``: the fields of which exactly one must be set ("Exactly one of the
fields other than text, ... must be used" on InlineKeyboardButton).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("bot_api_spec.json")
# https://core.telegram.org/bots/api#formatting-options
PARSE_MODES = ["HTML", "MarkdownV2", "Markdown"]

_ENUMERATION = re.compile(
    r"(?:must be one of|can be one of|currently one of|can be either|currently can be|"
    r"Currently, (?:it )?can be(?: one of)?|One of|, one of|must be either)\s+(?P<rest>.*)",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"[\"“]([^\"”]+)[\"”]")
_ALWAYS = re.compile(r"\balways [\"“]([^\"”]+)[\"”]")
_TAG = re.compile(r"\bmust be ([a-z_]+)$")
_CHAT_ACTIONS = re.compile(r"Choose one, depending on what the user is about to receive: (.*)")
_LENGTH = re.compile(r"\b(\d+)-(\d+) (characters|bytes)\b")
_EXACTLY_ONE = re.compile(r"Exactly one of the fields other than ([a-z_, ]+?) must be used")


def allowed_values(name: str, description: str) -> list[str] | None:
    if name == "parse_mode" or name.endswith("_parse_mode"):
        return PARSE_MODES
    if match := _CHAT_ACTIONS.search(description):
        # "typing for text messages, ..., record_video or upload_video for videos, ..."
        clauses = [clause.split(" for ")[0] for clause in match.group(1).split(", ")]
        return [word for clause in clauses for word in clause.split(" or ")]
    if match := _ALWAYS.search(description):
        return [match.group(1)]
    if match := _TAG.search(description.strip().rstrip(".")):
        return [match.group(1)]
    if match := _ENUMERATION.search(description):
        # The list runs to the end of its sentence; quoted examples later on are not values.
        sentence = re.split(r"\.\s+(?=[A-Z])", match.group("rest"), maxsplit=1)[0]
        values = _QUOTED.findall(sentence)
        return values or None
    return None


def field_rules(field: dict[str, Any]) -> dict[str, Any]:
    rules: dict[str, Any] = {"types": field["types"], "required": field["required"]}
    description: str = field.get("description", "")
    if "String" in field["types"] and (values := allowed_values(field["name"], description)):
        rules["values"] = values
    if "String" in field["types"] and (length := _LENGTH.search(description)):
        rules["length"] = [int(length.group(1)), int(length.group(2)), length.group(3)]
        if "after entities parsing" in description:
            rules["after_entities"] = True
    return rules


def derive(reference: dict[str, Any]) -> dict[str, Any]:
    def fields(entry: dict[str, Any]) -> dict[str, Any]:
        return {field["name"]: field_rules(field) for field in entry.get("fields", [])}

    def type_rules(entry: dict[str, Any]) -> dict[str, Any]:
        rules: dict[str, Any] = {"fields": fields(entry), "subtypes": entry.get("subtypes", [])}
        for line in entry.get("description", []):
            if match := _EXACTLY_ONE.search(line):
                others = {name.strip() for name in re.split(r",|\band\b", match.group(1))}
                rules["exactly_one_of"] = [
                    field["name"] for field in entry["fields"] if field["name"] not in others
                ]
        return rules

    methods = reference["methods"]
    types = reference["types"]
    return {
        "version": reference["version"],
        "methods": {name: fields(entry) for name, entry in sorted(methods.items())},
        "types": {name: type_rules(entry) for name, entry in sorted(types.items())},
    }


if __name__ == "__main__":
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/telegram/bot-api.json")
    spec = derive(json.loads(source.read_text(encoding="utf-8")))
    OUT.write_text(json.dumps(spec, indent=None, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"wrote {OUT} ({len(spec['methods'])} methods, {len(spec['types'])} types)")
