"""The notifications pages: the centre (list, open, « Tout marquer comme lu »), the bell's count
in the navigation and its JSON counter, the « Quoi de neuf » widget, a member's preferences, the
admin defaults and « Réinitialiser tout le monde », and ``flask notifications test-mail``."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import current_app

from intranet.core import notifications as bus
from intranet.core.mail import deliver_outbox
from intranet.core.models import MailMessage
from intranet.core.notifications import Notification, notify
from intranet.core.timeutil import utcnow
from intranet.extensions import db
from intranet.groups import services
from intranet.groups.models import Membership
from tests.conftest import csrf_token
from tests.notifications import invite, mails_to, notifications_of, plain_and_html, post, text, visible

BELL = re.compile(r'data-nav-badge="notifications.index">.*?<span class="([^"]*)" data-count="(\d+)"', re.S)


def bell(c) -> tuple[int, bool]:
    """The bell's count on the dashboard, and whether the badge is shown."""
    page = c.get("/")
    assert page.status_code == 200
    classes, count = BELL.search(page.get_data(as_text=True)).groups()
    return int(count), "d-none" not in classes


def counter(c) -> int:
    resp = c.get("/notifications/compteur")
    assert resp.status_code == 200 and resp.is_json
    return resp.get_json()["unread"]


def widget(c) -> str:
    """The text of the « Quoi de neuf » card on the dashboard."""
    page = c.get("/").get_data(as_text=True)
    match = re.search(r'<section[^>]*>(?:(?!</section>).)*?Quoi de neuf.*?</section>', page, re.S)
    assert match, "no « Quoi de neuf » widget on the dashboard"
    return visible(match.group(0))


def types() -> list:
    return current_app.extensions["intranet_registry"].notification_types


@pytest.fixture
def world(app, make_user, make_org, factories):
    org = make_org()
    owner = make_user(name="Odile Martin", organization=org)
    reader = make_user(name="Denise Lecteur", organization=org)
    g1 = factories.group(name="Balades nature", owner=owner, admins=[reader])
    g2 = factories.group(name="Randonnées", owner=owner, admins=[reader])
    g3 = factories.group(name="Comité de pilotage", visibility="private", join_policy="invitation", owner=owner)
    return {"owner": owner, "reader": reader, "g1": g1, "g2": g2, "g3": g3, "org": org}


def new_member(app, world, group, member: str):
    with app.test_request_context():
        notify("groups.new_member", [world["reader"]], world["owner"], group, member=member)
        db.session.commit()


# -- the bell, the centre, the widget -------------------------------------------------------------------

def test_the_bell_count_rises_when_another_member_acts_on_something_of_mine(app, world, as_):
    reader_client = as_(world["reader"])
    assert bell(reader_client) == (0, False)
    assert counter(reader_client) == 0

    owner_client = as_(world["owner"])
    token = csrf_token(owner_client, f"/groups/{world['g3'].id}/membres")
    owner_client.post(f"/groups/{world['g3'].id}/inviter",
                      data={"person": world["reader"].email, "csrf_token": token})

    assert bell(reader_client) == (1, True)
    assert counter(reader_client) == 1
    assert bell(owner_client) == (0, False)  # the actor hears nothing


def test_the_centre_lists_my_notifications_newest_first_and_opens_them(app, world, as_, make_user):
    new_member(app, world, world["g1"], "Zoé Lefèvre")
    new_member(app, world, world["g2"], "Yves Morel")
    invite(app, world["owner"], world["g3"], world["reader"])
    c = as_(world["reader"])

    page = text(c.get("/notifications/"))
    lines = ["Odile Martin vous invite dans le groupe « Comité de pilotage »",
             "Yves Morel a rejoint le groupe « Randonnées »", "Zoé Lefèvre a rejoint le groupe « Balades nature »"]
    positions = [page.index(line) for line in lines]
    assert positions == sorted(positions)
    assert page.count("Nouveau") == 3 and counter(c) == 3

    zoe = next(n for n in notifications_of(world["reader"]) if n.context.get("member") == "Zoé Lefèvre")
    resp = c.get(f"/notifications/{zoe.id}/ouvrir")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/groups/{world['g1'].id}"
    assert c.get(resp.headers["Location"]).status_code == 200
    assert counter(c) == 2 and bell(c) == (2, True)
    db.session.expire_all()
    assert zoe.read_at is not None
    assert "Zoé Lefèvre" not in text(c.get("/notifications/?filtre=non-lues"))
    assert "Zoé Lefèvre" in text(c.get("/notifications/"))

    # The invitation opens « Mes groupes », where it is answered.
    invitation = notifications_of(world["reader"], "groups.invitation")[0]
    assert c.get(f"/notifications/{invitation.id}/ouvrir").headers["Location"] == "/groups/mes-groupes"

    # Someone else's notification, or none: 404 (and it stays unread for its owner).
    other = as_(make_user())
    yves = next(n for n in notifications_of(world["reader"]) if n.context.get("member") == "Yves Morel")
    assert other.get(f"/notifications/{yves.id}/ouvrir").status_code == 404
    assert other.get("/notifications/999999/ouvrir").status_code == 404
    db.session.expire_all()
    assert yves.read_at is None


def test_mark_all_read(app, world, as_, make_user):
    new_member(app, world, world["g1"], "Zoé Lefèvre")
    new_member(app, world, world["g2"], "Yves Morel")
    someone = make_user()
    with app.test_request_context():
        notify("groups.new_member", [someone], world["owner"], world["g1"], member="Zoé Lefèvre")
        db.session.commit()
    c = as_(world["reader"])
    assert counter(c) == 2

    assert c.post("/notifications/tout-lire").status_code == 400  # no CSRF token: refused
    assert counter(c) == 2
    resp = post(c, "/notifications/tout-lire", follow_redirects=True)
    page = text(resp)
    assert "Toutes les notifications sont marquées comme lues." in page
    assert "Nouveau" not in page and "Zoé Lefèvre a rejoint" in page
    assert counter(c) == 0 and bell(c) == (0, False)
    assert "Rien de nouveau pour l'instant." in text(c.get("/notifications/?filtre=non-lues"))
    assert counter(as_(someone)) == 1  # only mine


def test_web_off_notifications_are_neither_listed_nor_counted(app, world, as_):
    bus.set_preference(world["reader"].id, "groups.new_member", web=False, email=True)
    db.session.commit()
    new_member(app, world, world["g1"], "Zoé Lefèvre")
    c = as_(world["reader"])
    assert counter(c) == 0
    assert "Zoé Lefèvre" not in text(c.get("/notifications/"))
    assert len(mails_to(world["reader"])) == 1


def test_the_counter_and_the_centre_need_a_login(app, client):
    for url in ("/notifications/compteur", "/notifications/", "/notifications/preferences"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/accounts/connexion" in resp.headers["Location"]


def test_quoi_de_neuf_shows_what_happened_since_the_last_visit(app, world, as_):
    c = as_(world["reader"])
    assert "Rien de nouveau depuis votre dernière visite." in widget(c)

    new_member(app, world, world["g1"], "Zoé Lefèvre")
    new_member(app, world, world["g2"], "Yves Morel")
    # An old notification, already read, from before the previous visit: not news any more.
    reader = world["reader"]
    old = notifications_of(reader)[1]
    old.created_at = utcnow() - timedelta(days=10)
    old.read_at = utcnow() - timedelta(days=9)
    reader.previous_visit_at = utcnow() - timedelta(days=2)
    db.session.commit()

    card = widget(c)
    assert "Zoé Lefèvre a rejoint le groupe « Balades nature »" in card
    assert "Yves Morel" not in card
    assert "Toutes les notifications" in card
    zoe = notifications_of(reader)[0]
    assert f"/notifications/{zoe.id}/ouvrir" in c.get("/").get_data(as_text=True)


# -- preferences ---------------------------------------------------------------------------------------------

def preference_form(choices: dict[str, tuple[bool, bool]] | None = None, frequency: str = "immediate", **extra):
    """The preferences form as a browser sends it: only the ticked boxes."""
    data = {"frequency": frequency, **extra}
    for nt in types():
        web, email = (choices or {}).get(nt.key, (True, True))
        if web:
            data[f"web-{nt.key}"] = "on"
        if email:
            data[f"email-{nt.key}"] = "on"
    return data


def test_preferences_page_shows_every_type_with_its_default_channels(app, world, as_):
    c = as_(world["reader"])
    resp = c.get("/notifications/preferences")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    page = text(resp)
    assert "Mes notifications" in page and "Groupes" in page
    for nt in types():
        if not nt.reaches(world["reader"].role):
            # A type the reader's role never receives is not offered (« … attend ma validation »).
            assert str(nt.label) not in page and f'name="web-{nt.key}"' not in html
            continue
        assert str(nt.label) in page
        for channel in ("web", "email"):
            # Every channel is on by default except where the type says otherwise (a like: no e-mail).
            checked = re.search(rf'name="{channel}-{re.escape(nt.key)}"[^>]*checked', html) is not None
            assert checked == (channel in nt.channels), (channel, nt.key)
    assert sum("email" not in nt.channels for nt in types()) >= 1
    assert re.search(r'id="freq-immediate"[^>]*checked', html)
    assert "Groupes en sourdine" not in page


def test_a_member_turns_an_email_off_goes_weekly_and_unmutes_a_group(app, world, as_, smtp_server):
    reader = world["reader"]
    bus.set_group_muted(reader.id, world["g1"].id, True)
    bus.set_group_muted(reader.id, world["g2"].id, True)
    db.session.commit()
    c = as_(reader)
    page = text(c.get("/notifications/preferences"))
    assert "Groupes en sourdine (aucun e-mail)" in page
    assert "Réactiver le groupe « Balades nature »" in page and "Réactiver le groupe « Randonnées »" in page

    data = preference_form({"groups.invitation": (True, False)}, frequency="weekly", unmute=str(world["g1"].id))
    resp = post(c, "/notifications/preferences", data, token_page="/notifications/preferences",
                follow_redirects=True)
    assert "Vos préférences de notification sont enregistrées." in text(resp)

    assert bus.preferences_for([reader.id], "groups.invitation")[reader.id] == \
        {"web": True, "email": False, "digest": False}
    assert bus.preferences_for([reader.id], "groups.new_member")[reader.id] == \
        {"web": True, "email": True, "digest": False}
    assert bus.frequencies_for([reader.id])[reader.id] == "weekly"
    assert not bus.is_group_muted(reader.id, world["g1"].id) and bus.is_group_muted(reader.id, world["g2"].id)
    html = c.get("/notifications/preferences").get_data(as_text=True)
    assert not re.search(r'name="email-groups.invitation"[^>]*checked', html)
    assert re.search(r'id="freq-weekly"[^>]*checked', html)
    assert "Réactiver le groupe « Balades nature »" not in text(c.get("/notifications/preferences"))

    # What the member notices: an invitation now reaches the centre but not the mailbox…
    invite(app, world["owner"], world["g3"], reader)
    assert [n.email_state for n in notifications_of(reader, "groups.invitation")] == ["none"]
    assert counter(c) == 1
    # …and other news waits for Monday's digest instead of arriving at once.
    new_member(app, world, world["g1"], "Zoé Lefèvre")
    assert [n.email_state for n in notifications_of(reader, "groups.new_member")] == ["digest"]
    deliver_outbox()
    assert smtp_server.messages == []


def test_preferences_without_csrf_change_nothing(app, world, as_):
    c = as_(world["reader"])
    resp = c.post("/notifications/preferences", data=preference_form({"groups.invitation": (False, False)}))
    assert resp.status_code == 400
    assert bus.preferences_for([world["reader"].id], "groups.invitation")[world["reader"].id] == \
        {"web": True, "email": True, "digest": False}


# -- admin defaults -------------------------------------------------------------------------------------------

def test_admin_defaults_apply_to_members_without_choices_and_reset_forgets_every_choice(app, world, as_,
                                                                                       make_user):
    chooser = world["reader"]
    # A member who chose e-mails for new members explicitly.
    bus.set_preference(chooser.id, "groups.new_member", web=True, email=True)
    bus.set_frequency(chooser.id, "immediate")
    db.session.commit()

    admin = as_(make_user(role="admin"))
    page = admin.get("/notifications/admin/defauts")
    assert page.status_code == 200 and "Notifications par défaut" in text(page)
    resp = post(admin, "/notifications/admin/defauts",
                {**preference_form({"groups.new_member": (True, False)}), "action": "save"},
                token_page="/notifications/admin/defauts", follow_redirects=True)
    assert "Les valeurs par défaut sont enregistrées" in text(resp)
    assert bus.default_channels("groups.new_member") == {"web": True, "email": False}
    assert bus.default_channels("groups.invitation") == {"web": True, "email": True}
    html = admin.get("/notifications/admin/defauts").get_data(as_text=True)
    assert not re.search(r'name="email-groups.new_member"[^>]*checked', html)

    # A new member without preferences: the new member news in the centre, no e-mail.
    newcomer = make_user(name="Nina Nouvelle", organization=world["org"])
    with app.test_request_context():
        db.session.add(Membership(group_id=world["g1"].id, user_id=newcomer.id, role="admin"))
        db.session.commit()
        services.join(make_user(name="Zoé Lefèvre"), world["g1"])
        db.session.commit()
    assert [n.email_state for n in notifications_of(newcomer)] == ["none"]
    assert mails_to(newcomer) == []
    assert len(mails_to(chooser)) == 1  # the explicit choice still wins…
    # …until the admin resets everyone.
    resp = post(admin, "/notifications/admin/defauts", {"action": "reset"},
                token_page="/notifications/admin/defauts", follow_redirects=True)
    assert "Les préférences de tous les membres sont revenues aux valeurs par défaut." in text(resp)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(bus.NotificationPreference)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(bus.NotificationSettings)) == 0
    with app.test_request_context():
        services.join(make_user(name="Yves Morel"), world["g1"])
        db.session.commit()
    assert len(mails_to(chooser)) == 1
    assert len(notifications_of(chooser, "groups.new_member")) == 2
    # The admin's actions are in the journal.
    journal = text(admin.get("/admin/journal"))
    assert "Notifications par défaut modifiées" in journal
    assert "Préférences de tous les membres remises par défaut" in journal


@pytest.mark.parametrize("role", ["membre", "animateur"])
def test_only_admins_set_the_defaults(app, as_, make_user, role):
    c = as_(make_user(role=role))
    assert c.get("/notifications/admin/defauts").status_code == 403
    resp = post(c, "/notifications/admin/defauts", {"action": "reset"})
    assert resp.status_code == 403
    resp = post(c, "/notifications/admin/defauts",
                {**preference_form({"groups.new_member": (False, False)}), "action": "save"})
    assert resp.status_code == 403
    assert bus.default_channels("groups.new_member") == {"web": True, "email": True}


# -- flask notifications test-mail ------------------------------------------------------------------------------

def test_test_mail_queues_a_french_message_the_worker_sends(app, smtp_server):
    result = app.test_cli_runner().invoke(args=["notifications", "test-mail", "someone@exemple.fr"])
    assert result.exit_code == 0, result.output
    assert "E-mail de test" in result.output and "en file pour someone@exemple.fr" in result.output
    assert "flask worker --once" in result.output
    [row] = db.session.scalars(sa.select(MailMessage)).all()
    assert row.status == "pending" and row.notification_id is None

    deliver_outbox()
    [msg] = smtp_server.messages
    assert msg["To"] == "someone@exemple.fr"
    assert msg["Subject"] == f"Test d'envoi de l'intranet {app.config['SITE_NAME']}"
    body, html_part = plain_and_html(msg)
    assert "Ce message de test confirme que l'intranet" in body and "sait envoyer des e-mails" in html_part


@pytest.mark.parametrize("address", ["pas-une-adresse", "a@b", "x y@exemple.fr"])
def test_test_mail_refuses_an_invalid_address_in_french(app, address):
    result = app.test_cli_runner().invoke(args=["notifications", "test-mail", address])
    assert result.exit_code != 0
    assert f"« {address} » n'est pas une adresse e-mail valide" in result.output
    assert "Error" not in result.output and "Invalid value" not in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MailMessage)) == 0


def test_the_counter_counts_only_my_unread_notifications(app, world, as_):
    new_member(app, world, world["g1"], "Zoé Lefèvre")
    db.session.execute(sa.update(Notification).values(read_at=None))
    db.session.commit()
    assert counter(as_(world["owner"])) == 0
    assert counter(as_(world["reader"])) == 1


# -- what each role can receive, and the daily digest of new events -------------------------------------------

def test_preferences_offer_only_the_types_a_role_can_receive(world, as_, make_user):
    member_page = as_(world["reader"]).get("/notifications/preferences").get_data(as_text=True)
    assert "Un événement attend ma validation" not in member_page
    assert 'name="email-events.to_validate"' not in member_page
    animateur = make_user(role="animateur", organization=world["org"])
    assert 'name="email-events.to_validate"' in as_(animateur).get("/notifications/preferences").get_data(as_text=True)
    # Saving the member's page leaves the type they never see alone.
    post(as_(world["reader"]), "/notifications/preferences", preference_form(),
         token_page="/notifications/preferences")
    assert db.session.get(bus.NotificationPreference, (world["reader"].id, "events.to_validate")) is None


def test_a_members_new_event_mails_wait_for_the_daily_digest_until_they_choose_otherwise(app, world, as_, make_user):
    from intranet.core.digests import send_digest
    from tests.events.conftest import make_event

    member = world["reader"]
    animateur = make_user(role="animateur", name="Anne Animatrice", organization=world["org"])
    other_animateur = make_user(role="animateur", organization=world["org"])
    html = as_(member).get("/notifications/preferences").get_data(as_text=True)
    assert re.search(r'name="digest-events.published"[^>]*checked', html)  # the default, shown
    assert not re.search(r'name="digest-feed.mention"[^>]*checked', html)
    make_event(animateur, "Salon du randonneur")
    states = dict(db.session.execute(sa.select(Notification.user_id, Notification.email_state)
                                     .where(Notification.type == "events.published")).all())
    assert states[member.id] == "digest" and states[other_animateur.id] == "immediate"
    assert mails_to(member) == []
    with app.test_request_context():
        assert send_digest("daily") >= 1
        db.session.commit()
    [digest] = mails_to(member)
    assert "résumé" in digest.subject and "Salon du randonneur" in digest.text

    # Switchable: unticked, the next event's e-mail leaves at once.
    data = preference_form()
    data.pop("digest-events.published", None)
    post(as_(member), "/notifications/preferences", data, token_page="/notifications/preferences")
    assert bus.preferences_for([member.id], "events.published")[member.id]["digest"] is False
    make_event(animateur, "Fête de la Salers")
    state = db.session.scalar(sa.select(Notification.email_state).where(
        Notification.user_id == member.id, Notification.type == "events.published").order_by(Notification.id.desc()))
    assert state == "immediate"
