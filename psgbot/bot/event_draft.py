"""An event as /addevent and /editevent build it: the fields in the order they are asked, and
the draft one admin fills (the steps that fill it are psgbot.bot.event_admin).

/addevent asks every field in turn; /editevent shows the fields as buttons and asks only the
one picked, then shows them again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from psgbot.bot.flows import FlowState
from psgbot.dates import format_long_date, format_long_moment, parse_day, parse_time, parse_when
from psgbot.db.models import Event
from psgbot.db.types import FieldValue, utcnow
from psgbot.i18n import N_, _

# The steps of the event flows, numbered apart from the other admin flows' (one conversation).
FIELD, CONFIRM_WHEN, SAVE, PICK = range(10, 14)
KEEP, CLEAR = ".", "-"


@dataclass(frozen=True)
class Step:
    field: str
    label: str  # the field's button in /editevent
    question: str
    required: bool = False
    kind: str = "text"  # text | when | url


# In the order a person describes an event: what, when, where (the place, then its address,
# then a link for those joining online), then the rest.
STEPS = [
    Step("title", N_("Title"), N_("The event's title?"), required=True),
    Step(
        "starts_at",
        N_("Start"),
        N_(
            "When does it start? e.g. 15 December 2026 10:30, 15/12/2026 10:30, "
            "tomorrow 18:00, or just a date for an all-day event"
        ),
        required=True,
        kind="when",
    ),
    Step(
        "ends_at",
        N_("End"),
        N_("When does it end? A time alone (17:00) is on the day it starts; or a date and time"),
        kind="when",
    ),
    Step("venue", N_("Venue"), N_("Where? The venue's name")),
    Step("address", N_("Address"), N_("The venue's address?")),
    Step(
        "online_url",
        N_("Online link"),
        N_("A link to join online (for online or hybrid events), starting with https://?"),
        kind="url",
    ),
    Step("description", N_("Description"), N_("A description?")),
    Step("registration_url", N_("Registration link"), N_("A registration link?"), kind="url"),
    Step("prices", N_("Prices"), N_("Prices? (e.g. Members £10, concessions £5, non-members £15)")),
]
STEP_OF = {step.field: number for number, step in enumerate(STEPS)}


@dataclass
class EventDraft:
    """The answers so far: the field being asked, each field's value, a date awaiting a Yes."""

    event_id: int | None = None  # the event being edited; None for a new one
    step: int = 0
    all_day: bool = False
    values: dict[str, FieldValue] = field(default_factory=dict)
    pending_when: tuple[datetime, bool] | None = None

    @classmethod
    def of(cls, event: Event | None) -> EventDraft:
        if event is None:
            return cls()
        values = {step.field: getattr(event, step.field) for step in STEPS}
        return cls(event_id=event.id, all_day=event.all_day, values=values)

    @property
    def editing(self) -> bool:
        return self.event_id is not None

    @property
    def current(self) -> Step:
        return STEPS[self.step]

    def answer(self, value: FieldValue) -> None:
        """Sets the current field; a new event moves on to the next one."""
        self.values[self.current.field] = value
        if not self.editing:
            self.step += 1

    def shown(self, name: str, zone: ZoneInfo) -> str:
        """A field's value in plain words: a time in the PSG's zone (the day alone for an
        all-day event), "(none)" when empty."""
        value = self.values.get(name)
        if value is None:
            return _("(none)")
        if isinstance(value, datetime):
            local = value.astimezone(zone)
            return format_long_date(local.date()) if self.all_day else format_long_moment(local)
        return value

    def typed_when(self, text: str, zone: ZoneInfo, now: datetime) -> tuple[datetime | None, bool]:
        """A typed date and time for the current field, and whether it is a whole day. At the
        end question a time alone ("17:00") is on the day the event starts."""
        if (when := parse_when(text, zone, now)) is not None:
            return when, False
        starts, moment = self.values.get("starts_at"), parse_time(text)
        if self.current.field == "ends_at" and isinstance(starts, datetime) and moment is not None:
            return datetime.combine(starts.astimezone(zone).date(), moment, tzinfo=zone), False
        if (day := parse_day(text, now.astimezone(zone))) is not None:
            return datetime.combine(day, datetime.min.time(), tzinfo=zone), True
        return None, False

    def event(self, zone: ZoneInfo, event: Event | None = None) -> Event:
        """The draft as an event: ``event`` updated, or a new one."""
        event = event or Event(
            uid=f"psg-event-{utcnow().strftime('%Y%m%d%H%M%S%f')}", timezone=zone.key
        )
        for step in STEPS:
            setattr(event, step.field, self.values.get(step.field))
        event.all_day = self.all_day
        if event.all_day and event.ends_at is None:
            event.ends_at = event.starts_at + timedelta(days=1)
        return event


STATE = FlowState("event", EventDraft)
