"""The token never reaches the log, whatever logs it."""

from __future__ import annotations

import logging

import pytest

from psgbot.logs import REDACTED, RedactSecrets

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"


def test_token_is_redacted_from_messages_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redaction")
    caplog.handler.addFilter(RedactSecrets([TOKEN]))
    with caplog.at_level(logging.DEBUG):
        logger.debug("HTTP Request: POST https://api.telegram.org/bot%s/getMe", TOKEN)
        try:
            raise RuntimeError(f"failed calling /bot{TOKEN}/sendMessage")
        except RuntimeError:
            logger.exception("boom")
    assert TOKEN not in caplog.text
    assert REDACTED in caplog.text


def test_json_lines_are_parseable_and_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from psgbot.logs import configure_logging

    configure_logging(logging.INFO, secrets=[TOKEN], json_lines=True)
    try:
        logging.getLogger("test.json").info("calling /bot%s/getMe", TOKEN)
    finally:
        logging.getLogger().handlers.clear()
    (line,) = capsys.readouterr().err.strip().splitlines()
    entry = json.loads(line)
    assert entry["level"] == "INFO"
    assert entry["logger"] == "test.json"
    assert entry["message"] == f"calling /bot{REDACTED}/getMe"
