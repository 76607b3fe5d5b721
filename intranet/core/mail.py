"""E-mails: queued in the outbox inside the transaction of the change, delivered by the worker.

Without ``MAIL_SERVER`` (the ``make run`` default) messages are written as ``.eml`` files under
``MAIL_DIR`` so a newcomer can read them. Delivery retries with exponential back-off: 10 attempts
spread over about five hours, then the message is marked failed for an admin to re-send.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email import policy
from email.utils import formataddr, make_msgid, parseaddr
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_mail import Message

from intranet.core.i18n import locale_of
from intranet.core.models import MailMessage
from intranet.core.timeutil import utcnow
from intranet.extensions import db, mail

MAX_ATTEMPTS = 10
BACKOFF_BASE_SECONDS = 18  # 18 s × (2**10 − 1) ≈ 5.1 hours over 10 attempts
# A claimed mail is "sending" until this lease ends; past it, its worker is taken for dead.
SENDING_LEASE = timedelta(minutes=10)
_LINEBREAKS = re.compile(r"[\r\n\x00-\x1f]+")
# A light check of an address (forms, CSV import, CLI): WTForms' Email() needs the email_validator
# package (not a dependency), which also refuses the demo's ".local" addresses.
EMAIL_RE = re.compile(r"^[^@\s;,<>\"]+@[^@\s;,<>\"]+\.[^@\s;,<>\"]+$")


def one_line(value: str) -> str:
    """Header values can never carry a line break (no header injection through names)."""
    return _LINEBREAKS.sub(" ", str(value)).strip()


def queue_mail(to: str, subject: str, text: str, html: str = "", headers: dict | None = None) -> MailMessage:
    msg = MailMessage(
        message_id=make_msgid(domain=_domain()),
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


def _domain() -> str:
    return current_app.config["MAIL_DEFAULT_SENDER"].rsplit("@", 1)[-1].strip("> ") or "localhost"


def format_context(template: str, context: dict) -> str:
    """``template % context``, tolerant of a missing key (a type's wording may evolve)."""
    try:
        return str(template) % context
    except (KeyError, ValueError, TypeError):
        return str(context.get("title", ""))


def headline(nt, context: dict) -> str:
    """The line a mail (or a digest item) shows above the excerpt.

    A post's title is the opening of its text and its excerpt the same text, longer: the type's
    message (« Marie vous a mentionné : « <title> » ») followed by the excerpt showed the post's
    words twice. When the excerpt starts with the title, the subject line says what happened
    without quoting it (« Marie vous a mentionné dans le fil »): each subject of such a type is
    written so."""
    title = str(context.get("title") or "").rstrip("…").strip()
    text = str(context.get("excerpt") or "")
    if title and text.startswith(title):
        return format_context(nt.subject, context)
    return format_context(nt.message, context)


def queue_notification_mails(nt, notification_ids: list[int], context: dict) -> None:
    """Bulk-queue one e-mail per notification, to its person; the worker renders each one.

    One INSERT … SELECT per 900 notifications, the values shared by every mail bound once. The
    Message-ID is made by the database from the notification's id and a random token drawn for
    this batch: unique, and stable across retries like any other."""
    from intranet.core.models import User
    from intranet.core.notifications import Notification, ids_in

    subject = one_line(format_context(nt.subject, context))[:300]
    now = utcnow()
    left, domain = make_msgid(domain=_domain())[:-1].split("@", 1)  # "<time.pid.random", "domain"
    out, n, u = MailMessage.__table__.c, Notification.__table__.c, User.__table__.c
    columns = ["message_id", "to_addr", "subject", "text", "html", "headers", "notification_id", "status",
               "attempts", "next_attempt_at", "last_error", "created_at"]
    for i in range(0, len(notification_ids), 900):
        rows = sa.select(
            sa.literal(f"{left}.n", out.message_id.type) + sa.cast(n.id, out.message_id.type)
            + sa.literal(f"@{domain}>", out.message_id.type),
            u.email, sa.literal(subject, out.subject.type), sa.literal("", out.text.type),
            sa.literal("", out.html.type), sa.literal({}, out.headers.type), n.id,
            sa.literal("pending", out.status.type), sa.literal(0, out.attempts.type),
            sa.literal(now, out.next_attempt_at.type), sa.literal("", out.last_error.type),
            sa.literal(now, out.created_at.type),
        ).select_from(Notification.__table__.join(User.__table__, u.id == n.user_id)).where(
            ids_in(n.id, notification_ids[i:i + 900]))
        db.session.execute(sa.insert(MailMessage.__table__).from_select(columns, rows))


def render_notification_mail(row: MailMessage) -> bool:
    """Fill ``row`` from its notification; False when the person may no longer see the object
    or no longer wants this e-mail (the mail is then cancelled)."""
    from intranet.core import notifications as bus
    from intranet.core.models import User

    # One query: the notification, its person, their choice for the type, a mute of the group.
    n, pref, mute = bus.Notification, bus.NotificationPreference, bus.GroupMute
    found = db.session.execute(
        sa.select(n, User, pref.email, mute.user_id).join(User, User.id == n.user_id)
        .outerjoin(pref, sa.and_(pref.user_id == User.id, pref.type == n.type))
        .outerjoin(mute, sa.and_(mute.user_id == User.id, mute.group_id == n.group_id))
        .where(n.id == row.notification_id)).first()
    if found is None:
        return False
    notif, user, email_choice, muted = found
    if not user.is_active_account or muted is not None:
        return False
    if not (bus.default_channels(notif.type)["email"] if email_choice is None else email_choice):
        return False
    if not bus.still_visible(notif, user):
        return False
    nt = bus.notification_type(notif.type)
    ctx = notif.context or {}
    base = current_app.config["BASE_URL"].rstrip("/")
    token = bus.unsubscribe_token(user.id, notif.type)
    # Written in the person's language (the subject too: the queued one is the sender's).
    with current_app.test_request_context(base_url=base), force_locale(locale_of(user)):
        from flask import url_for

        row.subject = one_line(format_context(nt.subject, ctx))[:300]
        unsubscribe = base + url_for("notifications.unsubscribe", token=token)
        preferences = base + url_for("notifications.preferences")
        context = {"user": user, "subject": row.subject, "message": headline(nt, ctx),
                   "excerpt": ctx.get("excerpt", ""), "link": base + str(ctx.get("url", "/")),
                   "type_label": str(nt.label), "unsubscribe": unsubscribe, "preferences": preferences}
        row.text = render_template("emails/notification.txt", **context)
        row.html = render_template("emails/notification.html", **context)
    row.headers = {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    notif.email_state = "sent"
    return True


class _Message(Message):
    """Flask-Mail's message with the headers RFC 2369 and RFC 5322 expect written plain.

    Flask-Mail always passes the sender's name through ``Header(name, "utf-8")`` (« Intranet »
    came out as ``=?utf-8?q?Intranet?=``), and the SMTP policy re-folds every header longer than
    78 characters into encoded words: the ``List-Unsubscribe`` URL, one word with no space to fold
    at, became ``=?utf-8?q?=3Chttp…`` and mail clients showed no unsubscribe button. Here the
    values are written as set (each is one line: ``one_line``; a URL is ASCII, well under the 998
    octets a line may hold), and an ASCII display name is written as is."""

    def _message(self):
        msg = super()._message()
        name, address = parseaddr(self.sender)
        if name.isascii() and address.isascii():
            msg.replace_header("From", formataddr((name, address)))
        # "none": keep each value as built (the subject is already folded by Flask-Mail).
        msg.policy = policy.SMTP.clone(refold_source="none")
        return msg


def build_message(row: MailMessage) -> Message:
    msg = _Message(
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


CLAIM_BATCH = 20  # claimed together under one lease: far fewer commits, a short enough lease


def _claim_batch(claimable, size: int) -> list[int]:
    """Move up to ``size`` due messages to "sending" in one statement and return their ids.

    Two workers running it at once never get the same message: on PostgreSQL the second UPDATE
    waits on the row locks, then re-checks ``claimable`` and skips what the first one took.
    """
    due_ids = sa.select(MailMessage.id).where(claimable).order_by(MailMessage.id).limit(size)
    ids = db.session.scalars(
        sa.update(MailMessage).where(MailMessage.id.in_(due_ids.scalar_subquery()), claimable)
        .values(status="sending", attempts=MailMessage.attempts + 1, next_attempt_at=utcnow() + SENDING_LEASE)
        .returning(MailMessage.id)).all()
    db.session.commit()
    return sorted(ids)


def deliver_outbox(ignore_backoff: bool = False, limit: int = 200) -> dict:
    """Send what is due. Returns counts of sent and failed attempts."""
    now = utcnow()
    due = MailMessage.status == "pending"
    if not ignore_backoff:
        due = sa.and_(due, MailMessage.next_attempt_at <= now)
    # Left "sending" by a worker that died (killed, crashed) before recording the result.
    abandoned = sa.and_(MailMessage.status == "sending", MailMessage.next_attempt_at <= now)
    claimable = sa.or_(due, abandoned)
    sent = errors = handled = 0
    use_smtp = bool(current_app.config.get("MAIL_SERVER"))
    conn = None
    last_id = 0
    while handled < limit:
        # Walk forward by id: a message that failed in this pass waits for the next pass.
        ids = _claim_batch(sa.and_(claimable, MailMessage.id > last_id), min(CLAIM_BATCH, limit - handled))
        if not ids:
            break
        handled += len(ids)
        last_id = ids[-1]
        for mail_id in ids:
            row = db.session.get(MailMessage, mail_id)
            if row.notification_id and not render_notification_mail(row):
                row.status, row.last_error = "cancelled", "accès ou préférence changés avant l'envoi"
                db.session.commit()
                continue
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
                _close_smtp(conn)  # not left open: the next message opens a fresh connection
                conn = None
                errors += 1
                row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                if row.attempts >= MAX_ATTEMPTS:
                    row.status = "failed"
                else:
                    row.status = "pending"
                    row.next_attempt_at = utcnow() + timedelta(seconds=BACKOFF_BASE_SECONDS * 2 ** row.attempts)
            db.session.commit()  # one commit per result: a message is never sent twice
    _close_smtp(conn)
    return {"sent": sent, "errors": errors}


def _close_smtp(conn) -> None:
    if conn is not None:
        try:
            conn.__exit__(None, None, None)
        except Exception:  # closing a broken connection is not worth a failure
            current_app.logger.debug("SMTP close failed", exc_info=True)


def deliver_job(job=None, **_):
    return deliver_outbox()
