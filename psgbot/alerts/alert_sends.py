"""A claimed batch's alerts, rendered per chat: each alert as every chat it goes to gets it
(in the chat's language and zone, with its picture when it fits), several at once as one list,
a chat's held alerts as its digest or quiet-hours catch-up. One chat's alert that cannot be
rendered fails that chat's rows alone."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup

from psgbot.alerts.batch import Batch, Send, Stored
from psgbot.db.enums import DeliveryStatus, DigestMode
from psgbot.db.models import ALL_NEWS, Item, Subscription
from psgbot.i18n import Language, using
from psgbot.outbox import Claimed, Outcome
from psgbot.preferences import Gathering, gathering, zone_named
from psgbot.render.digests import gathered_messages
from psgbot.render.news import (
    alert_caption,
    alert_keyboard,
    alert_message,
    article_preview,
    digest_message,
)
from psgbot.render.watches import watching_line
from psgbot.services import Services
from psgbot.watches import WatchedPhrases

log = logging.getLogger(__name__)

FAILED = DeliveryStatus.FAILED
# More alerts than this for one chat (not a channel) at once go as one message.
DIGEST_THRESHOLD = 3


async def add_alerts(
    session: AsyncSession,
    services: Services,
    batch: Batch,
    alerts_by_chat: dict[int, list[Claimed]],
    stored: Stored,
    gathered: Collection[int],
    share: bool,
) -> None:
    """Each chat's alerts, or one digest past the threshold (never in a channel); a gathered
    chat's held alerts as its digest. A fan-out sends one item to many chats: each (item, topic
    or watch, zone, language) is rendered once per batch.

    In a forum, an alert goes to the thread of the subscription that brought it (read now, so
    a topic moved to another thread takes its waiting alerts along); the threshold counts each
    thread's alerts apart. A channel's alerts have no buttons that act (see alert_keyboard)."""
    followed = await _followed(session, set(alerts_by_chat))
    # Only an alert no topic (nor all news) brought names the watch that did: the watches of
    # the chats with one are read, and a topic's fan-out reads none.
    by_watch = {
        chat_id
        for chat_id, rows in alerts_by_chat.items()
        if ALL_NEWS not in followed[chat_id]
        and any(
            not followed[chat_id].keys() & stored.items[row.item_id].topic_slugs
            for row in rows
            if row.item_id is not None
        )
    }
    alerting = _Alerting(
        services,
        stored,
        gathered,
        share,
        followed=followed,
        watching=await WatchedPhrases.load(session, by_watch),
    )
    for chat_id, rows in alerts_by_chat.items():
        # One chat's alert that cannot be rendered fails that chat's rows, not the batch (the
        # other chats' alerts, and the rows left leased to fail again on every claim).
        try:
            sends = alerting.chat_sends(chat_id, rows)
        except Exception as error:
            # The type alone: a message may quote the item's text.
            log.error(
                "Alerts for chat %s could not be rendered (%s); %s rows failed",
                chat_id,
                type(error).__name__,
                len(rows),
            )
            reason = f"not rendered: {type(error).__name__}"
            batch.outcomes += [Outcome(row.id, FAILED, error=reason) for row in rows]
        else:
            batch.sends += sends


_RenderKey = tuple[int, str | None, str | None, str, Language, bool]


@dataclass
class _Alerting:
    """What rendering a batch's alerts needs, read once for all its chats."""

    services: Services
    stored: Stored
    gathered: Collection[int]
    share: bool
    followed: dict[int, dict[str, int | None]]
    watching: WatchedPhrases
    # Each (item, topic or watch, zone, language, channel) rendered once per batch.
    rendered: dict[_RenderKey, Send] = field(default_factory=dict)

    def chat_sends(self, chat_id: int, rows: list[Claimed]) -> list[Send]:
        """One chat's alerts (see _add_alerts)."""
        services, followed = self.services, self.followed[chat_id]
        chat = self.stored.chats.get(chat_id)
        language = chat.language if chat else Language.EN
        mode = chat.digest if chat else DigestMode.INSTANT
        zone = (zone_named(chat.timezone) if chat and chat.timezone else None) or (
            services.settings.zone
        )
        chat_items = [self.stored.items[row.item_id] for row in rows if row.item_id is not None]
        if chat_id in self.gathered:
            quiet = chat.quiet if chat else (None, None)
            why = gathering(mode, quiet, zone, [row.due_at for row in rows])
            with using(language):
                return _gathered(services, chat_id, rows, chat_items, why, zone)
        threads: dict[int | None, list[tuple[Claimed, Item, str | None, str | None]]] = {}
        for row, item in zip(rows, chat_items, strict=True):
            matched = next((s for s in item.topic_slugs if s in followed), None)
            if matched is None and ALL_NEWS in followed:
                matched = ALL_NEWS
            # Neither a topic nor all news: a watch brought it, and the alert says which.
            phrase = self.watching.phrase(chat_id, item) if matched is None else None
            thread = followed.get(matched) if matched is not None else None
            threads.setdefault(thread, []).append((row, item, matched, phrase))
        in_channel = chat is not None and chat.channel
        sends: list[Send] = []
        for thread, alerts in threads.items():
            # A channel posts each item as its own post, however many come at once: its flood
            # window paces them, and its readers share and link posts one by one.
            if len(alerts) > DIGEST_THRESHOLD and not in_channel:
                with using(language):
                    text = digest_message([item for _row, item, *_ in alerts], services.taxonomy)
                sends.append(Send(chat_id, [row for row, *_ in alerts], text, thread_id=thread))
                continue
            for row, item, matched, phrase in alerts:
                key = (item.id, matched, phrase, zone.key, language, in_channel)
                if key not in self.rendered:
                    with using(language):
                        self.rendered[key] = _alert_model(
                            services,
                            item,
                            matched,
                            phrase,
                            zone,
                            share=self.share,
                            channel=in_channel,
                        )
                sends.append(
                    replace(self.rendered[key], chat_id=chat_id, rows=[row], thread_id=thread)
                )
        return sends


def _alert_model(
    services: Services,
    item: Item,
    matched: str | None,
    phrase: str | None,
    zone: ZoneInfo,
    *,
    share: bool,
    channel: bool,
) -> Send:
    """An alert as every chat it goes to gets it: with the item's picture as a photo when its
    text fits a caption and Telegram has not refused the picture, else as text with a large
    preview of the article."""
    text, markup = render_alert(services, item, matched, phrase, zone, share=share, channel=channel)
    shared = markup.to_dict() if markup else None
    picture = item.image_url if item.image_refused_at is None else None
    photo = picture if picture and alert_caption(text) is not None else None
    return Send(
        0,
        [],
        text,
        markup,
        photo=photo,
        preview=article_preview(item),
        image_of=item.id if photo else None,
        markup_json=shared,
    )


def _gathered(
    services: Services,
    chat_id: int,
    rows: list[Claimed],
    chat_items: list[Item],
    why: Gathering,
    zone: ZoneInfo,
) -> list[Send]:
    """A chat's held alerts as one message (more only past Telegram's limit), oldest first."""
    by_item = {row.item_id: row for row in rows}
    ordered = sorted(chat_items, key=lambda item: (item.sort_at, item.id))
    return [
        Send(chat_id, [by_item[item_id] for item_id in item_ids], text)
        for text, item_ids in gathered_messages(ordered, why, services.taxonomy, zone)
    ]


async def _followed(session: AsyncSession, chat_ids: set[int]) -> dict[int, dict[str, int | None]]:
    """Each chat's topics, with the forum thread each one's alerts go to."""
    followed: dict[int, dict[str, int | None]] = defaultdict(dict)
    if chat_ids:
        subscriptions = await session.execute(
            select(Subscription.chat_id, Subscription.topic, Subscription.thread_id).where(
                Subscription.chat_id.in_(chat_ids)
            )
        )
        for chat_id, topic, thread_id in subscriptions:
            followed[chat_id][topic] = thread_id
    return followed


def render_alert(
    services: Services,
    item: Item,
    matched: str | None,
    watching: str | None = None,
    zone: ZoneInfo | None = None,
    *,
    share: bool = False,
    channel: bool = False,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The alert text (dates in ``zone``, else the PSG's) and its buttons: Read more, and
    Unsubscribe from what brought it (or, when a watch brought it, a line naming the watch),
    and Share when ``share``; in a ``channel``, Read more alone."""
    taxonomy = services.taxonomy
    topic = taxonomy.get(matched) if matched else None
    text = alert_message(item, taxonomy, zone or services.settings.zone, topic)
    if watching is not None:
        text += "\n\n" + watching_line(watching)
    keyboard = alert_keyboard(
        item,
        topic,
        all_news=matched == ALL_NEWS,
        taxonomy=taxonomy,
        share=share,
        channel=channel,
    )
    return text, keyboard
