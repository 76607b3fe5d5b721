"""Shared helpers of the calendar tests.

- ``categories`` (fixture): the five default categories of migration 0006 (the tests empty every
  table first), as a dict name → Category.
- ``event_form(**overrides)``: the create/edit form's fields as a dict ready to POST (strings);
  give at least ``organization_id``. ``None`` drops a field; lists post several values.
- ``make_event(author, **kw)``: an event made through ``services.create_event`` and committed.
- ``as_`` (fixture): ``as_(user)`` is a fresh test client logged in as ``user``.
- ``post(c, url, data)``: a POST carrying a valid CSRF token.
- ``text(resp)``: the visible text of a page, as a person reads it.
- ``paris_day(n)``: the Paris date ``n`` days from today.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime, time, timedelta

import pytest

from tests.conftest import csrf_token

DEFAULT_CATEGORIES = (
    ("Formation", "#0b5394", 1), ("Manifestation", "#b45309", 2), ("Réunion réseau", "#15803d", 3),
    ("Salon", "#7e22ce", 4), ("Webinaire", "#0e7490", 5),
)


@pytest.fixture
def categories(app):
    """The five default categories (name → Category)."""
    from intranet.events.models import Category
    from intranet.extensions import db

    rows = {name: Category(name=name, color=color, position=pos, is_active=True)
            for name, color, pos in DEFAULT_CATEGORIES}
    db.session.add_all(rows.values())
    db.session.commit()
    return rows


def paris_day(days: int = 0) -> date:
    from intranet.events.services import paris_today

    return paris_today() + timedelta(days=days)


def event_form(**overrides) -> dict:
    """The fields of the event form, as a browser posts them. Defaults: a network-wide event next
    week, 9:00–12:00 Paris, no category. ``start``/``end`` may be given as dates or datetimes."""
    start = paris_day(7)
    data = {
        "title": "Formation accueil numérique",
        "category_id": "0",
        "description": "Une matinée pour **tout savoir** sur l'accueil numérique.",
        "start_date": start.isoformat(),
        "start_time": "09:00",
        "end_date": start.isoformat(),
        "end_time": "12:00",
        "tz": "Europe/Paris",
        "repeat": "",
        "repeat_interval": "1",
        "repeat_until": "",
        "exceptions": "",
        "place": "Maison du tourisme, 1 place de la Mairie",
        "commune": "Salers",
        "online_url": "",
        "price_kind": "",
        "price_amount": "",
        "price_text": "",
        "contact": "",
        "registration_url": "",
        "capacity": "",
        "audience": "network:0",
    }
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        elif isinstance(value, bool):
            if value:
                data[key] = "y"
            else:
                data.pop(key, None)
        elif isinstance(value, list | tuple):
            data[key] = [str(v) for v in value]
        elif isinstance(value, date | time):
            data[key] = value.isoformat() if not isinstance(value, time) else value.strftime("%H:%M")
        else:
            data[key] = str(value)
    return data


def make_event(author, title: str = "Atelier du réseau", start: datetime | date | None = None,
               end: datetime | date | None = None, *, publish: bool | None = True, audience=None,
               organization=None, category=None, all_day: bool = False, commit: bool = True, **fields):
    """An event through ``services.create_event``, committed.

    ``start``/``end``: Paris wall times (naive datetimes) or dates (all-day). Default: in 3 days,
    10:00–12:00. ``publish``: True (published at once), False (waits for validation), None (the
    service decides: animateurs publish at once). ``audience``: an Audience or a list of
    ``(kind, id)`` (default: the whole network). Other keyword arguments go to EventData
    (place, commune, capacity, group_id, rrule, exdates, tz, description…).
    """
    from intranet.core.audiences import Audience, get_audience
    from intranet.events import services
    from intranet.extensions import db

    if start is None:
        start = datetime.combine(paris_day(3), time(10, 0))
    if isinstance(start, date) and not isinstance(start, datetime):
        all_day = True
        start = datetime.combine(start, time())
    if end is None:
        end = start if all_day else start + timedelta(hours=2)
    elif isinstance(end, date) and not isinstance(end, datetime):
        end = datetime.combine(end, time())
    if audience is None:
        audience = get_audience([("network", 0)])
    elif not isinstance(audience, Audience):
        audience = get_audience(audience)
    data = services.EventData(
        title=title, category_id=getattr(category, "id", category), description=fields.pop("description", ""),
        tz=fields.pop("tz", "Europe/Paris"), is_all_day=all_day, start_local=start, end_local=end,
        organization_id=getattr(organization, "id", organization), **fields)
    event = services.create_event(author, data, audience, publish_now=publish)
    if commit:
        db.session.commit()
    return event


def post(c, url: str, data: dict | None = None, **kwargs):
    """POST ``data`` with a valid CSRF token (read from the profile page, as a browser would)."""
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_token(c, "/accounts/profil"))
    return c.post(url, data=data, **kwargs)


def text(resp) -> str:
    """The visible text of a page, as a person reads it."""
    body = resp.get_data(as_text=True)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()
