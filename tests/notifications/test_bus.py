"""The notification bus: ``notify()`` writes in-app rows and outbox rows with the change (a
rollback leaves nothing), leaves out the actor, the people who cannot see the object, inactive
accounts and those already told in this transaction, and follows each person's preferences,
mutes and e-mail frequency."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from intranet.core import notifications as bus
from intranet.core.models import MailMessage, User
from intranet.core.notifications import Notification, notify
from intranet.extensions import db
from intranet.groups import services
from intranet.groups.models import GroupRequest
from tests.notifications import invite, mails_to, notifications_of


@pytest.fixture
def rctx(app):
    """A request context: notification types build the object's URL with ``url_for``."""
    with app.test_request_context():
        yield


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# -- one transaction -----------------------------------------------------------------------------

def test_an_invitation_writes_the_notification_and_the_mail_with_the_change(app, make_user, factories):
    owner, guest = make_user(name="Odile Propriétaire"), make_user(name="Gaspard Invité")
    group = factories.group(name="Comité de pilotage", visibility="private", owner=owner)

    assert invite(app, owner, group, guest) == "invited"

    [n] = notifications_of(guest)
    assert n.type == "groups.invitation" and n.actor_id == owner.id and n.read_at is None
    assert n.context["title"] == "Comité de pilotage" and n.context["actor"] == "Odile Propriétaire"
    assert n.email_state == "immediate"
    [mail] = mails_to(guest)
    assert mail.notification_id == n.id and mail.status == "pending" and mail.attempts == 0
    assert mail.subject == "Invitation dans le groupe « Comité de pilotage »"
    assert mails_to(owner) == [] and notifications_of(owner) == []


def test_a_rolled_back_change_notifies_nobody(app, make_user, factories):
    owner, guest = make_user(), make_user()
    group = factories.group(visibility="private", owner=owner)

    with app.test_request_context():
        services.invite(owner, group, guest)
        db.session.flush()
        assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 1  # written with the change…
        db.session.rollback()  # …and gone with it

    assert count(Notification) == 0 and count(MailMessage) == 0 and count(GroupRequest) == 0
    # The same action done again for real notifies as usual (nothing remembered from the rollback).
    invite(app, owner, group, guest)
    assert len(notifications_of(guest)) == 1 and len(mails_to(guest)) == 1


# -- who is told -----------------------------------------------------------------------------------

def test_the_actor_is_never_notified_of_their_own_action(app, make_user, factories, rctx):
    owner, admin = make_user(), make_user()
    group = factories.group(visibility="private", join_policy="request", owner=owner, admins=[admin])
    newcomer = make_user()
    services.join(newcomer, group)  # a request: both managers are told
    db.session.commit()
    assert len(notifications_of(owner, "groups.join_request")) == 1
    assert len(notifications_of(admin, "groups.join_request")) == 1

    # The owner accepts: the other admin hears of the new member, the owner (who acted) does not.
    services.decide(owner, services.pending(group, newcomer, "request"), True)
    db.session.commit()
    assert len(notifications_of(admin, "groups.new_member")) == 1
    assert notifications_of(owner, "groups.new_member") == []
    assert [n.type for n in notifications_of(newcomer)] == ["groups.request_decided"]
    assert notifications_of(newcomer)[0].context["decision"] == "acceptée"

    # Called directly with the actor among the recipients: still left out.
    assert notify("groups.new_member", [owner, admin], admin, group, member="X") == 1
    db.session.commit()
    assert len(notifications_of(owner, "groups.new_member")) == 1
    assert len(notifications_of(admin, "groups.new_member")) == 1


def test_one_action_gives_at_most_one_notification_per_person(app, make_user, factories, rctx):
    owner, guest = make_user(), make_user()
    group = factories.group(visibility="private", owner=owner)
    req = GroupRequest(group_id=group.id, user_id=guest.id, kind="invitation", invited_by_id=owner.id)
    db.session.add(req)
    db.session.flush()

    # Two reasons to tell the same person about the same object in one transaction.
    assert notify("groups.invitation", [guest], owner, req) == 1
    assert notify("groups.join_request", [guest.id, guest.id], owner, req) == 0
    db.session.commit()
    assert [n.type for n in notifications_of(guest)] == ["groups.invitation"]
    assert len(mails_to(guest)) == 1

    # A later action about the same object is a new piece of news.
    assert notify("groups.request_decided", [guest], owner, req, decision="acceptée") == 1
    db.session.commit()
    assert len(notifications_of(guest)) == 2


def test_nobody_hears_of_a_secret_group_they_cannot_see(app, make_user, factories, rctx):
    owner, member, outsider = make_user(), make_user(), make_user()
    animateur = make_user(role="animateur")
    group = factories.group(name="Cercle confidentiel", visibility="secret", owner=owner, members=[member])

    told = notify("groups.new_member", [member, outsider, animateur], owner, group, member="Zoé")
    db.session.commit()

    assert told == 2
    assert notifications_of(outsider) == [] and mails_to(outsider) == []
    assert len(notifications_of(member)) == 1 and len(mails_to(member)) == 1
    assert len(notifications_of(animateur)) == 1  # platform managers see every group


def test_inactive_accounts_are_left_out(app, make_user, factories, rctx):
    owner = make_user()
    gone = make_user(active=False)
    here = make_user()
    group = factories.group(owner=owner)

    recipients = sa.select(User.id).where(User.id.in_([gone.id, here.id]))  # a query, as the groups plugin passes
    assert notify("groups.new_member", recipients, owner, group, member="Zoé") == 1
    db.session.commit()
    assert notifications_of(gone) == [] and mails_to(gone) == []
    assert len(notifications_of(here)) == 1


# -- preferences -------------------------------------------------------------------------------------

def test_web_off_means_no_in_app_notification_but_the_mail(app, make_user, factories, rctx):
    owner, admin = make_user(), make_user()
    group = factories.group(owner=owner, admins=[admin])
    bus.set_preference(admin.id, "groups.new_member", web=False, email=True)
    db.session.commit()

    notify("groups.new_member", [admin], owner, group, member="Zoé")
    db.session.commit()

    [n] = notifications_of(admin)
    assert n.is_web is False and n.email_state == "immediate"
    assert bus.unread_count(admin) == 0
    assert len(mails_to(admin)) == 1


def test_email_off_means_no_mail_but_the_in_app_notification(app, make_user, factories, rctx):
    owner, admin = make_user(), make_user()
    group = factories.group(owner=owner, admins=[admin])
    bus.set_preference(admin.id, "groups.new_member", web=True, email=False)
    db.session.commit()

    notify("groups.new_member", [admin], owner, group, member="Zoé")
    db.session.commit()

    [n] = notifications_of(admin)
    assert n.is_web is True and n.email_state == "none"
    assert bus.unread_count(admin) == 1
    assert mails_to(admin) == []
    # Another type keeps its defaults (both on).
    invite(app, owner, factories.group(owner=owner, visibility="private"), admin)
    assert len(mails_to(admin)) == 1


def test_both_channels_off_means_nothing_at_all(app, make_user, factories, rctx):
    owner, admin = make_user(), make_user()
    group = factories.group(owner=owner, admins=[admin])
    bus.set_preference(admin.id, "groups.new_member", web=False, email=False)
    db.session.commit()

    assert notify("groups.new_member", [admin], owner, group, member="Zoé") == 0
    db.session.commit()
    assert notifications_of(admin) == [] and mails_to(admin) == []


def test_a_muted_group_sends_no_mail_but_stays_in_the_centre(app, make_user, factories, rctx):
    owner, admin = make_user(), make_user()
    group = factories.group(name="Balades nature", owner=owner, admins=[admin])
    other = factories.group(name="Randonnées", owner=owner, admins=[admin])
    bus.set_group_muted(admin.id, group.id, True)
    db.session.commit()

    notify("groups.new_member", [admin], owner, group, member="Zoé")
    notify("groups.new_member", [admin], owner, other, member="Zoé")
    db.session.commit()

    by_group = {n.group_id: n for n in notifications_of(admin)}
    assert by_group[group.id].is_web and by_group[group.id].email_state == "none"
    assert by_group[other.id].email_state == "immediate"
    [mail] = mails_to(admin)
    assert mail.notification_id == by_group[other.id].id


@pytest.mark.parametrize("frequency", ["daily", "weekly"])
def test_a_digest_reader_gets_no_immediate_mail(app, make_user, factories, rctx, frequency):
    owner, admin = make_user(), make_user()
    group = factories.group(owner=owner, admins=[admin])
    bus.set_frequency(admin.id, frequency)
    db.session.commit()

    notify("groups.new_member", [admin], owner, group, member="Zoé")
    db.session.commit()

    [n] = notifications_of(admin)
    assert n.email_state == "digest" and n.is_web
    assert mails_to(admin) == []


def test_unknown_frequency_is_refused(app, make_user):
    with pytest.raises(ValueError):
        bus.set_frequency(make_user().id, "hourly")


# -- bulk ----------------------------------------------------------------------------------------------

def test_notifying_many_people_runs_the_same_statements_as_notifying_a_few(app, make_user, factories, rctx,
                                                                           count_queries):
    owner = make_user()
    org = make_user().organization
    few = [make_user(organization=org) for _ in range(3)]
    many = [make_user(organization=org) for _ in range(40)]
    g1, g2 = factories.group(owner=owner), factories.group(owner=owner)
    few_ids, many_ids = [u.id for u in few], [u.id for u in many]
    g1.id, g2.id, owner.id  # noqa: B018 (loaded before counting)

    with count_queries() as n_few:
        notify("groups.new_member", few_ids, owner, g1, member="Zoé")
    with count_queries() as n_many:
        notify("groups.new_member", many_ids, owner, g2, member="Zoé")
    db.session.commit()

    assert n_many() <= n_few() <= 12  # rows written in bulk, not one statement per person
    assert sum(len(notifications_of(u)) for u in many) == 40
    assert db.session.scalar(sa.select(sa.func.count(MailMessage.id))) == 43
