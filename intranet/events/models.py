"""The network calendar: events proposed by offices and validated by the agency.

An event keeps its local wall time and time zone (``start_local``/``end_local`` + ``tz``) so that a
weekly training at 9:00 stays at 9:00 across daylight-saving changes; ``start_at``/``end_at`` are
the UTC instants of the first occurrence. A recurring event stores its rule as an RRULE and its
exceptions as local dates; its occurrences are expanded by a library (recurring-ical-events) into
``events_occurrences`` when the event is saved, so the calendars read a plain indexed range.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intranet.core.audiences import Shared
from intranet.core.models import Organization, User
from intranet.core.timeutil import UTCDateTime, utcnow
from intranet.extensions import db

STATUSES = ("pending", "changes_requested", "refused", "published", "cancelled")
#: Statuses shown in the calendars (a cancelled event stays visible as « Annulé »).
LISTED = ("published", "cancelled")
PARTICIPATION = ("yes", "maybe", "no")


class Category(db.Model):
    __tablename__ = "events_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    color: Mapped[str] = mapped_column(sa.String(7), default="#0b5394")  # #rrggbb
    position: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)


class Event(Shared, db.Model):
    __tablename__ = "events_events"
    # No index on status: the calendars start from the occurrences' dates (an index on status made
    # SQLite list every published event first); the « À valider » queue is small.

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(sa.String(100), unique=True)  # stable iCalendar UID
    # The UID in the calendar an event was imported from (« UID#instant » for an edited
    # occurrence): importing the same file again updates the event instead of copying it.
    source_uid: Mapped[str | None] = mapped_column(sa.String(300), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("events_categories.id", ondelete="SET NULL"),
                                                    index=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    tz: Mapped[str] = mapped_column(sa.String(64), default="Europe/Paris")
    is_all_day: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    # Wall times in ``tz`` (naive). All-day: midnight of the first and of the last day (inclusive).
    start_local: Mapped[datetime] = mapped_column(sa.DateTime)
    end_local: Mapped[datetime] = mapped_column(sa.DateTime)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rrule: Mapped[str | None] = mapped_column(sa.String(300))
    exdates: Mapped[list] = mapped_column(sa.JSON, default=list)  # ISO local dates "2026-12-22"
    place: Mapped[str] = mapped_column(sa.String(300), default="")
    commune: Mapped[str] = mapped_column(sa.String(120), default="")
    online_url: Mapped[str] = mapped_column(sa.String(500), default="")
    price_kind: Mapped[str] = mapped_column(sa.String(10), default="")  # "", free, amount, text
    price_amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 2))
    price_text: Mapped[str] = mapped_column(sa.String(200), default="")
    organization_id: Mapped[int | None] = mapped_column(sa.ForeignKey("core_organizations.id", ondelete="SET NULL"),
                                                        index=True)
    contact: Mapped[str] = mapped_column(sa.String(300), default="")
    registration_url: Mapped[str] = mapped_column(sa.String(500), default="")
    capacity: Mapped[int | None] = mapped_column()
    group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("groups_groups.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    review_note: Mapped[str] = mapped_column(sa.Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("core_users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sequence: Mapped[int] = mapped_column(default=0)  # iCalendar SEQUENCE, raised on every change
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    category: Mapped[Category | None] = relationship()
    organization: Mapped[Organization | None] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys="Event.author_id")
    attachments: Mapped[list[EventAttachment]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="EventAttachment.id")

    @property
    def is_listed(self) -> bool:
        return self.status in LISTED


class Occurrence(db.Model):
    """One occurrence of an event (a single event has one), in UTC, for the calendars."""

    __tablename__ = "events_occurrences"
    __table_args__ = (sa.Index("ix_events_occurrences_start", "start_at", "event_id"),)

    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events_events.id", ondelete="CASCADE"), primary_key=True)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()


class EventAttachment(db.Model):
    __tablename__ = "events_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events_events.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(sa.String(100))
    name: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(150))
    size: Mapped[int] = mapped_column()

    event: Mapped[Event] = relationship(back_populates="attachments")


class Participation(db.Model):
    __tablename__ = "events_participations"
    __table_args__ = (sa.Index("ix_events_participations_user", "user_id", "event_id"),)

    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events_events.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("core_users.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(10))  # yes, maybe, no
    is_waiting: Mapped[bool] = mapped_column(sa.Boolean, default=False)  # "yes" beyond the capacity
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class CalendarToken(db.Model):
    """A member's secret subscription URL (256 random bits), revocable and renewable."""

    __tablename__ = "events_calendar_tokens"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("core_users.id", ondelete="CASCADE"), primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReminderSent(db.Model):
    """The day-before reminder of one occurrence went out (the worker never sends it twice)."""

    __tablename__ = "events_reminders"

    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events_events.id", ondelete="CASCADE"), primary_key=True)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
