"""Sessions really end: logout, password change and deactivation (a per-user session version)."""

from __future__ import annotations

from tests.conftest import csrf_token

LOGIN_URL = "/accounts/connexion"
GENERIC_ERROR = "Adresse e-mail ou mot de passe incorrect."


def _session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None, "no session cookie"
    return cookie.value


def _client_with_cookie(app, value: str):
    """Another browser that replays a stolen or copied session cookie."""
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def _is_logged_in(client) -> bool:
    resp = client.get("/")
    if resp.status_code == 200:
        return True
    assert resp.status_code == 302 and LOGIN_URL in resp.headers["Location"], resp.status_code
    return False


def _logout(client):
    return client.post("/accounts/deconnexion", data={"csrf_token": csrf_token(client, "/")})


def test_logout_redirects_to_login_with_a_message(client, make_user, login):
    login(make_user())
    resp = _logout(client)
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(LOGIN_URL)
    page = client.get(LOGIN_URL).get_data(as_text=True)
    assert "Vous êtes déconnecté." in page
    assert not _is_logged_in(client)


def test_logout_kills_the_old_cookie_on_the_server(app, client, make_user, login):
    login(make_user())
    old_cookie = _session_cookie(client)
    copy = _client_with_cookie(app, old_cookie)
    assert _is_logged_in(copy), "a copied session cookie should work before the logout"

    assert _logout(client).status_code == 302

    # The browser dropped its cookie; a copy of it (another tab, a thief) must be refused too.
    assert not _is_logged_in(_client_with_cookie(app, old_cookie))
    assert not _is_logged_in(copy)


def test_logout_needs_the_csrf_token(client, make_user, login):
    login(make_user())
    resp = client.post("/accounts/deconnexion", data={})
    assert resp.status_code == 400
    assert "jeton de sécurité" in resp.get_data(as_text=True)
    assert _is_logged_in(client), "a forged cross-site form must not log the person out"


def test_get_logout_is_a_french_405(client, make_user, login):
    login(make_user())
    resp = client.get("/accounts/deconnexion")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 405
    assert "Action impossible" in html
    assert "Cette action n'est pas permise ici." in html
    assert "POST" in resp.headers.get("Allow", "")
    assert _is_logged_in(client), "a link (GET) must not log out"


def test_password_change_ends_the_other_sessions_but_not_this_one(app, client, make_user, login):
    user = make_user()
    login(user)
    phone = app.test_client()
    login(user, c=phone)
    assert _is_logged_in(phone)

    token = csrf_token(client, "/accounts/mot-de-passe")
    resp = client.post("/accounts/mot-de-passe", data={
        "current": "motdepasse-test", "password": "un nouveau secret", "confirm": "un nouveau secret",
        "csrf_token": token}, follow_redirects=True)
    assert resp.status_code == 200
    assert "Votre mot de passe a été changé. Vos autres sessions sont fermées." in resp.get_data(as_text=True)

    assert _is_logged_in(client), "the person who changed the password stays logged in"
    assert not _is_logged_in(phone), "the other session must end"

    # The phone logs in again with the new password; the old one is refused.
    fresh = app.test_client()
    bad = fresh.post(LOGIN_URL, data={"email": user.email, "password": "motdepasse-test",
                                      "csrf_token": csrf_token(fresh)})
    assert GENERIC_ERROR in bad.get_data(as_text=True)
    login(user, password="un nouveau secret", c=phone)
    assert _is_logged_in(phone)


def test_admin_deactivation_ends_the_session_and_blocks_login(app, client, make_user, make_org, login):
    org = make_org()
    admin = make_user(role="admin", organization=org)
    member = make_user(organization=org)
    member_browser = app.test_client()
    login(member, c=member_browser)
    assert _is_logged_in(member_browser)

    login(admin)
    token = csrf_token(client, "/accounts/admin/utilisateurs")
    resp = client.post(f"/accounts/admin/utilisateurs/{member.id}/desactiver", data={"csrf_token": token},
                       follow_redirects=True)
    assert f"Le compte de {member.name} est désactivé." in resp.get_data(as_text=True)

    assert not _is_logged_in(member_browser)
    again = member_browser.post(LOGIN_URL, data={"email": member.email, "password": "motdepasse-test",
                                                 "csrf_token": csrf_token(member_browser)})
    assert again.status_code == 200
    assert GENERIC_ERROR in again.get_data(as_text=True)
    assert not _is_logged_in(member_browser)


def test_deactivated_account_gets_the_same_message_as_a_wrong_password(client, make_user):
    inactive = make_user(active=False)
    active = make_user()
    token = csrf_token(client)
    refused = client.post(LOGIN_URL, data={"email": inactive.email, "password": "motdepasse-test",
                                           "csrf_token": token})
    wrong = client.post(LOGIN_URL, data={"email": active.email, "password": "pas le bon",
                                         "csrf_token": token})
    assert refused.status_code == wrong.status_code == 200
    assert GENERIC_ERROR in refused.get_data(as_text=True)
    assert GENERIC_ERROR in wrong.get_data(as_text=True)
    assert "désactivé" not in refused.get_data(as_text=True)
    assert not _is_logged_in(client)


def test_deactivated_directly_in_the_database_is_refused_on_the_next_request(client, make_user, login):
    from intranet.extensions import db

    user = make_user()
    login(user)
    assert _is_logged_in(client)
    user.is_active_account = False
    db.session.commit()
    assert not _is_logged_in(client)


def test_private_pages_are_not_cached(client, make_user, login):
    user = make_user()
    login(user)
    for url in ("/", "/accounts/annuaire", f"/accounts/personnes/{user.id}", "/accounts/profil",
                "/accounts/mot-de-passe", "/aide"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert "no-store" in resp.headers.get("Cache-Control", ""), url


def test_login_page_is_served_to_anonymous_and_logged_in_people_go_to_the_dashboard(client, make_user, login):
    assert client.get(LOGIN_URL).status_code == 200
    login(make_user())
    resp = client.get(LOGIN_URL)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"
