"""Daily (07:00) and weekly (Monday 07:00) e-mail digests, Europe/Paris time.

A periodic job looks every minute whether a digest is due; the due time lives in
``core_periodic_runs`` rows claimed by an atomic UPDATE, so two workers never send the same
digest, and a worker that was down at 07:00 sends it when it comes back.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale

from intranet.core.i18n import locale_of, ngettext
from intranet.core.jobs import claim_periodic
from intranet.core.mail import headline, queue_mail
from intranet.core.models import User
from intranet.core.notifications import Notification, NotificationSettings, notification_type, still_visible
from intranet.core.timeutil import PARIS, utcnow
from intranet.extensions import db

MAX_ITEMS = 50
DIGEST_HOUR = 7


def next_due(kind: str, after: datetime) -> datetime:
    """The first 07:00 Paris (a Monday for "weekly") strictly after ``after``, in UTC."""
    local = after.astimezone(PARIS)
    day = local.date()
    while True:
        candidate = datetime.combine(day, time(DIGEST_HOUR), tzinfo=PARIS)
        if candidate > local and (kind == "daily" or candidate.weekday() == 0):
            return candidate.astimezone(after.tzinfo)
        day += timedelta(days=1)


def send_digests(now: datetime | None = None) -> dict[str, int]:
    """Send the digests that are due at ``now``; returns how many mails each kind queued."""
    now = now or utcnow()
    out = {}
    for kind in ("daily", "weekly"):
        # A new row is first due at the next 07:00, not at once.
        due = next_due(kind, now)
        if claim_periodic(f"core.digest.{kind}", now, due, first_run_at=due):
            out[kind] = send_digest(kind)
            db.session.commit()
    return out


def send_digest(kind: str) -> int:
    weekly = sa.select(NotificationSettings.user_id).where(NotificationSettings.frequency == "weekly")
    cond = Notification.user_id.in_(weekly) if kind == "weekly" else Notification.user_id.not_in(weekly)
    user_ids = db.session.scalars(sa.select(Notification.user_id).where(
        Notification.email_state == "digest", cond).distinct()).all()
    sent = 0
    for uid in user_ids:
        user = db.session.get(User, uid)
        with force_locale(locale_of(user)):  # in the reader's language
            sent += _digest_for(user, kind)
    return sent


def _digest_for(user: User, kind: str) -> int:
    items = db.session.scalars(sa.select(Notification).where(
        Notification.user_id == user.id, Notification.email_state == "digest").order_by(Notification.created_at)).all()
    visible = []
    for n in items:
        if user.is_active_account and still_visible(n, user):
            n.email_state = "sent"
            visible.append(n)
        else:
            n.email_state = "dropped"  # access lost since: nobody hears of what they cannot see
    if not visible:
        return 0
    groups: OrderedDict[str, list[dict]] = OrderedDict()
    base = current_app.config["BASE_URL"].rstrip("/")
    for n in visible[:MAX_ITEMS]:
        nt = notification_type(n.type)
        groups.setdefault(str(nt.label), []).append({
            "message": headline(nt, n.context or {}), "excerpt": (n.context or {}).get("excerpt", ""),
            "link": base + str((n.context or {}).get("url", "/")), "when": n.created_at})
    extra = len(visible) - MAX_ITEMS
    count = len(visible)
    subject = (ngettext("Votre résumé du jour : %(num)d nouveauté", "Votre résumé du jour : %(num)d nouveautés", count)
               if kind == "daily" else
               ngettext("Votre résumé de la semaine : %(num)d nouveauté",
                        "Votre résumé de la semaine : %(num)d nouveautés", count))
    with current_app.test_request_context(base_url=base):
        from flask import url_for

        ctx = {"user": user, "groups": groups, "extra": max(extra, 0), "kind": kind, "subject": subject,
               "preferences": base + url_for("notifications.preferences"),
               "all_link": base + url_for("notifications.index")}
        text = render_template("emails/digest.txt", **ctx)
        html = render_template("emails/digest.html", **ctx)
    queue_mail(user.email, subject, text, html)
    return 1


def digest_job(job=None, **_):
    return send_digests()
