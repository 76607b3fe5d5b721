"""Authorization matrix of the groups plugin: every ``groups.*`` route × role × group visibility
→ expected status.

Roles: anonyme, a member of the network outside the group (non_membre), a member of the group
(membre_du_groupe), an administrator of the group (admin_du_groupe, a plain « membre » of the
network), an animateur and a platform admin. Visibilities: public, private, secret.

A secret group does not exist for a non-member: 404, never 403. Private content (the members tab)
answers 403 to non-members of a group they can see. Manager actions (settings, invite, decide a
request, remove a member, change a role) answer 403 to non-managers of a visible group and 404 when
the group is secret to them. Anonymous visitors go to the login page (302). GET routes are fetched;
POST-only routes receive a valid CSRF token, read from a page as a browser would, so the status
shows the authorization and not the CSRF check.

The routes come from ``app.url_map``: a new ``groups.*`` route without an entry here fails.
"""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask import url_for
from PIL import Image
from werkzeug.datastructures import FileStorage

from intranet.core.storage import save_image
from intranet.extensions import db
from intranet.groups.models import Group, GroupRequest, Membership
from tests.conftest import csrf_token

ROLES = ("anonyme", "non_membre", "membre_du_groupe", "admin_du_groupe", "animateur", "admin")
VISIBILITIES = ("public", "private", "secret")


def _roles(anonyme, non_membre, membre_du_groupe, admin_du_groupe, animateur, admin):
    return dict(zip(ROLES, (anonyme, non_membre, membre_du_groupe, admin_du_groupe, animateur, admin),
                    strict=True))


def _same(cell):
    """The same answers whatever the group's visibility."""
    return dict.fromkeys(VISIBILITIES, cell)


def _group_page(ok):
    """A page or action about the group: secret → 404 for non-members."""
    return {"public": _roles(302, ok, ok, ok, ok, ok), "private": _roles(302, ok, ok, ok, ok, ok),
            "secret": _roles(302, 404, ok, ok, ok, ok)}


def _members_only(ok):
    """Content for members: 403 to non-members of a private group, 404 if it is secret."""
    return {"public": _roles(302, ok, ok, ok, ok, ok), "private": _roles(302, 403, ok, ok, ok, ok),
            "secret": _roles(302, 404, ok, ok, ok, ok)}


def _managers_only(ok):
    """Group owners/admins, animateurs and admins; 403 to others who see the group, 404 if secret."""
    return {"public": _roles(302, 403, 403, ok, ok, ok), "private": _roles(302, 403, 403, ok, ok, ok),
            "secret": _roles(302, 404, 403, ok, ok, ok)}


#: endpoint → visibility → role → status. Every groups.* route must be here.
EXPECTED: dict[str, dict[str, dict[str, int]]] = {
    "groups.index": _same(_roles(302, 200, 200, 200, 200, 200)),
    "groups.mine": _same(_roles(302, 200, 200, 200, 200, 200)),
    # groups.create: animateurs and admins by default (a setting may grant it to members).
    "groups.create": _same(_roles(302, 403, 403, 403, 200, 200)),
    "groups.show": _group_page(200),
    "groups.about": _group_page(200),
    "groups.image": _group_page(200),  # the group has a real image
    "groups.members": _members_only(200),
    "groups.settings": _managers_only(200),
    # POST actions answer with a redirect (and a flash message) when allowed.
    "groups.join": _group_page(302),  # open group: joined, or « déjà membre »
    "groups.leave": _group_page(302),  # left, or « pas membre »
    "groups.invite": _managers_only(302),
    "groups.decide": _managers_only(302),
    "groups.remove": _managers_only(302),
    "groups.role": _managers_only(302),
    # Muting a group's e-mails is for its members only (animateurs and admins see it but are not in it).
    "groups.mute": {"public": _roles(302, 403, 302, 302, 403, 403), "private": _roles(302, 403, 302, 302, 403, 403),
                    "secret": _roles(302, 404, 302, 302, 403, 403)},
    # An invitation addressed to someone else does not exist for anyone else.
    "groups.respond": _same(_roles(302, 404, 404, 404, 404, 404)),
}

CELLS = [(endpoint, visibility, role) for endpoint in EXPECTED for visibility in VISIBILITIES for role in ROLES]


def _png() -> FileStorage:
    out = io.BytesIO()
    Image.new("RGB", (40, 40), (10, 120, 200)).save(out, "PNG")
    out.seek(0)
    return FileStorage(out, filename="groupe.png", content_type="image/png")


def _world(factories, visibility: str) -> SimpleNamespace:
    """One group of ``visibility`` (open) with an owner, an admin, members, a pending request and a
    pending invitation; rows written directly so the setup sends no signal."""
    w = SimpleNamespace()
    w.owner = factories.user(name="Propriétaire")
    w.group = factories.group(name="Le groupe", visibility=visibility, join_policy="open", owner=w.owner)
    w.group.image = save_image(_png(), max_side=800).key
    people = {
        "non_membre": factories.user(),
        "membre_du_groupe": factories.user(),
        "admin_du_groupe": factories.user(),
        "animateur": factories.user(role="animateur"),
        "admin": factories.user(role="admin"),
    }
    w.people = people
    w.target = factories.user(name="Cible")  # removed / given a role
    w.requester = factories.user(name="Demandeur")
    w.invitee = factories.user(name="Invité")
    w.guest = factories.user(name="Nouvel invité")
    db.session.add_all([
        Membership(group_id=w.group.id, user_id=people["membre_du_groupe"].id, role="member"),
        Membership(group_id=w.group.id, user_id=people["admin_du_groupe"].id, role="admin"),
        Membership(group_id=w.group.id, user_id=w.target.id, role="member"),
    ])
    w.request = GroupRequest(group_id=w.group.id, user_id=w.requester.id, kind="request")
    w.invitation = GroupRequest(group_id=w.group.id, user_id=w.invitee.id, kind="invitation",
                                invited_by_id=w.owner.id)
    db.session.add_all([w.request, w.invitation])
    db.session.commit()
    return w


def _url_and_data(app, rule, w) -> tuple[str, dict]:
    values = {"group_id": w.group.id, "user_id": w.target.id, "decision": "accepter",
              "request_id": w.invitation.id if rule.endpoint == "groups.respond" else w.request.id}
    args = {name: values[name] for name in rule.arguments}
    with app.test_request_context():
        url = url_for(rule.endpoint, **args)
    data = {"groups.invite": {"person": w.guest.email}, "groups.role": {"role": "admin"},
            "groups.mute": {"muted": "1"}}.get(rule.endpoint, {})
    return url, data


def _rules(app) -> dict:
    return {r.endpoint: r for r in app.url_map.iter_rules() if r.endpoint.startswith("groups.")}


def test_every_group_route_has_an_entry_and_every_entry_a_route(app):
    routes = set(_rules(app))
    assert routes - set(EXPECTED) == set(), "groups routes missing from the matrix"
    assert set(EXPECTED) - routes == set(), "matrix entries without a route"
    for endpoint, by_visibility in EXPECTED.items():
        assert set(by_visibility) == set(VISIBILITIES), endpoint
        for cells in by_visibility.values():
            assert set(cells) == set(ROLES), endpoint


@pytest.mark.parametrize(("endpoint", "visibility", "role"), CELLS, ids=[f"{e}-{v}-{r}" for e, v, r in CELLS])
def test_cell(app, client, login, factories, endpoint, visibility, role):
    w = _world(factories, visibility)
    if role != "anonyme":
        login(w.people[role])
    rule = _rules(app)[endpoint]
    url, data = _url_and_data(app, rule, w)
    if "GET" in rule.methods:
        resp = client.get(url)
    else:
        data["csrf_token"] = csrf_token(client, "/accounts/connexion" if role == "anonyme" else "/groups/")
        resp = client.post(url, data=data)
    expected = EXPECTED[endpoint][visibility][role]
    assert resp.status_code == expected, (url, resp.status_code, resp.get_data(as_text=True)[:300])
    resp.close()
    if role == "anonyme":
        assert resp.location.startswith("/accounts/connexion")
    elif expected == 404 and endpoint != "groups.respond":
        # The 404 page of a secret group does not give its name away.
        assert "Le groupe" not in resp.get_data(as_text=True)


def test_refused_manager_actions_change_nothing(app, client, login, factories):
    """A plain member's POSTs to manager actions are refused and leave the group as it was."""
    w = _world(factories, "private")
    login(w.people["membre_du_groupe"])
    token = csrf_token(client, "/groups/")
    g = w.group.id
    for url, data in [(f"/groups/{g}/inviter", {"person": w.guest.email}),
                      (f"/groups/{g}/demandes/{w.request.id}/accepter", {}),
                      (f"/groups/{g}/membres/{w.target.id}/retirer", {}),
                      (f"/groups/{g}/membres/{w.target.id}/role", {"role": "owner"}),
                      (f"/groups/{g}/parametres", {"name": "Piraté", "visibility": "public", "join_policy": "open"})]:
        assert client.post(url, data={**data, "csrf_token": token}).status_code == 403, url
    db.session.expire_all()
    assert db.session.get(Group, g).name == "Le groupe"
    roles = dict(db.session.execute(sa.select(Membership.user_id, Membership.role)
                                    .where(Membership.group_id == g)).all())
    assert roles[w.target.id] == "member" and w.requester.id not in roles and w.guest.id not in roles
    assert db.session.get(GroupRequest, w.request.id).status == "pending"


def test_post_without_csrf_token_is_refused(app, client, login, factories):
    w = _world(factories, "public")
    login(w.people["non_membre"])
    assert client.post(f"/groups/{w.group.id}/rejoindre").status_code == 400
    db.session.expire_all()
    assert db.session.get(Membership, (w.group.id, w.people["non_membre"].id)) is None
