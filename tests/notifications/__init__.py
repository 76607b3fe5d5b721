"""Notification tests: shared helpers (the fixtures live in tests/conftest.py)."""

from __future__ import annotations

import html
import re

import sqlalchemy as sa

from intranet.core.models import MailMessage
from intranet.core.notifications import Notification
from intranet.extensions import db
from tests.conftest import csrf_token


def text(resp) -> str:
    """The visible text of a page, as a person reads it."""
    return visible(resp.get_data(as_text=True))


def visible(body: str) -> str:
    """The visible text of an HTML fragment."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def notifications_of(user, type_key: str | None = None) -> list[Notification]:
    db.session.expire_all()
    query = sa.select(Notification).where(Notification.user_id == user.id)
    if type_key:
        query = query.where(Notification.type == type_key)
    return db.session.scalars(query.order_by(Notification.id)).all()


def mails_to(user) -> list[MailMessage]:
    db.session.expire_all()
    return db.session.scalars(sa.select(MailMessage).where(MailMessage.to_addr == user.email)
                              .order_by(MailMessage.id)).all()


def invite(app, actor, group, user) -> str:
    """``actor`` invites ``user`` as the groups page does: the service, then one commit."""
    from intranet.groups import services

    with app.test_request_context():
        outcome = services.invite(actor, group, user)
        db.session.commit()
    return outcome


def post(c, url, data=None, token_page: str = "/notifications/", **kwargs):
    """A form POST with the CSRF token a browser would have read from ``token_page``."""
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_token(c, token_page))
    return c.post(url, data=data, **kwargs)


def plain_and_html(message) -> tuple[str, str]:
    """The text and HTML parts of a parsed e-mail (``email.policy.default``), with \\n line ends."""
    return tuple(message.get_body(preferencelist=(kind,)).get_content().replace("\r\n", "\n")
                 for kind in ("plain", "html"))
