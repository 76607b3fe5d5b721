"""The demo network (only with INTRANET_DEMO=1): Cantal Destination and its ten FVT partner territories.

The territories are those of annex 1 of the Cantal FVT agreement (shared/seeds/convention_cantal_fvt.txt).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import generate_password_hash

from intranet.core.models import Organization, Territory, User
from intranet.core.timeutil import utcnow
from intranet.extensions import db

DEMO_PASSWORD = "intranet-demo"

# (territory name, territory code, office name, login of the office's demo member)
PARTNERS = [
    ("Pays d'Aurillac", "AURILLAC", "Office de tourisme du Pays d'Aurillac", "aurillac"),
    ("Hautes Terres", "HAUTESTERRES", "Hautes Terres Tourisme", "hautesterres"),
    ("Haut Cantal", "HAUTCANTAL", "Office de tourisme Destination Haut Cantal", "hautcantal"),
    ("Pays de Mauriac", "MAURIAC", "Office de tourisme du Pays de Mauriac", "mauriac"),
    ("Carladès", "CARLADES", "Office de tourisme du Carladès", "carlades"),
    ("Châtaigneraie", "CHATAIGNERAIE", "Office de tourisme de la Châtaigneraie", "chataigneraie"),
    ("Pays de Saint-Flour", "SAINTFLOUR", "Office de tourisme des Pays de Saint-Flour", "saintflour"),
    ("Vallée de la Truyère", "TRUYERE", "Office de tourisme Vallée de la Truyère – Saint-Flour Communauté",
     "truyere"),
    ("Le Lioran", "LIORAN", "Saem Lioran Développement", "lioran"),
    ("Pays de Salers", "SALERS", "Office de tourisme du Pays de Salers", "salers"),
]


# One realistic chargée or chargé d'accueil per office, in the order of PARTNERS; the job title
# agrees with the person.
MEMBERS = [("Sophie Lacombe", "Chargée d'accueil"), ("Thomas Vidal", "Chargé d'accueil"),
           ("Claire Fabre", "Directrice de l'office"), ("Nicolas Delmas", "Chargé d'accueil"),
           ("Émilie Roux", "Chargée de communication"), ("Julie Cantuel", "Chargée d'accueil"),
           ("Pierre Veyrier", "Directeur de l'office"), ("Laure Bonnefoy", "Chargée d'accueil"),
           ("Antoine Lavergne", "Chargé de promotion"), ("Marion Salat", "Directrice de l'office")]


def demo_accounts() -> list[str]:
    return ["admin@demo.local", "animateur@demo.local"] + [f"{p[3]}@demo.local" for p in PARTNERS]


def load_demo() -> str:
    if db.session.scalar(sa.select(sa.func.count(User.id))):
        return "déjà chargé"
    pw = generate_password_hash(DEMO_PASSWORD, method=current_app.config["PASSWORD_HASH_METHOD"])
    now = utcnow()
    cantal = Territory(name="Cantal", code="15")
    db.session.add(cantal)
    db.session.flush()
    agency = Organization(name="Cantal Destination", kind="agence", territory_id=cantal.id,
                          address="36 rue de Paris, 15000 Aurillac", website="https://www.cantal-destination.com",
                          email="contact@demo.local")
    db.session.add(agency)
    db.session.flush()
    db.session.add_all([
        User(email="admin@demo.local", name="Camille Administratrice", role="admin", organization_id=agency.id,
             job_title="Administratrice de l'intranet", password_hash=pw, created_at=now),
        User(email="animateur@demo.local", name="Julien Animateur", role="animateur", organization_id=agency.id,
             job_title="Animateur du réseau", password_hash=pw, created_at=now),
    ])
    for (name, code, office, login), (person, job_title) in zip(PARTNERS, MEMBERS, strict=True):
        territory = Territory(name=name, code=code, parent_id=cantal.id)
        db.session.add(territory)
        db.session.flush()
        org = Organization(name=office, kind="office", territory_id=territory.id, email=f"{login}@demo.local")
        db.session.add(org)
        db.session.flush()
        db.session.add(User(email=f"{login}@demo.local", name=person, role="membre",
                            organization_id=org.id, job_title=job_title, password_hash=pw,
                            created_at=now))
    db.session.flush()
    return f"1 agence, {len(PARTNERS)} offices, {len(demo_accounts())} comptes"
