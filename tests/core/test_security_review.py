"""Security review of the view modules: open redirects, object references mixed between
groups, secret groups and deactivated people in the JSON helpers, delegated user management,
and CSRF on every state-changing route (read from ``app.url_map``)."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from intranet.core.models import RolePermission, User
from intranet.core.notifications import Notification
from intranet.core.security import safe_redirect_target
from intranet.extensions import db
from intranet.groups.models import GroupRequest, Membership
from tests.conftest import csrf_token
from tests.groups.test_views import png

EVIL = ["//evil.example", "/\\evil.example", "/\\/evil.example", "\\\\evil.example", "/\t/evil.example",
        "/\n/evil.example", "/\r/evil.example", " //evil.example", "https:evil.example", "https://evil.example/",
        "javascript:alert(1)", "/ /evil.example", "evil.example", "/\x00/evil.example"]


def _post(c, url, data=None, token_page="/groups/", **kwargs):
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_token(c, token_page))
    return c.post(url, data=data, **kwargs)


def _stays_here(location: str) -> bool:
    """What a browser does with the Location header: it must stay on this site."""
    cleaned = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    return cleaned.startswith("/") and not cleaned.startswith("//")


# -- open redirects ------------------------------------------------------------------------------

@pytest.mark.parametrize("target", EVIL)
def test_safe_redirect_target_refuses_other_sites(target):
    assert safe_redirect_target(target, "/ici") == "/ici"


@pytest.mark.parametrize("target", ["/groups/", "/groups/3?page=2#membres", "/accounts/annuaire?q=dupont",
                                    "/%2F%2Fevil.example", "/a/%5Cb"])
def test_safe_redirect_target_keeps_paths_of_this_site(target):
    assert safe_redirect_target(target, "/ici") == target


@pytest.mark.parametrize("target", EVIL[:-1])  # a NUL cannot travel in a form field
def test_group_actions_never_redirect_to_another_site(make_user, factories, as_, target):
    group = factories.group()
    c = as_(make_user())
    resp = _post(c, f"/groups/{group.id}/rejoindre", {"next": target})
    assert resp.status_code == 302
    assert _stays_here(resp.headers["Location"]), resp.headers["Location"]
    assert "evil" not in resp.headers["Location"]


def test_group_actions_go_back_to_the_page_of_this_site(make_user, factories, as_):
    group = factories.group()
    resp = _post(as_(make_user()), f"/groups/{group.id}/rejoindre", {"next": "/groups/?q=bal"})
    assert resp.headers["Location"] == "/groups/?q=bal"


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\\evil.example", "//evil.example", "https://evil.example"])
def test_opening_a_notification_never_redirects_to_another_site(make_user, as_, target):
    reader = make_user()
    n = Notification(user_id=reader.id, type="groups.invitation", object_kind="groups.group", object_id=1,
                     context={"url": target})
    db.session.add(n)
    db.session.commit()
    resp = as_(reader).get(f"/notifications/{n.id}/ouvrir")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/\\evil.example", "/\t/evil.example", "/\\/evil.example"])
def test_login_next_with_backslash_or_tab_goes_to_the_dashboard(app, make_user, target):
    user = make_user()
    c = app.test_client()
    resp = c.post("/accounts/connexion", query_string={"next": target},
                  data={"email": user.email, "password": "motdepasse-test", "csrf_token": csrf_token(c)})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


# -- object references -----------------------------------------------------------------------

def test_a_request_of_another_group_cannot_be_decided_through_mine(make_user, factories, as_):
    manager, asker = make_user(), make_user()
    mine = factories.group(owner=manager, join_policy="request")
    theirs = factories.group(join_policy="request", visibility="private")
    req = GroupRequest(group_id=theirs.id, user_id=asker.id, kind="request")
    db.session.add(req)
    db.session.commit()
    resp = _post(as_(manager), f"/groups/{mine.id}/demandes/{req.id}/accepter")
    assert resp.status_code == 404
    db.session.expire_all()
    assert db.session.get(GroupRequest, req.id).status == "pending"
    assert db.session.get(Membership, (theirs.id, asker.id)) is None


def test_nobody_answers_an_invitation_sent_to_someone_else(make_user, factories, as_):
    invited, intruder = make_user(), make_user()
    group = factories.group(visibility="secret", join_policy="invitation")
    req = GroupRequest(group_id=group.id, user_id=invited.id, kind="invitation")
    db.session.add(req)
    db.session.commit()
    assert _post(as_(intruder), f"/groups/invitations/{req.id}/accepter").status_code == 404
    db.session.expire_all()
    assert db.session.get(GroupRequest, req.id).status == "pending"
    assert db.session.get(Membership, (group.id, intruder.id)) is None


def test_an_asker_cannot_accept_their_own_request(make_user, factories, as_):
    asker = make_user()
    group = factories.group(join_policy="request", visibility="private")
    c = as_(asker)
    _post(c, f"/groups/{group.id}/rejoindre")
    req = db.session.scalar(sa.select(GroupRequest).where(GroupRequest.user_id == asker.id))
    assert _post(c, f"/groups/{group.id}/demandes/{req.id}/accepter").status_code == 403
    assert db.session.get(Membership, (group.id, asker.id)) is None


def test_a_group_admin_cannot_make_themselves_owner_nor_demote_the_owner(make_user, factories, as_):
    owner, admin = make_user(), make_user()
    group = factories.group(owner=owner, admins=[admin])
    c = as_(admin)
    _post(c, f"/groups/{group.id}/membres/{admin.id}/role", {"role": "owner"})
    _post(c, f"/groups/{group.id}/membres/{owner.id}/role", {"role": "member"})
    _post(c, f"/groups/{group.id}/membres/{owner.id}/retirer")
    db.session.expire_all()
    assert db.session.get(Membership, (group.id, admin.id)).role == "admin"
    assert db.session.get(Membership, (group.id, owner.id)).role == "owner"


def test_secret_group_stays_hidden_from_outsiders_on_every_route(make_user, factories, as_):
    member, outsider = make_user(), make_user()
    secret = factories.group(name="Cercle Zéphyr", visibility="secret", members=[member])
    c = as_(outsider)
    for url in (f"/groups/{secret.id}", f"/groups/{secret.id}/image", f"/groups/{secret.id}/membres"):
        assert c.get(url).status_code == 404, url
    for url in ("/groups/?q=zéphyr", "/groups/mes-groupes", f"/accounts/personnes/{member.id}",
                "/audiences/recherche?q=zéph", f"/audiences/description?e=group:{secret.id}"):
        assert "Zéphyr" not in c.get(url).get_data(as_text=True), url
    # Nor can an outsider act on it.
    assert _post(c, f"/groups/{secret.id}/inviter", {"person": outsider.email}).status_code == 404
    assert _post(c, f"/groups/{secret.id}/rejoindre").status_code == 404


# -- the picker's JSON helpers ----------------------------------------------------------------

def test_audience_description_does_not_name_deactivated_people(make_user, as_):
    gone = make_user(name="Gaston Parti", active=False)
    stays = make_user(name="Rita Présente")
    c = as_(make_user())
    text = c.get(f"/audiences/description?e=user:{gone.id}&e=user:{stays.id}").get_json()["text"]
    assert "Gaston" not in text and text == "Rita Présente"
    assert c.get(f"/audiences/description?e=user:{gone.id}").get_json()["text"] == "Vous seul"


def test_audience_description_reads_at_most_500_entries(make_user, as_):
    c = as_(make_user())
    query = "&".join(f"e=user:{i}" for i in range(1, 2001))
    resp = c.get(f"/audiences/description?{query}")
    assert resp.status_code == 200


def test_the_photo_of_a_deactivated_person_is_hidden_like_their_profile(make_user, as_, tmp_path):
    from intranet.core.storage import save_image

    gone = make_user(active=False)
    gone.photo = save_image(FileStorage(io.BytesIO(png()), filename="p.png", content_type="image/png")).key
    db.session.commit()
    assert as_(make_user()).get(f"/accounts/personnes/{gone.id}").status_code == 404
    assert as_(make_user()).get(f"/accounts/personnes/{gone.id}/photo").status_code == 404
    resp = as_(make_user(role="admin")).get(f"/accounts/personnes/{gone.id}/photo")
    assert resp.status_code == 200
    resp.close()


# -- delegated user management ------------------------------------------------------------------

@pytest.fixture
def delegate(make_user):
    """An animateur to whom an admin granted « Inviter et gérer les utilisateurs »."""
    db.session.add(RolePermission(role="animateur", permission="accounts.users.manage"))
    db.session.commit()
    return make_user(role="animateur")


def test_a_delegated_manager_cannot_make_themselves_admin(delegate, as_):
    c = as_(delegate)
    page = f"/accounts/admin/utilisateurs/{delegate.id}"
    assert c.get(page).status_code == 200
    _post(c, page, {"organization_id": delegate.organization_id, "role": "admin"}, token_page=page)
    db.session.expire_all()
    assert db.session.get(User, delegate.id).role == "animateur"


def test_a_delegated_manager_cannot_touch_an_admin_account(delegate, make_user, as_):
    admin = make_user(role="admin")
    c = as_(delegate)
    page, users = f"/accounts/admin/utilisateurs/{admin.id}", "/accounts/admin/utilisateurs"
    assert c.get(page).status_code == 403
    data = {"organization_id": admin.organization_id, "role": "membre"}
    assert _post(c, page, data, token_page=users).status_code == 403
    assert _post(c, f"{page}/desactiver", token_page=users).status_code == 403
    db.session.expire_all()
    fresh = db.session.get(User, admin.id)
    assert fresh.role == "admin" and fresh.is_active_account


def test_a_delegated_manager_cannot_invite_an_admin(delegate, as_):
    c = as_(delegate)
    page = "/accounts/admin/utilisateurs/inviter"
    _post(c, page, {"name": "Nouvel Admin", "email": "nouvel.admin@exemple.fr",
                    "organization_id": delegate.organization_id, "role": "admin"}, token_page=page)
    assert db.session.scalar(sa.select(User).where(User.email == "nouvel.admin@exemple.fr")) is None


def test_an_admin_still_names_admins(make_user, as_):
    admin, paul = make_user(role="admin"), make_user()
    page = f"/accounts/admin/utilisateurs/{paul.id}"
    _post(as_(admin), page, {"organization_id": paul.organization_id, "role": "admin"}, token_page=page)
    db.session.expire_all()
    assert db.session.get(User, paul.id).role == "admin"


# -- CSRF on every state-changing route ------------------------------------------------------------

CSRF_EXEMPT = {"notifications.unsubscribe"}  # the signed token in the URL is the authorization


def _sample_url(app, rule) -> str:
    values = {}
    for name, conv in rule._converters.items():
        items = getattr(conv, "items", None)
        values[name] = sorted(items)[0] if items else (1 if conv.regex == r"\d+" else "x")
    return app.url_map.bind("localhost").build(rule.endpoint, values, force_external=False)


def test_every_state_changing_route_refuses_a_post_without_csrf_token(app, make_user, as_):
    c = as_(make_user(role="admin"))
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in CSRF_EXEMPT or not (rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            continue
        url = _sample_url(app, rule)
        method = next(m for m in ("POST", "PUT", "PATCH", "DELETE") if m in rule.methods)
        resp = c.open(url, method=method, data={"next": "/"})
        assert resp.status_code == 400, f"{rule.endpoint} {url}: {resp.status_code}"
        checked += 1
    assert checked >= 20


def test_no_get_route_writes_to_the_database(app, make_user, factories, as_):
    """GET stays safe: every GET route without argument changes nothing (the reader's last visit
    was written by the first request and is not written again within five minutes)."""
    writes: list[str] = []

    def before(conn, cursor, statement, *args):
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    c = as_(make_user(role="admin"))
    factories.group()
    c.get("/")
    sa.event.listen(db.engine, "before_cursor_execute", before)
    try:
        for rule in app.url_map.iter_rules():
            if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static":
                c.get(rule.rule).close()
                assert not writes, f"{rule.endpoint}: {writes}"
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)


def test_unsubscribe_link_cannot_change_anything_but_that_preference(app, make_user):
    from intranet.core import notifications as bus

    user = make_user(name="Nora Nette")
    token = bus.unsubscribe_token(user.id, "groups.invitation")
    c = app.test_client()
    resp = c.post(f"/notifications/desabonnement/{token}",
                  data={"name": "Pirate", "role": "admin", "frequency": "never", "web-groups.invitation": ""})
    assert resp.status_code == 200
    db.session.expire_all()
    fresh = db.session.get(User, user.id)
    assert fresh.name == "Nora Nette" and fresh.role == "membre"
    prefs = bus.preferences_for([user.id], "groups.invitation")[user.id]
    assert prefs["email"] is False and prefs["web"] is True
    other = bus.preferences_for([user.id], "groups.join_request")[user.id]
    assert other["email"] is True
    assert c.post(f"/notifications/desabonnement/{token[:-2]}xx").status_code == 404


# -- the « Visible par » field reads a bounded number of choices ---------------------------------

def test_the_audience_field_refuses_thousands_of_choices_in_french(app, make_user):
    from tests.core.test_audience_field import submit

    me = make_user()
    values = [f"user:{i}" for i in range(1, 50_001)]
    ok, _data, errors = submit(app, me, values)
    assert not ok and errors == ["Choix de visibilité invalide."]


# -- ids too large for the database: 404 or a French refusal, never a 500 -------------------------

BIG = "9" * 30


def test_ids_too_large_for_the_database_answer_404(make_user, as_):
    c = as_(make_user())
    for url in (f"/groups/{BIG}", f"/groups/{2**31}", f"/accounts/personnes/{BIG}", f"/notifications/{BIG}/ouvrir",
                f"/organisations/{BIG}"):
        assert c.get(url).status_code == 404, url
    for kind in ("user", "group", "org"):
        assert c.get(f"/audiences/description?e={kind}:{BIG}").get_json() == {"text": "Tout le réseau"}


def test_a_huge_id_in_the_audience_field_or_the_preferences_is_refused_quietly(app, make_user, as_):
    from tests.core.test_audience_field import submit

    me = make_user()
    ok, _data, errors = submit(app, me, [f"group:{BIG}"])
    assert not ok and errors == ["Choix de visibilité invalide."]
    c = as_(me)
    resp = _post(c, "/notifications/preferences", {"unmute": BIG, "frequency": "daily"},
                 token_page="/notifications/preferences")
    assert resp.status_code == 302
