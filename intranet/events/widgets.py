"""Dashboard widget « Prochains événements »."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from intranet.events.services import upcoming


def next_events() -> str:
    return render_template("events/widget.html", items=upcoming(current_user, limit=5))
