"""Group rules in one place: who sees a group and its content, who manages it, and the
membership changes. Services flush and send signals; the view commits."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, has_request_context
from flask_babel import gettext as _
from flask_login import current_user

from intranet.core import signals as core_signals
from intranet.core.audiences import AudienceEntry, Principal
from intranet.core.markup import excerpt
from intranet.core.models import User
from intranet.core.plugins import current_registry
from intranet.core.textfold import contains, fold, fold_sql, french
from intranet.core.timeutil import utcnow
from intranet.extensions import db
from intranet.groups import signals
from intranet.groups.models import GROUP_ROLES, JOIN_POLICIES, VISIBILITIES, Group, GroupRequest, Membership


class GroupError(ValueError):
    """A French message for the person who asked."""


def _app():
    return current_app._get_current_object()


# -- reading rules -------------------------------------------------------------------------
# No cache across requests: leaving a group or being removed ends access on the next request.

def membership(group: Group, user) -> Membership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.get(Membership, (group.id, user.id))


def is_member(group: Group, user) -> bool:
    return membership(group, user) is not None


def is_platform_manager(user) -> bool:
    return getattr(user, "is_authenticated", False) and user.is_animateur


def can_manage(user, group: Group) -> bool:
    """Settings, requests, invitations and members: group owners and admins, admins, animateurs."""
    if is_platform_manager(user):
        return True
    m = membership(group, user)
    return m is not None and m.role in ("owner", "admin")


def can_see_group(user, group: Group) -> bool:
    """A secret group does not exist for non-members (the views answer 404)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return group.visibility != "secret" or is_platform_manager(user) or is_member(group, user)


def can_see_content(user, group: Group) -> bool:
    """Content and member list: everyone for a public group, members only otherwise."""
    if not can_see_group(user, group):
        return False
    return group.visibility == "public" or is_platform_manager(user) or is_member(group, user)


def visible_groups(user) -> sa.Select:
    query = sa.select(Group)
    if not is_platform_manager(user):
        query = query.where(sa.or_(Group.visibility != "secret", Group.id.in_(my_group_ids(user))))
    return query


def groups_with_visible_content(user) -> sa.Select:
    """Groups whose content and member list ``user`` may see (SQL twin of ``can_see_content``)."""
    query = sa.select(Group)
    if not is_platform_manager(user):
        query = query.where(sa.or_(Group.visibility == "public", Group.id.in_(my_group_ids(user))))
    return query


def my_group_ids(user) -> sa.Select:
    return sa.select(Membership.group_id).where(Membership.user_id == user.id)


# -- audience principal: "group" entries ----------------------------------------------------

def _principal_ids(user) -> sa.Select:
    return sa.union(my_group_ids(user), sa.select(Group.id).where(Group.visibility == "public"))


def _principal_matches(user) -> set[int]:
    return set(db.session.scalars(_principal_ids(user)))


def _principal_members(audience_id: int) -> sa.ColumnElement:
    e = AudienceEntry
    as_member = sa.exists().where(e.audience_id == audience_id, e.kind == "group",
                                  Membership.group_id == e.target_id, Membership.user_id == User.id)
    public = sa.exists().where(e.audience_id == audience_id, e.kind == "group", Group.id == e.target_id,
                               Group.visibility == "public")
    return sa.or_(as_member, public)


def _principal_label(ids) -> dict[int, str]:
    """Names for describe(). During a request, a secret group the viewer may not see stays unnamed
    (as if it did not exist): /audiences/description must not reveal secret names."""
    rows = db.session.execute(sa.select(Group.id, Group.name, Group.visibility)
                              .where(Group.id.in_(list(ids)))).all()
    hidden: set[int] = set()
    if has_request_context() and not is_platform_manager(current_user):
        hidden = {gid for gid, _name, visibility in rows if visibility == "secret"}
        if hidden and getattr(current_user, "is_authenticated", False):
            hidden -= set(db.session.scalars(my_group_ids(current_user).where(Membership.group_id.in_(hidden))))
    return {gid: _("le groupe « %(name)s »", name=name) for gid, name, _v in rows if gid not in hidden}


def _principal_search(user, q: str, limit: int = 10) -> list[tuple[int, str]]:
    """Groups the author may share with: their own, and the public ones (all for animateurs)."""
    # Id and name only: the feed's composer lists up to 500 of them on every page.
    query = sa.select(Group.id, Group.name)
    if not is_platform_manager(user):
        query = query.where(Group.id.in_(_principal_ids(user)))
    if q:  # the composer's list (no text) folds no name: SQLite would call the fold on each one
        query = query.where(contains(Group.name, q))
    rows = db.session.execute(query.order_by(french(Group.name)).limit(limit)).all()
    return [(gid, name) for gid, name in rows]


GROUP_PRINCIPAL = Principal(kind="group", ids=_principal_ids, matches=_principal_matches,
                            label=_principal_label, members=_principal_members, search=_principal_search)


# -- changes --------------------------------------------------------------------------------

def _check_fields(name: str, visibility: str, join_policy: str, group: Group | None = None) -> str:
    name = " ".join((name or "").split())  # one line: a name ends up in e-mail subjects
    if not name:
        raise GroupError(_("Le nom du groupe est obligatoire."))
    if len(name) > 150:
        raise GroupError(_("Le nom est trop long (150 caractères au plus)."))
    if visibility not in VISIBILITIES:
        raise GroupError(_("Visibilité inconnue."))
    if join_policy not in JOIN_POLICIES:
        raise GroupError(_("Mode d'adhésion inconnu."))
    # Folded (intranet.core.textfold), not lower(): SQLite's lower() leaves "É" as is, so "ÉLUS" and
    # "élus" would be two groups on SQLite and one on PostgreSQL.
    clash = db.session.scalar(sa.select(Group.id).where(fold_sql(Group.name) == fold(name),
                                                        Group.id != (group.id if group else 0)))
    if clash:
        raise GroupError(_("Un groupe porte déjà ce nom."))
    return name


def create_group(user: User, name: str, description: str = "", visibility: str = "public",
                 join_policy: str = "open", image: str | None = None) -> Group:
    name = _check_fields(name, visibility, join_policy)
    group = Group(name=name, description=description or "", visibility=visibility, join_policy=join_policy,
                  image=image, created_by_id=user.id)
    db.session.add(group)
    db.session.flush()
    db.session.add(Membership(group_id=group.id, user_id=user.id, role="owner"))
    db.session.flush()
    announce_group(group, user)
    return group


def announce_group(group: Group, actor: User | None) -> None:
    """The feed's « Nouveau groupe » item: shown to the whole network for a public or private group
    (their existence is public), withdrawn when the group becomes secret."""
    if group.visibility == "secret":
        core_signals.activity_withdrawn.send(None, key="groups.created", object_id=group.id)
        return
    core_signals.activity_published.send(
        None, key="groups.created", object_id=group.id, audience_targets=[("network", 0)], actor=actor,
        data={"title": group.name, "excerpt": excerpt(group.description, 200), "visibility": group.visibility})


def update_group(group: Group, name: str, description: str, visibility: str, join_policy: str) -> Group:
    group.name = _check_fields(name, visibility, join_policy, group)
    group.description = description or ""
    group.visibility = visibility
    group.join_policy = join_policy
    db.session.flush()
    announce_group(group, None)
    return group


def _add_member(group: Group, user: User, actor: User | None, role: str = "member") -> Membership:
    m = Membership(group_id=group.id, user_id=user.id, role=role)
    db.session.add(m)
    # Any other pending request or invitation for this pair is settled by the membership.
    db.session.execute(sa.update(GroupRequest).where(
        GroupRequest.group_id == group.id, GroupRequest.user_id == user.id, GroupRequest.status == "pending"
    ).values(status="accepted", decided_at=utcnow(), decided_by_id=getattr(actor, "id", None)))
    db.session.flush()
    signals.member_added.send(_app(), group=group, user=user, actor=actor)
    return m


def pending(group: Group, user: User, kind: str | None = None) -> GroupRequest | None:
    query = sa.select(GroupRequest).where(GroupRequest.group_id == group.id, GroupRequest.user_id == user.id,
                                          GroupRequest.status == "pending")
    if kind:
        query = query.where(GroupRequest.kind == kind)
    return db.session.scalar(query.order_by(GroupRequest.id.desc()).limit(1))


def join(user: User, group: Group) -> str:
    """Join an open group, or ask to join one "sur demande". Returns "joined" or "requested"."""
    if is_member(group, user):
        raise GroupError(_("Vous êtes déjà membre de ce groupe."))
    if pending(group, user, "invitation") is not None:
        _add_member(group, user, user)  # accepting an invitation: the person acts
        return "joined"
    if group.join_policy == "open":
        _add_member(group, user, user)
        return "joined"
    if group.join_policy == "request":
        if pending(group, user, "request") is not None:
            raise GroupError(_("Votre demande est déjà en attente."))
        req = GroupRequest(group_id=group.id, user_id=user.id, kind="request")
        db.session.add(req)
        db.session.flush()
        signals.join_requested.send(_app(), group=group, user=user, request=req)
        return "requested"
    raise GroupError(_("Ce groupe est accessible sur invitation seulement."))


def owners(group: Group) -> list[Membership]:
    return db.session.scalars(sa.select(Membership).where(Membership.group_id == group.id,
                                                          Membership.role == "owner")).all()


def _ensure_not_last_owner(group: Group, user: User) -> None:
    m = membership(group, user)
    if m is not None and m.role == "owner" and len(owners(group)) == 1:
        others = db.session.scalar(sa.select(sa.func.count()).select_from(Membership).where(
            Membership.group_id == group.id, Membership.user_id != user.id))
        if others:
            raise GroupError(_("Vous êtes le seul propriétaire : nommez un autre propriétaire avant de partir."))


def leave(user: User, group: Group) -> None:
    m = membership(group, user)
    if m is None:
        raise GroupError(_("Vous n'êtes pas membre de ce groupe."))
    _ensure_not_last_owner(group, user)
    db.session.delete(m)
    db.session.flush()
    signals.member_removed.send(_app(), group=group, user=user, actor=user)


def remove_member(actor: User, group: Group, user: User) -> None:
    m = membership(group, user)
    if m is None:
        raise GroupError(_("Cette personne n'est pas membre du groupe."))
    actor_m = membership(group, actor)
    if m.role == "owner" and not is_platform_manager(actor) and (actor_m is None or actor_m.role != "owner"):
        raise GroupError(_("Seul un propriétaire peut retirer un propriétaire."))
    _ensure_not_last_owner(group, user)
    db.session.delete(m)
    db.session.flush()
    signals.member_removed.send(_app(), group=group, user=user, actor=actor)


def set_role(actor: User, group: Group, user: User, role: str) -> None:
    if role not in GROUP_ROLES:
        raise GroupError(_("Rôle inconnu."))
    m = membership(group, user)
    if m is None:
        raise GroupError(_("Cette personne n'est pas membre du groupe."))
    actor_m = membership(group, actor)
    actor_is_owner = is_platform_manager(actor) or (actor_m is not None and actor_m.role == "owner")
    if (role == "owner" or m.role == "owner") and not actor_is_owner:
        raise GroupError(_("Seul un propriétaire peut nommer ou retirer un propriétaire."))
    if m.role == "owner" and role != "owner" and len(owners(group)) == 1:
        raise GroupError(_("Le groupe doit garder au moins un propriétaire."))
    m.role = role
    db.session.flush()


def invite(actor: User, group: Group, user: User) -> str:
    """Invite ``user``; a pending request from them is accepted instead. Returns "invited" or "added"."""
    if not user.is_active_account:
        raise GroupError(_("Ce compte est désactivé."))
    if is_member(group, user):
        raise GroupError(_("%(name)s est déjà membre du groupe.", name=user.name))
    request = pending(group, user, "request")
    if request is not None:
        decide(actor, request, True)
        return "added"
    if pending(group, user, "invitation") is not None:
        raise GroupError(_("%(name)s a déjà une invitation en attente.", name=user.name))
    req = GroupRequest(group_id=group.id, user_id=user.id, kind="invitation", invited_by_id=actor.id)
    db.session.add(req)
    db.session.flush()
    signals.member_invited.send(_app(), group=group, user=user, request=req, actor=actor)
    return "invited"


def decide(actor: User, req: GroupRequest, accept: bool) -> None:
    """A group admin accepts or refuses a request to join."""
    if req.status != "pending" or req.kind != "request":
        raise GroupError(_("Cette demande a déjà été traitée."))
    req.decided_by_id, req.decided_at = actor.id, utcnow()
    if accept:
        _add_member(req.group, req.user, actor)
        req.status = "accepted"
    else:
        req.status = "refused"
    db.session.flush()
    signals.request_decided.send(_app(), group=req.group, user=req.user, request=req, actor=actor,
                                 accepted=accept)


def respond(user: User, req: GroupRequest, accept: bool) -> None:
    """The invited person accepts or declines."""
    if req.user_id != user.id or req.kind != "invitation" or req.status != "pending":
        raise GroupError(_("Cette invitation n'est plus valable."))
    req.decided_by_id, req.decided_at = user.id, utcnow()
    if accept:
        _add_member(req.group, user, user)
        req.status = "accepted"
    else:
        req.status = "refused"
    db.session.flush()


# -- the group page's tabs ------------------------------------------------------------------

def group_tabs(group: Group):
    """The tabs of the group page the current person may open, in order."""
    registry = current_registry()
    tabs = []
    for tab in registry.group_tabs:
        if tab.key == "groups.settings" and not can_manage(current_user, group):
            continue
        if tab.key not in ("groups.about", "groups.settings") and not can_see_content(current_user, group):
            continue
        tabs.append(tab)
    return tabs


def render_group_page(template: str, group: Group, active: str, **context):
    """Render a tab of the group page. Plugins that add a tab (``GroupTab``) call it; it lives here,
    not in the views, because plugins may use the services of a plugin they require, never its views."""
    from flask import render_template
    from flask_wtf import FlaskForm

    from intranet.core.notifications import is_group_muted

    m = membership(group, current_user)
    return render_template(template, group=group, tabs=group_tabs(group), active=active, membership=m,
                           muted=m is not None and is_group_muted(current_user.id, group.id),
                           can_manage=can_manage(current_user, group),
                           can_see_content=can_see_content(current_user, group),
                           pending_request=None if m else pending(group, current_user),
                           action_form=FlaskForm(), **context)
