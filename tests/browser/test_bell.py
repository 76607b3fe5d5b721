"""Browser test of the bell (issue 4): the unread count in the navigation rises when another
member acts on something of yours, here an invitation to a private group (until the feed exists).

Two browser contexts, each with its own cookies: a member on the dashboard, and an animateur who
creates a group "sur invitation" and invites the member from the members tab. The member reloads,
sees 1 on the bell, opens the notifications page, clicks the notification (marked read, taken to
« Mes groupes » with the invitation), and the count is gone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, log_in, url_re

pytestmark = pytest.mark.browser

GROUP = "Éductour Planèze 2027"
BELL = '[data-nav-badge="notifications.index"]'
MESSAGE = f"Anne Animatrice vous invite dans le groupe « {GROUP} »"


def _new_page(context):
    """A page of ``context`` that records its console errors in ``page.console_errors``."""
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    return page


def _expect_no_unread(page) -> None:
    badge = page.locator(f"{BELL} .nav-badge")
    expect(badge).to_have_count(1)
    expect(badge).to_be_hidden()
    expect(badge).to_have_attribute("data-count", "0")


def _expect_unread(page, count: int) -> None:
    badge = page.locator(f"{BELL} .nav-badge")
    expect(badge).to_be_visible()
    expect(badge).to_have_attribute("data-count", str(count))
    expect(badge).to_contain_text(str(count))


def test_bell_counts_an_invitation_from_another_member(live_server, page, _browser, make_user, make_org):
    base = live_server.url
    org = make_org(name="Office de tourisme des Pays de Saint-Flour")
    animateur = make_user(role="animateur", name="Anne Animatrice", email="anne@cantal-tourisme.fr", organization=org)
    member = make_user(name="Bruno Membre", email="bruno@saint-flour.fr", organization=org)
    page.set_viewport_size(DESKTOP)

    context = _browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", reduced_motion="reduce",
                                   viewport=DESKTOP)
    context.set_default_timeout(10_000)
    try:
        # 1. The member is on the dashboard: nothing unread.
        bpage = _new_page(context)
        log_in(bpage, base, member.email)
        expect(bpage.get_by_role("heading", name="Tableau de bord", level=1)).to_be_visible()
        _expect_no_unread(bpage)

        # 2. The animateur, in the other context, creates a private group on invitation only…
        log_in(page, base, animateur.email)
        page.goto(base + "/groups/nouveau")
        expect(page.get_by_role("heading", name="Créer un groupe", level=1)).to_be_visible()
        main = page.locator("main")
        page.get_by_label("Nom du groupe").fill(GROUP)
        page.get_by_label("Description").fill("Accueil des journalistes sur la Planèze au printemps.")
        page.get_by_role("radio", name=re.compile("^Privée")).check()
        page.get_by_role("radio", name="Sur invitation seulement").check()
        main.get_by_role("button", name="Enregistrer").click()
        page.wait_for_url(re.compile(r"^https?://[^/]+/groups/\d+/membres(\?.*)?$"))
        expect(page.get_by_role("alert")).to_contain_text(f"Le groupe « {GROUP} » est créé.")

        # … and invites the member from the members tab.
        page.get_by_label("Personne à inviter").fill(member.email)
        main.get_by_role("button", name="Inviter", exact=True).click()
        expect(page.get_by_role("alert")).to_contain_text("Invitation envoyée à Bruno Membre.")
        _expect_no_unread(page)  # the actor is not notified of their own action
        assert page.console_errors == []

        # 3. The member reloads: the bell shows 1.
        bpage.reload()
        expect(bpage.get_by_role("heading", name="Tableau de bord", level=1)).to_be_visible()
        _expect_unread(bpage, 1)
        expect(bpage.locator(BELL)).to_have_accessible_name(re.compile(r"Notifications\s+1\s+non lues"))

        # 4. The bell leads to the notifications page, which lists the invitation as new.
        bpage.locator(BELL).click()
        bpage.wait_for_url(url_re("/notifications/"))
        expect(bpage.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
        item = bpage.locator("main .list-group-item").filter(has_text=MESSAGE)
        expect(item).to_have_count(1)
        expect(item).to_contain_text("Nouveau")

        # 5. Opening it marks it read and leads to « Mes groupes », where the invitation waits.
        item.click()
        bpage.wait_for_url(url_re("/groups/mes-groupes"))
        expect(bpage.get_by_role("heading", name="Mes groupes", level=1)).to_be_visible()
        invitation = bpage.get_by_role("listitem").filter(has_text=f"Anne Animatrice vous invite dans « {GROUP} »")
        expect(invitation).to_have_count(1)
        expect(invitation.get_by_role("button", name="Accepter")).to_be_visible()
        _expect_no_unread(bpage)

        # 6. Back on the notifications page, it is listed as read; still nothing unread on the dashboard.
        bpage.goto(base + "/notifications/")
        item = bpage.locator("main .list-group-item").filter(has_text=MESSAGE)
        expect(item).to_have_count(1)
        expect(item).not_to_contain_text("Nouveau")
        bpage.goto(base + "/")
        _expect_no_unread(bpage)
        assert bpage.console_errors == []
    finally:
        context.close()
