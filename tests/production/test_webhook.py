"""The webhook listener as Telegram and as an attacker meet it, over real HTTP on loopback.

Requests without the secret, and bodies over the cap, are refused from their headers alone; a
flood of large anonymous POSTs leaves the process's memory where it was.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message

import pytest
from conftest import SAMPLE_FEED
from support.bot_process import (
    chunked,
    http_exchange,
    raw_post,
    repeated,
    resident_kib,
    start_update,
    wait_until,
)
from support.fake_telegram import FakeTelegram
from support.postgres import free_port

TOKEN = "123456789:AAHsecretTokenValue_abcdefghijklmno"
SECRET = "s3cret-webhook-token-0123456789abcdef"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PATH = "/telegram/hook"
MB = 1024 * 1024
JSON = {"Content-Type": "application/json"}
WITH_SECRET = {**JSON, SECRET_HEADER: SECRET}


@dataclass
class WebhookBot:
    process: subprocess.Popen[bytes]
    port: int
    telegram: FakeTelegram

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def replies_to_77(self) -> int:
        return len([call for call in self.telegram.sent() if call.params.get("chat_id") == 77])


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebhookBot]:
    """One ``psgbot run`` in webhook mode for the module, against a fake Bot API."""
    folder = tmp_path_factory.mktemp("webhook")
    telegram = FakeTelegram().start()
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PSGBOT_")}
    env.update(
        PSGBOT_TOKEN=TOKEN,
        PSGBOT_API_BASE_URL=telegram.base_url,
        PSGBOT_WEBHOOK_URL=f"http://127.0.0.1:{port}{PATH}",
        PSGBOT_WEBHOOK_SECRET=SECRET,
        PSGBOT_PORT=str(port),
        PSGBOT_METRICS_PORT="0",
        PSGBOT_FEEDS=str(SAMPLE_FEED),
    )
    with (folder / "bot.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "psgbot", "run"],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: telegram.sent("setWebhook"), 60, "setWebhook")
        yield WebhookBot(process, port, telegram)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
            telegram.stop()


def answer_update(bot: WebhookBot, headers: dict[str, str], update_id: int) -> Message:
    """POSTs /start from chat 77, checks it is taken (200) and that the bot replies; returns
    the HTTP answer's headers."""
    replies = bot.replies_to_77()
    status, answer, _body = http_exchange("POST", bot.url, start_update(update_id), headers)
    assert status == 200
    wait_until(lambda: bot.replies_to_77() == replies + 1, 20, "the reply to /start")
    return answer


def test_an_update_with_the_secret_is_answered(bot: WebhookBot) -> None:
    answer = answer_update(bot, WITH_SECRET, 1)
    assert "Server" not in answer


def test_a_charset_in_the_content_type_is_accepted(bot: WebhookBot) -> None:
    headers = {"Content-Type": "application/json; charset=utf-8", SECRET_HEADER: SECRET}
    answer_update(bot, headers, 2)


@pytest.mark.parametrize(
    "secret", [None, "", "wrong", SECRET[:-1], SECRET + "0", SECRET.upper(), "ñ" * 36]
)
def test_without_the_secret_403_comes_from_the_headers(bot: WebhookBot, secret: str | None) -> None:
    headers = {**JSON, "Content-Length": str(64 * MB)}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    # Not a byte of the 64 MB is sent: the answer can only come from the headers.
    assert raw_post(bot.port, PATH, headers) == (403, 0)


def test_a_body_over_1_mb_gets_413_unread(bot: WebhookBot) -> None:
    headers = {**WITH_SECRET, "Content-Length": str(MB + 1)}
    assert raw_post(bot.port, PATH, headers) == (413, 0)


def test_a_streamed_body_growing_past_1_mb_gets_413(bot: WebhookBot) -> None:
    headers = {**WITH_SECRET, "Transfer-Encoding": "chunked"}
    status, _sent = raw_post(bot.port, PATH, headers, chunked(repeated(b"x" * 4096, MB + 1)))
    assert status == 413


def test_a_body_of_exactly_1_mb_is_read(bot: WebhookBot) -> None:
    update = start_update(3)
    padded = update + b" " * (MB - len(update))
    replies = bot.replies_to_77()
    status, _answer, _body = http_exchange("POST", bot.url, padded, WITH_SECRET)
    assert status == 200
    wait_until(lambda: bot.replies_to_77() == replies + 1, 20, "the reply to /start")


@pytest.mark.parametrize(
    "body", [b"not json", b"\xff\xfe", b"[1, 2]", b'"text"', b'{"no": "update_id"}', b""]
)
def test_a_body_that_is_no_update_gets_400(bot: WebhookBot, body: bytes) -> None:
    status, answer, _body = http_exchange("POST", bot.url, body, WITH_SECRET)
    assert status == 400
    assert "Server" not in answer


@pytest.mark.parametrize(
    ("method", "path", "headers", "expected"),
    [
        ("POST", PATH, {"Content-Type": "text/plain", SECRET_HEADER: SECRET}, 415),
        ("POST", PATH, {**JSON}, 403),
        ("GET", PATH, {}, 405),
        ("POST", "/elsewhere", WITH_SECRET, 404),
    ],
)
def test_other_requests_get_a_bare_status_and_no_server_version(
    bot: WebhookBot, method: str, path: str, headers: dict[str, str], expected: int
) -> None:
    url = f"http://127.0.0.1:{bot.port}{path}"
    body = start_update(4) if method == "POST" else None
    status, answer, content = http_exchange(method, url, body, headers)
    assert status == expected
    assert "Server" not in answer
    assert "TornadoServer" not in str(answer)
    assert content == b""


def test_concurrent_large_posts_without_the_secret_leave_memory_flat(bot: WebhookBot) -> None:
    """Six 64 MB POSTs without the secret (and two to another path) at once: the process's
    resident memory, sampled throughout, stays within 30 MB of where it started."""
    answer_update(bot, WITH_SECRET, 5)  # warmed up: the update path has run
    pid = bot.process.pid
    before = resident_kib(pid)
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.005):
            peak = max(peak, resident_kib(pid))

    size = 64 * MB
    targets = [PATH] * 6 + ["/elsewhere"] * 2
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ThreadPoolExecutor(len(targets)) as pool:
            results = list(
                pool.map(
                    lambda path: raw_post(
                        bot.port,
                        path,
                        {**JSON, "Content-Length": str(size)},
                        repeated(b"\0" * 65536, size),
                    ),
                    targets,
                )
            )
    finally:
        done.set()
        sampler.join()
    after = resident_kib(pid)
    taken = ", ".join(f"{sent / MB:.1f}" for _status, sent in results)
    print(f"\nVmRSS before {before} KiB, peak {peak} KiB, after {after} KiB; MB sent: {taken}")
    # Each connection was closed before its body was through: the server stopped reading.
    # (What was sent sits in socket buffers, a few MB, at most 36 MB with this kernel's limits.)
    assert all(sent < size for _status, sent in results), results
    assert peak - before < 30 * 1024, (before, peak, after)
    answer_update(bot, WITH_SECRET, 6)  # and the bot still answers
