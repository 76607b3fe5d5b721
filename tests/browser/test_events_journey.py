"""Browser journey of the calendar (issue 6): an office member proposes a training, the animateur
validates it from « À valider », it shows in the month grid, another member registers; the member's
iCal subscription, fetched over HTTP and parsed with ``icalendar``, gives the right Paris wall time on
both sides of a daylight-saving change, and answers 404 once revoked. A private group's event never
reaches a non-member: month grid, « À venir », dashboard widget, iCal subscription.
Screenshots go to /tmp/shots/events-*.png (not committed)."""

from __future__ import annotations

import os
import re
import urllib.request
from datetime import date, datetime, time, timedelta
from pathlib import Path
from urllib.error import HTTPError
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from babel.dates import format_date
from playwright.sync_api import expect

from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("INTRANET_SHOTS_DIR", "/tmp/shots"))
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
LOGIN_PATH = "/accounts/connexion"
EXPECTED_ERROR_RE = re.compile(r"status of (403|404)")  # Chromium logs the error pages we open on purpose
PARIS = ZoneInfo("Europe/Paris")
UTC = ZoneInfo("UTC")

TRAINING = "Formation accueil numérique"
WEEKLY = "Permanence numérique du mardi"
PRIVATE = "Commission labels : préparation confidentielle"
GROUP = "Commission qualité"


def _url(path: str) -> re.Pattern:
    """A pattern for ``page.wait_for_url``: ``path`` (a regex) with or without a query string."""
    return re.compile(rf"^https?://[^/]+{path}(\?.*)?$")


def _new_context(browser):
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", reduced_motion="reduce")
    context.set_default_timeout(10_000)
    return context


def _new_page(context):
    """A page of ``context`` that records its console errors in ``page.console_errors``."""
    page = context.new_page()
    page.set_viewport_size(DESKTOP)
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    return page


def _log_in(page, base_url: str, email: str) -> None:
    page.goto(base_url + LOGIN_PATH)
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(_url("/"))
    expect(page.get_by_role("heading", name="Tableau de bord", level=1)).to_be_visible()


def _no_console_errors(page, allow_error_pages: bool = False) -> None:
    errors = [e for e in page.console_errors if not (allow_error_pages and EXPECTED_ERROR_RE.search(e))]
    assert errors == [], errors
    page.console_errors.clear()


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"events-{name}.png"), full_page=True)


def _open_agenda(page) -> None:
    """« Agenda » from the main navigation (desktop width: the navbar is expanded)."""
    nav = page.get_by_role("navigation", name="Navigation principale")
    nav.get_by_role("link", name="Agenda", exact=True).click()
    page.wait_for_url(_url("/events/"))
    expect(page.get_by_role("heading", name="Agenda du réseau", level=1)).to_be_visible()


def _month_title(d: date) -> str:
    return format_date(d, "MMMM y", locale="fr")


def _next_month_grid(page, month: date) -> None:
    """From the current month of the agenda, « › » to ``month`` (the next one)."""
    page.get_by_role("link", name="Mois suivant").click()
    page.wait_for_url(_url("/events/"))
    expect(page.get_by_role("heading", name=_month_title(month), level=2)).to_be_visible()


def _chip(page, title: str):
    return page.locator("table.calendar-month a.event-chip", has_text=title)


def _propose(page, *, title: str, category: str, day: date, start: str, end: str, place: str, commune: str,
             description: str = "", price: str | None = None, capacity: int | None = None,
             weekly_on: str | None = None, until: date | None = None, audience: str | None = None,
             submit: str = "Proposer") -> int:
    """Fill « Proposer un événement » (reached from the agenda's button) and submit it; the event's id."""
    page.locator("main").get_by_role("link", name="Proposer un événement").click()
    page.wait_for_url(_url("/events/nouveau"))
    expect(page.get_by_role("heading", name="Proposer un événement", level=1)).to_be_visible()
    form = page.locator("main form")
    form.get_by_label("Titre").fill(title)
    form.get_by_label("Catégorie").select_option(label=category)
    form.get_by_label("Début", exact=True).fill(day.isoformat())
    form.get_by_label("Heure de début").fill(start)
    form.get_by_label("Fin", exact=True).fill(day.isoformat())
    form.get_by_label("Heure de fin").fill(end)
    if weekly_on:
        form.get_by_role("combobox", name="Répétition").select_option(label="Chaque semaine")
        form.get_by_role("checkbox", name=weekly_on, exact=True).check()
        form.get_by_label("Jusqu'au").fill(until.isoformat())
    form.get_by_label("Lieu (adresse)").fill(place)
    form.get_by_label("Commune").fill(commune)
    if description:
        form.get_by_label("Description").fill(description)
    if price:
        form.get_by_role("radio", name=price, exact=True).check()
    if capacity:
        form.get_by_label("Nombre de places").fill(str(capacity))
    if audience:  # typed into the chip picker, chosen with Enter
        form.get_by_role("combobox", name="Visible par").click()
        page.keyboard.type(audience)
        expect(page.locator(".ts-dropdown .option.active")).to_contain_text(audience)
        page.keyboard.press("Enter")
        page.keyboard.press("Escape")
        # Leave the picker, as a person clicking on: a search answer still on its way (one per
        # keystroke) cannot open the list again over the button.
        form.get_by_role("combobox", name="Visible par").blur()
        expect(form.locator(".ts-control .item")).to_contain_text(audience)
        expect(form.locator(".ts-dropdown")).to_be_hidden()
    form.get_by_role("button", name=submit, exact=True).click()
    page.wait_for_url(_url(r"/events/\d+"))
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    return int(re.search(r"/events/(\d+)", page.url).group(1))


def _validate(page, title: str) -> None:
    """On « À valider », « Valider et publier » the event titled ``title``."""
    card = page.locator("main article").filter(has=page.get_by_role("heading", name=title))
    expect(card).to_have_count(1)
    card.get_by_role("button", name="Valider et publier").click()
    page.wait_for_url(_url("/events/a-valider"))
    expect(page.get_by_role("alert")).to_contain_text("Événement validé et publié ; le proposant est prévenu.")
    expect(page.locator("main article").filter(has=page.get_by_role("heading", name=title))).to_have_count(0)


def _widget(page):
    return page.locator("main section").filter(has=page.get_by_role("heading", name="Prochains événements"))


def _fetch(url: str) -> tuple[int, str, bytes]:
    """GET ``url`` with urllib (no cookies, as a calendar app would)."""
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 (the live server, http://127.0.0.1)
        return resp.status, resp.headers.get("Content-Type", ""), resp.read()


def _last_sunday_of_october(year: int) -> date:
    d = date(year, 10, 31)
    return d - timedelta(days=(d.weekday() + 1) % 7)


def _dst_change(today: date) -> date:
    """The end of summer time that a feed covering ~1 month back and 1 year ahead surely includes,
    with a Tuesday before it: this year's if it is at most 20 days ago, else next year's."""
    d = _last_sunday_of_october(today.year)
    return d if d >= today - timedelta(days=20) else _last_sunday_of_october(today.year + 1)


def _events_by_summary(cal) -> dict[str, list]:
    out: dict[str, list] = {}
    for ev in cal.walk("VEVENT"):
        out.setdefault(str(ev.get("SUMMARY")), []).append(ev)
    return out


def test_events_journey_propose_validate_register_and_ical_subscription(
        live_server, page, _browser, make_user, make_org, factories):
    from intranet.events.models import Category
    from intranet.extensions import db

    base = live_server.url
    db.session.add_all([Category(name="Formation", color="#0b5394", position=1, is_active=True),
                        Category(name="Réunion réseau", color="#15803d", position=2, is_active=True)])
    db.session.commit()
    agency = make_org(name="Cantal Tourisme", kind="agency")
    salers = make_org(name="Office de tourisme du Pays de Salers")
    mauriac = make_org(name="Office de tourisme de Mauriac")
    aurillac = make_org(name="Office de tourisme d'Aurillac")
    animateur = make_user(role="animateur", name="Anne Animatrice", email="anne@cantal-tourisme.fr",
                          organization=agency)
    proposer = make_user(name="Paul Proposeur", email="paul@salers.fr", organization=salers)
    member = make_user(name="Marie Membre", email="marie@mauriac.fr", organization=mauriac)
    insider = make_user(name="Gilles Groupe", email="gilles@aurillac.fr", organization=aurillac)
    factories.group(name=GROUP, visibility="private", join_policy="invitation", owner=insider)

    today = datetime.now(PARIS).date()
    month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    training_day, private_day = month.replace(day=15), month.replace(day=16)
    change = _dst_change(today)  # Sunday: 3:00 CEST becomes 2:00 CET
    before, after = change - timedelta(days=5), change + timedelta(days=2)  # the Tuesdays around it
    until = change + timedelta(days=9)

    contexts = [_new_context(_browser) for _ in range(3)]
    try:
        page.set_viewport_size(DESKTOP)
        apage, mpage, gpage = (_new_page(c) for c in contexts)

        # 1. An office member proposes a training: it waits for the agency's validation.
        _log_in(page, base, proposer.email)
        _open_agenda(page)
        training_id = _propose(
            page, title=TRAINING, category="Formation", day=training_day, start="09:00", end="12:00",
            place="Maison du tourisme, 1 place Tyssandier d'Escous", commune="Salers",
            description="Une matinée pour **tout savoir** sur l'accueil numérique.", price="Gratuit", capacity=2)
        expect(page.get_by_role("alert")).to_contain_text(
            "Merci ! Votre événement attend la validation de l'agence ; vous serez prévenu.")
        main = page.locator("main")
        expect(main.get_by_text("En attente de validation", exact=True)).to_be_visible()
        expect(main.locator("dt:text-is('Tarif') + dd")).to_have_text("Gratuit")
        expect(main.locator("dt:text-is('Où') + dd")).to_have_text(
            "Maison du tourisme, 1 place Tyssandier d'Escous, Salers")
        expect(main.locator("dt:text-is('Quand') + dd")).to_contain_text(
            f"{format_date(training_day, 'EEEE d MMMM y', locale='fr')}, 09:00 – 12:00")
        expect(main.get_by_role("button", name="Je participe")).to_have_count(0)  # not published yet
        _shot(page, "proposed")
        _no_console_errors(page)

        # A group member proposes an event only their private group sees.
        _log_in(gpage, base, insider.email)
        _open_agenda(gpage)
        private_id = _propose(
            gpage, title=PRIVATE, category="Réunion réseau", day=private_day, start="14:00", end="16:00",
            place="Salle du conseil", commune="Aurillac", audience=GROUP)
        expect(gpage.get_by_role("alert")).to_contain_text("attend la validation")
        expect(gpage.locator("main")).to_contain_text(f"Visible par : le groupe « {GROUP} »")
        _no_console_errors(gpage)

        # 2. The animateur finds both under « À valider » and validates them.
        _log_in(apage, base, animateur.email)
        _open_agenda(apage)
        apage.locator("main").get_by_role("link", name="À valider").click()
        apage.wait_for_url(_url("/events/a-valider"))
        expect(apage.get_by_role("heading", name="Événements à valider", level=1)).to_be_visible()
        card = apage.locator("main article").filter(has=apage.get_by_role("heading", name=TRAINING))
        expect(card).to_contain_text("En attente de validation")
        expect(card).to_contain_text("proposé par Paul Proposeur")
        expect(card).to_contain_text("Office de tourisme du Pays de Salers")
        _shot(apage, "to-validate")
        _validate(apage, TRAINING)
        _validate(apage, PRIVATE)
        expect(apage.get_by_text("Aucun événement n'attend de validation.")).to_be_visible()
        _no_console_errors(apage)

        # The animateur publishes, through the same form, a weekly Tuesday event across the end of summer time.
        _open_agenda(apage)
        _propose(apage, title=WEEKLY, category="Réunion réseau", day=before, start="09:00", end="10:00",
                 place="Agence, 36 rue de Paris", commune="Aurillac", weekly_on="mardi", until=until,
                 submit="Publier")
        expect(apage.get_by_role("alert")).to_contain_text("Événement publié dans l'agenda.")
        expect(apage.locator("main")).to_contain_text(
            f"Se répète : chaque semaine, jusqu'au {until:%d/%m/%Y}")
        _no_console_errors(apage)

        # The proposer's page now reads as published.
        page.reload()
        expect(main.get_by_text("En attente de validation", exact=True)).to_have_count(0)
        expect(main.get_by_role("button", name="Je participe")).to_be_visible()

        # 3. Another member finds the training in next month's grid, at 09:00; the private event is not there.
        _log_in(mpage, base, member.email)
        _open_agenda(mpage)
        expect(mpage.get_by_role("heading", name=_month_title(today), level=2)).to_be_visible()
        _next_month_grid(mpage, month)
        chip = _chip(mpage, TRAINING)
        expect(chip).to_have_count(1)
        expect(chip).to_have_text(f"09:00 {TRAINING}")
        expect(chip.locator("xpath=ancestor::td[1]/div[1]")).to_have_text(str(training_day.day))
        expect(_chip(mpage, PRIVATE)).to_have_count(0)
        assert PRIVATE not in mpage.content()
        _shot(mpage, "month-desktop")
        mpage.set_viewport_size(PHONE)
        expect(chip).to_be_attached()
        _shot(mpage, "month-phone")
        overflow = mpage.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the month grid scrolls the whole page sideways by {overflow}px at phone width"
        mpage.set_viewport_size(DESKTOP)
        _no_console_errors(mpage)

        # The group member sees their event in the same grid, at 14:00.
        gpage.goto(base + "/events/")
        _next_month_grid(gpage, month)
        expect(_chip(gpage, PRIVATE)).to_have_text(f"14:00 {PRIVATE}")
        expect(_chip(gpage, TRAINING)).to_have_count(1)
        _no_console_errors(gpage)

        # 4. The member registers: one place of two taken.
        chip.click()
        mpage.wait_for_url(_url(rf"/events/{training_id}"))
        mmain = mpage.locator("main")
        expect(mmain.locator("dt:text-is('Places') + dd")).to_have_text("0 sur 2")
        mmain.get_by_role("button", name="Je participe").click()
        mpage.wait_for_url(_url(rf"/events/{training_id}"))
        expect(mpage.get_by_role("alert")).to_contain_text("Réponse enregistrée.")
        expect(mmain.get_by_role("button", name="Je participe")).to_have_attribute("aria-pressed", "true")
        expect(mmain.locator("dt:text-is('Places') + dd")).to_have_text("1 sur 2")
        places = mmain.locator("dl").inner_text()
        assert re.search(r"Places\s*1 sur 2", places), places
        _shot(mpage, "registered")
        _no_console_errors(mpage)

        # The private event's page is not found for her.
        mpage.goto(f"{base}/events/{private_id}")
        expect(mpage.get_by_role("heading", name="Page introuvable", level=1)).to_be_visible()
        expect(mpage.get_by_text(PRIVATE)).to_have_count(0)
        _no_console_errors(mpage, allow_error_pages=True)

        # 5. « À venir » and the dashboard widget: the training, never the private event.
        _open_agenda(mpage)
        mpage.locator("main").get_by_role("link", name="À venir", exact=True).click()
        mpage.wait_for_url(_url("/events/"))
        expect(mpage.get_by_role("heading", name="À venir", level=2)).to_be_visible()
        rows = mpage.locator("main .list-group-item")
        expect(rows.filter(has_text=TRAINING)).to_have_count(1)
        expect(rows.filter(has_text=PRIVATE)).to_have_count(0)
        assert PRIVATE not in mpage.content()
        _shot(mpage, "list")
        mpage.get_by_role("navigation", name="Navigation principale").get_by_role(
            "link", name="Tableau de bord").click()
        mpage.wait_for_url(_url("/"))
        widget = _widget(mpage)
        expect(widget.get_by_role("link", name=TRAINING)).to_be_visible()
        expect(widget.get_by_text(PRIVATE)).to_have_count(0)
        assert PRIVATE not in mpage.content()
        _no_console_errors(mpage)

        gpage.goto(base + "/")
        expect(_widget(gpage).get_by_role("link", name=PRIVATE)).to_be_visible()
        gpage.goto(base + "/events/?vue=liste")
        expect(gpage.locator("main .list-group-item").filter(has_text=PRIVATE)).to_have_count(1)
        _no_console_errors(gpage)

        # 6. « Dans mon calendrier »: she creates her subscription address and reads it.
        _open_agenda(mpage)
        mpage.locator("main").get_by_role("link", name="Dans mon calendrier").click()
        mpage.wait_for_url(_url("/events/abonnement"))
        expect(mpage.get_by_role("heading", name="L'agenda dans mon calendrier", level=1)).to_be_visible()
        expect(mpage.get_by_text("Vous n'avez pas encore d'adresse d'abonnement.")).to_be_visible()
        mpage.locator("main").get_by_role("button", name="Créer mon adresse d’abonnement").click()
        mpage.wait_for_url(_url("/events/abonnement"))
        expect(mpage.get_by_role("alert")).to_contain_text("Adresse d'abonnement créée.")
        address = mpage.get_by_label("Votre adresse personnelle (secrète : ne la partagez pas)")
        expect(address).not_to_be_editable()
        url = address.input_value()
        # The live server speaks plain HTTP; behind the production proxy the same address is https://.
        match = re.fullmatch(rf"{re.escape(base)}/events/ical/([A-Za-z0-9_-]+)\.ics", url)
        assert match, url
        assert len(match.group(1)) >= 22, "the token carries at least 128 bits"
        expect(mpage.get_by_role("link", name="S'abonner (webcal)")).to_have_attribute(
            "href", url.replace("http://", "webcal://"))
        _shot(mpage, "subscription")
        _no_console_errors(mpage)

        status, content_type, body = _fetch(url)
        assert status == 200
        assert content_type.startswith("text/calendar")
        cal = icalendar.Calendar.from_ical(body)
        assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Paris"]
        events = _events_by_summary(cal)
        assert PRIVATE not in events and PRIVATE.encode() not in body
        assert set(events) == {TRAINING, WEEKLY}

        (training,) = events[TRAINING]
        start = training["DTSTART"].dt
        assert start.astimezone(PARIS) == datetime.combine(training_day, time(9, 0), PARIS)
        assert training["DTEND"].dt.astimezone(PARIS) == datetime.combine(training_day, time(12, 0), PARIS)
        assert str(training["LOCATION"]) == "Maison du tourisme, 1 place Tyssandier d'Escous, Salers"

        # The weekly event: 9:00 in Paris on both sides of the change, i.e. 07:00 then 08:00 UTC.
        (weekly,) = events[WEEKLY]
        assert "RRULE" in weekly
        occurrences = [o for o in recurring_ical_events.of(cal).between(before - timedelta(days=1),
                                                                         until + timedelta(days=14))
                       if str(o["SUMMARY"]) == WEEKLY]
        starts = sorted(o["DTSTART"].dt for o in occurrences)
        assert [s.astimezone(PARIS).date() for s in starts] == [before, after, after + timedelta(days=7)]
        assert {s.astimezone(PARIS).time() for s in starts} == {time(9, 0)}
        assert [s.astimezone(UTC).strftime("%H:%M") for s in starts] == ["07:00", "08:00", "08:00"]

        # 7. « Révoquer » (after confirming): the address answers 404.
        dialogs = []

        def accept(dialog):
            dialogs.append(dialog.message)
            dialog.accept()

        mpage.on("dialog", accept)
        mpage.locator("main").get_by_role("button", name="Révoquer").click()
        mpage.wait_for_url(_url("/events/abonnement"))
        assert dialogs == ["Révoquer votre adresse d’abonnement ?"]
        expect(mpage.get_by_role("alert")).to_contain_text("Adresse d'abonnement révoquée.")
        expect(mpage.get_by_text("Vous n'avez pas encore d'adresse d'abonnement.")).to_be_visible()
        expect(mpage.get_by_label("Votre adresse personnelle (secrète : ne la partagez pas)")).to_have_count(0)
        _no_console_errors(mpage)
        with pytest.raises(HTTPError) as refused:
            _fetch(url)
        refused.value.close()
        assert refused.value.code == 404
    finally:
        for context in contexts:
            context.close()
