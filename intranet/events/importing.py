"""Importing an .ics file: what the preview says and what the confirmation does.

Each VEVENT is matched by the UID it has in its source calendar (``Event.source_uid``), so
importing the same file again updates the events it created, or leaves them alone, instead of
adding copies. An occurrence edited in the source calendar (a VEVENT with RECURRENCE-ID, as Google
Calendar, Thunderbird, Outlook and Nextcloud export it) becomes an exception of its series plus a
one-off event at the new time (« UID#instant »): the day shows it once. A cancelled occurrence is
only the exception.

People hear of an import once: one « N événements ajoutés à l'agenda » notification each (the
usual « Nouvel événement » when the file adds one event), and nothing about events already past.
Like every service, nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _

from intranet.core.audiences import audience_recipients, get_audience
from intranet.core.i18n import ngettext
from intranet.core.models import User
from intranet.core.notifications import notify
from intranet.core.timeutil import utcnow
from intranet.events import services
from intranet.events.models import Event
from intranet.events.recurrence import RecurrenceError, occurrences
from intranet.events.services import EventData
from intranet.extensions import db

NEW, UPDATED, UNCHANGED, INVALID = "new", "updated", "unchanged", "invalid"
#: The fields a file gives; the others (price, contact, commune…) are the app's and are kept.
IMPORTED = ("title", "description", "tz", "is_all_day", "start_local", "end_local", "rrule", "exdates", "place")


@dataclass
class Planned:
    item: dict  # from ``ical.read_events``, overrides applied
    state: str  # NEW, UPDATED, UNCHANGED or INVALID (``item["error"]`` says why)
    event: Event | None = None  # the event a re-import updates or leaves alone


def _stamp(dt: datetime) -> str:
    return dt.strftime("%Y%m%dT%H%M%S")


def merge_overrides(items: list[dict]) -> list[dict]:
    """The file's events with each edited occurrence applied to its series (see the module)."""
    masters = {i["uid"]: i for i in items if i["uid"] and i["recurrence_id"] is None and not i["error"]}
    out = []
    for item in items:
        item = dict(item, exdates=list(item["exdates"]))
        if item["recurrence_id"] is None:
            if item["uid"] in masters:
                masters[item["uid"]] = item  # the copy the overrides below add their exceptions to
            item["source_uid"] = item["uid"] or None
            item["override_of"] = None
            out.append(item)
            continue
        rid = item["recurrence_id"]
        master = masters.get(item["uid"])
        if master is not None and master["rrule"] and rid is not None:
            day = rid.date().isoformat()
            if day not in master["exdates"]:
                master["exdates"].append(day)
        if item["cancelled"] and not item["error"]:
            continue  # an occurrence removed from the series: the exception is all there is
        item["source_uid"] = f"{item['uid']}#{_stamp(rid)}" if item["uid"] and rid is not None else None
        item["override_of"] = rid
        item["rrule"], item["exdates"] = None, []
        out.append(item)
    return out


def _values(item: dict, category_id: int | None) -> dict:
    """The imported fields as ``services._apply`` stores them (to compare with an event's)."""
    values = {"title": item["title"][:200].strip(), "description": item["description"][:20_000],
              "tz": item["tz"], "is_all_day": item["is_all_day"], "start_local": item["start_local"],
              "end_local": item["end_local"], "rrule": item["rrule"] or None,
              "exdates": sorted(set(item["exdates"] or [])), "place": item["place"][:300]}
    if category_id:
        values["category_id"] = category_id
    return values


def _same(event: Event, values: dict) -> bool:
    return all((sorted(event.exdates or []) if k == "exdates" else getattr(event, k)) == v for k, v in values.items())


def plan(items: list[dict], category_id: int | None) -> list[Planned]:
    """What confirming would do to each event of the file (one query for the matches)."""
    merged = merge_overrides(items)
    keys = sorted({i["source_uid"] for i in merged if i["source_uid"] and not i["error"]})
    existing: dict[str, Event] = {}
    for start in range(0, len(keys), 500):
        for event in db.session.scalars(sa.select(Event).where(Event.source_uid.in_(keys[start:start + 500]))
                                        .order_by(Event.id)):
            existing.setdefault(event.source_uid, event)
    out = []
    for item in merged:
        if item["error"]:
            out.append(Planned(item, INVALID))
            continue
        event = existing.get(item["source_uid"]) if item["source_uid"] else None
        if event is None:
            out.append(Planned(item, NEW))
        else:
            out.append(Planned(item, UNCHANGED if _same(event, _values(item, category_id)) else UPDATED, event))
    return out


def summary(planned: list[Planned]) -> str:
    """« 3 nouveaux, 2 mis à jour, 1 inchangé » (the parts that are not zero)."""
    counts = {state: sum(p.state == state for p in planned) for state in (NEW, UPDATED, UNCHANGED)}
    parts = []
    if counts[NEW]:
        parts.append(ngettext("%(num)d nouveau", "%(num)d nouveaux", counts[NEW]))
    if counts[UPDATED]:
        parts.append(ngettext("%(num)d mis à jour", "%(num)d mis à jour", counts[UPDATED]))
    if counts[UNCHANGED]:
        parts.append(ngettext("%(num)d inchangé", "%(num)d inchangés", counts[UNCHANGED]))
    return ", ".join(parts) or _("rien à importer")


def _is_past(data: EventData, now: datetime) -> bool:
    """Whether every occurrence has ended (nobody is told of those)."""
    try:
        spans = occurrences(data.start_local, data.end_local, data.tz, data.is_all_day, data.rrule,
                            data.exdates or [])
    except RecurrenceError:
        return False
    return not spans or max(end for _start, end in spans) < now


def _data_for(event: Event) -> EventData:
    return EventData(**{f.name: getattr(event, f.name) for f in fields(EventData)})


def apply(actor: User, planned: list[Planned], category_id: int | None) -> dict[str, int]:
    """Create and update what ``plan`` found; notify once. Returns the count of each state.
    A refused event raises ``services.EventError``: the caller rolls the whole import back."""
    audience = get_audience([("network", 0)])
    now = utcnow()
    told: list[Event] = []
    for p in planned:
        if p.state in (UNCHANGED, INVALID):
            continue
        values = _values(p.item, category_id)
        if p.state == NEW:
            data = EventData(**{"category_id": category_id, "organization_id": actor.organization_id, **values})
            past = _is_past(data, now)
            event = services.create_event(actor, data, audience, publish_now=True, quiet=True)
            event.source_uid = p.item["source_uid"]
            if not past:
                services.announce_in_feed(event, actor)
                told.append(event)
        else:
            data = replace(_data_for(p.event), **values)
            services.update_event(actor, p.event, data, p.event.audience, quiet=_is_past(data, now))
    db.session.flush()
    if len(told) == 1:
        notify("events.published", audience_recipients(audience), actor, told[0])
    elif told:
        told.sort(key=lambda e: e.start_at)
        titles = " · ".join(f"{e.title} ({services.local(e.start_at, e.tz):%d/%m/%Y})" for e in told[:5])
        if len(told) > 5:
            titles += " …"
        notify("events.imported", audience_recipients(audience), actor, told[0], count=len(told), excerpt=titles,
               title=_("%(n)d événements", n=len(told)), url=url_for("events.index", vue="liste"))
    return {state: sum(p.state == state for p in planned) for state in (NEW, UPDATED, UNCHANGED)}
