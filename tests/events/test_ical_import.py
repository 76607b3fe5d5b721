"""Importing a .ics file (/events/importer, animateurs only): upload → preview table → confirm
creates every event, published. A damaged file, a file that is not a calendar, an event without
a start or with a bad rule, a file too big: a clear French error and nothing created, never half
an import.
"""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from intranet.events.models import Event, Occurrence
from intranet.extensions import db
from tests.conftest import csrf_token
from tests.events.conftest import text
from tests.events.test_recurrence import month_cells

PARIS_TZ = """BEGIN:VTIMEZONE\r
TZID:Europe/Paris\r
X-LIC-LOCATION:Europe/Paris\r
BEGIN:DAYLIGHT\r
TZOFFSETFROM:+0100\r
TZOFFSETTO:+0200\r
TZNAME:CEST\r
DTSTART:19700329T020000\r
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r
END:DAYLIGHT\r
BEGIN:STANDARD\r
TZOFFSETFROM:+0200\r
TZOFFSETTO:+0100\r
TZNAME:CET\r
DTSTART:19701025T030000\r
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r
END:STANDARD\r
END:VTIMEZONE\r
"""

MARTINIQUE_TZ = """BEGIN:VTIMEZONE\r
TZID:America/Martinique\r
X-LIC-LOCATION:America/Martinique\r
BEGIN:STANDARD\r
TZOFFSETFROM:-0400\r
TZOFFSETTO:-0400\r
TZNAME:AST\r
DTSTART:19700101T000000\r
END:STANDARD\r
END:VTIMEZONE\r
"""


def calendar(*events: str, zones: str = PARIS_TZ + MARTINIQUE_TZ) -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\n"
            "CALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\nX-WR-CALNAME:Agenda de l'office\r\n"
            + zones + "".join(events) + "END:VCALENDAR\r\n")


def vevent(uid: str, *lines: str) -> str:
    return ("BEGIN:VEVENT\r\n" f"UID:{uid}@google.com\r\n" "DTSTAMP:20261120T100000Z\r\n"
            + "".join(f"{line}\r\n" for line in lines) + "END:VEVENT\r\n")


SINGLE = vevent("formation", "DTSTART;TZID=Europe/Paris:20270112T090000",
                "DTEND;TZID=Europe/Paris:20270112T120000", "SUMMARY:Formation Excel \\; niveau 1\\, débutants",
                "DESCRIPTION:Apportez votre portable.\\nSalle C:\\\\formation 🎓",
                "LOCATION:Maison du tourisme\\, Aurillac")
WEEKLY = vevent("hebdo", "DTSTART;TZID=Europe/Paris:20270302T140000", "DTEND;TZID=Europe/Paris:20270302T150000",
                "RRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL=20270413T215959Z",
                "EXDATE;TZID=Europe/Paris:20270316T140000", "SUMMARY:Réunion hebdomadaire")
ALL_DAY = vevent("salon", "DTSTART;VALUE=DATE:20270520", "DTEND;VALUE=DATE:20270522",
                 "SUMMARY:Salon du tourisme vert", "LOCATION:Saint-Flour")
MARTINIQUE = vevent("antilles", "DTSTART;TZID=America/Martinique:20270204T183000",
                    "DTEND;TZID=America/Martinique:20270204T200000", "SUMMARY:Rencontre en Martinique")
IN_UTC = vevent("utc", "DTSTART:20270210T130000Z", "DTEND:20270210T140000Z", "SUMMARY:Webinaire en UTC")
VALID = calendar(SINGLE, WEEKLY, ALL_DAY, MARTINIQUE, IN_UTC)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def upload(c, content: bytes | str, filename: str = "agenda.ics", category_id: int | None = None,
           content_type: str = "text/calendar"):
    if isinstance(content, str):
        content = content.encode("utf-8")
    data = {"csrf_token": csrf_token(c, "/events/importer"),
            "file": FileStorage(io.BytesIO(content), filename=filename, content_type=content_type)}
    if category_id is not None:
        data["category_id"] = str(category_id)
    # Encoded in memory: the test client would spool a big body to a temporary file it never
    # closes (a ResourceWarning, an error here).
    boundary, body = encode_multipart(data)
    return c.post("/events/importer", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def preview_rows(resp) -> list[list[str]]:
    """The preview table: one list of cell texts a row (title, start, place, repetition, problem)."""
    body = resp.get_data(as_text=True)
    assert "<tbody>" in body, "no preview table"
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>", 1)[1].split("</tbody>", 1)[0], flags=re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        rows.append([" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells])
    return rows


def carried_content(resp) -> str:
    """The file's text as the preview page carries it to the confirmation (a hidden textarea)."""
    body = resp.get_data(as_text=True)
    match = re.search(r'<textarea name="content"[^>]*>(.*?)</textarea>', body, flags=re.S)
    assert match, "no confirmation form"
    return html.unescape(match.group(1))


def confirm(c, content: str, category_id: int):
    return c.post("/events/importer", data={"csrf_token": csrf_token(c, "/events/importer"), "confirm": "1",
                                            "content": content, "category_id": str(category_id)})


def error_text(resp) -> str:
    match = re.search(r'<div class="alert alert-danger" role="alert">(.*?)</div>', resp.get_data(as_text=True),
                      flags=re.S)
    assert match, "no error message on the page"
    return html.unescape(match.group(1)).strip()


def nothing_created() -> bool:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count(Event.id))) == 0 and \
        db.session.scalar(sa.select(sa.func.count()).select_from(Occurrence)) == 0


def occurrence_starts(event) -> list[datetime]:
    return list(db.session.scalars(sa.select(Occurrence.start_at).where(Occurrence.event_id == event.id)
                                   .order_by(Occurrence.start_at)))


@pytest.fixture
def animateur(make_user):
    return make_user(role="animateur")


@pytest.fixture
def anim_client(as_, animateur):
    return as_(animateur)


# -- the journey ----------------------------------------------------------------------------------

def test_ics_import_previews_every_event_then_confirm_creates_them_all_published(app, anim_client, animateur,
                                                                               categories):
    page = text(anim_client.get("/events/importer"))
    assert "Importer des événements (.ics)" in page and "Voir l'aperçu" in page

    category = categories["Formation"]
    resp = upload(anim_client, VALID, category_id=category.id)
    assert resp.status_code == 200
    assert "Aperçu : 5 événements" in text(resp)
    assert preview_rows(resp) == [
        ["Formation Excel ; niveau 1, débutants", "12/01/2027 09:00", "Maison du tourisme, Aurillac", "non", "",
         "nouveau"],
        ["Réunion hebdomadaire", "02/03/2027 14:00", "", "oui", "", "nouveau"],
        ["Salon du tourisme vert", "20/05/2027", "Saint-Flour", "non", "", "nouveau"],
        ["Rencontre en Martinique", "04/02/2027 18:30", "", "non", "", "nouveau"],
        ["Webinaire en UTC", "10/02/2027 14:00", "", "non", "", "nouveau"],
    ]
    assert "Confirmer l'import" in text(resp)
    assert nothing_created()  # a preview creates nothing

    resp = confirm(anim_client, carried_content(resp), category.id)
    assert resp.status_code == 302
    assert "/events/?vue=liste" in resp.location
    assert "Import terminé : 5 nouveaux." in text(anim_client.get(resp.location))

    db.session.expire_all()
    events = {e.title: e for e in db.session.scalars(sa.select(Event))}
    assert set(events) == {"Formation Excel ; niveau 1, débutants", "Réunion hebdomadaire", "Salon du tourisme vert",
                           "Rencontre en Martinique", "Webinaire en UTC"}
    for event in events.values():
        assert event.status == "published"
        assert event.category_id == category.id
        assert event.organization_id == animateur.organization_id
        assert event.audience.is_network
        assert not event.uid.endswith("@google.com")  # our own UIDs; the source's is kept beside it

    single = events["Formation Excel ; niveau 1, débutants"]
    assert (single.start_local, single.end_local, single.tz) == (datetime(2027, 1, 12, 9), datetime(2027, 1, 12, 12),
                                                                 "Europe/Paris")
    assert single.start_at == utc(2027, 1, 12, 8)
    assert single.description == "Apportez votre portable.\nSalle C:\\formation 🎓"
    assert single.place == "Maison du tourisme, Aurillac"

    weekly = events["Réunion hebdomadaire"]
    assert "FREQ=WEEKLY" in weekly.rrule and "BYDAY=TU" in weekly.rrule
    assert weekly.exdates == ["2027-03-16"]
    # 14:00 in Paris on every Tuesday but the 16th, across the change of 28 March 2027.
    assert occurrence_starts(weekly) == [utc(2027, 3, 2, 13), utc(2027, 3, 9, 13), utc(2027, 3, 23, 13),
                                         utc(2027, 3, 30, 12), utc(2027, 4, 6, 12), utc(2027, 4, 13, 12)]

    salon = events["Salon du tourisme vert"]
    assert salon.is_all_day
    assert (salon.start_local.date(), salon.end_local.date()) == (date(2027, 5, 20), date(2027, 5, 21))
    assert (salon.start_at, salon.end_at) == (utc(2027, 5, 19, 22), utc(2027, 5, 21, 22))

    antilles = events["Rencontre en Martinique"]
    assert antilles.tz == "America/Martinique"
    assert antilles.start_local == datetime(2027, 2, 4, 18, 30)
    assert (antilles.start_at, antilles.end_at) == (utc(2027, 2, 4, 22, 30), utc(2027, 2, 5, 0, 0))

    webinaire = events["Webinaire en UTC"]
    assert (webinaire.tz, webinaire.start_local) == ("Europe/Paris", datetime(2027, 2, 10, 14))

    # They are in the calendar.
    cells = month_cells(anim_client.get("/events/?vue=mois&date=2027-03-01"))
    assert {d: chips for d, chips in cells.items() if chips} == {
        d: ["14:00 Réunion hebdomadaire"] for d in (2, 9, 23, 30)}
    page = text(anim_client.get(f"/events/{antilles.id}"))
    assert "jeudi 4 février 2027, 18:30 – 20:00 (America/Martinique)" in page


def test_ics_import_of_an_event_without_end_lasts_an_hour(app, anim_client, categories):
    content = calendar(vevent("court", "DTSTART;TZID=Europe/Paris:20270115T100000", "SUMMARY:Point rapide"))
    resp = upload(anim_client, content, category_id=categories["Réunion réseau"].id)
    assert preview_rows(resp) == [["Point rapide", "15/01/2027 10:00", "", "non", "", "nouveau"]]
    assert confirm(anim_client, carried_content(resp), categories["Réunion réseau"].id).status_code == 302
    event = db.session.scalar(sa.select(Event))
    assert (event.start_local, event.end_local) == (datetime(2027, 1, 15, 10), datetime(2027, 1, 15, 11))


def test_ics_import_is_for_animateurs_only(app, as_, make_user, client, categories):
    member = as_(make_user())
    assert member.get("/events/importer").status_code == 403
    resp = member.post("/events/importer", data={
        "csrf_token": csrf_token(member, "/accounts/profil"), "confirm": "1", "content": VALID,
        "category_id": str(categories["Formation"].id)})
    assert resp.status_code == 403
    resp = member.post("/events/importer", data={
        "csrf_token": csrf_token(member, "/accounts/profil"), "file": (io.BytesIO(VALID.encode()), "a.ics")},
        content_type="multipart/form-data")
    assert resp.status_code == 403
    assert nothing_created()
    assert client.get("/events/importer").status_code == 302  # to the login page
    # No link to it either.
    assert "/events/importer" not in member.get("/events/").get_data(as_text=True)


# -- damaged files: a French error, nothing created ---------------------------------------------------

NO_COLON = VALID.replace("SUMMARY:Réunion hebdomadaire\r\n",
                         "SUMMARY:Réunion hebdomadaire\r\nceci n'est pas une ligne iCalendar\r\n")
TRUNCATED = VALID[:VALID.index("SUMMARY:Salon du tourisme vert")] + "SUMMARY:Salon du tou"
NO_END_VEVENT = VALID.replace("SUMMARY:Rencontre en Martinique\r\nEND:VEVENT\r\n",
                              "SUMMARY:Rencontre en Martinique\r\n")


def line_number(content: str, line: str) -> int:
    return content.split("\r\n").index(line) + 1


@pytest.mark.parametrize("content, message", [
    (NO_COLON, "Le fichier .ics est endommagé : la ligne {n} est illisible (« ceci n'est pas une ligne iCalendar »)."),
    (TRUNCATED, "Le fichier .ics est incomplet (tronqué ?) : « END:VEVENT » manque."),
    (NO_END_VEVENT, "Le fichier .ics est endommagé : « END:VCALENDAR » inattendu à la ligne {n}."),
], ids=["line-without-colon", "truncated-end", "missing-end-vevent"])
def test_ics_import_of_a_file_with_broken_lines_gives_a_french_error_and_creates_nothing(
        app, anim_client, categories, content, message):
    # The line number is the one a text editor shows.
    if content is NO_COLON:
        message = message.format(n=line_number(content, "ceci n'est pas une ligne iCalendar"))
    elif content is NO_END_VEVENT:
        message = message.format(n=line_number(content, "END:VCALENDAR"))
    resp = upload(anim_client, content, category_id=categories["Formation"].id)
    assert resp.status_code == 400
    assert error_text(resp) == message
    assert "<tbody>" not in resp.get_data(as_text=True)  # no preview, nothing to confirm
    # Sent straight to the confirmation (a tampered form): the same refusal.
    resp = confirm(anim_client, content, categories["Formation"].id)
    assert resp.status_code == 400 and error_text(resp) == message
    assert nothing_created()


@pytest.mark.parametrize("content, filename, content_type", [
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "photo.png", "image/png"),
    (b"Titre;Date;Lieu\r\nFormation;12/01/2027;Aurillac\r\n", "agenda.csv", "text/csv"),
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "programme.ics", "application/pdf"),
    (b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Marie Membre\r\nEND:VCARD\r\n", "contact.ics", "text/vcard"),
    (b"", "vide.ics", "text/calendar"),
], ids=["png", "csv", "pdf-named-ics", "vcard", "empty"])
def test_ics_import_of_a_file_that_is_not_a_calendar_gives_a_french_error(app, anim_client, categories, content,
                                                                          filename, content_type):
    resp = upload(anim_client, content, filename=filename, content_type=content_type,
                  category_id=categories["Formation"].id)
    assert resp.status_code == 400
    message = error_text(resp)
    if content:
        assert message == "Le fichier n'est pas un calendrier iCalendar (.ics) : « BEGIN:VCALENDAR » manque."
    else:
        assert message == "Choisissez un fichier .ics."
    assert nothing_created()


def test_ics_import_of_a_calendar_without_events_says_so(app, anim_client, categories):
    resp = upload(anim_client, calendar(), category_id=categories["Formation"].id)
    assert resp.status_code == 400
    assert error_text(resp) == "Le fichier ne contient aucun événement."
    assert nothing_created()


def test_ics_import_flags_an_event_without_start_and_confirm_refuses_the_whole_file(app, anim_client, categories):
    no_start = vevent("sans-date", "SUMMARY:Réunion sans date", "LOCATION:Mauriac")
    content = calendar(SINGLE, no_start, ALL_DAY)
    resp = upload(anim_client, content, category_id=categories["Formation"].id)
    assert resp.status_code == 200
    rows = preview_rows(resp)
    assert rows[1] == ["Réunion sans date", "", "Mauriac", "non", "Date de début absente ou illisible.", "refusé"]
    assert rows[0][4] == rows[2][4] == ""
    body = resp.get_data(as_text=True)
    assert re.search(r'<tr class="table-danger"><td class="table-stack-title">Réunion sans date', body)
    assert re.search(r'<button type="submit" class="btn btn-primary" disabled>Confirmer l\'import</button>',
                     html.unescape(body))

    # Even if the disabled button is bypassed: nothing is created, not even the two good events.
    resp = confirm(anim_client, carried_content(resp), categories["Formation"].id)
    assert resp.status_code == 400
    assert error_text(resp) == "Corrigez le fichier : 1 événement(s) ne peuvent pas être importés."
    assert nothing_created()


@pytest.mark.parametrize("line, problem", [
    ("DTSTART:2027-01-12", "Date de début absente ou illisible."),
    ("DTSTART;TZID=Europe/Paris:20270112T090000\r\nRRULE:FREQ=MONTHLY;BYDAY=9TU",
     "Règle de répétition invalide ou non prise en charge."),
    ("DTSTART;TZID=Europe/Paris:20270112T090000\r\nRRULE:BYDAY=TU",
     "Règle de répétition invalide ou non prise en charge."),
    ("DTSTART;TZID=Europe/Paris:20270112T090000\r\nRRULE:FREQ=WEEKLY;INTERVAL=-2",
     "Règle de répétition invalide ou non prise en charge."),
], ids=["unreadable-date", "ninth-tuesday", "rule-without-freq", "negative-interval"])
def test_ics_import_flags_an_unreadable_date_or_rule_in_the_preview_and_creates_nothing(
        app, anim_client, categories, line, problem):
    content = calendar(SINGLE, vevent("bad", line, "SUMMARY:Événement douteux"))
    resp = upload(anim_client, content, category_id=categories["Formation"].id)
    assert resp.status_code == 200
    rows = preview_rows(resp)
    assert rows[1][0] == "Événement douteux" and rows[1][4] == problem
    resp = confirm(anim_client, carried_content(resp), categories["Formation"].id)
    assert resp.status_code == 400
    assert error_text(resp) == "Corrigez le fichier : 1 événement(s) ne peuvent pas être importés."
    assert nothing_created()


def test_ics_import_stops_at_the_first_refused_event_and_keeps_none_of_the_others(app, anim_client, categories):
    # The last event ends before it starts: the service refuses it after the first ones were
    # added; the whole import is rolled back.
    backwards = vevent("envers", "DTSTART;TZID=Europe/Paris:20270120T120000",
                       "DTEND;TZID=Europe/Paris:20270120T090000", "SUMMARY:À l'envers")
    content = calendar(SINGLE, WEEKLY, ALL_DAY, backwards)
    resp = upload(anim_client, content, category_id=categories["Formation"].id)
    assert resp.status_code == 200
    resp = confirm(anim_client, carried_content(resp), categories["Formation"].id)
    assert resp.status_code == 400
    assert error_text(resp) == "Rien n'a été importé : La fin doit être après le début."
    assert nothing_created()


def test_ics_import_of_a_3_mb_file_gives_a_french_error_and_creates_nothing(app, anim_client, categories):
    filler = ("X-FILLER:" + "z" * 70 + "\r\n") * (3 * 1024 * 1024 // 81 + 1)
    big = calendar(vevent("gros", "DTSTART;TZID=Europe/Paris:20270112T090000", "SUMMARY:Très gros fichier",
                          filler.removesuffix("\r\n")))
    assert len(big.encode()) > 3 * 1024 * 1024
    resp = upload(anim_client, big, category_id=categories["Formation"].id)
    assert resp.status_code == 400
    assert error_text(resp) == "Le fichier dépasse 2 Mo."
    assert nothing_created()
