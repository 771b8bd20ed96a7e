"""Derives ``bot_api_spec.json`` (methods, parameters, types; no prose) from the full reference.

Run by hand when the Bot API reference changes:
    python tests/support/derive_bot_api_spec.py ../shared/telegram/bot-api.json
The tests read only the derived file, so a clone without ../shared tests the same.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).with_name("bot_api_spec.json")


def derive(reference: dict[str, object]) -> dict[str, object]:
    def fields(entry: dict[str, object]) -> dict[str, object]:
        return {
            field["name"]: {"types": field["types"], "required": field["required"]}
            for field in entry.get("fields", [])  # type: ignore[union-attr, attr-defined]
        }

    methods = reference["methods"]
    types = reference["types"]
    assert isinstance(methods, dict) and isinstance(types, dict)
    return {
        "version": reference["version"],
        "methods": {name: fields(entry) for name, entry in sorted(methods.items())},
        "types": {
            name: {"fields": fields(entry), "subtypes": entry.get("subtypes", [])}
            for name, entry in sorted(types.items())
        },
    }


if __name__ == "__main__":
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/telegram/bot-api.json")
    spec = derive(json.loads(source.read_text(encoding="utf-8")))
    OUT.write_text(json.dumps(spec, indent=None, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"wrote {OUT} ({len(spec['methods'])} methods, {len(spec['types'])} types)")  # type: ignore[arg-type]
