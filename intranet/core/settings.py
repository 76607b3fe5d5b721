"""Site settings that admins change at run time, stored as JSON rows; defaults come from code."""

from __future__ import annotations

from flask import g

from intranet.core.models import Setting
from intranet.extensions import db


def get_setting(key: str, default=None):
    cache = g.setdefault("_settings", {})
    if key not in cache:
        row = db.session.get(Setting, key)
        cache[key] = row.value if row is not None else default
    return cache[key] if cache[key] is not None else default


def set_setting(key: str, value) -> None:
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value=value))
    else:
        row.value = value
    db.session.flush()
    g.setdefault("_settings", {})[key] = value
