"""Demo events: a calendar with something in it on the first `make run`."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from intranet.core.audiences import network_audience
from intranet.core.models import User
from intranet.events import services
from intranet.events.models import Category
from intranet.events.recurrence import build_rule
from intranet.extensions import db


def load_demo() -> str:
    people = {u.email: u for u in db.session.scalars(sa.select(User))}
    cats = {c.name: c.id for c in db.session.scalars(sa.select(Category))}
    today = services.paris_today()
    monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
    audience = network_audience()

    def data(title, cat, day, start, end, end_day=None, **kw):
        return services.EventData(title=title, category_id=cats.get(cat), description=kw.pop("description", ""),
                                  tz="Europe/Paris", is_all_day=kw.pop("all_day", False),
                                  start_local=datetime.combine(day, start),
                                  end_local=datetime.combine(end_day or day, end), **kw)

    animateur, salers, aurillac = (people["animateur@demo.local"], people["salers@demo.local"],
                                   people["aurillac@demo.local"])
    services.create_event(animateur, data(
        "Formation : accueillir la clientèle étrangère", "Formation", monday + timedelta(days=1), time(9), time(12),
        description="Trois matinées pour travailler l'accueil en anglais et en allemand.", place="Cantal Destination",
        commune="Aurillac", price_kind="free", capacity=12,
        rrule=build_rule("weekly", monday + timedelta(days=1), weekdays=["TU"], count=3),
        organization_id=animateur.organization_id), audience)
    services.create_event(animateur, data(
        "Réunion du réseau des offices", "Réunion réseau", monday + timedelta(days=10), time(14), time(16, 30),
        online_url="https://visio.example.org/reseau", organization_id=animateur.organization_id), audience)
    # The first weekend of September, as the Salers office's post says.
    september = date(today.year + (today.month >= 9), 9, 1)
    saturday = september + timedelta(days=(5 - september.weekday()) % 7)
    services.create_event(salers, data(
        "Fête de la Salers", "Manifestation", saturday, time(), time(), end_day=saturday + timedelta(days=1),
        all_day=True, description="Concours de la race Salers, marché de producteurs et démonstrations de "
        "traite. Bénévoles pour l'accueil : samedi matin et dimanche après-midi.",
        place="Place Tyssandier d'Escous", commune="Salers", price_kind="free",
        organization_id=salers.organization_id), audience, publish_now=True)
    services.create_event(aurillac, data(
        "Atelier réseaux sociaux", "Formation", monday + timedelta(days=3), time(10), time(12),
        commune="Aurillac", price_kind="amount", price_amount=15, organization_id=aurillac.organization_id), audience)
    return "4 événements dans l'agenda"
