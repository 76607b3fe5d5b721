"""The e-mail outbox: queued in the transaction of the change, delivered by the worker to a real SMTP
server (or as .eml files without one), retried with back-off when SMTP is down, re-sent by an admin.
"""

from __future__ import annotations

import socket
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
import sqlalchemy as sa

from intranet.core import mail as mail_module
from intranet.core.mail import deliver_outbox, queue_mail
from intranet.core.models import AuditEntry, MailMessage, Organization
from intranet.core.timeutil import utcnow
from intranet.extensions import db
from tests.conftest import csrf_token

TEXT = "Bonjour Élodie,\n\nVotre compte sur l'intranet de Cantal Destination est prêt.\n"
HTML = "<p>Bonjour Élodie,</p><p>Votre compte sur l'intranet de <strong>Cantal Destination</strong> est prêt.</p>"


def _row(mail_id: int) -> MailMessage:
    db.session.expire_all()
    return db.session.get(MailMessage, mail_id)


@pytest.fixture
def smtp_down(app):
    """MAIL_SERVER points at a local port nobody listens on."""
    from intranet.extensions import mail

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: connections are refused
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    mail.init_app(app)
    yield port
    app.config.update(MAIL_SERVER=None)
    mail.init_app(app)


# -- queueing --------------------------------------------------------------------------------

def test_queue_mail_writes_in_the_transaction_of_the_change(app, outbox):
    db.session.add(Organization(name="Office de tourisme du Carladès"))
    queue_mail("accueil@carlades.example", "Bienvenue", TEXT)
    db.session.rollback()  # the change fails: no mail either
    assert outbox() == []
    assert db.session.scalar(sa.select(sa.func.count(Organization.id))) == 0

    db.session.add(Organization(name="Office de tourisme du Carladès"))
    msg = queue_mail("accueil@carlades.example", "Bienvenue", TEXT)
    db.session.commit()
    [row] = outbox()
    assert (row.id, row.status, row.attempts, row.to_addr) == (msg.id, "pending", 0, "accueil@carlades.example")
    assert row.message_id.startswith("<") and row.message_id.endswith(">")


def test_header_injection_through_the_subject_stays_on_one_line(app, outbox):
    msg = queue_mail("victime@exemple.fr", "Bienvenue\r\nBcc: x@y", TEXT, headers={"X-Test\r\nBcc": "a\nb"})
    assert msg.subject == "Bienvenue Bcc: x@y"
    assert msg.headers == {"X-Test Bcc": "a b"}


# -- delivery without MAIL_SERVER: .eml files ----------------------------------------------------

def test_without_mail_server_each_mail_is_written_as_an_eml_file(app, outbox):
    assert not app.config["MAIL_SERVER"]
    msg = queue_mail("accueil@salers.example", "Votre invitation à l'intranet", TEXT, HTML)
    db.session.commit()

    assert deliver_outbox() == {"sent": 1, "errors": 0}

    files = list(Path(app.config["MAIL_DIR"]).glob("*.eml"))
    assert len(files) == 1
    parsed = message_from_bytes(files[0].read_bytes(), policy=default_policy)
    assert parsed["To"] == "accueil@salers.example"
    assert parsed["Subject"] == "Votre invitation à l'intranet"
    assert parsed["Message-ID"] == msg.message_id
    assert "Votre compte sur l'intranet de Cantal Destination est prêt." in \
        parsed.get_body(("plain",)).get_content()
    row = _row(msg.id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, "")
    assert row.sent_at is not None
    assert deliver_outbox() == {"sent": 0, "errors": 0}  # nothing is sent twice


# -- delivery to a real SMTP server -------------------------------------------------------------

def test_a_real_smtp_server_receives_text_and_html_with_the_stored_message_id(app, smtp_server, outbox):
    msg = queue_mail("accueil@salers.example", "Votre invitation à l'intranet", TEXT, HTML)
    db.session.commit()

    assert deliver_outbox() == {"sent": 1, "errors": 0}

    assert len(smtp_server.messages) == 1
    received = smtp_server.messages[0]
    assert received["To"] == "accueil@salers.example"
    assert received["From"] == app.config["MAIL_DEFAULT_SENDER"]
    assert received["Subject"] == "Votre invitation à l'intranet"
    assert received["Message-ID"] == msg.message_id
    assert "Cantal Destination est prêt." in received.get_body(("plain",)).get_content()
    assert "<strong>Cantal Destination</strong>" in received.get_body(("html",)).get_content()
    assert _row(msg.id).status == "sent"


def test_injected_subject_arrives_as_one_header_without_bcc(app, smtp_server, outbox):
    queue_mail("victime@exemple.fr", "Bienvenue\r\nBcc: x@y", TEXT)
    db.session.commit()
    deliver_outbox()
    [received] = smtp_server.messages
    assert received["Subject"] == "Bienvenue Bcc: x@y"
    assert received["Bcc"] is None
    assert received.get_all("Subject") == ["Bienvenue Bcc: x@y"]


def test_several_mails_share_one_smtp_connection(app, smtp_server, outbox):
    for n in range(3):
        queue_mail(f"personne{n}@exemple.fr", f"Message {n}", TEXT)
    db.session.commit()
    assert deliver_outbox() == {"sent": 3, "errors": 0}
    assert sorted(m["To"] for m in smtp_server.messages) == [f"personne{n}@exemple.fr" for n in range(3)]


# -- SMTP down: retries with back-off, then failed -----------------------------------------------

def test_smtp_down_keeps_the_mail_pending_with_back_off(app, smtp_down, outbox):
    msg = queue_mail("accueil@salers.example", "Bienvenue", TEXT)
    db.session.commit()
    before = utcnow()

    assert deliver_outbox() == {"sent": 0, "errors": 1}

    row = _row(msg.id)
    assert row.status == "pending"
    assert row.attempts == 1
    assert "Connection" in row.last_error or "refused" in row.last_error.lower()
    assert row.next_attempt_at > before + timedelta(seconds=10)
    # Not due again yet: the next run leaves it alone.
    assert deliver_outbox() == {"sent": 0, "errors": 0}
    assert _row(msg.id).attempts == 1


def test_back_off_grows_then_the_mail_fails_after_ten_attempts(app, smtp_down, outbox):
    msg = queue_mail("accueil@salers.example", "Bienvenue", TEXT)
    db.session.commit()
    waits = []
    for attempt in range(1, mail_module.MAX_ATTEMPTS + 1):
        now = utcnow()
        assert deliver_outbox(ignore_backoff=True)["errors"] == 1
        row = _row(msg.id)
        assert row.attempts == attempt
        if attempt < mail_module.MAX_ATTEMPTS:
            assert row.status == "pending"
            waits.append((row.next_attempt_at - now).total_seconds())
    row = _row(msg.id)
    assert (row.status, row.attempts) == ("failed", 10)
    assert row.last_error
    assert waits == sorted(waits) and waits[-1] > 30 * waits[0]
    # About five hours in all before giving up, not five seconds nor five days.
    assert 3 * 3600 < sum(waits) < 12 * 3600
    assert deliver_outbox(ignore_backoff=True) == {"sent": 0, "errors": 0}  # failed mails stay failed


def test_worker_retry_now_sends_pending_mail_ignoring_the_back_off(app, smtp_server, outbox):
    msg = queue_mail("accueil@salers.example", "Bienvenue", TEXT)
    db.session.commit()
    row = _row(msg.id)
    row.attempts, row.last_error = 3, "ConnectionRefusedError: [Errno 111] Connection refused"
    row.next_attempt_at = utcnow() + timedelta(hours=2)  # as after a few failures
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert smtp_server.messages == [] and _row(msg.id).status == "pending"

    result = app.test_cli_runner().invoke(args=["worker", "--once", "--retry-now"])
    assert result.exit_code == 0, result.output
    assert len(smtp_server.messages) == 1
    row = _row(msg.id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 4, "")


# -- the admin outbox page ------------------------------------------------------------------------

def test_admin_outbox_lists_pending_and_failed_mails_and_resends(app, client, make_user, login, outbox):
    admin = make_user(role="admin")
    pending = queue_mail("attente@exemple.fr", "Message en attente", TEXT)
    failed = queue_mail("echec@exemple.fr", "Message en échec", TEXT)
    sent = queue_mail("parti@exemple.fr", "Message parti", TEXT)
    db.session.flush()
    failed.status, failed.attempts, failed.last_error = "failed", 10, "SMTPRecipientsRefused: boîte inconnue"
    sent.status = "sent"
    db.session.commit()
    login(admin)

    html = client.get("/admin/boite-envoi").get_data(as_text=True)
    for text in ("Message en attente", "Message en échec", "En attente", "En échec",
                 "SMTPRecipientsRefused: boîte inconnue", "Renvoyer"):
        assert text in html
    only_failed = client.get("/admin/boite-envoi?statut=failed").get_data(as_text=True)
    assert "Message en échec" in only_failed and "Message en attente" not in only_failed
    assert "Message parti" not in only_failed
    detail = client.get(f"/admin/boite-envoi/{failed.id}").get_data(as_text=True)
    assert "echec@exemple.fr" in detail

    token = csrf_token(client, "/admin/boite-envoi")
    resp = client.post(f"/admin/boite-envoi/{failed.id}/renvoyer", data={"csrf_token": token})
    assert resp.status_code == 302
    assert "Le message sera renvoyé" in client.get(resp.headers["Location"]).get_data(as_text=True)
    row = _row(failed.id)
    assert (row.status, row.attempts) == ("pending", 0)
    assert row.next_attempt_at <= utcnow()
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "mail.resend"))
    assert entry is not None and entry.actor_id == admin.id and entry.target_id == failed.id
    # The worker then delivers it.
    assert deliver_outbox()["sent"] == 2  # the re-sent one and the one that was pending
    assert _row(failed.id).status == "sent" and _row(pending.id).status == "sent"


def test_resend_without_csrf_token_is_refused(app, client, make_user, login, outbox):
    login(make_user(role="admin"))
    failed = queue_mail("echec@exemple.fr", "Message en échec", TEXT)
    failed.status = "failed"
    db.session.commit()
    resp = client.post(f"/admin/boite-envoi/{failed.id}/renvoyer", data={})
    assert resp.status_code == 400
    assert _row(failed.id).status == "failed"


def test_a_mail_left_sending_by_a_crashed_worker_is_sent_later(app, outbox):
    # The worker was killed between claiming the mail and recording the result: the mail must not
    # stay "sending" forever (the admin page offers no "Renvoyer" for it).
    crashed = queue_mail("accueil@salers.example", "Bienvenue", TEXT)
    busy = queue_mail("accueil@lioran.example", "Bienvenue", TEXT)
    db.session.flush()
    crashed.status, crashed.attempts, crashed.next_attempt_at = "sending", 1, utcnow() - timedelta(minutes=30)
    db.session.commit()
    assert deliver_outbox()["sent"] == 2
    assert (_row(crashed.id).status, _row(crashed.id).attempts) == ("sent", 2)

    # While a worker is really sending (its claim is recent), nobody else takes the mail.
    row = _row(busy.id)
    row.status, row.next_attempt_at = "pending", utcnow()
    db.session.commit()
    claimed = db.session.execute(sa.update(MailMessage).where(MailMessage.id == busy.id).values(
        status="sending", next_attempt_at=utcnow() + timedelta(minutes=10)))
    assert claimed.rowcount == 1
    db.session.commit()
    assert deliver_outbox(ignore_backoff=True) == {"sent": 0, "errors": 0}
