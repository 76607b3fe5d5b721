"""Dashboard widget « Prochains événements »."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from intranet.events.services import upcoming

SHOWN = 5


def next_events() -> str:
    """The next five events, a series once (its next date and « chaque semaine »), so that a weekly
    training does not fill the list."""
    items, seen = [], set()
    for occ, event in upcoming(current_user, limit=SHOWN * 4):
        if event.id not in seen:
            seen.add(event.id)
            items.append((occ, event))
        if len(items) == SHOWN:
            break
    return render_template("events/widget.html", items=items)
