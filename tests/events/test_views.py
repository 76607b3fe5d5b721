"""The calendar's pages: the month grid and the week (events on the right Paris days, several days,
all day), the « À venir » list and its pages, the filters, a private group's events out of every
view of non-members, bad input on the form (a French message, nothing half-created), and the
categories admins edit with their colours."""

from __future__ import annotations

import io
import os
import re
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from intranet.core.notifications import Notification
from intranet.events.models import Category, Event, EventAttachment, Occurrence
from intranet.extensions import db
from tests.conftest import csrf_token
from tests.events.conftest import event_form, make_event, paris_day, post, text

MINIMAL_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
               b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def month_grid(resp) -> dict[int, list[int]]:
    """Day of the shown month → ids of the events shown in its cell (other months' cells left out)."""
    body = resp.get_data(as_text=True)
    cells = re.findall(r'<td class="([^"]*)">\s*<div class="small fw-semibold">(\d+)</div>(.*?)</td>', body, re.S)
    assert len(cells) in (28, 35, 42), f"not a month grid: {len(cells)} cells"
    return {int(day): [int(i) for i in re.findall(r'href="/events/(\d+)"', chips)]
            for cls, day, chips in cells if "text-body-tertiary" not in cls}


def week_days(resp) -> dict[int, list[int]]:
    """Day of the month → ids of the events shown that day in the week view."""
    body = resp.get_data(as_text=True)
    cards = re.findall(r'<div class="card-header[^"]*">([^<]*)</div>\s*<div class="card-body p-2">(.*?)</div>',
                       body, re.S)
    assert len(cards) == 7, f"not a week: {len(cards)} days"
    return {int(header.split()[-1]): [int(i) for i in re.findall(r'href="/events/(\d+)"', chips)]
            for header, chips in cards}


def future_month() -> date:
    """The first day of the month after next (every day of it is to come)."""
    return (paris_day(0).replace(day=1) + timedelta(days=62)).replace(day=1)


def stored_files(app) -> list[str]:
    return [os.path.join(root, f) for root, _dirs, files in os.walk(app.config["UPLOAD_DIR"]) for f in files]


# -- month and week -------------------------------------------------------------------------------

@pytest.fixture
def month(make_user, categories):
    """Events of one future month: a morning, a three-day one, an all-day one, a two-day all-day
    one, one just after midnight in Paris (the day before in UTC)."""
    first = future_month()
    author = make_user(role="animateur")

    def on(day: int, hour: int = 0, minute: int = 0) -> datetime:
        return datetime.combine(first.replace(day=day), time(hour, minute))

    events = {
        "matin": make_event(author, "Matinée formation", on(10, 9), on(10, 12), category=categories["Formation"]),
        "trois_jours": make_event(author, "Salon sur trois jours", on(14, 9), on(16, 17), category=categories["Salon"]),
        "journee": make_event(author, "Journée portes ouvertes", first.replace(day=20)),
        "deux_jours": make_event(author, "Fête du réseau", first.replace(day=24), first.replace(day=25)),
        "minuit": make_event(author, "Atelier de minuit", on(8, 0, 30), on(8, 1, 30)),
    }
    return first, {k: e.id for k, e in events.items()}


def test_the_month_grid_shows_each_event_on_its_paris_days(month, as_, make_user):
    first, ids = month
    c = as_(make_user())
    resp = c.get(f"/events/?vue=mois&date={first.isoformat()}")
    assert resp.status_code == 200
    grid = month_grid(resp)
    shown = {key: sorted(day for day, events in grid.items() if ids[key] in events) for key in ids}
    assert shown == {"matin": [10], "trois_jours": [14, 15, 16], "journee": [20], "deux_jours": [24, 25],
                     "minuit": [8]}
    body = resp.get_data(as_text=True)
    # The time of day in Paris (not UTC), none for all-day events; the category's colour.
    chip = re.search(rf'<a class="event-chip[^>]*href="/events/{ids["minuit"]}".*?</a>', body, re.S).group(0)
    assert ">00:30</span>" in chip
    chip = re.search(rf'<a class="event-chip[^>]*href="/events/{ids["matin"]}".*?</a>', body, re.S).group(0)
    assert ">09:00</span>" in chip and "event-color-0b5394" in chip
    chip = re.search(rf'<a class="event-chip[^>]*href="/events/{ids["journee"]}".*?</a>', body, re.S).group(0)
    assert 'class="text-body-secondary"' not in chip  # all day: no time
    page = text(resp)
    months = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
              "novembre", "décembre")
    assert f"{months[first.month - 1]} {first.year}" in page
    # The previous month does not show them.
    previous = month_grid(c.get(f"/events/?vue=mois&date={(first - timedelta(days=1)).isoformat()}"))
    assert not any(set(events) & set(ids.values()) for events in previous.values())


def test_the_week_view_shows_the_events_of_that_week_on_their_days(month, as_, make_user):
    first, ids = month
    c = as_(make_user())
    day = first.replace(day=15)
    resp = c.get(f"/events/?vue=semaine&date={day.isoformat()}")
    assert resp.status_code == 200
    week = week_days(resp)
    monday = day - timedelta(days=day.weekday())
    assert sorted(week) == sorted((monday + timedelta(days=i)).day for i in range(7))
    for d, events in week.items():
        assert (ids["trois_jours"] in events) == (d in (14, 15, 16)), d
        assert ids["matin"] not in events or d == 10
    assert "Semaine du" in text(resp)
    week = week_days(c.get(f"/events/?vue=semaine&date={first.replace(day=10).isoformat()}"))
    assert ids["matin"] in week[10]


def test_the_week_view_has_a_today_link_back_to_the_current_week(make_user, as_):
    c = as_(make_user())
    body = c.get("/events/?vue=semaine&date=2031-03-12").get_data(as_text=True)
    today_link = r"<a class=\"btn btn-sm btn-link\" href=\"/events/\?vue=semaine\">Aujourd(&#39;|')hui</a>"
    assert re.search(today_link, body), "a far week offers « Aujourd'hui »"
    assert "border-primary" not in body, "no day of that week is today"
    # The link leads to the week holding today: its day card is the one outlined.
    current = c.get("/events/?vue=semaine").get_data(as_text=True)
    assert current.count('<div class="card h-100 border-primary">') == 1


def test_the_upcoming_list_has_pages_of_25(make_user, as_):
    author = make_user(role="animateur")
    make_event(author, "Réunion passée", datetime.combine(paris_day(-3), time(10)))
    for n in range(1, 31):
        make_event(author, f"Session {n:02d}", datetime.combine(paris_day(n), time(10)))
    c = as_(make_user())
    first = c.get("/events/?vue=liste")
    page = text(first)
    assert "À venir" in page
    assert all(f"Session {n:02d}" in page for n in range(1, 26))
    assert "Session 26" not in page and "Réunion passée" not in page
    assert page.index("Session 01") < page.index("Session 02") < page.index("Session 25")
    assert "Suivant" in page and "Précédent" not in page
    assert 'href="/events/?vue=liste&amp;page=2"' in first.get_data(as_text=True)
    second = text(c.get("/events/?vue=liste&page=2"))
    assert all(f"Session {n:02d}" in second for n in range(26, 31))
    assert "Session 25" not in second
    assert "Précédent" in second and "Suivant" not in second
    assert "Aucun événement à venir." in text(c.get("/events/?vue=liste&page=3"))


# -- filters --------------------------------------------------------------------------------------

@pytest.fixture
def filtered(factories, make_user, categories):
    cantal = factories.territory(name="Pays de Salers", code="SAL")
    aubrac = factories.territory(name="Aubrac", code="AUB")
    salers = factories.organization(name="Office de Salers", territory=cantal)
    laguiole = factories.organization(name="Office de Laguiole", territory=aubrac)
    viewer = make_user(name="Lectrice", organization=salers)
    group = factories.group(name="Club des guides", visibility="public", members=[viewer])
    author = make_user(role="animateur", organization=salers)
    day = datetime.combine(paris_day(5), time(10))
    events = {
        "formation_salers": make_event(author, "Formation à Salers", day, organization=salers,
                                       category=categories["Formation"]),
        "salon_laguiole": make_event(author, "Salon à Laguiole", day, organization=laguiole,
                                     category=categories["Salon"]),
        "guides": make_event(author, "Sortie des guides", day, organization=salers, group_id=group.id,
                             category=categories["Manifestation"]),
    }
    return {"viewer": viewer, "categories": categories, "salers": salers, "laguiole": laguiole, "cantal": cantal,
            "aubrac": aubrac, "group": group, "titles": {k: e.title for k, e in events.items()}}


@pytest.mark.parametrize("param, value, expected", [
    ("", None, {"formation_salers", "salon_laguiole", "guides"}),
    ("categorie", "Formation", {"formation_salers"}),
    ("categorie", "Salon", {"salon_laguiole"}),
    ("organisation", "salers", {"formation_salers", "guides"}),
    ("organisation", "laguiole", {"salon_laguiole"}),
    ("territoire", "cantal", {"formation_salers", "guides"}),
    ("territoire", "aubrac", {"salon_laguiole"}),
    ("groupe", "group", {"guides"}),
], ids=["none", "category-formation", "category-salon", "org-salers", "org-laguiole", "territory-salers",
        "territory-aubrac", "group"])
def test_filters_keep_exactly_the_matching_events(filtered, as_, param, value, expected):
    c = as_(filtered["viewer"])
    if param == "categorie":
        query = f"&categorie={filtered['categories'][value].id}"
    elif param:
        query = f"&{param}={filtered[value].id}"
    else:
        query = ""
    for view in ("liste", "mois", "semaine"):
        page = text(c.get(f"/events/?vue={view}&date={paris_day(5).isoformat()}{query}"))
        shown = {k for k, title in filtered["titles"].items() if title in page}
        assert shown == expected, f"{view}{query}"


def test_the_filter_form_keeps_the_chosen_values(filtered, as_):
    c = as_(filtered["viewer"])
    body = c.get(f"/events/?vue=liste&organisation={filtered['laguiole'].id}").get_data(as_text=True)
    assert f'<option value="{filtered["laguiole"].id}" selected>Office de Laguiole</option>' in body
    assert "Club des guides" in body  # the viewer's group is offered


# -- a private group's events ----------------------------------------------------------------------

@pytest.mark.parametrize("visibility, tab_status", [("private", 403), ("secret", 404)])
def test_a_private_groups_event_never_shows_to_a_non_member(factories, make_user, as_, visibility, tab_status):
    owner = make_user(name="Responsable du comité")
    member = make_user(name="Membre du comité")
    outsider = make_user(name="Hors comité")
    group = factories.group(name="Comité de pilotage", visibility=visibility, join_policy="invitation",
                            owner=owner, members=[member])
    day = paris_day(4)
    event = make_event(owner, "Réunion confidentielle du comité", datetime.combine(day, time(14)), group_id=group.id)
    assert event.status == "published"
    title = "Réunion confidentielle du comité"

    def everywhere(c) -> dict[str, str]:
        return {
            "liste": text(c.get("/events/?vue=liste")),
            "mois": text(c.get(f"/events/?vue=mois&date={day.isoformat()}")),
            "semaine": text(c.get(f"/events/?vue=semaine&date={day.isoformat()}")),
            "filtre groupe": text(c.get(f"/events/?vue=liste&groupe={group.id}")),
            "accueil": text(c.get("/")),
            "fil": text(c.get("/feed/")),
        }

    inside = as_(member)
    for where, page in everywhere(inside).items():
        assert title in page, f"a member should see the group's event in « {where} »"
    assert title in text(inside.get(f"/events/groupe/{group.id}"))
    assert inside.get(f"/events/{event.id}").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == member.id, Notification.type == "events.published")) == 1

    outside = as_(outsider)
    for where, page in everywhere(outside).items():
        assert title not in page, f"a non-member sees the group's event in « {where} »"
    resp = outside.get(f"/events/groupe/{group.id}")
    assert resp.status_code == tab_status
    assert title not in text(resp)
    for url in (f"/events/{event.id}", f"/events/{event.id}/evenement.ics", f"/events/{event.id}/participants"):
        resp = outside.get(url)
        assert resp.status_code == 404 and "Page introuvable" in text(resp), url
    resp = post(outside, f"/events/{event.id}/participation", {"status": "yes"})
    assert resp.status_code == 404
    assert not db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == outsider.id))


# -- bad input: a French message, nothing half-created ----------------------------------------------

BAD_INPUT = [
    ({"end_time": "08:00"}, "La fin doit être après le début."),
    ({"is_all_day": True, "end_date": paris_day(6)}, "La fin est avant le début."),
    ({"tz": "Mars/Olympus"}, "Fuseau horaire inconnu : Mars/Olympus."),
    ({"description": "Programme détaillé. " * 1300}, "La description est trop longue (20"),
    ({"exceptions": f"{paris_day(14):%d/%m/%Y}\nle 3 mars"}, "Date exclue illisible : « le 3 mars » (JJ/MM/AAAA)."),
    ({"registration_url": "www.office-salers.fr/inscription"}, "Adresse web invalide (elle commence par https://)."),
    ({"registration_url": "javascript:alert(1)"}, "Adresse web invalide (elle commence par https://)."),
    ({"start_time": None}, "Indiquez l'heure de début, ou cochez « Toute la journée »."),
    ({"title": "  "}, "Ce champ est obligatoire."),
]


@pytest.mark.parametrize("overrides, message", BAD_INPUT, ids=[
    "end-before-start", "all-day-end-before-start", "unknown-time-zone", "description-over-20000", "bad-exception-date",
    "registration-url-without-scheme", "javascript-registration-url", "no-start-time", "blank-title"])
def test_bad_input_is_refused_with_a_french_message_and_nothing_is_created(
        app, make_user, as_, overrides, message):
    member = make_user(role="animateur")  # published at once if it went through: nothing may
    c = as_(member)
    data = event_form(**{"organization_id": member.organization_id, "title": "Formation interrompue", **overrides})
    data["attachment"] = (io.BytesIO(MINIMAL_PDF), "programme.pdf")
    resp = post(c, "/events/nouveau", data, content_type="multipart/form-data")
    assert resp.status_code == 400, text(resp)[-800:]
    page = text(resp)
    assert message in page
    assert "Proposer un événement" in page  # the form again, to correct
    for model in (Event, Occurrence, EventAttachment):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0, model.__name__
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 0
    assert stored_files(app) == []


def test_a_5_mb_description_is_refused_in_french_and_nothing_is_created(app, make_user, as_):
    member = make_user(role="animateur")
    c = as_(member)
    data = event_form(organization_id=member.organization_id, title="Formation bavarde",
                      description="é" * (5 * 1024 * 1024 // 2), csrf_token=csrf_token(c, "/accounts/profil"))
    # The body as bytes: the test client would spool a large multipart body to a temporary file
    # that it never closes (a ResourceWarning in a later test).
    boundary = "----evenement"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in data.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="attachment"; filename="programme.pdf"\r\n'
                 f"Content-Type: application/pdf\r\n\r\n".encode() + MINIMAL_PDF + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    resp = c.post("/events/nouveau", data=b"".join(parts), content_type=f"multipart/form-data; boundary={boundary}")
    # The form's own French message (text fields may hold 8 MB: MAX_FORM_MEMORY_SIZE), with the
    # title kept in the form for the next try.
    assert resp.status_code == 400
    page = text(resp)
    assert "La description est trop longue (20 000 caractères au plus)." in page
    assert "Formation bavarde" in resp.get_data(as_text=True)
    resp.close()
    for model in (Event, Occurrence, EventAttachment):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0, model.__name__
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 0
    assert stored_files(app) == []


def test_a_refused_attachment_leaves_no_event_behind(app, make_user, as_):
    member = make_user(role="animateur")
    c = as_(member)
    data = event_form(organization_id=member.organization_id, title="Avec un programme douteux")
    data["attachment"] = (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 200), "programme.exe")
    resp = post(c, "/events/nouveau", data, content_type="multipart/form-data")
    assert resp.status_code == 400
    assert "Avec un programme douteux" in resp.get_data(as_text=True)  # what was typed stays
    assert "fichier" in text(resp).lower()
    assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Occurrence)) == 0
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 0
    assert stored_files(app) == []


def test_a_good_event_with_its_programme_is_created_once(app, make_user, as_):
    member = make_user(role="animateur")
    c = as_(member)
    data = event_form(organization_id=member.organization_id, title="Formation avec programme")
    data["attachment"] = (io.BytesIO(MINIMAL_PDF), "programme.pdf")
    resp = post(c, "/events/nouveau", data, content_type="multipart/form-data")
    assert resp.status_code == 302
    event = db.session.scalar(sa.select(Event))
    assert event.title == "Formation avec programme" and len(event.attachments) == 1
    assert len(stored_files(app)) == 1
    page = c.get(resp.headers["Location"])
    assert "programme.pdf" in text(page)
    file = c.get(f"/events/{event.id}/fichiers/{event.attachments[0].id}")
    assert file.status_code == 200 and file.get_data() == MINIMAL_PDF
    file.close()


# -- categories -------------------------------------------------------------------------------------

def test_categories_are_for_admins(make_user, as_, categories):
    for role in ("membre", "animateur"):
        c = as_(make_user(role=role))
        assert c.get("/events/admin/categories").status_code == 403
        resp = post(c, "/events/admin/categories", {"name": "Intrus", "color": "#123456", "position": "9"})
        assert resp.status_code == 403
    assert db.session.scalar(sa.select(Category).where(Category.name == "Intrus")) is None
    page = text(as_(make_user(role="admin")).get("/events/admin/categories"))
    for name in ("Formation", "Manifestation", "Réunion réseau", "Salon", "Webinaire"):
        assert name in page
    assert "#0b5394" in page


def test_an_admin_adds_a_category_with_its_colour_and_a_duplicate_is_refused(make_user, as_, categories, client):
    admin = as_(make_user(role="admin"))
    resp = post(admin, "/events/admin/categories", {"name": "Visite d'entreprise", "color": "#AA3366",
                                                    "position": "6", "is_active": "y"})
    assert resp.status_code == 302
    page = text(admin.get(resp.headers["Location"]))
    assert "Catégorie ajoutée." in page and "Visite d'entreprise" in page and "#aa3366" in page
    css = client.get("/events/categories.css").get_data(as_text=True)
    assert ".event-color-aa3366{background-color:#aa3366;}" in css

    resp = post(admin, "/events/admin/categories", {"name": "Formation", "color": "#000000", "position": "1"})
    assert resp.status_code == 400 and "Cette catégorie existe déjà." in text(resp)
    resp = post(admin, "/events/admin/categories", {"name": "Rouge", "color": "rouge", "position": "1"})
    assert resp.status_code == 400 and "Une couleur comme #1a7f37." in text(resp)
    names = db.session.scalars(sa.select(Category.name)).all()
    assert names.count("Formation") == 1 and "Rouge" not in names

    # The new category is offered in the event form; an inactive one is not.
    form = as_(make_user()).get("/events/nouveau").get_data(as_text=True)
    assert "Visite d&#39;entreprise" in form or "Visite d'entreprise" in form
    salon = categories["Salon"]
    resp = post(admin, f"/events/admin/categories/{salon.id}", {"name": "Salon", "color": "#7e22ce", "position": "4"})
    assert resp.status_code == 302
    form = as_(make_user()).get("/events/nouveau").get_data(as_text=True)
    assert f'value="{salon.id}"' not in form
    # Renaming to an existing name is refused too.
    resp = post(admin, f"/events/admin/categories/{salon.id}", {"name": "Webinaire", "color": "#7e22ce"})
    assert resp.status_code == 400 and "Cette catégorie existe déjà." in text(resp)


def test_the_category_stylesheet_has_every_colour_and_needs_no_login(client, categories):
    resp = client.get("/events/categories.css")
    assert resp.status_code == 200 and resp.mimetype == "text/css"
    css = resp.get_data(as_text=True)
    for color in ("#0b5394", "#b45309", "#15803d", "#7e22ce", "#0e7490"):
        assert f".event-color-{color[1:]}{{background-color:{color};}}" in css
        assert f".event-border-{color[1:]}{{border-left-color:{color};}}" in css
