"""« Proposer un événement » shows what a choice needs when it is chosen (CSS only, so it works
without JavaScript), each question asked once, and stays short on a desktop and a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, log_in


def _form_height(page) -> int:
    return page.evaluate("document.documentElement.scrollHeight")


@pytest.mark.parametrize("javascript", [True, False], ids=["avec-js", "sans-js"])
def test_the_form_discloses_what_each_choice_needs(live_server, browser_context, _browser, make_user, javascript,
                                                   shot):
    context = _browser.new_context(java_script_enabled=javascript, locale="fr-FR", viewport=DESKTOP)
    page = context.new_page()
    try:
        member = make_user(name="Marie Membre")
        log_in(page, live_server.url, member.email)
        page.goto(live_server.url + "/events/nouveau")
        form = page.locator("main form")
        expect(form.get_by_text("Répétition", exact=True)).to_have_count(1)  # one label, not two
        repeat = form.get_by_label("Répétition", exact=True)
        expect(repeat).to_have_value("")
        for hidden in ("Toutes les … (semaines ou mois)", "Jusqu'au", "Montant (€)", "Tarif (texte)"):
            expect(form.get_by_label(hidden, exact=True)).to_be_hidden()
        expect(form.get_by_text("Jours", exact=True)).to_be_hidden()
        desktop = _form_height(page)

        repeat.select_option("weekly")
        expect(form.get_by_label("Toutes les … (semaines ou mois)", exact=True)).to_be_visible()
        expect(form.get_by_label("Jusqu'au", exact=True)).to_be_visible()
        expect(form.get_by_text("Jours", exact=True)).to_be_visible()
        repeat.select_option("monthly")
        expect(form.get_by_text("Jours", exact=True)).to_be_hidden()  # the day comes from the date
        expect(form.get_by_label("Jusqu'au", exact=True)).to_be_visible()

        form.get_by_role("radio", name="Montant", exact=True).check()
        expect(form.get_by_label("Montant (€)", exact=True)).to_be_visible()
        expect(form.get_by_label("Tarif (texte)", exact=True)).to_be_hidden()
        form.get_by_role("radio", name="Texte libre", exact=True).check()
        expect(form.get_by_label("Tarif (texte)", exact=True)).to_be_visible()
        expect(form.get_by_label("Montant (€)", exact=True)).to_be_hidden()

        form.get_by_label("Toute la journée").check()
        expect(form.get_by_label("Heure de début")).to_be_hidden()

        page.set_viewport_size(PHONE)
        page.reload()
        phone = _form_height(page)
        print(f"event form height ({'JS' if javascript else 'no JS'}): desktop {desktop} px, phone {phone} px")
        assert desktop <= 1900 and phone <= 2900, (desktop, phone)
        if javascript:
            shot(page, "event-form-phone")
    finally:
        context.close()
