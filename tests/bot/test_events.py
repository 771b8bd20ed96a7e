"""Events: listing around the clock (and a daylight-saving change), details, calendar files,
reminders across a restart, change and cancellation notices, announcements, admin flows."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from conftest import OWNER
from icalendar import Calendar
from sqlalchemy import select
from support.clock import fixed
from support.harness import BotHarness
from support.transport import RecordingBotApi

from psgbot.app import build_application, running
from psgbot.config import Settings
from psgbot.db.models import AuditEntry, Event
from psgbot.events import calendar_file, list_events, notify_change
from psgbot.events_file import event_from_yaml, import_events
from psgbot.offline import ApiCall
from psgbot.render.events import event_when
from psgbot.services import Services

LONDON = ZoneInfo("Europe/London")


async def add_event(bot: BotHarness, **fields: object) -> Event:
    entry = {
        "uid": f"e-{len(fields)}-{fields.get('title')}",
        "title": "Talk",
        "timezone": "Europe/London",
        **fields,
    }
    event = event_from_yaml(entry)
    async with bot.services.sessions.begin() as session:
        session.add(event)
    return event


async def test_split_at_the_right_instant_across_a_clock_change(bot: BotHarness) -> None:
    spring = await add_event(
        bot, uid="spring", title="After the clocks go forward", start="2026-03-29 10:00"
    )
    await add_event(bot, uid="before", title="The day before", start="2026-03-28 10:00")
    assert spring.starts_at == datetime(2026, 3, 29, 9, 0, tzinfo=UTC)  # 10:00 BST
    # Was "10:00 BST (Europe/London)" (issue 19: the zone's id and abbreviation read as jargon).
    assert "Sunday 29 March 2026, 10:00 London time" in event_when(spring)
    async with bot.services.sessions() as session:
        early = await list_events(session, now=datetime(2026, 3, 27, 12, tzinfo=UTC))
        just_before = await list_events(session, now=datetime(2026, 3, 29, 8, 59, tzinfo=UTC))
        just_after = await list_events(session, now=datetime(2026, 3, 29, 9, 1, tzinfo=UTC))
        past = await list_events(session, now=datetime(2026, 3, 27, 12, tzinfo=UTC), past=True)
    assert [e.title for e in early.events] == ["The day before", "After the clocks go forward"]
    assert not just_before.past
    assert [e.uid for e in just_before.events] == ["spring"]
    assert just_after.past
    assert [e.uid for e in just_after.events][:3] == [
        "spring",
        "before",
        "psg-annual-conference-2018",
    ]
    assert [e.uid for e in past.events] == ["psg-annual-conference-2018"]


async def test_events_lists_upcoming_in_one_message_with_a_button_each(bot: BotHarness) -> None:
    # /events used to send a heading and one message per event, in id order (#3, #2, #4);
    # issue 19: one message, soonest first, a button per event.
    soon = datetime.now(LONDON) + timedelta(days=3)
    later = await add_event(
        bot, uid="later", title="Film night", start=(soon + timedelta(days=7)).strftime("%Y-%m-%d")
    )
    event = await add_event(
        bot,
        uid="soon",
        title="Defenders' visit",
        start=soon.strftime("%Y-%m-%d 18:30"),
        online_url="https://meet.example/psg",
    )
    lima = await add_event(
        bot,
        uid="lima",
        title="Vigil in Lima",
        start=(soon + timedelta(days=1)).strftime("%Y-%m-%d 10:00"),
        timezone="America/Lima",
    )
    (listing,) = await bot.send("/events")
    text = listing.text or ""
    assert "Upcoming events" in text
    assert text.index("Defenders' visit") < text.index("Vigil in Lima") < text.index("Film night")
    assert "18:30 London time" in text
    assert "10:00 Lima time" in text
    assert "time to be announced" in text
    for jargon in ("America/Lima", "-05", "all day", "Europe/London", "#"):
        assert jargon not in text, jargon
    assert "Join online" in text
    rows = listing.params["reply_markup"]["inline_keyboard"]
    assert [row[0]["callback_data"] for row in rows] == [
        f"ev:d:{event.id}",
        f"ev:d:{lima.id}",
        f"ev:d:{later.id}",
    ]
    assert "Defenders' visit" in rows[0][0]["text"]
    details = await bot.press(f"ev:d:{event.id}")
    buttons = [b["callback_data"] for b in details[-1].params["reply_markup"]["inline_keyboard"][0]]
    assert buttons == [f"ev:d:{event.id}", f"ev:ics:{event.id}", f"ev:rem:{event.id}"]
    (past,) = await bot.send("/events past")
    assert "Past events" in (past.text or "")
    assert "Annual Conference" in (past.text or "")
    details = await bot.press("ev:d:1")
    assert [b["text"] for b in details[-1].params["reply_markup"]["inline_keyboard"][0]] == [
        "Details",
        "Add to calendar",
    ]


async def test_details_with_map_prices_registration_and_venue(bot: BotHarness) -> None:
    event = await add_event(
        bot,
        uid="agm",
        title="AGM",
        start="2030-06-06 10:30",
        end="2030-06-06 13:00",
        venue="Amnesty UK",
        address="25 New Inn Yard, London EC2A 3EA",
        prices="Members free",
        registration_url="https://reg.example/agm",
        programme="10:30 Welcome\n11:00 Reports",
        organiser="PSG office",
        latitude=51.5245,
        longitude=-0.0789,
    )
    calls = await bot.send(f"/event {event.id}")
    details, venue = calls
    text = details.text or ""
    for fragment in (
        "AGM",
        "10:30–13:00 London time",
        "Amnesty UK",
        "Members free",
        '<a href="https://reg.example/agm">Register here</a>',
        "11:00 Reports",
        "PSG office",
        "https://www.openstreetmap.org/?mlat=51.5245&amp;mlon=-0.0789",
    ):
        assert fragment in text, fragment
    assert venue.method == "sendVenue"
    assert venue.params["latitude"] == 51.5245
    (conference,) = await bot.send("/event 1")
    assert "openstreetmap.org/search?query=UCL+Global+Governance" in (conference.text or "")
    assert "Organiser: Peru Support Group" in (conference.text or "")
    assert "Which event?" in (await bot.reply_texts("/event x"))[0]


async def test_an_event_deep_link_opens_the_event(bot: BotHarness) -> None:
    event = await add_event(bot, uid="link", title="Film night", start="2030-11-02 19:00")
    welcome, details = await bot.send(f"/start event-{event.id}", chat_id=4500)
    assert "menu:events" in str(welcome.params["reply_markup"])
    assert "Film night" in (details.text or "")
    assert f"ev:ics:{event.id}" in str(details.params["reply_markup"])
    # Someone who has been here before gets the event alone; a gone event is said to be gone.
    (again,) = await bot.send(f"/start event-{event.id}", chat_id=4500)
    assert "Film night" in (again.text or "")
    (gone,) = await bot.reply_texts("/start event-999", chat_id=4500)
    assert "no longer listed" in gone


async def test_calendar_file_parses_back_to_the_same_event(bot: BotHarness) -> None:
    event = await add_event(
        bot,
        uid="cal",
        title="Film night",
        start="2030-11-02 19:00",
        end="2030-11-02 21:30",
        venue="Rich Mix",
        address="35-47 Bethnal Green Road, London E1 6LA",
    )
    calls = await bot.press(f"ev:ics:{event.id}")
    document = calls[-1]
    assert document.method == "sendDocument"
    parsed = Calendar.from_ical(calendar_file(event))
    (entry,) = parsed.walk("VEVENT")
    start, end = entry.decoded("dtstart"), entry.decoded("dtend")
    assert start == event.starts_at
    assert end == event.ends_at
    assert str(start.tzinfo) == "Europe/London"
    assert start.hour == 19
    assert entry["dtstart"].params["TZID"] == "Europe/London"
    assert str(entry["location"]) == "Rich Mix, 35-47 Bethnal Green Road, London E1 6LA"
    assert parsed.walk("VTIMEZONE"), "the zone travels with the file"
    (conference,) = Calendar.from_ical(calendar_file(await first_event(bot))).walk("VEVENT")
    assert str(conference.decoded("dtstart")) == "2018-12-15"


async def first_event(bot: BotHarness) -> Event:
    async with bot.services.sessions() as session:
        event = await session.get(Event, 1)
    assert event is not None
    return event


async def test_reminders_are_sent_once_each_at_their_time_across_a_restart(
    bot: BotHarness, settings: Settings
) -> None:
    start = (datetime.now(LONDON) + timedelta(days=3)).replace(second=0, microsecond=0)
    event = await add_event(bot, uid="rem", title="Vigil", start=start.strftime("%Y-%m-%d %H:%M"))
    calls = await bot.press(f"ev:rem:{event.id}", chat_id=5, message_id=31)
    # It used to answer with a pop-up to dismiss ("Reminder set: 24 h, 1 h before"), and the
    # button never changed (issue 19): a short note now, and the button shows the reminder.
    answer, edit = calls
    assert answer.params["text"] == "✓ Reminder on: 24 hours, 1 hour before. Tap again to undo."
    assert not answer.params.get("show_alert")
    assert edit.method == "editMessageReplyMarkup"
    assert edit.params["message_id"] == 31
    assert edit.params["reply_markup"]["inline_keyboard"][0][-1] == {
        "text": "✓ Reminder on",
        "callback_data": f"ev:rem:{event.id}",
    }
    (details, *_venue) = await bot.send(f"/event {event.id}", chat_id=5)
    assert "✓ Reminder on" in str(details.params["reply_markup"])
    assert await bot.deliver() == []
    # A restart: another Application on the same database does the sending.
    api = RecordingBotApi()
    app = build_application(Services.create(settings), request=api)
    async with running(app):
        from psgbot.alerts.dispatcher import Dispatcher

        await app.bot_data["dispatcher"].stop()
        dispatcher = Dispatcher(app.bot_data["services"], app.bot, worker="after-restart")
        reminders: list[ApiCall] = []
        for moment, expected in [
            (start - timedelta(hours=24, minutes=1), 0),
            (start - timedelta(hours=23, minutes=59), 1),
            (start - timedelta(hours=23), 0),
            (start - timedelta(minutes=59), 1),
            (start + timedelta(minutes=5), 0),
        ]:
            dispatcher.clock = fixed(moment.astimezone(UTC))
            before = len(api.calls)
            await dispatcher.drain()
            sent = [c for c in api.calls[before:] if c.method == "sendMessage"]
            assert len(sent) == expected, moment
            assert all(c.chat_id == 5 and "Reminder" in (c.text or "") for c in sent)
            reminders += sent
    # "in 24 hours" and "in 1 hour" (it was "in 1 hour(s)"), each with Details and Add to
    # calendar (it had no buttons).
    assert "is in 24 hours" in (reminders[0].text or "")
    assert "is in 1 hour." in (reminders[1].text or "")
    for reminder in reminders:
        assert [
            b["callback_data"] for b in reminder.params["reply_markup"]["inline_keyboard"][0]
        ] == [
            f"ev:d:{event.id}",
            f"ev:ics:{event.id}",
        ]
    await bot.press(f"ev:rem:{event.id}", chat_id=6)
    answer, edit = await bot.press(f"ev:rem:{event.id}", chat_id=6)
    assert answer.params["text"] == "Reminder removed."
    assert edit.params["reply_markup"]["inline_keyboard"][0][-1]["text"] == "⏰ Remind me"


async def test_admin_adds_an_event_announced_to_psg_subscribers(bot: BotHarness) -> None:
    await bot.send("/subscribe psg", chat_id=9)
    await bot.send("/subscribe justice", chat_id=10)
    assert "title" in (await bot.reply_texts("/addevent", chat_id=OWNER))[0]
    await bot.send("Peru after the elections", chat_id=OWNER)
    (question,) = await bot.reply_texts("sometime soon", chat_id=OWNER)
    assert "could not read" in question
    (check,) = await bot.reply_texts("15 December 2030 10:30", chat_id=OWNER)
    assert "Sunday 15 December 2030, 10:30 GMT" in check
    await bot.press("adm:ev:redo", chat_id=OWNER)
    await bot.send("15/12/2030 11:00", chat_id=OWNER)
    await bot.press("adm:ev:ok", chat_id=OWNER)
    (end_question,) = await bot.reply_texts("15/12/2030 10:00", chat_id=OWNER)
    assert "end must come after the start" in end_question
    # Issue 19, point 13: an end time alone is on the day the event starts.
    (check,) = await bot.reply_texts("17:00", chat_id=OWNER)
    assert "Sunday 15 December 2030, 17:00 GMT" in check
    await bot.press("adm:ev:ok", chat_id=OWNER)
    # The place, then its address, then the online link: an address is asked for as such.
    (address_question,) = await bot.reply_texts("UCL", chat_id=OWNER)
    assert "address" in address_question
    (link_question,) = await bot.reply_texts("Tavistock Square, London", chat_id=OWNER)
    assert "online" in link_question
    for answer in ("-", "Our annual conference.", "not a link"):
        replies = await bot.reply_texts(answer, chat_id=OWNER)
    assert "web link" in replies[0]
    await bot.send("https://reg.example/c", chat_id=OWNER)
    preview = await bot.send("Members £10", chat_id=OWNER)
    assert "11:00–17:00 London time" in (preview[0].text or "")
    assert "Save this event?" in (preview[1].text or "")
    saved = await bot.press("adm:ev:save", chat_id=OWNER)
    assert "Saved as event #2" in (saved[-1].text or "")
    sent = await bot.deliver()
    assert [c.chat_id for c in sent] == [9]
    assert "New PSG event" in (sent[0].text or "")
    assert "Peru after the elections" in (sent[0].text or "")


async def test_a_date_too_far_ahead_or_back_is_asked_for_again(bot: BotHarness) -> None:
    await bot.send("/addevent", chat_id=OWNER)
    await bot.send("Far future", chat_id=OWNER)
    for typed in (
        "31 de diciembre de 9999 a las 23:00",
        "31 December 9999",  # an all-day event that would end past year 9999
        "9999-12-31",
        "31/12/1999 10:00",
    ):
        (question,) = await bot.reply_texts(typed, chat_id=OWNER)
        assert "could not read" in question, typed


async def test_change_and_cancellation_reach_those_reminded(bot: BotHarness) -> None:
    start = (datetime.now(LONDON) + timedelta(days=10)).replace(hour=18, minute=0)
    event = await add_event(
        bot, uid="chg", title="Screening", start=start.strftime("%Y-%m-%d %H:%M"), venue="Hall A"
    )
    await bot.press(f"ev:rem:{event.id}", chat_id=5)
    # Issue 19, point 13: the fields as buttons; only those picked are asked.
    (fields,) = await bot.send(f"/editevent {event.id}", chat_id=OWNER)
    assert "Which field do you want to change?" in (fields.text or "")
    assert "<b>Venue:</b> Hall A" in (fields.text or "")
    keyboard = fields.params["reply_markup"]["inline_keyboard"]
    labels = [button["text"] for row in keyboard for button in row]
    assert labels[:6] == ["Title", "Start", "End", "Venue", "Address", "Online link"]
    assert labels[-2:] == ["Done", "Cancel"]
    question = await bot.press("adm:ev:field:starts_at", chat_id=OWNER)
    assert "When does it start?" in (question[-1].text or "")
    new_start = start + timedelta(days=1)
    await bot.send(new_start.strftime("%d/%m/%Y %H:%M"), chat_id=OWNER)
    again = await bot.press("adm:ev:ok", chat_id=OWNER)
    assert "Which field do you want to change?" in (again[-1].text or "")
    await bot.press("adm:ev:field:venue", chat_id=OWNER)
    (fields,) = await bot.send("Hall B", chat_id=OWNER)
    assert "<b>Venue:</b> Hall B" in (fields.text or "")
    preview = await bot.press("adm:ev:done", chat_id=OWNER)
    assert "Save this event?" in (preview[-1].text or "")
    saved = await bot.press("adm:ev:save", chat_id=OWNER)
    assert "1 chat that asked for a reminder is told what changed" in (saved[-1].text or "")
    (notice,) = await bot.deliver()
    assert notice.chat_id == 5
    assert "Changed" in (notice.text or "")
    # Issue 19, point 12: the notice names each changed field, old -> new.
    old_time = f"{start:%a} {start.day} {start:%b} 18:00"
    new_time = f"{new_start:%a} {new_start.day} {new_start:%b} 18:00"
    assert f"Time: {old_time} → <b>{new_time}</b>" in (notice.text or "")
    assert "Venue: Hall A → <b>Hall B</b>" in (notice.text or "")
    assert "Title:" not in (notice.text or "")
    day_before = new_start.astimezone(UTC) - timedelta(hours=23, minutes=59)
    (first,) = await bot.deliver(clock=lambda: day_before)
    assert "in 24 hours" in (first.text or "")  # was "tomorrow" (issue 19: ngettext hours)
    later = new_start.astimezone(UTC) - timedelta(minutes=30)
    (reminder,) = await bot.deliver(clock=lambda: later)
    assert "Reminder" in (reminder.text or "")
    assert "in 1 hour" in (reminder.text or "")

    await bot.send(f"/cancelevent {event.id}", chat_id=OWNER)
    done = await bot.press(f"adm:evcancel:{event.id}", chat_id=OWNER)
    assert "1 chat told" in (done[-1].text or "")  # never "1 chats" (issue 19, point 12)
    (cancelled,) = await bot.deliver()
    assert cancelled.chat_id == 5
    assert "will not take place" in (cancelled.text or "")
    async with bot.services.sessions() as session:
        actions = list(await session.scalars(select(AuditEntry.action)))
    assert actions == ["event changed", "event cancelled"]


async def test_import_and_export_from_the_command_line(tmp_path: Path, database_url: str) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PSGBOT_")}
    env["PSGBOT_DATABASE_URL"] = database_url
    source = tmp_path / "new.yaml"
    source.write_text(
        yaml.safe_dump(
            {
                "events": [
                    {
                        "uid": "talk-2030",
                        "title": "Talk on mining",
                        "start": "2030-05-05 19:00",
                        "timezone": "Europe/London",
                        "venue": "SOAS",
                    }
                ]
            }
        )
    )

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "psgbot", "events", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    imported = cli("import", str(source))
    assert imported.returncode == 0
    assert "1 added, 0 updated" in imported.stdout
    again = cli("import", str(source))
    assert "0 added, 0 updated" in again.stdout
    exported = yaml.safe_load(cli("export").stdout)["events"]
    assert [e["uid"] for e in exported] == ["psg-annual-conference-2018", "talk-2030"]
    assert exported[1]["start"] == "2030-05-05 19:00"
    assert exported[0]["start"] == "2018-12-15"
    broken = tmp_path / "broken.yaml"
    broken.write_text("events:\n  - title: no uid\n")
    failed = cli("import", str(broken))
    assert failed.returncode == 2
    assert "Traceback" not in failed.stderr


async def test_a_reminder_held_up_past_the_start_is_dropped(bot: BotHarness) -> None:
    start = (datetime.now(LONDON) + timedelta(days=2)).replace(second=0, microsecond=0)
    event = await add_event(bot, uid="late", title="Late", start=start.strftime("%Y-%m-%d %H:%M"))
    await bot.press(f"ev:rem:{event.id}", chat_id=5)
    after_start = start.astimezone(UTC) + timedelta(minutes=1)
    assert await bot.deliver(clock=lambda: after_start) == []


async def test_stop_ends_the_chats_reminders_too(bot: BotHarness) -> None:
    """After /stop, nothing more arrives: not a reminder set before it, nor an alert already
    queued."""
    start = (datetime.now(LONDON) + timedelta(days=3)).replace(second=0, microsecond=0)
    event = await add_event(bot, uid="stop", title="Vigil", start=start.strftime("%Y-%m-%d %H:%M"))
    await bot.send("/subscribe justice", chat_id=5)
    calls = await bot.press(f"ev:rem:{event.id}", chat_id=5)
    assert "Reminder on" in calls[0].params["text"]
    await bot.send("/stop", chat_id=5)
    for moment in (start - timedelta(hours=23, minutes=59), start - timedelta(minutes=59)):
        assert await bot.deliver(clock=fixed(moment.astimezone(UTC))) == [], moment


async def test_an_imported_change_names_its_fields_too(bot: BotHarness) -> None:
    """`psgbot events import` tells reminded chats what changed, as the editor does."""
    start = (datetime.now(LONDON) + timedelta(days=5)).strftime("%Y-%m-%d 18:00")
    entry = {"uid": "imp", "title": "Talk", "start": start, "timezone": "Europe/London"}
    event = await add_event(bot, **entry, venue="SOAS")
    await bot.press(f"ev:rem:{event.id}", chat_id=5)
    async with bot.services.sessions.begin() as session:
        added, changed = await import_events(session, [{**entry, "venue": "UCL"}])
        assert added == []
        for stored, changes in changed:
            await notify_change(session, stored, [24], datetime.now(UTC), changes)
    (notice,) = await bot.deliver()
    assert "Venue: SOAS → <b>UCL</b>" in (notice.text or "")
