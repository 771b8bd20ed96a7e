"""Rendering: whatever a feed or an admin sends, messages are valid Telegram HTML within the limits.

Telegram counts a message's length after parsing its entities, in UTF-16 code units; the checks
here do the same, through the tests' own HTML validator (not the renderer's helpers).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from support.telegram_html import validate_telegram_html
from support.transport import utf16_units

from psgbot.broadcasts import Progress
from psgbot.config import DEFAULT_DATA_DIR
from psgbot.db.enums import AuditAction, EventField
from psgbot.db.models import Admin, AuditEntry, Broadcast, Event, Feed, Item, ItemTopic
from psgbot.db.types import EventChanges
from psgbot.feeds.poll import PollOutcome
from psgbot.i18n import Language, using
from psgbot.render import admin, event_admin, markup, menu, news, notices, subscriptions
from psgbot.render import broadcasts as broadcast_html
from psgbot.render import channels as channel_html
from psgbot.render import events as event_html
from psgbot.render import topics as topic_html
from psgbot.render import watches as watch_html
from psgbot.render.markup import ANSWER_LIMIT, CAPTION_LIMIT, MESSAGE_LIMIT, pack, shorten
from psgbot.render.news import latest_messages
from psgbot.retag import Retagged
from psgbot.stats import Stats
from psgbot.texts import StandingText
from psgbot.topics import CueHit, Place, Strength, Taxonomy, Topic, TopicScore

TAXONOMY = Taxonomy.load(DEFAULT_DATA_DIR / "topics.yaml")
LONDON = ZoneInfo("Europe/London")
WHEN = datetime(2024, 3, 31, 0, 30, tzinfo=UTC)


def assert_sendable(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """Fails unless Telegram would accept ``message`` as HTML text (or caption) of ``limit``."""
    visible = validate_telegram_html(message)
    assert utf16_units(visible) <= limit, f"{utf16_units(visible)} UTF-16 units"
    assert visible.strip(), "empty message"
    return visible


def hostile_item(number: int) -> Item:
    return Item(
        id=number,
        title=f"<script>alert({number})</script> & <b>bold</b> “quotes” \u202eRTL\u200b " * 20,
        link='https://x.example/a?b=1&c="2"<3>',
        summary="Tom & Jerry <i>unclosed " * 2000,
        published_at=WHEN,
        sort_at=WHEN,
        topics=[ItemTopic(topic="justice"), ItemTopic(topic="human-rights")],
    )


def test_hostile_items_render_as_valid_html_within_limits() -> None:
    messages = latest_messages([hostile_item(n) for n in range(20)], TAXONOMY, LONDON)
    assert len(messages) > 1
    for message in messages:
        assert_sendable(message)
    assert "#justice #human_rights" in messages[0]
    assert "31 March 2024" in messages[0]


def test_a_link_of_ampersands_does_not_break_latest() -> None:
    """Finding 2: 1,991 '&' escape to 9,955 characters; slicing the block cut the <a> tag."""
    item = hostile_item(1)
    item.link = "https://x.example/?" + "&" * 1991
    messages = latest_messages([item, hostile_item(2)], TAXONOMY, LONDON)
    for message in messages:
        assert_sendable(message)
    assert any("<script>alert(1)" in validate_telegram_html(m) for m in messages)


def test_non_web_links_are_not_linked() -> None:
    item = hostile_item(1)
    item.link = "javascript:alert(1)"
    (message,) = latest_messages([item], TAXONOMY, LONDON)[:1]
    assert "javascript:" not in message


def test_shorten_cuts_at_a_word() -> None:
    assert shorten("one two three four", 12) == "one two…"
    assert shorten("short", 12) == "short"
    assert utf16_units(shorten("x" * 500, 100)) <= 100


def test_shorten_counts_utf16_units_and_never_splits_an_emoji() -> None:
    shortened = shorten("😀" * 100, 51)
    assert utf16_units(shortened) <= 51
    assert shortened == "😀" * 25 + "…"


def test_pack_never_exceeds_the_limit() -> None:
    blocks = ["a" * 1000] * 9
    messages = pack(blocks)
    assert all(utf16_units(message) <= MESSAGE_LIMIT for message in messages)
    assert sum(message.count("a") for message in messages) == 9000


def test_pack_splits_an_oversized_block_between_lines_not_inside_tags() -> None:
    lines = [f'<b><a href="https://x.example/{n}">line {n} &amp; more</a></b>' for n in range(400)]
    block = "\n".join(lines)
    messages = pack(["<b>Head</b>", block])
    assert len(messages) > 1
    for message in messages:
        assert_sendable(message)
    seen = "\n".join(validate_telegram_html(m) for m in messages)
    assert all(f"line {n} & more" in seen for n in range(400))


def test_pack_counts_emoji_as_two_units() -> None:
    messages = pack(["😀" * 1500, "😀" * 1500])
    assert len(messages) == 2  # 6,002 units together, but 3,001 characters


# Property tests over every message builder --------------------------------------------------

SPECIALS = "&<>\"'😀🇵🇪\u202e\u202b\u200f\u200b\u200d\ufeff\n \t"
hostile_text = st.one_of(
    st.text(alphabet=st.sampled_from(SPECIALS) | st.characters(), max_size=300),
    st.builds(lambda unit, times: unit * times, st.sampled_from(SPECIALS), st.integers(1, 6000)),
    st.builds(
        lambda unit, times: unit * times,
        st.text(alphabet=st.sampled_from(SPECIALS), min_size=1, max_size=8),
        st.integers(100, 1500),
    ),
)
# A title or name always shows something; the rest may be anything.
shown_text = st.builds(lambda text: "T" + text, hostile_text)
links = st.one_of(
    st.none(),
    st.builds(lambda tail: "https://x.example/" + tail, hostile_text),
    st.builds(lambda tail: "javascript:" + tail, hostile_text),
)
slugs = st.lists(st.sampled_from([*TAXONOMY.slugs, "unknown"]), max_size=4, unique=True)


@st.composite
def items(draw: st.DrawFn) -> Item:
    published = draw(st.none() | st.just(WHEN))
    return Item(
        id=draw(st.integers(1, 10_000)),
        title=draw(shown_text),
        link=draw(links),
        summary=draw(hostile_text),
        published_at=published,
        sort_at=published or WHEN,
        topics=[ItemTopic(topic=slug) for slug in draw(slugs)],
    )


@st.composite
def events(draw: st.DrawFn) -> Event:
    starts = WHEN + timedelta(hours=draw(st.integers(-10_000, 10_000)))
    optional = st.none() | hostile_text
    return Event(
        id=draw(st.integers(1, 10_000)),
        uid="e",
        title=draw(shown_text),
        subtitle=draw(optional),
        starts_at=starts,
        ends_at=draw(st.none() | st.just(starts + timedelta(hours=2))),
        all_day=draw(st.booleans()),
        timezone=draw(st.sampled_from(["Europe/London", "America/Lima"])),
        venue=draw(optional),
        address=draw(optional),
        online_url=draw(links),
        description=draw(optional),
        registration_url=draw(links),
        prices=draw(optional),
        programme=draw(optional),
        organiser=draw(optional),
        latitude=draw(st.none() | st.floats(-90, 90)),
        longitude=draw(st.none() | st.floats(-180, 180)),
        cancelled=draw(st.booleans()),
    )


def sendable_all(messages: list[str]) -> None:
    assert messages
    for message in messages:
        assert_sendable(message)


@settings(max_examples=150, deadline=None)
@given(batch=st.lists(items(), min_size=0, max_size=25), topic=st.sampled_from(TAXONOMY.topics))
def test_item_messages_are_always_sendable(batch: list[Item], topic: Topic) -> None:
    sendable_all(latest_messages(batch, TAXONOMY, LONDON))
    sendable_all(latest_messages(batch, TAXONOMY, LONDON, topic))
    for item in batch[:3]:
        assert_sendable(news.alert_message(item, TAXONOMY, LONDON, topic))
        assert_sendable(news.alert_message(item, TAXONOMY, LONDON, None))
    if batch:
        assert_sendable(news.digest_message(batch, TAXONOMY))


@settings(max_examples=150, deadline=None)
@given(event=events(), hours=st.sampled_from([1, 24]))
def test_event_messages_are_always_sendable(event: Event, hours: int) -> None:
    sendable_all(event_html.event_details_messages(event))
    builders: list[Callable[[Event], str]] = [
        lambda e: event_html.event_block(e, past=True),
        lambda e: event_html.event_reminder_message(e, hours),
        event_html.event_changed_message,
        event_html.event_cancelled_message,
        event_html.event_announcement,
    ]
    for build in builders:
        assert_sendable(build(event))
    assert_sendable(event_html.event_caption(event), CAPTION_LIMIT)
    assert_sendable(event_html.events_message([event] * 5, past=False, asked_past=False))


@settings(max_examples=100, deadline=None)
@given(title=shown_text, body=shown_text, label=st.none() | hostile_text, url=links)
def test_standing_texts_are_always_sendable(
    title: str, body: str, label: str | None, url: str | None
) -> None:
    text = StandingText(name="aims", title=title, body=body, link_label=label, link_url=url)
    assert_sendable(news.standing_text_message(text))


@settings(max_examples=100, deadline=None)
@given(name=hostile_text)
def test_topic_replies_are_always_sendable(name: str) -> None:
    assert_sendable(news.unknown_topic_message(name, TAXONOMY))
    assert_sendable(news.topics_message(TAXONOMY))


@settings(max_examples=100, deadline=None)
@given(blocks=st.lists(hostile_text.map(markup.escape), max_size=12))
def test_pack_keeps_every_block_sendable(blocks: list[str]) -> None:
    for message in pack(blocks):
        validate_telegram_html(message)
        assert utf16_units(validate_telegram_html(message)) <= MESSAGE_LIMIT


# The bot's own replies: subscriptions, menu, admin views, broadcasts, event flows ------------

counts = st.integers(0, 10**9)
followed_sets = st.sets(st.sampled_from([*TAXONOMY.slugs, "*"]), max_size=12)


@settings(max_examples=100, deadline=None)
@given(name=shown_text, followed=followed_sets, flag=st.booleans())
def test_subscription_replies_are_always_sendable(
    name: str, followed: set[str], flag: bool
) -> None:
    for message in [
        subscriptions.subscribed_message(name, flag),
        subscriptions.unsubscribed_message(name, followed, TAXONOMY),
        subscriptions.unsubscribed_by_button_message(name),
        subscriptions.my_subscriptions_message(followed, TAXONOMY),
        subscriptions.keyboard_done_message(followed, TAXONOMY),
        subscriptions.keyboard_intro("Choose the topics.", flag),
        news.unknown_topic_message(name, TAXONOMY, "subscribe"),
        news.unknown_topic_message(name, TAXONOMY, "unsubscribe"),
    ]:
        assert_sendable(message)


@settings(max_examples=100, deadline=None)
@given(name=st.none() | hostile_text, command=shown_text)
def test_menu_replies_are_always_sendable(name: str | None, command: str) -> None:
    assert_sendable(menu.welcome_message(name))
    assert_sendable(menu.help_message([("latest", "The newest items"), ("aims", "Our aims")]))
    assert_sendable(menu.unknown_command_message("/" + command))


@settings(max_examples=100, deadline=None)
@given(name=hostile_text, language=st.sampled_from(Language), ui=st.sampled_from(Language))
def test_button_answers_fit_a_callback_answer(name: str, language: Language, ui: Language) -> None:
    """A callback query's answer is plain text of at most 200 UTF-16 units."""
    with using(ui):
        for answer in [
            channel_html.language_set_note(name, language),
            channel_html.channel_gone_note(),
            watch_html.removed_note(name),
            watch_html.removed_note(None),
        ]:
            assert 0 < utf16_units(answer) <= ANSWER_LIMIT, answer


@st.composite
def feeds(draw: st.DrawFn) -> tuple[Feed, int]:
    feed = Feed(
        source=draw(shown_text),
        last_error=draw(st.none() | hostile_text),
        failures=draw(st.integers(0, 50)),
        disabled=draw(st.booleans()),
        last_success_at=draw(st.none() | st.just(WHEN)),
        next_poll_at=draw(st.none() | st.just(WHEN)),
    )
    return feed, draw(counts)


@settings(max_examples=100, deadline=None)
@given(
    listed=st.lists(feeds(), max_size=12),
    outcomes=st.lists(
        st.builds(
            PollOutcome,
            source=shown_text,
            seen=counts,
            new=counts,
            alerts=counts,
            not_modified=st.booleans(),
            error=st.none() | hostile_text,
        ),
        max_size=12,
    ),
    entries=st.lists(
        st.builds(
            AuditEntry,
            at=st.just(WHEN),
            user_id=counts,
            action=st.sampled_from(AuditAction),
            detail=hostile_text,
        ),
        max_size=20,
    ),
    names=st.lists(hostile_text, min_size=1, max_size=5),
)
def test_admin_views_are_always_sendable(
    listed: list[tuple[Feed, int]],
    outcomes: list[PollOutcome],
    entries: list[AuditEntry],
    names: list[str],
) -> None:
    figures = Stats(
        active_chats=10**9,
        inactive_chats=1,
        active_groups=2,
        subscribers=dict.fromkeys(TAXONOMY.slugs, 10**9),
        items=3,
        alerts_sent_day=4,
        alerts_failed_day=5,
        alerts_sent_week=6,
        alerts_failed_week=7,
        outbox=8,
        broadcasts_this_month=9,
        sent_in_all={"alert": 1},
        failed_in_all={"notice": 2},
    )
    assert_sendable(admin.stats_message(figures, TAXONOMY))
    sendable_all(admin.feeds_messages(listed, LONDON))
    for message in admin.poll_messages(outcomes):
        assert_sendable(message)
    sendable_all(admin.audit_messages(entries, LONDON))
    admins = [Admin(user_id=n, role=role) for n, role in enumerate(names)]
    assert_sendable(admin.admins_message(admins))
    assert_sendable(admin.admins_usage())
    assert_sendable(admin.edit_usage(names))
    named = dict(enumerate(names))
    sendable_all(admin.audit_messages(entries, LONDON, named))
    assert_sendable(admin.admins_message(admins, named))
    for name in names:
        assert_sendable(admin.reset_question(name))
        assert_sendable(admin.reset_done(name))
        assert_sendable(admin.abandon_question(name, name))
        assert_sendable(admin.kept_message(name))
        assert_sendable(admin.abandoned_message(name))


@st.composite
def broadcasts(draw: st.DrawFn) -> tuple[Broadcast, Progress]:
    broadcast = Broadcast(
        id=draw(st.integers(1, 10**6)),
        audience=draw(shown_text),
        status=draw(st.sampled_from(["scheduled", "sending", "done", "cancelled"])),
        scheduled_at=WHEN,
        started_at=draw(st.none() | st.just(WHEN)),
        finished_at=draw(st.none() | st.just(WHEN + timedelta(minutes=5))),
        urgent=draw(st.booleans()),
    )
    progress = Progress(sent=draw(counts), failed=draw(counts), remaining=draw(counts))
    for reason in draw(st.lists(hostile_text, max_size=8)):
        progress.reasons[reason] += 1
    return broadcast, progress


@settings(max_examples=100, deadline=None)
@given(listed=st.lists(broadcasts(), max_size=25), label=shown_text, count=counts)
def test_broadcast_texts_are_always_sendable(
    listed: list[tuple[Broadcast, Progress]], label: str, count: int
) -> None:
    assert_sendable(broadcast_html.new_broadcast_prompt())
    assert_sendable(broadcast_html.audience_chosen_message(label, count))
    assert_sendable(broadcast_html.preview_caption(label, count, True))
    assert_sendable(broadcast_html.send_question(label, count, True))
    assert_sendable(broadcast_html.empty_audience_message(label))
    assert_sendable(broadcast_html.scheduled_message(count + 1, WHEN.astimezone(LONDON), count))
    for broadcast, progress in listed[:3]:
        assert_sendable(broadcast_html.report_message(broadcast, progress, WHEN))
    sendable_all(broadcast_html.broadcasts_messages(listed, LONDON, TAXONOMY))


@settings(max_examples=100, deadline=None)
@given(event=events(), text=shown_text, required=st.booleans())
def test_event_flow_texts_are_always_sendable(event: Event, text: str, required: bool) -> None:
    hints = [
        event_admin.new_value_hint("-", required),
        event_admin.current_value_hint(text, ".", "-", required),
    ]
    for hint in hints:
        assert_sendable(event_admin.field_question(text, hint))
    assert_sendable(event_admin.unreadable_when_message(text))
    assert_sendable(event_admin.when_check_message(WHEN.astimezone(LONDON), required))
    assert_sendable(event_admin.cancel_question(event))
    assert_sendable(event_admin.saved_message(event.id, len(text)))
    fields = [(text, text)] * 9
    assert_sendable(event_admin.fields_message(event.id, fields))
    assert_sendable(event_admin.cancelled_message(event.id, len(text)))
    changes: EventChanges = {
        EventField.TITLE: (text, event.title),
        EventField.STARTS_AT: (event.starts_at - timedelta(days=1), event.starts_at),
        EventField.ENDS_AT: (None, event.ends_at),
        EventField.VENUE: (text, event.venue),
        EventField.ADDRESS: (event.address, text),
        EventField.ONLINE_URL: (text, None),
    }
    assert_sendable(notices.event_changes_message(event, changes))
    assert_sendable(event_html.listed_event(event, past=required))
    for past, asked in [(False, False), (True, False), (True, True)]:
        assert_sendable(event_html.events_heading(past=past, asked_past=asked))


cue_hits = st.builds(
    CueHit,
    cue=shown_text,
    strength=st.sampled_from(Strength),
    place=st.sampled_from(Place),
    count=st.integers(1, 10**6),
    points=st.floats(0, 10**9),
)
topic_scores = st.builds(
    TopicScore,
    slug=st.sampled_from([*TAXONOMY.slugs, "unknown"]),
    score=st.floats(0, 10**9),
    cues=st.lists(cue_hits, max_size=40).map(tuple),
    tagged=st.booleans(),
)


@settings(max_examples=100, deadline=None)
@given(
    item=items(),
    scores=st.lists(topic_scores, max_size=12),
    position=st.integers(1, 20),
    after=slugs,
    alerted=counts,
    due=st.booleans(),
    name=hostile_text,
)
def test_topic_explanations_and_retags_are_always_sendable(
    item: Item,
    scores: list[TopicScore],
    position: int,
    after: list[str],
    alerted: int,
    due: bool,
    name: str,
) -> None:
    sendable_all(topic_html.why_messages(position, item, scores, TAXONOMY))
    explained = TAXONOMY.explain(item.title, item.summary)
    sendable_all(topic_html.why_messages(position, item, explained, TAXONOMY))
    for before in (item.topic_slugs, after[:1], []):
        result = Retagged(item.id, item.title, frozenset(before), frozenset(after), alerted, due)
        assert_sendable(
            topic_html.retag_message(position, item, result, TAXONOMY, timedelta(days=3))
        )
    assert_sendable(topic_html.tag_unknown_topic(name, TAXONOMY))
    assert_sendable(topic_html.tag_contradiction(after[0] if after else "unknown", TAXONOMY))
    assert_sendable(topic_html.no_such_item(position, alerted % 20))
    for command in ("why", "tag"):
        assert_sendable(topic_html.position_out_of_range(command, 20))
    assert_sendable(topic_html.why_usage())
    assert_sendable(topic_html.tag_usage())
