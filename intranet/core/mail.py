"""E-mails: queued in the outbox inside the transaction of the change, delivered by the worker.

Without ``MAIL_SERVER`` (the ``make run`` default) messages are written as ``.eml`` files under
``MAIL_DIR`` so a newcomer can read them. Delivery retries with exponential back-off: 10 attempts
spread over about five hours, then the message is marked failed for an admin to re-send.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email.utils import make_msgid
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, render_template
from flask_mail import Message

from intranet.core.models import MailMessage
from intranet.core.timeutil import utcnow
from intranet.extensions import db, mail

MAX_ATTEMPTS = 10
BACKOFF_BASE_SECONDS = 18  # 18 s × (2**10 − 1) ≈ 5.1 hours over 10 attempts
_LINEBREAKS = re.compile(r"[\r\n\x00-\x1f]+")


def one_line(value: str) -> str:
    """Header values can never carry a line break (no header injection through names)."""
    return _LINEBREAKS.sub(" ", str(value)).strip()


def queue_mail(to: str, subject: str, text: str, html: str = "", headers: dict | None = None) -> MailMessage:
    domain = current_app.config["MAIL_DEFAULT_SENDER"].rsplit("@", 1)[-1].strip("> ") or "localhost"
    msg = MailMessage(
        message_id=make_msgid(domain=domain),
        to_addr=one_line(to),
        subject=one_line(subject)[:300],
        text=text,
        html=html,
        headers={one_line(k): one_line(v) for k, v in (headers or {}).items()},
    )
    db.session.add(msg)
    db.session.flush()
    return msg


def queue_template_mail(to: str, subject: str, template: str, **context) -> MailMessage:
    """Render ``emails/<template>.txt`` and ``.html`` and queue the message."""
    context.setdefault("subject", subject)
    text = render_template(f"emails/{template}.txt", **context)
    html = render_template(f"emails/{template}.html", **context)
    return queue_mail(to, subject, text, html)


def build_message(row: MailMessage) -> Message:
    msg = Message(
        subject=row.subject,
        recipients=[row.to_addr],
        body=row.text,
        html=row.html or None,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        extra_headers=dict(row.headers or {}),
    )
    msg.msgId = row.message_id  # stable: a retry is recognisably the same message
    return msg


def _write_eml(row: MailMessage, msg: Message) -> None:
    folder = Path(current_app.config["MAIL_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{row.created_at:%Y%m%d-%H%M%S}-{row.id}.eml"
    (folder / name).write_bytes(msg.as_bytes())


def deliver_outbox(ignore_backoff: bool = False, limit: int = 200) -> dict:
    """Send what is due. Returns counts of sent and failed attempts."""
    now = utcnow()
    query = sa.select(MailMessage.id).where(MailMessage.status == "pending")
    if not ignore_backoff:
        query = query.where(MailMessage.next_attempt_at <= now)
    ids = db.session.scalars(query.order_by(MailMessage.id).limit(limit)).all()
    db.session.commit()
    sent = errors = 0
    if not ids:
        return {"sent": 0, "errors": 0}
    use_smtp = bool(current_app.config.get("MAIL_SERVER"))
    conn = None
    for mail_id in ids:
        # Claim: one worker only moves a message out of "pending".
        res = db.session.execute(sa.update(MailMessage).where(MailMessage.id == mail_id,
                                                              MailMessage.status == "pending")
                                 .values(status="sending", attempts=MailMessage.attempts + 1))
        db.session.commit()
        if res.rowcount != 1:
            continue
        row = db.session.get(MailMessage, mail_id)
        try:
            msg = build_message(row)
            if use_smtp:
                if conn is None:
                    conn = mail.connect().__enter__()
                conn.send(msg)
            else:
                _write_eml(row, msg)
            row.status, row.sent_at, row.last_error = "sent", utcnow(), ""
            sent += 1
        except Exception as exc:  # SMTP down, refused recipient…: retry later
            conn = None
            errors += 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
            else:
                row.status = "pending"
                row.next_attempt_at = utcnow() + timedelta(seconds=BACKOFF_BASE_SECONDS * 2 ** row.attempts)
        db.session.commit()
    if conn is not None:
        try:
            conn.__exit__(None, None, None)
        except Exception:  # closing a broken connection is not worth a failure
            current_app.logger.debug("SMTP close failed", exc_info=True)
    return {"sent": sent, "errors": errors}


def deliver_job(job=None, **_):
    return deliver_outbox()
