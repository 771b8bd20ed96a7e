"""Driving /broadcast as an admin would, and ``psgbot broadcast`` as a script would."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from sqlalchemy import select

from psgbot.db.models import Broadcast
from support.harness import BotHarness


def owner(bot: BotHarness) -> int:
    """The admin who broadcasts: the first of PSGBOT_ADMINS."""
    return bot.services.settings.admins[0]


async def compose(
    bot: BotHarness, audience: str = "aud:all", text: str = "Hello supporters", **message: object
) -> None:
    """/broadcast up to the preview, as the owner: the audience pressed, the message sent."""
    admin = owner(bot)
    (intro,) = await bot.send("/broadcast", chat_id=admin)
    assert "Who should receive it?" in (intro.text or "")
    await bot.press(f"adm:bc:{audience}", chat_id=admin)
    calls = await bot.send(text, chat_id=admin, **message)
    assert "Preview" in (calls[-1].text or "")


async def send_now(bot: BotHarness) -> list[str]:
    """Send now, then Yes under "Send to N chats?"; returns the texts the bot showed."""
    admin = owner(bot)
    calls = await bot.press("adm:bc:send", chat_id=admin)
    calls += await bot.press("adm:bc:confirm", chat_id=admin)
    return [call.text for call in calls if call.text]


async def latest_broadcast(bot: BotHarness) -> Broadcast:
    async with bot.services.sessions() as session:
        broadcast = await session.scalar(select(Broadcast).order_by(Broadcast.id.desc()))
    assert broadcast is not None
    return broadcast


async def asyncio_subprocess(
    command: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Runs a command without blocking the event loop the bot under test runs on."""
    process = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    return subprocess.CompletedProcess(
        command, process.returncode or 0, stdout.decode(), stderr.decode()
    )
