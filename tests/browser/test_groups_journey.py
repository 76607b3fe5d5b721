"""Browser journey of a private group (issue 3): an animateur creates it and invites a member, the
member accepts, a non-member sees neither its content nor its members; then the group turns secret
and the member leaves. Screenshots of the group pages go to /tmp/shots/groups-*.png (not committed)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("INTRANET_SHOTS_DIR", "/tmp/shots"))
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
LOGIN_PATH = "/accounts/connexion"
EXPECTED_ERROR_RE = re.compile(r"status of (403|404)")  # Chromium logs the error pages we open on purpose

GROUP = "Comité qualité accueil"
DESCRIPTION = "Préparation du label Qualité Tourisme pour la saison 2027."
RESERVED = "Le contenu de ce groupe est réservé à ses membres."


def _url(path: str) -> re.Pattern:
    """A pattern for ``page.wait_for_url``: ``path`` (a regex) with or without a query string."""
    return re.compile(rf"^https?://[^/]+{path}(\?.*)?$")


def _new_page(context):
    """A page of ``context`` that records its console errors in ``page.console_errors``."""
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    return page


def _new_context(browser):
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", reduced_motion="reduce")
    context.set_default_timeout(10_000)
    return context


def _log_in(page, base_url: str, email: str) -> None:
    page.goto(base_url + LOGIN_PATH)
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(_url("/"))
    expect(page.get_by_role("heading", name="Tableau de bord", level=1)).to_be_visible()


def _open_groups(page) -> None:
    """Open « Groupes » from the main navigation (desktop width: the navbar is expanded)."""
    nav = page.get_by_role("navigation", name="Navigation principale")
    nav.get_by_role("link", name="Groupes", exact=True).click()
    page.wait_for_url(_url("/groups/"))
    expect(page.get_by_role("heading", name="Groupes", level=1)).to_be_visible()


def _no_console_errors(page, allow_error_pages: bool = False) -> None:
    errors = [e for e in page.console_errors if not (allow_error_pages and EXPECTED_ERROR_RE.search(e))]
    assert errors == [], errors
    page.console_errors.clear()


def _shots(page, name: str) -> None:
    """Full-page screenshots at desktop and phone widths; no sideways scrolling at either."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for size_name, size in SIZES.items():
        page.set_viewport_size(size)
        page.screenshot(path=str(SHOTS / f"groups-{name}-{size_name}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {size_name} width"
    page.set_viewport_size(SIZES["desktop"])


def test_private_group_invitation_and_privacy(live_server, page, _browser, make_user, make_org):
    base = live_server.url
    salers = make_org(name="Office de tourisme du Pays de Salers")
    mauriac = make_org(name="Office de tourisme de Mauriac")
    animateur = make_user(role="animateur", name="Anne Animatrice", email="anne@cantal-tourisme.fr",
                          organization=salers)
    member = make_user(name="Marc Membre", email="marc@salers.fr", organization=salers)
    outsider = make_user(name="Nadia Curieuse", email="nadia@mauriac.fr", organization=mauriac)
    page.set_viewport_size(SIZES["desktop"])

    # 1. The animateur creates a private group, on invitation only.
    _log_in(page, base, animateur.email)
    _open_groups(page)
    main = page.locator("main")
    main.get_by_role("link", name="Créer un groupe").click()
    page.wait_for_url(_url("/groups/nouveau"))
    expect(page.get_by_role("heading", name="Créer un groupe", level=1)).to_be_visible()
    page.get_by_label("Nom du groupe").fill(GROUP)
    page.get_by_label("Description").fill(DESCRIPTION)
    page.get_by_role("radio", name=re.compile("^Privée")).check()
    page.get_by_role("radio", name="Sur invitation seulement").check()
    main.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(_url(r"/groups/\d+/membres"))
    group_id = int(re.search(r"/groups/(\d+)/membres", page.url).group(1))
    group_url = f"{base}/groups/{group_id}"
    expect(page.get_by_role("alert")).to_contain_text(f"Le groupe « {GROUP} » est créé. Invitez ses membres.")
    expect(page.get_by_role("heading", name=GROUP, level=1)).to_be_visible()
    expect(main.get_by_role("link", name="Membres")).to_have_attribute("aria-current", "page")
    expect(main.get_by_text("Privée", exact=True)).to_be_visible()
    expect(main.get_by_text("1 membre", exact=True)).to_be_visible()
    _no_console_errors(page)

    # 2. She invites the member by e-mail.
    page.get_by_label("Personne à inviter").fill(member.email)
    main.get_by_role("button", name="Inviter", exact=True).click()
    page.wait_for_url(_url(rf"/groups/{group_id}/membres"))
    expect(page.get_by_role("alert")).to_contain_text("Invitation envoyée à Marc Membre.")
    pending = main.locator(".card", has=page.get_by_role("heading", name="Invitations en attente"))
    expect(pending.get_by_role("listitem")).to_have_text(["Marc Membre"])
    _no_console_errors(page)

    # 3. The member, in their own browser context, accepts from « Mes groupes ».
    member_context = _new_context(_browser)
    outsider_context = _new_context(_browser)
    try:
        mpage = _new_page(member_context)
        _log_in(mpage, base, member.email)
        _open_groups(mpage)
        mpage.locator("main").get_by_role("link", name="Mes groupes").click()
        mpage.wait_for_url(_url("/groups/mes-groupes"))
        expect(mpage.get_by_role("heading", name="Mes groupes", level=1)).to_be_visible()
        invitation = mpage.get_by_role("listitem").filter(
            has_text=f"Anne Animatrice vous invite dans « {GROUP} »")
        expect(invitation).to_have_count(1)
        _shots(mpage, "mine-invitation")
        invitation.get_by_role("button", name="Accepter").click()
        mpage.wait_for_url(_url(rf"/groups/{group_id}"))
        expect(mpage.get_by_role("alert")).to_contain_text(f"Bienvenue dans le groupe « {GROUP} » !")
        expect(mpage.get_by_text("Vous êtes membre")).to_be_visible()
        # A member lands on the group's discussion; « À propos » tells what the group is.
        expect(mpage.locator("main").get_by_role("link", name="Fil")).to_have_attribute("aria-current", "page")
        mpage.locator("main").get_by_role("link", name="À propos").click()
        mpage.wait_for_url(_url(rf"/groups/{group_id}/a-propos"))
        expect(mpage.get_by_text(DESCRIPTION)).to_be_visible()
        expect(mpage.get_by_text(RESERVED)).to_have_count(0)
        _shots(mpage, "show-member")
        mpage.locator("main").get_by_role("link", name="Membres", exact=True).click()
        mpage.wait_for_url(_url(rf"/groups/{group_id}/membres"))
        people = mpage.locator("main .list-group-item")
        expect(people).to_have_count(2)
        expect(people.nth(0)).to_contain_text("Anne Animatrice")
        expect(people.nth(0)).to_contain_text("Propriétaire")
        expect(people.nth(1)).to_contain_text("Marc Membre")
        expect(people.nth(1)).to_contain_text("Membre")
        expect(mpage.get_by_label("Personne à inviter")).to_have_count(0)  # a plain member does not manage
        _no_console_errors(mpage)

        mpage.goto(base + "/groups/mes-groupes")
        expect(mpage.get_by_role("link", name=re.compile(GROUP))).to_contain_text("Membre · 2 membres")
        _shots(mpage, "mine-member")
        _no_console_errors(mpage)

        # The animateur sees the new member, and the invitation is no longer pending.
        page.reload()
        expect(main.locator(".list-group-item")).to_have_count(2)
        expect(page.get_by_role("heading", name="Invitations en attente")).to_have_count(0)
        expect(page.get_by_label("Rôle de Marc Membre")).to_have_value("member")
        _shots(page, "members-owner")
        _no_console_errors(page)

        # 4. A non-member sees the private group listed, its description, but not its content nor members.
        opage = _new_page(outsider_context)
        _log_in(opage, base, outsider.email)
        _open_groups(opage)
        card = opage.locator("main .card").filter(has=opage.get_by_role("link", name=GROUP))
        expect(card).to_contain_text("Privée")
        expect(card).to_contain_text("2 membres")
        card.get_by_role("link", name=GROUP).click()
        opage.wait_for_url(_url(rf"/groups/{group_id}"))
        omain = opage.locator("main")
        expect(omain.get_by_text(DESCRIPTION)).to_be_visible()
        expect(omain.get_by_text(RESERVED)).to_be_visible()
        expect(omain.get_by_text("Sur invitation", exact=True)).to_be_visible()
        expect(omain.get_by_role("button")).to_have_count(0)  # nothing to join or request: invitation only
        expect(omain.get_by_role("link", name="À propos")).to_be_visible()
        expect(omain.get_by_role("link", name="Membres")).to_have_count(0)
        expect(omain.get_by_role("link", name="Paramètres")).to_have_count(0)
        for name in ("Anne Animatrice", "Marc Membre"):
            expect(opage.get_by_text(name)).to_have_count(0)
        _shots(opage, "show-nonmember")
        _no_console_errors(opage)

        opage.goto(group_url + "/membres")
        expect(opage.get_by_role("heading", name="Accès refusé", level=1)).to_be_visible()
        expect(opage.get_by_text("Vous n'avez pas les droits nécessaires pour voir cette page.")).to_be_visible()
        body = opage.locator("body").inner_text()
        assert "Anne Animatrice" not in body and "Marc Membre" not in body
        assert "Anne Animatrice" not in opage.content() and "Marc Membre" not in opage.content()
        _no_console_errors(opage, allow_error_pages=True)

        # 5. The animateur makes the group secret: the non-member no longer sees it at all.
        main.get_by_role("link", name="Paramètres", exact=True).click()
        page.wait_for_url(_url(rf"/groups/{group_id}/parametres"))
        expect(page.get_by_label("Nom du groupe")).to_have_value(GROUP)
        expect(page.get_by_role("radio", name=re.compile("^Privée"))).to_be_checked()
        page.get_by_role("radio", name=re.compile("^Secrète")).check()
        main.get_by_role("button", name="Enregistrer").click()
        page.wait_for_url(_url(rf"/groups/{group_id}"))
        expect(page.get_by_role("alert")).to_contain_text("Les paramètres du groupe sont enregistrés.")
        expect(main.get_by_text("Secrète", exact=True)).to_be_visible()
        _no_console_errors(page)

        _open_groups(opage)
        opage.reload()
        expect(opage.get_by_role("link", name=GROUP)).to_have_count(0)
        expect(opage.get_by_text("Aucun groupe pour l'instant.")).to_be_visible()
        opage.goto(group_url)
        expect(opage.get_by_role("heading", name="Page introuvable", level=1)).to_be_visible()
        expect(opage.get_by_text(GROUP)).to_have_count(0)
        opage.goto(group_url + "/membres")
        expect(opage.get_by_role("heading", name="Page introuvable", level=1)).to_be_visible()
        _no_console_errors(opage, allow_error_pages=True)

        # 6. The member leaves (after confirming); the secret group's members tab is then a 404.
        dialogs = []

        def accept(dialog):
            dialogs.append(dialog.message)
            dialog.accept()

        mpage.on("dialog", accept)
        mpage.goto(group_url + "/membres")
        expect(mpage.get_by_text("Secrète", exact=True)).to_be_visible()
        mpage.locator("main").get_by_role("button", name="Quitter le groupe").click()
        mpage.wait_for_url(_url("/groups/mes-groupes"))
        assert dialogs == ["Quitter ce groupe ? Vous n’en verrez plus le contenu réservé."]
        expect(mpage.get_by_role("alert")).to_contain_text(f"Vous avez quitté le groupe « {GROUP} ».")
        expect(mpage.locator("main").get_by_role("link", name=re.compile(GROUP))).to_have_count(0)
        _no_console_errors(mpage)
        mpage.goto(group_url + "/membres")
        expect(mpage.get_by_role("heading", name="Page introuvable", level=1)).to_be_visible()
        expect(mpage.get_by_text("Anne Animatrice")).to_have_count(0)
        _no_console_errors(mpage, allow_error_pages=True)
    finally:
        member_context.close()
        outsider_context.close()
