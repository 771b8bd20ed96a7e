"""The bot as a real process: webhook and its secret, health, metrics, SIGTERM, clean logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SAMPLE_FEED
from support.bot_process import http, start_update, wait_until
from support.fake_telegram import FakeTelegram
from support.postgres import free_port

TOKEN = "123456789:AAHsecretTokenValue_abcdefghijklmno"
SECRET = "s3cret-webhook-token-0123456789abcdef"


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram().start()
    yield fake
    fake.stop()


def test_webhook_health_metrics_shutdown_and_no_secret_in_logs(
    tmp_path: Path, telegram: FakeTelegram
) -> None:
    port, metrics_port = free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PSGBOT_")}
    env.update(
        PSGBOT_TOKEN=TOKEN,
        PSGBOT_API_BASE_URL=telegram.base_url,
        PSGBOT_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/hook",
        PSGBOT_WEBHOOK_SECRET=SECRET,
        PSGBOT_PORT=str(port),
        PSGBOT_METRICS_PORT=str(metrics_port),
        PSGBOT_FEEDS=str(SAMPLE_FEED),
        PSGBOT_LOG_LEVEL="DEBUG",
        PSGBOT_POLL_INTERVAL="5",
    )
    log = (tmp_path / "bot.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "psgbot", "run"],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: telegram.sent("setWebhook"), 60, "setWebhook")
        (hook,) = telegram.sent("setWebhook")
        assert hook.params["url"] == f"http://127.0.0.1:{port}/telegram/hook"
        assert hook.params["secret_token"] == SECRET
        url = f"http://127.0.0.1:{port}/telegram/hook"
        wait_until(
            lambda: http("GET", f"http://127.0.0.1:{metrics_port}/healthz")[0] == 200, 30, "healthz"
        )

        assert http("POST", url, start_update(1), {"Content-Type": "application/json"})[0] == 403
        wrong = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "wrong"}
        assert http("POST", url, start_update(2), wrong)[0] == 403
        right = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
        assert http("POST", url, start_update(3), right)[0] == 200
        wait_until(
            lambda: any(c.params.get("chat_id") == 77 for c in telegram.sent()),
            20,
            "the reply to /start",
        )
        assert len([c for c in telegram.sent() if c.params.get("chat_id") == 77]) == 1

        status, body = http("GET", f"http://127.0.0.1:{metrics_port}/healthz")
        health = json.loads(body)
        assert status == 200
        assert health["status"] == "ok"
        assert health["database"] == "ok"
        status, body = http("GET", f"http://127.0.0.1:{metrics_port}/metrics")
        text = body.decode()
        assert status == 200
        assert 'psgbot_commands_total{command="start"} 1.0' in text
        for name in (
            "psgbot_outbox_depth",
            "psgbot_active_chats",
            "psgbot_alerts_sent_total",
            "psgbot_delivery_latency_seconds",
            "psgbot_feed_fetch_seconds",
        ):
            assert name in text, name

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
    output = (tmp_path / "bot.log").read_text()
    assert "DEBUG" in output, "the run did log at DEBUG"
    assert "getMe" in output, "the run did log at DEBUG"
    assert TOKEN not in output
    assert TOKEN.split(":")[1] not in output
    assert SECRET not in output


def test_bad_webhook_settings_stop_start_up(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PSGBOT_")}
    for extra, expected in [
        ({"PSGBOT_WEBHOOK_URL": "https://bot.example/hook"}, "PSGBOT_WEBHOOK_SECRET must be set"),
        (
            {"PSGBOT_WEBHOOK_URL": "https://bot.example/hook", "PSGBOT_WEBHOOK_SECRET": "short"},
            "PSGBOT_WEBHOOK_SECRET: expected 32 to 256",
        ),
        (
            {"PSGBOT_WEBHOOK_URL": "http://bot.example/hook", "PSGBOT_WEBHOOK_SECRET": SECRET},
            "PSGBOT_WEBHOOK_URL: expected an https URL",
        ),
    ]:
        result = subprocess.run(
            [sys.executable, "-m", "psgbot", "run"],
            cwd=tmp_path,
            env={**env, "PSGBOT_TOKEN": TOKEN, **extra},
            input="",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, result.stderr
        assert expected in result.stderr
        assert result.stderr.count("\n") == 1
        assert TOKEN not in result.stderr


@pytest.mark.parametrize("mode", ["polling", "webhook"])
@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_refused_token_is_one_line_and_the_token_is_never_printed(
    tmp_path: Path, log_format: str, mode: str
) -> None:
    telegram = FakeTelegram(refuse_token=True).start()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PSGBOT_")}
    env.update(
        PSGBOT_TOKEN=TOKEN,
        PSGBOT_API_BASE_URL=telegram.base_url,
        PSGBOT_LOG_FORMAT=log_format,
        PSGBOT_LOG_LEVEL="DEBUG",
        PSGBOT_METRICS_PORT="0",
        PSGBOT_FEEDS=str(SAMPLE_FEED),
    )
    if mode == "webhook":
        port = free_port()
        env.update(
            PSGBOT_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/hook",
            PSGBOT_WEBHOOK_SECRET=SECRET,
            PSGBOT_PORT=str(port),
        )
    try:
        result = subprocess.run(
            [sys.executable, "-m", "psgbot", "run"],
            cwd=tmp_path,
            env=env,
            input="",
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        telegram.stop()
    output = result.stdout + result.stderr
    assert [token for token, _call in telegram.calls] == [TOKEN], "the token was tried once"
    assert TOKEN not in output
    assert TOKEN.split(":")[1] not in output
    assert "Traceback" not in output
    assert result.returncode == 2, output
    refused = [line for line in output.splitlines() if "Telegram refused the token (401)" in line]
    assert len(refused) == 1, output
    if log_format == "json":
        entries = [json.loads(line) for line in output.splitlines()]
        assert any(
            entry["message"] == "Telegram refused the token (401): check PSGBOT_TOKEN"
            for entry in entries
        )
    else:
        assert refused[0].endswith("Telegram refused the token (401): check PSGBOT_TOKEN")
