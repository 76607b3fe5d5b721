"""Repeated events: rules stored as RRULEs and expanded by recurring-ical-events, so that a weekly
training at 9:00 in Paris stays at 9:00 on both sides of a daylight-saving change (7:00 UTC in
summer, 8:00 UTC in winter); monthly on « the 2nd Tuesday » or « the last Friday »; every other
week; an end date or a number of times; excluded dates; all-day series; and a bad rule gives a
French error, never a 500.

Fixed dates: Paris leaves summer time on Sunday 25 October 2026 and enters it on Sunday
28 March 2027. The month and week pages show any month, so the dates need not be in the future.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from intranet.events import services
from intranet.events.models import Event, Occurrence
from intranet.events.recurrence import RecurrenceError, build_rule, occurrences, until_date
from intranet.extensions import db
from tests.events.conftest import event_form, make_event, post, text

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 1, 1, tzinfo=UTC)  # "today" for the pure expansion function


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def expand(start: datetime, end: datetime, rule: str | None, exdates=(), tz="Europe/Paris", all_day=False):
    return occurrences(start, end, tz, all_day, rule, list(exdates), now=NOW)


def starts(spans) -> list[datetime]:
    return [s for s, _e in spans]


def paris(dt: datetime) -> datetime:
    return dt.astimezone(PARIS)


# -- pages -------------------------------------------------------------------------------------------

def month_cells(resp) -> dict[int, list[str]]:
    """The month grid as a person reads it: day of the shown month → the texts of its chips
    (« 09:00 Titre »). Days of the neighbouring months (greyed out) are left out."""
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    grid = body.split('calendar-month', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    cells: dict[int, list[str]] = {}
    for classes, cell in re.findall(r'<td class="([^"]*)">(.*?)</td>', grid, flags=re.S):
        if "text-body-tertiary" in classes:
            continue
        day = int(re.search(r'fw-semibold">(\d+)<', cell).group(1))
        chips = re.findall(r'<a class="event-chip[^"]*"[^>]*>(.*?)</a>', cell, flags=re.S)
        cells[day] = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", chip)).strip() for chip in chips]
    return cells


def week_cells(resp) -> dict[str, list[str]]:
    """The week page: « mardi 27 » → the texts of that day's chips."""
    assert resp.status_code == 200
    body = resp.get_data(as_text=True).split("calendar-week", 1)[1]
    out = {}
    for header, card in re.findall(r'<div class="card-header[^"]*">([^<]+)</div>(.*?)</div>\s*</div></div>',
                                   body, flags=re.S):
        chips = re.findall(r'<a class="event-chip[^"]*"[^>]*>(.*?)</a>', card, flags=re.S)
        out[header.strip()] = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", chip)).strip() for chip in chips]
    return out


def create(c, org_id: int, **fields):
    """Propose an event through the form; returns the response."""
    return post(c, "/events/nouveau", event_form(organization_id=org_id, **fields))


def created_event(resp) -> Event:
    assert resp.status_code == 302, text(resp)[:1500]
    event_id = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    db.session.expire_all()
    return db.session.get(Event, event_id)


def stored_starts(event: Event) -> list[datetime]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Occurrence.start_at).where(Occurrence.event_id == event.id)
                                   .order_by(Occurrence.start_at)))


@pytest.fixture
def animateur(make_user):
    return make_user(role="animateur", name="Anne Animatrice")


@pytest.fixture
def anim_client(as_, animateur):
    return as_(animateur)


# -- the expansion itself -------------------------------------------------------------------------

def test_weekly_tuesday_at_nine_in_paris_is_seven_utc_before_the_october_change_and_eight_utc_after():
    rule = build_rule("weekly", date(2026, 10, 13), weekdays=["TU"], until=date(2026, 11, 3))
    spans = expand(datetime(2026, 10, 13, 9), datetime(2026, 10, 13, 12), rule)

    assert starts(spans) == [utc(2026, 10, 13, 7), utc(2026, 10, 20, 7), utc(2026, 10, 27, 8), utc(2026, 11, 3, 8)]
    assert [e for _s, e in spans] == [utc(2026, 10, 13, 10), utc(2026, 10, 20, 10), utc(2026, 10, 27, 11),
                                      utc(2026, 11, 3, 11)]
    assert {paris(s).time() for s in starts(spans)} == {time(9)}
    assert {paris(s).strftime("%A") for s in starts(spans)} == {"Tuesday"}


def test_weekly_tuesday_at_nine_in_paris_is_eight_utc_before_the_march_change_and_seven_utc_after():
    rule = build_rule("weekly", date(2027, 3, 16), weekdays=["TU"], until=date(2027, 4, 6))
    spans = expand(datetime(2027, 3, 16, 9), datetime(2027, 3, 16, 12), rule)

    assert starts(spans) == [utc(2027, 3, 16, 8), utc(2027, 3, 23, 8), utc(2027, 3, 30, 7), utc(2027, 4, 6, 7)]
    assert {paris(s).time() for s in starts(spans)} == {time(9)}


def test_an_evening_session_keeps_its_local_time_across_the_change_even_when_the_utc_day_differs():
    # 23:30 in Paris is 21:30 UTC in summer and 22:30 UTC in winter; in Martinique (no summer
    # time) 20:30 is always 00:30 UTC the next day.
    spans = expand(datetime(2026, 10, 20, 23, 30), datetime(2026, 10, 20, 23, 45), "FREQ=WEEKLY;BYDAY=TU;COUNT=2")
    assert starts(spans) == [utc(2026, 10, 20, 21, 30), utc(2026, 10, 27, 22, 30)]

    spans = expand(datetime(2026, 10, 20, 20, 30), datetime(2026, 10, 20, 22), "FREQ=WEEKLY;BYDAY=TU;COUNT=2",
                   tz="America/Martinique")
    assert starts(spans) == [utc(2026, 10, 21, 0, 30), utc(2026, 10, 28, 0, 30)]


def test_monthly_on_the_second_tuesday():
    start = date(2026, 9, 8)  # the 2nd Tuesday of September 2026
    rule = build_rule("monthly", start, count=6)
    assert rule == "FREQ=MONTHLY;BYDAY=2TU;COUNT=6"

    spans = expand(datetime(2026, 9, 8, 9), datetime(2026, 9, 8, 12), rule)
    days = [paris(s).date() for s in starts(spans)]
    assert days == [date(2026, 9, 8), date(2026, 10, 13), date(2026, 11, 10), date(2026, 12, 8),
                    date(2027, 1, 12), date(2027, 2, 9)]
    for d in days:
        assert d.weekday() == 1 and 8 <= d.day <= 14  # a Tuesday, the second of its month
    assert {paris(s).time() for s in starts(spans)} == {time(9)}  # summer and winter alike


def test_monthly_on_the_last_friday():
    start = date(2026, 10, 30)  # the last (5th) Friday of October 2026
    rule = build_rule("monthly", start, count=5)
    assert rule == "FREQ=MONTHLY;BYDAY=-1FR;COUNT=5"

    spans = expand(datetime(2026, 10, 30, 14), datetime(2026, 10, 30, 16), rule)
    days = [paris(s).date() for s in starts(spans)]
    # November, December and February have only four Fridays: « the 5th » would skip them.
    assert days == [date(2026, 10, 30), date(2026, 11, 27), date(2026, 12, 25), date(2027, 1, 29),
                    date(2027, 2, 26)]
    for d in days:
        assert d.weekday() == 4 and (d + timedelta(days=7)).month != d.month


def test_every_other_week_on_two_days():
    rule = build_rule("weekly", date(2026, 10, 6), interval=2, weekdays=["TH", "TU"], count=6)
    assert rule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;COUNT=6"

    spans = expand(datetime(2026, 10, 6, 9), datetime(2026, 10, 6, 10), rule)
    assert [paris(s).date() for s in starts(spans)] == [
        date(2026, 10, 6), date(2026, 10, 8), date(2026, 10, 20), date(2026, 10, 22), date(2026, 11, 3),
        date(2026, 11, 5)]


def test_every_two_months_on_the_second_tuesday():
    rule = build_rule("monthly", date(2026, 9, 8), interval=2, count=3)
    spans = expand(datetime(2026, 9, 8, 9), datetime(2026, 9, 8, 12), rule)
    assert [paris(s).date() for s in starts(spans)] == [date(2026, 9, 8), date(2026, 11, 10), date(2027, 1, 12)]


def test_until_includes_its_last_day_and_stops_there():
    rule = build_rule("weekly", date(2026, 10, 6), weekdays=["TU"], until=date(2026, 10, 27))
    spans = expand(datetime(2026, 10, 6, 18), datetime(2026, 10, 6, 20), rule)
    assert [paris(s).date() for s in starts(spans)] == [date(2026, 10, 6), date(2026, 10, 13), date(2026, 10, 20),
                                                        date(2026, 10, 27)]
    assert until_date(rule.split("UNTIL=")[1]) == date(2026, 10, 27)


def test_until_includes_an_evening_session_of_its_last_day_in_a_zone_behind_utc():
    # 20:30 in Martinique on Tuesday 26 January is 00:30 UTC on the 27th: still « jusqu'au 26/01 ».
    rule = build_rule("weekly", date(2027, 1, 5), weekdays=["TU"], until=date(2027, 1, 26), tz="America/Martinique")
    spans = expand(datetime(2027, 1, 5, 20, 30), datetime(2027, 1, 5, 22), rule, tz="America/Martinique")
    local = [s.astimezone(ZoneInfo("America/Martinique")) for s in starts(spans)]
    assert [d.date() for d in local] == [date(2027, 1, 5), date(2027, 1, 12), date(2027, 1, 19), date(2027, 1, 26)]
    assert until_date(rule.split("UNTIL=")[1], "America/Martinique") == date(2027, 1, 26)


def test_until_stops_a_zone_ahead_of_utc_on_its_last_local_day():
    # 9:00 in Nouméa (UTC+11) on Wednesday 27 January is 22:00 UTC on the 26th: not part of a
    # series that ends on the 26th... and the 20th is.
    rule = build_rule("weekly", date(2027, 1, 13), weekdays=["WE"], until=date(2027, 1, 26), tz="Pacific/Noumea")
    spans = expand(datetime(2027, 1, 13, 9), datetime(2027, 1, 13, 10), rule, tz="Pacific/Noumea")
    assert [s.astimezone(ZoneInfo("Pacific/Noumea")).date() for s in starts(spans)] == [
        date(2027, 1, 13), date(2027, 1, 20)]


def test_count_gives_exactly_that_many_occurrences():
    rule = build_rule("weekly", date(2026, 10, 6), weekdays=["TU"], count=5)
    assert rule.endswith(";COUNT=5")
    spans = expand(datetime(2026, 10, 6, 9), datetime(2026, 10, 6, 10), rule)
    assert len(spans) == 5
    assert paris(spans[-1][0]).date() == date(2026, 11, 3)


def test_excluded_dates_remove_those_occurrences_on_both_sides_of_the_change():
    rule = build_rule("weekly", date(2026, 10, 13), weekdays=["TU"], until=date(2026, 11, 10))
    spans = expand(datetime(2026, 10, 13, 9), datetime(2026, 10, 13, 12), rule,
                   exdates=["2026-10-20", "2026-11-03"])
    assert [paris(s).date() for s in starts(spans)] == [date(2026, 10, 13), date(2026, 10, 27), date(2026, 11, 10)]
    assert {paris(s).time() for s in starts(spans)} == {time(9)}


def test_all_day_series_cover_whole_paris_days_in_summer_and_in_winter():
    rule = build_rule("weekly", date(2026, 10, 14), weekdays=["WE"], until=date(2026, 11, 4), all_day=True)
    assert rule == "FREQ=WEEKLY;BYDAY=WE;UNTIL=20261104"  # a DATE, like the DTSTART of an all-day event
    spans = expand(datetime(2026, 10, 14), datetime(2026, 10, 14), rule, exdates=["2026-10-28"], all_day=True)

    assert spans == [(utc(2026, 10, 13, 22), utc(2026, 10, 14, 22)), (utc(2026, 10, 20, 22), utc(2026, 10, 21, 22)),
                     (utc(2026, 11, 3, 23), utc(2026, 11, 4, 23))]
    for s, e in spans:
        assert paris(s).time() == time(0) and paris(e).time() == time(0)
        assert paris(e).date() - paris(s).date() == timedelta(days=1)


def test_a_two_day_all_day_event_repeated_monthly_keeps_its_two_days():
    spans = expand(datetime(2026, 10, 13), datetime(2026, 10, 14), "FREQ=MONTHLY;BYDAY=2TU;COUNT=2", all_day=True)
    assert [(paris(s).date(), paris(e).date()) for s, e in spans] == [
        (date(2026, 10, 13), date(2026, 10, 15)), (date(2026, 11, 10), date(2026, 11, 12))]


def test_an_event_without_a_rule_has_one_occurrence():
    assert expand(datetime(2026, 10, 13, 9), datetime(2026, 10, 13, 12), None) == [
        (utc(2026, 10, 13, 7), utc(2026, 10, 13, 10))]


@pytest.mark.parametrize("rule", [
    "FREQ=SOMETIMES", "FREQ=WEEKLY;BYDAY=XX", "FREQ=WEEKLY;UNTIL=demain", "FREQ=WEEKLY;COUNT=beaucoup",
    "FREQ=WEEKLY;INTERVAL=-1", "BYDAY=TU", "FREQ=MONTHLY;BYDAY=9TU", "n'importe quoi",
])
def test_an_invalid_rule_is_a_recurrence_error_not_a_crash(rule):
    with pytest.raises(RecurrenceError):
        expand(datetime(2026, 10, 13, 9), datetime(2026, 10, 13, 12), rule)


# -- through the form and the calendar pages --------------------------------------------------------

def test_weekly_event_proposed_in_the_form_shows_at_nine_on_both_sides_of_the_october_change(
        app, anim_client, animateur):
    resp = create(anim_client, animateur.organization_id, title="Atelier numérique du mardi",
                  start_date="2026-10-20", end_date="2026-10-20", start_time="09:00", end_time="12:00",
                  repeat="weekly", repeat_days=["TU"], repeat_until="2026-11-10")
    event = created_event(resp)
    assert event.status == "published"
    assert event.rrule.startswith("FREQ=WEEKLY;BYDAY=TU;UNTIL=")
    assert stored_starts(event) == [utc(2026, 10, 20, 7), utc(2026, 10, 27, 8), utc(2026, 11, 3, 8),
                                    utc(2026, 11, 10, 8)]

    october = month_cells(anim_client.get("/events/?vue=mois&date=2026-10-01"))
    assert october[20] == ["09:00 Atelier numérique du mardi"]
    assert october[27] == ["09:00 Atelier numérique du mardi"]
    assert october[13] == [] and october[21] == [] and october[26] == [] and october[28] == []
    november = month_cells(anim_client.get("/events/?vue=mois&date=2026-11-15"))
    assert november[3] == november[10] == ["09:00 Atelier numérique du mardi"]
    assert november[17] == []  # after « jusqu'au 10/11/2026 »

    before = week_cells(anim_client.get("/events/?vue=semaine&date=2026-10-21"))
    after = week_cells(anim_client.get("/events/?vue=semaine&date=2026-10-29"))
    assert before["mardi 20"] == ["09:00 Atelier numérique du mardi"]
    assert after["mardi 27"] == ["09:00 Atelier numérique du mardi"]
    assert all(not chips for day, chips in after.items() if day != "mardi 27")

    page = text(anim_client.get(f"/events/{event.id}"))
    assert "mardi 20 octobre 2026, 09:00 – 12:00" in page
    assert "Se répète : chaque semaine, jusqu'au 10/11/2026" in page


def test_weekly_event_proposed_in_the_form_shows_at_nine_on_both_sides_of_the_march_change(
        app, anim_client, animateur):
    event = created_event(create(anim_client, animateur.organization_id, title="Point hebdo",
                                 start_date="2027-03-16", end_date="2027-03-16", start_time="09:00",
                                 end_time="10:00", repeat="weekly", repeat_days=["TU"], repeat_until="2027-04-06"))
    assert stored_starts(event) == [utc(2027, 3, 16, 8), utc(2027, 3, 23, 8), utc(2027, 3, 30, 7), utc(2027, 4, 6, 7)]

    march = month_cells(anim_client.get("/events/?vue=mois&date=2027-03-01"))
    assert march[16] == march[23] == march[30] == ["09:00 Point hebdo"]
    april = month_cells(anim_client.get("/events/?vue=mois&date=2027-04-01"))
    assert april[6] == ["09:00 Point hebdo"]
    assert april[13] == []
    week = week_cells(anim_client.get("/events/?vue=semaine&date=2027-03-31"))
    assert week["mardi 30"] == ["09:00 Point hebdo"]


def test_weekly_event_on_several_days_of_the_week_from_the_check_boxes(app, anim_client, animateur):
    event = created_event(create(anim_client, animateur.organization_id, title="Permanence",
                                 start_date="2026-10-19", end_date="2026-10-19", start_time="14:00",
                                 end_time="17:00", repeat="weekly", repeat_days=["MO", "TH"],
                                 repeat_until="2026-10-29"))
    assert "BYDAY=MO,TH" in event.rrule
    cells = month_cells(anim_client.get("/events/?vue=mois&date=2026-10-01"))
    assert [d for d, chips in cells.items() if chips] == [19, 22, 26, 29]
    assert {chip for d in (19, 22, 26, 29) for chip in cells[d]} == {"14:00 Permanence"}


def test_monthly_on_the_second_tuesday_from_the_form(app, anim_client, animateur):
    event = created_event(create(anim_client, animateur.organization_id, title="Comité de pilotage",
                                 start_date="2026-09-08", end_date="2026-09-08", start_time="10:00",
                                 end_time="12:00", repeat="monthly", repeat_until="2026-12-31"))
    assert event.rrule.startswith("FREQ=MONTHLY;BYDAY=2TU;UNTIL=")

    october = month_cells(anim_client.get("/events/?vue=mois&date=2026-10-01"))
    assert [d for d, chips in october.items() if chips] == [13]
    assert october[13] == ["10:00 Comité de pilotage"]
    november = month_cells(anim_client.get("/events/?vue=mois&date=2026-11-01"))
    assert [d for d, chips in november.items() if chips] == [10]
    assert november[10] == ["10:00 Comité de pilotage"]  # winter time now: still 10:00
    december = month_cells(anim_client.get("/events/?vue=mois&date=2026-12-01"))
    assert [d for d, chips in december.items() if chips] == [8]
    january = month_cells(anim_client.get("/events/?vue=mois&date=2027-01-01"))
    assert not any(january.values())  # ended on 31 December
    assert "Se répète : chaque mois, jusqu'au 31/12/2026" in text(anim_client.get(f"/events/{event.id}"))


def test_monthly_on_the_last_friday_from_the_form(app, anim_client, animateur):
    event = created_event(create(anim_client, animateur.organization_id, title="Apéro du réseau",
                                 start_date="2026-10-30", end_date="2026-10-30", start_time="18:00",
                                 end_time="20:00", repeat="monthly"))
    assert event.rrule == "FREQ=MONTHLY;BYDAY=-1FR"
    for month, day in (("2026-11-01", 27), ("2026-12-01", 25), ("2027-01-01", 29), ("2027-02-01", 26)):
        cells = month_cells(anim_client.get(f"/events/?vue=mois&date={month}"))
        assert [d for d, chips in cells.items() if chips] == [day], month
        assert cells[day] == ["18:00 Apéro du réseau"]


def test_every_other_week_from_the_form(app, anim_client, animateur):
    event = created_event(create(anim_client, animateur.organization_id, title="Café des saisonniers",
                                 start_date="2026-10-06", end_date="2026-10-06", start_time="08:30",
                                 end_time="09:30", repeat="weekly", repeat_days=["TU"], repeat_interval="2",
                                 repeat_until="2026-11-30"))
    assert "INTERVAL=2" in event.rrule
    assert [paris(s).date() for s in stored_starts(event)] == [
        date(2026, 10, 6), date(2026, 10, 20), date(2026, 11, 3), date(2026, 11, 17)]
    cells = month_cells(anim_client.get("/events/?vue=mois&date=2026-10-01"))
    assert [d for d, chips in cells.items() if chips] == [6, 20]
    assert "Se répète : chaque semaine (tous les 2), jusqu'au 30/11/2026" in text(
        anim_client.get(f"/events/{event.id}"))


def test_an_evening_series_in_martinique_keeps_its_last_day_from_the_form(app, anim_client, animateur):
    event = created_event(create(anim_client, animateur.organization_id, title="Visio Antilles",
                                 start_date="2027-01-05", end_date="2027-01-05", start_time="20:30",
                                 end_time="22:00", tz="America/Martinique", repeat="weekly", repeat_days=["TU"],
                                 repeat_until="2027-01-26"))
    local = [s.astimezone(ZoneInfo("America/Martinique")) for s in stored_starts(event)]
    assert [d.date() for d in local] == [date(2027, 1, 5), date(2027, 1, 12), date(2027, 1, 19), date(2027, 1, 26)]
    assert {d.time() for d in local} == {time(20, 30)}
    page = text(anim_client.get(f"/events/{event.id}"))
    assert "mardi 5 janvier 2027, 20:30 – 22:00 (America/Martinique)" in page  # its own local time
    assert "jusqu'au 26/01/2027" in page
    # The edit form gives back the same last day (not the UTC date of the rule's UNTIL).
    form = anim_client.get(f"/events/{event.id}/modifier").get_data(as_text=True)
    assert re.search(r'name="repeat_until"[^>]*value="2027-01-26"', form)


def test_excluded_dates_from_the_form_remove_those_days_from_the_calendar(app, anim_client, animateur):
    event = created_event(create(anim_client, animateur.organization_id, title="Accueil vélo",
                                 start_date="2026-10-13", end_date="2026-10-13", start_time="09:00",
                                 end_time="11:00", repeat="weekly", repeat_days=["TU"], repeat_until="2026-11-10",
                                 exceptions="20/10/2026\n 03/11/2026 \n"))
    assert event.exdates == ["2026-10-20", "2026-11-03"]
    assert [paris(s).date() for s in stored_starts(event)] == [date(2026, 10, 13), date(2026, 10, 27),
                                                               date(2026, 11, 10)]
    october = month_cells(anim_client.get("/events/?vue=mois&date=2026-10-01"))
    assert october[20] == [] and october[13] == october[27] == ["09:00 Accueil vélo"]
    november = month_cells(anim_client.get("/events/?vue=mois&date=2026-11-01"))
    assert november[3] == [] and november[10] == ["09:00 Accueil vélo"]

    # Editing the exceptions puts the day back and removes another.
    data = event_form(organization_id=animateur.organization_id, title="Accueil vélo", start_date="2026-10-13",
                      end_date="2026-10-13", start_time="09:00", end_time="11:00", repeat="weekly",
                      repeat_days=["TU"], repeat_until="2026-11-10", exceptions="27/10/2026")
    resp = post(anim_client, f"/events/{event.id}/modifier", data)
    assert resp.status_code == 302, text(resp)[:1000]
    october = month_cells(anim_client.get("/events/?vue=mois&date=2026-10-01"))
    assert october[20] == ["09:00 Accueil vélo"] and october[27] == []
    form = anim_client.get(f"/events/{event.id}/modifier").get_data(as_text=True)
    assert "27/10/2026" in form


def test_all_day_weekly_event_from_the_form_fills_each_wednesday_and_only_it(app, anim_client, animateur):
    event = created_event(create(anim_client, animateur.organization_id, title="Journée portes ouvertes",
                                 is_all_day=True, start_date="2026-10-14", end_date="2026-10-14", start_time="",
                                 end_time="", repeat="weekly", repeat_days=["WE"], repeat_until="2026-11-04",
                                 exceptions="28/10/2026"))
    assert event.is_all_day
    assert event.rrule == "FREQ=WEEKLY;BYDAY=WE;UNTIL=20261104"
    db.session.expire_all()
    spans = db.session.execute(sa.select(Occurrence.start_at, Occurrence.end_at).where(
        Occurrence.event_id == event.id).order_by(Occurrence.start_at)).all()
    assert [(paris(s).date(), paris(e).date()) for s, e in spans] == [
        (date(2026, 10, 14), date(2026, 10, 15)), (date(2026, 10, 21), date(2026, 10, 22)),
        (date(2026, 11, 4), date(2026, 11, 5))]
    assert {(paris(s).time(), paris(e).time()) for s, e in spans} == {(time(0), time(0))}

    october = month_cells(anim_client.get("/events/?vue=mois&date=2026-10-01"))
    assert [d for d, chips in october.items() if chips] == [14, 21]
    assert october[14] == ["Journée portes ouvertes"]  # no hour on an all-day chip
    november = month_cells(anim_client.get("/events/?vue=mois&date=2026-11-01"))
    assert [d for d, chips in november.items() if chips] == [4]
    week = week_cells(anim_client.get("/events/?vue=semaine&date=2026-11-02"))
    assert week["mercredi 4"] == ["Journée portes ouvertes"]
    assert week["mardi 3"] == [] and week["jeudi 5"] == []


def test_a_member_proposing_a_series_waits_for_validation_and_the_series_appears_once_validated(
        app, as_, make_user, animateur, anim_client):
    member = make_user()
    c = as_(member)
    event = created_event(create(c, member.organization_id, title="Randonnée du jeudi", start_date="2026-10-22",
                                 end_date="2026-10-22", start_time="09:00", end_time="12:00", repeat="weekly",
                                 repeat_days=["TH"], repeat_until="2026-11-05"))
    assert event.status == "pending"
    other = as_(make_user())
    assert not any(month_cells(other.get("/events/?vue=mois&date=2026-10-01")).values())

    resp = post(anim_client, f"/events/{event.id}/valider", {})
    assert resp.status_code == 302
    cells = month_cells(other.get("/events/?vue=mois&date=2026-10-01"))
    assert cells[22] == cells[29] == ["09:00 Randonnée du jeudi"]


# -- bad repetitions: French errors, nothing created ------------------------------------------------

def _no_event_created():
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count(Event.id))) == 0 and \
        db.session.scalar(sa.select(sa.func.count()).select_from(Occurrence)) == 0


@pytest.mark.parametrize("fields, message", [
    ({"repeat": "yearly"}, "N'est pas un choix valide."),  # WTForms' own message, in French
    ({"repeat": "weekly", "repeat_interval": "13"}, "Entre 1 et 12."),
    ({"repeat": "weekly", "repeat_interval": "0"}, "Entre 1 et 12."),
    ({"repeat": "weekly", "repeat_until": "2026-10-01"}, "La fin de la répétition est avant le début."),
    ({"repeat": "weekly", "exceptions": "31/02/2026"}, "Date exclue illisible : « 31/02/2026 » (JJ/MM/AAAA)."),
    ({"repeat": "weekly", "exceptions": "FREQ=DAILY"}, "Date exclue illisible"),
])
def test_an_invalid_repetition_in_the_form_gives_a_french_error_and_creates_nothing(
        app, anim_client, animateur, fields, message):
    base = {"start_date": "2026-10-13", "end_date": "2026-10-13"}
    resp = create(anim_client, animateur.organization_id, **base, **fields)
    assert resp.status_code == 400
    assert message in text(resp)
    assert _no_event_created()


def test_an_invalid_rule_reaching_the_service_is_a_french_error_and_nothing_is_left_behind(app, animateur):
    with pytest.raises(services.EventError, match="La règle de répétition est invalide."):
        make_event(animateur, start=datetime(2026, 10, 13, 9), rrule="FREQ=MONTHLY;BYDAY=9TU")
    db.session.rollback()
    assert _no_event_created()


def test_an_invalid_stored_rule_met_on_edit_is_a_french_error_not_a_500(app, anim_client, animateur):
    event = make_event(animateur, "Série abîmée", start=datetime(2026, 10, 13, 9),
                       rrule="FREQ=WEEKLY;BYDAY=TU;COUNT=3")
    # A rule damaged in the database (say, by an old import): the event page still opens...
    db.session.execute(sa.update(Event).where(Event.id == event.id).values(rrule="FREQ=WEEKLY;BYDAY=9TU"))
    db.session.commit()
    resp = anim_client.get(f"/events/{event.id}")
    assert resp.status_code == 200
    # ...and saving it without a repetition repairs it.
    data = event_form(organization_id=animateur.organization_id, title="Série réparée", start_date="2026-10-13",
                      end_date="2026-10-13", repeat="")
    resp = post(anim_client, f"/events/{event.id}/modifier", data)
    assert resp.status_code == 302, text(resp)[:1000]
    db.session.expire_all()
    assert db.session.get(Event, event.id).rrule is None
    assert len(stored_starts(event)) == 1
