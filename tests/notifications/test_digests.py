"""Digests with a frozen clock (``send_digests(now)``): daily at 07:00 and weekly on Monday at
07:00 Europe/Paris, daylight saving included; sent only when there is news, grouped by type, at
most 50 items then « et N autres »; items the reader can no longer see are dropped."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time

import pytest
import sqlalchemy as sa

from intranet.core import notifications as bus
from intranet.core.digests import MAX_ITEMS, next_due, send_digests
from intranet.core.mail import deliver_outbox
from intranet.core.models import PeriodicRun
from intranet.core.notifications import notify
from intranet.core.timeutil import PARIS
from intranet.extensions import db
from intranet.groups import services
from intranet.groups.models import Membership
from tests.notifications import invite, mails_to, notifications_of, plain_and_html

NEW_MEMBER = "Un nouveau membre rejoint un groupe que j'administre"
INVITATION = "On m'invite dans un groupe"


def paris(y, m, d, hour, minute=0) -> datetime:
    """A Paris wall-clock time, as the UTC instant the worker sees."""
    return datetime(y, m, d, hour, minute, tzinfo=PARIS).astimezone(UTC)


def news(app, actor, reader, group, member="Zoé Lefèvre"):
    """One piece of news for ``reader``: ``member`` joined ``group`` (one action, one commit)."""
    with app.test_request_context():
        notify("groups.new_member", [reader], actor, group, member=member)
        db.session.commit()


def digests_to(user):
    return [m for m in mails_to(user) if m.notification_id is None]


def due(kind: str) -> datetime:
    db.session.expire_all()
    return db.session.get(PeriodicRun, f"core.digest.{kind}").next_run_at


@pytest.fixture
def network(make_user, make_org, factories):
    org = make_org()
    owner = make_user(name="Odile Martin", organization=org)
    reader = make_user(name="Denise Lecteur", email="denise@ot-exemple.fr", organization=org)
    g1 = factories.group(name="Balades nature", owner=owner, admins=[reader])
    g2 = factories.group(name="Randonnées", owner=owner, admins=[reader])
    g3 = factories.group(name="Comité de pilotage", visibility="private", join_policy="invitation", owner=owner)
    return {"owner": owner, "reader": reader, "g1": g1, "g2": g2, "g3": g3, "org": org}


# -- the schedule -------------------------------------------------------------------------------------

def test_next_due_is_seven_in_paris_winter_and_summer():
    # Winter (CET, UTC+1): 07:00 Paris is 06:00 UTC; summer (CEST, UTC+2): 05:00 UTC.
    assert next_due("daily", datetime(2025, 1, 15, 12, 0, tzinfo=UTC)) == datetime(2025, 1, 16, 6, 0, tzinfo=UTC)
    assert next_due("daily", datetime(2025, 7, 15, 12, 0, tzinfo=UTC)) == datetime(2025, 7, 16, 5, 0, tzinfo=UTC)
    # Strictly after: at 07:00 sharp the next one is tomorrow's; a minute before, today's.
    assert next_due("daily", paris(2025, 1, 15, 7)) == paris(2025, 1, 16, 7)
    assert next_due("daily", paris(2025, 1, 15, 6, 59)) == paris(2025, 1, 15, 7)
    # Weekly: the next Monday, across both changes of time.
    assert next_due("weekly", paris(2025, 1, 15, 12)) == datetime(2025, 1, 20, 6, 0, tzinfo=UTC)
    assert next_due("weekly", paris(2025, 3, 26, 12)) == datetime(2025, 3, 31, 5, 0, tzinfo=UTC)  # DST began 30/3
    assert next_due("weekly", paris(2025, 10, 22, 12)) == datetime(2025, 10, 27, 6, 0, tzinfo=UTC)  # ended 26/10
    assert next_due("weekly", paris(2025, 1, 20, 7)) == paris(2025, 1, 27, 7)
    for kind, after in (("daily", paris(2025, 3, 29, 20)), ("weekly", paris(2025, 3, 29, 20))):
        local = next_due(kind, after).astimezone(PARIS)
        assert local.time() == time(7, 0)


def test_the_first_call_only_sets_the_schedule(app, network):
    news(app, network["owner"], network["reader"], network["g1"])
    bus.set_frequency(network["reader"].id, "daily")
    db.session.commit()

    assert send_digests(paris(2025, 1, 15, 6, 59)) == {}
    assert due("daily") == paris(2025, 1, 15, 7) == datetime(2025, 1, 15, 6, 0, tzinfo=UTC)
    assert due("weekly") == paris(2025, 1, 20, 7)
    assert digests_to(network["reader"]) == []


# -- daily -------------------------------------------------------------------------------------------------

def test_a_daily_digest_at_seven_grouped_by_type_then_only_when_there_is_news(app, network, make_user,
                                                                              smtp_server):
    owner, reader = network["owner"], network["reader"]
    bus.set_frequency(reader.id, "daily")
    db.session.commit()
    assert send_digests(paris(2025, 1, 15, 6, 0)) == {}  # the worker's first look: schedule only

    news(app, owner, reader, network["g1"], "Zoé Lefèvre")
    invite(app, owner, network["g3"], reader)
    news(app, owner, reader, network["g2"], "Yves Morel")
    assert [n.email_state for n in notifications_of(reader)] == ["digest"] * 3
    assert mails_to(reader) == []  # nothing immediate

    assert send_digests(paris(2025, 1, 15, 6, 59)) == {}
    assert digests_to(reader) == []

    assert send_digests(paris(2025, 1, 15, 7, 0)) == {"daily": 1}
    [row] = digests_to(reader)
    assert row.subject == "Votre résumé du jour : 3 nouveautés"
    assert [n.email_state for n in notifications_of(reader)] == ["sent"] * 3
    deliver_outbox()
    [msg] = smtp_server.messages
    assert msg["To"] == "denise@ot-exemple.fr" and msg["Subject"] == "Votre résumé du jour : 3 nouveautés"
    body, html_part = plain_and_html(msg)
    # Grouped by type, each section with its items.
    sections = dict(re.findall(r"== (.+?) ==\n(.*?)(?=\n== |\n--)", body, flags=re.S))
    assert set(sections) == {NEW_MEMBER, INVITATION}
    assert "Zoé Lefèvre a rejoint le groupe « Balades nature »" in sections[NEW_MEMBER]
    assert "Yves Morel a rejoint le groupe « Randonnées »" in sections[NEW_MEMBER]
    assert "Odile Martin vous invite dans le groupe « Comité de pilotage »" in sections[INVITATION]
    assert f"http://127.0.0.1/groups/{network['g1'].id}" in sections[NEW_MEMBER]
    assert html_part.count("<h2") == 2 and "Un nouveau membre rejoint un groupe que j&#39;administre" in html_part
    assert "Choisir vos notifications : http://127.0.0.1/notifications/preferences" in body

    # The same day again: nothing more.
    assert send_digests(paris(2025, 1, 15, 7, 1)) == {}
    assert send_digests(paris(2025, 1, 15, 18, 0)) == {}
    # The next day, no news: the digest runs and sends nothing.
    assert send_digests(paris(2025, 1, 16, 7, 0)) == {"daily": 0}
    assert len(digests_to(reader)) == 1
    # News again: the day after, one item (singular).
    news(app, owner, reader, network["g1"], "Xavier Petit")
    assert send_digests(paris(2025, 1, 16, 12, 0)) == {}
    assert send_digests(paris(2025, 1, 17, 7, 0)) == {"daily": 1}
    assert digests_to(reader)[-1].subject == "Votre résumé du jour : 1 nouveauté"


def test_immediate_readers_get_no_digest(app, network, make_user):
    owner, reader = network["owner"], network["reader"]
    send_digests(paris(2025, 1, 15, 6, 0))
    news(app, owner, reader, network["g1"])
    assert [m.notification_id is not None for m in mails_to(reader)] == [True]
    assert send_digests(paris(2025, 1, 15, 7, 0)) == {"daily": 0}
    assert digests_to(reader) == []


def test_a_worker_down_at_seven_sends_the_digest_when_it_comes_back(app, network):
    owner, reader = network["owner"], network["reader"]
    bus.set_frequency(reader.id, "daily")
    db.session.commit()
    send_digests(paris(2025, 7, 15, 6, 0))
    news(app, owner, reader, network["g1"])

    assert send_digests(paris(2025, 7, 15, 10, 30)) == {"daily": 1}
    assert len(digests_to(reader)) == 1
    assert due("daily") == paris(2025, 7, 16, 7) == datetime(2025, 7, 16, 5, 0, tzinfo=UTC)


def test_in_summer_the_digest_leaves_at_five_utc(app, network):
    owner, reader = network["owner"], network["reader"]
    bus.set_frequency(reader.id, "daily")
    db.session.commit()
    send_digests(datetime(2025, 7, 14, 22, 0, tzinfo=UTC))
    news(app, owner, reader, network["g1"])

    assert send_digests(datetime(2025, 7, 15, 4, 59, tzinfo=UTC)) == {}
    assert send_digests(datetime(2025, 7, 15, 5, 0, tzinfo=UTC)) == {"daily": 1}
    assert len(digests_to(reader)) == 1


def test_more_than_fifty_items_lists_fifty_then_et_n_autres(app, network, smtp_server):
    owner, reader = network["owner"], network["reader"]
    bus.set_frequency(reader.id, "daily")
    db.session.commit()
    send_digests(paris(2025, 1, 15, 6, 0))
    for i in range(1, 54):
        news(app, owner, reader, network["g1"], f"Membre {i:02d}")

    assert send_digests(paris(2025, 1, 15, 7, 0)) == {"daily": 1}
    [row] = digests_to(reader)
    assert row.subject == "Votre résumé du jour : 53 nouveautés"
    deliver_outbox()
    body, html_part = plain_and_html(smtp_server.messages[0])
    listed = re.findall(r"^- (Membre \d\d) a rejoint", body, flags=re.M)
    assert len(listed) == MAX_ITEMS == 50
    assert listed == [f"Membre {i:02d}" for i in range(1, 51)]  # oldest first
    assert "Membre 51" not in body and "Membre 53" not in html_part
    assert "… et 3 autres : http://127.0.0.1/notifications/" in body
    assert re.search(r'<a href="http://127.0.0.1/notifications/">et 3 autres</a>', html_part)
    assert html_part.count("a rejoint le groupe") == 50
    assert {n.email_state for n in notifications_of(reader)} == {"sent"}  # counted, not kept for tomorrow


# -- weekly --------------------------------------------------------------------------------------------------

def test_a_weekly_digest_leaves_on_monday_only(app, network, make_user):
    owner, weekly = network["owner"], network["reader"]
    daily = make_user(name="Paul Quotidien", organization=network["org"])
    bus.set_frequency(weekly.id, "weekly")
    bus.set_frequency(daily.id, "daily")
    db.session.commit()
    assert send_digests(paris(2025, 1, 13, 8, 0)) == {}  # a Monday, after 07:00: schedule only
    assert due("weekly") == paris(2025, 1, 20, 7)

    news(app, owner, weekly, network["g1"], "Zoé Lefèvre")
    news(app, owner, daily, network["g1"], "Zoé Lefèvre")
    news(app, owner, weekly, network["g2"], "Yves Morel")

    assert send_digests(paris(2025, 1, 14, 7, 0)) == {"daily": 1}  # Tuesday: the daily reader only
    assert digests_to(weekly) == [] and len(digests_to(daily)) == 1
    for day in range(15, 20):  # Wednesday to Sunday
        assert send_digests(paris(2025, 1, day, 7, 0)) == {"daily": 0}
    assert digests_to(weekly) == []
    assert {n.email_state for n in notifications_of(weekly)} == {"digest"}

    assert send_digests(paris(2025, 1, 20, 6, 59)) == {}
    assert send_digests(paris(2025, 1, 20, 7, 0)) == {"daily": 0, "weekly": 1}
    [row] = digests_to(weekly)
    assert row.subject == "Votre résumé de la semaine : 2 nouveautés"
    assert "Zoé Lefèvre a rejoint le groupe « Balades nature »" in row.text
    assert "Yves Morel a rejoint le groupe « Randonnées »" in row.text
    assert len(digests_to(daily)) == 1

    # The next Monday, with no news: no mail.
    assert send_digests(paris(2025, 1, 27, 7, 0)) == {"daily": 0, "weekly": 0}
    assert len(digests_to(weekly)) == 1


# -- access lost before the digest -----------------------------------------------------------------------------

def test_an_item_the_reader_can_no_longer_see_is_dropped_from_the_digest(app, network, make_user):
    owner, reader = network["owner"], network["reader"]
    private = network["g3"]
    db.session.add(Membership(group_id=private.id, user_id=reader.id, role="admin"))
    bus.set_frequency(reader.id, "daily")
    db.session.commit()
    send_digests(paris(2025, 1, 15, 6, 0))
    news(app, owner, reader, private, "Secret Agent")
    news(app, owner, reader, network["g1"], "Zoé Lefèvre")
    with app.test_request_context():
        services.remove_member(owner, private, reader)
        db.session.commit()

    assert send_digests(paris(2025, 1, 15, 7, 0)) == {"daily": 1}
    [row] = digests_to(reader)
    assert row.subject == "Votre résumé du jour : 1 nouveauté"
    assert "Zoé Lefèvre" in row.text and "Secret Agent" not in row.text + row.html
    assert "Comité de pilotage" not in row.text
    states = {n.context["member"]: n.email_state for n in notifications_of(reader)}
    assert states == {"Secret Agent": "dropped", "Zoé Lefèvre": "sent"}


def test_a_digest_with_only_lost_items_is_not_sent(app, network, make_user):
    owner = network["owner"]
    reader = make_user(organization=network["org"])
    private = network["g3"]
    db.session.add(Membership(group_id=private.id, user_id=reader.id, role="admin"))
    bus.set_frequency(reader.id, "weekly")
    db.session.commit()
    send_digests(paris(2025, 1, 15, 6, 0))
    news(app, owner, reader, private)
    reader.is_active_account = False  # deactivated before Monday
    db.session.commit()

    assert send_digests(paris(2025, 1, 20, 7, 0)) == {"daily": 0, "weekly": 0}
    assert digests_to(reader) == []
    assert [n.email_state for n in notifications_of(reader)] == ["dropped"]


def test_two_workers_never_send_the_same_digest(app, network):
    """The due time is claimed by an atomic UPDATE: the second claim at the same instant finds nothing."""
    owner, reader = network["owner"], network["reader"]
    bus.set_frequency(reader.id, "daily")
    db.session.commit()
    send_digests(paris(2025, 1, 15, 6, 0))
    news(app, owner, reader, network["g1"])
    # A second worker raced to the same 07:00: simulate it by claiming first.
    db.session.execute(sa.update(PeriodicRun).where(PeriodicRun.key == "core.digest.daily")
                       .values(next_run_at=paris(2025, 1, 16, 7)))
    db.session.commit()
    assert send_digests(paris(2025, 1, 15, 7, 0)) == {}
    assert digests_to(reader) == []
