"""The calendar as programs the project did not write read it: conditional polls (ETag,
Last-Modified, 304) on the raw HTTP headers, and the same UTC instants from icalendar, ics-py and
vobject for events on both sides of both clock changes of Europe/Paris."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import arrow
import icalendar
import ics
import pytest
import vobject
from werkzeug.http import http_date

from intranet.events import views
from intranet.extensions import db
from tests.events.conftest import event_form, make_event, paris_day, post
from tests.events.test_ical import by_title, feed, next_change, parse, subscribe

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def animateur(make_user):
    return make_user(role="animateur", name="Anne Animatrice")


@pytest.fixture
def anim_client(as_, animateur):
    return as_(animateur)


def poll(app, token: str, **headers):
    """A calendar app's poll: no session, the validators it kept."""
    return app.test_client().get(f"/events/ical/{token}.ics", headers=headers)


@pytest.fixture
def no_body_built(monkeypatch):
    """Fails the test if a VCALENDAR is written (a 304 must not build one)."""
    def refuse(*args, **kwargs):
        raise AssertionError("the body was built")

    def arm():
        monkeypatch.setattr(views, "build_calendar", refuse)
    return arm


# -- 1. conditional requests ------------------------------------------------------------------

def test_an_unchanged_feed_answers_304_and_an_edit_gives_a_200_with_a_new_etag(app, as_, make_user, anim_client,
                                                                               animateur, no_body_built):
    member = make_user()
    event = make_event(animateur, "Atelier photo", place="Salle des fêtes")
    token = subscribe(as_(member))

    first = feed(app, token)
    assert first.status_code == 200
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('"') and not etag.startswith('W/')  # strong
    assert first.headers["Cache-Control"] in ("private, max-age=300, must-revalidate",
                                              "private, must-revalidate, max-age=300")
    assert "no-store" not in first.headers["Cache-Control"]
    assert last_modified == http_date(event.updated_at.replace(microsecond=0))

    with app.test_request_context():
        no_body_built()
        again = poll(app, token, **{"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b""
        assert again.headers["ETag"] == etag
        since = poll(app, token, **{"If-Modified-Since": last_modified})
        assert since.status_code == 304 and since.data == b""


def test_after_an_edit_the_poll_gets_a_200_with_the_new_text_and_a_new_etag(app, as_, make_user, anim_client,
                                                                            animateur):
    member = make_user()
    event = make_event(animateur, "Atelier photo", place="Salle des fêtes")
    token = subscribe(as_(member))
    etag = feed(app, token).headers["ETag"]
    assert poll(app, token, **{"If-None-Match": etag}).status_code == 304

    day = event.start_local.date()
    data = event_form(organization_id=event.organization_id, title="Atelier photo", start_date=day, end_date=day,
                      place="Médiathèque")
    assert post(anim_client, f"/events/{event.id}/modifier", data).status_code == 302
    changed = poll(app, token, **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert str(by_title(parse(changed.data))["Atelier photo"]["LOCATION"]).startswith("Médiathèque")
    # and that new ETag is answered 304 in turn
    assert poll(app, token, **{"If-None-Match": changed.headers["ETag"]}).status_code == 304


def test_the_etag_moves_when_an_event_is_added_deleted_or_its_category_renamed(app, as_, make_user, animateur):
    from intranet.events import services
    from intranet.events.models import Category

    member = make_user()
    category = Category(name="Formation", color="#0b5394")
    db.session.add(category)
    db.session.commit()
    make_event(animateur, "Atelier photo", category=category)
    token = subscribe(as_(member))
    tags = [feed(app, token).headers["ETag"]]
    other = make_event(animateur, "Réunion réseau")
    tags.append(poll(app, token, **{"If-None-Match": tags[-1]}).headers["ETag"])
    category.name = "Formation continue"
    db.session.commit()
    tags.append(poll(app, token, **{"If-None-Match": tags[-1]}).headers["ETag"])
    with app.test_request_context():
        services.delete_event(other)
        db.session.commit()
    resp = poll(app, token, **{"If-None-Match": tags[-1]})
    assert resp.status_code == 200 and "Réunion réseau" not in by_title(parse(resp.data))
    tags.append(resp.headers["ETag"])
    assert len(set(tags)) == 4


def test_two_people_or_two_filters_never_share_an_etag(app, as_, make_user, animateur, categories):
    make_event(animateur, "Atelier photo", category=categories["Formation"])
    one, two = make_user(), make_user()
    t1, t2 = subscribe(as_(one)), subscribe(as_(two))
    e1, e2 = feed(app, t1).headers["ETag"], feed(app, t2).headers["ETag"]
    assert e1 != e2
    filtered = feed(app, t1, f"?categorie={categories['Formation'].id}").headers["ETag"]
    assert filtered != e1
    # Another person's ETag never gets a 304 (the body would be someone else's calendar).
    assert poll(app, t1, **{"If-None-Match": e2}).status_code == 200


def test_a_stale_if_modified_since_gets_the_body(app, as_, make_user, animateur):
    member = make_user()
    make_event(animateur, "Atelier photo")
    token = subscribe(as_(member))
    old = http_date(datetime.now(UTC) - timedelta(days=1))
    resp = poll(app, token, **{"If-Modified-Since": old})
    assert resp.status_code == 200 and "Atelier photo" in by_title(parse(resp.data))


def test_the_event_ics_answers_304_too_and_a_validation_moves_its_etag_and_last_modified(
        app, as_, make_user, anim_client, animateur):
    proposer = make_user()
    event = make_event(proposer, "Formation accueil", publish=False)
    event.updated_at = before = event.updated_at - timedelta(hours=3)  # proposed this morning
    db.session.commit()
    c = as_(proposer)
    assert c.get(f"/events/{event.id}/evenement.ics").status_code == 404  # not listed yet
    with app.test_request_context():
        from intranet.events import services
        services.validate(animateur, event)
        db.session.commit()
    first = c.get(f"/events/{event.id}/evenement.ics")
    assert first.status_code == 200
    vevent = by_title(parse(first.data))["Formation accueil"]
    # 3. LAST-MODIFIED is the validation's time, not the proposal's.
    assert vevent["LAST-MODIFIED"].dt > before
    assert abs(vevent["LAST-MODIFIED"].dt - datetime.now(UTC)) < timedelta(minutes=1)
    etag = first.headers["ETag"]
    assert c.get(f"/events/{event.id}/evenement.ics", headers={"If-None-Match": etag}).status_code == 304
    with app.test_request_context():
        services.cancel(animateur, event)
        db.session.commit()
    resp = c.get(f"/events/{event.id}/evenement.ics", headers={"If-None-Match": etag})
    assert resp.status_code == 200 and resp.headers["ETag"] != etag
    assert str(by_title(parse(resp.data))["Formation accueil"]["STATUS"]) == "CANCELLED"


def test_last_modified_is_the_time_of_the_last_edit(app, anim_client, animateur):
    event = make_event(animateur, "Atelier photo")
    event.updated_at -= timedelta(hours=3)  # made this morning
    db.session.commit()
    raw = anim_client.get(f"/events/{event.id}/evenement.ics").data
    before = by_title(parse(raw))["Atelier photo"]["LAST-MODIFIED"].dt
    day = event.start_local.date()
    data = event_form(organization_id=event.organization_id, title="Atelier photo", start_date=day,
                      end_date=day, place="Salle B")
    assert post(anim_client, f"/events/{event.id}/modifier", data).status_code == 302
    raw = anim_client.get(f"/events/{event.id}/evenement.ics").data
    after = by_title(parse(raw))["Atelier photo"]["LAST-MODIFIED"].dt
    assert after - before > timedelta(hours=2)
    assert abs(after - datetime.now(UTC)) < timedelta(minutes=1)


# -- 2. other readers: ics-py and vobject -----------------------------------------------------

def _instants_icalendar(raw: bytes) -> dict[str, datetime]:
    cal = icalendar.Calendar.from_ical(raw)
    return {str(e["SUMMARY"]): e["DTSTART"].dt.astimezone(UTC) for e in cal.walk("VEVENT")}


def _instants_ics_py(raw: bytes) -> dict[str, datetime]:
    cal = ics.Calendar(raw.decode("utf-8"))
    out = {}
    for e in cal.events:
        begin = e.begin
        assert isinstance(begin, arrow.Arrow)
        out[e.name] = begin.to("UTC").datetime
    return out


def _instants_vobject(raw: bytes) -> dict[str, datetime]:
    cal = vobject.readOne(raw.decode("utf-8"))
    return {str(e.summary.value): e.dtstart.value.astimezone(UTC) for e in cal.vevent_list}


def test_icalendar_ics_py_and_vobject_read_the_same_utc_instants_on_both_sides_of_both_changes(
        app, as_, make_user, animateur):
    expected = {}
    for month in (3, 10):
        change = next_change(month)
        for offset in (-1, 1):
            day = change + timedelta(days=offset)
            title = f"Atelier {day:%d/%m/%Y} 18:00"
            make_event(animateur, title, start=datetime.combine(day, time(18)),
                       end=datetime.combine(day, time(20)))
            expected[title] = datetime.combine(day, time(18), PARIS).astimezone(UTC)
    summer = next((d for d in (paris_day(i) for i in range(1, 360)) if d.month == 7 and d.day == 14), None)
    if summer is not None:  # within the feed's year every day but one of the year
        make_event(animateur, "Fête nationale", start=datetime.combine(summer, time(18)),
                   end=datetime.combine(summer, time(23)))
        expected["Fête nationale"] = datetime.combine(summer, time(18), PARIS).astimezone(UTC)
    # Summer: UTC+2 (18:00 → 16:00Z); winter: UTC+1 (18:00 → 17:00Z).
    assert sorted({d.hour for d in expected.values()}) == [16, 17]

    raw = feed(app, subscribe(as_(make_user()))).data
    parse(raw)  # strict framing, nothing icalendar had to skip
    assert _instants_icalendar(raw) == expected
    assert _instants_ics_py(raw) == expected
    assert _instants_vobject(raw) == expected


def test_the_paris_vtimezone_is_the_usual_rrule_form(app, anim_client, animateur):
    event = make_event(animateur, "Atelier photo")
    raw = anim_client.get(f"/events/{event.id}/evenement.ics").data
    block = raw.split(b"BEGIN:VTIMEZONE\r\n", 1)[1].split(b"END:VTIMEZONE\r\n", 1)[0].decode()
    assert "RDATE" not in block
    daylight = block.split("BEGIN:DAYLIGHT\r\n")[1].split("END:DAYLIGHT")[0]
    standard = block.split("BEGIN:STANDARD\r\n")[1].split("END:STANDARD")[0]
    assert "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200" in daylight and "DTSTART:19700329T020000" in daylight
    assert "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU" in daylight
    assert "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100" in standard and "DTSTART:19701025T030000" in standard
    assert "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU" in standard
    # vobject's reading of that zone gives Paris's offsets over the years the feeds cover.
    tz = vobject.readOne(raw.decode()).vtimezone.gettzinfo()
    for year in range(2000, 2040):
        for month, day in ((1, 15), (4, 15), (7, 14), (10, 15), (11, 15)):
            moment = datetime(year, month, day, 18)
            assert moment.replace(tzinfo=tz).utcoffset() == moment.replace(tzinfo=PARIS).utcoffset(), moment
