"""Demo groups: the working groups an ADT's network really has, with their members."""

from __future__ import annotations

import sqlalchemy as sa

from intranet.core.models import User
from intranet.extensions import db
from intranet.groups.models import Membership
from intranet.groups.services import create_group

# (name, description, visibility, join policy, owner's login, members' logins)
GROUPS = [
    ("Accueil et conseil en séjour",
     "Les conseillères et conseillers en séjour du réseau : fiches pratiques, questions du comptoir, "
     "formations à l'accueil et retours des saisons.",
     "public", "open", "animateur", ["aurillac", "hautesterres", "mauriac", "chataigneraie", "lioran"]),
    ("Communication et réseaux sociaux",
     "Calendrier éditorial commun, photos libres de droits, campagnes de l'agence et bonnes idées pour "
     "Instagram et Facebook.",
     "public", "open", "animateur", ["carlades", "salers", "hautcantal"]),
    ("Directeurs d'offices",
     "L'espace des directrices et directeurs d'offices et de l'agence : budgets, conventions, "
     "préparation des comités de pilotage.",
     "private", "invitation", "admin", ["hautcantal", "saintflour", "salers"]),
]


def load_demo() -> str:
    people = {u.email.split("@")[0]: u for u in db.session.scalars(sa.select(User))}
    for name, description, visibility, policy, owner, members in GROUPS:
        group = create_group(people[owner], name, description, visibility, policy)
        roles = {login: "member" for login in members}
        if owner == "admin":  # the agency's animateur helps run the directors' group
            roles["animateur"] = "admin"
        db.session.add_all(Membership(group_id=group.id, user_id=people[login].id, role=role)
                           for login, role in roles.items())
    db.session.flush()
    return f"{len(GROUPS)} groupes"
