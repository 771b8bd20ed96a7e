"""Drives the real Application with updates and reads back what the bot sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psgbot.alerts.dispatcher import Dispatcher
from psgbot.app import BotApplication
from psgbot.offline import ApiCall
from psgbot.offline_updates import UpdateFactory
from psgbot.services import Services, services_of
from support.transport import RecordingBotApi


@dataclass
class BotHarness:
    app: BotApplication
    api: RecordingBotApi
    updates: UpdateFactory

    @property
    def services(self) -> Services:
        return services_of(self.app)

    def dispatcher(self, **kwargs: Any) -> Dispatcher:
        """A dispatcher on the bot, for tests to drive batch by batch."""
        kwargs.setdefault("worker", "test")
        kwargs.setdefault("idle_wait", 0.01)
        return Dispatcher(self.services, self.app.bot, **kwargs)

    async def deliver(self, **kwargs: Any) -> list[ApiCall]:
        """Sends everything due in the outbox; returns the calls made."""
        before = len(self.api.calls)
        await self.dispatcher(**kwargs).drain()
        return self.api.calls[before:]

    async def send(self, text: str, **kwargs: Any) -> list[ApiCall]:
        """Delivers a message as Telegram would; returns the calls the bot made in answer."""
        before = len(self.api.calls)
        await self.app.process_update(self.updates.message(text, **kwargs))
        return self.api.calls[before:]

    async def press(self, data: str, **kwargs: Any) -> list[ApiCall]:
        before = len(self.api.calls)
        await self.app.process_update(self.updates.button_press(data, **kwargs))
        return self.api.calls[before:]

    async def inline(self, query: str, **kwargs: Any) -> ApiCall:
        """Sends an inline query as Telegram would; returns the bot's answerInlineQuery."""
        before = len(self.api.calls)
        await self.app.process_update(self.updates.inline_query(query, **kwargs))
        (answer,) = [c for c in self.api.calls[before:] if c.method == "answerInlineQuery"]
        return answer

    async def reply_texts(self, text: str, **kwargs: Any) -> list[str]:
        calls = await self.send(text, **kwargs)
        return [call.text or "" for call in calls if call.text is not None]
