"""Dashboard widget « Derniers messages du fil »."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from intranet.feed.services import latest_for_widget


def latest_posts() -> str:
    return render_template("feed/widget.html", posts=latest_for_widget(current_user, 5),
                           since=current_user.previous_visit_at)
