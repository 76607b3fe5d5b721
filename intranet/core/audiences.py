"""The one sharing model: who may see a shared object.

An audience is a set of entries: the whole network, organizations, groups and/or chosen members.
Audiences are immutable and shared by content (``key`` hashes the sorted list of entries), so the
thousands of posts visible to "Tout le réseau" all point at one audience row, and the set of
audiences a person can see stays small whatever the number of objects.

Every shareable model mixes in ``Shared`` (``audience_id`` + ``author_id``) and every plugin uses
``visible_to(user, query, Model)`` for lists and ``can_view(user, obj)`` for single objects.
Never hand-write a visibility check in a plugin. The author, admins and animateurs always see.

Group membership belongs to the groups plugin: the core does not import it. Plugins that bring
new kinds of principals register a ``Principal`` with the registry (``audience_principals``):
its ``ids(user)`` gives a SELECT of the target ids the user matches (e.g. the groups the user is
a member of, plus the public ones), and ``matches(user)`` the same set in Python for ``can_view``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from intranet.core.plugins import current_registry
from intranet.core.textfold import french
from intranet.extensions import db

NETWORK = "network"
ORG = "org"
USER = "user"


@dataclass(frozen=True)
class Principal:
    """A kind of audience entry contributed by a plugin (e.g. "group")."""

    kind: str
    ids: Callable[..., sa.Select]  # ids(user) -> SELECT of target ids
    matches: Callable[..., set[int]]  # matches(user) -> the same ids, computed in Python
    label: Callable[[Iterable[int]], dict[int, str]] | None = None  # names for describe()
    members: Callable[[int], sa.ColumnElement] | None = None  # members(audience_id): EXISTS on User
    search: Callable[..., list[tuple[int, str]]] | None = None  # search(user, q): for the picker


class Audience(db.Model):
    __tablename__ = "core_audiences"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)  # sha256 of the sorted entries

    entries: Mapped[list[AudienceEntry]] = relationship(
        back_populates="audience", lazy="selectin", cascade="all, delete-orphan")

    def targets(self) -> set[tuple[str, int]]:
        return {(e.kind, e.target_id) for e in self.entries}

    @property
    def is_network(self) -> bool:
        """Shared with the whole network (« Tout le réseau »)."""
        return any(e.kind == NETWORK for e in self.entries)


class AudienceEntry(db.Model):
    __tablename__ = "core_audience_entries"
    __table_args__ = (sa.Index("ix_core_audience_entries_kind_target", "kind", "target_id", "audience_id"),)

    audience_id: Mapped[int] = mapped_column(sa.ForeignKey("core_audiences.id", ondelete="CASCADE"),
                                             primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    target_id: Mapped[int] = mapped_column(primary_key=True)

    audience: Mapped[Audience] = relationship(back_populates="entries")


class Shared:
    """Mixin for shareable models: an audience and an author."""

    @declared_attr
    def audience_id(cls) -> Mapped[int]:
        return mapped_column(sa.ForeignKey("core_audiences.id", ondelete="RESTRICT"), index=True)

    @declared_attr
    def author_id(cls) -> Mapped[int | None]:
        return mapped_column(sa.ForeignKey("core_users.id", ondelete="SET NULL"), index=True)

    @declared_attr
    def audience(cls) -> Mapped[Audience]:
        return relationship(Audience, lazy="joined")


def _principals() -> list[Principal]:
    return current_registry().audience_principals


def _key(targets: Iterable[tuple[str, int]]) -> str:
    return hashlib.sha256(",".join(f"{k}:{t}" for k, t in sorted(set(targets))).encode()).hexdigest()


def get_audience(targets: Iterable[tuple[str, int]]) -> Audience:
    """The audience for these entries, created if it does not exist yet. Never empty: nothing
    chosen means the whole network (what the form shows as the default)."""
    targets = {(k, int(t)) for k, t in targets}
    if not targets or any(k == NETWORK for k, _ in targets):
        targets = {(NETWORK, 0)}
    key = _key(targets)
    audience = db.session.scalar(sa.select(Audience).where(Audience.key == key))
    if audience is None:
        audience = Audience(key=key, entries=[AudienceEntry(kind=k, target_id=t) for k, t in targets])
        try:
            with db.session.begin_nested():
                db.session.add(audience)
        except sa.exc.IntegrityError:  # created meanwhile by another request
            audience = db.session.scalar(sa.select(Audience).where(Audience.key == key))
    return audience


def network_audience() -> Audience:
    return get_audience([(NETWORK, 0)])


def sees_everything(user) -> bool:
    return getattr(user, "is_authenticated", False) and user.is_animateur


def visible_audience_ids(user) -> sa.Select:
    """SELECT of the ids of the audiences ``user`` belongs to. Built once per request and person:
    the dashboard's widgets ask for it five times, and building it costs more than running it
    (kept on the request, not on ``g``, which a test's app context shares between requests)."""
    if not has_request_context():
        return _visible_audience_ids(user)
    built = request.__dict__.setdefault("_visible_audience_ids", {})
    key = (user.id, user.organization_id)
    if key not in built:
        built[key] = _visible_audience_ids(user)
    return built[key]


def _visible_audience_ids(user) -> sa.Select:
    e = AudienceEntry
    conds = [e.kind == NETWORK,
             sa.and_(e.kind == ORG, e.target_id == user.organization_id),
             sa.and_(e.kind == USER, e.target_id == user.id)]
    for principal in _principals():
        conds.append(sa.and_(e.kind == principal.kind, e.target_id.in_(principal.ids(user))))
    return sa.select(e.audience_id).where(sa.or_(*conds))


def visible_to(user, query: sa.Select, model) -> sa.Select:
    """Restrict ``query`` over ``model`` (a ``Shared`` model) to what ``user`` may see, in SQL."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return query.where(sa.false())
    if sees_everything(user):
        return query
    # ``author_id + 0``: no index may serve the author branch. An OR is only index-driven when
    # every branch is, and SQLite would then fetch every visible row through the audience_id and
    # author_id indexes and sort them all (100 ms for the 20 newest of 100,000 objects) instead of
    # walking the list's ORDER BY index and stopping at its LIMIT (0.1 ms). PostgreSQL plans it the
    # same either way (the IN is a hashed subplan run once). See bench/bench_audiences.py.
    return query.where(sa.or_(model.audience_id.in_(visible_audience_ids(user)), (model.author_id + 0) == user.id))


def user_matches(user) -> set[tuple[str, int]]:
    """Every entry that lets ``user`` in, computed in Python (for ``can_view``)."""
    out = {(NETWORK, 0), (ORG, user.organization_id), (USER, user.id)}
    for principal in _principals():
        out |= {(principal.kind, t) for t in principal.matches(user)}
    return out


def can_view(user, obj) -> bool:
    """Whether ``user`` may see ``obj`` (a ``Shared`` object). Same rule as ``visible_to``."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if sees_everything(user) or (obj.author_id is not None and obj.author_id == user.id):
        return True
    return bool(obj.audience.targets() & user_matches(user))


def audience_recipients(audience: Audience) -> sa.Select:
    """SELECT of the ids of the active users in ``audience`` (for notifications)."""
    from intranet.core.models import User

    # A user is in the audience when one of its entries matches them; evaluate per user in SQL
    # by joining each kind of principal.
    u = User
    e = AudienceEntry
    conds = [
        sa.exists().where(e.audience_id == audience.id, e.kind == NETWORK),
        sa.exists().where(e.audience_id == audience.id, e.kind == ORG, e.target_id == u.organization_id),
        sa.exists().where(e.audience_id == audience.id, e.kind == USER, e.target_id == u.id),
    ]
    for principal in _principals():
        if principal.members is not None:
            conds.append(principal.members(audience.id))
    return sa.select(u.id).where(u.is_active_account.is_(True), sa.or_(*conds))


def audience_viewers(obj) -> sa.ColumnElement:
    """SQL condition on ``User``: "may see ``obj``" (a ``Shared`` object), the twin of ``can_view``
    for filtering many people at once (notification recipients)."""
    from intranet.core.models import User

    return sa.or_(User.role.in_(("admin", "animateur")), User.id == obj.author_id,
                  User.id.in_(audience_recipients(obj.audience)))


def describe(audience: Audience | Iterable[tuple[str, int]]) -> str:
    """Who will see it, in plain French: « Tout le réseau », « Office X, groupe « Y » et 2 personnes »."""
    from flask_babel import gettext as _

    from intranet.core.i18n import ngettext
    from intranet.core.models import Organization, User

    targets = audience.targets() if isinstance(audience, Audience) else set(audience)
    if not targets or any(k == NETWORK for k, _t in targets):
        return _("Tout le réseau")
    parts: list[str] = []
    org_ids = [t for k, t in targets if k == ORG]
    if org_ids:
        names = db.session.scalars(sa.select(Organization.name).where(Organization.id.in_(org_ids))
                                   .order_by(french(Organization.name))).all()
        parts += [_("les membres de %(org)s", org=n) for n in names]
    for principal in _principals():
        ids = [t for k, t in targets if k == principal.kind]
        if ids and principal.label:
            parts += sorted(principal.label(ids).values())
    user_ids = [t for k, t in targets if k == USER]
    if user_ids:
        if len(user_ids) <= 3:
            parts += db.session.scalars(sa.select(User.name).where(User.id.in_(user_ids))
                                        .order_by(french(User.name))).all()
        else:
            parts.append(ngettext("%(num)d personne choisie", "%(num)d personnes choisies", len(user_ids)))
    if not parts:
        return _("Vous seul")
    if len(parts) == 1:
        return parts[0]
    return _("%(list)s et %(last)s", list=", ".join(parts[:-1]), last=parts[-1])
