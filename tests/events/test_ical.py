"""iCalendar export: the .ics of one event and the personal subscription feed.

Every file is checked on its raw bytes (CRLF line ends, lines of at most 75 octets, folds that
never cut a UTF-8 character) and parsed back with ``icalendar``; recurring events are expanded
from the parsed feed with ``recurring_ical_events`` and must give the app's own local times on
both sides of a daylight-saving change. The subscription URL is fetched with a client that is
not logged in, as a calendar app does.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
import sqlalchemy as sa
from babel.dates import format_date

from intranet.events.models import CalendarToken, Event, Occurrence
from intranet.extensions import db
from tests.events.conftest import event_form, make_event, paris_day, post, text

PARIS = ZoneInfo("Europe/Paris")
TOKEN_URL = re.compile(r"https?://[^/\"]+/events/ical/([A-Za-z0-9_-]+)\.ics")


# -- reading .ics files the strict way ----------------------------------------------------------

def physical_lines(raw: bytes) -> list[bytes]:
    """The file's lines, after checking RFC 5545's framing on the raw bytes."""
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n")
    assert raw.endswith(b"END:VCALENDAR\r\n")
    lines = raw.split(b"\r\n")[:-1]
    for line in lines:
        assert b"\n" not in line and b"\r" not in line, f"bare line break in {line!r}"
        assert len(line) <= 75, f"{len(line)} octets: {line!r}"
        line.decode("utf-8")  # strict: a fold must never cut a character in two
    return lines


def parse(raw: bytes) -> icalendar.Calendar:
    physical_lines(raw)
    cal = icalendar.Calendar.from_ical(raw)
    for component in cal.walk():
        assert not component.errors, component.errors  # nothing the parser had to skip
    return cal


def vevents(cal) -> list:
    return list(cal.walk("VEVENT"))


def by_title(cal) -> dict[str, icalendar.Event]:
    return {str(e["SUMMARY"]): e for e in vevents(cal)}


def calendar_name(cal) -> str:
    """X-WR-CALNAME, unescaped as RFC 5545 TEXT (icalendar leaves an X- property as written)."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1),
                  str(cal["X-WR-CALNAME"]))


def download(c, event) -> bytes:
    resp = c.get(f"/events/{event.id}/evenement.ics")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert resp.headers["Content-Disposition"] == f'attachment; filename="evenement-{event.id}.ics"'
    return resp.data


# -- the subscription page, as a person uses it -------------------------------------------------

def press(c, page_url: str, label: str):
    """Press the button ``label`` of the page (each is a small POST form)."""
    body = c.get(page_url).get_data(as_text=True)
    for action, form in re.findall(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', body, flags=re.S):
        if re.search(rf">\s*{re.escape(label)}\s*</button>", html.unescape(form)):
            return post(c, html.unescape(action), {})
    raise AssertionError(f"no button « {label} » on {page_url}")


def subscribe(c) -> str:
    """Create (or re-create) one's subscription address; returns its token."""
    page = c.get("/events/abonnement").get_data(as_text=True)
    label = "Créer mon adresse d’abonnement" if "Créer mon adresse" in page else "Créer une nouvelle adresse"
    resp = press(c, "/events/abonnement", label)
    assert resp.status_code == 302
    return current_token(c)


def current_token(c) -> str:
    page = c.get("/events/abonnement").get_data(as_text=True)
    match = TOKEN_URL.search(page)
    assert match, "no subscription address on the page"
    return match.group(1)


def feed(app, token: str, query: str = ""):
    """The feed fetched like a calendar app: a fresh client, no session."""
    return app.test_client().get(f"/events/ical/{token}.ics{query}")


def feed_titles(app, token: str, query: str = "") -> set[str]:
    resp = feed(app, token, query)
    assert resp.status_code == 200
    return set(by_title(parse(resp.data)))


def next_change(month: int) -> date:
    """The next daylight-saving change of Paris in ``month`` (3 or 10: its last Sunday), at
    least 6 days from today, so that a weekly series around it lies within the feed's year."""
    today = paris_day(0)
    for year in (today.year, today.year + 1):
        day = date(year, month, 31)
        while day.weekday() != 6:
            day -= timedelta(days=1)
        if day >= today + timedelta(days=6):
            return day
    raise AssertionError("unreachable")


@pytest.fixture
def animateur(make_user):
    return make_user(role="animateur", name="Anne Animatrice")


@pytest.fixture
def anim_client(as_, animateur):
    return as_(animateur)


# -- one event's .ics -------------------------------------------------------------------------------

def test_event_ics_download_is_valid_icalendar_with_version_prodid_vtimezone_and_utc_dtstamp(
        app, anim_client, animateur, categories):
    event = make_event(animateur, "Formation accueil", start=datetime.combine(paris_day(10), time(9)),
                       end=datetime.combine(paris_day(10), time(12)), category=categories["Formation"],
                       place="Maison du tourisme", commune="Salers")
    raw = download(anim_client, event)
    cal = parse(raw)

    assert cal["VERSION"] == "2.0"
    assert str(cal["PRODID"]).startswith("-//") and "Agenda" in str(cal["PRODID"])
    zones = [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")]
    assert zones == ["Europe/Paris"]
    assert b"\r\nX-WR-TIMEZONE:Europe/Paris\r\n" in raw

    (vevent,) = vevents(cal)
    assert str(vevent["UID"]) == event.uid
    assert re.search(rb"\r\nDTSTAMP:\d{8}T\d{6}Z\r\n", raw)  # a UTC time, « Z »
    stamp = vevent["DTSTAMP"].dt
    assert stamp.utcoffset() == timedelta(0)
    assert abs(stamp - datetime.now(UTC)) < timedelta(minutes=5)
    assert vevent["DTSTART"].params["TZID"] == "Europe/Paris"
    assert vevent["DTSTART"].dt == datetime.combine(paris_day(10), time(9), PARIS)
    assert vevent["DTEND"].dt == datetime.combine(paris_day(10), time(12), PARIS)
    assert str(vevent["SUMMARY"]) == "Formation accueil"
    assert str(vevent["LOCATION"]) == "Maison du tourisme, Salers"
    assert vevent["CATEGORIES"].cats == ["Formation"]
    assert str(vevent["STATUS"]) == "CONFIRMED"
    assert str(vevent["URL"]).endswith(f"/events/{event.id}")
    assert "RRULE" not in vevent


def test_event_ics_of_an_all_day_event_uses_dates_with_an_exclusive_end(app, anim_client, animateur):
    event = make_event(animateur, "Salon des randonnées", start=date(2027, 5, 14), end=date(2027, 5, 16))
    raw = download(anim_client, event)
    assert b"\r\nDTSTART;VALUE=DATE:20270514\r\n" in raw
    assert b"\r\nDTEND;VALUE=DATE:20270517\r\n" in raw
    (vevent,) = vevents(parse(raw))
    assert vevent["DTSTART"].dt == date(2027, 5, 14) and vevent["DTEND"].dt == date(2027, 5, 17)


def test_event_ics_gives_a_vtimezone_for_every_tzid_it_uses(app, anim_client, animateur):
    make_event(animateur, "Rencontre Caraïbes", start=datetime.combine(paris_day(12), time(18, 30)),
               end=datetime.combine(paris_day(12), time(20)), tz="America/Martinique")
    make_event(animateur, "Réunion à Aurillac", start=datetime.combine(paris_day(12), time(9)))
    token = subscribe(anim_client)
    cal = parse(feed(app, token).data)
    assert sorted(str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")) == ["America/Martinique", "Europe/Paris"]
    caraibes = by_title(cal)["Rencontre Caraïbes"]
    assert caraibes["DTSTART"].params["TZID"] == "America/Martinique"
    assert caraibes["DTSTART"].dt == datetime.combine(paris_day(12), time(18, 30), ZoneInfo("America/Martinique"))


def test_event_ics_uid_is_stable_and_sequence_increases_on_each_change(app, as_, make_user, anim_client,
                                                                       animateur):
    member = make_user()
    c = as_(member)
    day = paris_day(14)
    resp = post(c, "/events/nouveau", event_form(organization_id=member.organization_id, title="Atelier photo",
                                                 start_date=day, end_date=day))
    assert resp.status_code == 302
    event = db.session.scalar(sa.select(Event))
    assert post(anim_client, f"/events/{event.id}/valider", {}).status_code == 302

    first, second = download(c, event), download(c, event)
    one, two = vevents(parse(first))[0], vevents(parse(second))[0]
    assert str(one["UID"]) == str(two["UID"]) and str(one["UID"]).strip()
    assert one["SEQUENCE"] == two["SEQUENCE"]
    sequences = [one["SEQUENCE"]]

    # An animateur edits it twice (description, then the time): same UID, SEQUENCE up each time.
    for description, start_time in (("Apportez votre appareil.", "09:00"), ("Apportez votre appareil.", "10:00")):
        data = event_form(organization_id=member.organization_id, title="Atelier photo", start_date=day,
                          end_date=day, start_time=start_time, description=description)
        assert post(anim_client, f"/events/{event.id}/modifier", data).status_code == 302
        vevent = vevents(parse(download(c, event)))[0]
        assert str(vevent["UID"]) == str(one["UID"])
        assert vevent["SEQUENCE"] > sequences[-1]
        sequences.append(vevent["SEQUENCE"])
    assert vevent["DTSTART"].dt == datetime.combine(day, time(10), PARIS)

    # The feed carries the same UID and SEQUENCE as the download.
    token = subscribe(c)
    in_feed = by_title(parse(feed(app, token).data))["Atelier photo"]
    assert str(in_feed["UID"]) == str(one["UID"]) and in_feed["SEQUENCE"] == sequences[-1]

    # Cancelling: still the same UID, a higher SEQUENCE, STATUS:CANCELLED (download and feed).
    assert press(anim_client, f"/events/{event.id}", "Annuler l’événement").status_code == 302
    raw = download(c, event)
    cancelled = vevents(parse(raw))[0]
    assert b"\r\nSTATUS:CANCELLED\r\n" in raw
    assert str(cancelled["UID"]) == str(one["UID"]) and cancelled["SEQUENCE"] > sequences[-1]
    in_feed = by_title(parse(feed(app, token).data))["Atelier photo"]
    assert str(in_feed["STATUS"]) == "CANCELLED" and in_feed["SEQUENCE"] == cancelled["SEQUENCE"]


def test_two_events_never_share_a_uid_in_the_ics_feed(app, anim_client, animateur):
    for n in range(5):
        make_event(animateur, f"Atelier {n}", start=datetime.combine(paris_day(3 + n), time(9)))
    cal = parse(feed(app, subscribe(anim_client)).data)
    uids = [str(e["UID"]) for e in vevents(cal)]
    assert len(uids) == 5 == len(set(uids))
    assert all(re.fullmatch(r"[^\s@]+@[^\s@]+", uid) for uid in uids)  # globally unique form « …@host »


def test_event_ics_is_404_for_an_event_one_may_not_see_or_not_yet_published(app, as_, make_user, make_org,
                                                                              animateur):
    other_org = make_org()
    member = make_user()
    hidden = make_event(animateur, "Réservé à un autre office", audience=[("org", other_org.id)],
                        start=datetime.combine(paris_day(5), time(9)))
    pending = make_event(make_user(organization=member.organization), "Pas encore validé", publish=False)
    c = as_(member)
    assert c.get(f"/events/{hidden.id}/evenement.ics").status_code == 404
    assert c.get(f"/events/{pending.id}/evenement.ics").status_code == 404
    assert app.test_client().get(f"/events/{hidden.id}/evenement.ics").status_code == 302  # to the login page


# -- RFC 5545 framing: folding and escaping ----------------------------------------------------

def test_ics_lines_are_folded_at_75_octets_with_crlf_and_never_split_a_utf8_character(app, anim_client,
                                                                                      animateur):
    # ASCII prefixes of 0–3 characters put the fold at every byte offset of 2-, 3- and 4-byte
    # characters (é, €, 🎉).
    titles = [("x" * k) + "é€🎉" * 12 for k in range(4)]
    description = "Programme : " + "accueil des participants — café 🥐, échanges ; " * 12
    for n, title in enumerate(titles):
        make_event(animateur, title, start=datetime.combine(paris_day(4 + n), time(9)), description=description,
                   place=("Salle « Ève » " * 8).strip(), commune="Saint-Flour")
    raw = feed(app, subscribe(anim_client)).data
    lines = physical_lines(raw)
    assert max(len(line) for line in lines) > 70  # long lines were folded, not avoided
    assert any(line.startswith(b" ") for line in lines)
    cal = parse(raw)
    got = by_title(cal)
    assert set(got) == set(titles)
    for title in titles:
        assert str(got[title]["DESCRIPTION"]).startswith(description + "\n")
        assert str(got[title]["LOCATION"]) == ("Salle « Ève » " * 8).strip() + ", Saint-Flour"
    # Also the one-event download, whose calendar name is the title.
    event = db.session.scalar(sa.select(Event).where(Event.title == titles[1]))
    cal = parse(download(anim_client, event))
    assert calendar_name(cal) == titles[1]


TRICKY_TITLE = "Réunion ; bilan, « été » \\ C:\\nouveau\\dossier 🎉\nsuite du titre"
TRICKY_DESCRIPTION = ("Ordre du jour ; points, virgules, et \\ antislash.\n"
                      "Deuxième ligne : café ☕ — crème brûlée 🍮\n"
                      "\n"
                      "Chemin Windows : C:\\nouveau\\table (pas de saut de ligne ici)\n"
                      "Fin ; , \\ ; \\n littéral")


def test_ics_round_trip_keeps_semicolons_commas_backslashes_line_breaks_emoji_and_accents(
        app, as_, anim_client, animateur, categories):
    # Typed in the form: the browser sends the textarea's line breaks as CRLF.
    day = paris_day(9)
    data = event_form(organization_id=animateur.organization_id, title=TRICKY_TITLE, start_date=day, end_date=day,
                      description=TRICKY_DESCRIPTION.replace("\n", "\r\n"), place="Salle 2 ; bâtiment B, 1er étage",
                      commune="Saint-Étienne-de-Chomeil", category_id=categories["Réunion réseau"].id)
    resp = post(anim_client, "/events/nouveau", data)
    assert resp.status_code == 302, text(resp)[:1000]
    event = db.session.scalar(sa.select(Event))
    url = f"http://localhost/events/{event.id}"
    organizer = event.organization.name

    for raw in (download(anim_client, event), feed(app, subscribe(anim_client)).data):
        cal = parse(raw)
        (vevent,) = vevents(cal)
        assert str(vevent["SUMMARY"]) == TRICKY_TITLE.strip()
        assert str(vevent["DESCRIPTION"]) == f"{TRICKY_DESCRIPTION}\nOrganisateur : {organizer}\n\n{url}"
        assert str(vevent["LOCATION"]) == "Salle 2 ; bâtiment B, 1er étage, Saint-Étienne-de-Chomeil"
        assert vevent["CATEGORIES"].cats == ["Réunion réseau"]
    # The escapes themselves, on the wire.
    raw = download(anim_client, event)
    unfolded = raw.replace(b"\r\n ", b"").decode("utf-8")
    assert "SUMMARY:Réunion \\; bilan\\, « été » \\\\ C:\\\\nouveau\\\\dossier 🎉\\nsuite du titre\r\n" in unfolded
    assert calendar_name(parse(raw)) == TRICKY_TITLE.strip()


def test_ics_round_trip_of_a_description_with_only_special_characters(app, anim_client, animateur):
    nasty = ";,\\\n\\n\\;\\,;;,,\\\\\n🎉é"
    make_event(animateur, ";", start=datetime.combine(paris_day(6), time(9)), description=nasty)
    (vevent,) = vevents(parse(feed(app, subscribe(anim_client)).data))
    assert str(vevent["SUMMARY"]) == ";"
    assert str(vevent["DESCRIPTION"]).startswith(nasty + "\n")


# -- recurring events in the feed ---------------------------------------------------------------------

@pytest.mark.parametrize("month", [10, 3], ids=["october", "march"])
def test_recurring_event_ics_has_rrule_and_exdate_and_expands_to_the_apps_local_times_across_the_change(
        app, anim_client, animateur, month):
    change = next_change(month)
    first, excluded, last = change - timedelta(days=12), change - timedelta(days=5), change + timedelta(days=9)
    data = event_form(organization_id=animateur.organization_id, title="Atelier du mardi", start_date=first,
                      end_date=first, start_time="09:00", end_time="12:00", repeat="weekly", repeat_days=["TU"],
                      repeat_until=last, exceptions=excluded.strftime("%d/%m/%Y"))
    resp = post(anim_client, "/events/nouveau", data)
    assert resp.status_code == 302, text(resp)[:1000]
    event = db.session.scalar(sa.select(Event))

    raw = feed(app, subscribe(anim_client)).data
    unfolded = raw.replace(b"\r\n ", b"").decode()
    assert re.search(r"\r\nRRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL=\d{8}T\d{6}Z\r\n", unfolded)
    assert f"\r\nEXDATE;TZID=Europe/Paris:{excluded:%Y%m%d}T090000\r\n" in unfolded
    cal = parse(raw)

    found = recurring_ical_events.of(cal).between(first - timedelta(days=7), last + timedelta(days=7))
    local = sorted(occ["DTSTART"].dt.astimezone(PARIS) for occ in found)
    assert [d.date() for d in local] == [first, change + timedelta(days=2), last]
    assert {d.time() for d in local} == {time(9)}
    assert {occ["DTEND"].dt.astimezone(PARIS).time() for occ in found} == {time(12)}
    # Summer time is UTC+2, winter time UTC+1: 7:00 or 8:00 UTC on each side.
    summer_first = month == 10
    assert [d.astimezone(UTC).hour for d in local] == ([7, 8, 8] if summer_first else [8, 7, 7])

    # The very instants the app stored and shows.
    db.session.expire_all()
    stored = list(db.session.scalars(sa.select(Occurrence.start_at).where(Occurrence.event_id == event.id)
                                     .order_by(Occurrence.start_at)))
    assert [d.astimezone(UTC) for d in local] == stored
    page = text(anim_client.get(f"/events/{event.id}"))
    for d in local:
        if d > datetime.now(UTC):  # the event page lists the coming dates
            assert f"{format_date(d.date(), 'EEEE d MMMM y', locale='fr_FR')}, 09:00 – 12:00" in page
    for d in local:
        cells = anim_client.get(f"/events/?vue=semaine&date={d.date().isoformat()}").get_data(as_text=True)
        assert re.search(r'<span class="text-body-secondary">09:00</span> Atelier du mardi', cells)


def test_all_day_recurring_event_ics_expands_to_the_same_days_as_the_app(app, anim_client, animateur):
    first = paris_day(2)
    while first.weekday() != 2:  # a Wednesday
        first += timedelta(days=1)
    last = first + timedelta(weeks=3)
    data = event_form(organization_id=animateur.organization_id, title="Marché de producteurs", is_all_day=True,
                      start_date=first, end_date=first, start_time="", end_time="", repeat="weekly",
                      repeat_days=["WE"], repeat_until=last,
                      exceptions=(first + timedelta(weeks=1)).strftime("%d/%m/%Y"))
    assert post(anim_client, "/events/nouveau", data).status_code == 302
    raw = feed(app, subscribe(anim_client)).data
    unfolded = raw.replace(b"\r\n ", b"").decode()
    assert f"\r\nRRULE:FREQ=WEEKLY;BYDAY=WE;UNTIL={last:%Y%m%d}\r\n" in unfolded
    assert f"\r\nEXDATE;VALUE=DATE:{first + timedelta(weeks=1):%Y%m%d}\r\n" in unfolded
    found = recurring_ical_events.of(parse(raw)).between(first - timedelta(days=1), last + timedelta(days=8))
    days = sorted(occ["DTSTART"].dt for occ in found)
    assert days == [first, first + timedelta(weeks=2), last]
    assert all(not isinstance(d, datetime) for d in days)

    event = db.session.scalar(sa.select(Event))
    db.session.expire_all()
    stored = db.session.scalars(sa.select(Occurrence.start_at).where(Occurrence.event_id == event.id)
                                .order_by(Occurrence.start_at)).all()
    assert [s.astimezone(PARIS).date() for s in stored] == days
    assert {s.astimezone(PARIS).time() for s in stored} == {time(0)}


# -- the subscription URL ---------------------------------------------------------------------------

def test_ical_subscription_token_has_at_least_128_bits_and_a_webcal_link_is_shown(app, as_, make_user):
    member = make_user()
    c = as_(member)
    page = text(c.get("/events/abonnement"))
    assert "Vous n'avez pas encore d'adresse d'abonnement." in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarToken)) == 0  # none until asked

    token = subscribe(c)
    # url-safe base64: 6 bits a character, so 22 characters carry at least 128 bits.
    assert re.fullmatch(r"[A-Za-z0-9_-]{22,64}", token)
    assert len(token) * 6 >= 128
    body = c.get("/events/abonnement").get_data(as_text=True)
    assert f'value="http://localhost/events/ical/{token}.ics"' in body
    assert f'href="webcal://localhost/events/ical/{token}.ics"' in body
    assert ">S'abonner (webcal)<" in html.unescape(body)

    # Random: another member's token and renewed tokens never repeat, and use the whole alphabet.
    tokens = {token, subscribe(as_(make_user()))}
    for _ in range(20):
        tokens.add(subscribe(c))
    assert len(tokens) == 22
    assert len(set("".join(tokens))) > 40


def test_ical_feed_over_http_without_login_has_only_what_the_member_may_see(
        app, as_, make_user, make_org, factories, animateur):
    mine, other = make_org(name="Office de Salers"), make_org(name="Office de Mauriac")
    member = make_user(organization=mine, name="Marie Membre")
    stranger = make_user(organization=other)
    my_group = factories.group("Club des guides", visibility="private", join_policy="invitation", members=[member])
    their_group = factories.group("Cercle fermé", visibility="private", join_policy="invitation", members=[stranger])
    day = lambda n: datetime.combine(paris_day(n), time(10))  # noqa: E731

    make_event(animateur, "Pour tout le réseau", start=day(2))
    make_event(animateur, "Pour l'office de Salers", start=day(3), audience=[("org", mine.id)])
    make_event(animateur, "Pour l'office de Mauriac", start=day(3), audience=[("org", other.id)])
    make_event(animateur, "Sortie du club", start=day(4), audience=[("group", my_group.id)], group_id=my_group.id)
    make_event(animateur, "Réunion du cercle", start=day(4), audience=[("group", their_group.id)],
               group_id=their_group.id)
    make_event(animateur, "Rien que pour Marie", start=day(5), audience=[("user", member.id)])
    make_event(stranger, "Proposition en attente", start=day(5), publish=False)
    make_event(member, "Ma proposition en attente", start=day(5), publish=False)
    cancelled = make_event(animateur, "Annulé mais visible", start=day(6))
    from intranet.events import services
    services.cancel(animateur, cancelled)
    db.session.commit()
    make_event(animateur, "Il y a trois mois", start=day(-90))
    make_event(animateur, "Dans deux ans", start=day(730))

    token = subscribe(as_(member))
    resp = feed(app, token)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/calendar; charset=utf-8"
    # Kept by the person's calendar app only, for a short while, then revalidated (ETag: test_ical_clients).
    assert resp.headers["Cache-Control"] == "private, max-age=300, must-revalidate"
    assert "Set-Cookie" not in resp.headers
    cal = parse(resp.data)
    assert set(by_title(cal)) == {"Pour tout le réseau", "Pour l'office de Salers", "Sortie du club",
                                  "Rien que pour Marie", "Annulé mais visible"}
    assert str(by_title(cal)["Annulé mais visible"]["STATUS"]) == "CANCELLED"

    # The stranger's feed is the mirror image.
    assert feed_titles(app, subscribe(as_(stranger))) == {
        "Pour tout le réseau", "Pour l'office de Mauriac", "Réunion du cercle", "Annulé mais visible"}


def test_ical_feed_filters_by_category_organization_and_group(app, as_, make_user, make_org, factories,
                                                             animateur, categories):
    salers, mauriac = make_org(name="Office de Salers"), make_org(name="Office de Mauriac")
    member = make_user(organization=salers)
    club = factories.group("Club des guides", visibility="private", join_policy="invitation", members=[member])
    closed = factories.group("Cercle secret", visibility="secret", join_policy="invitation")
    day = lambda n: datetime.combine(paris_day(n), time(10))  # noqa: E731
    make_event(animateur, "Formation à Salers", start=day(2), category=categories["Formation"], organization=salers)
    make_event(animateur, "Salon à Salers", start=day(3), category=categories["Salon"], organization=salers)
    make_event(animateur, "Formation à Mauriac", start=day(4), category=categories["Formation"],
               organization=mauriac)
    make_event(animateur, "Sortie du club", start=day(5), audience=[("group", club.id)], group_id=club.id,
               organization=mauriac)
    make_event(animateur, "Réunion du cercle", start=day(5), audience=[("group", closed.id)], group_id=closed.id,
               category=categories["Formation"])
    token = subscribe(as_(member))

    assert feed_titles(app, token, f"?categorie={categories['Formation'].id}") == {
        "Formation à Salers", "Formation à Mauriac"}
    assert feed_titles(app, token, f"?organisation={salers.id}") == {"Formation à Salers", "Salon à Salers"}
    assert feed_titles(app, token, f"?groupe={club.id}") == {"Sortie du club"}
    assert feed_titles(app, token, f"?categorie={categories['Formation'].id}&organisation={mauriac.id}") == {
        "Formation à Mauriac"}
    assert feed_titles(app, token, f"?groupe={closed.id}") == set()  # a filter never widens what one sees
    assert feed_titles(app, token, f"?categorie={categories['Webinaire'].id}") == set()
    assert feed_titles(app, token, "?categorie=abc&groupe=") == {  # nonsense filters are ignored
        "Formation à Salers", "Salon à Salers", "Formation à Mauriac", "Sortie du club"}

    # The page's « Une adresse filtrée » form sends these very names and gives the address to copy.
    c = as_(member)
    page = c.get("/events/abonnement").get_data(as_text=True)
    form = page.split("Une adresse filtrée", 1)[1].split("</form>", 1)[0]
    assert {'name="categorie"', 'name="organisation"', 'name="groupe"'} <= set(re.findall(r'name="\w+"', form))
    assert f'<option value="{club.id}">Club des guides</option>' in page
    assert "Cercle secret" not in page
    page = c.get(f"/events/abonnement?categorie={categories['Formation'].id}&organisation={salers.id}")
    match = re.search(r'id="ical-filtered"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    assert match, "no filtered address on the page"
    filtered = html.unescape(match.group(1))
    assert filtered.startswith(f"http://localhost/events/ical/{token}.ics?")
    assert feed_titles(app, token, "?" + filtered.split("?", 1)[1]) == {"Formation à Salers"}


def test_ical_subscription_revoked_answers_404_and_a_new_address_replaces_the_old(app, as_, make_user,
                                                                                 animateur):
    make_event(animateur, "Pour tout le réseau", start=datetime.combine(paris_day(2), time(10)))
    member = make_user()
    c = as_(member)
    old = subscribe(c)
    assert feed(app, old).status_code == 200

    resp = press(c, "/events/abonnement", "Créer une nouvelle adresse")
    assert resp.status_code == 302
    assert "Nouvelle adresse d'abonnement créée ; l'ancienne ne fonctionne plus." in text(c.get(resp.location))
    new = current_token(c)
    assert new != old
    assert feed(app, old).status_code == 404
    assert feed(app, new).status_code == 200
    assert feed_titles(app, new) == {"Pour tout le réseau"}

    resp = press(c, "/events/abonnement", "Révoquer")
    assert resp.status_code == 302
    page = text(c.get(resp.location))
    assert "Adresse d'abonnement révoquée." in page
    assert "Vous n'avez pas encore d'adresse d'abonnement." in page
    assert feed(app, new).status_code == 404
    assert feed(app, old).status_code == 404


def test_ical_feed_of_a_deactivated_member_answers_404(app, as_, make_user, animateur):
    make_event(animateur, "Pour tout le réseau", start=datetime.combine(paris_day(2), time(10)))
    member = make_user()
    token = subscribe(as_(member))
    assert feed(app, token).status_code == 200
    member.is_active_account = False
    db.session.commit()
    assert feed(app, token).status_code == 404


@pytest.mark.parametrize("token", ["", "x", "A" * 43, "A" * 65, "..%2F..%2Fetc", "%00"])
def test_ical_feed_with_an_unknown_token_answers_404(app, as_, make_user, token):
    subscribe(as_(make_user()))
    assert app.test_client().get(f"/events/ical/{token}.ics").status_code == 404


def test_ical_subscription_page_needs_a_login(app):
    resp = app.test_client().get("/events/abonnement")
    assert resp.status_code == 302 and "/accounts/connexion" in resp.location


def test_ical_feed_shows_an_edit_and_a_renamed_category_at_the_next_poll(app, as_, make_user, anim_client,
                                                                          animateur):
    # The feed keeps each event's text between polls (ical.vevent_of_row): a change must still
    # show at once — the event's own fields and the name of its category.
    from intranet.events.models import Category

    member = make_user()
    category = Category(name="Formation", color="#0b5394")
    db.session.add(category)
    db.session.commit()
    event = make_event(animateur, "Atelier photo", category=category, place="Salle des fêtes")
    token = subscribe(as_(member))
    first = by_title(parse(feed(app, token).data))["Atelier photo"]
    assert str(first["LOCATION"]) == "Salle des fêtes" and first["CATEGORIES"].cats == ["Formation"]

    day = event.start_local.date()
    data = event_form(organization_id=event.organization_id, title="Atelier photo", start_date=day, end_date=day,
                      place="Médiathèque", category_id=category.id)
    assert post(anim_client, f"/events/{event.id}/modifier", data).status_code == 302
    assert post(as_(make_user(role="admin")), f"/events/admin/categories/{category.id}",
                {"name": "Formation continue", "color": category.color, "position": "0", "is_active": "y"}
                ).status_code == 302
    second = by_title(parse(feed(app, token).data))["Atelier photo"]
    assert str(second["LOCATION"]).startswith("Médiathèque")
    assert second["CATEGORIES"].cats == ["Formation continue"]
    assert second["SEQUENCE"] > first["SEQUENCE"]
