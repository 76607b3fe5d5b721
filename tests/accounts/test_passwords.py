"""Forgotten password (single-use link valid one hour), password change, policy and hashing."""

from __future__ import annotations

import html as htmllib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from intranet import config as config_module
from intranet.core.mail import deliver_outbox
from intranet.core.models import AccountToken, LoginFailure, User
from intranet.core.timeutil import utcnow
from intranet.extensions import db
from tests.conftest import csrf_token

FORGOT_URL = "/accounts/mot-de-passe-oublie"
CHANGE_URL = "/accounts/mot-de-passe"
LOGIN_URL = "/accounts/connexion"
LINK_RE = re.compile(r"http://127\.0\.0\.1(/accounts/reinitialiser/[A-Za-z0-9_-]{20,})")
SENT = "Si un compte existe pour cette adresse, un e-mail avec un lien valable une heure vient d'être envoyé."
GENERIC_ERROR = "Adresse e-mail ou mot de passe incorrect."


def _text(resp) -> str:
    return htmllib.unescape(resp.get_data(as_text=True))


def _forgot(client, email):
    return client.post(FORGOT_URL, data={"email": email, "csrf_token": csrf_token(client, FORGOT_URL)})


def _reset_link(row) -> str:
    match = LINK_RE.search(row.text)
    assert match, row.text
    return match.group(1)


def _reset(client, path, password="nouveau mot de passe"):
    return client.post(path, data={"password": password, "confirm": password,
                                   "csrf_token": csrf_token(client, LOGIN_URL)})


def _try_login(client, email, password):
    return client.post(LOGIN_URL, data={"email": email, "password": password, "csrf_token": csrf_token(client)})


def _logged_in(client) -> bool:
    return client.get("/").status_code == 200


# -- forgotten password ------------------------------------------------------------------------

def test_forgot_password_for_a_known_address_sends_a_one_hour_link(client, make_user, outbox, smtp_server):
    user = make_user(name="Paul Martin", email="paul@exemple.fr")
    resp = _forgot(client, "Paul@Exemple.fr")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(LOGIN_URL)
    assert SENT in _text(client.get(LOGIN_URL))

    rows = outbox()
    assert [r.to_addr for r in rows] == ["paul@exemple.fr"]
    assert rows[0].subject == "Réinitialisation de votre mot de passe"
    token = db.session.scalar(sa.select(AccountToken).where(AccountToken.user_id == user.id))
    assert token.kind == "reset"
    assert token.expires_at - token.created_at == timedelta(hours=1)

    deliver_outbox()
    msg = smtp_server.messages[0]
    assert msg["Subject"] == "Réinitialisation de votre mot de passe"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    path = LINK_RE.search(text).group(1)
    assert path in html


def test_forgot_password_for_an_unknown_address_says_the_same_and_sends_nothing(app, client, make_user,
                                                                                 outbox):
    make_user(email="connu@exemple.fr")
    known = _forgot(client, "connu@exemple.fr")
    other = app.test_client()
    unknown = _forgot(other, "inconnu@exemple.fr")
    assert unknown.status_code == known.status_code == 302
    assert unknown.headers["Location"] == known.headers["Location"]
    assert SENT in _text(other.get(LOGIN_URL))
    assert [r.to_addr for r in outbox()] == ["connu@exemple.fr"]


def test_forgot_password_of_a_deactivated_account_sends_nothing(client, make_user, outbox):
    make_user(email="parti@exemple.fr", active=False)
    resp = _forgot(client, "parti@exemple.fr")
    assert resp.status_code == 302
    assert SENT in _text(client.get(LOGIN_URL))
    assert outbox() == []


def test_forgot_password_with_a_malformed_address_shows_a_french_error(client, outbox):
    resp = _forgot(client, "pas une adresse")
    assert resp.status_code == 200
    assert "Adresse e-mail invalide." in _text(resp)
    assert outbox() == []


def test_reset_link_changes_the_password_once(app, client, make_user, outbox):
    user = make_user(email="paul@exemple.fr")
    _forgot(client, user.email)
    path = _reset_link(outbox()[0])

    page = client.get(path)
    assert page.status_code == 200
    assert "Nouveau mot de passe" in _text(page)
    assert "Choisissez un nouveau mot de passe pour paul@exemple.fr." in _text(page)

    resp = _reset(client, path)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(LOGIN_URL)
    assert "Votre mot de passe a été changé. Connectez-vous avec le nouveau." in _text(client.get(LOGIN_URL))

    again = client.get(path)
    assert again.status_code == 410
    assert "Ce lien a déjà été utilisé" in _text(again)
    assert _reset(app.test_client(), path, "encore un autre mot").status_code == 410

    browser = app.test_client()
    assert GENERIC_ERROR in _text(_try_login(browser, user.email, "motdepasse-test"))
    assert _try_login(browser, user.email, "nouveau mot de passe").status_code == 302
    assert _logged_in(browser)


def test_reset_link_expires_after_one_hour(app, client, make_user, outbox, monkeypatch):
    import intranet.accounts.services as services

    user = make_user()
    _forgot(client, user.email)
    path = _reset_link(outbox()[0])
    start = utcnow()

    monkeypatch.setattr(services, "utcnow", lambda: start + timedelta(minutes=59))
    assert client.get(path).status_code == 200

    monkeypatch.setattr(services, "utcnow", lambda: start + timedelta(minutes=61))
    late = client.get(path)
    assert late.status_code == 410
    assert "Ce lien a expiré" in _text(late)
    assert "Les liens de réinitialisation sont valables une heure." in _text(late)
    assert "Demander un nouveau lien" in _text(late)
    assert _reset(client, path).status_code == 410
    db.session.expire_all()
    assert check_password_hash(db.session.get(User, user.id).password_hash, "motdepasse-test")


def _age_reset_tokens(minutes: int) -> None:
    import sqlalchemy as sa

    from intranet.core.models import AccountToken
    from intranet.core.timeutil import utcnow
    from intranet.extensions import db

    db.session.execute(sa.update(AccountToken).values(created_at=utcnow() - timedelta(minutes=minutes)))
    db.session.commit()


def test_a_new_reset_request_kills_the_previous_link(client, make_user, outbox):
    user = make_user()
    _forgot(client, user.email)
    _age_reset_tokens(6)
    _forgot(client, user.email)
    first, second = (_reset_link(r) for r in outbox())
    assert client.get(first).status_code == 410
    assert client.get(second).status_code == 200


def test_repeated_reset_requests_within_five_minutes_send_one_mail(client, make_user, outbox):
    user = make_user()
    for _ in range(5):
        _forgot(client, user.email)
    assert len(outbox()) == 1, "one address cannot be flooded with reset e-mails"
    assert client.get(_reset_link(outbox()[0])).status_code == 200


def test_unknown_reset_token_is_a_french_404(client):
    resp = client.get("/accounts/reinitialiser/inconnu-abcdefghijklmnopqrstuvwxyz")
    assert resp.status_code == 404
    assert "Ce lien n'est pas valable" in _text(resp)


def test_reset_enforces_the_password_policy(client, make_user, outbox):
    user = make_user()
    _forgot(client, user.email)
    path = _reset_link(outbox()[0])
    resp = _reset(client, path, "court")
    assert resp.status_code == 200
    assert "Le mot de passe doit contenir au moins 10 caractères." in _text(resp)
    assert client.get(path).status_code == 200, "a refused password does not use the link up"


def test_reset_ends_the_other_sessions(app, client, make_user, login, outbox):
    user = make_user()
    laptop = app.test_client()
    login(user, c=laptop)
    _forgot(client, user.email)
    _reset(client, _reset_link(outbox()[0]))
    assert not _logged_in(laptop)


def test_reset_lifts_the_login_throttle_of_the_account(app, client, make_user, outbox):
    user = make_user()
    attacker = app.test_client()
    for _ in range(10):
        _try_login(attacker, user.email, "mauvais mot")
    assert "Trop de tentatives" in _text(_try_login(app.test_client(), user.email, "motdepasse-test"))

    _forgot(client, user.email)
    _reset(client, _reset_link(outbox()[0]))
    assert _try_login(app.test_client(), user.email, "nouveau mot de passe").status_code == 302


# -- password change ---------------------------------------------------------------------------

def _change(client, current, new, confirm=None):
    return client.post(CHANGE_URL, data={"current": current, "password": new, "confirm": confirm or new,
                                         "csrf_token": csrf_token(client, CHANGE_URL)})


def test_change_password_requires_the_current_one(app, client, make_user, login):
    user = make_user()
    login(user)
    resp = _change(client, "pas le bon", "un nouveau secret")
    assert resp.status_code == 200
    assert "Le mot de passe actuel est incorrect." in _text(resp)
    assert _logged_in(client)
    browser = app.test_client()
    assert GENERIC_ERROR in _text(_try_login(browser, user.email, "un nouveau secret"))
    assert _try_login(browser, user.email, "motdepasse-test").status_code == 302


def test_change_password_policy_and_confirmation(client, make_user, login):
    user = make_user(email="alice@exemple.fr")
    login(user)
    short = _change(client, "motdepasse-test", "court")
    assert "Le mot de passe doit contenir au moins 10 caractères." in _text(short)
    mismatch = _change(client, "motdepasse-test", "un nouveau secret", "un autre secret")
    assert "Les deux mots de passe ne correspondent pas." in _text(mismatch)
    email = _change(client, "motdepasse-test", "Alice@Exemple.fr")
    assert "Le mot de passe ne peut pas être votre adresse e-mail." in _text(email)
    db.session.expire_all()
    assert check_password_hash(db.session.get(User, user.id).password_hash, "motdepasse-test")


def test_change_password_works_and_lands_on_the_profile(app, client, make_user, login):
    user = make_user()
    login(user)
    resp = _change(client, "motdepasse-test", "un nouveau secret")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/accounts/personnes/{user.id}")
    login(user, password="un nouveau secret", c=app.test_client())


def test_change_password_page_needs_login(client):
    resp = client.get(CHANGE_URL)
    assert resp.status_code == 302 and LOGIN_URL in resp.headers["Location"]


# -- hashing -----------------------------------------------------------------------------------

def test_production_hash_is_scrypt_with_n_65536():
    method = config_module.Base.PASSWORD_HASH_METHOD
    assert method.startswith("scrypt:")
    n, r, p = (int(x) for x in method.split(":")[1:])
    assert (n, r, p) == (65536, 8, 1)
    assert config_module.Production.PASSWORD_HASH_METHOD == method
    assert config_module.Development.PASSWORD_HASH_METHOD == method


@pytest.mark.parametrize("old_method", ["pbkdf2:sha256:1000", "scrypt:1024:8:1"])
def test_older_hashes_are_upgraded_at_login(app, client, make_user, old_method):
    app.config["PASSWORD_HASH_METHOD"] = config_module.Base.PASSWORD_HASH_METHOD
    user = make_user(password=None)
    user.password_hash = generate_password_hash("mon ancien mot", method=old_method)
    db.session.commit()

    # A wrong password changes nothing.
    _try_login(app.test_client(), user.email, "pas le bon")
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash.startswith(old_method.split(":")[0])
    assert not db.session.get(User, user.id).password_hash.startswith("scrypt:65536:8:1$")

    assert _try_login(client, user.email, "mon ancien mot").status_code == 302
    db.session.expire_all()
    upgraded = db.session.get(User, user.id).password_hash
    assert upgraded.startswith("scrypt:65536:8:1$")
    assert check_password_hash(upgraded, "mon ancien mot")

    # Logging in again keeps the (already strong) hash.
    assert _try_login(app.test_client(), user.email, "mon ancien mot").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == upgraded


def test_new_passwords_are_hashed_with_the_configured_method(app, client, make_user, login, outbox):
    app.config["PASSWORD_HASH_METHOD"] = config_module.Base.PASSWORD_HASH_METHOD
    user = make_user()
    _forgot(client, user.email)
    _reset(client, _reset_link(outbox()[0]), "un secret tout neuf")
    db.session.expire_all()
    stored = db.session.get(User, user.id).password_hash
    assert stored.startswith("scrypt:65536:8:1$")
    assert "un secret tout neuf" not in stored
    assert db.session.scalar(sa.select(sa.func.count(LoginFailure.id))) == 0
