"""Telegram's Bot API over real HTTP on loopback, for running the bot as a separate process.

Answers like ``psgbot.offline.OfflineBotApi`` (the same code), records each call with the token
it came with, and serves ``getUpdates`` from a queue (empty: waits a little, as long polling
does).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from psgbot.offline import ApiCall, ApiError, OfflineBotApi


class FakeTelegram:
    """``refuse_token``: answer every call 401 Unauthorized, as Telegram does for a bad token."""

    def __init__(self, *, refuse_token: bool = False) -> None:
        self.api = OfflineBotApi()
        self.refuse_token = refuse_token
        self.calls: list[tuple[str, ApiCall]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                token, _, method = self.path.removeprefix("/bot").partition("/")
                params = fake.decode(body, self.headers.get("Content-Type") or "")
                status, answer = fake.answer(token, method, params)
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
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @staticmethod
    def decode(body: bytes, content_type: str) -> dict[str, Any]:
        if "json" in content_type:
            return dict(json.loads(body or b"{}"))
        params: dict[str, Any] = {}
        for key, value in urllib.parse.parse_qsl(body.decode(), keep_blank_values=True):
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        return params

    def answer(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        call = ApiCall(method, params)
        if self.refuse_token:
            with self.lock:
                self.calls.append((token, call))
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if method == "getUpdates":
            time.sleep(min(float(params.get("timeout") or 0), 0.3))
            result: Any = []
        else:
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
