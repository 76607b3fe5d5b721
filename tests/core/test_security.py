"""The security baseline: headers, cookies, CSRF, size limit, French error pages, redirects,
login throttling shared across processes, and the production settings."""

from __future__ import annotations

import html as htmllib
import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from PIL import Image

from intranet import config as config_module
from intranet.core.models import LoginFailure
from intranet.core.timeutil import utcnow
from intranet.extensions import db
from tests.conftest import csrf_token

LOGIN_URL = "/accounts/connexion"
GENERIC_ERROR = "Adresse e-mail ou mot de passe incorrect."
THROTTLED = "Trop de tentatives"


def _text(resp) -> str:
    return htmllib.unescape(resp.get_data(as_text=True))


def _try_login(client, email, password, next_url=None, **kw):
    return client.post(LOGIN_URL, query_string={"next": next_url} if next_url else None,
                       data={"email": email, "password": password, "csrf_token": csrf_token(client)}, **kw)


@pytest.fixture
def other_app(app):
    """``other_app()``: a second application built by ``create_app()`` on the same database — what a
    second worker process (gunicorn -w 2) is. Its engine is closed at the end of the test."""
    from intranet.app import create_app

    made = []

    def _make(**overrides):
        keys = ("SECRET_KEY", "DATABASE_URL", "PASSWORD_HASH_METHOD", "UPLOAD_DIR", "MAIL_DIR", "BASE_URL",
                "TESTING", "DEMO", "PLUGINS")
        config = {k: app.config[k] for k in keys}
        config.update(MAIL_SERVER=None, SERVER_NAME=None, **overrides)
        second = create_app(config)
        made.append(second)
        return second

    yield _make
    for second in made:
        with second.app_context():
            db.session.remove()
            db.engine.dispose()


# -- headers -----------------------------------------------------------------------------------

def _photo_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 40), (0, 128, 0)).save(buf, "PNG")
    return buf.getvalue()


def test_every_response_carries_the_security_headers(app, client, make_user, login):
    user = make_user()
    anonymous = app.test_client()
    responses = {
        "login page": anonymous.get(LOGIN_URL),
        "redirect to login": anonymous.get("/"),
        "404": anonymous.get("/nexiste/pas"),
        "healthz": anonymous.get("/healthz"),
        "static": anonymous.get("/static/css/app.css"),
        "csrf 400": anonymous.post(LOGIN_URL, data={"email": "a@b.fr", "password": "x"}),
    }
    login(user)
    client.post("/accounts/profil", data={"name": user.name, "locale": "fr", "photo": (io.BytesIO(_photo_png()),
                                                                                      "moi.png"),
                                          "csrf_token": csrf_token(client, "/accounts/profil")},
                content_type="multipart/form-data")
    responses.update({
        "dashboard": client.get("/"),
        "directory": client.get("/accounts/annuaire"),
        "405": client.get("/accounts/deconnexion"),
        "403": client.get("/accounts/admin/utilisateurs"),
        "uploaded photo": client.get(f"/accounts/personnes/{user.id}/photo"),
    })
    for name, resp in responses.items():
        csp = resp.headers.get("Content-Security-Policy", "")
        assert csp, name
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, (name, csp)
        assert "frame-ancestors 'none'" in csp, (name, csp)
        assert resp.headers.get("X-Content-Type-Options") == "nosniff", name
        assert resp.headers.get("Referrer-Policy") in ("same-origin", "strict-origin-when-cross-origin",
                                                       "no-referrer"), name
        resp.close()


def test_csp_forbids_inline_script_and_style_and_pages_need_none(client, make_user, login):
    csp = client.get(LOGIN_URL).headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]

    # Pages must work under that policy: no inline <script>, no on…= handlers, no style="…".
    user = make_user(role="admin")
    pages = [client.get(LOGIN_URL), client.get("/accounts/mot-de-passe-oublie")]
    login(user)
    for url in ("/", "/accounts/annuaire", f"/accounts/personnes/{user.id}", "/accounts/profil",
                "/accounts/admin/utilisateurs", "/accounts/admin/utilisateurs/inviter",
                "/accounts/admin/utilisateurs/import", "/admin/journal", "/nexiste/pas"):
        pages.append(client.get(url))
    for resp in pages:
        html = resp.get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), resp.request.path
        assert not re.search(r"\son[a-z]+\s*=", html), resp.request.path
        assert not re.search(r"\sstyle\s*=", html), resp.request.path


def test_session_cookie_is_httponly_and_samesite_lax(client, make_user, login):
    login(make_user())
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"
    assert not cookie.secure  # plain http in tests; the production config turns it on (below)


def test_production_config_makes_cookies_secure(monkeypatch, other_app, make_user):
    assert config_module.Production.SESSION_COOKIE_SECURE is True
    assert config_module.Production.REMEMBER_COOKIE_SECURE is True
    assert config_module.Production.PASSWORD_HASH_METHOD == "scrypt:65536:8:1"

    monkeypatch.setenv("INTRANET_ENV", "production")
    monkeypatch.setenv("INTRANET_SECRET_KEY", "une-vraie-cle-de-production")
    prod = other_app(SECRET_KEY="une-vraie-cle-de-production", TESTING=False)
    assert prod.config["SESSION_COOKIE_SECURE"] is True
    assert prod.config["SESSION_COOKIE_HTTPONLY"] is True
    assert prod.config["SESSION_COOKIE_SAMESITE"] == "Lax"

    user = make_user()
    browser = prod.test_client()
    https_login = "https://intranet.example" + LOGIN_URL  # a Secure cookie only travels over https
    token = csrf_token(browser, https_login)
    # Over https Flask-WTF also checks that the form comes from this site (the browser's Referer).
    resp = browser.post(https_login, data={"email": user.email, "password": "motdepasse-test", "csrf_token": token},
                        headers={"Referer": https_login})
    assert resp.status_code == 302
    forged = prod.test_client()
    forged_token = csrf_token(forged, https_login)
    refused = forged.post(https_login, data={"email": user.email, "password": "motdepasse-test",
                                             "csrf_token": forged_token}, headers={"Referer": "https://evil.example/"})
    assert refused.status_code == 400
    set_cookie = resp.headers.get("Set-Cookie", "")
    assert "Secure" in set_cookie and "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    assert "max-age=" in resp.headers.get("Strict-Transport-Security", "")


def test_production_refuses_the_default_secret_key(monkeypatch, app):
    from intranet.app import create_app

    monkeypatch.setenv("INTRANET_ENV", "production")
    monkeypatch.delenv("INTRANET_SECRET_KEY", raising=False)
    monkeypatch.setattr(config_module, "INSTANCE", config_module.ROOT / "nexiste-pas")
    with pytest.raises(RuntimeError, match="INTRANET_SECRET_KEY"):
        create_app({"DATABASE_URL": app.config["DATABASE_URL"]})


# -- CSRF --------------------------------------------------------------------------------------

def test_login_without_or_with_a_wrong_csrf_token_is_a_french_400(app, client, make_user):
    user = make_user()
    for data in ({"email": user.email, "password": "motdepasse-test"},
                 {"email": user.email, "password": "motdepasse-test", "csrf_token": "faux-jeton"}):
        resp = client.post(LOGIN_URL, data=data)
        assert resp.status_code == 400
        page = _text(resp)
        assert "Requête invalide" in page
        assert "jeton de sécurité" in page
        assert "Bad Request" not in page and "CSRF" not in page
        assert client.get("/").status_code == 302, "not logged in"


def test_a_token_from_another_session_is_refused(app, client, make_user, login):
    user = make_user(name="Paul Martin")
    login(user)
    attacker = app.test_client()
    foreign_token = csrf_token(attacker)
    resp = client.post("/accounts/profil", data={"name": "Nom imposé", "locale": "fr", "csrf_token": foreign_token})
    assert resp.status_code == 400
    assert "jeton de sécurité" in _text(resp)
    db.session.expire_all()
    assert db.session.get(type(user), user.id).name == "Paul Martin"


# -- sizes and error pages ---------------------------------------------------------------------

def test_a_request_bigger_than_the_limit_is_a_french_413(app, client, make_user, login):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit >= app.config["MAX_UPLOAD_BYTES"]
    user = make_user()
    login(user)
    token = csrf_token(client, "/accounts/profil")
    boundary = "----limite"
    body = b"".join([
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nX\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="enorme.png"\r\n'
        f"Content-Type: image/png\r\n\r\n".encode(),
        b"\x89PNG\r\n\x1a\n" + b"\x00" * limit,
        f"\r\n--{boundary}--\r\n".encode(),
    ])
    assert len(body) > limit
    resp = client.post("/accounts/profil", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert resp.status_code == 413
    page = _text(resp)
    assert "Fichier trop volumineux" in page
    assert "dépasse la taille autorisée" in page
    assert "Request Entity Too Large" not in page
    db.session.expire_all()
    assert db.session.get(type(user), user.id).photo is None


def test_unknown_url_is_a_french_404(app, client, make_user, login):
    anonymous = app.test_client().get("/nexiste/pas")
    assert anonymous.status_code == 404
    assert "Page introuvable" in _text(anonymous)
    login(make_user())
    resp = client.get("/accounts/nexiste/pas")
    assert resp.status_code == 404
    page = _text(resp)
    assert "Page introuvable" in page and "Cette page n'existe pas ou n'est plus disponible." in page
    assert "Not Found" not in page


def test_an_exception_is_a_french_500_without_traceback(other_app, make_user):
    fresh = other_app()  # routes can only be added before an app's first request

    @fresh.route("/test-boom")
    def boom():
        raise RuntimeError("détail interne secret: password=hunter2")

    resp = fresh.test_client().get("/test-boom")
    assert resp.status_code == 500
    page = _text(resp)
    assert "Erreur du serveur" in page
    assert "Une erreur inattendue s'est produite." in page
    for leak in ("Traceback", "RuntimeError", "hunter2", "détail interne", "File \"", "site-packages"):
        assert leak not in page
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]

    as_json = fresh.test_client().get("/test-boom", headers={"Accept": "application/json"})
    assert as_json.status_code == 500
    assert as_json.get_json()["error"] == "Erreur du serveur"
    assert "hunter2" not in as_json.get_data(as_text=True)


def test_a_database_error_rolls_back_and_the_next_request_works(other_app, make_user):
    fresh = other_app()

    @fresh.route("/test-db-boom")
    def db_boom():
        db.session.execute(sa.text("SELECT * FROM table_qui_nexiste_pas"))

    browser = fresh.test_client()
    assert browser.get("/test-db-boom").status_code == 500
    assert browser.get("/healthz").get_json() == {"status": "ok"}


def test_healthz(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    assert resp.get_json() == {"status": "ok"}


# -- redirects after login ---------------------------------------------------------------------

@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/", "http:evil.example",
                                    "/\\evil.example", "\\\\evil.example", "//evil.example/%2F..",
                                    "javascript:alert(1)", " //evil.example", "/\t/evil.example"])
def test_login_never_redirects_to_another_site(app, make_user, target):
    user = make_user()
    browser = app.test_client()
    resp = _try_login(browser, user.email, "motdepasse-test", next_url=target)
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith("/") and not location.startswith("//") and not location.startswith("/\\"), location
    assert "evil.example" not in location or location.startswith("/%"), location
    assert "javascript" not in location


def test_login_goes_back_to_the_page_asked_for(app, make_user):
    user = make_user()
    browser = app.test_client()
    first = browser.get("/accounts/annuaire?q=dupont")
    assert first.status_code == 302
    login_url = first.headers["Location"]
    assert "next=" in login_url
    token = csrf_token(browser)
    resp = browser.post(login_url, data={"email": user.email, "password": "motdepasse-test", "csrf_token": token})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/accounts/annuaire?q=dupont"


# -- one answer for every failed login ---------------------------------------------------------

def test_unknown_addresses_cost_as_much_work_as_a_wrong_password(app, make_user, monkeypatch):
    """Same message and same work: the response time must not tell which addresses have an account."""
    import intranet.accounts.services as services

    checks: list[str] = []
    real = services.check_password_hash

    def spy(pwhash, password):
        checks.append(pwhash.split("$", 1)[0])
        return real(pwhash, password)

    monkeypatch.setattr(services, "check_password_hash", spy)
    method = app.config["PASSWORD_HASH_METHOD"]
    active, inactive, invited = make_user(), make_user(active=False), make_user(password=None)
    for email in (active.email, "inconnu@exemple.fr", inactive.email, invited.email):
        checks.clear()
        resp = _try_login(app.test_client(), email, "mauvais mot")
        assert resp.status_code == 200
        assert GENERIC_ERROR in _text(resp), email
        assert checks == [method], email


# -- login throttling --------------------------------------------------------------------------

def test_ten_failures_block_the_account_even_with_the_right_password(app, client, make_user):
    user = make_user()
    for _ in range(9):
        assert GENERIC_ERROR in _text(_try_login(client, user.email, "mauvais"))
    # Nine failures: the right password still works (and clears the count).
    assert _try_login(app.test_client(), user.email, "motdepasse-test").status_code == 302

    for _ in range(10):
        assert GENERIC_ERROR in _text(_try_login(client, user.email, "mauvais"))
    blocked = _try_login(app.test_client(), user.email, "motdepasse-test")
    assert blocked.status_code == 429
    assert THROTTLED in _text(blocked)
    assert GENERIC_ERROR not in _text(blocked)

    # Another account is not blocked by them.
    other = make_user()
    assert _try_login(app.test_client(), other.email, "motdepasse-test").status_code == 302


def test_throttling_is_per_account_whatever_the_case_of_the_address(app, client, make_user):
    make_user(email="paul@exemple.fr")
    for i in range(10):
        _try_login(client, "PAUL@exemple.fr" if i % 2 else " paul@Exemple.FR ", "mauvais")
    assert THROTTLED in _text(_try_login(app.test_client(), "paul@exemple.fr", "motdepasse-test"))


def test_throttling_is_shared_by_two_worker_processes(app, client, make_user, other_app):
    user = make_user()
    second = other_app()
    worker_b = second.test_client()
    for i in range(10):
        browser = client if i % 2 else worker_b  # the load balancer alternates
        _try_login(browser, user.email, "mauvais")
    for worker in (app, second):
        blocked = _try_login(worker.test_client(), user.email, "motdepasse-test")
        assert blocked.status_code == 429
        assert THROTTLED in _text(blocked)


def test_failures_recorded_by_one_worker_are_seen_by_another(app, client, make_user, other_app):
    user = make_user()
    for _ in range(10):
        _try_login(client, user.email, "mauvais")
    blocked = _try_login(other_app().test_client(), user.email, "motdepasse-test")
    assert blocked.status_code == 429
    assert THROTTLED in _text(blocked)


def test_failures_older_than_15_minutes_no_longer_count(app, client, make_user):
    user = make_user()
    for _ in range(10):
        _try_login(client, user.email, "mauvais")
    assert THROTTLED in _text(_try_login(app.test_client(), user.email, "motdepasse-test"))

    db.session.execute(sa.update(LoginFailure).values(created_at=utcnow() - timedelta(minutes=16)))
    db.session.commit()
    assert _try_login(app.test_client(), user.email, "motdepasse-test").status_code == 302


def test_one_address_trying_many_accounts_is_blocked(app, make_user):
    victim = make_user()
    attacker = app.test_client()
    token = csrf_token(attacker)
    for i in range(50):
        attacker.post(LOGIN_URL, data={"email": f"cible{i}@exemple.fr", "password": "123456", "csrf_token": token},
                      environ_base={"REMOTE_ADDR": "203.0.113.9"})
    blocked = attacker.post(LOGIN_URL, data={"email": victim.email, "password": "motdepasse-test",
                                             "csrf_token": token}, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert blocked.status_code == 429
    # The victim, from their own office, still gets in.
    office = app.test_client()
    resp = office.post(LOGIN_URL, data={"email": victim.email, "password": "motdepasse-test",
                                        "csrf_token": csrf_token(office)}, environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert resp.status_code == 302


def test_behind_a_reverse_proxy_the_client_address_is_used(app, make_user, other_app):
    """Behind nginx every request comes from 127.0.0.1: without the forwarded address, 50 failures
    by anyone would lock the whole network out."""
    proxied = other_app(TRUSTED_PROXIES=1)
    victim = make_user()
    attacker = proxied.test_client()
    token = csrf_token(attacker)
    for i in range(50):
        attacker.post(LOGIN_URL, data={"email": f"cible{i}@exemple.fr", "password": "123456", "csrf_token": token},
                      headers={"X-Forwarded-For": "203.0.113.9"})
    office = proxied.test_client()
    resp = office.post(LOGIN_URL, data={"email": victim.email, "password": "motdepasse-test",
                                        "csrf_token": csrf_token(office)},
                       headers={"X-Forwarded-For": "198.51.100.7"})
    assert resp.status_code == 302
    blocked = attacker.post(LOGIN_URL, data={"email": victim.email, "password": "motdepasse-test",
                                             "csrf_token": token}, headers={"X-Forwarded-For": "203.0.113.9"})
    assert blocked.status_code == 429
    ips = set(db.session.scalars(sa.select(LoginFailure.ip)))
    assert ips == {"203.0.113.9"}


def test_without_trusted_proxies_a_forged_forwarded_header_is_ignored(app, client, make_user):
    user = make_user()
    for i in range(10):
        client.post(LOGIN_URL, data={"email": user.email, "password": "mauvais", "csrf_token": csrf_token(client)},
                    headers={"X-Forwarded-For": f"198.51.100.{i}"})
    assert set(db.session.scalars(sa.select(LoginFailure.ip))) == {"127.0.0.1"}
    assert THROTTLED in _text(_try_login(app.test_client(), user.email, "motdepasse-test"))
