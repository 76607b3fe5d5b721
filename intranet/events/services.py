"""Rules and changes of the calendar. Services flush, signal and notify; the view commits.

Workflow: a member proposes an event for their organization → « En attente de validation »; an
animateur validates it (published), asks for changes, or refuses it with a reason; the proposer is
told each time. An animateur's own events are published at once. A published event edited by its
office goes back to validation when its title, dates or place change (setting). Cancelling keeps
the event visible as « Annulé » and tells the participants.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

import sqlalchemy as sa
from babel import dates as babel_dates
from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from intranet.core import signals as core_signals
from intranet.core.audiences import Audience, audience_recipients, can_view, get_audience, visible_to
from intranet.core.audit import audit
from intranet.core.markup import excerpt
from intranet.core.models import User
from intranet.core.notifications import notify
from intranet.core.settings import get_setting
from intranet.core.timeutil import PARIS, utcnow
from intranet.core.urls import IdUrl
from intranet.events.models import LISTED, CalendarToken, Category, Event, Occurrence, Participation
from intranet.events.recurrence import RecurrenceError, occurrences, span_utc, zone
from intranet.extensions import db

REVALIDATE_SETTING = "events.revalidate_on_change"
ORG_EDIT_SETTING = "events.organization_members_edit"
MAX_DESCRIPTION = 20_000
MAX_DAYS = 62  # an event over several days, not a season: the calendars look this far back
TOKEN_CHARS = re.compile(r"[A-Za-z0-9_-]+")


class EventError(ValueError):
    """A French message for the person who asked."""


# -- rules --------------------------------------------------------------------------------------

def is_animateur(user) -> bool:
    return getattr(user, "is_authenticated", False) and user.is_animateur


def can_edit(user, event: Event) -> bool:
    """The proposer, members of the organizer (setting, default on) and animateurs."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_animateur or (event.author_id is not None and event.author_id == user.id):
        return True
    return bool(get_setting(ORG_EDIT_SETTING, True)) and event.organization_id is not None \
        and event.organization_id == user.organization_id


def can_see(user, event: Event) -> bool:
    """Listed events: the audience decides. Others (waiting, refused): who may edit them."""
    if event.status in LISTED:
        return can_view(user, event)
    return can_edit(user, event)


def can_see_participants(user, event: Event) -> bool:
    return can_edit(user, event)


def listed_events(user) -> sa.Select:
    """Published and cancelled events ``user`` may see."""
    return visible_to(user, sa.select(Event), Event).where(Event.status.in_(LISTED))


# -- writing ------------------------------------------------------------------------------------

@dataclass
class EventData:
    """What the form (or an import) gives, already typed."""

    title: str
    category_id: int | None
    description: str
    tz: str
    is_all_day: bool
    start_local: datetime
    end_local: datetime
    rrule: str | None = None
    exdates: list[str] | None = None
    place: str = ""
    commune: str = ""
    online_url: str = ""
    price_kind: str = ""
    price_amount: object = None
    price_text: str = ""
    organization_id: int | None = None
    contact: str = ""
    registration_url: str = ""
    capacity: int | None = None
    group_id: int | None = None


def check(data: EventData) -> None:
    """French errors for what no form validator sees alone."""
    if not data.title.strip():
        raise EventError(_("Le titre est obligatoire."))
    if len(data.description or "") > MAX_DESCRIPTION:
        raise EventError(_("La description est trop longue (%(max)s caractères au plus).",
                           max=f"{MAX_DESCRIPTION:,}".replace(",", "\u202f")))
    try:
        zone(data.tz)
    except RecurrenceError as exc:
        raise EventError(_("Fuseau horaire inconnu : %(tz)s.", tz=data.tz[:64])) from exc
    if data.is_all_day:
        if data.end_local.date() < data.start_local.date():
            raise EventError(_("La fin est avant le début."))
    elif data.end_local <= data.start_local:
        raise EventError(_("La fin doit être après le début."))
    if data.end_local - data.start_local > timedelta(days=MAX_DAYS):
        raise EventError(_("Un événement dure au plus %(days)d jours ; pour une série, utilisez la répétition.",
                           days=MAX_DAYS))
    if data.capacity is not None and data.capacity < 1:
        raise EventError(_("La capacité doit être d'au moins une place."))


def _apply(event: Event, data: EventData) -> None:
    event.title = data.title.strip()
    event.category_id = data.category_id
    event.description = data.description or ""
    event.tz = data.tz
    event.is_all_day = data.is_all_day
    if data.is_all_day:
        event.start_local = datetime.combine(data.start_local.date(), datetime.min.time())
        event.end_local = datetime.combine(data.end_local.date(), datetime.min.time())
    else:
        event.start_local, event.end_local = data.start_local, data.end_local
    event.start_at, event.end_at = span_utc(event.start_local, event.end_local, event.tz, event.is_all_day)
    event.rrule = data.rrule or None
    event.exdates = sorted(set(data.exdates or []))
    event.place, event.commune, event.online_url = data.place, data.commune, data.online_url
    event.price_kind, event.price_amount, event.price_text = data.price_kind, data.price_amount, data.price_text
    event.organization_id = data.organization_id
    event.contact, event.registration_url, event.capacity = data.contact, data.registration_url, data.capacity
    event.group_id = data.group_id


def refresh_occurrences(event: Event) -> int:
    """Expand the event's occurrences into events_occurrences (recurring-ical-events)."""
    try:
        spans = occurrences(event.start_local, event.end_local, event.tz, event.is_all_day, event.rrule,
                            event.exdates or [])
    except RecurrenceError as exc:
        raise EventError(_("La règle de répétition est invalide.")) from exc
    db.session.execute(sa.delete(Occurrence).where(Occurrence.event_id == event.id))
    if spans:
        db.session.execute(sa.insert(Occurrence), [{"event_id": event.id, "start_at": s, "end_at": e}
                                                   for s, e in spans])
    return len(spans)


def _animateurs() -> sa.Select:
    return sa.select(User.id).where(User.role.in_(("admin", "animateur")), User.is_active_account.is_(True))


def create_event(author: User, data: EventData, audience: Audience, publish_now: bool | None = None, *,
                 quiet: bool = False) -> Event:
    """``quiet``: published without its feed item and « Nouvel événement » notification (an
    import tells people once for the whole file: ``importing.apply``)."""
    check(data)
    if data.group_id is not None:
        audience = get_audience([("group", data.group_id)])
    event = Event(uid=f"{uuid.uuid4()}@{_uid_domain()}", author_id=author.id, audience=audience,
                  audience_id=audience.id)
    _apply(event, data)
    if data.organization_id is None:
        event.organization_id = author.organization_id
    publish = is_animateur(author) if publish_now is None else publish_now
    event.status = "published" if publish else "pending"
    db.session.add(event)
    db.session.flush()
    refresh_occurrences(event)
    if publish:
        if not quiet:
            _published(event, author)
    else:
        notify("events.to_validate", _animateurs(), author, event)
    return event


def _uid_domain() -> str:
    from urllib.parse import urlsplit

    return urlsplit(current_app.config.get("BASE_URL") or "http://intranet.local").hostname or "intranet.local"


TRACKED = ("title", "start_local", "end_local", "is_all_day", "tz", "rrule", "place", "commune", "online_url")


def update_event(user: User, event: Event, data: EventData, audience: Audience, *, quiet: bool = False) -> str:
    """Save changes. Returns "revalidate" when the event went back to validation, else "saved".
    ``quiet``: a published event's feed item and participants are left alone (an import
    updating a past event)."""
    check(data)
    before = {k: getattr(event, k) for k in TRACKED}
    before_exdates = list(event.exdates or [])
    if data.group_id is not None:
        audience = get_audience([("group", data.group_id)])
    _apply(event, data)
    event.audience_id, event.audience = audience.id, audience
    changed = any(getattr(event, k) != v for k, v in before.items())
    event.sequence += 1
    event.updated_at = utcnow()
    db.session.flush()
    refresh_occurrences(event)
    outcome = "saved"
    if event.status == "published" and changed and not is_animateur(user) \
            and get_setting(REVALIDATE_SETTING, True):
        event.status = "pending"
        _withdraw_from_feed(event)
        notify("events.to_validate", _animateurs(), user, event)
        outcome = "revalidate"
    elif event.status in ("changes_requested", "refused") and not is_animateur(user):
        # The proposer answered the agency's remarks: back in the queue.
        event.status = "pending"
        notify("events.to_validate", _animateurs(), user, event)
    elif event.status == "published" and not quiet:
        _announce(event)
        if changed or before_exdates != event.exdates:
            notify("events.changed", _participants(event), user, event)
    db.session.flush()
    return outcome


def _published(event: Event, actor: User) -> None:
    _announce(event, actor)
    notify("events.published", audience_recipients(event.audience), actor, event)


def _announce(event: Event, actor: User | None = None) -> None:
    """The feed's item for the event (updated when the event changes)."""
    core_signals.activity_published.send(
        None, key="events.published", object_id=event.id, audience_targets=event.audience.targets(),
        actor=actor, group_id=event.group_id,
        data={"title": event.title, "when": when_text(event), "where": where_text(event),
              "cancelled": event.status == "cancelled", "excerpt": excerpt(event.description, 200)})


def announce_in_feed(event: Event, actor: User | None = None) -> None:
    """The event's item in the feed, without notifying anyone (see ``create_event(quiet=True)``)."""
    _announce(event, actor)


def _withdraw_from_feed(event: Event) -> None:
    core_signals.activity_withdrawn.send(None, key="events.published", object_id=event.id)


def validate(animateur: User, event: Event) -> None:
    if event.status not in ("pending", "changes_requested"):
        raise EventError(_("Cet événement n'est pas en attente de validation."))
    event.status = "published"
    event.reviewed_by_id, event.reviewed_at, event.review_note = animateur.id, utcnow(), ""
    event.sequence += 1
    event.updated_at = event.reviewed_at  # the VEVENT's LAST-MODIFIED, and the feed's ETag, move
    db.session.flush()
    audit("event.validate", event, summary=event.title, actor=animateur)
    if event.author_id:
        notify("events.validated", [event.author_id], animateur, event)
    _published(event, db.session.get(User, event.author_id) or animateur)


def request_changes(animateur: User, event: Event, note: str) -> None:
    _review(animateur, event, note, "changes_requested", "events.changes_requested")


def refuse(animateur: User, event: Event, reason: str) -> None:
    _review(animateur, event, reason, "refused", "events.refused")


def _review(animateur: User, event: Event, note: str, status: str, type_key: str) -> None:
    note = (note or "").strip()
    if not note:
        raise EventError(_("Écrivez un mot pour le proposant : il le recevra."))
    if event.status not in ("pending", "changes_requested"):
        raise EventError(_("Cet événement n'est pas en attente de validation."))
    event.status, event.review_note = status, note[:2000]
    event.reviewed_by_id, event.reviewed_at = animateur.id, utcnow()
    db.session.flush()
    action = "event.refuse" if status == "refused" else "event.request_changes"
    audit(action, event, summary=f"{event.title} : {note[:200]}", actor=animateur)
    if event.author_id:
        notify(type_key, [event.author_id], animateur, event, note=note[:500])


def cancel(user: User, event: Event) -> None:
    if event.status != "published":
        raise EventError(_("Seul un événement publié peut être annulé."))
    event.status = "cancelled"
    event.sequence += 1
    event.updated_at = utcnow()
    db.session.flush()
    _announce(event)
    notify("events.cancelled", _participants(event), user, event)


def delete_event(event: Event) -> list[str]:
    keys = [a.key for a in event.attachments]
    _withdraw_from_feed(event)
    db.session.delete(event)
    db.session.flush()
    return keys


# -- participation ------------------------------------------------------------------------------

def _participants(event: Event) -> sa.Select:
    return sa.select(Participation.user_id).where(Participation.event_id == event.id,
                                                  Participation.status.in_(("yes", "maybe")))


def taken_places(event: Event) -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(
        Participation.event_id == event.id, Participation.status == "yes",
        Participation.is_waiting.is_(False))) or 0


def set_participation(user: User, event: Event, status: str) -> Participation:
    """Je participe / Peut-être / Je ne participe pas. Beyond the capacity, « Je participe » puts
    the person on the waiting list; a place that frees up goes to the first one waiting."""
    if status not in ("yes", "maybe", "no"):
        raise EventError(_("Réponse inconnue."))
    if event.status != "published":
        raise EventError(_("On ne peut plus répondre : l'événement n'est pas ouvert."))
    if event.capacity:
        # Lock the event row so two last-place answers cannot both get it (PostgreSQL).
        db.session.execute(sa.select(Event.id).where(Event.id == event.id).with_for_update())
    p = db.session.get(Participation, (event.id, user.id))
    was_seated = p is not None and p.status == "yes" and not p.is_waiting
    already_waiting = p is not None and p.status == "yes" and p.is_waiting  # keeps their turn
    # Counted before this answer is written (a new row would be flushed and counted as seated).
    full = status == "yes" and not was_seated and bool(event.capacity) and taken_places(event) >= event.capacity
    if p is None:
        p = Participation(event_id=event.id, user_id=user.id, status=status)
        db.session.add(p)
    if status == "yes" and not was_seated and not already_waiting:
        p.is_waiting = full
        p.created_at = utcnow()
    elif status != "yes":
        p.is_waiting = False
    p.status = status
    db.session.flush()
    if was_seated and status != "yes":
        _promote_waiting(event)
    return p


def _promote_waiting(event: Event) -> None:
    if not event.capacity:
        return
    free = event.capacity - taken_places(event)
    if free <= 0:
        return
    waiting = db.session.scalars(sa.select(Participation).where(
        Participation.event_id == event.id, Participation.is_waiting.is_(True))
        .order_by(Participation.created_at).limit(free)).all()
    for p in waiting:
        p.is_waiting = False
    db.session.flush()


def participants(event: Event) -> list[Participation]:
    return list(db.session.scalars(sa.select(Participation).where(Participation.event_id == event.id)
                                   .options(selectinload(Participation.user))
                                   .order_by(Participation.status, Participation.is_waiting,
                                             Participation.created_at)))


# -- calendar queries ---------------------------------------------------------------------------

@dataclass
class Filters:
    category_id: int | None = None
    organization_id: int | None = None
    territory_id: int | None = None
    group_id: int | None = None


def _filtered(query: sa.Select, f: Filters) -> sa.Select:
    from intranet.core.models import Organization

    if f.category_id:
        query = query.where(Event.category_id == f.category_id)
    if f.organization_id:
        query = query.where(Event.organization_id == f.organization_id)
    if f.territory_id:
        query = query.where(Event.organization_id.in_(
            sa.select(Organization.id).where(Organization.territory_id == f.territory_id)))
    if f.group_id:
        query = query.where(Event.group_id == f.group_id)
    return query


@dataclass(slots=True)
class CalendarEvent:
    """What a calendar line shows of an event: a few columns, not the ORM object. A busy month
    of the network's calendar is well over a thousand lines; loading whole events (description
    included) for them cost more than the rest of the page."""

    id: int
    title: str
    status: str
    is_all_day: bool
    tz: str
    place: str
    commune: str
    online_url: str
    rrule: str | None
    category: Category | None


class CalendarSlot(NamedTuple):
    start_at: datetime
    end_at: datetime


_CALENDAR_COLUMNS = (Event.id, Event.title, Event.status, Event.is_all_day, Event.tz, Event.place, Event.commune,
                     Event.online_url, Event.rrule, Event.category_id)


def occurrences_between(user, start: datetime, end: datetime, f: Filters | None = None,
                        limit: int | None = None) -> list[tuple[CalendarSlot, CalendarEvent]]:
    """Occurrences overlapping [start, end) of the events ``user`` may see, with their events.

    One join filtered by ``visible_to`` on the event: the database walks the occurrences' start
    index over the range, instead of first listing every visible event of the calendar."""
    f = f or Filters()
    query = (sa.select(Occurrence.start_at, Occurrence.end_at, *_CALENDAR_COLUMNS)
             .join(Event, Event.id == Occurrence.event_id)
             .where(Occurrence.start_at >= start - timedelta(days=MAX_DAYS), Occurrence.start_at < end,
                    Occurrence.end_at > start, Event.status.in_(LISTED)))
    query = _filtered(visible_to(user, query, Event), f).order_by(Occurrence.start_at, Event.id)
    if limit:
        query = query.limit(limit)
    rows = db.session.execute(query).all()
    by_category = {c.id: c for c in categories(active_only=False)}
    events: dict[int, CalendarEvent] = {}  # one object per event, its occurrences share it
    out = []
    for start_at, end_at, event_id, *columns, category_id in rows:
        event = events.get(event_id)
        if event is None:
            event = events[event_id] = CalendarEvent(event_id, *columns, by_category.get(category_id))
        out.append((CalendarSlot(start_at, end_at), event))
    return out


def upcoming(user, limit: int = 5, f: Filters | None = None) -> list[tuple[Occurrence, Event]]:
    now = utcnow()
    return occurrences_between(user, now, now + timedelta(days=3 * 366), f, limit=limit)


def next_occurrences(event: Event, limit: int = 10) -> list[Occurrence]:
    return list(db.session.scalars(sa.select(Occurrence).where(Occurrence.event_id == event.id,
                                                               Occurrence.end_at > utcnow())
                                   .order_by(Occurrence.start_at).limit(limit)))


def to_validate() -> sa.Select:
    return (sa.select(Event).where(Event.status.in_(("pending", "changes_requested")))
            .order_by(Event.created_at))


def categories(active_only: bool = True) -> list[Category]:
    query = sa.select(Category).order_by(Category.position, Category.name)
    if active_only:
        query = query.where(Category.is_active.is_(True))
    return list(db.session.scalars(query))


# -- texts ----------------------------------------------------------------------------------------

def local(dt: datetime, tz: str = "Europe/Paris") -> datetime:
    return dt.astimezone(zone(tz))


@lru_cache(maxsize=2048)
def _date_text(d: date, pattern: str, locale: str) -> str:
    # A month grid asks for the same few dozen dates hundreds of times; Babel takes ~40 µs each.
    return babel_dates.format_date(d, pattern, locale=locale)


def when_text(event, start_at: datetime | None = None, end_at: datetime | None = None) -> str:
    """« mardi 13 octobre 2026, 9:00 – 12:00 » in the event's zone (French, Europe/Paris)."""
    from flask_babel import get_locale

    locale = str(get_locale())
    s = local(start_at or event.start_at, event.tz)
    e = local(end_at or event.end_at, event.tz)
    if event.is_all_day:
        last = (e - timedelta(days=1)).date()
        if last == s.date():
            return _date_text(s.date(), "EEEE d MMMM y", locale)
        return _("du %(start)s au %(end)s", start=_date_text(s.date(), "d MMMM", locale),
                 end=_date_text(last, "d MMMM y", locale))
    # The times of the event's own zone, 24-hour as in French and in the English of the site.
    start_time, end_time = f"{s:%H:%M}", f"{e:%H:%M}"
    if s.date() == e.date():
        return f"{_date_text(s.date(), 'EEEE d MMMM y', locale)}, {start_time} – {end_time}"
    return _("du %(start)s au %(end)s", start=f"{_date_text(s.date(), 'd MMMM', locale)} {start_time}",
             end=f"{_date_text(e.date(), 'd MMMM y', locale)} {end_time}")


def paris_time(dt: datetime) -> str:
    """« 09:30 »: an instant's wall time in Paris (the calendars' chips)."""
    return f"{dt.astimezone(PARIS):%H:%M}"


def where_text(event: Event) -> str:
    if event.place or event.commune:
        return ", ".join(p for p in (event.place, event.commune) if p)
    return _("En ligne") if event.online_url else ""


def price_text(event: Event) -> str:
    if event.price_kind == "free":
        return _("Gratuit")
    if event.price_kind == "amount" and event.price_amount is not None:
        return f"{event.price_amount:.2f} €".replace(".", ",").replace(",00 €", " €")
    if event.price_kind == "text":
        return event.price_text
    return ""


# -- iCal subscription tokens ----------------------------------------------------------------------

def calendar_token(user: User, create: bool = False) -> CalendarToken | None:
    token = db.session.get(CalendarToken, user.id)
    if token is None and create:
        token = CalendarToken(user_id=user.id, token=secrets.token_urlsafe(32))  # 256 bits
        db.session.add(token)
        db.session.flush()
    return token


def renew_token(user: User) -> CalendarToken:
    revoke_token(user)
    return calendar_token(user, create=True)


def revoke_token(user: User) -> None:
    db.session.execute(sa.delete(CalendarToken).where(CalendarToken.user_id == user.id))
    db.session.flush()


def user_for_token(token: str) -> User | None:
    # Only what token_urlsafe makes: a NUL byte in the URL would make PostgreSQL fail (500).
    if not token or len(token) > 64 or not TOKEN_CHARS.fullmatch(token):
        return None
    row = db.session.scalar(sa.select(CalendarToken).where(CalendarToken.token == token))
    if row is None:
        return None
    user = db.session.get(User, row.user_id)
    return user if user is not None and user.is_active_account else None


#: What a VEVENT is written from (``ical.vevent``), plus the names of the category and organizer.
_FEED_COLUMNS = (Event.id, Event.uid, Event.title, Event.status, Event.created_at, Event.updated_at, Event.sequence,
                 Event.is_all_day, Event.tz, Event.start_local, Event.end_local, Event.rrule,
                 Event.place, Event.commune, Event.online_url, Event.description, Event.registration_url,
                 # The JSON text (hashable: see ``ical.vevent_of_row``), decoded for recurring events only.
                 sa.cast(Event.exdates, sa.Text).label("exdates"))


#: What a feed's validator is made of (``feed_version``): every event's VEVENT changes only with
#: one of these (``updated_at`` moves at each edit, validation or cancellation; the names of its
#: category and organization are written in it too).
_VERSION_COLUMNS = (Event.id, Event.updated_at, Event.sequence, Event.status)


def feed_events(user, f: Filters, start: datetime, end: datetime, *, version_only: bool = False) -> list[sa.Row]:
    """Events for an iCal feed: listed, visible, with an occurrence in [start, end); plain rows
    with ``category_name`` and ``organizer`` (a year is thousands of events: no ORM objects).
    ``version_only``: the columns of ``feed_version`` only (a poll answered 304 reads no text)."""
    from intranet.core.models import Organization

    in_range = sa.select(Occurrence.event_id).where(Occurrence.start_at >= start, Occurrence.start_at < end)
    query = (_filtered(listed_events(user), f).where(Event.id.in_(in_range))
             .with_only_columns(*(_VERSION_COLUMNS if version_only else _FEED_COLUMNS),
                                Category.name.label("category_name"), Organization.name.label("organizer"))
             .outerjoin(Category, Category.id == Event.category_id)
             .outerjoin(Organization, Organization.id == Event.organization_id)
             # By id (creation order): calendar apps sort by date themselves, and the id order
             # comes free with the primary key where a date order sorts every row with its text.
             .order_by(Event.id))
    return list(db.session.execute(query))


def feed_version(rows, *salt) -> tuple[str, datetime | None]:
    """The strong ETag and the Last-Modified of a feed of ``rows`` (``feed_events`` rows, full or
    ``version_only``): a hash of each event's id, ``updated_at``, SEQUENCE, status, category and
    organizer names, in id order, and of ``salt`` (the person, the feed's parameters, the writer's
    version). An event added, edited, validated, cancelled, deleted, hidden from the person or
    gone out of the feed's window changes the list, so the ETag. Last-Modified is the latest
    ``updated_at``: it does not move when an event is deleted or a category renamed, which is why
    a request that sends If-None-Match is answered from the ETag alone."""
    import hashlib

    digest = hashlib.sha256(repr(salt).encode())
    last = None
    for r in rows:
        digest.update(f"{r.id}|{r.updated_at.isoformat()}|{r.sequence}|{r.status}|{r.category_name}|"
                      f"{r.organizer}\n".encode())
        if last is None or r.updated_at > last:
            last = r.updated_at
    return digest.hexdigest()[:40], last


def event_url(event: Event, external: bool = True) -> str:
    return url_for("events.show", event_id=event.id, _external=external)


def event_url_maker(external: bool = True) -> IdUrl:
    """``id → URL of the event page``, ``url_for`` run once (see ``IdUrl``)."""
    return IdUrl("events.show", "event_id", _external=external)


def paris_today() -> date:
    return utcnow().astimezone(PARIS).date()



def pending_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Event.id)).where(
        Event.status.in_(("pending", "changes_requested")))) or 0
