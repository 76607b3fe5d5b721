"""The notification bus: ``notify()`` writes in-app rows and e-mail outbox rows in the same
transaction as the change; the worker renders and sends the e-mails, checking again at send time
that the person may still see the object (nobody hears of what they cannot see).

Plugins declare notification types in their manifest (``NotificationType``) and the kinds of
objects they notify about (``NotifiableKind``): how to load one, who may see it (an SQL condition
on ``User`` so 2,000 recipients are filtered in one query), its title, excerpt and URL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Mapped, mapped_column

from intranet.core.plugins import current_registry
from intranet.core.timeutil import UTCDateTime, utcnow
from intranet.extensions import db

FREQUENCIES = ("immediate", "daily", "weekly")


@dataclass(frozen=True)
class NotifiableKind:
    """How the bus reads one kind of object (declared by the plugin that owns the model)."""

    kind: str  # "<plugin>.<thing>", e.g. "groups.invitation"
    model: type
    viewers: Callable[..., sa.ColumnElement]  # viewers(obj): condition on User: "may see obj"
    title: Callable[..., str]
    url: Callable[..., str]  # a path, e.g. url_for("groups.show", group_id=…)
    excerpt: Callable[..., str] = lambda obj: ""
    group_id: Callable[..., int | None] = lambda obj: None  # for "mute this group"


class Notification(db.Model):
    __tablename__ = "core_notifications"
    __table_args__ = (
        sa.Index("ix_core_notifications_user_web_created", "user_id", "is_web", "created_at"),
        sa.Index("ix_core_notifications_email_state", "email_state", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("core_users.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(sa.String(100))
    # No foreign key: the actor is informational (their name is in ``context``), and skipping the
    # check per row keeps notifying 2,000 people under 150 ms on PostgreSQL (bench/).
    actor_id: Mapped[int | None] = mapped_column()
    object_kind: Mapped[str] = mapped_column(sa.String(100))
    object_id: Mapped[int] = mapped_column()
    group_id: Mapped[int | None] = mapped_column()
    context: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # title, excerpt, url, actor name…
    is_web: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    # none: no e-mail; immediate: an outbox row exists; digest: waits for the digest; sent; dropped
    email_state: Mapped[str] = mapped_column(sa.String(10), default="none")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationPreference(db.Model):
    """A member's choice for one type; no row means the site defaults."""

    __tablename__ = "core_notification_prefs"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("core_users.id", ondelete="CASCADE"), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    web: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    email: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    # The e-mails of this type wait for the daily digest even when the others leave at once.
    digest: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())


class NotificationSettings(db.Model):
    """Per member: how often e-mails leave (at once, or in a daily or weekly digest)."""

    __tablename__ = "core_notification_settings"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("core_users.id", ondelete="CASCADE"), primary_key=True)
    frequency: Mapped[str] = mapped_column(sa.String(10), default="immediate")


class GroupMute(db.Model):
    __tablename__ = "core_notification_mutes"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("core_users.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(primary_key=True)


# -- registry lookups ------------------------------------------------------------------------

def notification_type(key: str):
    for nt in current_registry().notification_types:
        if nt.key == key:
            return nt
    raise KeyError(f"unknown notification type {key!r}")


def kind_for(obj) -> NotifiableKind:
    for k in current_registry().notifiable_kinds:
        if isinstance(obj, k.model):
            return k
    raise KeyError(f"no notifiable kind for {type(obj).__name__}")


def kind_named(name: str) -> NotifiableKind | None:
    return next((k for k in current_registry().notifiable_kinds if k.kind == name), None)


# -- preferences -----------------------------------------------------------------------------

DEFAULTS_SETTING = "notifications.defaults"
FREQUENCY_SETTING = "notifications.default_frequency"


def default_channels(type_key: str) -> dict[str, bool]:
    """The admin's defaults for new members, else the type's own defaults."""
    from intranet.core.settings import get_setting

    overrides = get_setting(DEFAULTS_SETTING, {}) or {}
    if type_key in overrides:
        return {"web": bool(overrides[type_key].get("web")), "email": bool(overrides[type_key].get("email"))}
    channels = notification_type(type_key).channels
    return {"web": "web" in channels, "email": "email" in channels}


def default_frequency() -> str:
    from intranet.core.settings import get_setting

    value = get_setting(FREQUENCY_SETTING, "immediate")
    return value if value in FREQUENCIES else "immediate"


def preferences_for(user_ids: Iterable[int], type_key: str) -> dict[int, dict[str, bool]]:
    """Each person's ``web``, ``email`` and ``digest`` choice for the type (defaults where unset)."""
    from intranet.core.models import User

    ids = list(user_ids)
    default = {**default_channels(type_key), "digest": False}
    out = {uid: dict(default) for uid in ids}
    digest_roles = notification_type(type_key).digest_roles
    for chunk in _chunks(ids):
        if digest_roles:
            for uid in db.session.scalars(sa.select(User.id).where(ids_in(User.id, chunk),
                                                                   User.role.in_(digest_roles))):
                out[uid]["digest"] = True
        for row in db.session.scalars(sa.select(NotificationPreference).where(
                NotificationPreference.type == type_key, ids_in(NotificationPreference.user_id, chunk))):
            out[row.user_id] = {"web": row.web, "email": row.email, "digest": row.digest}
    return out


def frequencies_for(user_ids: Iterable[int]) -> dict[int, str]:
    ids = list(user_ids)
    default = default_frequency()
    out = dict.fromkeys(ids, default)
    for chunk in _chunks(ids):
        for uid, freq in db.session.execute(sa.select(NotificationSettings.user_id, NotificationSettings.frequency)
                                            .where(ids_in(NotificationSettings.user_id, chunk))):
            out[uid] = freq
    return out


def set_preference(user_id: int, type_key: str, web: bool, email: bool, digest: bool = False) -> None:
    row = db.session.get(NotificationPreference, (user_id, type_key))
    if row is None:
        row = NotificationPreference(user_id=user_id, type=type_key)
        db.session.add(row)
    row.web, row.email, row.digest = web, email, digest
    db.session.flush()


def set_frequency(user_id: int, frequency: str) -> None:
    if frequency not in FREQUENCIES:
        raise ValueError(frequency)
    row = db.session.get(NotificationSettings, user_id)
    if row is None:
        db.session.add(NotificationSettings(user_id=user_id, frequency=frequency))
    else:
        row.frequency = frequency
    db.session.flush()


def set_group_muted(user_id: int, group_id: int, muted: bool) -> None:
    row = db.session.get(GroupMute, (user_id, group_id))
    if muted and row is None:
        db.session.add(GroupMute(user_id=user_id, group_id=group_id))
    elif not muted and row is not None:
        db.session.delete(row)
    db.session.flush()


def is_group_muted(user_id: int, group_id: int) -> bool:
    return db.session.get(GroupMute, (user_id, group_id)) is not None


def reset_everyone_to_defaults() -> int:
    """Admins: forget every member's choices (types and frequency); mutes are kept."""
    n = db.session.execute(sa.delete(NotificationPreference)).rowcount
    db.session.execute(sa.delete(NotificationSettings))
    db.session.flush()
    return n


# -- unsubscribe tokens ----------------------------------------------------------------------

def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="notifications.unsubscribe")


def unsubscribe_token(user_id: int, type_key: str) -> str:
    return _serializer().dumps([user_id, type_key])


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    try:
        user_id, type_key = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    return int(user_id), str(type_key)


# -- notify ----------------------------------------------------------------------------------

def _chunks(ids: list[int], size: int = 900):
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def ids_in(column, ids) -> sa.ColumnElement:
    """``column IN (1, 2, …)`` with the integers written into the SQL: no bound parameter per id,
    which PostgreSQL's driver would parse and cast one by one (900 per chunk, thousands per call)."""
    return column.in_(sa.bindparam(None, [int(i) for i in ids], type_=column.type, expanding=True,
                                   literal_execute=True))


def _already_notified(kind: str, obj_id: int) -> set[int]:
    """Users already notified about this object in the current transaction (one per person)."""
    notified = db.session.info.setdefault("notified", {})
    return notified.setdefault((kind, obj_id), set())


@sa.event.listens_for(sa.orm.Session, "after_commit")
@sa.event.listens_for(sa.orm.Session, "after_rollback")
def _forget_notified(session):
    session.info.pop("notified", None)


def _object_url(kind, obj) -> str:
    """``kind.url(obj)`` (a url_for path), also outside a request: CLI commands, the worker."""
    from flask import has_request_context

    if has_request_context():
        return kind.url(obj)
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        return kind.url(obj)


def notify(type_key: str, recipients, actor, obj, **context) -> int:
    """Tell ``recipients`` (user ids, users or a SELECT of ids) about ``obj``.

    The actor is left out, so is anyone who cannot see ``obj`` or was already notified about it
    in this transaction. Writes rows in bulk; returns how many people were notified.
    """
    from intranet.core.mail import queue_notification_mails
    from intranet.core.models import User

    nt = notification_type(type_key)
    kind = kind_for(obj)
    if isinstance(recipients, sa.Select):
        ids = set(db.session.scalars(recipients))
    else:
        ids = {getattr(r, "id", r) for r in recipients}
    actor_id = getattr(actor, "id", None)
    ids.discard(actor_id)
    ids.discard(None)
    done = _already_notified(kind.kind, obj.id)
    ids -= done
    if not ids:
        return 0
    allowed: list[int] = []
    viewer = kind.viewers(obj)
    for chunk in _chunks(sorted(ids)):
        allowed += db.session.scalars(sa.select(User.id).where(
            ids_in(User.id, chunk), User.is_active_account.is_(True), viewer)).all()
    if not allowed:
        return 0
    group_id = kind.group_id(obj)
    muted: set[int] = set()
    if group_id is not None:
        for chunk in _chunks(allowed):
            muted |= set(db.session.scalars(sa.select(GroupMute.user_id).where(
                GroupMute.group_id == group_id, ids_in(GroupMute.user_id, chunk))))
    prefs = preferences_for(allowed, type_key)
    freqs = frequencies_for(allowed)
    ctx = {
        "title": kind.title(obj),
        "excerpt": kind.excerpt(obj),
        "url": _object_url(kind, obj),
        "actor": getattr(actor, "name", ""),
        **{k: v for k, v in context.items() if isinstance(v, str | int | float | bool | None)},
    }
    json.dumps(ctx)  # fail early on a context that cannot be stored
    now = utcnow()
    # Bulk: one INSERT … SELECT per choice (web on or off, e-mail state) and per 900 ids, with the
    # values shared by every row bound once; no per-row Python or parameter at 2,000 people.
    by_choice: dict[tuple[bool, str], list[int]] = {}
    for uid in allowed:
        web = prefs[uid]["web"]
        email = prefs[uid]["email"] and uid not in muted
        if not web and not email:
            continue
        at_once = freqs[uid] == "immediate" and not prefs[uid]["digest"]
        state = "none" if not email else ("immediate" if at_once else "digest")
        by_choice.setdefault((web, state), []).append(uid)
    done |= set(allowed)
    if not by_choice:
        return 0
    table = Notification.__table__
    c = table.c
    shared = [sa.literal(type_key, c.type.type), sa.literal(actor_id, c.actor_id.type),
              sa.literal(kind.kind, c.object_kind.type), sa.literal(obj.id, c.object_id.type),
              sa.literal(group_id, c.group_id.type), sa.literal(ctx, c.context.type)]
    columns = ["user_id", "type", "actor_id", "object_kind", "object_id", "group_id", "context", "is_web",
               "email_state", "created_at"]
    inserted = []
    for (web, state), uids in by_choice.items():
        for chunk in _chunks(uids):
            rows = sa.select(User.id, *shared, sa.literal(web, c.is_web.type), sa.literal(state, c.email_state.type),
                             sa.literal(now, c.created_at.type)).where(ids_in(User.id, chunk))
            inserted += db.session.execute(sa.insert(table).from_select(columns, rows)
                                           .returning(c.id, c.user_id, c.email_state)).all()
    immediate = [nid for nid, _uid, state in inserted if state == "immediate"]
    if immediate:
        queue_notification_mails(nt, immediate, ctx)
    return len(inserted)


def unread_count(user) -> int:
    return db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.is_web.is_(True), Notification.read_at.is_(None))) or 0


def still_visible(notification: Notification, user) -> bool:
    """Whether ``user`` may still see the notification's object (checked again at send time)."""
    from intranet.core.models import User

    kind = kind_named(notification.object_kind)
    if kind is None:
        return False
    obj = db.session.get(kind.model, notification.object_id)
    if obj is None:
        return False
    return db.session.scalar(sa.select(User.id).where(User.id == user.id, User.is_active_account.is_(True),
                                                      kind.viewers(obj))) is not None
