"""The offline chat: the real Application, with the terminal standing in for Telegram.

What you type is delivered to the bot as messages from one private chat; the bot's replies are
printed, inline keyboards as numbered buttons that you press by typing their number. When
standard input is not a terminal, lines are read as a script, replies are printed without prompts
or colour, and the console exits at the end of input once every reply is out.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any, TextIO

from telegram import Update

from psgbot.app import BotApplication, build_application, running
from psgbot.feeds.poll import poll_all
from psgbot.metrics import HealthProbe
from psgbot.offline import (
    EDITING_METHODS,
    SENDING_METHODS,
    ApiCall,
    OfflineBotApi,
)
from psgbot.offline_updates import UpdateFactory
from psgbot.render.markup import html_to_text
from psgbot.services import Services, services_of
from psgbot.topology import start_health

CONSOLE_CHAT_ID = 4242


class ConsoleBotApi(OfflineBotApi):
    """Prints what the bot sends and remembers the buttons of the last keyboard shown."""

    def __init__(self, out: TextIO, *, color: bool) -> None:
        super().__init__()
        self.out = out
        self.color = color
        # Each numbered button: its callback data (or URL) and the message it belongs to.
        self.buttons: list[tuple[dict[str, Any], int]] = []

    def on_call(self, call: ApiCall) -> None:
        if call.method in SENDING_METHODS or call.method in EDITING_METHODS:
            self.show_message(call)
        elif call.method == "answerCallbackQuery" and call.params.get("text"):
            self.write(f"  ({call.params['text']})")
        elif call.method == "sendChatAction":
            return

    def show_message(self, call: ApiCall) -> None:
        params = call.params
        body = params.get("text") or params.get("caption") or ""
        if call.method == "sendDocument":
            body = f"[file] {body}".strip()
        elif call.method == "sendVenue":
            body = f"[place] {params.get('title')}, {params.get('address')}"
        text = (
            html_to_text(str(body), color=self.color)
            if params.get("parse_mode") == "HTML"
            else str(body)
        )
        if call.method in EDITING_METHODS:
            text = "(edited) " + text
        self.write(text)
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            message_id = int(call.result["message_id"]) if isinstance(call.result, dict) else 0
            self.show_keyboard(markup["inline_keyboard"], message_id)

    def show_keyboard(self, rows: list[list[dict[str, Any]]], message_id: int) -> None:
        self.buttons = []
        for row in rows:
            labels = []
            for button in row:
                self.buttons.append((button, message_id))
                labels.append(f"[{len(self.buttons)}] {button['text']}")
            self.write("  " + "   ".join(labels))

    def write(self, text: str) -> None:
        self.out.write(text + "\n\n")
        self.out.flush()


async def run_console(
    services: Services, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout
) -> None:
    interactive = stdin.isatty() and out.isatty()
    api = ConsoleBotApi(out, color=interactive)
    application = build_application(services, request=api)
    async with running(application):
        # Off unless PSGBOT_METRICS_PORT is set: the console is one instance, always active.
        jobs = application.job_queue
        probe = HealthProbe(
            services, lambda: bool(jobs and jobs.scheduler.running), time.monotonic()
        )
        health = start_health(services, probe)
        try:
            await _chat(application, api, stdin, interactive, out)
        finally:
            if health is not None:
                health.stop()


async def _chat(
    application: BotApplication, api: ConsoleBotApi, stdin: TextIO, interactive: bool, out: TextIO
) -> None:
    # News first, so the very first /latest has something to show.
    await poll_all(services_of(application))
    factory = UpdateFactory(
        application.bot, language_code=services_of(application).settings.console_language
    )
    if interactive:
        out.write("PSG bot, offline. Type /start (Ctrl-D to quit).\n\n")
    while True:
        line = await asyncio.to_thread(_read_line, stdin, interactive)
        if line is None:
            break
        update = _update_for(line.strip(), api, factory)
        if update is not None:
            await application.process_update(update)


def _read_line(stdin: TextIO, interactive: bool) -> str | None:
    if interactive:
        try:
            return input("you> ")
        except EOFError:
            return None
    line = stdin.readline()
    return line if line else None


def _update_for(line: str, api: ConsoleBotApi, factory: UpdateFactory) -> Update | None:
    if not line:
        return None
    if line.isdigit() and 1 <= int(line) <= len(api.buttons):
        button, message_id = api.buttons[int(line) - 1]
        if "url" in button:
            api.write(f"  (opens {button['url']})")
            return None
        return factory.button_press(
            str(button.get("callback_data", "")), message_id=message_id, chat_id=CONSOLE_CHAT_ID
        )
    return factory.message(line, chat_id=CONSOLE_CHAT_ID)
