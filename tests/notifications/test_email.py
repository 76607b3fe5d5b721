"""Notification e-mails against a real SMTP server (aiosmtpd): both parts, the French subject, the
RFC 8058 headers, a stable Message-ID, the excerpt, the link, the one-click unsubscribe that works
without login; no header injection; SMTP down then back (nothing slowed, nothing lost, nothing
twice; failed after the last attempt, re-sent by an admin); access lost before delivery."""

from __future__ import annotations

import re
import socket
import time
from datetime import timedelta
from email import message_from_bytes
from email.policy import default

import pytest
import sqlalchemy as sa

from intranet.core import notifications as bus
from intranet.core.mail import BACKOFF_BASE_SECONDS, MAX_ATTEMPTS, deliver_outbox, one_line, queue_mail
from intranet.core.markup import excerpt
from intranet.core.models import MailMessage
from intranet.core.notifications import notify
from intranet.core.timeutil import utcnow
from intranet.extensions import db
from intranet.groups import services
from tests.conftest import csrf_token
from tests.notifications import invite, mails_to, notifications_of, plain_and_html, post, text

BASE = "http://127.0.0.1"


def addressed_to(smtp, user) -> list:
    return [m for m in smtp.messages if m["To"] == user.email]


def unsubscribe_path(message) -> str:
    url = message["List-Unsubscribe"].strip("<>")
    assert url.startswith(f"{BASE}/notifications/desabonnement/")
    return url[len(BASE):]


# -- a real SMTP server on a chosen port ----------------------------------------------------------

class Sink:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_down(app):
    """MAIL_SERVER points at a port where nothing listens; ``smtp_down.start()`` brings a real
    server up on that very port (``.messages``), ``smtp_down.stop()`` takes it down again."""
    from aiosmtpd.controller import Controller

    from intranet.extensions import mail

    class Switch:
        port = free_port()
        sink = Sink()
        controller = None

        @property
        def messages(self):
            return self.sink.messages

        def start(self):
            self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
            self.controller.start()

        def stop(self):
            if self.controller is not None:
                self.controller.stop()
                self.controller = None

    switch = Switch()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=switch.port, MAIL_TIMEOUT=5)
    mail.init_app(app)
    try:
        yield switch
    finally:
        switch.stop()
        app.config.update(MAIL_SERVER=None)
        mail.init_app(app)


# -- an invitation, end to end ---------------------------------------------------------------------

def invite_through_the_page(c, group, person):
    token = csrf_token(c, f"/groups/{group.id}/membres")
    resp = c.post(f"/groups/{group.id}/inviter", data={"person": person.email, "csrf_token": token})
    assert resp.status_code == 302
    return resp


def test_an_invitation_arrives_with_both_parts_the_headers_and_the_links(app, make_user, factories, as_,
                                                                        smtp_server):
    owner = make_user(name="Odile Martin")
    guest = make_user(name="Gaspard Roux", email="gaspard@ot-exemple.fr")
    group = factories.group(name="Comité de pilotage", visibility="private", join_policy="invitation", owner=owner)

    invite_through_the_page(as_(owner), group, guest)
    [row] = mails_to(guest)
    assert deliver_outbox() == {"sent": 1, "errors": 0}

    [msg] = smtp_server.messages
    assert msg["To"] == "gaspard@ot-exemple.fr"
    assert msg["Subject"] == "Invitation dans le groupe « Comité de pilotage »"
    assert msg["Message-ID"] == row.message_id  # stable: the one written in the outbox
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg.is_multipart()
    body, html_part = plain_and_html(msg)

    assert "Bonjour Gaspard Roux," in body
    assert "Odile Martin vous invite dans le groupe « Comité de pilotage »" in body
    assert "Odile Martin vous invite dans le groupe « Comité de pilotage »" in html_part.replace("&#34;", '"')
    link = f"{BASE}/groups/mes-groupes"  # where the invitation is answered
    assert f"Voir sur l'intranet : {link}" in body and f'href="{link}"' in html_part
    unsubscribe = msg["List-Unsubscribe"].strip("<>")
    assert f"Ne plus recevoir ce type d'e-mail : {unsubscribe}" in body and f'href="{unsubscribe}"' in html_part
    prefs = f"{BASE}/notifications/preferences"
    assert f"Choisir vos notifications : {prefs}" in body and f'href="{prefs}"' in html_part
    assert "On m'invite dans un groupe" in body  # why this mail is sent
    assert app.config["AGENCY_NAME"] in body and app.config["AGENCY_NAME"] in html_part
    assert f'<img src="{BASE}/static/img/logo.png" alt="{app.config["AGENCY_NAME"]}"' in html_part  # the logo
    with app.test_client().get("/static/img/logo.png") as logo:  # served without login
        assert logo.status_code == 200 and logo.mimetype == "image/png"

    db.session.expire_all()
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None
    assert notifications_of(guest)[0].email_state == "sent"
    # A second run of the worker does not send it again.
    assert deliver_outbox(ignore_backoff=True) == {"sent": 0, "errors": 0}
    assert len(smtp_server.messages) == 1


def test_the_unsubscribe_link_works_without_login_and_stops_that_type_only(app, make_user, factories, as_,
                                                                          smtp_server):
    owner, guest = make_user(), make_user(name="Gaspard Roux")
    g1 = factories.group(name="Comité de pilotage", visibility="private", owner=owner)
    g2 = factories.group(name="Atelier numérique", visibility="private", join_policy="open", owner=owner)
    invite(app, owner, g1, guest)
    deliver_outbox()
    [msg] = smtp_server.messages

    anonymous = app.test_client()
    # Opening the link (what a mail filter's link scanner does too) only asks for confirmation.
    resp = anonymous.get(unsubscribe_path(msg))
    assert resp.status_code == 200
    assert "Confirmer le désabonnement" in text(resp)
    assert bus.preferences_for([guest.id], "groups.invitation")[guest.id] == \
        {"web": True, "email": True, "digest": False}
    resp = anonymous.post(unsubscribe_path(msg))  # the button: no login, no CSRF token, the signed token
    assert resp.status_code == 200
    page = text(resp)
    assert f"{guest.email} ne recevra plus d'e-mail pour : « On m'invite dans un groupe »" in page
    assert "Mes notifications" in page  # a way back to the preferences
    assert bus.preferences_for([guest.id], "groups.invitation")[guest.id] == \
        {"web": True, "email": False, "digest": False}

    # The next invitation: in the centre, no e-mail.
    invite(app, owner, g2, guest)
    assert [n.context["title"] for n in notifications_of(guest, "groups.invitation")] == \
        ["Comité de pilotage", "Atelier numérique"]
    assert len(mails_to(guest)) == 1
    deliver_outbox()
    assert len(smtp_server.messages) == 1
    # Other types still e-mail: the guest joins g2 and, as its new admin, hears of the next member.
    with app.test_request_context():
        services.respond(guest, services.pending(g2, guest, "invitation"), True)
        services.set_role(owner, g2, guest, "admin")
        db.session.commit()
        services.join(make_user(name="Zoé Lefèvre"), g2)
        db.session.commit()
    deliver_outbox()
    assert [m["Subject"] for m in addressed_to(smtp_server, guest)][-1] == \
        "Nouveau membre dans le groupe « Atelier numérique » : Zoé Lefèvre"


def test_one_click_unsubscribe_by_post_rfc_8058(app, make_user, factories, smtp_server):
    owner, guest = make_user(), make_user()
    invite(app, owner, factories.group(visibility="private", owner=owner), guest)
    deliver_outbox()
    [msg] = smtp_server.messages

    # What a mail client sends: a POST with this body, no cookie, no CSRF token.
    resp = app.test_client().post(unsubscribe_path(msg), data={"List-Unsubscribe": "One-Click"})
    assert resp.status_code == 204 and resp.get_data() == b""
    assert bus.preferences_for([guest.id], "groups.invitation")[guest.id]["email"] is False


@pytest.mark.parametrize("token", ["nimportequoi", "WzEsICJncm91cHMuaW52aXRhdGlvbiJd.faux"])
def test_a_bad_unsubscribe_token_gives_a_french_404(app, make_user, token):
    guest = make_user()
    for method in ("get", "post"):
        resp = getattr(app.test_client(), method)(f"/notifications/desabonnement/{token}")
        assert resp.status_code == 404
        assert "Page introuvable" in text(resp)
    assert bus.preferences_for([guest.id], "groups.invitation")[guest.id]["email"] is True


def test_a_token_for_another_type_or_a_deleted_account_changes_nothing(app, make_user):
    guest = make_user()
    with app.test_request_context():
        unknown_type = bus.unsubscribe_token(guest.id, "groups.nexistepas")
        nobody = bus.unsubscribe_token(guest.id + 1000, "groups.invitation")
    assert app.test_client().get(f"/notifications/desabonnement/{unknown_type}").status_code == 404
    assert app.test_client().get(f"/notifications/desabonnement/{nobody}").status_code == 404


# -- the excerpt ---------------------------------------------------------------------------------------

MARKDOWN = ("# Bilan de saison\n\n**Fréquentation** en _hausse_ de 12 % : voir [le tableau](https://exemple.fr/t). "
            "<b>gras</b> <script>alert(1)</script>\n\n" + "Les offices ont accueilli beaucoup de visiteurs. " * 20)


def test_the_excerpt_is_short_plain_text_and_never_user_html(app, make_user, factories, smtp_server):
    owner, admin = make_user(), make_user()
    group = factories.group(name="Balades nature", owner=owner, admins=[admin])
    with app.test_request_context():
        notify("groups.new_member", [admin], owner, group, member="Zoé", excerpt=excerpt(MARKDOWN))
        db.session.commit()
    deliver_outbox()

    [msg] = smtp_server.messages
    body, html_part = plain_and_html(msg)
    [quoted] = re.findall(r"« (Bilan de saison.*?) »", body, flags=re.S)
    assert len(quoted) <= 300 and quoted.endswith("…")
    assert quoted.startswith("Bilan de saison Fréquentation en hausse de 12 % : voir le tableau.")
    assert "**" not in quoted and "_hausse_" not in quoted and "](" not in quoted and "#" not in quoted
    # What the author typed as HTML is shown as characters, never interpreted.
    assert "<script" not in html_part and "<b>gras" not in html_part
    assert "&lt;script&gt;" in html_part and "&lt;b&gt;gras&lt;/b&gt;" in html_part
    assert "Bilan de saison Fréquentation en hausse" in html_part


# -- no header injection -------------------------------------------------------------------------------

def test_names_with_line_breaks_cannot_inject_headers(app, make_user, factories, smtp_server):
    owner, admin = make_user(), make_user(email="admin@ot-exemple.fr")
    evil_group = "Réseau\r\nBcc: evil@pirate.example"
    # The group name is kept on one line (it ends up in e-mail subjects)…
    group = factories.group(name=evil_group, owner=owner, admins=[admin])
    assert group.name == "Réseau Bcc: evil@pirate.example"
    with app.test_request_context():
        services.join(make_user(name="Eve\nCc: evil@pirate.example"), group)
        db.session.commit()
    deliver_outbox()

    [msg] = addressed_to(smtp_server, admin)
    # …but in the e-mail it stays on the subject line: no Bcc/Cc header, one recipient.
    assert msg["Bcc"] is None and msg["Cc"] is None
    assert msg["To"] == "admin@ot-exemple.fr"
    assert msg["Subject"] == ("Nouveau membre dans le groupe « Réseau Bcc: evil@pirate.example » : "
                              "Eve Cc: evil@pirate.example")
    assert len(smtp_server.messages) == 2  # the admin and the owner, nobody else


def test_queue_mail_keeps_subjects_and_headers_on_one_line(app, smtp_server):
    assert one_line("Bonjour\r\nBcc: evil@pirate.example\x00") == "Bonjour Bcc: evil@pirate.example"
    row = queue_mail("someone@exemple.fr", "Bonjour\r\nBcc: evil@pirate.example", "Texte", "",
                     headers={"X-Note": "a\nBcc: evil@pirate.example"})
    db.session.commit()
    assert row.subject == "Bonjour Bcc: evil@pirate.example"
    deliver_outbox()

    [msg] = smtp_server.messages
    assert msg["Bcc"] is None
    assert msg["Subject"] == "Bonjour Bcc: evil@pirate.example"
    assert msg["X-Note"] == "a Bcc: evil@pirate.example"


def test_without_smtp_settings_mails_are_written_as_eml_files_and_readable_by_admins(app, make_user, factories,
                                                                                    as_):
    from pathlib import Path

    owner, guest = make_user(), make_user()
    invite(app, owner, factories.group(name="Comité de pilotage", visibility="private", owner=owner), guest)
    assert deliver_outbox() == {"sent": 1, "errors": 0}

    [eml] = Path(app.config["MAIL_DIR"]).glob("*.eml")
    msg = message_from_bytes(eml.read_bytes(), policy=default)
    assert msg["Subject"] == "Invitation dans le groupe « Comité de pilotage »"
    [row] = mails_to(guest)
    page = text(as_(make_user(role="admin")).get(f"/admin/boite-envoi/{row.id}"))
    assert "Invitation dans le groupe « Comité de pilotage »" in page and row.message_id in page
    assert "vous invite dans le groupe « Comité de pilotage »" in page


# -- SMTP down, then back -------------------------------------------------------------------------------

def test_smtp_down_slows_nothing_loses_nothing_and_sends_each_mail_once(app, make_user, make_org, factories, as_,
                                                                       smtp_down):
    org = make_org()
    owner = make_user(organization=org)
    group = factories.group(name="Comité de pilotage", visibility="private", join_policy="invitation", owner=owner)
    guests = [make_user(organization=org) for _ in range(100)]
    c = as_(owner)
    token = csrf_token(c, f"/groups/{group.id}/membres")

    durations = []
    for guest in guests:  # 100 requests, each an action that notifies someone
        start = time.perf_counter()
        resp = c.post(f"/groups/{group.id}/inviter", data={"person": guest.email, "csrf_token": token})
        durations.append(time.perf_counter() - start)
        assert resp.status_code == 302
    assert max(durations) < 1.0, f"slowest request {max(durations):.2f} s"
    assert sorted(durations)[50] < 0.25

    rows = db.session.scalars(sa.select(MailMessage).order_by(MailMessage.id)).all()
    assert len(rows) == 100 and {r.to_addr for r in rows} == {g.email for g in guests}
    assert {(r.status, r.attempts) for r in rows} == {("pending", 0)}  # the requests never touched SMTP

    # The worker tries: every mail fails, and waits before the next try.
    before = utcnow()
    assert deliver_outbox() == {"sent": 0, "errors": 100}
    db.session.expire_all()
    for r in rows:
        assert r.status == "pending" and r.attempts == 1
        assert r.last_error  # e.g. ConnectionRefusedError: [Errno 111] Connection refused
        assert r.next_attempt_at >= before + timedelta(seconds=BACKOFF_BASE_SECONDS * 2) - timedelta(seconds=1)
    assert deliver_outbox() == {"sent": 0, "errors": 0}  # not due yet: nothing tried

    # The SMTP server is back; the admin runs « flask worker --once --retry-now ».
    smtp_down.start()
    result = app.test_cli_runner().invoke(args=["worker", "--once", "--retry-now"])
    assert result.exit_code == 0, result.output
    assert "'sent': 100" in result.output

    ids = [m["Message-ID"] for m in smtp_down.messages]
    assert len(ids) == 100 and set(ids) == {r.message_id for r in rows}  # all of them, each once
    db.session.expire_all()
    assert {(r.status, r.attempts) for r in rows} == {("sent", 2)}
    result = app.test_cli_runner().invoke(args=["worker", "--once", "--retry-now"])
    assert result.exit_code == 0 and len(smtp_down.messages) == 100


def test_after_the_last_attempt_a_mail_is_failed_listed_and_resent_by_an_admin(app, make_user, factories, as_,
                                                                              smtp_down):
    owner, guest = make_user(), make_user(email="gaspard@ot-exemple.fr")
    invite(app, owner, factories.group(name="Comité de pilotage", visibility="private", owner=owner), guest)
    [row] = mails_to(guest)

    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        before = utcnow()
        deliver_outbox(ignore_backoff=True)
        db.session.expire_all()
        assert row.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert row.status == "pending"
            waits.append((row.next_attempt_at - before).total_seconds())
    assert row.status == "failed" and "Connection" in row.last_error
    # Exponential back-off, about five hours from the first failure to the last attempt.
    assert all(b > 1.9 * a for a, b in zip(waits, waits[1:], strict=False))
    assert 4.5 * 3600 < sum(waits) < 5.5 * 3600
    assert deliver_outbox(ignore_backoff=True) == {"sent": 0, "errors": 0}  # failed is final

    admin_client = as_(make_user(role="admin"))
    failed = admin_client.get("/admin/boite-envoi?statut=failed")
    assert failed.status_code == 200
    page = text(failed)
    assert "gaspard@ot-exemple.fr" in page and "Invitation dans le groupe « Comité de pilotage »" in page
    assert "En échec" in page and "Renvoyer" in page
    assert "gaspard@ot-exemple.fr" not in text(admin_client.get("/admin/boite-envoi?statut=sent"))

    action = f"/admin/boite-envoi/{row.id}/renvoyer"
    assert f'action="{action}"' in failed.get_data(as_text=True)
    resp = post(admin_client, action, token_page="/admin/boite-envoi?statut=failed")
    assert resp.status_code == 302
    db.session.expire_all()
    assert row.status == "pending" and row.attempts == 0

    smtp_down.start()
    assert deliver_outbox() == {"sent": 1, "errors": 0}
    [msg] = smtp_down.messages
    assert msg["Message-ID"] == row.message_id and msg["To"] == "gaspard@ot-exemple.fr"
    db.session.expire_all()
    assert row.status == "sent"
    assert "gaspard@ot-exemple.fr" not in text(admin_client.get("/admin/boite-envoi?statut=failed"))


def test_resending_needs_the_outbox_permission(app, make_user, as_):
    row = queue_mail("someone@exemple.fr", "Sujet", "Texte")
    row.status = "failed"
    db.session.commit()
    member = as_(make_user())
    assert member.get("/admin/boite-envoi?statut=failed").status_code == 403
    resp = post(member, f"/admin/boite-envoi/{row.id}/renvoyer")
    assert resp.status_code == 403
    db.session.expire_all()
    assert row.status == "failed"


# -- access lost between the action and the delivery ------------------------------------------------------

@pytest.fixture
def admin_told_of_a_new_member(app, make_user, factories):
    """A private group; its admin ``admin`` is told that ``newcomer`` joined (an accepted invitation)."""
    owner = make_user(name="Odile Martin", email="odile@ot-exemple.fr")
    admin = make_user(name="Adèle Admin", email="adele@ot-exemple.fr")
    newcomer = make_user(name="Zoé Lefèvre", email="zoe@ot-exemple.fr")
    group = factories.group(name="Comité de pilotage", visibility="private", join_policy="invitation",
                            owner=owner, admins=[admin])
    invite(app, owner, group, newcomer)
    with app.test_request_context():
        services.respond(newcomer, services.pending(group, newcomer, "invitation"), True)
        db.session.commit()
    [n] = notifications_of(admin, "groups.new_member")
    assert n.email_state == "immediate" and len(mails_to(admin)) == 1
    return {"owner": owner, "admin": admin, "newcomer": newcomer, "group": group}


def test_an_admin_removed_from_a_private_group_before_delivery_gets_no_mail(app, admin_told_of_a_new_member,
                                                                           smtp_server, as_, make_user):
    s = admin_told_of_a_new_member
    with app.test_request_context():
        services.remove_member(s["owner"], s["group"], s["admin"])
        db.session.commit()

    deliver_outbox()

    [row] = mails_to(s["admin"])
    assert row.status == "cancelled" and row.last_error
    assert addressed_to(smtp_server, s["admin"]) == []
    # The others still get theirs: the owner hears of the new member, the newcomer got the invitation.
    assert [m["Subject"] for m in addressed_to(smtp_server, s["owner"])] == \
        ["Nouveau membre dans le groupe « Comité de pilotage » : Zoé Lefèvre"]
    assert len(addressed_to(smtp_server, s["newcomer"])) == 1
    # The outbox page says so.
    page = text(as_(make_user(role="admin")).get("/admin/boite-envoi"))
    assert re.search(r"adele@ot-exemple\.fr Nouveau membre .*? Annulé accès ou préférence changés", page)


def test_a_group_made_secret_before_delivery_is_not_revealed_to_a_former_admin(app, admin_told_of_a_new_member,
                                                                               smtp_server):
    s = admin_told_of_a_new_member
    with app.test_request_context():
        services.remove_member(s["owner"], s["group"], s["admin"])
        g = s["group"]
        services.update_group(g, g.name, g.description, "secret", g.join_policy)
        db.session.commit()

    deliver_outbox()

    assert [r.status for r in mails_to(s["admin"])] == ["cancelled"]
    assert addressed_to(smtp_server, s["admin"]) == []
    assert len(addressed_to(smtp_server, s["owner"])) == 1


def test_a_deactivated_account_gets_no_mail(app, make_user, factories, smtp_server):
    owner, guest = make_user(), make_user()
    invite(app, owner, factories.group(visibility="private", owner=owner), guest)
    guest.is_active_account = False
    db.session.commit()

    deliver_outbox()

    assert [r.status for r in mails_to(guest)] == ["cancelled"]
    assert smtp_server.messages == []


def test_list_unsubscribe_and_the_sender_arrive_plain_in_the_raw_bytes(app, make_user, factories, smtp_server):
    """RFC 2369 wants ``List-Unsubscribe: <https://…>`` as is: RFC 2047 encoded words there
    (``=?utf-8?q?=3Chttp…``) leave mail clients without an unsubscribe button. An ASCII sender's
    name is written plain too; a French subject is still encoded, as it must be."""
    owner, guest = make_user(), make_user()
    invite(app, owner, factories.group(name="Comité de pilotage", visibility="private", owner=owner), guest)
    deliver_outbox()
    [raw] = smtp_server.raw
    headers = raw.split(b"\r\n\r\n", 1)[0]
    [line] = [h for h in headers.split(b"\r\n") if h.startswith(b"List-Unsubscribe:")]
    assert re.fullmatch(rb"List-Unsubscribe: <http://127\.0\.0\.1/notifications/desabonnement/[\w.-]+>", line), line
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in headers.split(b"\r\n")
    assert b"\r\nFrom: Intranet <intranet@localhost>\r\n" in headers
    assert b"=?utf-8?q?Intranet" not in headers
    assert b"Subject: =?utf-8?" in headers  # « » and é: encoded words are right for the subject
    # What the link is for still works: it is the one the mail client will POST to.
    resp = app.test_client().post(line.split(b"<", 1)[1].rstrip(b">").decode()[len(BASE):],
                                  data={"List-Unsubscribe": "One-Click"})
    assert resp.status_code == 204


def test_a_sender_name_with_accents_is_still_encoded(app, make_user, factories, smtp_server):
    app.config["MAIL_DEFAULT_SENDER"] = "Intranet Hérault Tourisme <intranet@localhost>"
    owner, guest = make_user(), make_user()
    invite(app, owner, factories.group(visibility="private", owner=owner), guest)
    deliver_outbox()
    [raw] = smtp_server.raw
    assert b"\r\nFrom: =?utf-8?q?Intranet_H=C3=A9rault_Tourisme?= <intranet@localhost>\r\n" in raw
    assert smtp_server.messages[0]["From"] == "Intranet Hérault Tourisme <intranet@localhost>"
