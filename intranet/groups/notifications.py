"""Notification types of the groups plugin, the objects they are about, and the receivers that
turn group signals into notifications."""

from __future__ import annotations

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l

from intranet.core.models import User
from intranet.core.notifications import NotifiableKind, notify
from intranet.core.plugins import NotificationType
from intranet.extensions import db
from intranet.groups import signals
from intranet.groups.models import Group, GroupRequest, Membership

CATEGORY = _l("Groupes")

TYPES = (
    NotificationType("groups.join_request", _l("Quelqu'un demande à rejoindre un groupe que j'administre"),
                     CATEGORY, message=_l("%(actor)s demande à rejoindre « %(title)s »"),
                     subject=_l("Demande pour rejoindre le groupe « %(title)s »")),
    NotificationType("groups.request_decided", _l("Ma demande pour rejoindre un groupe est acceptée ou refusée"),
                     CATEGORY, message=_l("Votre demande pour rejoindre « %(title)s » a été %(decision)s"),
                     subject=_l("Votre demande pour le groupe « %(title)s » a été %(decision)s")),
    NotificationType("groups.invitation", _l("On m'invite dans un groupe"), CATEGORY,
                     message=_l("%(actor)s vous invite dans le groupe « %(title)s »"),
                     subject=_l("Invitation dans le groupe « %(title)s »")),
    NotificationType("groups.new_member", _l("Un nouveau membre rejoint un groupe que j'administre"), CATEGORY,
                     message=_l("%(member)s a rejoint le groupe « %(title)s »"),
                     subject=_l("Nouveau membre dans le groupe « %(title)s » : %(member)s")),
)


def _platform_manager():
    return User.role.in_(("admin", "animateur"))


def _group_viewers(group: Group) -> sa.ColumnElement:
    # News of a group (who joined it) is its content: like services.can_see_content, everyone for
    # a public group, members and platform managers otherwise (a removed admin hears nothing more).
    if group.visibility == "public":
        return sa.true()
    return sa.or_(_platform_manager(), sa.exists().where(Membership.group_id == group.id,
                                                         Membership.user_id == User.id))


def _request_viewers(req: GroupRequest) -> sa.ColumnElement:
    """The person concerned, and the group's managers."""
    managers = sa.exists().where(Membership.group_id == req.group_id, Membership.user_id == User.id,
                                 Membership.role.in_(("owner", "admin")))
    return sa.or_(User.id == req.user_id, managers, _platform_manager())


def _request_url(req: GroupRequest) -> str:
    if req.kind == "invitation" and req.status == "pending":
        return url_for("groups.mine")
    if req.kind == "request" and req.status == "pending":
        return url_for("groups.members", group_id=req.group_id)
    return url_for("groups.show", group_id=req.group_id)


KINDS = (
    NotifiableKind("groups.group", Group, viewers=_group_viewers, title=lambda g: g.name,
                   url=lambda g: url_for("groups.show", group_id=g.id), group_id=lambda g: g.id),
    NotifiableKind("groups.request", GroupRequest, viewers=_request_viewers, title=lambda r: r.group.name,
                   url=_request_url, group_id=lambda r: r.group_id),
)


def _managers(group: Group) -> sa.Select:
    return sa.select(Membership.user_id).where(Membership.group_id == group.id,
                                               Membership.role.in_(("owner", "admin")))


def on_join_requested(sender, group, user, request, **kwargs):
    notify("groups.join_request", _managers(group), user, request)


def on_request_decided(sender, group, user, request, actor, accepted, **kwargs):
    notify("groups.request_decided", [user.id], actor, request,
           decision=str(_l("acceptée") if accepted else _l("refusée")))


def on_member_invited(sender, group, user, request, actor, **kwargs):
    notify("groups.invitation", [user.id], actor, request)


def on_member_added(sender, group, user, actor, **kwargs):
    # Tell the group's managers; the bus leaves out whoever acted (the newcomer, or the admin
    # who accepted the request) and the newcomer is not a manager yet.
    ids = set(db.session.scalars(_managers(group))) - {user.id}
    notify("groups.new_member", ids, actor, group, member=user.name)


def connect_receivers(app) -> None:
    signals.join_requested.connect(on_join_requested)
    signals.request_decided.connect(on_request_decided)
    signals.member_invited.connect(on_member_invited)
    signals.member_added.connect(on_member_added)
