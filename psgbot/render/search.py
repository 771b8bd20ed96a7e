"""Search results, inline results and Share buttons: Telegram HTML and buttons."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from telegram import (
    Bot,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
)
from telegram.constants import ParseMode

from psgbot.db.models import Item
from psgbot.i18n import _, ngettext
from psgbot.render.buttons import SEARCH_MORE
from psgbot.render.markup import escape, pack, shorten
from psgbot.render.news import alert_message, item_block, long_date, share_rows
from psgbot.search import SearchPage
from psgbot.topics import Taxonomy

# What the user typed, as shown back ("Searching the archive for …").
SHOWN_WORDS_LIMIT = 60
# Inline results: a title and a line of description, as a phone shows them.
INLINE_TITLE_LIMIT = 100
INLINE_DESCRIPTION_LIMIT = 120


def no_words_message() -> str:
    return _("Type the words to look for, for example <code>/search Las Bambas</code>.")


def search_messages(
    page: SearchPage, shown: str, taxonomy: Taxonomy, zone: ZoneInfo, *, intro: bool = False
) -> list[str]:
    """One page of results (numbered across pages), with a heading; ``intro`` says that words
    typed in a private chat were taken as a search."""
    words = escape(shorten(shown, SHOWN_WORDS_LIMIT))
    heading: list[str] = []
    if intro:
        heading.append(
            _("🔎 Searching the archive for “{words}”; /help lists the commands.").format(
                words=words
            )
        )
    if page.total == 0:
        heading.append(
            _(
                "Nothing in the archive matches “{words}”. Try fewer or other words, or "
                "/latest for the newest items."
            ).format(words=words)
        )
        return ["\n\n".join(heading)]
    if not page.items:
        return [_("No more results for “{words}”.").format(words=words)]
    last = page.first_number + len(page.items) - 1
    found = ngettext(
        "🔎 <b>{count} item</b> for “{words}”", "🔎 <b>{count} items</b> for “{words}”", page.total
    ).format(count=page.total, words=words)
    if page.total > len(page.items):
        found += " " + _("({first}–{last})").format(first=page.first_number, last=last)
    heading.append(found)
    blocks = [
        f"<b>{number}.</b> {item_block(item, taxonomy, zone)}"
        for number, item in enumerate(page.items, start=page.first_number)
    ]
    if page.page > 1 and not page.has_more:
        blocks.append(_("That is all: no more results."))
    return pack(["\n\n".join(heading), *blocks])


def search_keyboard(
    page: SearchPage, token: str | None, *, share: bool
) -> InlineKeyboardMarkup | None:
    """Under a page of results: a Share button per item (when inline mode is on), then More
    while there are more."""
    rows = share_rows(page.items) if share else []
    if token is not None and page.has_more:
        rows.append([SEARCH_MORE.button(_("More results ▶️"), (token, page.page + 1))])
    return InlineKeyboardMarkup(rows) if rows else None


def inline_results(
    items: Sequence[Item], taxonomy: Taxonomy, zone: ZoneInfo
) -> list[InlineQueryResultArticle]:
    """Each item as an article: its headline to pick, and the message it puts in the chat (the
    headline as an alert shows it, linked)."""
    return [_inline_result(item, taxonomy, zone) for item in items]


def _inline_result(item: Item, taxonomy: Taxonomy, zone: ZoneInfo) -> InlineQueryResultArticle:
    title = shorten(item.title, INLINE_TITLE_LIMIT) or _("News from the Peru Support Group")
    details = [long_date(item.published_at, zone)] if item.published_at else []
    if item.summary:
        details.append(item.summary)
    description = shorten(" · ".join(details), INLINE_DESCRIPTION_LIMIT)
    web_link = item.link if item.link and item.link.startswith(("http://", "https://")) else None
    preview = (
        LinkPreviewOptions(url=web_link, prefer_small_media=True)
        if web_link
        else LinkPreviewOptions(is_disabled=True)
    )
    return InlineQueryResultArticle(
        id=str(item.id),
        title=title,
        description=description or None,
        input_message_content=InputTextMessageContent(
            alert_message(item, taxonomy, zone, None),
            parse_mode=ParseMode.HTML,
            link_preview_options=preview,
        ),
    )


def inline_mode_on(bot: Bot) -> bool:
    """Whether the bot's inline mode is on in BotFather (getMe's ``supports_inline_queries``):
    Share buttons open inline mode, so they are offered only then."""
    try:
        return bool(bot.supports_inline_queries)
    except RuntimeError:  # not initialised yet: getMe has not been called
        return False
