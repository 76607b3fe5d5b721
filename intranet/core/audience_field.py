"""The reusable « Visible par » form field: the whole network, organizations, groups, people.

Submitted values are strings ``kind:id`` (``network:0``, ``org:3``, ``group:5``, ``user:7``). The
field checks each one exists and that the author may see the group, and gives the entries to
``get_audience()``. The template macro ``audience_picker`` (templates/macros/audience.html)
renders it; static/js/app.js adds the search-as-you-type for people and the plain-French summary.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import Field
from wtforms.validators import ValidationError

from intranet.core.audiences import NETWORK, ORG, USER, Audience, describe, get_audience
from intranet.core.models import Organization, User
from intranet.core.plugins import current_registry
from intranet.core.security import MAX_ID
from intranet.core.textfold import french
from intranet.extensions import db


class AudienceField(Field):
    """``data`` is a set of ``(kind, id)``; empty means the whole network."""

    def __init__(self, label=None, validators=None, default_group_id: int | None = None, **kwargs):
        super().__init__(label or _l("Visible par"), validators, **kwargs)
        self.default_group_id = default_group_id

    #: More choices than any picker sends (the JSON summary reads as many): refused before any query.
    MAX_CHOICES = 500

    def process_formdata(self, valuelist):
        if len(valuelist) > self.MAX_CHOICES:
            raise ValueError(_l("Choix de visibilité invalide."))
        targets = set()
        for raw in valuelist:
            kind, _sep, ident = (raw or "").partition(":")
            if not ident.isdigit() or len(ident) > 10 or int(ident) > MAX_ID:
                raise ValueError(_l("Choix de visibilité invalide."))
            targets.add((kind, int(ident)))
        self.data = targets

    def process_data(self, value):
        if isinstance(value, Audience):
            self.data = value.targets()
        elif value:
            self.data = set(value)
        elif self.default_group_id:
            self.data = {("group", self.default_group_id)}
        else:
            self.data = {(NETWORK, 0)}

    def pre_validate(self, form):
        targets = self.data or set()
        kinds = {ORG, USER, NETWORK} | {p.kind for p in current_registry().audience_principals}
        for kind, _ident in targets:
            if kind not in kinds:
                raise ValidationError(_l("Choix de visibilité invalide."))
        org_ids = {i for k, i in targets if k == ORG}
        if org_ids and len(db.session.scalars(sa.select(Organization.id).where(Organization.id.in_(org_ids))).all()) \
                != len(org_ids):
            raise ValidationError(_l("Une organisation choisie n'existe plus."))
        user_ids = {i for k, i in targets if k == USER}
        if user_ids and len(db.session.scalars(sa.select(User.id).where(
                User.id.in_(user_ids), User.is_active_account.is_(True))).all()) != len(user_ids):
            raise ValidationError(_l("Une personne choisie n'existe pas ou a quitté le réseau."))
        for principal in current_registry().audience_principals:
            ids = {i for k, i in targets if k == principal.kind}
            if ids and not ids <= principal.matches(current_user) and not current_user.is_animateur:
                raise ValidationError(_l("Vous ne pouvez pas partager avec un groupe dont vous n'êtes pas membre."))

    def audience(self) -> Audience:
        return get_audience(self.data or {(NETWORK, 0)})

    def summary(self) -> str:
        return describe(self.data or {(NETWORK, 0)})

    def options(self) -> list[dict]:
        """What the picker lists without JavaScript: organizations and the groups the author can use,
        plus the people already chosen."""
        chosen = self.data or set()
        out = [{"value": "network:0", "label": str(_l("Tout le réseau")), "group": "",
                "selected": (NETWORK, 0) in chosen}]
        # Only the id and the name: no Organization objects (with their territories joined) for a
        # list the feed's composer draws on every page.
        orgs_label = str(_l("Organisations"))
        for org_id, name in db.session.execute(sa.select(Organization.id, Organization.name)
                                               .order_by(french(Organization.name))):
            out.append({"value": f"org:{org_id}", "label": name, "group": orgs_label,
                        "selected": (ORG, org_id) in chosen})
        for principal in current_registry().audience_principals:
            if principal.search is None:
                continue
            groups_label = str(_l("Groupes"))
            for ident, label in principal.search(current_user, "", limit=500):
                out.append({"value": f"{principal.kind}:{ident}", "label": label, "group": groups_label,
                            "selected": (principal.kind, ident) in chosen})
        user_ids = [i for k, i in chosen if k == USER]
        if user_ids:
            for u in db.session.scalars(sa.select(User).where(User.id.in_(user_ids)).order_by(french(User.name))):
                out.append({"value": f"user:{u.id}", "label": u.name, "group": str(_l("Personnes")),
                            "selected": True})
        return out
