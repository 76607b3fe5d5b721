"""Group rules in the services: creation, joining, requests, invitations, leaving, roles, removal.

Services flush and send signals; the tests commit like a view would and listen to the signals the
notification bus will use."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from intranet.extensions import db
from intranet.groups import services, signals
from intranet.groups.models import GroupRequest, Membership
from intranet.groups.services import GroupError


@contextmanager
def listening(signal):
    """Collect the kwargs of every send of ``signal`` inside the block."""
    calls: list[dict] = []

    def receiver(sender, **kwargs):
        calls.append(kwargs)

    with signal.connected_to(receiver):
        yield calls


def role_of(group, user) -> str | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Membership.role).where(Membership.group_id == group.id,
                                                              Membership.user_id == user.id))


# -- creation -------------------------------------------------------------------------------

def test_creator_becomes_owner(make_user):
    animateur = make_user(role="animateur")
    group = services.create_group(animateur, "  Accueil vélo  ", "Les labellisés", "private", "request")
    db.session.commit()
    assert group.name == "Accueil vélo"
    assert (group.visibility, group.join_policy, group.created_by_id) == ("private", "request", animateur.id)
    assert role_of(group, animateur) == "owner"
    assert [m.user_id for m in services.owners(group)] == [animateur.id]


def test_duplicate_name_refused_in_french_whatever_the_case(make_user, factories):
    factories.group(name="Comité de rédaction")
    with pytest.raises(GroupError, match="Un groupe porte déjà ce nom"):
        services.create_group(make_user(role="animateur"), "COMITÉ de rédaction")


def test_duplicate_name_refused_whatever_the_case_of_its_accented_letters(make_user, factories):
    # SQLite's lower() leaves "É" as is: the check must not depend on the database.
    factories.group(name="Élus du réseau")
    with pytest.raises(GroupError, match="Un groupe porte déjà ce nom"):
        services.create_group(make_user(role="animateur"), "ÉLUS DU RÉSEAU")


def test_group_picker_search_ignores_case_and_accents(make_user, factories):
    member = make_user()
    group = factories.group(name="Élus du réseau", members=[member])
    factories.group(name="Randonnée", members=[member])
    assert services.GROUP_PRINCIPAL.search(member, "elus du RESEAU") == [(group.id, "Élus du réseau")]
    assert services.GROUP_PRINCIPAL.search(member, "%") == []  # a wildcard typed is searched literally


def test_bad_fields_refused_in_french(make_user):
    user = make_user(role="animateur")
    with pytest.raises(GroupError, match="Le nom du groupe est obligatoire"):
        services.create_group(user, "   ")
    with pytest.raises(GroupError, match="Visibilité inconnue"):
        services.create_group(user, "Groupe A", visibility="cachée")
    with pytest.raises(GroupError, match="Mode d'adhésion inconnu"):
        services.create_group(user, "Groupe B", join_policy="tirage")


def test_renaming_to_its_own_name_is_fine_but_not_to_another_groups(factories):
    a = factories.group(name="Randonnée")
    factories.group(name="Oenotourisme")
    services.update_group(a, "Randonnée", "Nouvelle description", "secret", "invitation")
    assert (a.description, a.visibility, a.join_policy) == ("Nouvelle description", "secret", "invitation")
    with pytest.raises(GroupError, match="Un groupe porte déjà ce nom"):
        services.update_group(a, "OENOTOURISME", "", "public", "open")


# -- joining --------------------------------------------------------------------------------

def test_join_open_group_makes_a_member(make_user, factories):
    group = factories.group(join_policy="open")
    user = make_user()
    with listening(signals.member_added) as added:
        assert services.join(user, group) == "joined"
    db.session.commit()
    assert role_of(group, user) == "member"
    assert added == [{"group": group, "user": user, "actor": user}]
    with pytest.raises(GroupError, match="Vous êtes déjà membre de ce groupe"):
        services.join(user, group)


def test_join_on_request_creates_a_pending_request_and_tells_the_admins(make_user, factories):
    group = factories.group(join_policy="request")
    user = make_user()
    with listening(signals.join_requested) as asked, listening(signals.member_added) as added:
        assert services.join(user, group) == "requested"
    db.session.commit()
    assert role_of(group, user) is None
    assert added == []
    req = services.pending(group, user, "request")
    assert req is not None and req.status == "pending"
    assert asked == [{"group": group, "user": user, "request": req}]
    with pytest.raises(GroupError, match="Votre demande est déjà en attente"):
        services.join(user, group)


def test_approving_a_request_makes_a_member(make_user, factories):
    owner = make_user()
    group = factories.group(join_policy="request", owner=owner)
    user = make_user()
    services.join(user, group)
    req = services.pending(group, user, "request")
    with listening(signals.request_decided) as decided, listening(signals.member_added) as added:
        services.decide(owner, req, True)
    db.session.commit()
    assert role_of(group, user) == "member"
    assert req.status == "accepted" and req.decided_by_id == owner.id and req.decided_at is not None
    assert decided == [{"group": group, "user": user, "request": req, "actor": owner, "accepted": True}]
    assert added == [{"group": group, "user": user, "actor": owner}]
    with pytest.raises(GroupError, match="Cette demande a déjà été traitée"):
        services.decide(owner, req, False)


def test_refusing_a_request_leaves_the_person_outside(make_user, factories):
    owner = make_user()
    group = factories.group(join_policy="request", owner=owner)
    user = make_user()
    services.join(user, group)
    req = services.pending(group, user, "request")
    with listening(signals.request_decided) as decided, listening(signals.member_added) as added:
        services.decide(owner, req, False)
    db.session.commit()
    assert role_of(group, user) is None
    assert req.status == "refused"
    assert decided == [{"group": group, "user": user, "request": req, "actor": owner, "accepted": False}]
    assert added == []
    # They may ask again later.
    assert services.join(user, group) == "requested"


def test_invitation_only_group_refuses_to_be_joined(make_user, factories):
    group = factories.group(join_policy="invitation")
    user = make_user()
    with pytest.raises(GroupError, match="Ce groupe est accessible sur invitation seulement"):
        services.join(user, group)
    assert role_of(group, user) is None
    assert services.pending(group, user) is None


# -- invitations ----------------------------------------------------------------------------

def test_invite_creates_a_pending_invitation_and_a_signal(make_user, factories):
    owner = make_user()
    group = factories.group(join_policy="invitation", visibility="secret", owner=owner)
    user = make_user()
    with listening(signals.member_invited) as invited:
        assert services.invite(owner, group, user) == "invited"
    db.session.commit()
    req = services.pending(group, user, "invitation")
    assert req is not None and req.invited_by_id == owner.id
    assert invited == [{"group": group, "user": user, "request": req, "actor": owner}]
    assert role_of(group, user) is None
    with pytest.raises(GroupError, match="a déjà une invitation en attente"):
        services.invite(owner, group, user)


def test_invited_person_accepts(make_user, factories):
    owner = make_user()
    group = factories.group(join_policy="invitation", owner=owner)
    user = make_user()
    services.invite(owner, group, user)
    req = services.pending(group, user, "invitation")
    with listening(signals.member_added) as added:
        services.respond(user, req, True)
    db.session.commit()
    assert role_of(group, user) == "member"
    assert req.status == "accepted"
    assert added == [{"group": group, "user": user, "actor": user}]  # accepting: the person acts
    with pytest.raises(GroupError, match="Cette invitation n'est plus valable"):
        services.respond(user, req, True)


def test_invited_person_declines(make_user, factories):
    owner = make_user()
    group = factories.group(join_policy="invitation", owner=owner)
    user = make_user()
    services.invite(owner, group, user)
    req = services.pending(group, user, "invitation")
    with listening(signals.member_added) as added:
        services.respond(user, req, False)
    db.session.commit()
    assert role_of(group, user) is None
    assert req.status == "refused"
    assert added == []


def test_nobody_else_answers_an_invitation(make_user, factories):
    owner = make_user()
    group = factories.group(join_policy="invitation", owner=owner)
    user, other = make_user(), make_user()
    services.invite(owner, group, user)
    req = services.pending(group, user, "invitation")
    with pytest.raises(GroupError, match="Cette invitation n'est plus valable"):
        services.respond(other, req, True)
    assert role_of(group, other) is None and role_of(group, user) is None


def test_joining_with_a_pending_invitation_accepts_it(make_user, factories):
    owner = make_user()
    group = factories.group(join_policy="invitation", owner=owner)
    user = make_user()
    services.invite(owner, group, user)
    assert services.join(user, group) == "joined"
    db.session.commit()
    assert role_of(group, user) == "member"
    assert services.pending(group, user) is None


def test_inviting_someone_who_already_asked_accepts_them_at_once(make_user, factories):
    owner = make_user()
    group = factories.group(join_policy="request", owner=owner)
    user = make_user()
    services.join(user, group)
    with listening(signals.member_invited) as invited, listening(signals.request_decided) as decided:
        assert services.invite(owner, group, user) == "added"
    db.session.commit()
    assert role_of(group, user) == "member"
    assert invited == []
    assert [d["accepted"] for d in decided] == [True]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GroupRequest).where(
        GroupRequest.group_id == group.id, GroupRequest.status == "pending")) == 0


def test_inviting_a_member_or_a_deactivated_account_is_refused(make_user, factories):
    owner = make_user()
    member = make_user(name="Léa Martin")
    group = factories.group(owner=owner, members=[member])
    with pytest.raises(GroupError, match="Léa Martin est déjà membre du groupe"):
        services.invite(owner, group, member)
    with pytest.raises(GroupError, match="Ce compte est désactivé"):
        services.invite(owner, group, make_user(active=False))


# -- leaving --------------------------------------------------------------------------------

def test_member_leaves(make_user, factories):
    member = make_user()
    group = factories.group(members=[member])
    with listening(signals.member_removed) as removed:
        services.leave(member, group)
    db.session.commit()
    assert role_of(group, member) is None
    assert removed == [{"group": group, "user": member, "actor": member}]
    with pytest.raises(GroupError, match="Vous n'êtes pas membre de ce groupe"):
        services.leave(member, group)


def test_last_owner_cannot_leave_while_others_remain(make_user, factories):
    owner, member = make_user(), make_user()
    group = factories.group(owner=owner, members=[member])
    with pytest.raises(GroupError, match="Vous êtes le seul propriétaire"):
        services.leave(owner, group)
    assert role_of(group, owner) == "owner"
    # With a second owner, the first may go.
    services.set_role(owner, group, member, "owner")
    services.leave(owner, group)
    db.session.commit()
    assert role_of(group, owner) is None and role_of(group, member) == "owner"


def test_last_owner_alone_may_leave(make_user, factories):
    owner = make_user()
    group = factories.group(owner=owner)
    services.leave(owner, group)
    db.session.commit()
    assert role_of(group, owner) is None


# -- roles ----------------------------------------------------------------------------------

def test_owner_names_admins_and_owners(make_user, factories):
    owner, a, b = make_user(), make_user(), make_user()
    group = factories.group(owner=owner, members=[a, b])
    services.set_role(owner, group, a, "admin")
    services.set_role(owner, group, b, "owner")
    db.session.commit()
    assert (role_of(group, a), role_of(group, b)) == ("admin", "owner")
    with pytest.raises(GroupError, match="Rôle inconnu"):
        services.set_role(owner, group, a, "roi")


def test_group_admin_cannot_name_or_demote_owners(make_user, factories):
    owner, admin, member = make_user(), make_user(), make_user()
    group = factories.group(owner=owner, admins=[admin], members=[member])
    with pytest.raises(GroupError, match="Seul un propriétaire peut nommer ou retirer un propriétaire"):
        services.set_role(admin, group, member, "owner")
    with pytest.raises(GroupError, match="Seul un propriétaire peut nommer ou retirer un propriétaire"):
        services.set_role(admin, group, owner, "member")
    # An admin may still name other admins.
    services.set_role(admin, group, member, "admin")
    db.session.commit()
    assert (role_of(group, owner), role_of(group, member)) == ("owner", "admin")


def test_group_keeps_one_owner(make_user, factories):
    owner, member = make_user(), make_user()
    group = factories.group(owner=owner, members=[member])
    with pytest.raises(GroupError, match="Le groupe doit garder au moins un propriétaire"):
        services.set_role(owner, group, owner, "admin")
    animateur = make_user(role="animateur")
    with pytest.raises(GroupError, match="Le groupe doit garder au moins un propriétaire"):
        services.set_role(animateur, group, owner, "member")
    assert role_of(group, owner) == "owner"


def test_platform_animateur_may_name_an_owner(make_user, factories):
    owner, member = make_user(), make_user()
    group = factories.group(owner=owner, members=[member])
    services.set_role(make_user(role="animateur"), group, member, "owner")
    db.session.commit()
    assert role_of(group, member) == "owner"


def test_set_role_of_a_non_member_is_refused(make_user, factories):
    owner = make_user()
    group = factories.group(owner=owner)
    with pytest.raises(GroupError, match="Cette personne n'est pas membre du groupe"):
        services.set_role(owner, group, make_user(), "admin")


# -- removal --------------------------------------------------------------------------------

def test_admin_removes_a_member(make_user, factories):
    owner, admin, member = make_user(), make_user(), make_user()
    group = factories.group(owner=owner, admins=[admin], members=[member])
    with listening(signals.member_removed) as removed:
        services.remove_member(admin, group, member)
    db.session.commit()
    assert role_of(group, member) is None
    assert removed == [{"group": group, "user": member, "actor": admin}]
    with pytest.raises(GroupError, match="Cette personne n'est pas membre du groupe"):
        services.remove_member(admin, group, member)


def test_only_an_owner_removes_an_owner(make_user, factories):
    owner, second, admin = make_user(), make_user(), make_user()
    group = factories.group(owner=owner, admins=[admin])
    db.session.add(Membership(group_id=group.id, user_id=second.id, role="owner"))
    db.session.commit()
    with pytest.raises(GroupError, match="Seul un propriétaire peut retirer un propriétaire"):
        services.remove_member(admin, group, second)
    services.remove_member(owner, group, second)
    db.session.commit()
    assert role_of(group, second) is None


def test_last_owner_cannot_be_removed_while_others_remain(make_user, factories):
    owner, member = make_user(), make_user()
    group = factories.group(owner=owner, members=[member])
    with pytest.raises(GroupError, match="seul propriétaire"):
        services.remove_member(make_user(role="admin"), group, owner)
    assert role_of(group, owner) == "owner"


def test_services_work_outside_a_request_and_notify_the_managers(make_user, factories):
    """As from a CLI command or the worker (no request): the join request still reaches the group's
    managers, with a link to the members tab where they decide."""
    from intranet.core.notifications import Notification

    owner, admin = make_user(), make_user()
    group = factories.group(join_policy="request", owner=owner, admins=[admin])
    user = make_user(name="Yves Demandeur")
    services.join(user, group)
    db.session.commit()
    rows = db.session.scalars(sa.select(Notification).where(Notification.type == "groups.join_request")).all()
    assert {r.user_id for r in rows} == {owner.id, admin.id}
    assert {r.context["url"] for r in rows} == {f"/groups/{group.id}/membres"}
