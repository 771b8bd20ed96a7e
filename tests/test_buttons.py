"""Callback data: the codec's promises, and that every press of a button is answered."""

from __future__ import annotations

import contextlib

import pytest
from conftest import OWNER
from hypothesis import given
from hypothesis import strategies as st
from support.harness import BotHarness

from psgbot.i18n import Language
from psgbot.numbers import MAX_ID
from psgbot.render import buttons as callbacks
from psgbot.render.buttons import (
    CHAT_ID,
    CHAT_LANGUAGE,
    DATA_LIMIT,
    ID,
    LANGUAGE_CODE,
    PAGE_OF_SEARCH,
    SLUG,
    TOKEN,
    Action,
    BadCallback,
    Keyed,
)

BUTTONS = [value for value in vars(callbacks).values() if isinstance(value, Action | Keyed)]
KEYED_IDS = [button for button in BUTTONS if isinstance(button, Keyed) and button.field is ID]
KEYED_SLUGS = [button for button in BUTTONS if isinstance(button, Keyed) and button.field is SLUG]
KEYED_CHATS = [
    button for button in BUTTONS if isinstance(button, Keyed) and button.field is CHAT_ID
]
ACTIONS = [button for button in BUTTONS if isinstance(button, Action)]
slugs = st.from_regex(TOKEN, fullmatch=True)
garbage = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda button, tail: button.prefix + tail,
        st.sampled_from(BUTTONS),
        st.text(alphabet=":0123456789²abc*-_ ", max_size=30),
    ),
    st.binary(max_size=80),
    st.integers(),
    st.none(),
)


def example(
    button: Action
    | Keyed[int]
    | Keyed[str]
    | Keyed[Language]
    | Keyed[tuple[str, int]]
    | Keyed[tuple[int, Language]],
) -> str:
    if isinstance(button, Action):
        return button.encode()
    if button.field is LANGUAGE_CODE:
        return button.encode(Language.ES)  # type: ignore[arg-type]
    if button.field is ID:
        return button.encode(1)  # type: ignore[arg-type]
    if button.field is PAGE_OF_SEARCH:
        return button.encode(("0123456789abcdef", 2))  # type: ignore[arg-type]
    if button.field is CHAT_ID:
        return button.encode(-1001234567890)  # type: ignore[arg-type]
    if button.field is CHAT_LANGUAGE:
        return button.encode((-1001234567890, Language.ES))  # type: ignore[arg-type]
    return button.encode("justice")  # type: ignore[arg-type]


def test_the_catalogue_holds_every_kind_of_button() -> None:
    assert len(ACTIONS) > 20
    assert KEYED_IDS
    assert KEYED_SLUGS


@given(button=st.sampled_from(KEYED_IDS), value=st.integers(1, MAX_ID))
def test_ids_round_trip_within_64_bytes(button: Keyed[int], value: int) -> None:
    data = button.encode(value)
    assert len(data.encode()) <= DATA_LIMIT
    assert button.decode(data) == value
    assert button(data)


# Channels' ids are negative (-100 and 10 to 13 digits); users' and groups' fit too.
@given(button=st.sampled_from(KEYED_CHATS), value=st.integers(-(10**16) + 1, 10**16 - 1))
def test_chat_ids_round_trip_within_64_bytes(button: Keyed[int], value: int) -> None:
    data = button.encode(value)
    assert len(data.encode()) <= DATA_LIMIT
    assert button.decode(data) == value


@pytest.mark.parametrize(
    "data", ["adm:ch:rm:", "adm:ch:rm:--1", "adm:ch:rm:1.5", "adm:ch:rm:²", "adm:ch:rm:-"]
)
def test_malformed_chat_ids_are_refused(data: str) -> None:
    assert not callbacks.CHANNEL_REMOVE(data)


@given(value=st.integers(-(10**16) + 1, 10**16 - 1), language=st.sampled_from(Language))
def test_a_chat_and_a_language_round_trip_within_64_bytes(value: int, language: Language) -> None:
    data = callbacks.CHANNEL_LANGUAGE.encode((value, language))
    assert len(data.encode()) <= DATA_LIMIT
    assert callbacks.CHANNEL_LANGUAGE.decode(data) == (value, language)


@pytest.mark.parametrize(
    "data", ["adm:ch:lang:-1001.fr", "adm:ch:lang:-1001", "adm:ch:lang:.es", "adm:ch:lang:-1.es.es"]
)
def test_a_malformed_chat_and_language_is_refused(data: str) -> None:
    assert not callbacks.CHANNEL_LANGUAGE(data)


@given(button=st.sampled_from(KEYED_SLUGS), value=slugs)
def test_slugs_round_trip_within_64_bytes(button: Keyed[str], value: str) -> None:
    data = button.encode(value)
    assert len(data.encode()) <= DATA_LIMIT
    assert button.decode(data) == value


def test_actions_are_their_prefix_within_64_bytes() -> None:
    for button in ACTIONS:
        assert button(button.encode())
        assert 1 <= len(button.encode().encode()) <= DATA_LIMIT


@given(token=st.from_regex(r"[0-9a-f]{16}", fullmatch=True), page=st.integers(1, 9999))
def test_search_pages_round_trip_within_64_bytes(token: str, page: int) -> None:
    data = callbacks.SEARCH_MORE.encode((token, page))
    assert len(data.encode()) <= DATA_LIMIT
    assert callbacks.SEARCH_MORE.decode(data) == (token, page)


@pytest.mark.parametrize(
    "data", ["search:0123456789abcdef.0", "search:0123456789ABCDEF.1", "search:abc.1", "search:1"]
)
def test_malformed_search_pages_are_refused(data: str) -> None:
    assert not callbacks.SEARCH_MORE(data)


@pytest.mark.parametrize("value", [0, -1, MAX_ID + 1, 10**30])
def test_encoding_refuses_an_id_out_of_range(value: int) -> None:
    with pytest.raises(BadCallback):
        callbacks.EVENT_REMIND.encode(value)


@pytest.mark.parametrize("value", ["", "a:b", "x" * 41, "²", "é", "a b"])
def test_encoding_refuses_a_slug_that_would_not_read_back(value: str) -> None:
    with pytest.raises(BadCallback):
        callbacks.TOGGLE_TOPIC.encode(value)


def test_a_prefix_over_64_bytes_is_refused() -> None:
    with pytest.raises(BadCallback):
        Action("€" * 22)


@given(data=garbage)
def test_garbage_is_refused_with_the_codecs_own_error(data: object) -> None:
    for button in BUTTONS:
        if isinstance(button, Keyed):
            with contextlib.suppress(BadCallback):
                button.decode(data)
        assert button(data) in {True, False}


@pytest.mark.parametrize("data", ["ev:rem:²", "ev:rem:01x", "ev:rem:", "ev:rem:1:2", "ev:rem:-1"])
def test_malformed_ids_are_refused(data: str) -> None:
    with pytest.raises(BadCallback):
        callbacks.EVENT_REMIND.decode(data)
    assert not callbacks.EVENT_REMIND(data)


def test_no_two_buttons_read_each_others_data() -> None:
    for button in BUTTONS:
        data = example(button)
        readers = [other for other in BUTTONS if other(data)]
        assert readers == [button], (data, readers)


# Through the real Application: the recording transport refuses what Telegram refuses.


def answers(calls: list) -> list:  # type: ignore[type-arg]
    return [call for call in calls if call.method == "answerCallbackQuery"]


@pytest.mark.parametrize("data", ["sub:t:", "sub:t:a:b", "ev:rem:x", "menu", "elsewhere:1", "∆"])
async def test_catch_all_answers_an_unknown_button(bot: BotHarness, data: str) -> None:
    calls = await bot.press(data)
    (answer,) = answers(calls)
    assert "no longer active" in answer.params["text"]
    assert [call.method for call in calls] == ["answerCallbackQuery"]


async def test_catch_all_answers_a_button_of_a_flow_that_has_ended(bot: BotHarness) -> None:
    """A Send now pressed after /cancel (or after a restart) belongs to no running flow."""
    await bot.send("/broadcast", chat_id=OWNER)
    await bot.send("/cancel", chat_id=OWNER)
    for data in ("adm:bc:send", "adm:bc:confirm"):
        (answer,) = answers(await bot.press(data, chat_id=OWNER))
        assert "no longer active" in answer.params["text"]
    calls = await bot.press("adm:bc:back", chat_id=OWNER)
    (answer,) = answers(calls)
    assert "no longer active" in answer.params["text"]


async def test_a_menu_button_for_no_action_is_answered(bot: BotHarness) -> None:
    calls = await bot.press("menu:nothing")
    (answer,) = answers(calls)
    assert "no longer active" in answer.params["text"]
