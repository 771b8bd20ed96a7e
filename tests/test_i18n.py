"""Every user-facing string is in the message catalog, so translating is only filling it in."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from psgbot.config import PROJECT_ROOT
from psgbot.i18n import LOCALES_DIR, _


def test_catalog_holds_every_message() -> None:
    in_code = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            PROJECT_ROOT / "psgbot",
            method_map=[("**.py", "python")],
            keywords={"_": None, "N_": None, "ngettext": (1, 2)},
        )
    }
    with (LOCALES_DIR / "psgbot.pot").open("rb") as template:
        catalog = {
            message.id if isinstance(message.id, str) else message.id[0]
            for message in read_po(template)
            if message.id
        }
    assert len(in_code) > 150
    missing = sorted(in_code - catalog)
    assert missing == [], f"run `make locales`: {missing[:5]}"


def test_english_is_the_source_language() -> None:
    assert _("Hello!") == "Hello!"
