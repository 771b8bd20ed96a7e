"""A dispatcher in its own process, for crash and concurrency tests.

Usage: python dispatch_worker.py DATABASE_URL LOG_FILE [--batch N] [--lease SECONDS]
Sends the outbox through an in-process Bot API that appends "chat_id worker" to LOG_FILE the
moment it accepts a message (before the dispatcher hears back), then exits once the outbox is
empty. A SIGKILL at any point leaves the log as Telegram would have seen it.

Each call is held to Telegram's rules (support/bot_api_rules.py); a broken one is answered as
Telegram would and written to the file named by TELEGRAM_RULES_LOG, which the test's
``telegram_rules`` fixture reads.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from telegram.ext import ExtBot

from psgbot.alerts.dispatcher import Dispatcher
from psgbot.alerts.limits import FloodLimiter
from psgbot.app import OFFLINE_TOKEN
from psgbot.config import load_settings
from psgbot.offline import ApiCall, ApiError, OfflineBotApi
from psgbot.outbox import outbox_depth
from psgbot.services import Services

sys.path.insert(0, str(Path(__file__).parents[1]))  # run as a script: tests/ holds support/
from support.bot_api_rules import check_call, refusal


class LoggingBotApi(OfflineBotApi):
    def __init__(self, log_path: str, worker: str, delay: float) -> None:
        super().__init__()
        self.fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.worker = worker
        self.delay = delay

    async def answer(self, call: ApiCall) -> Any:
        violations = check_call(call.method, call.params)
        if violations and (rules_log := os.environ.get("TELEGRAM_RULES_LOG")):
            lines = "".join(f"{violation} (dispatch worker)\n" for violation in violations)
            fd = os.open(rules_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, lines.encode())
            finally:
                os.close(fd)
        refused = refusal(violations)
        if refused is not None:
            raise ApiError(refused.status or 400, refused.description)
        result = await super().answer(call)
        if call.method == "sendMessage":
            await asyncio.sleep(self.delay)  # the time a real send takes
            os.write(self.fd, f"{call.chat_id} {self.worker}\n".encode())
        return result


async def start_together(log: Path, worker: str, workers: int) -> None:
    """Waits until ``workers`` workers are ready, so that a slow start (imports on a busy
    machine) cannot leave one worker the whole outbox."""
    (log.parent / f"{log.name}.ready.{worker}").touch()
    for _wait in range(1200):
        if len(list(log.parent.glob(f"{log.name}.ready.*"))) >= workers:
            return
        await asyncio.sleep(0.05)
    raise SystemExit(f"{worker}: the other workers never got ready")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("log_file")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--lease", type=float, default=1.0)
    parser.add_argument("--delay", type=float, default=0.004)
    parser.add_argument(
        "--together", type=int, default=1, help="start sending once this many workers are ready"
    )
    args = parser.parse_args()
    worker = f"w{os.getpid()}"
    settings = load_settings(database_url=args.database_url, rate_limit=0, _env_file=None)
    services = Services.create(settings)
    bot: ExtBot[Any] = ExtBot(
        OFFLINE_TOKEN,
        request=LoggingBotApi(args.log_file, worker, args.delay),
        rate_limiter=FloodLimiter(overall_per_second=0),
    )
    await bot.initialize()
    dispatcher = Dispatcher(
        services,
        bot,
        worker=worker,
        batch_size=args.batch,
        lease=timedelta(seconds=args.lease),
        concurrency=8,
    )
    await start_together(Path(args.log_file), worker, args.together)
    while True:
        handled = await dispatcher.drain()
        async with services.sessions() as session:
            if await outbox_depth(session) == 0:
                break
        if handled == 0:
            await asyncio.sleep(0.05)  # rows held by a dead worker wait for their lease
    await bot.shutdown()
    await services.close()


if __name__ == "__main__":
    asyncio.run(main())
