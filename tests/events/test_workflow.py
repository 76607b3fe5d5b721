"""The calendar's workflow through HTTP: proposing, validating, asking for changes, refusing,
re-validation after a change, who may edit, delete and cancel, the notifications each step sends;
participation with a waiting list, the participants' list and its CSV export, the day-before
reminder."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, time, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from intranet.core.notifications import Notification
from intranet.core.settings import set_setting
from intranet.core.timeutil import PARIS
from intranet.events.models import Event, Participation
from intranet.events.notifications import send_reminders
from intranet.events.services import ORG_EDIT_SETTING, REVALIDATE_SETTING
from intranet.extensions import db
from tests.events.conftest import event_form, make_event, paris_day, post, text


@pytest.fixture
def people(make_org, make_user):
    """An office (the proposer and a colleague), another office, the agency (an animateur, an admin)."""
    office = make_org(name="Office de tourisme du Pays de Salers")
    other_office = make_org(name="Office de tourisme de Mauriac")
    agency = make_org(name="Agence départementale")
    return SimpleNamespace(
        office=office, other_office=other_office,
        proposer=make_user(name="Paule Proposante", organization=office),
        colleague=make_user(name="Colin Collègue", organization=office),
        other=make_user(name="Octave Ailleurs", organization=other_office),
        animateur=make_user(name="Anne Animatrice", role="animateur", organization=agency),
        admin=make_user(name="Adèle Admin", role="admin", organization=agency),
    )


def notifications(user, type_key: str) -> list[Notification]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Notification).where(
        Notification.user_id == user.id, Notification.type == type_key).order_by(Notification.id)))


def event_named(title: str) -> Event | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Event).where(Event.title == title))


def calendars(c, day) -> dict[str, str]:
    """The visible text of every place a person finds events: month, week, list, dashboard."""
    return {
        "mois": text(c.get(f"/events/?vue=mois&date={day.isoformat()}")),
        "semaine": text(c.get(f"/events/?vue=semaine&date={day.isoformat()}")),
        "liste": text(c.get("/events/?vue=liste")),
        "accueil": text(c.get("/")),
    }


def propose(c, org, **fields):
    """The proposer fills the form and sends it; returns the redirect's target page."""
    resp = post(c, "/events/nouveau", event_form(organization_id=org.id, **fields))
    assert resp.status_code == 302, text(resp)[-1500:]
    return c.get(resp.headers["Location"])


# -- proposing and validating --------------------------------------------------------------------

def test_a_members_proposal_waits_for_validation_hidden_from_others_but_shown_to_the_proposer(people, as_):
    proposer = as_(people.proposer)
    page = propose(proposer, people.office, title="Formation accueil numérique")
    assert page.status_code == 200
    assert "Merci ! Votre événement attend la validation de l'agence ; vous serez prévenu." in text(page)
    assert "En attente de validation" in text(page)
    event = event_named("Formation accueil numérique")
    assert event.status == "pending" and event.organization_id == people.office.id
    assert event.author_id == people.proposer.id

    other = as_(people.other)
    for where, page_text in calendars(other, paris_day(7)).items():
        assert "Formation accueil numérique" not in page_text, f"a waiting event shows in « {where} »"
    assert other.get(f"/events/{event.id}").status_code == 404
    # Nor in the animateur's calendars: not published yet; but it is on their « À valider » page.
    animateur = as_(people.animateur)
    assert "Formation accueil numérique" not in calendars(animateur, paris_day(7))["mois"]
    to_validate = text(animateur.get("/events/a-valider"))
    assert "Formation accueil numérique" in to_validate and "proposé par Paule Proposante" in to_validate
    assert "Office de tourisme du Pays de Salers" in to_validate

    # The proposer sees their own event's page with its status.
    own = text(proposer.get(f"/events/{event.id}"))
    assert "Formation accueil numérique" in own and "En attente de validation" in own


def test_the_validation_queue_shows_the_description_with_its_lines_and_list(people, as_):
    propose(as_(people.proposer), people.office, title="Atelier réseaux sociaux",
            description="Au programme :\n- cadrage\n- atelier **pratique**")
    page = as_(people.animateur).get("/events/a-valider").get_data(as_text=True)
    shown = page.split("data-excerpt>", 1)[1].split("</p>", 1)[0]
    assert shown == "Au programme :\n• cadrage\n• atelier pratique"
    assert 'class="mb-0 text-pre"' in page  # shown with white-space: pre-line


def test_animateurs_are_told_that_an_event_waits_for_them(people, as_):
    propose(as_(people.proposer), people.office, title="Salon des offices")
    for person in (people.animateur, people.admin):
        [note] = notifications(person, "events.to_validate")
        assert note.context["title"] == "Salon des offices"
    assert not notifications(people.other, "events.to_validate")
    assert not notifications(people.proposer, "events.to_validate")
    bell = text(as_(people.animateur).get("/notifications/"))
    assert "Paule Proposante propose « Salon des offices » : à valider" in bell


def test_validating_publishes_the_event_tells_the_proposer_and_the_network_and_feeds_it(people, as_, outbox):
    proposer = as_(people.proposer)
    propose(proposer, people.office, title="Journée réseau à Salers")
    event = event_named("Journée réseau à Salers")
    animateur = as_(people.animateur)
    resp = post(animateur, f"/events/{event.id}/valider")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/events/a-valider")
    page = text(animateur.get(resp.headers["Location"]))
    assert "Événement validé et publié ; le proposant est prévenu." in page
    assert "Aucun événement n'attend de validation." in page

    assert event_named("Journée réseau à Salers").status == "published"
    [validated] = notifications(people.proposer, "events.validated")
    assert validated.context["title"] == "Journée réseau à Salers"
    assert any(m.to_addr == people.proposer.email and "Journée réseau à Salers" in m.subject
               and "publié" in m.subject for m in outbox())
    for person in (people.other, people.colleague):
        assert notifications(person, "events.published"), person.name

    other = as_(people.other)
    for where, page_text in calendars(other, paris_day(7)).items():
        assert "Journée réseau à Salers" in page_text, f"the published event is missing from « {where} »"
    feed = text(other.get("/feed/"))
    assert "Événement :" in feed and "Journée réseau à Salers" in feed
    assert other.get(f"/events/{event.id}").status_code == 200


def test_asking_for_changes_needs_a_note_then_the_proposer_edits_and_it_waits_again(people, as_):
    proposer = as_(people.proposer)
    propose(proposer, people.office, title="Atelier photo")
    event = event_named("Atelier photo")
    animateur = as_(people.animateur)

    resp = post(animateur, f"/events/{event.id}/modifications", {"note": "   "})
    assert resp.status_code == 302
    assert "Écrivez un mot pour le proposant : il le recevra." in text(animateur.get(resp.headers["Location"]))
    assert event_named("Atelier photo").status == "pending"
    assert not notifications(people.proposer, "events.changes_requested")

    resp = post(animateur, f"/events/{event.id}/modifications", {"note": "Précisez le tarif, s'il vous plaît."})
    assert resp.status_code == 302
    assert "Demande de modifications envoyée au proposant." in text(animateur.get(resp.headers["Location"]))
    assert event_named("Atelier photo").status == "changes_requested"
    [asked] = notifications(people.proposer, "events.changes_requested")
    assert asked.context["note"] == "Précisez le tarif, s'il vous plaît."
    assert "Modifications demandées pour « Atelier photo » : Précisez le tarif, s'il vous plaît." \
        in text(proposer.get("/notifications/"))
    page = text(proposer.get(f"/events/{event.id}"))
    assert "Modifications demandées" in page
    assert "Message de l'agence : Précisez le tarif, s'il vous plaît." in page
    # Still nowhere for the others.
    assert "Atelier photo" not in calendars(as_(people.other), paris_day(7))["liste"]

    assert proposer.get(f"/events/{event.id}/modifier").status_code == 200
    resp = post(proposer, f"/events/{event.id}/modifier",
                event_form(organization_id=people.office.id, title="Atelier photo", price_kind="amount",
                           price_amount="15"))
    assert resp.status_code == 302
    event = event_named("Atelier photo")
    assert event.status == "pending"
    assert str(event.price_amount) == "15.00"
    assert len(notifications(people.animateur, "events.to_validate")) == 2  # proposed, then answered
    assert "Atelier photo" in text(animateur.get("/events/a-valider"))


def test_refusing_needs_a_reason_and_tells_the_proposer_why(people, as_):
    proposer = as_(people.proposer)
    propose(proposer, people.office, title="Vide-grenier")
    event = event_named("Vide-grenier")
    animateur = as_(people.animateur)

    resp = post(animateur, f"/events/{event.id}/refuser", {"note": ""})
    assert "Écrivez un mot pour le proposant : il le recevra." in text(animateur.get(resp.headers["Location"]))
    assert event_named("Vide-grenier").status == "pending"

    resp = post(animateur, f"/events/{event.id}/refuser", {"note": "Hors du champ du réseau professionnel."})
    assert "Événement refusé ; le proposant reçoit la raison." in text(animateur.get(resp.headers["Location"]))
    assert event_named("Vide-grenier").status == "refused"
    [refused] = notifications(people.proposer, "events.refused")
    assert refused.context["note"] == "Hors du champ du réseau professionnel."
    assert "Votre événement « Vide-grenier » est refusé : Hors du champ du réseau professionnel." \
        in text(proposer.get("/notifications/"))
    page = text(proposer.get(f"/events/{event.id}"))
    assert "Refusé" in page and "Hors du champ du réseau professionnel." in page
    assert as_(people.other).get(f"/events/{event.id}").status_code == 404
    assert "Vide-grenier" not in text(animateur.get("/events/a-valider"))
    # A refused event cannot be validated any more without being proposed again.
    resp = post(animateur, f"/events/{event.id}/valider")
    assert "Cet événement n'est pas en attente de validation." in text(animateur.get(resp.headers["Location"]))
    assert event_named("Vide-grenier").status == "refused"


def test_an_animateurs_own_event_is_published_at_once(people, as_):
    page = propose(as_(people.animateur), people.office, title="Webinaire de rentrée")
    assert "Événement publié dans l'agenda." in text(page)
    assert event_named("Webinaire de rentrée").status == "published"
    assert not notifications(people.admin, "events.to_validate")
    assert notifications(people.other, "events.published")
    assert "Webinaire de rentrée" in calendars(as_(people.other), paris_day(7))["liste"]


def test_a_member_cannot_propose_for_another_organization(people, as_):
    c = as_(people.proposer)
    resp = post(c, "/events/nouveau", event_form(organization_id=people.other_office.id, title="Usurpation"))
    assert resp.status_code == 403
    assert "Accès refusé" in text(resp)
    assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 0
    # The form only offers their own organization.
    form = c.get("/events/nouveau").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="organization_id".*?</select>', form, re.S).group(0)
    assert "Office de tourisme du Pays de Salers" in select and "Office de tourisme de Mauriac" not in select


# -- changes to a published event ----------------------------------------------------------------

@pytest.fixture
def published(people):
    """An event the proposer's office published (validated earlier), next week."""
    day = paris_day(7)
    event = make_event(people.proposer, "Rencontre des offices", datetime.combine(day, time(9)),
                       datetime.combine(day, time(12)), organization=people.office,
                       place="Maison du tourisme", commune="Salers", description="Ordre du jour à venir.")
    return event


def edit_form(event, **changes) -> dict:
    start = event.start_local
    base = dict(organization_id=event.organization_id, title=event.title, description=event.description,
                start_date=start.date(), start_time=start.time(), end_date=event.end_local.date(),
                end_time=event.end_local.time(), place=event.place, commune=event.commune)
    base.update(changes)
    return event_form(**base)


@pytest.mark.parametrize("change", [
    {"title": "Rencontre des offices (nouvelle formule)"},
    {"start_date": paris_day(8), "end_date": paris_day(8)},
    {"start_time": time(14), "end_time": time(17)},
    {"place": "Salle des fêtes"},
], ids=["title", "date", "time", "place"])
def test_an_office_changing_title_date_or_place_sends_the_published_event_back_to_validation(
        people, published, as_, change):
    colleague = as_(people.colleague)
    resp = post(colleague, f"/events/{published.id}/modifier", edit_form(published, **change))
    assert resp.status_code == 302
    assert "Modifications enregistrées ; l'événement repasse en validation." \
        in text(colleague.get(resp.headers["Location"]))
    event = db.session.get(Event, published.id)
    db.session.refresh(event)
    assert event.status == "pending"
    assert notifications(people.animateur, "events.to_validate")
    assert "Rencontre des offices" not in calendars(as_(people.other), paris_day(7))["liste"]
    assert "Rencontre des offices" not in text(as_(people.other).get("/feed/"))


def test_changing_only_the_description_keeps_the_event_published(people, published, as_):
    colleague = as_(people.colleague)
    resp = post(colleague, f"/events/{published.id}/modifier",
                edit_form(published, description="Ordre du jour : accueil, **numérique**, questions."))
    assert "Modifications enregistrées." in text(colleague.get(resp.headers["Location"]))
    event = event_named("Rencontre des offices")
    assert event.status == "published" and "accueil, **numérique**" in event.description
    assert not notifications(people.animateur, "events.to_validate")
    page = as_(people.other).get(f"/events/{published.id}").get_data(as_text=True)
    assert "Ordre du jour : accueil, <strong>numérique</strong>, questions." in page


def test_with_revalidation_off_a_changed_event_stays_published(people, published, as_):
    set_setting(REVALIDATE_SETTING, False)
    db.session.commit()
    colleague = as_(people.colleague)
    resp = post(colleague, f"/events/{published.id}/modifier",
                edit_form(published, title="Rencontre des offices et des partenaires", place="Salle des fêtes"))
    assert "Modifications enregistrées." in text(colleague.get(resp.headers["Location"]))
    event = event_named("Rencontre des offices et des partenaires")
    assert event.status == "published" and event.place == "Salle des fêtes"
    assert not notifications(people.animateur, "events.to_validate")
    assert "Rencontre des offices et des partenaires" in calendars(as_(people.other), paris_day(7))["liste"]


def test_an_animateur_changing_the_date_keeps_it_published(people, published, as_):
    resp = post(as_(people.animateur), f"/events/{published.id}/modifier",
                edit_form(published, start_date=paris_day(9), end_date=paris_day(9)))
    assert resp.status_code == 302
    assert event_named("Rencontre des offices").status == "published"


@pytest.mark.parametrize("who, status", [
    ("proposer", 200), ("colleague", 200), ("animateur", 200), ("admin", 200), ("other", 403),
])
def test_who_may_edit_a_published_event(people, published, as_, who, status):
    c = as_(getattr(people, who))
    assert c.get(f"/events/{published.id}/modifier").status_code == status
    resp = post(c, f"/events/{published.id}/modifier", edit_form(published, title="Titre changé"))
    assert resp.status_code == (302 if status == 200 else 403)
    assert (event_named("Titre changé") is not None) == (status == 200)
    # The « Modifier » button is offered to exactly those people.
    page = c.get(f"/events/{published.id}").get_data(as_text=True)
    assert (f'href="/events/{published.id}/modifier"' in page) == (status == 200)


@pytest.mark.parametrize("who, allowed", [
    ("proposer", True), ("colleague", True), ("animateur", True), ("other", False),
])
def test_who_may_delete_an_event(people, published, as_, who, allowed):
    c = as_(getattr(people, who))
    resp = post(c, f"/events/{published.id}/supprimer")
    if allowed:
        assert resp.status_code == 302
        assert "Événement supprimé." in text(c.get(resp.headers["Location"]))
        assert event_named("Rencontre des offices") is None
        assert "Rencontre des offices" not in text(as_(people.other).get("/feed/"))
    else:
        assert resp.status_code == 403
        assert event_named("Rencontre des offices") is not None


def test_with_organization_editing_off_colleagues_get_403_but_the_proposer_and_animateurs_still_edit(
        people, published, as_):
    set_setting(ORG_EDIT_SETTING, False)
    db.session.commit()
    colleague = as_(people.colleague)
    assert colleague.get(f"/events/{published.id}/modifier").status_code == 403
    assert post(colleague, f"/events/{published.id}/modifier", edit_form(published, title="Non")).status_code == 403
    assert post(colleague, f"/events/{published.id}/supprimer").status_code == 403
    assert post(colleague, f"/events/{published.id}/annuler").status_code == 403
    assert as_(people.proposer).get(f"/events/{published.id}/modifier").status_code == 200
    assert as_(people.animateur).get(f"/events/{published.id}/modifier").status_code == 200
    assert event_named("Rencontre des offices").status == "published"


def test_cancelling_keeps_the_event_visible_as_cancelled_and_tells_the_participants(people, published, as_):
    for person, status in ((people.other, "yes"), (people.admin, "maybe")):
        post(as_(person), f"/events/{published.id}/participation", {"status": status})
    declined = people.colleague
    post(as_(declined), f"/events/{published.id}/participation", {"status": "no"})

    proposer = as_(people.proposer)
    resp = post(proposer, f"/events/{published.id}/annuler")
    assert resp.status_code == 302
    assert "Événement annulé : il reste affiché « Annulé » et les participants sont prévenus." \
        in text(proposer.get(resp.headers["Location"]))
    assert event_named("Rencontre des offices").status == "cancelled"

    other = as_(people.other)
    month = text(other.get(f"/events/?vue=mois&date={paris_day(7).isoformat()}"))
    assert "Rencontre des offices (Annulé)" in month
    page = text(other.get(f"/events/{published.id}"))
    assert "Annulé" in page and "Cet événement est annulé." in page
    assert "Participez-vous ?" not in page  # no more answers
    assert "Rencontre des offices" in text(other.get("/feed/")) and "Annulé" in text(other.get("/feed/"))

    for person in (people.other, people.admin):
        [note] = notifications(person, "events.cancelled")
        assert note.context["title"] == "Rencontre des offices"
    assert not notifications(declined, "events.cancelled")
    assert "« Rencontre des offices » est annulé" in text(other.get("/notifications/"))
    # Once cancelled: no editing, and no cancelling twice.
    assert proposer.get(f"/events/{published.id}/modifier").status_code == 403
    resp = post(proposer, f"/events/{published.id}/annuler")
    assert "Seul un événement publié peut être annulé." in text(proposer.get(resp.headers["Location"]))


def test_editing_a_published_event_tells_its_participants(people, published, as_):
    post(as_(people.other), f"/events/{published.id}/participation", {"status": "yes"})
    post(as_(people.colleague), f"/events/{published.id}/participation", {"status": "no"})
    resp = post(as_(people.animateur), f"/events/{published.id}/modifier",
                edit_form(published, place="Salle des fêtes", commune="Salers"))
    assert resp.status_code == 302
    [changed] = notifications(people.other, "events.changed")
    assert changed.context["title"] == "Rencontre des offices"
    assert not notifications(people.colleague, "events.changed")
    assert "« Rencontre des offices » a changé : vérifiez la date et le lieu" \
        in text(as_(people.other).get("/notifications/"))


# -- participation ----------------------------------------------------------------------------------

def test_participation_answers_are_recorded_and_shown(people, published, as_):
    c = as_(people.other)
    page = c.get(f"/events/{published.id}").get_data(as_text=True)
    for label in ("Je participe", "Peut-être", "Je ne participe pas"):
        assert label in page
    for status, pressed in (("yes", "Je participe"), ("maybe", "Peut-être"), ("no", "Je ne participe pas")):
        resp = post(c, f"/events/{published.id}/participation", {"status": status})
        assert resp.status_code == 302
        html = c.get(resp.headers["Location"]).get_data(as_text=True)
        assert "Réponse enregistrée." in html
        buttons = re.findall(r'<button[^>]*value="(\w+)"[^>]*aria-pressed="true"[^>]*>([^<]*)<', html)
        assert buttons == [(status, pressed)]
        db.session.expire_all()
        assert db.session.get(Participation, (published.id, people.other.id)).status == status
    post(as_(people.colleague), f"/events/{published.id}/participation", {"status": "yes"})
    post(as_(people.admin), f"/events/{published.id}/participation", {"status": "maybe"})
    assert "1 participe, 1 peut-être" in text(c.get(f"/events/{published.id}"))
    resp = post(c, f"/events/{published.id}/participation", {"status": "bof"})
    assert "Réponse inconnue." in text(c.get(resp.headers["Location"]))


def test_no_answer_to_an_event_that_waits_for_validation(people, as_):
    propose(as_(people.proposer), people.office, title="En attente")
    event = event_named("En attente")
    c = as_(people.colleague)  # may see it (same office), may not answer yet
    resp = post(c, f"/events/{event.id}/participation", {"status": "yes"})
    assert "On ne peut plus répondre : l'événement n'est pas ouvert." in text(c.get(resp.headers["Location"]))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Participation)) == 0


def test_beyond_the_capacity_answers_go_on_a_waiting_list_and_a_freed_place_goes_to_the_first_waiting(
        people, as_, make_user):
    event = make_event(people.proposer, "Formation limitée", organization=people.office, capacity=2)
    first, second, third, fourth = (make_user(name=f"Inscrit {n}") for n in range(1, 5))
    clients = {p.id: as_(p) for p in (first, second, third, fourth)}
    for person in (first, second):
        resp = post(clients[person.id], f"/events/{event.id}/participation", {"status": "yes"})
        assert "Réponse enregistrée." in text(clients[person.id].get(resp.headers["Location"]))
    resp = post(clients[third.id], f"/events/{event.id}/participation", {"status": "yes"})
    page = text(clients[third.id].get(resp.headers["Location"]))
    assert "L'événement est complet : vous êtes sur la liste d'attente." in page
    assert "Vous êtes sur la liste d'attente." in text(clients[third.id].get(f"/events/{event.id}"))
    post(clients[fourth.id], f"/events/{event.id}/participation", {"status": "yes"})
    assert "2 sur 2 · 2 en liste d'attente" in text(clients[first.id].get(f"/events/{event.id}"))

    def waiting(person):
        db.session.expire_all()
        return db.session.get(Participation, (event.id, person.id)).is_waiting

    assert [waiting(p) for p in (first, second, third, fourth)] == [False, False, True, True]
    # Clicking « Je participe » again while waiting keeps one's turn.
    resp = post(clients[third.id], f"/events/{event.id}/participation", {"status": "yes"})
    assert "L'événement est complet : vous êtes sur la liste d'attente." \
        in text(clients[third.id].get(resp.headers["Location"]))
    post(clients[first.id], f"/events/{event.id}/participation", {"status": "no"})
    assert [waiting(p) for p in (second, third, fourth)] == [False, False, True]
    assert "Vous êtes sur la liste d'attente." not in text(clients[third.id].get(f"/events/{event.id}"))
    assert "2 sur 2 · 1 en liste d'attente" in text(clients[third.id].get(f"/events/{event.id}"))
    # Answering « Je participe » again does not jump the queue: back at its end.
    post(clients[first.id], f"/events/{event.id}/participation", {"status": "yes"})
    assert waiting(first) and not waiting(third)


def test_the_participants_list_is_for_organizers_and_animateurs(people, published, as_):
    post(as_(people.other), f"/events/{published.id}/participation", {"status": "yes"})
    post(as_(people.admin), f"/events/{published.id}/participation", {"status": "maybe"})
    for person in (people.proposer, people.colleague, people.animateur, people.admin):
        page = text(as_(person).get(f"/events/{published.id}/participants"))
        assert "Octave Ailleurs" in page and "Je participe" in page
        assert "Adèle Admin" in page and "Peut-être" in page
    other = as_(people.other)
    for url in (f"/events/{published.id}/participants", f"/events/{published.id}/participants.csv"):
        resp = other.get(url)
        assert resp.status_code == 403 and "Accès refusé" in text(resp)
    assert "Participants" not in text(other.get(f"/events/{published.id}"))


def test_participants_csv_has_semicolons_a_bom_french_headers_accents_and_no_formulas(
        people, published, as_, make_user):
    accented = make_user(name="Éloïse Müller-Gérard", organization=people.other_office)
    formula = make_user(name="=HYPERLINK(\"http://evil.example\",\"clic\")", organization=people.other_office)
    post(as_(accented), f"/events/{published.id}/participation", {"status": "yes"})
    post(as_(formula), f"/events/{published.id}/participation", {"status": "maybe"})
    resp = as_(people.proposer).get(f"/events/{published.id}/participants.csv")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"  # once (mimetype= doubled it)
    assert resp.headers["Content-Disposition"] == f'attachment; filename="participants-{published.id}.csv"'
    raw = resp.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8 accents right
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Nom", "Organisation", "E-mail", "Réponse", "Liste d'attente", "Répondu le"]
    by_mail = {r[2]: r for r in rows[1:]}
    assert by_mail[accented.email][:5] == ["Éloïse Müller-Gérard", "Office de tourisme de Mauriac", accented.email,
                                          "Je participe", "non"]
    assert by_mail[formula.email][0] == "'=HYPERLINK(\"http://evil.example\",\"clic\")"
    assert by_mail[formula.email][3] == "Peut-être"
    datetime.strptime(by_mail[accented.email][5], "%d/%m/%Y %H:%M")
    assert b";" in raw.splitlines()[0]


# -- reminder -------------------------------------------------------------------------------------

def paris(day, hour: int) -> datetime:
    return datetime.combine(day, time(hour), PARIS)


def test_the_reminder_goes_the_day_before_after_8_once_per_occurrence_to_those_who_come(
        people, as_, make_user, outbox):
    tomorrow = paris_day(1)
    event = make_event(people.proposer, "Formation de demain", datetime.combine(tomorrow, time(10)),
                       organization=people.office, capacity=2)
    later = make_event(people.proposer, "Dans deux jours", datetime.combine(paris_day(2), time(10)),
                       organization=people.office)
    coming, maybe, no, waiting = (make_user(name=n) for n in ("Vient", "Peut-être", "Non", "Attend"))
    for person, status in ((coming, "yes"), (maybe, "maybe"), (no, "no"), (waiting, "yes")):
        post(as_(person), f"/events/{event.id}/participation", {"status": status})
    post(as_(coming), f"/events/{later.id}/participation", {"status": "yes"})
    post(as_(people.other), f"/events/{event.id}/participation", {"status": "yes"})  # takes the 2nd place
    db.session.expire_all()
    assert db.session.get(Participation, (event.id, waiting.id)).is_waiting is False  # answered before
    assert db.session.get(Participation, (event.id, people.other.id)).is_waiting is True

    today = paris_day(0)
    assert send_reminders(now=paris(today, 7)) == 0  # too early: nobody is woken up at night
    assert not notifications(coming, "events.reminder")

    assert send_reminders(now=paris(today, 9)) == 3
    for person in (coming, maybe, waiting):
        [reminder] = notifications(person, "events.reminder")
        assert reminder.context["title"] == "Formation de demain"
    for person in (no, people.other):
        assert not notifications(person, "events.reminder")
    assert [n.context["title"] for n in notifications(coming, "events.reminder")] == ["Formation de demain"]
    assert any(m.to_addr == coming.email and m.subject.endswith("Rappel : Formation de demain, demain")
               for m in outbox())
    assert "Rappel : « Formation de demain » a lieu demain" in text(as_(coming).get("/notifications/"))

    # Every 15 minutes the worker runs again: the same occurrence is not reminded twice.
    assert send_reminders(now=paris(today, 9) + timedelta(minutes=15)) == 0
    assert send_reminders(now=paris(today, 18)) == 0
    assert len(notifications(coming, "events.reminder")) == 1


def test_a_weekly_event_is_reminded_once_for_each_occurrence(people, make_user, as_):
    tomorrow = paris_day(1)
    event = make_event(people.proposer, "Point hebdomadaire", datetime.combine(tomorrow, time(9)),
                       organization=people.office, rrule="FREQ=WEEKLY;COUNT=3")
    person = make_user()
    post(as_(person), f"/events/{event.id}/participation", {"status": "yes"})
    assert send_reminders(now=paris(paris_day(0), 8)) == 1
    assert send_reminders(now=paris(paris_day(0), 20)) == 0
    assert send_reminders(now=paris(paris_day(7), 8)) == 1
    assert send_reminders(now=paris(paris_day(7), 9)) == 0
    assert len(notifications(person, "events.reminder")) == 2


def test_no_reminder_for_a_cancelled_event(people, make_user, as_):
    event = make_event(people.proposer, "Annulée demain", datetime.combine(paris_day(1), time(10)),
                       organization=people.office)
    person = make_user()
    post(as_(person), f"/events/{event.id}/participation", {"status": "yes"})
    post(as_(people.proposer), f"/events/{event.id}/annuler")
    assert send_reminders(now=paris(paris_day(0), 10)) == 0
    assert not notifications(person, "events.reminder")


def test_every_validation_decision_is_in_the_audit_log(people, as_, make_user):
    from intranet.core.models import AuditEntry

    proposer, animateur = as_(people.proposer), as_(people.animateur)
    for title in ("Atelier A", "Atelier B", "Atelier C"):
        propose(proposer, people.office, title=title)
    post(animateur, f"/events/{event_named('Atelier A').id}/valider")
    post(animateur, f"/events/{event_named('Atelier B').id}/modifications", {"note": "Précisez le lieu"})
    post(animateur, f"/events/{event_named('Atelier C').id}/refuser", {"note": "Doublon"})
    db.session.expire_all()
    rows = db.session.execute(sa.select(AuditEntry.action, AuditEntry.target_id, AuditEntry.actor_id)
                              .where(AuditEntry.action.like("event.%")).order_by(AuditEntry.id)).all()
    assert rows == [("event.validate", event_named("Atelier A").id, people.animateur.id),
                    ("event.request_changes", event_named("Atelier B").id, people.animateur.id),
                    ("event.refuse", event_named("Atelier C").id, people.animateur.id)]
    journal = text(as_(make_user(role="admin")).get("/admin/journal"))
    assert "Événement validé" in journal and "Événement refusé" in journal and "Atelier C : Doublon" in journal


def test_a_member_follows_their_proposals_on_their_own_page(people, as_):
    proposer, animateur = as_(people.proposer), as_(people.animateur)
    for title in ("Éductour des Monts", "Salon du chocolat", "Balade contée"):
        propose(proposer, people.office, title=title)
    propose(as_(people.colleague), people.office, title="Proposition d'une autre personne")
    post(animateur, f"/events/{event_named('Éductour des Monts').id}/valider")
    post(animateur, f"/events/{event_named('Salon du chocolat').id}/refuser", {"note": "Hors du territoire"})
    assert "Mes propositions" in text(proposer.get("/events/"))
    page = text(proposer.get("/events/mes-propositions"))
    assert "Proposition d'une autre personne" not in page
    # The one still waiting first, then the answered ones, each with where it stands.
    assert page.index("Balade contée") < page.index("Salon du chocolat")
    assert page.index("Balade contée") < page.index("Éductour des Monts")
    assert "En attente de validation" in page and "Refusé" in page and "Publié" in page
    assert "Le mot de l'agence : Hors du territoire" in page
