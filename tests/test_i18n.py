"""Every user-facing string is in the message catalog, so translating is only filling it in."""

from __future__ import annotations

import re
from datetime import date

from babel.messages.catalog import Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from psgbot.config import PROJECT_ROOT
from psgbot.dates import format_day, format_long_date, format_short_day, zone_city
from psgbot.i18n import LOCALES_DIR, Language, _, language_of_code, ngettext, using
from psgbot.numbers import format_count


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


SPANISH = LOCALES_DIR / "es" / "LC_MESSAGES" / "psgbot.po"
# What must come through a translation unchanged: {placeholders}, HTML tags and entities.
KEPT = re.compile(r"\{[a-z_]*\}|</?[a-z]+>|&[a-z]+;")


def spanish_catalog() -> list[Message]:
    with SPANISH.open("rb") as file:
        return [message for message in read_po(file) if message.id]


def test_every_message_has_a_spanish_translation() -> None:
    with (LOCALES_DIR / "psgbot.pot").open("rb") as template:
        wanted = {
            message.id if isinstance(message.id, str) else message.id[0]
            for message in read_po(template)
            if message.id
        }
    messages = spanish_catalog()
    translated = {
        message.id if isinstance(message.id, str) else message.id[0]
        for message in messages
        if not message.fuzzy and all(strings(message.string))
    }
    missing = sorted(wanted - translated)
    assert missing == [], f"untranslated in es: {missing[:5]}"


def strings(value: str | tuple[str, ...] | list[str] | None) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [""])


def test_spanish_keeps_every_placeholder_and_tag() -> None:
    for message in spanish_catalog():
        originals = strings(message.id)
        for translation in strings(message.string):
            # A plural's forms may each leave out what only the other needs: compare with both.
            expected = [sorted(KEPT.findall(original)) for original in originals]
            assert sorted(KEPT.findall(translation)) in expected, (message.id, translation)


def test_spanish_has_two_plural_forms() -> None:
    with SPANISH.open("rb") as file:
        catalog = read_po(file)
    assert catalog.num_plurals == 2
    assert catalog.plural_expr.replace(" ", "") == "(n!=1)"
    with using(Language.ES):
        assert ngettext("{count} chat", "{count} chats", 1) == "{count} chat"
        assert ngettext("{n} day", "{n} days", 1) == "{n} día"
        assert ngettext("{n} day", "{n} days", 0) == "{n} días"
        assert ngettext("{n} day", "{n} days", 2) == "{n} días"


def test_the_language_holds_inside_using_and_returns_after() -> None:
    with using(Language.ES):
        assert _("Hello!") == "¡Hola!"
        with using(Language.EN):
            assert _("Hello!") == "Hello!"
        assert _("Hello!") == "¡Hola!"
    assert _("Hello!") == "Hello!"


def test_spanish_comes_from_any_spanish_language_code() -> None:
    assert [language_of_code(code) for code in ("es", "es-PE", "ES", "es_419")] == [Language.ES] * 4
    assert {language_of_code(code) for code in (None, "", "en", "pt-BR", "eu", "est")} == {
        Language.EN
    }


def test_dates_and_counts_are_written_in_the_current_language() -> None:
    day = date(2018, 9, 29)
    assert format_long_date(day) == "29 September 2018"
    assert format_day(day) == "Saturday 29 September 2018"
    assert format_count(20_000) == "20,000"
    assert zone_city("Europe/London") == "London"
    with using(Language.ES):
        assert format_long_date(day) == "29 de septiembre de 2018"
        assert format_day(day) == "sábado 29 de septiembre de 2018"
        assert format_short_day(day) == "sáb 29 sept"
        assert format_count(20_000) == "20.000"
        assert zone_city("Europe/London") == "Londres"
