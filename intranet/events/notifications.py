"""Notification types of the calendar, the object they are about (an event), and the day-before
reminder run by the worker."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l

from intranet.core.audiences import audience_viewers
from intranet.core.markup import excerpt
from intranet.core.models import User
from intranet.core.notifications import NotifiableKind, notify
from intranet.core.plugins import NotificationType
from intranet.core.timeutil import PARIS, utcnow
from intranet.events.models import Event, Occurrence, Participation, ReminderSent
from intranet.extensions import db

CATEGORY = _l("Agenda")

TYPES = (
    NotificationType("events.published", _l("Un nouvel événement est publié dans l'agenda"), CATEGORY,
                     message=_l("Nouvel événement : « %(title)s »"),
                     subject=_l("Nouvel événement dans l'agenda : %(title)s"),
                     # Every office's events reach every member: one e-mail a day, not one each.
                     digest_roles=("membre",)),
    # One per person for a whole .ics import (« 11 événements ajoutés à l'agenda »), not one per event.
    NotificationType("events.imported", _l("Des événements sont importés dans l'agenda"), CATEGORY,
                     message=_l("%(count)s événements ajoutés à l'agenda"),
                     subject=_l("%(count)s événements ajoutés à l'agenda")),
    NotificationType("events.to_validate", _l("Un événement attend ma validation"), CATEGORY,
                     message=_l("%(actor)s propose « %(title)s » : à valider"),
                     subject=_l("Événement à valider : %(title)s"), roles=("animateur", "admin")),
    NotificationType("events.validated", _l("Mon événement est validé"), CATEGORY,
                     message=_l("Votre événement « %(title)s » est validé et publié"),
                     subject=_l("Votre événement « %(title)s » est publié")),
    NotificationType("events.changes_requested", _l("On me demande de modifier mon événement"), CATEGORY,
                     message=_l("Modifications demandées pour « %(title)s » : %(note)s"),
                     subject=_l("Modifications demandées pour votre événement « %(title)s »")),
    NotificationType("events.refused", _l("Mon événement est refusé"), CATEGORY,
                     message=_l("Votre événement « %(title)s » est refusé : %(note)s"),
                     subject=_l("Votre événement « %(title)s » est refusé")),
    NotificationType("events.changed", _l("Un événement auquel je participe change"), CATEGORY,
                     message=_l("« %(title)s » a changé : vérifiez la date et le lieu"),
                     subject=_l("Changement : %(title)s")),
    NotificationType("events.cancelled", _l("Un événement auquel je participe est annulé"), CATEGORY,
                     message=_l("« %(title)s » est annulé"), subject=_l("Annulé : %(title)s")),
    NotificationType("events.reminder", _l("Rappel la veille d'un événement auquel je participe"), CATEGORY,
                     message=_l("Rappel : « %(title)s » a lieu demain"), subject=_l("Rappel : %(title)s, demain")),
)


def _viewers(event: Event) -> sa.ColumnElement:
    from intranet.core.settings import get_setting
    from intranet.events.services import ORG_EDIT_SETTING

    editors = sa.or_(User.role.in_(("admin", "animateur")), User.id == event.author_id)
    if get_setting(ORG_EDIT_SETTING, True) and event.organization_id:
        editors = sa.or_(editors, User.organization_id == event.organization_id)
    if event.status in ("published", "cancelled"):
        return sa.or_(audience_viewers(event), editors)
    return editors


def _excerpt(event: Event) -> str:
    from intranet.events.services import when_text, where_text

    parts = [when_text(event), where_text(event), excerpt(event.description, 200)]
    return " · ".join(p for p in parts if p)


KINDS = (
    NotifiableKind("events.event", Event, viewers=_viewers, title=lambda e: e.title,
                   url=lambda e: url_for("events.show", event_id=e.id), excerpt=_excerpt,
                   group_id=lambda e: e.group_id),
)


def send_reminders(now: datetime | None = None) -> int:
    """The day before: tell the participants (« Je participe », « Peut-être ») of tomorrow's
    occurrences, once per occurrence. Runs every 15 minutes in the worker; sends after 8:00 Paris.
    ``now`` (aware) stands for the current time in tests."""
    now = now or utcnow()
    paris_now = now.astimezone(PARIS)
    if paris_now.hour < 8:
        return 0
    tomorrow = paris_now.date() + timedelta(days=1)
    start = datetime.combine(tomorrow, time(), PARIS)
    end = start + timedelta(days=1)
    due = db.session.execute(
        sa.select(Occurrence.event_id, Occurrence.start_at).join(Event, Event.id == Occurrence.event_id)
        .where(Occurrence.start_at >= start, Occurrence.start_at < end, Event.status == "published",
               ~sa.exists().where(ReminderSent.event_id == Occurrence.event_id,
                                  ReminderSent.start_at == Occurrence.start_at))).all()
    sent = 0
    for event_id, start_at in due:
        try:
            with db.session.begin_nested():
                db.session.add(ReminderSent(event_id=event_id, start_at=start_at))
        except sa.exc.IntegrityError:  # another worker took it
            continue
        event = db.session.get(Event, event_id)
        who = sa.select(Participation.user_id).where(Participation.event_id == event_id,
                                                     Participation.status.in_(("yes", "maybe")),
                                                     Participation.is_waiting.is_(False))
        sent += notify("events.reminder", who, None, event)
        db.session.commit()
    return sent


def reminder_job(job=None, **_):
    return send_reminders()
