"""The user admin pages: list and filters, role and organization, deactivation, the audit log, access."""

from __future__ import annotations

import html as htmllib
import io
import re

import pytest
import sqlalchemy as sa
from PIL import Image

from intranet.core.models import AuditEntry, Organization, User
from intranet.extensions import db
from tests.conftest import csrf_token

USERS_URL = "/accounts/admin/utilisateurs"
ROW_RE = re.compile(r'<a href="/accounts/admin/utilisateurs/(\d+)">')


def _text(resp) -> str:
    return htmllib.unescape(resp.get_data(as_text=True))


def _listed(resp) -> list[int]:
    assert resp.status_code == 200
    return [int(x) for x in ROW_RE.findall(resp.get_data(as_text=True))]


def _post(client, url, **data):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, USERS_URL)})


def _audit(action: str) -> list[AuditEntry]:
    return db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)).all()


@pytest.fixture
def agency(make_org):
    return make_org(name="Cantal Destination", kind="agence")


@pytest.fixture
def admin(make_user, agency):
    return make_user(role="admin", name="Anne Admin", organization=agency)


@pytest.fixture
def people(make_user, make_org):
    salers = make_org(name="Office de tourisme du Pays de Salers")
    return {
        "active": make_user(name="Paul Actif", organization=salers),
        "invited": make_user(name="Irène Invitée", organization=salers, password=None),
        "gone": make_user(name="Denis Désactivé", organization=salers, active=False),
    }


def test_list_shows_everyone_with_their_state(client, admin, people, login):
    login(admin)
    resp = client.get(USERS_URL)
    assert sorted(_listed(resp)) == sorted([admin.id] + [u.id for u in people.values()])
    page = _text(resp)
    for user in people.values():
        assert user.email in page
    assert "Invitation en attente" in page and "Désactivé" in page and "Actif" in page
    assert "Renvoyer l’invitation" in page


def test_filters_invited_and_deactivated(client, admin, people, login):
    login(admin)
    assert _listed(client.get(USERS_URL, query_string={"statut": "invites"})) == [people["invited"].id]
    assert _listed(client.get(USERS_URL, query_string={"statut": "desactives"})) == [people["gone"].id]


def test_search_by_name_or_email(client, admin, people, login):
    login(admin)
    assert _listed(client.get(USERS_URL, query_string={"q": "irene"})) == [people["invited"].id]
    assert _listed(client.get(USERS_URL, query_string={"q": people["active"].email.upper()})) == \
        [people["active"].id]
    empty = client.get(USERS_URL, query_string={"q": "personne de ce nom"})
    assert _listed(empty) == []
    assert "Aucun compte ne correspond." in _text(empty)


def test_change_role_and_organization_is_audited_and_shown_in_the_journal(client, admin, people, make_org,
                                                                         login):
    flour = make_org(name="Office de tourisme de Saint-Flour")
    paul = people["active"]
    login(admin)
    page = client.get(f"{USERS_URL}/{paul.id}")
    assert page.status_code == 200 and paul.email in _text(page)

    resp = client.post(f"{USERS_URL}/{paul.id}", data={
        "organization_id": flour.id, "role": "animateur", "csrf_token": csrf_token(client, f"{USERS_URL}/{paul.id}")})
    assert resp.status_code == 302
    assert "Le compte de Paul Actif a été modifié." in _text(client.get(USERS_URL))

    db.session.expire_all()
    fresh = db.session.get(User, paul.id)
    assert (fresh.role, fresh.organization_id) == ("animateur", flour.id)

    [entry] = _audit("user.update")
    assert entry.actor_id == admin.id and entry.target_id == paul.id
    assert entry.details["role"] == ["membre", "animateur"]
    assert entry.details["organization"] == ["Office de tourisme du Pays de Salers", flour.name]

    journal = _text(client.get("/admin/journal"))
    assert "user.update" in journal
    assert paul.email in journal
    assert "Anne Admin" in journal
    assert "animateur" in journal and "Saint-Flour" in journal, "the journal says what changed"


def test_an_unknown_organization_or_role_is_refused(client, admin, people, login):
    paul = people["active"]
    login(admin)
    url = f"{USERS_URL}/{paul.id}"
    for data in ({"organization_id": 999999, "role": "membre"},
                 {"organization_id": paul.organization_id, "role": "superadmin"}):
        resp = client.post(url, data={**data, "csrf_token": csrf_token(client, url)})
        assert resp.status_code == 200
        assert "is-invalid" in resp.get_data(as_text=True)
        assert "Not a valid choice" not in _text(resp), "the error is in French"
    db.session.expire_all()
    fresh = db.session.get(User, paul.id)
    assert (fresh.role, fresh.organization_id) == ("membre", paul.organization_id)
    assert _audit("user.update") == []


def test_admin_cannot_remove_their_own_admin_role(client, admin, login):
    login(admin)
    url = f"{USERS_URL}/{admin.id}"
    resp = client.post(url, data={"organization_id": admin.organization_id, "role": "membre",
                                  "csrf_token": csrf_token(client, url)})
    assert resp.status_code == 200
    assert "Vous ne pouvez pas retirer votre propre rôle d'administrateur." in _text(resp)
    db.session.expire_all()
    assert db.session.get(User, admin.id).role == "admin"
    assert client.get(USERS_URL).status_code == 200
    assert _audit("user.update") == []


def test_deactivate_then_reactivate(app, client, admin, people, login):
    paul = people["active"]
    login(admin)
    resp = _post(client, f"{USERS_URL}/{paul.id}/desactiver")
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, paul.id).is_active_account is False
    assert paul.id in _listed(client.get(USERS_URL, query_string={"statut": "desactives"}))
    assert "Paul Actif" not in _text(client.get("/accounts/annuaire"))

    resp = _post(client, f"{USERS_URL}/{paul.id}/reactiver")
    assert resp.status_code == 302
    assert "Le compte de Paul Actif est réactivé." in _text(client.get(USERS_URL))
    db.session.expire_all()
    assert db.session.get(User, paul.id).is_active_account is True
    assert [e.target_id for e in _audit("user.deactivate")] == [paul.id]
    assert [e.target_id for e in _audit("user.reactivate")] == [paul.id]
    journal = _text(client.get("/admin/journal"))
    assert "user.deactivate" in journal and "user.reactivate" in journal

    # Paul can log in again.
    other = app.test_client()
    resp = other.post("/accounts/connexion", data={"email": paul.email, "password": "motdepasse-test",
                                                   "csrf_token": csrf_token(other)})
    assert resp.status_code == 302


def test_admin_cannot_deactivate_themselves(client, admin, login):
    login(admin)
    resp = _post(client, f"{USERS_URL}/{admin.id}/desactiver")
    assert resp.status_code == 302
    assert "Vous ne pouvez pas désactiver votre propre compte." in _text(client.get(USERS_URL))
    db.session.expire_all()
    assert db.session.get(User, admin.id).is_active_account is True
    assert client.get("/").status_code == 200


def test_admin_actions_need_the_csrf_token(client, admin, people, login):
    paul = people["active"]
    login(admin)
    resp = client.post(f"{USERS_URL}/{paul.id}/desactiver", data={"csrf_token": "faux"})
    assert resp.status_code == 400
    assert "jeton de sécurité" in _text(resp)
    db.session.expire_all()
    assert db.session.get(User, paul.id).is_active_account is True


def test_unknown_user_is_a_french_404(client, admin, login):
    login(admin)
    assert client.get(f"{USERS_URL}/999999").status_code == 404
    resp = _post(client, f"{USERS_URL}/999999/desactiver")
    assert resp.status_code == 404
    assert "Page introuvable" in _text(resp)


@pytest.mark.parametrize("role", ["membre", "animateur"])
def test_non_admins_get_a_french_403(client, make_user, people, role, login):
    user = make_user(role=role)
    login(user)
    paul = people["active"]
    for url in (USERS_URL, f"{USERS_URL}/inviter", f"{USERS_URL}/{paul.id}", f"{USERS_URL}/import",
                "/admin/journal"):
        resp = client.get(url)
        assert resp.status_code == 403, url
        assert "Accès refusé" in _text(resp)
    token = csrf_token(client, "/")
    for action in ("desactiver", "renvoyer", "reactiver"):
        resp = client.post(f"{USERS_URL}/{paul.id}/{action}", data={"csrf_token": token})
        assert resp.status_code == 403, action
    resp = client.post(f"{USERS_URL}/{paul.id}", data={"role": "admin", "organization_id": paul.organization_id,
                                                        "csrf_token": token})
    assert resp.status_code == 403
    db.session.expire_all()
    fresh = db.session.get(User, paul.id)
    assert (fresh.role, fresh.is_active_account) == ("membre", True)
    assert "Utilisateurs" not in _text(client.get("/")).split("</nav>")[0], "no admin menu for them"


def test_anonymous_is_sent_to_login(client):
    for url in (USERS_URL, f"{USERS_URL}/inviter", f"{USERS_URL}/import"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/accounts/connexion" in resp.headers["Location"], url


def test_admin_menu_links_to_users(client, admin, login):
    login(admin)
    nav = _text(client.get("/")).split("</nav>")[0]
    assert f'href="{USERS_URL}"' in nav


def test_editing_an_organization_that_has_a_logo_keeps_it(client, admin, login):
    """Same trap as the profile photo: a form built from the object holds the stored key."""
    org = db.session.get(Organization, admin.organization_id)
    login(admin)
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 120, 200)).save(buf, "PNG")
    url = f"/admin/organisations/{org.id}/modifier"
    first = client.post(url, data={"name": org.name, "kind": "agence", "territory_id": 0,
                                   "logo": (io.BytesIO(buf.getvalue()), "logo.png"),
                                   "csrf_token": csrf_token(client, url)}, content_type="multipart/form-data")
    assert first.status_code == 302
    db.session.expire_all()
    logo = db.session.get(Organization, org.id).logo
    assert logo

    second = client.post(url, data={"name": org.name, "kind": "agence", "territory_id": 0,
                                    "website": "https://www.cantal-destination.com",
                                    "csrf_token": csrf_token(client, url)}, content_type="multipart/form-data")
    assert second.status_code == 302
    db.session.expire_all()
    fresh = db.session.get(Organization, org.id)
    assert (fresh.logo, fresh.website) == (logo, "https://www.cantal-destination.com")
