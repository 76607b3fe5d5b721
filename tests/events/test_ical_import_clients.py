"""Importing .ics files in the shapes real calendar programs export (PRODID, X-WR-TIMEZONE,
VTIMEZONE blocks, Windows zone names, RECURRENCE-ID, STATUS:CANCELLED), written here:

- an occurrence edited in Google Calendar, Thunderbird or Nextcloud is shown once, at its new
  time (an exception of the series plus a one-off event);
- importing the same file again changes nothing, and the preview says so; an edited file updates
  the events it made (« 1 nouveau, 1 mis à jour, 1 inchangé »);
- an import tells each person once, and never about past events (real SMTP server).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from intranet.core.mail import deliver_outbox
from intranet.core.models import MailMessage
from intranet.core.notifications import Notification
from intranet.events.models import Event
from intranet.extensions import db
from tests.events.conftest import text
from tests.events.test_ical_import import carried_content, confirm, occurrence_starts, preview_rows, upload
from tests.events.test_recurrence import month_cells
from tests.notifications import plain_and_html

CRLF = "\r\n"


def ics(*lines: str) -> str:
    return CRLF.join(lines) + CRLF


# Thunderbird writes its own Paris block (offsets with seconds, a tz database version) and, for an
# occurrence moved in a series, a second VEVENT with the same UID, a RECURRENCE-ID and SEQUENCE.
THUNDERBIRD_TZ = (
    "BEGIN:VTIMEZONE", "TZID:Europe/Paris", "X-TZINFO:Europe/Paris[2024a]",
    "BEGIN:DAYLIGHT", "TZOFFSETTO:+020000", "TZOFFSETFROM:+010000", "TZNAME:CEST", "DTSTART:19810329T020000",
    "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3", "END:DAYLIGHT",
    "BEGIN:STANDARD", "TZOFFSETTO:+010000", "TZOFFSETFROM:+020000", "TZNAME:CET", "DTSTART:19961027T030000",
    "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10", "END:STANDARD", "END:VTIMEZONE")


def thunderbird(location: str = "Salle du conseil", extra: tuple = ()) -> str:
    uid = "5f1c2a9e-3b7d-4c21-9a0e-1d2f3b4c5d6e"
    return ics(
        "BEGIN:VCALENDAR", "PRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN", "VERSION:2.0",
        *THUNDERBIRD_TZ,
        "BEGIN:VEVENT", "CREATED:20261101T090000Z", "LAST-MODIFIED:20261110T090000Z", "DTSTAMP:20261110T090000Z",
        f"UID:{uid}", "SUMMARY:Comité technique", "RRULE:FREQ=WEEKLY;COUNT=6;BYDAY=TH",
        "DTSTART;TZID=Europe/Paris:20270304T100000", "DTEND;TZID=Europe/Paris:20270304T120000",
        f"LOCATION:{location}", "SEQUENCE:2", "X-MOZ-GENERATION:3", "END:VEVENT",
        "BEGIN:VEVENT", "CREATED:20261101T090000Z", "LAST-MODIFIED:20261112T090000Z", "DTSTAMP:20261112T090000Z",
        f"UID:{uid}", "SUMMARY:Comité technique (déplacé)", "RECURRENCE-ID;TZID=Europe/Paris:20270318T100000",
        "DTSTART;TZID=Europe/Paris:20270319T140000", "DTEND;TZID=Europe/Paris:20270319T160000",
        f"LOCATION:{location}", "SEQUENCE:3", "X-MOZ-GENERATION:4", "END:VEVENT",
        "BEGIN:VEVENT", "DTSTAMP:20261110T090000Z", "UID:b7e0c1d2-aaaa-4bbb-8ccc-0123456789ab",
        "SUMMARY:Accueil des saisonniers", "DTSTART;TZID=Europe/Paris:20270406T090000",
        "DTEND;TZID=Europe/Paris:20270406T170000", "END:VEVENT",
        *extra,
        "END:VCALENDAR")


# Google: X-WR-TIMEZONE, single events in UTC, a moved occurrence and a cancelled one as VEVENTs
# with RECURRENCE-ID (the cancelled one with STATUS:CANCELLED).
def google(*extra: str) -> str:
    return ics(
        "BEGIN:VCALENDAR", "PRODID:-//Google Inc//Google Calendar 70.9054//EN", "VERSION:2.0", "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH", "X-WR-CALNAME:Office de tourisme du Pays de Salers", "X-WR-TIMEZONE:Europe/Paris",
        "BEGIN:VEVENT", "DTSTART;TZID=Europe/Paris:20270105T140000", "DTEND;TZID=Europe/Paris:20270105T153000",
        "RRULE:FREQ=WEEKLY;WKST=MO;UNTIL=20270126T225959Z;BYDAY=TU", "DTSTAMP:20261201T101010Z",
        "UID:1q2w3e4r5t6y7u8i9o0p@google.com", "CREATED:20261115T090000Z", "LAST-MODIFIED:20261120T090000Z",
        "SEQUENCE:0", "STATUS:CONFIRMED", "SUMMARY:Point équipe", "TRANSP:OPAQUE", "END:VEVENT",
        "BEGIN:VEVENT", "DTSTART;TZID=Europe/Paris:20270113T100000", "DTEND;TZID=Europe/Paris:20270113T113000",
        "DTSTAMP:20261201T101010Z", "UID:1q2w3e4r5t6y7u8i9o0p@google.com",
        "RECURRENCE-ID;TZID=Europe/Paris:20270112T140000", "SEQUENCE:1", "STATUS:CONFIRMED",
        "SUMMARY:Point équipe (avancé au mercredi)", "END:VEVENT",
        "BEGIN:VEVENT", "DTSTART;TZID=Europe/Paris:20270119T140000", "DTEND;TZID=Europe/Paris:20270119T153000",
        "DTSTAMP:20261201T101010Z", "UID:1q2w3e4r5t6y7u8i9o0p@google.com",
        "RECURRENCE-ID;TZID=Europe/Paris:20270119T140000", "SEQUENCE:1", "STATUS:CANCELLED",
        "SUMMARY:Point équipe", "END:VEVENT",
        "BEGIN:VEVENT", "DTSTART:20270208T080000Z", "DTEND:20270208T100000Z", "DTSTAMP:20261201T101010Z",
        "UID:a1b2c3d4e5f6@google.com", "SUMMARY:Formation accueil numérique", "LOCATION:Salers\\, Cantal",
        "END:VEVENT",
        *extra,
        "END:VCALENDAR")


def outlook() -> str:
    return ics(
        "BEGIN:VCALENDAR", "PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN", "VERSION:2.0",
        "METHOD:PUBLISH", "X-MS-OLK-FORCEINSPECTOROPEN:TRUE",
        "BEGIN:VTIMEZONE", "TZID:Romance Standard Time",
        "BEGIN:STANDARD", "DTSTART:16011028T030000", "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10",
        "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "END:STANDARD",
        "BEGIN:DAYLIGHT", "DTSTART:16010325T020000", "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3",
        "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "END:DAYLIGHT", "END:VTIMEZONE",
        "BEGIN:VTIMEZONE", "TZID:SA Western Standard Time",
        "BEGIN:STANDARD", "DTSTART:16010101T000000", "TZOFFSETFROM:-0400", "TZOFFSETTO:-0400", "END:STANDARD",
        "END:VTIMEZONE",
        "BEGIN:VEVENT", "CLASS:PUBLIC", "CREATED:20261120T101500Z", "DESCRIPTION:Ordre du jour à venir.\\n",
        'DTEND;TZID="Romance Standard Time":20270714T200000', "DTSTAMP:20261120T101500Z",
        'DTSTART;TZID="Romance Standard Time":20270714T180000', "LAST-MODIFIED:20261120T101500Z",
        "LOCATION:Mairie d'Aurillac", "PRIORITY:5", "SEQUENCE:0", "SUMMARY;LANGUAGE=fr:Réunion des offices",
        "TRANSP:OPAQUE", "UID:040000008200E00074C5B7101A82E00800000000A0B1C2D3E4F5A601000000000000000010000000",
        "X-MICROSOFT-CDO-BUSYSTATUS:BUSY", "END:VEVENT",
        "BEGIN:VEVENT", 'DTSTART;TZID="SA Western Standard Time":20270204T183000',
        'DTEND;TZID="SA Western Standard Time":20270204T200000', "DTSTAMP:20261120T101500Z",
        "SUMMARY;LANGUAGE=fr:Visio avec la Martinique", "UID:040000008200E00074C5B7101A82E008000000000000000002",
        "END:VEVENT",
        "END:VCALENDAR")


def nextcloud() -> str:
    uid = "7d5a2f3e-1b2c-4d5e-8f90-abcdef012345"
    return ics(
        "BEGIN:VCALENDAR", "VERSION:2.0", "CALSCALE:GREGORIAN", "PRODID:-//IDN nextcloud.com//Calendar app 4.7.4//EN",
        "X-WR-CALNAME:Agenda partagé", "X-APPLE-CALENDAR-COLOR:#0082C9", "X-WR-TIMEZONE:Europe/Paris",
        "BEGIN:VTIMEZONE", "TZID:Europe/Paris",
        "BEGIN:DAYLIGHT", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "TZNAME:CEST", "DTSTART:19700329T020000",
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "END:DAYLIGHT",
        "BEGIN:STANDARD", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "TZNAME:CET", "DTSTART:19701025T030000",
        "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "END:STANDARD", "END:VTIMEZONE",
        "BEGIN:VEVENT", "CREATED:20261102T080000Z", "DTSTAMP:20261102T080000Z", "LAST-MODIFIED:20261102T080000Z",
        "SEQUENCE:2", f"UID:{uid}", "DTSTART;VALUE=DATE:20270601", "DTEND;VALUE=DATE:20270602",
        "STATUS:CONFIRMED", "SUMMARY:Permanence au BIT", "RRULE:FREQ=MONTHLY;COUNT=4;BYMONTHDAY=1", "END:VEVENT",
        "BEGIN:VEVENT", "CREATED:20261102T080000Z", "DTSTAMP:20261103T080000Z", "LAST-MODIFIED:20261103T080000Z",
        "SEQUENCE:3", f"UID:{uid}", "RECURRENCE-ID;VALUE=DATE:20270701", "DTSTART;VALUE=DATE:20270702",
        "DTEND;VALUE=DATE:20270703", "STATUS:CONFIRMED", "SUMMARY:Permanence au BIT (décalée)", "END:VEVENT",
        "END:VCALENDAR")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def animateur(make_user):
    return make_user(role="animateur", name="Anne Animatrice")


@pytest.fixture
def anim_client(as_, animateur):
    return as_(animateur)


def import_file(c, content: str, category_id: int):
    resp = upload(c, content, category_id=category_id)
    assert resp.status_code == 200, text(resp)[:500]
    done = confirm(c, carried_content(resp), category_id)
    assert done.status_code == 302, text(done)[:800]
    return resp, text(c.get(done.location))


def events_by_title() -> dict[str, Event]:
    db.session.expire_all()
    return {e.title: e for e in db.session.scalars(sa.select(Event))}


def snapshot() -> dict:
    db.session.expire_all()
    return {e.source_uid: (e.id, e.title, e.place, e.sequence, e.updated_at, e.start_at, tuple(e.exdates))
            for e in db.session.scalars(sa.select(Event))}


# -- edited occurrences ------------------------------------------------------------------------

def test_a_thunderbird_series_with_a_moved_occurrence_shows_it_once_at_its_new_time(app, anim_client, categories):
    resp, page = import_file(anim_client, thunderbird(), categories["Réunion réseau"].id)
    assert [r[0] for r in preview_rows(resp)] == ["Comité technique", "Comité technique (déplacé)",
                                                  "Accueil des saisonniers"]
    assert preview_rows(resp)[1][3] == "remplace la date du 18/03/2027"
    assert "Import terminé : 3 nouveaux." in page

    events = events_by_title()
    series, moved = events["Comité technique"], events["Comité technique (déplacé)"]
    assert series.exdates == ["2027-03-18"]
    assert series.source_uid == "5f1c2a9e-3b7d-4c21-9a0e-1d2f3b4c5d6e"
    assert moved.source_uid == "5f1c2a9e-3b7d-4c21-9a0e-1d2f3b4c5d6e#20270318T100000" and moved.rrule is None
    # Thursdays at 10:00 but the 18th; the moved one on Friday 19 at 14:00 (UTC+1 in March before the 28th).
    assert occurrence_starts(series) == [utc(2027, 3, 4, 9), utc(2027, 3, 11, 9), utc(2027, 3, 25, 9),
                                         utc(2027, 4, 1, 8), utc(2027, 4, 8, 8)]
    assert occurrence_starts(moved) == [utc(2027, 3, 19, 13)]
    cells = month_cells(anim_client.get("/events/?vue=mois&date=2027-03-01"))
    assert cells[18] == []
    assert cells[19] == ["14:00 Comité technique (déplacé)"]
    assert [c for chips in cells.values() for c in chips].count("10:00 Comité technique") == 3


def test_a_google_export_moves_one_occurrence_drops_a_cancelled_one_and_reads_utc_times(
        app, anim_client, categories):
    resp, _page = import_file(anim_client, google(), categories["Réunion réseau"].id)
    assert [r[0] for r in preview_rows(resp)] == ["Point équipe", "Point équipe (avancé au mercredi)",
                                                  "Formation accueil numérique"]  # the cancelled one: no row
    events = events_by_title()
    series = events["Point équipe"]
    assert series.exdates == ["2027-01-12", "2027-01-19"]
    assert occurrence_starts(series) == [utc(2027, 1, 5, 13), utc(2027, 1, 26, 13)]
    assert occurrence_starts(events["Point équipe (avancé au mercredi)"]) == [utc(2027, 1, 13, 9)]
    formation = events["Formation accueil numérique"]
    assert (formation.tz, formation.start_local) == ("Europe/Paris", datetime(2027, 2, 8, 9))
    cells = month_cells(anim_client.get("/events/?vue=mois&date=2027-01-01"))
    assert {d: c for d, c in cells.items() if c} == {
        5: ["14:00 Point équipe"], 13: ["10:00 Point équipe (avancé au mercredi)"], 26: ["14:00 Point équipe"]}


def test_outlook_windows_zone_names_are_mapped_to_their_iana_zones(app, anim_client, categories):
    import_file(anim_client, outlook(), categories["Réunion réseau"].id)
    events = events_by_title()
    meeting = events["Réunion des offices"]
    assert (meeting.tz, meeting.start_local) == ("Europe/Paris", datetime(2027, 7, 14, 18))
    assert meeting.start_at == utc(2027, 7, 14, 16)  # summer: UTC+2
    visio = events["Visio avec la Martinique"]
    # Windows' « SA Western Standard Time » (UTC−4, no summer time) is America/La_Paz in CLDR's table.
    assert (visio.tz, visio.start_local, visio.start_at) == ("America/La_Paz", datetime(2027, 2, 4, 18, 30),
                                                              utc(2027, 2, 4, 22, 30))


def test_a_nextcloud_all_day_series_with_a_moved_day(app, anim_client, categories):
    import_file(anim_client, nextcloud(), categories["Réunion réseau"].id)
    events = events_by_title()
    series, moved = events["Permanence au BIT"], events["Permanence au BIT (décalée)"]
    assert series.is_all_day and series.exdates == ["2027-07-01"]
    assert len(occurrence_starts(series)) == 3  # 1 June, 1 August, 1 September
    assert moved.is_all_day and moved.start_local == datetime(2027, 7, 2)
    cells = month_cells(anim_client.get("/events/?vue=mois&date=2027-07-01"))
    assert [d for d, c in cells.items() if c] == [2]


def test_an_x_wr_timezone_other_than_paris_is_the_zone_of_utc_times(app, anim_client, categories):
    content = google().replace("X-WR-TIMEZONE:Europe/Paris", "X-WR-TIMEZONE:America/Martinique")
    import_file(anim_client, content, categories["Réunion réseau"].id)
    formation = events_by_title()["Formation accueil numérique"]
    assert (formation.tz, formation.start_local) == ("America/Martinique", datetime(2027, 2, 8, 4))


# -- importing again ---------------------------------------------------------------------------

def test_importing_the_same_thunderbird_file_again_changes_nothing(app, anim_client, categories):
    category = categories["Réunion réseau"].id
    import_file(anim_client, thunderbird(), category)
    before = snapshot()
    mails = db.session.scalar(sa.select(sa.func.count(MailMessage.id)))
    notes = db.session.scalar(sa.select(sa.func.count(Notification.id)))

    resp = upload(anim_client, thunderbird(), category_id=category)
    assert "À l'import : 3 inchangés." in text(resp)
    assert [r[-1] for r in preview_rows(resp)] == ["inchangé"] * 3
    done = confirm(anim_client, carried_content(resp), category)
    assert "Import terminé : 3 inchangés." in text(anim_client.get(done.location))
    assert snapshot() == before  # same events, same SEQUENCE and LAST-MODIFIED, same exceptions
    assert db.session.scalar(sa.select(sa.func.count(MailMessage.id))) == mails
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == notes


def test_an_edited_file_updates_what_changed_adds_what_is_new_and_says_so(app, anim_client, categories):
    category = categories["Réunion réseau"].id
    import_file(anim_client, thunderbird(), category)
    before = snapshot()
    added = ("BEGIN:VEVENT", "DTSTAMP:20261120T090000Z", "UID:c3d4e5f6-0000-4000-8000-000000000001",
             "SUMMARY:Éductour", "DTSTART;TZID=Europe/Paris:20270512T090000",
             "DTEND;TZID=Europe/Paris:20270512T180000", "END:VEVENT")
    # The series and its moved occurrence change place; the third event does not; one is new.
    resp = upload(anim_client, thunderbird(location="Médiathèque", extra=added), category_id=category)
    assert "À l'import : 1 nouveau, 2 mis à jour, 1 inchangé." in text(resp)
    assert [(r[0], r[-1]) for r in preview_rows(resp)] == [
        ("Comité technique", "mis à jour"), ("Comité technique (déplacé)", "mis à jour"),
        ("Accueil des saisonniers", "inchangé"), ("Éductour", "nouveau")]
    done = confirm(anim_client, carried_content(resp), category)
    assert "Import terminé : 1 nouveau, 2 mis à jour, 1 inchangé." in text(anim_client.get(done.location))
    after = snapshot()
    assert len(after) == 4
    for key in before:
        assert after[key][0] == before[key][0]  # the same events, not copies
    series = "5f1c2a9e-3b7d-4c21-9a0e-1d2f3b4c5d6e"
    assert after[series][2] == "Médiathèque" and after[series][3] == before[series][3] + 1
    assert after[series][6] == ("2027-03-18",)
    assert after["b7e0c1d2-aaaa-4bbb-8ccc-0123456789ab"] == before["b7e0c1d2-aaaa-4bbb-8ccc-0123456789ab"]


def test_a_re_import_keeps_what_was_added_in_the_app(app, anim_client, categories):
    category = categories["Réunion réseau"].id
    import_file(anim_client, thunderbird(), category)
    event = events_by_title()["Accueil des saisonniers"]
    event.commune, event.price_kind = "Salers", "free"
    db.session.commit()
    import_file(anim_client, thunderbird(location="Médiathèque"), category)
    event = events_by_title()["Accueil des saisonniers"]
    assert (event.commune, event.price_kind) == ("Salers", "free")


# -- who is told -------------------------------------------------------------------------------

PAST = tuple(
    line for n, day in enumerate(("20140315", "20140920"))
    for line in ("BEGIN:VEVENT", f"UID:ancien-{n}@google.com", "DTSTAMP:20140101T000000Z",
                 f"SUMMARY:Ancien salon {n}", f"DTSTART;VALUE=DATE:{day}", "END:VEVENT"))


def test_an_import_sends_one_mail_per_person_and_none_about_past_events(app, anim_client, animateur, make_user,
                                                                         categories, smtp_server):
    members = [make_user(name=f"Membre {n}") for n in range(5)]
    import_file(anim_client, google(*PAST), categories["Réunion réseau"].id)
    assert deliver_outbox()["errors"] == 0

    by_person = {}
    for msg in smtp_server.messages:
        by_person.setdefault(msg["To"], []).append(msg)
    assert set(by_person) == {m.email for m in members}  # not the animatrice who imported
    for member in members:
        [msg] = by_person[member.email]
        assert msg["Subject"] == "3 événements ajoutés à l'agenda"
        body, html_part = plain_and_html(msg)
        assert "3 événements ajoutés à l'agenda" in body
        assert "Point équipe (05/01/2027)" in body and "Formation accueil numérique (08/02/2027)" in body
        assert "Ancien salon" not in body and "Ancien salon" not in html_part
        assert "/events/?vue=liste" in body
        [note] = db.session.scalars(sa.select(Notification).where(Notification.user_id == member.id)).all()
        assert note.type == "events.imported"
    # The past events are imported all the same, quietly.
    assert {"Ancien salon 0", "Ancien salon 1"} <= set(events_by_title())


def test_an_import_of_one_future_event_is_the_usual_new_event_mail(app, anim_client, make_user, categories,
                                                                    smtp_server):
    member, admin = make_user(), make_user(role="admin")
    content = ics("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Google Inc//Google Calendar 70.9054//EN",
                  "BEGIN:VEVENT", "UID:seul@google.com", "DTSTAMP:20261201T000000Z", "SUMMARY:Salon du randonneur",
                  "DTSTART;VALUE=DATE:20270520", "END:VEVENT", *PAST, "END:VCALENDAR")
    import_file(anim_client, content, categories["Salon"].id)
    deliver_outbox()
    # A member's « Nouvel événement » waits for the daily digest (their default); the admin's leaves.
    [msg] = smtp_server.messages
    assert msg["To"] == admin.email
    assert db.session.scalar(sa.select(Notification.email_state).where(Notification.user_id == member.id)) == "digest"
    assert msg["Subject"] == "Nouvel événement dans l'agenda : Salon du randonneur"


def test_an_import_of_past_events_only_tells_nobody(app, anim_client, make_user, categories, smtp_server):
    make_user()
    content = ics("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Google Inc//Google Calendar 70.9054//EN",
                  *PAST, "END:VCALENDAR")
    import_file(anim_client, content, categories["Salon"].id)
    deliver_outbox()
    assert smtp_server.messages == []
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 0
