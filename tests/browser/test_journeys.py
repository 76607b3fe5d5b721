"""Browser journeys with Debian's Chromium driven by Playwright: login, failed login, invitation to
first login, logout and the back button, the collapsed phone menu; plus screenshots of the main pages
(under /tmp/shots) at desktop and phone widths."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, LOGIN_PATH, PHONE, log_in, log_out, url_re

pytestmark = pytest.mark.browser

LOGIN_ERROR = "Adresse e-mail ou mot de passe incorrect."
LINK_RE = re.compile(r"https?://\S+/accounts/invitation/\S+")


def test_login_reaches_dashboard_without_console_errors(live_server, page, make_user):
    user = make_user(name="Élodie Martin", email="elodie@salers.fr")

    page.goto(live_server.url + "/")
    page.wait_for_url(url_re(LOGIN_PATH))
    expect(page.get_by_role("heading", name="Connexion à l'intranet")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "fr")

    page.get_by_label("Adresse e-mail").fill(user.email)
    page.get_by_label("Mot de passe", exact=True).fill("motdepasse-test")
    page.get_by_role("button", name="Se connecter").click()

    page.wait_for_url(url_re("/"))
    expect(page.get_by_role("heading", name="Tableau de bord", level=1)).to_be_visible()
    for title in ("Bienvenue", "Mon organisation", "Nouveaux membres"):
        expect(page.get_by_role("heading", name=title, level=2)).to_be_visible()
    expect(page.get_by_text("Bonjour Élodie Martin !")).to_be_visible()
    # Bootstrap's CSS and JS really loaded under the CSP (not just requested).
    assert page.evaluate("typeof window.bootstrap") == "object"
    assert page.evaluate("getComputedStyle(document.querySelector('.navbar')).display") == "flex"
    assert page.console_errors == []


def test_wrong_password_shows_french_message(live_server, page, make_user):
    user = make_user()

    page.goto(live_server.url + LOGIN_PATH)
    page.get_by_label("Adresse e-mail").fill(user.email)
    page.get_by_label("Mot de passe", exact=True).fill("pas-le-bon-mot-de-passe")
    page.get_by_role("button", name="Se connecter").click()

    expect(page.get_by_role("alert")).to_have_text(LOGIN_ERROR)
    assert url_re(LOGIN_PATH).match(page.url)
    expect(page.get_by_role("heading", name="Connexion à l'intranet")).to_be_visible()
    expect(page.get_by_label("Adresse e-mail")).to_have_value(user.email)
    expect(page.get_by_role("heading", name="Tableau de bord")).to_have_count(0)


def test_invitation_choose_password_first_login(live_server, page, _browser, make_user, make_org, outbox):
    make_org(name="Office de tourisme du Pays de Salers")
    admin = make_user(role="admin", name="Alice Admin", email="admin@cantal.fr")

    # The admin invites a person through the admin pages.
    log_in(page, live_server.url, admin.email)
    page.get_by_role("button", name="Administration").click()
    page.get_by_role("link", name="Utilisateurs", exact=True).click()
    page.wait_for_url(url_re("/accounts/admin/utilisateurs"))
    page.get_by_role("link", name="Inviter une personne").click()
    page.wait_for_url(url_re("/accounts/admin/utilisateurs/inviter"))
    page.get_by_label("Nom", exact=True).fill("Bruno Nouveau")
    page.get_by_label("Adresse e-mail").fill("bruno@salers.fr")
    page.get_by_label("Organisation").select_option(label="Office de tourisme du Pays de Salers")
    page.get_by_label("Rôle").select_option(label="Animateur")
    page.get_by_role("button", name="Envoyer l'invitation").click()
    page.wait_for_url(url_re("/accounts/admin/utilisateurs"))
    expect(page.get_by_text("Invitation envoyée à bruno@salers.fr.")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Bruno Nouveau"))).to_contain_text("Invitation en attente")

    mails = [m for m in outbox() if m.to_addr == "bruno@salers.fr"]
    assert len(mails) == 1
    link = LINK_RE.search(mails[0].text).group(0)
    assert link.startswith(live_server.url + "/")

    # Another person, in another browser context (own cookies), opens the link.
    context = _browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", reduced_motion="reduce")
    context.set_default_timeout(10_000)
    try:
        guest = context.new_page()
        errors = []
        guest.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        guest.goto(link)
        expect(guest.get_by_role("heading", name="Bienvenue, Bruno Nouveau")).to_be_visible()
        guest.get_by_label("Nouveau mot de passe").fill("un-tres-bon-secret")
        guest.get_by_label("Confirmez le mot de passe").fill("un-tres-bon-secret")
        guest.get_by_role("button", name="Enregistrer mon mot de passe").click()
        guest.wait_for_url(url_re("/"))
        expect(guest.get_by_role("heading", name="Tableau de bord", level=1)).to_be_visible()
        expect(guest.get_by_text("Bonjour Bruno Nouveau !")).to_be_visible()
        expect(guest.locator("#user-menu")).to_contain_text("Bruno Nouveau")

        log_out(guest)
        expect(guest.get_by_text("Vous êtes déconnecté.")).to_be_visible()

        # The link was single-use.
        guest.goto(link)
        expect(guest.get_by_role("button", name="Enregistrer mon mot de passe")).to_have_count(0)

        log_in(guest, live_server.url, "bruno@salers.fr", "un-tres-bon-secret")
        expect(guest.get_by_text("Bonjour Bruno Nouveau !")).to_be_visible()
        assert [e for e in errors if "410" not in e] == []  # the used link answers 410 on purpose
    finally:
        context.close()


def test_back_button_after_logout_shows_no_private_page(live_server, page, make_user, make_org):
    org = make_org(name="Office de tourisme de Mauriac")
    make_user(name="Chantal Confidentielle", organization=org)
    user = make_user(name="Denis Dupont", organization=org)

    log_in(page, live_server.url, user.email)
    page.get_by_role("link", name="Annuaire", exact=True).click()
    page.wait_for_url(url_re("/accounts/annuaire"))
    expect(page.get_by_text("Chantal Confidentielle")).to_be_visible()

    log_out(page)
    page.go_back()
    page.wait_for_url(url_re(LOGIN_PATH))  # refetched (no-store), hence redirected to login
    expect(page.get_by_text("Chantal Confidentielle")).to_have_count(0)
    expect(page.get_by_role("heading", name="Connexion à l'intranet")).to_be_visible()

    page.reload()
    page.wait_for_url(url_re(LOGIN_PATH))
    expect(page.get_by_role("heading", name="Connexion à l'intranet")).to_be_visible()
    expect(page.get_by_text("Chantal Confidentielle")).to_have_count(0)

    # The directory itself, asked for directly, is no longer reachable either.
    page.goto(live_server.url + "/accounts/annuaire")
    page.wait_for_url(url_re(LOGIN_PATH))
    expect(page.get_by_text("Chantal Confidentielle")).to_have_count(0)


def test_phone_navbar_collapses_into_toggler(live_server, page, make_user, shot):
    user = make_user(role="admin", name="Paul Portable")
    page.set_viewport_size(PHONE)
    log_in(page, live_server.url, user.email)

    toggler = page.get_by_role("button", name="Menu")
    expect(toggler).to_be_visible()
    expect(toggler).to_have_attribute("aria-expanded", "false")
    directory = page.get_by_role("link", name="Annuaire", exact=True)
    expect(directory).to_be_hidden()

    toggler.click()
    expect(toggler).to_have_attribute("aria-expanded", "true")
    for name in ("Tableau de bord", "Annuaire", "Aide"):
        expect(page.locator("#nav-main").get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Administration")).to_be_visible()
    expect(page.locator("#user-menu")).to_be_visible()
    shot(page, "nav-open-phone")

    directory.click()
    page.wait_for_url(url_re("/accounts/annuaire"))
    expect(page.get_by_role("heading", name="Annuaire", level=1)).to_be_visible()
    assert page.console_errors == []

    page.set_viewport_size(DESKTOP)  # at desktop width the toggler disappears and the entries show
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("link", name="Annuaire", exact=True)).to_be_visible()


PAGES = [
    ("dashboard", "/"),
    ("directory", "/accounts/annuaire"),
    ("admin-users", "/accounts/admin/utilisateurs"),
    ("invite", "/accounts/admin/utilisateurs/inviter"),
    ("profile", None),
    ("error-404", "/cette-page-n-existe-pas"),
]


@pytest.mark.parametrize("size_name,size", [("desktop", DESKTOP), ("phone", PHONE)])
def test_main_pages_render_at_desktop_and_phone(live_server, page, make_user, make_org, shot, size_name, size):
    """Screenshots to /tmp/shots for a human to look at; asserts no console error and no sideways scroll."""
    org = make_org(name="Office de tourisme Hautes Terres")
    for i, name in enumerate(["Aurélie Bernard", "Jean-Baptiste Delacroix-Montagnac", "Zoé Roux"]):
        make_user(name=name, organization=org, job_title=["Conseillère en séjour", "Directeur", ""][i])
    admin = make_user(role="admin", name="Alice Admin", organization=org, job_title="Chargée de mission numérique",
                      phone="04 71 00 00 00", bio="Référente de l'intranet.\nJoignable le matin.")
    page.set_viewport_size(size)

    page.goto(live_server.url + LOGIN_PATH)
    expect(page.get_by_role("heading", name="Connexion à l'intranet")).to_be_visible()
    shot(page, f"login-{size_name}")
    log_in(page, live_server.url, admin.email)

    for name, path in PAGES:
        page.goto(live_server.url + (path or f"/accounts/personnes/{admin.id}"))
        expect(page.locator("h1")).to_be_visible()
        shot(page, f"{name}-{size_name}")
        assert "</" not in page.locator("main").inner_text(), f"{name}: HTML shown as text"
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {size_name} width"

    expect(page.get_by_role("heading", name="Page introuvable")).to_be_visible()
    errors = [e for e in page.console_errors if "404" not in e]  # the 404 page itself is expected
    assert errors == []
