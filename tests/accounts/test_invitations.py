"""Invitations: the admin form, the real e-mail, the single-use 7-day link, renewal and resending."""

from __future__ import annotations

import html as htmllib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from intranet.core.mail import deliver_outbox
from intranet.core.models import AccountToken, AuditEntry, User
from intranet.core.timeutil import utcnow
from intranet.extensions import db
from tests.conftest import csrf_token

INVITE_URL = "/accounts/admin/utilisateurs/inviter"
LINK_RE = re.compile(r"http://127\.0\.0\.1(/accounts/invitation/[A-Za-z0-9_-]{20,})")


@pytest.fixture
def admin(make_user, make_org):
    return make_user(role="admin", name="Anne Admin", organization=make_org(name="Cantal Destination",
                                                                            kind="agence"))


@pytest.fixture
def office(make_org):
    return make_org(name="Office de tourisme du Pays de Salers")


def _invite(client, office, name="Marie Dupont", email="marie.dupont@exemple.fr", role="membre"):
    token = csrf_token(client, INVITE_URL)
    return client.post(INVITE_URL, data={"name": name, "email": email, "organization_id": office.id,
                                         "role": role, "csrf_token": token})


def _link_path(text: str) -> str:
    match = LINK_RE.search(text)
    assert match, f"no invitation link in:\n{text}"
    return match.group(1)


def _user_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(User.id)))


def _text(resp) -> str:
    """The page as a person reads it (entities such as &#39; decoded)."""
    return htmllib.unescape(resp.get_data(as_text=True))


def _choose_password(client, path, password="un mot de passe solide"):
    # A dead link shows no form: take the token from the login page, as an attacker could.
    token = csrf_token(client, "/accounts/connexion")
    return client.post(path, data={"password": password, "confirm": password, "csrf_token": token})


def test_full_invitation_journey_with_a_real_smtp_server(app, client, admin, office, login, outbox,
                                                         smtp_server):
    login(admin)
    resp = _invite(client, office)
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/accounts/admin/utilisateurs")
    listing = _text(client.get(resp.headers["Location"]))
    assert "Invitation envoyée à marie.dupont@exemple.fr." in listing
    assert "Invitation en attente" in listing

    user = db.session.scalar(sa.select(User).where(User.email == "marie.dupont@exemple.fr"))
    assert user is not None and user.password_hash is None and user.organization_id == office.id
    assert user.role == "membre" and user.invited_at is not None
    rows = outbox()
    assert [r.to_addr for r in rows] == ["marie.dupont@exemple.fr"]
    assert rows[0].status == "pending"

    assert deliver_outbox() == {"sent": 1, "errors": 0}
    assert len(smtp_server.messages) == 1
    msg = smtp_server.messages[0]
    assert msg["Subject"] == "Intranet du réseau : votre invitation"
    assert msg["To"] == "marie.dupont@exemple.fr"
    assert msg["Message-ID"] == rows[0].message_id
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert "Bonjour Marie Dupont," in text
    assert "Anne Admin vous invite" in text
    assert "7 jours" in text
    path = _link_path(text)
    assert f'href="http://127.0.0.1{path}"' in html
    assert "Choisir mon mot de passe" in html
    assert outbox()[0].status == "sent"

    invitee = app.test_client()
    page = invitee.get(path)
    assert page.status_code == 200
    body = _text(page)
    assert "Bienvenue, Marie Dupont" in body
    assert "Choisissez votre mot de passe pour activer votre compte marie.dupont@exemple.fr." in body

    resp = _choose_password(invitee, path)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    dashboard = invitee.get("/")
    assert dashboard.status_code == 200
    assert "Bonjour Marie Dupont !" in _text(dashboard)

    used = app.test_client().get(path)
    assert used.status_code == 410
    assert "Ce lien a déjà été utilisé" in _text(used)
    assert 'name="password"' not in _text(used)

    # The chosen password works from another browser.
    login(user, password="un mot de passe solide", c=app.test_client())


def test_used_link_cannot_set_the_password_again(app, client, admin, office, login, outbox):
    login(admin)
    _invite(client, office)
    path = _link_path(outbox()[0].text)
    invitee = app.test_client()
    assert _choose_password(invitee, path, "premier mot de passe").status_code == 302

    thief = app.test_client()
    resp = thief.post(path, data={"password": "mot de passe du voleur", "confirm": "mot de passe du voleur",
                                  "csrf_token": csrf_token(thief)})
    assert resp.status_code == 410
    assert not _is_dashboard(thief)
    user = db.session.scalar(sa.select(User).where(User.email == "marie.dupont@exemple.fr"))
    login(user, password="premier mot de passe", c=app.test_client())


def _is_dashboard(client) -> bool:
    return client.get("/").status_code == 200


def test_choose_password_enforces_the_policy_and_the_confirmation(app, client, admin, office, login, outbox):
    login(admin)
    _invite(client, office)
    path = _link_path(outbox()[0].text)
    invitee = app.test_client()

    short = _choose_password(invitee, path, "court")
    assert short.status_code == 200
    assert "Le mot de passe doit contenir au moins 10 caractères." in _text(short)

    token = csrf_token(invitee, path)
    mismatch = invitee.post(path, data={"password": "un mot de passe solide", "confirm": "un autre mot de passe",
                                        "csrf_token": token})
    assert "Les deux mots de passe ne correspondent pas." in _text(mismatch)

    same_as_email = _choose_password(invitee, path, "marie.dupont@exemple.fr")
    assert "Le mot de passe ne peut pas être votre adresse e-mail." in _text(same_as_email)

    # None of these used the link up.
    assert not _is_dashboard(invitee)
    assert _choose_password(invitee, path).status_code == 302
    assert _is_dashboard(invitee)


def test_link_is_valid_seven_days(app, client, admin, office, login, outbox, monkeypatch):
    import intranet.accounts.services as services

    login(admin)
    _invite(client, office)
    path = _link_path(outbox()[0].text)
    token = db.session.scalar(sa.select(AccountToken))
    assert token.expires_at - token.created_at == timedelta(days=7)

    start = utcnow()
    monkeypatch.setattr(services, "utcnow", lambda: start + timedelta(days=6, hours=23))
    assert app.test_client().get(path).status_code == 200
    monkeypatch.setattr(services, "utcnow", lambda: start + timedelta(days=7, minutes=1))
    late = app.test_client().get(path)
    assert late.status_code == 410
    assert "Ce lien a expiré" in _text(late)


def test_expired_link_offers_a_new_invitation_and_stays_dead(app, client, admin, office, login, outbox):
    login(admin)
    _invite(client, office)
    old_path = _link_path(outbox()[0].text)
    token = db.session.scalar(sa.select(AccountToken))
    token.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    invitee = app.test_client()
    page = invitee.get(old_path)
    html = _text(page)
    assert page.status_code == 410
    assert "Ce lien a expiré" in html
    assert "Recevoir une nouvelle invitation" in html
    assert 'name="password"' not in html
    expired_post = invitee.post(old_path, data={"password": "un mot de passe solide",
                                                "confirm": "un mot de passe solide",
                                                "csrf_token": csrf_token(invitee, old_path)})
    assert expired_post.status_code == 410

    renew = invitee.post(f"{old_path}/renouveler", data={"csrf_token": csrf_token(invitee, old_path)})
    assert renew.status_code == 302 and renew.headers["Location"].endswith("/accounts/connexion")
    assert "une nouvelle invitation vient d'être envoyée" in _text(invitee.get("/accounts/connexion"))

    rows = outbox()
    assert len(rows) == 2 and rows[1].to_addr == "marie.dupont@exemple.fr"
    new_path = _link_path(rows[1].text)
    assert new_path != old_path
    assert invitee.get(old_path).status_code == 410
    assert _choose_password(invitee, old_path).status_code == 410
    assert _choose_password(invitee, new_path).status_code == 302
    assert _is_dashboard(invitee)


def test_renewing_a_link_that_is_not_expired_sends_nothing(app, client, admin, office, login, outbox):
    login(admin)
    _invite(client, office)
    path = _link_path(outbox()[0].text)
    stranger = app.test_client()
    resp = stranger.post(f"{path}/renouveler", data={"csrf_token": csrf_token(stranger)})
    assert resp.status_code == 302
    assert len(outbox()) == 1
    assert stranger.get(path).status_code == 200, "the valid link keeps working"


def test_unknown_token_is_a_french_404(app):
    resp = app.test_client().get("/accounts/invitation/nimportequoi-0123456789abcdef")
    assert resp.status_code == 404
    html = _text(resp)
    assert "Ce lien n'est pas valable" in html
    assert "Demander un nouveau lien" in html


def test_admin_resend_kills_the_previous_link(app, client, admin, office, login, outbox):
    login(admin)
    _invite(client, office)
    first = _link_path(outbox()[0].text)
    user = db.session.scalar(sa.select(User).where(User.email == "marie.dupont@exemple.fr"))

    resp = client.post(f"/accounts/admin/utilisateurs/{user.id}/renvoyer",
                       data={"csrf_token": csrf_token(client, "/accounts/admin/utilisateurs")},
                       follow_redirects=True)
    assert "Nouvelle invitation envoyée à marie.dupont@exemple.fr." in _text(resp)
    rows = outbox()
    assert len(rows) == 2
    second = _link_path(rows[1].text)

    invitee = app.test_client()
    assert invitee.get(first).status_code == 410
    assert _choose_password(invitee, first).status_code == 410
    assert invitee.get(second).status_code == 200
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.resend_invitation")) is not None


def test_resend_to_someone_who_already_has_a_password_sends_nothing(client, admin, office, make_user, login,
                                                                    outbox):
    member = make_user(organization=office)
    login(admin)
    resp = client.post(f"/accounts/admin/utilisateurs/{member.id}/renvoyer",
                       data={"csrf_token": csrf_token(client, "/accounts/admin/utilisateurs")},
                       follow_redirects=True)
    assert "a déjà choisi un mot de passe" in _text(resp)
    assert outbox() == []


def test_inviting_an_existing_address_is_refused_in_french(client, admin, office, make_user, login, outbox):
    make_user(email="deja@exemple.fr", organization=office)
    login(admin)
    before = _user_count()
    resp = _invite(client, office, name="Homonyme", email="Deja@Exemple.FR")
    assert resp.status_code == 200
    assert "Un compte existe déjà pour deja@exemple.fr." in _text(resp)
    assert _user_count() == before
    assert outbox() == []
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.invite")) is None


@pytest.mark.parametrize("email", ["pas-une-adresse", "marie@", "marie.dupont@exemple.fr\r\nBcc: pirate@evil.example"])
def test_invalid_address_is_refused(client, admin, office, login, outbox, email):
    login(admin)
    before = _user_count()
    resp = _invite(client, office, email=email)
    assert resp.status_code == 200
    html = _text(resp)
    assert "invalide" in html or "n'est pas valide" in html
    assert _user_count() == before
    assert outbox() == []


def test_name_with_line_breaks_cannot_inject_mail_headers(client, admin, office, login, outbox, smtp_server):
    login(admin)
    evil = "Jean Dupont\r\nBcc: pirate@evil.example\r\nSubject: Gagné"
    assert _invite(client, office, name=evil, email="jean@exemple.fr").status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "jean@exemple.fr"))
    assert "\n" not in user.name and "\r" not in user.name, "a name is one line"

    deliver_outbox()
    assert len(smtp_server.messages) == 1
    msg = smtp_server.messages[0]
    assert msg["Bcc"] is None
    assert msg.get_all("Subject") == ["Intranet du réseau : votre invitation"]
    assert msg["To"] == "jean@exemple.fr"
    for name, value in msg.items():
        assert "pirate" not in str(value), (name, value)


def test_html_in_a_name_is_escaped_in_the_html_mail(client, admin, office, login, outbox):
    login(admin)
    _invite(client, office, name='<img src=x onerror="alert(1)">Zoé', email="zoe@exemple.fr")
    html = outbox()[0].html
    assert "<img src=x" not in html
    assert "&lt;img src=x" in html


def test_invitation_is_audited_and_visible_in_the_journal(client, admin, office, login):
    login(admin)
    _invite(client, office)
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.invite"))
    assert entry is not None and entry.actor_id == admin.id
    journal = _text(client.get("/admin/journal"))
    assert "user.invite" in journal
    assert "marie.dupont@exemple.fr" in journal


def test_the_invite_form_requires_a_name(client, admin, office, login, outbox):
    login(admin)
    before = _user_count()
    resp = _invite(client, office, name="   ")
    assert resp.status_code == 200
    assert "Ce champ est obligatoire." in _text(resp) or "Le nom est obligatoire." in \
        _text(resp)
    assert _user_count() == before
    assert outbox() == []


def test_invitation_of_a_deactivated_account_is_not_valid(app, client, admin, office, login, outbox):
    login(admin)
    _invite(client, office)
    path = _link_path(outbox()[0].text)
    user = db.session.scalar(sa.select(User).where(User.email == "marie.dupont@exemple.fr"))
    client.post(f"/accounts/admin/utilisateurs/{user.id}/desactiver",
                data={"csrf_token": csrf_token(client, "/accounts/admin/utilisateurs")})
    resp = app.test_client().get(path)
    assert resp.status_code == 404
    assert "Ce lien n'est pas valable" in _text(resp)
