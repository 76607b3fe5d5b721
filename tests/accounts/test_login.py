"""Login, logout and the sessions they end."""

from __future__ import annotations

from tests.conftest import csrf_token


def test_login_page_is_french(client):
    resp = client.get("/accounts/connexion")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Connexion à l'intranet" in html
    assert "Mot de passe oublié" in html


def test_login_reaches_dashboard(client, make_user, login):
    user = make_user(name="Élodie Martin")
    login(user)
    html = client.get("/").get_data(as_text=True)
    assert "Tableau de bord" in html
    assert "Bonjour Élodie Martin" in html


def test_wrong_password_and_unknown_email_give_one_message(client, make_user):
    user = make_user()
    token = csrf_token(client)
    wrong = client.post("/accounts/connexion", data={"email": user.email, "password": "mauvais-mot",
                                                     "csrf_token": token}).get_data(as_text=True)
    unknown = client.post("/accounts/connexion", data={"email": "personne@nulle.part", "password": "mauvais-mot",
                                                       "csrf_token": token}).get_data(as_text=True)
    assert "Adresse e-mail ou mot de passe incorrect." in wrong
    assert "Adresse e-mail ou mot de passe incorrect." in unknown


def test_anonymous_is_sent_to_login(client):
    resp = client.get("/")
    assert resp.status_code == 302
    assert "/accounts/connexion" in resp.headers["Location"]
