"""Telegram's Bot API over real HTTP on loopback, for running the bot as a separate process.

Answers like ``psgbot.offline.OfflineBotApi`` (the same code), records each call with the token
it came with, and delivers updates that a test :meth:`FakeTelegram.push`es as Telegram does: to
``getUpdates`` (kept until a later call's ``offset`` confirms them; with none, a poll waits a
little and returns empty), or, while a webhook is set, POSTed to its URL with its secret until
the URL answers 200. Every call is held to Telegram's rules (``support.bot_api_rules``) and a
broken one is answered as Telegram answers it; a second concurrent ``getUpdates`` on one token
ends the first with 409 Conflict. The ``telegram_rules`` fixture fails the test on any
violation or conflict.
"""

from __future__ import annotations

import asyncio
import json
import select
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from psgbot.offline import ApiCall, ApiError, OfflineBotApi
from support.bot_api_rules import UpdatesGate, Violation, bot_api_spec, check_call, refusal
from support.transport import WATCHED

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def peer_open(handler: BaseHTTPRequestHandler) -> bool:
    """Whether the client is still connected (a killed process's socket reads as closed)."""
    connection = handler.connection
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return not readable or connection.recv(1, socket.MSG_PEEK) != b""
    except OSError:
        return False


def post_update(url: str, secret: str, update: dict[str, Any]) -> bool:
    """POSTs one update as Telegram does; whether the webhook accepted it (200)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(update).encode(),
        method="POST",
        headers={"Content-Type": "application/json", SECRET_HEADER: secret},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.HTTPError):
        return False


class FakeTelegram:
    """``refuse_token``: answer every call 401 Unauthorized, as Telegram does for a bad token."""

    def __init__(self, *, refuse_token: bool = False) -> None:
        self.api = OfflineBotApi()
        self.refuse_token = refuse_token
        self.calls: list[tuple[str, ApiCall]] = []
        self.violations: list[Violation] = []
        self.gate = UpdatesGate()
        self.reported = (0, 0)
        self.lock = threading.Lock()
        # Per token: updates not yet confirmed (polling) or not yet accepted (webhook), and the
        # webhook's URL and secret while one is set.
        self.pending: dict[str, list[dict[str, Any]]] = {}
        self.webhooks: dict[str, tuple[str, str]] = {}
        self.stopping = threading.Event()
        self.deliverer = threading.Thread(target=self._deliver_to_webhooks, daemon=True)
        WATCHED.add(self)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    return  # the client died mid-request (a crash test's kill): nothing arrived
                token, _, method = self.path.removeprefix("/bot").partition("/")
                params = fake.decode(body, self.headers.get("Content-Type") or "", method)
                status, answer = fake.answer(token, method, params, lambda: peer_open(self))
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST

            def log_message(self, format: str, *args: object) -> None:
                return

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                return

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/bot"

    def start(self) -> FakeTelegram:
        self.thread.start()
        self.deliverer.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.deliverer.join(timeout=10)
        self.httpd.shutdown()
        self.httpd.server_close()

    def push(self, token: str, update: dict[str, Any]) -> None:
        """An update for the bot with ``token``, as a user's message makes one."""
        with self.lock:
            self.pending.setdefault(token, []).append(update)

    def _updates_for_poll(self, token: str, offset: object) -> list[dict[str, Any]]:
        """Confirms the updates below ``offset`` (they are gone for good) and returns the rest."""
        with self.lock:
            queue = self.pending.setdefault(token, [])
            if offset is not None:
                queue[:] = [update for update in queue if update["update_id"] >= int(str(offset))]
            return list(queue[:100])

    def _deliver_to_webhooks(self) -> None:
        """Telegram's side of a webhook: each pending update POSTed, in order, until accepted;
        a URL that fails (an instance that died) is tried again until setWebhook changes it."""
        while not self.stopping.wait(0.05):
            with self.lock:
                due = [
                    (token, self.webhooks[token], queue[0])
                    for token, queue in self.pending.items()
                    if queue and token in self.webhooks
                ]
            for token, (url, secret), update in due:
                if post_update(url, secret, update):
                    with self.lock:
                        self.pending[token].remove(update)
                else:
                    self.stopping.wait(0.2)

    @staticmethod
    def decode(body: bytes, content_type: str, method: str) -> dict[str, Any]:
        """The call's parameters: JSON bodies as they are; form fields JSON-decoded where the
        field takes more than a string (python-telegram-bot sends strings raw)."""
        if "json" in content_type:
            return dict(json.loads(body or b"{}"))
        fields = bot_api_spec()["methods"].get(method, {})
        params: dict[str, Any] = {}
        for key, value in urllib.parse.parse_qsl(body.decode(), keep_blank_values=True):
            if fields.get(key, {}).get("types") == ["String"]:
                params[key] = value
                continue
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        return params

    def answer(
        self,
        token: str,
        method: str,
        params: dict[str, Any],
        caller_alive: Callable[[], bool] = lambda: True,
    ) -> tuple[int, Any]:
        call = ApiCall(method, params)
        if self.refuse_token:
            with self.lock:
                self.calls.append((token, call))
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        violations = check_call(method, params)
        refused = refusal(violations)
        with self.lock:
            self.violations += violations
        if refused is not None:
            return refused.status or 400, {
                "ok": False,
                "error_code": refused.status,
                "description": refused.description,
            }
        if method == "getUpdates":
            poll = self.gate.begin(token)
            if isinstance(poll, str):
                return 409, {"ok": False, "error_code": 409, "description": poll}
            result: Any = self._updates_for_poll(token, params.get("offset"))
            if not result:
                time.sleep(min(float(params.get("timeout") or 0), 0.3))
            conflict = self.gate.end(token, poll, caller_alive=caller_alive())
            if conflict is not None:
                return 409, {"ok": False, "error_code": 409, "description": conflict}
        else:
            if method in {"setWebhook", "deleteWebhook"}:
                url = params.get("url") if method == "setWebhook" else None
                self.gate.webhook(token, url)
                with self.lock:
                    if url:
                        self.webhooks[token] = (str(url), str(params.get("secret_token") or ""))
                    else:
                        self.webhooks.pop(token, None)
            try:
                result = asyncio.run(self.api.answer(call))
            except ApiError as error:
                return error.status, {
                    "ok": False,
                    "error_code": error.status,
                    "description": error.description,
                }
        call.result = result
        with self.lock:
            self.calls.append((token, call))
        return 200, {"ok": True, "result": result}

    def sent(self, method: str = "sendMessage") -> list[ApiCall]:
        with self.lock:
            return [call for _token, call in self.calls if call.method == method]
