"""Factories for tests and benchmarks: real rows, committed, with sensible French defaults."""

from __future__ import annotations

import itertools

from flask import current_app
from werkzeug.security import generate_password_hash

from intranet.core.models import Organization, Territory, User
from intranet.extensions import db

DEFAULT_PASSWORD = "motdepasse-test"
_seq = itertools.count(1)


class Factories:
    def __init__(self):
        self._hash = None

    def territory(self, name: str | None = None, code: str | None = None, parent=None) -> Territory:
        n = next(_seq)
        t = Territory(name=name or f"Territoire {n}", code=code or f"T{n}", parent_id=getattr(parent, "id", None))
        db.session.add(t)
        db.session.commit()
        return t

    def organization(self, name: str | None = None, kind: str = "office", territory=None) -> Organization:
        n = next(_seq)
        org = Organization(name=name or f"Office de tourisme {n}", kind=kind,
                           territory_id=getattr(territory, "id", None))
        db.session.add(org)
        db.session.commit()
        return org

    def user(self, role: str = "membre", organization=None, name: str | None = None, email: str | None = None,
             password: str | None = DEFAULT_PASSWORD, active: bool = True, **fields) -> User:
        n = next(_seq)
        org = organization or self.organization()
        if password == DEFAULT_PASSWORD:
            if self._hash is None:
                self._hash = generate_password_hash(DEFAULT_PASSWORD, method=current_app.config["PASSWORD_HASH_METHOD"])
            pw_hash = self._hash
        else:
            pw_hash = generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"]) \
                if password else None
        user = User(name=name or f"Personne {n}", email=email or f"personne{n}@exemple.fr", role=role,
                    organization_id=org.id, password_hash=pw_hash, is_active_account=active, **fields)
        db.session.add(user)
        db.session.commit()
        return user

    def group(self, name: str | None = None, visibility: str = "public", join_policy: str = "open", owner=None,
              members=(), admins=(), description: str = ""):
        """A group created through the service (``owner`` becomes its owner), with extra members."""
        from intranet.groups import services
        from intranet.groups.models import Membership

        n = next(_seq)
        owner = owner or self.user()
        group = services.create_group(owner, name or f"Groupe {n}", description, visibility, join_policy)
        for person in members:
            db.session.add(Membership(group_id=group.id, user_id=person.id, role="member"))
        for person in admins:
            db.session.add(Membership(group_id=group.id, user_id=person.id, role="admin"))
        db.session.commit()
        return group
