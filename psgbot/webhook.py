"""The webhook listener: Telegram POSTs each update here, and it goes on the update queue.

This is python-telegram-bot's "custom webhook" set-up (an Application built without an Updater,
``set_webhook`` called here, updates put on ``application.update_queue``), served by Tornado, on
the active instance only (psgbot.topology).
The library's own listener read a request's whole body before it looked at the secret, so a few
large anonymous POSTs could take hundreds of megabytes. Here a request is judged on its headers
first, before a byte of the body is read:

- without the right ``X-Telegram-Bot-Api-Secret-Token`` (compared in constant time): 403;
- a declared body over :data:`MAX_BODY`: 413; a streamed body that grows past it: 413 as it
  crosses the limit;
- not ``application/json`` (a charset parameter is fine): 415;

and, once read, a body that is not a Telegram update gets 400. A refused request's connection is
closed, so the rest of its body is never read. Responses carry no ``Server`` header.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import sys
from typing import Any

import tornado.web
from telegram import Update
from tornado.httpserver import HTTPServer

from psgbot.app import BotApplication

log = logging.getLogger(__name__)

# Telegram's updates are a few kilobytes; the largest (a long message with entities, a poll) stay
# far below this.
MAX_BODY = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# A body must arrive within this many seconds, and an idle kept-alive connection is closed after
# the other: a client cannot hold connections open for free.
BODY_TIMEOUT = 30.0
IDLE_TIMEOUT = 120.0


class QuietHandler(tornado.web.RequestHandler):
    """Says nothing about the server, and answers errors with the status alone."""

    def set_default_headers(self) -> None:
        self.clear_header("Server")
        # Every answer is a bare status; Tornado's default would call the empty body HTML.
        self.clear_header("Content-Type")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish()


@tornado.web.stream_request_body
class NotFound(QuietHandler):
    """Any other path: 404 from the headers, the body left unread."""

    def prepare(self) -> None:
        raise tornado.web.HTTPError(404)


@tornado.web.stream_request_body
class UpdateHandler(QuietHandler):
    """The webhook's path: POSTed updates, each checked before its body is read."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, bot_application: BotApplication, secret: str) -> None:
        self.bot_application = bot_application
        self.secret = secret.encode()
        self.body = bytearray()

    def prepare(self) -> None:
        # Compared as bytes: compare_digest refuses a str with non-ASCII characters.
        given = self.request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret):
            raise tornado.web.HTTPError(403)
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.partition(";")[0].strip().lower() != "application/json":
            raise tornado.web.HTTPError(415)
        length = self.request.headers.get("Content-Length")
        if length is not None and not (length.isascii() and length.isdigit()):
            raise tornado.web.HTTPError(400)
        if length is not None and int(length) > MAX_BODY:
            raise tornado.web.HTTPError(413)

    def data_received(self, chunk: bytes) -> None:
        # Tornado stops calling this once a response is finished.
        if len(self.body) + len(chunk) > MAX_BODY:
            # A chunked body without a length: refused as it crosses the limit.
            self.send_error(413)
            return
        self.body += chunk

    async def post(self) -> None:
        bot = self.bot_application.bot
        try:
            data = json.loads(self.body)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            # de_json raises whatever a malformed object makes it raise (TypeError, KeyError,
            # AttributeError...): any of them means "not an update".
            update = Update.de_json(data, bot)
        except Exception as exc:
            log.warning(
                "webhook: a request with the secret held no update (%s)", type(exc).__name__
            )
            raise tornado.web.HTTPError(400) from None
        await self.bot_application.update_queue.put(update)


def log_request(handler: tornado.web.RequestHandler) -> None:
    # The path is left out: with a random path in the URL, it is half a secret.
    log.debug("webhook %s answered %d", handler.request.method, handler.get_status())


def create_server(application: BotApplication, path: str, secret: str) -> HTTPServer:
    """The listener for ``/<path>``; not yet bound to a port."""
    routes = [
        (
            rf"/{re.escape(path.strip('/'))}/?" if path.strip("/") else r"/",
            UpdateHandler,
            {"bot_application": application, "secret": secret},
        )
    ]
    app = tornado.web.Application(routes, default_handler_class=NotFound, log_function=log_request)
    return HTTPServer(
        app,
        idle_connection_timeout=IDLE_TIMEOUT,
        body_timeout=BODY_TIMEOUT,
        # Every handler streams and refuses from the headers, so Tornado never buffers a body;
        # its own size check would only answer a second time (400) after the handler's 413.
        max_body_size=sys.maxsize,
        max_buffer_size=4 * MAX_BODY,
    )


class Webhook:
    """Updates POSTed by Telegram: the listener, and ``setWebhook`` pointing Telegram at it.

    Started only on the active instance (psgbot.topology): a standby neither listens nor
    registers, and an instance taking over registers the webhook again, so Telegram's calls
    follow the active one even when each instance has its own URL.
    """

    polling = False

    def __init__(
        self,
        *,
        listen: str,
        port: int,
        path: str,
        url: str,
        secret: str,
        allowed_updates: list[str],
    ) -> None:
        self.listen = listen
        self.port = port
        self.path = path
        self.url = url
        self.secret = secret
        self.allowed_updates = allowed_updates
        self._server: HTTPServer | None = None

    async def start(self, application: BotApplication) -> None:
        self._server = create_server(application, self.path, self.secret)
        self._server.listen(self.port, address=self.listen)
        try:
            await application.bot.set_webhook(
                url=self.url, secret_token=self.secret, allowed_updates=self.allowed_updates
            )
        except BaseException:
            await self.stop()
            raise
        log.info("webhook registered; listening on %s:%s", self.listen, self.port)

    async def stop(self) -> None:
        """Closes the listener: no new updates; those already queued are still handled."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()
            await server.close_all_connections()
