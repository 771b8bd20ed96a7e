"""One message to Telegram under the send-error policy, so the process never dies of one.

Telegram's RetryAfter pauses and retries the same message (then, past a limit, puts it back
for later); network errors retry with backoff, then fail with their reason; a chat that blocked
or dropped the bot is marked inactive; a migrated group moves to its new id; an HTML parse error
resends as plain text; a forum thread Telegram no longer knows ("message thread not found":
deleted) is dropped, the message going to the General topic once, and the thread is cleared
from the chat's subscriptions. A message to be pinned is pinned once sent; a pin Telegram
refuses leaves the message sent (it is logged, and counted by the dispatcher), never sent
again.

An alert's picture is a URL Telegram fetches. When Telegram answers sendPhoto with a 400 not
plainly about the chat, the thread or the text, the same message goes at once as text with its
article's preview: one more call, and the row gets one outcome, the text send's. The picture
is taken as refused only when that text send succeeds, which proves the picture was the
problem ("wrong file identifier/HTTP URL specified", "failed to get HTTP URL content",
"IMAGE_PROCESS_FAILED", ...), and the 400 named neither the caption nor the chat
(``NOT_PROVEN``); a text send that fails too ("PEER_ID_INVALID", "CHANNEL_PRIVATE") refuses
nothing. A refusal is recorded on the item (``Effects.refused_images``), so no later alert of it
tries the picture again, and remembered here meanwhile, so the rest of a fan-out already
rendered goes straight to text.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ExtBot
from telegram.warnings import PTBUserWarning

from psgbot.alerts.sends import Send
from psgbot.db.enums import DeliveryStatus
from psgbot.outbox import Claimed, Outcome
from psgbot.render.markup import html_to_text

log = logging.getLogger(__name__)
# Sender.send_text calls sendMessage through do_api_request on purpose (see there).
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.sendMessage'", category=PTBUserWarning)

MAX_RETRY_AFTER_WAITS = 10
# Words (lower case) of a 400 to sendPhoto plainly about something other than the picture: the
# chat (not found, blocked, no right to post), the forum thread, or the text (its HTML,
# entities, buttons). The text message would meet the same, so it is handled as any send's
# error. Any other 400 may be the picture's (Telegram could not fetch it, "failed to get HTTP
# URL content", or what it got is no picture it takes, "IMAGE_PROCESS_FAILED", a list no one can
# keep complete) or not ("PEER_ID_INVALID"): the message goes as text, and only the text send's
# success shows the picture was at fault.
NOT_THE_PICTURE = (
    "chat",
    "blocked",
    "kicked",
    "deactivated",
    "rights",
    "thread",
    "topic",
    "entities",
    "entity",
    "parse_mode",
    "button",
    "markup",
)
# A chat whose members may send no photos: its alert goes as text, the picture stays good for
# other chats.
PHOTOS_FORBIDDEN = "not enough rights to send photos"
# Words (lower case) of a 400 to sendPhoto that a successful text send does not pin on the
# picture: the caption (the text message has none: "MEDIA_CAPTION_TOO_LONG", "message caption is
# too long"), a reply, the peer or channel ("PEER_ID_INVALID", "CHANNEL_PRIVATE",
# "USER_BANNED_IN_CHANNEL"), should Telegram take the text where it refused the photo.
NOT_PROVEN = ("caption", "too long", "reply", "peer", "channel", "user_banned")
# Pictures refused while this process runs, remembered at most this many at once.
REFUSED_REMEMBERED = 1000
PENDING, SENT = DeliveryStatus.PENDING, DeliveryStatus.SENT
FAILED = DeliveryStatus.FAILED


@dataclass
class Effects:
    """Changes to chats that sends revealed, applied with the outcomes."""

    deactivated: dict[int, str] = field(default_factory=dict)
    migrated: dict[int, int] = field(default_factory=dict)
    # Forum threads Telegram no longer knows, as (chat, thread).
    lost_threads: set[tuple[int, int]] = field(default_factory=set)
    # Items whose picture Telegram refused to fetch, with its reason.
    refused_images: dict[int, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.deactivated or self.migrated or self.lost_threads or self.refused_images)

    def merge(self, later: Effects) -> None:
        """Takes in effects found after these (theirs win where both name a chat)."""
        self.migrated = {**self.migrated, **later.migrated}
        self.deactivated = {**self.deactivated, **later.deactivated}
        self.lost_threads |= later.lost_threads
        self.refused_images = {**self.refused_images, **later.refused_images}


@dataclass
class Sender:
    """Sends through ``bot``; ``clock`` and ``sleep`` are the dispatcher's (tests move them)."""

    bot: ExtBot[Any]
    clock: Callable[[], datetime]
    sleep: Callable[[float], Awaitable[None]]
    max_attempts: int
    # allow_paid_broadcast, when PSGBOT_PAID_BROADCAST is on
    send_kwargs: dict[str, Any] = field(default_factory=dict)
    # Alert pictures Telegram refused (URLs): other alerts of the item go straight to text.
    refused_images: set[str] = field(default_factory=set)

    async def deliver(self, send: Send, effects: Effects) -> list[Outcome]:
        """Sends one message under the error policy; returns the outcome of each row it covers."""
        chat_id, text, thread = send.chat_id, send.text, send.thread_id
        parse_mode: str | None = None if send.entities is not None else "HTML"
        photo = send.photo
        if send.image_of is not None and photo in self.refused_images:
            photo = None
        # The picture and the 400 sendPhoto met, while the text send that follows decides
        # whether the picture was at fault (it was, if the text goes through as it stands).
        suspect: tuple[str, str] | None = None
        waits = 0
        while True:
            try:
                message_id = await self._send(chat_id, text, parse_mode, send, photo, thread)
            except RetryAfter as exc:
                waits += 1
                seconds = _seconds(exc.retry_after)
                if waits > MAX_RETRY_AFTER_WAITS:
                    later = self.clock() + timedelta(seconds=seconds)
                    return _all(send, PENDING, due_at=later)
                await self.sleep(seconds)
            except ChatMigrated as exc:
                suspect = None  # the text went elsewhere than the photo: it proves nothing
                effects.migrated[chat_id] = exc.new_chat_id
                chat_id = exc.new_chat_id
            except Forbidden as exc:
                effects.deactivated[chat_id] = exc.message
                return _all(send, FAILED, error=f"blocked: {exc.message}")
            except BadRequest as exc:
                reason = exc.message.lower()
                if "message thread not found" in reason and thread is not None:
                    effects.lost_threads.add((chat_id, thread))
                    thread, suspect = None, None  # the General topic, once
                    continue
                if photo and send.image_of is not None and _picture_refused(reason):
                    if _may_be_the_picture(reason):
                        suspect = (photo, exc.message)
                    photo = None
                    continue
                if "chat not found" in reason:
                    effects.deactivated[chat_id] = exc.message
                elif "parse entities" in reason and parse_mode is not None:
                    text, parse_mode, suspect = html_to_text(text), None, None
                    continue
                return _all(send, FAILED, error=exc.message)
            except (NetworkError, TimeoutError) as exc:
                return [self._retry_later(row, str(exc) or type(exc).__name__) for row in send.rows]
            except TelegramError as exc:
                return _all(send, FAILED, error=exc.message)
            except Exception as exc:  # never let one message take the process down
                log.exception("unexpected error sending to %s", chat_id)
                return _all(send, FAILED, error=type(exc).__name__)
            else:
                if suspect is not None and send.image_of is not None:
                    self._refused(suspect[0], send.image_of, suspect[1], effects)
                pinned = await self._pin(chat_id, message_id, send) if send.pin else None
                return _all(send, SENT, message_id=message_id, pinned=pinned)

    async def _pin(self, chat_id: int, message_id: int, send: Send) -> bool:
        """Pins a message just sent, notifying the group (only urgent broadcasts are pinned);
        False when it stays unpinned. Whatever happens here, the message was delivered."""
        waits = 0
        while True:
            try:
                await self.bot.pin_chat_message(
                    chat_id,
                    message_id,
                    disable_notification=False,
                    **self._limited(send, paid=False),
                )
                return True
            except RetryAfter as exc:
                waits += 1
                if waits > MAX_RETRY_AFTER_WAITS:
                    reason = "flood control"
                    break
                await self.sleep(_seconds(exc.retry_after))
            except TelegramError as exc:  # e.g. "not enough rights to manage pinned messages"
                reason = exc.message
                break
            except Exception as exc:
                reason = type(exc).__name__
                break
        # The chat's id and Telegram's reason only: no message text, no token.
        log.warning("could not pin message %s in chat %s: %s", message_id, chat_id, reason)
        return False

    def _refused(self, photo: str, item_id: int, reason: str, effects: Effects) -> None:
        if len(self.refused_images) >= REFUSED_REMEMBERED:
            self.refused_images.clear()
        self.refused_images.add(photo)
        effects.refused_images[item_id] = reason
        # The item's id and Telegram's reason only: the URL may carry what the feed put in it.
        log.info("picture of item %s refused, sent as text: %s", item_id, reason)

    async def _send(
        self,
        chat_id: int,
        text: str,
        parse_mode: str | None,
        send: Send,
        photo: str | None,
        thread: int | None,
    ) -> int:
        if not photo:
            return await self.send_text(chat_id, text, parse_mode, send, thread)
        message = await self.bot.send_photo(
            chat_id,
            photo,
            caption=text or None,
            parse_mode=parse_mode,
            caption_entities=send.entities,
            reply_markup=send.markup,
            disable_notification=send.silent or None,
            message_thread_id=thread,
            **self._limited(send),
        )
        return message.message_id

    def _limited(self, send: Send, *, paid: bool = True) -> dict[str, Any]:
        kwargs = dict(self.send_kwargs) if paid else {}
        if self.bot.rate_limiter is not None:
            kwargs["rate_limit_args"] = send.priority
        return kwargs

    async def send_text(
        self,
        chat_id: int,
        text: str,
        parse_mode: str | None,
        send: Send,
        thread: int | None = None,
    ) -> int:
        """Sends a text message; returns Telegram's id for it.

        The outbox keeps the message id alone, so Telegram's answer is not parsed into a
        Message: at a fan-out's pace that parsing was a third of the dispatcher's CPU
        (bench/scale.py). Everything else (flood limiter, errors raised) is as send_message's.
        """
        # Previews are off (as for every reply: psgbot.app's Defaults) unless the send names one.
        preview = send.preview.to_dict() if send.preview is not None else {"is_disabled": True}
        params: dict[str, Any] = {"chat_id": chat_id, "text": text, "link_preview_options": preview}
        if parse_mode:
            params["parse_mode"] = parse_mode
        if thread is not None:
            params["message_thread_id"] = thread
        if send.entities is not None:
            params["entities"] = [entity.to_dict() for entity in send.entities]
        if send.markup is not None:
            params["reply_markup"] = send.markup_json or send.markup.to_dict()
        if send.silent:
            params["disable_notification"] = True
        params.update(self.send_kwargs)
        result = await self.bot.do_api_request(
            "sendMessage",
            params,
            rate_limit_args=send.priority if self.bot.rate_limiter is not None else None,
        )
        return int(result["message_id"])

    def _retry_later(self, row: Claimed, reason: str) -> Outcome:
        attempts = row.attempts + 1
        if attempts >= self.max_attempts:
            error = f"gave up after {attempts} attempts: {reason}"
            return Outcome(row.id, FAILED, error=error, attempts=attempts)
        backoff = timedelta(seconds=min(2**attempts, 300))
        due_at = self.clock() + backoff
        return Outcome(row.id, PENDING, error=reason, due_at=due_at, attempts=attempts)


def _all(send: Send, status: DeliveryStatus, **details: Any) -> list[Outcome]:
    """The same outcome for every row the message stands for (a digest covers several)."""
    return [Outcome(row.id, status, **details) for row in send.rows]


def _picture_refused(reason: str) -> bool:
    """Whether a 400 to sendPhoto (its description, lower case) lets the text go instead."""
    return PHOTOS_FORBIDDEN in reason or not any(word in reason for word in NOT_THE_PICTURE)


def _may_be_the_picture(reason: str) -> bool:
    """Whether a 400 to sendPhoto (lower case), the text then taken, blames the picture."""
    return PHOTOS_FORBIDDEN not in reason and not any(word in reason for word in NOT_PROVEN)


def _seconds(value: object) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)  # type: ignore[arg-type]
