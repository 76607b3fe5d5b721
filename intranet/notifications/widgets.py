"""Dashboard widget « Quoi de neuf » and the bell's count."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import render_template
from flask_login import current_user

from intranet.core import notifications as bus
from intranet.core.plugins import current_registry
from intranet.core.timeutil import utcnow
from intranet.extensions import db


def unread_badge() -> int:
    return bus.unread_count(current_user)


def whats_new() -> str:
    since = current_user.previous_visit_at or (utcnow() - timedelta(days=7))
    query = sa.select(bus.Notification).where(bus.Notification.user_id == current_user.id,
                                              bus.Notification.is_web.is_(True),
                                              sa.or_(bus.Notification.created_at >= since,
                                                     bus.Notification.read_at.is_(None)))
    items = db.session.scalars(query.order_by(bus.Notification.created_at.desc()).limit(8)).all()
    types = {nt.key: nt for nt in current_registry().notification_types}
    return render_template("notifications/widget.html", items=items, types=types, since=since)
